package vsphere

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

// The datastores of many VMs are read in one round trip, with a NAS datastore's server and export.
func TestDatastoresByID(t *testing.T) {
	ctx := context.Background()
	sim := newSim(t)
	c := connect(t, sim)
	var hosts []mo.HostSystem
	if err := c.RetrieveAll(ctx, "HostSystem", []string{"configManager.datastoreSystem"}, &hosts); err != nil || len(hosts) == 0 {
		t.Fatalf("hosts: %v %v", hosts, err)
	}
	// The simulator mounts the export on a local directory and names the datastore after it.
	mount := filepath.Join(t.TempDir(), "nfs-vm")
	if err := os.Mkdir(mount, 0o755); err != nil {
		t.Fatal(err)
	}
	dss := object.NewHostDatastoreSystem(c.vim, *hosts[0].ConfigManager.DatastoreSystem)
	nas, err := dss.CreateNasDatastore(ctx, types.HostNasVolumeSpec{RemoteHost: "nas01.example.com", RemotePath: "/export/vm",
		LocalPath: mount, AccessMode: string(types.HostMountModeReadWrite), Type: string(types.HostFileSystemVolumeFileSystemTypeNFS)})
	if err != nil {
		t.Fatal(err)
	}
	vms, err := c.Select(ctx, Selection{Include: Criteria{Folders: []string{simulator.WorkloadFolder}}}, []string{"datastore"})
	if err != nil || len(vms) < 2 {
		t.Fatalf("the workloads: %v %v", vms, err)
	}
	var ids []string
	for _, vm := range vms {
		for _, ref := range vm.Props["datastore"].(types.ArrayOfManagedObjectReference).ManagedObjectReference {
			ids = append(ids, ref.Value)
		}
	}
	ids = append(ids, nas.Reference().Value)
	before := c.Stats().RoundTrips()
	got, err := c.DatastoresByID(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	if n := c.Stats().RoundTrips() - before; n != 1 {
		t.Errorf("%d round trips for the datastores of %d VMs, want 1", n, len(vms))
	}
	if len(got) != 2 {
		t.Fatalf("got %+v, want the VMs' datastore and the NAS one", got)
	}
	var local, nfs Datastore
	for _, d := range got {
		if d.ID == nas.Reference().Value {
			nfs = d
		} else {
			local = d
		}
	}
	if nfs.Name != "nfs-vm" || nfs.Type != "NFS" || nfs.RemoteHost != "nas01.example.com" || nfs.RemotePath != "/export/vm" {
		t.Errorf("the NAS datastore is %+v", nfs)
	}
	if local.Name == "" || local.URL == "" || local.RemoteHost != "" {
		t.Errorf("the VMs' datastore is %+v", local)
	}
	if none, err := c.DatastoresByID(ctx, nil); none != nil || err != nil {
		t.Errorf("no ID: %v %v", none, err)
	}
}

// Several selections cost one: the same round trips as one selection, each with its own VMs and
// its own error.
func TestSelectEach(t *testing.T) {
	ctx := context.Background()
	c := connect(t, sharedSim(t))
	folder := Selection{Include: Criteria{Folders: []string{simulator.WorkloadFolder}}}
	bad := Selection{Include: Criteria{Folders: []string{"no-such-folder"}}}
	one, err := c.Select(ctx, folder, []string{"name"})
	if err != nil || len(one) == 0 {
		t.Fatalf("one selection: %v %v", one, err)
	}
	before := c.Stats().RoundTrips()
	if _, err := c.Select(ctx, folder, []string{"name"}); err != nil {
		t.Fatal(err)
	}
	single := c.Stats().RoundTrips() - before
	ids := Selection{Include: Criteria{IDs: []string{one[0].ID}}}
	before = c.Stats().RoundTrips()
	each, errs, err := c.SelectEach(ctx, []Selection{folder, bad, ids, {}}, []string{"name"})
	if err != nil {
		t.Fatal(err)
	}
	if n := c.Stats().RoundTrips() - before; n != single {
		t.Errorf("SelectEach of 4 selections made %d round trips, one Select %d", n, single)
	}
	if len(each[0]) != len(one) || errs[0] != nil {
		t.Errorf("the folder selection: %d VMs (%v), want %d", len(each[0]), errs[0], len(one))
	}
	if errs[1] == nil || each[1] != nil {
		t.Errorf("the missing folder: %v %v", each[1], errs[1])
	}
	if len(each[2]) != 1 || each[2][0].ID != one[0].ID || each[2][0].Props["name"] != one[0].Props["name"] || errs[2] != nil {
		t.Errorf("the ID selection: %+v %v", each[2], errs[2])
	}
	if errs[3] == nil {
		t.Errorf("an empty selection is invalid, got %v", each[3])
	}
}
