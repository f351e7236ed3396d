package catalog

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

func TestLeaseEnd(t *testing.T) {
	cases := []struct {
		created string
		days    int64
		want    string
	}{
		{"2025-01-01T00:00:00Z", 30, "2025-01-31T00:00:00Z"},
		{"2025-01-01T00:00:00Z", 1, "2025-01-02T00:00:00Z"},
		{"2024-02-28T12:30:00Z", 2, "2024-03-01T12:30:00Z"},       // leap day counted
		{"2025-01-01T02:00:00+02:00", 30, "2025-01-31T00:00:00Z"}, // in UTC, whatever offset the stamp has
	}
	for _, tc := range cases {
		got := leaseEnd(types.StringValue(tc.created), types.Int64Value(tc.days))
		if got.ValueString() != tc.want {
			t.Errorf("leaseEnd(%s, %d days) = %s, want %s", tc.created, tc.days, got, tc.want)
		}
	}
	for _, tc := range []struct {
		name    string
		created types.String
		days    types.Int64
	}{
		{"created unknown", types.StringUnknown(), types.Int64Value(30)},
		{"created null", types.StringNull(), types.Int64Value(30)},
		{"days unknown", types.StringValue("2025-01-01T00:00:00Z"), types.Int64Unknown()},
		{"created unreadable", types.StringValue("yesterday"), types.Int64Value(30)},
	} {
		if got := leaseEnd(tc.created, tc.days); !got.IsUnknown() {
			t.Errorf("%s: leaseEnd = %s, want unknown", tc.name, got)
		}
	}
}

// checkLease at the boundaries of a 30-day lease with 7 days of grace, created 2025-01-01: it
// ends 2025-01-31T00:00:00Z; plans warn from then through 2025-02-07T00:00:00Z and fail after.
func TestCheckLeaseBoundaries(t *testing.T) {
	created := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	end := created.AddDate(0, 0, 30)
	graceEnd := end.AddDate(0, 0, 7)
	it := &Item{Definition: Definition{Name: "app-server", Lease: Lease{DefaultDays: 30, MaxDays: 90, GraceDays: 7}}}
	cases := []struct {
		name string
		now  time.Time
		want string // "", "warning" or "error"
		say  []string
	}{
		{name: "last second of the lease", now: end.Add(-time.Second)},
		{name: "the lease's end", now: end, want: "warning",
			say: []string{"ended 2025-01-31", "grace period ends 2025-02-07", "raising lease_days (to at least 31; the item allows 90)"}},
		{name: "first day of grace", now: end.Add(12 * time.Hour), want: "warning"},
		{name: "start of the last day of grace", now: graceEnd.Add(-24 * time.Hour), want: "warning",
			say: []string{"raising lease_days (to at least 37;"}},
		{name: "last second of grace", now: graceEnd.Add(-time.Second), want: "warning"},
		{name: "the grace period's end", now: graceEnd, want: "warning"},
		{name: "a second after grace", now: graceEnd.Add(time.Second), want: "error",
			say: []string{"ended 2025-01-31 and its 7-day grace period ended 2025-02-07", "raising lease_days (to at least 38;"}},
		{name: "the day after grace", now: graceEnd.Add(24 * time.Hour), want: "error"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &vmResource{now: func() time.Time { return tc.now }}
			plan := vmModel{
				Name:      types.StringValue("app01"),
				CreatedAt: types.StringValue(created.Format(time.RFC3339)),
				LeaseDays: types.Int64Value(30),
			}
			// As ModifyPlan plans it: the expiry from the creation stamp and the lease.
			plan.LeaseExpiresAt = leaseEnd(plan.CreatedAt, plan.LeaseDays)
			var diags diag.Diagnostics
			r.checkLease(plan, it, &diags)
			got := severity(t, diags)
			if got != tc.want {
				t.Fatalf("at %s: %q, want %q: %v", tc.now.Format(time.RFC3339), got, tc.want, diags)
			}
			for _, s := range tc.say {
				if !strings.Contains(diags[0].Detail(), s) {
					t.Errorf("detail does not say %q:\n%s", s, diags[0].Detail())
				}
			}
		})
	}
}

// A lease renewed (raised) past now clears the warning: the expiry moves with lease_days.
func TestCheckLeaseRenewed(t *testing.T) {
	created := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	now := created.AddDate(0, 0, 35)
	it := &Item{Definition: Definition{Name: "app-server", Lease: Lease{MaxDays: 90, GraceDays: 7}}}
	r := &vmResource{now: func() time.Time { return now }}
	for days, want := range map[int64]string{30: "warning", 35: "warning", 36: ""} {
		plan := vmModel{Name: types.StringValue("app01"), CreatedAt: types.StringValue(created.Format(time.RFC3339)), LeaseDays: types.Int64Value(days)}
		plan.LeaseExpiresAt = leaseEnd(plan.CreatedAt, plan.LeaseDays)
		var diags diag.Diagnostics
		r.checkLease(plan, it, &diags)
		if got := severity(t, diags); got != want {
			t.Errorf("lease_days %d, 35 days after creation: %q, want %q: %v", days, got, want, diags)
		}
	}
}

// severity is "", "warning" or "error" for at most one diagnostic, which must be on lease_days.
func severity(t *testing.T, diags diag.Diagnostics) string {
	t.Helper()
	switch len(diags) {
	case 0:
		return ""
	case 1:
	default:
		t.Fatalf("want at most one diagnostic, got %v", diags)
	}
	d := diags[0]
	if wp, ok := d.(diag.DiagnosticWithPath); !ok || !wp.Path().Equal(path.Root("lease_days")) {
		t.Fatalf("diagnostic not on lease_days: %v", d)
	}
	if d.Summary() != "Lease expired" {
		t.Fatalf("summary %q, want %q", d.Summary(), "Lease expired")
	}
	if d.Severity() == diag.SeverityError {
		return "error"
	}
	return "warning"
}
