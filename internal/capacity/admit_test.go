package capacity

import (
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// parentWith is a non-expandable parent with 1000 MHz / 4096 MB of capacity, of which the child
// "tier-1" reserves 300 MHz / 1024 MB and VMs another 100 MHz / 1024 MB.
func parentWith() *vsphere.Capacity {
	return &vsphere.Capacity{
		ID: "resgroup-10", Name: "tier-0", Kind: "pool",
		CPU:      vsphere.ResourceCapacity{Capacity: 1000, Reserved: 400, Unreserved: 600, Limit: -1},
		Memory:   vsphere.ResourceCapacity{Capacity: 4096, Reserved: 2048, Unreserved: 2048, Limit: -1},
		Children: []vsphere.ChildPool{{Name: "tier-1", CPUReservationMHz: 300, MemoryReservationMB: 1024}},
		VMs:      1,
	}
}

// admitted runs admit and returns the attribute paths it refused.
func admitted(t *testing.T, capa *vsphere.Capacity, want planned, others *planned) (refused []string, diags diag.Diagnostics) {
	t.Helper()
	admit(capa, "/dc1/host/prod/Resources/tier-0", want, others, &diags)
	for _, d := range diags {
		wp, ok := d.(diag.DiagnosticWithPath)
		if !ok {
			t.Fatalf("admission error without an attribute path: %s: %s", d.Summary(), d.Detail())
		}
		refused = append(refused, wp.Path().String())
	}
	return refused, diags
}

func TestAdmitBoundaries(t *testing.T) {
	cases := []struct {
		name   string
		want   planned
		others *planned
		refuse []string // attribute paths refused; none means admitted
		detail string   // part of the refusal's text
	}{
		{name: "new, exactly the unreserved capacity", want: planned{name: "tier-2", cpu: 600, mem: 2048}},
		{name: "new, 1 MHz more", want: planned{name: "tier-2", cpu: 601, mem: 2048},
			refuse: []string{"cpu.reservation"}, detail: "Lower cpu.reservation to at most 600 MHz"},
		{name: "new, 1 MB more", want: planned{name: "tier-2", cpu: 600, mem: 2049},
			refuse: []string{"memory.reservation"}, detail: "Lower memory.reservation to at most 2048 MB"},
		// An existing child may use what it already holds on top of the unreserved capacity.
		{name: "existing, unreserved plus its own holding exactly", want: planned{name: "tier-1", cpu: 900, mem: 3072}},
		{name: "existing, 1 MHz beyond its holding", want: planned{name: "tier-1", cpu: 901, mem: 3072},
			refuse: []string{"cpu.reservation"}, detail: "this reservation already holds 300 MHz"},
		{name: "renamed in this plan, holding read under its current name", want: planned{name: "tier-1b", current: "tier-1", cpu: 900, mem: 3072}},
		{name: "renamed, 1 MB beyond its holding", want: planned{name: "tier-1b", current: "tier-1", cpu: 900, mem: 3073},
			refuse: []string{"memory.reservation"}, detail: "at most 3072 MB"},
		// Siblings planned in the same run claim their growth first.
		{name: "siblings leave exactly enough", want: planned{name: "tier-2", cpu: 350, mem: 1048},
			others: &planned{name: `sibling(s) "tier-3"`, cpu: 250, mem: 1000}},
		{name: "siblings leave 1 less", want: planned{name: "tier-2", cpu: 351, mem: 1049},
			others: &planned{name: `sibling(s) "tier-3"`, cpu: 250, mem: 1000},
			refuse: []string{"cpu.reservation", "memory.reservation"}, detail: `sibling(s) "tier-3" planned in this run claim 250 MHz more`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			refused, diags := admitted(t, parentWith(), tc.want, tc.others)
			if strings.Join(refused, ",") != strings.Join(tc.refuse, ",") {
				t.Fatalf("refused %v, want %v\n%v", refused, tc.refuse, diags)
			}
			if tc.detail != "" && !strings.Contains(diags[0].Detail(), tc.detail) {
				t.Fatalf("refusal does not say %q:\n%s", tc.detail, diags[0].Detail())
			}
		})
	}
}

// An expandable parent may borrow from its ancestors: vCenter admits at apply time.
func TestAdmitExpandableParent(t *testing.T) {
	capa := parentWith()
	capa.CPU.Expandable = true
	refused, diags := admitted(t, capa, planned{name: "tier-2", cpu: 5000, mem: 2049}, nil)
	if len(refused) != 1 || refused[0] != path.Root("memory").AtName("reservation").String() {
		t.Fatalf("refused %v, want only memory.reservation (CPU is expandable)\n%v", refused, diags)
	}
}

// The ledger adds up what the other reservations planned under the same parent grow beyond what
// they hold now; two that each fit alone but not together are refused.
func TestLedgerSiblings(t *testing.T) {
	capa := parentWith() // 600 MHz / 2048 MB unreserved; tier-1 holds 300 MHz / 1024 MB
	l := newLedger()
	a := planned{name: "tier-2", cpu: 400, mem: 1024}
	if others := l.record(capa.ID, a, capa); others != nil {
		t.Fatalf("first reservation planned: others = %+v, want none", others)
	}
	if refused, diags := admitted(t, capa, a, nil); len(refused) > 0 {
		t.Fatalf("tier-2 alone refused: %v", diags)
	}

	// tier-3 fits alone (400 <= 600) but not beside tier-2 (400 + 400 > 600).
	b := planned{name: "tier-3", cpu: 400, mem: 1024}
	others := l.record(capa.ID, b, capa)
	if others == nil || others.cpu != 400 || others.mem != 1024 || others.name != `sibling(s) "tier-2"` {
		t.Fatalf("others beside tier-3 = %+v, want tier-2's 400 MHz / 1024 MB", others)
	}
	refused, diags := admitted(t, capa, b, others)
	if strings.Join(refused, ",") != "cpu.reservation" || !strings.Contains(diags[0].Detail(), "at most 200 MHz") {
		t.Fatalf("tier-3 beside tier-2: refused %v, want cpu.reservation with at most 200 MHz\n%v", refused, diags)
	}

	// An existing sibling counts only its growth; one that shrinks frees nothing at plan time.
	grow := planned{name: "tier-1", cpu: 350, mem: 512}
	l.record(capa.ID, grow, capa)
	others = l.record(capa.ID, planned{name: "tier-4", cpu: 1, mem: 1}, capa)
	if others.cpu != 400+400+50 || others.mem != 1024+1024+0 {
		t.Fatalf("others beside tier-4 = %+v, want 850 MHz (tier-2, tier-3, tier-1's +50) and 2048 MB", others)
	}

	// Planning a reservation again replaces its entry; other parents are apart.
	l.record(capa.ID, planned{name: "tier-2", cpu: 100, mem: 0}, capa)
	others = l.record(capa.ID, planned{name: "tier-4", cpu: 1, mem: 1}, capa)
	if others.cpu != 100+400+50 {
		t.Fatalf("after tier-2 was planned again at 100 MHz: others.cpu = %d, want 550", others.cpu)
	}
	if others := l.record("resgroup-99", planned{name: "tier-2", cpu: 1, mem: 1}, capa); others != nil {
		t.Fatalf("another parent sees siblings %+v", others)
	}
}
