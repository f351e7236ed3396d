package vsphere

import (
	"reflect"
	"testing"
)

// A selection's Also tags select their VMs whatever Include names; Exclude and the filters
// still apply, and Also alone is a valid selection.
func TestSelectAlso(t *testing.T) {
	sim, ids := selectionSim(t)
	c := connect(t, sim)
	also := []TagRef{tier1} // s-top and s-inner carry it
	cases := []struct {
		name string
		sel  Selection
		want []string
	}{
		{"also beside an ID list", Selection{Include: Criteria{IDs: []string{ids["s-tmpl"]}}, Also: also}, list("s-top", "s-inner", "s-tmpl")},
		{"exclude drops an also VM", Selection{Include: Criteria{IDs: []string{ids["s-tmpl"]}}, Also: also, Exclude: &Criteria{IDs: []string{ids["s-top"]}}}, list("s-inner", "s-tmpl")},
		{"filters apply to also VMs", Selection{Include: Criteria{IDs: []string{ids["s-tmpl"]}}, Also: also, PowerStates: []PowerState{PoweredOn}}, list("s-top")},
		{"also alone", Selection{Also: also}, list("s-top", "s-inner")},
		{"also with all-of include", Selection{Include: Criteria{Tags: []TagRef{production}, Folders: []string{selDeep}, Match: MatchAll}, Also: also}, list("s-top", "s-inner", "s-deep")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.sel.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if got := names(t, c, tc.sel); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	if err := (Selection{}).Validate(); err == nil {
		t.Error("a selection with neither Include nor Also validates")
	}
}
