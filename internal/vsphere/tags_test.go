package vsphere

import (
	"context"
	"testing"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

// Tags and content library calls share one vAPI session; when vCenter stops accepting it
// (logged out elsewhere, expired), each call logs in again once and succeeds.
func TestRESTSessionReplaced(t *testing.T) {
	ctx := context.Background()
	sim := newSim(t)
	c := connect(t, sim)
	vm, err := c.FindVM(ctx, "workloads/"+simulator.Workloads[0])
	if err != nil {
		t.Fatal(err)
	}
	logout := func() {
		t.Helper()
		rc, err := c.restClient(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := rc.Logout(ctx); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]string{"vmgmt-test-owner": "jane.doe"}
	logout()
	if err := c.SetTags(ctx, vm.ID, want, false); err != nil {
		t.Fatalf("SetTags after the vAPI session ended: %v", err)
	}
	logout()
	got, err := c.VMTags(ctx, vm.ID)
	if err != nil || got["vmgmt-test-owner"] != "jane.doe" {
		t.Fatalf("VMTags after the vAPI session ended: %v %v", got, err)
	}
	logout()
	if _, err := c.FindLibraryItem(ctx, simulator.Library+"/"+simulator.LibraryItems[0].Item); err != nil {
		t.Fatalf("FindLibraryItem after the vAPI session ended: %v", err)
	}
}
