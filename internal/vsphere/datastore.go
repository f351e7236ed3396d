package vsphere

import (
	"context"
	"fmt"
	"sort"

	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// Datastore is what a datastore is backed by: for rules that must know whether a path or a server
// is the storage of some VMs (a backup repository must not be).
type Datastore struct {
	ID   string
	Name string
	// Type is the summary's file system type: VMFS, NFS, NFS41, vsan, vvol, OTHER...
	Type string
	// URL is the datastore's URL as the host mounts it (ds:///vmfs/volumes/<uuid>/ on ESXi; a
	// local directory on the simulator).
	URL string
	// RemoteHost and RemotePath are the NFS (or CIFS) server and export of a NAS datastore; empty
	// for any other.
	RemoteHost, RemotePath string
}

// DatastoresByID reads the datastores with these managed object IDs (the VMs' "datastore"
// property) in one property read, whatever their number; none for no ID. They come sorted by
// name.
func (c *Client) DatastoresByID(ctx context.Context, ids []string) ([]Datastore, error) {
	ids = dedupe(ids)
	if len(ids) == 0 {
		return nil, nil
	}
	refs := make([]types.ManagedObjectReference, len(ids))
	for i, id := range ids {
		refs[i] = types.ManagedObjectReference{Type: "Datastore", Value: id}
	}
	var dss []mo.Datastore
	if err := c.collector().Retrieve(ctx, refs, []string{"name", "summary", "info"}, &dss); err != nil {
		return nil, fmt.Errorf("reading the datastores %v: %w", ids, err)
	}
	out := make([]Datastore, 0, len(dss))
	for _, ds := range dss {
		d := Datastore{ID: ds.Self.Value, Name: ds.Name, Type: ds.Summary.Type, URL: ds.Summary.Url}
		if nas, ok := ds.Info.(*types.NasDatastoreInfo); ok && nas.Nas != nil {
			d.RemoteHost, d.RemotePath = nas.Nas.RemoteHost, nas.Nas.RemotePath
		}
		if d.URL == "" && ds.Info != nil {
			d.URL = ds.Info.GetDatastoreInfo().Url
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// RefIDs are the managed object IDs in a property value that holds references (a VM's
// "datastore" or "network" as Select returns it); none for any other value.
func RefIDs(v any) []string {
	var refs []types.ManagedObjectReference
	switch x := v.(type) {
	case types.ArrayOfManagedObjectReference:
		refs = x.ManagedObjectReference
	case []types.ManagedObjectReference:
		refs = x
	case types.ManagedObjectReference:
		refs = []types.ManagedObjectReference{x}
	}
	ids := make([]string, len(refs))
	for i, r := range refs {
		ids[i] = r.Value
	}
	return ids
}
