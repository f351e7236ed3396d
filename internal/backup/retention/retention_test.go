package retention

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// daily returns one point per day at 02:00 UTC, newest first, from day `from` back n days.
func daily(from time.Time, n int) []Point {
	var out []Point
	for i := 0; i < n; i++ {
		t := from.AddDate(0, 0, -i)
		out = append(out, Point{ID: t.Format("20060102T1504"), Time: t})
	}
	return out
}

func ids(ps []Point) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.ID)
	}
	return out
}

var now = time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)

func TestPlan(t *testing.T) {
	last := time.Date(2026, 12, 2, 2, 0, 0, 0, time.UTC)
	pts := daily(last, 70) // 2026-12-02 back to 2026-09-24
	cases := []struct {
		name   string
		policy Policy
		points []Point
		keep   []string
	}{
		{"keep_last 1 keeps only the newest", Policy{KeepLast: 1}, pts, []string{"20261202T0200"}},
		{"keep_last 3", Policy{KeepLast: 3}, pts, []string{"20261202T0200", "20261201T0200", "20261130T0200"}},
		{"keep_last larger than the points keeps all", Policy{KeepLast: 5}, pts[:2], []string{"20261202T0200", "20261201T0200"}},
		// now is 03:00 on Dec 2; 2 days back is 03:00 on Nov 30: Nov 30 02:00 is 49 h old, out.
		{"keep_days 2: strictly younger than 48 h", Policy{KeepLast: 1, KeepDays: 2}, pts, []string{"20261202T0200", "20261201T0200"}},
		{"keep_days 2: a point exactly 48 h old is out, one a second younger is in", Policy{KeepLast: 1, KeepDays: 2},
			[]Point{{ID: "new", Time: now}, {ID: "47h59m59s", Time: now.Add(-48*time.Hour + time.Second)}, {ID: "48h", Time: now.Add(-48 * time.Hour)}},
			[]string{"new", "47h59m59s"}},
		{"weekly 2: the newest of this ISO week and the last", Policy{KeepLast: 1, Weekly: 2}, pts,
			// Dec 2 2026 is a Wednesday: week 49 is Nov 30 .. Dec 6; week 48 ends Sunday Nov 29.
			[]string{"20261202T0200", "20261129T0200"}},
		{"monthly 3", Policy{KeepLast: 1, Monthly: 3}, pts, []string{"20261202T0200", "20261130T0200", "20261031T0200"}},
		{"daily 2 with two points on one day keeps that day's newest", Policy{KeepLast: 1, Daily: 2},
			[]Point{{ID: "d2-late", Time: last}, {ID: "d2-early", Time: last.Add(-time.Hour)}, {ID: "d1", Time: last.AddDate(0, 0, -1)}, {ID: "d0", Time: last.AddDate(0, 0, -2)}},
			[]string{"d2-late", "d1"}},
		{"no points", Policy{KeepLast: 3, Daily: 7}, nil, []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := Plan(tc.points, tc.policy, now, time.UTC)
			if got := ids(d.Keep); !reflect.DeepEqual(got, tc.keep) {
				t.Errorf("kept %v, want %v", got, tc.keep)
			}
			if len(d.Keep)+len(d.Prune) != len(tc.points) {
				t.Errorf("kept %d and pruned %d of %d points", len(d.Keep), len(d.Prune), len(tc.points))
			}
		})
	}
}

// The newest verified point is kept even when every rule would prune it; only the newest one.
func TestPlanKeepsNewestVerified(t *testing.T) {
	pts := daily(time.Date(2026, 12, 2, 2, 0, 0, 0, time.UTC), 10)
	pts[6].Verified, pts[8].Verified = true, true
	d := Plan(pts, Policy{KeepLast: 2}, now, nil)
	want := []string{"20261202T0200", "20261201T0200", pts[6].ID}
	if got := ids(d.Keep); !reflect.DeepEqual(got, want) {
		t.Errorf("kept %v, want %v", got, want)
	}
	if got := d.Why[pts[6].ID]; !reflect.DeepEqual(got, Reason{"newest-verified"}) {
		t.Errorf("why %s is kept: %v", pts[6].ID, got)
	}
	for _, p := range d.Prune {
		if p.ID == pts[6].ID {
			t.Errorf("the newest verified point %s is pruned", p.ID)
		}
	}
}

// Days are counted in the job's time zone: 23:30 UTC on Dec 1 is Dec 2 in Berlin.
func TestPlanTimeZone(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone data:", err)
	}
	pts := []Point{
		{ID: "a", Time: time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC)},
		{ID: "b", Time: time.Date(2026, 12, 1, 23, 30, 0, 0, time.UTC)},
		{ID: "c", Time: time.Date(2026, 12, 1, 22, 30, 0, 0, time.UTC)},
	}
	if got := ids(Plan(pts, Policy{KeepLast: 1, Daily: 2}, now, berlin).Keep); !reflect.DeepEqual(got, []string{"a", "c"}) {
		t.Errorf("Berlin days kept %v, want [a c] (a and b are Dec 2 there)", got)
	}
	if got := ids(Plan(pts, Policy{KeepLast: 1, Daily: 2}, now, time.UTC).Keep); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("UTC days kept %v, want [a b]", got)
	}
}

func TestValidate(t *testing.T) {
	if err := (Policy{KeepLast: 1}).Validate(); err != nil {
		t.Error(err)
	}
	for p, want := range map[Policy]string{
		{KeepLast: 0, Daily: 7}:  "keep_last must be at least 1",
		{KeepLast: 1, Daily: -1}: "daily is -1",
	} {
		if err := p.Validate(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: %v, want %q", p, err, want)
		}
	}
}
