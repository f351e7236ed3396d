package vsphere

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vapi/library"
	"github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/vapi/vcenter"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// Content library item types that can be deployed as a VM.
const (
	LibraryItemVMTemplate = library.ItemTypeVMTX // "vm-template"
	LibraryItemOVF        = library.ItemTypeOVF  // "ovf"
)

// LibraryItem is a content library item that a VM can be deployed from.
type LibraryItem struct {
	ID        string
	Name      string
	Library   string // the library's name
	LibraryID string
	Type      string // LibraryItemVMTemplate or LibraryItemOVF
	Path      string // "<library>/<item>"
}

// itemIDPattern matches the IDs vCenter gives content library items (UUIDs).
var itemIDPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// FindLibraryItem resolves a content library item given as "<library>/<item>" (a leading "/" is
// allowed) or by its ID. An item or library that does not exist is NotFound; an item of a type
// that cannot be deployed as a VM (an ISO image, say) is an error naming the type.
//
// Answers are remembered until the next Refresh: every VM of a plan names the same few items.
// Resolving a path costs four vAPI requests, an ID two.
func (c *Client) FindLibraryItem(ctx context.Context, ref string) (*LibraryItem, error) {
	ref = strings.TrimSpace(ref)
	byID := itemIDPattern.MatchString(ref)
	var lib, name string
	if !byID {
		var ok bool
		lib, name, ok = strings.Cut(strings.TrimPrefix(ref, "/"), "/")
		if !ok || lib == "" || name == "" {
			return nil, fmt.Errorf("content library item %q: give it as <library>/<item> or by its ID", ref)
		}
	}
	key := "library item:" + ref
	if !byID {
		key = "library item:" + lib + "/" + name
	}
	v, err := c.lookup(ctx, key, func(*find.Finder) (any, error) {
		var it *LibraryItem
		err := c.withLibrary(ctx, func(m *library.Manager) error {
			var err error
			if byID {
				it, err = libraryItemByID(ctx, m, ref)
			} else {
				it, err = libraryItemByPath(ctx, m, lib, name)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		if it.Type != LibraryItemVMTemplate && it.Type != LibraryItemOVF {
			return nil, fmt.Errorf("content library item %s is of type %q: only %s and %s items can be deployed as a VM",
				it.Path, it.Type, LibraryItemVMTemplate, LibraryItemOVF)
		}
		return it, nil
	})
	if err != nil {
		return nil, err
	}
	it := v.(*LibraryItem)
	if !byID {
		// Deploys name the item by ID: remember it under that key too (no request).
		_, _ = c.lookup(ctx, "library item:"+it.ID, func(*find.Finder) (any, error) { return it, nil })
	}
	cp := *it
	return &cp, nil
}

func libraryItemByID(ctx context.Context, m *library.Manager, id string) (*LibraryItem, error) {
	item, err := m.GetLibraryItem(ctx, id)
	if err != nil {
		if isHTTPStatus(err, http.StatusNotFound) {
			return nil, notFound("content library item", id, err)
		}
		return nil, fmt.Errorf("reading content library item %s: %w", id, err)
	}
	l, err := m.GetLibraryByID(ctx, item.LibraryID)
	if err != nil {
		return nil, fmt.Errorf("reading content library %s of item %s: %w", item.LibraryID, id, err)
	}
	return newLibraryItem(l, item), nil
}

func libraryItemByPath(ctx context.Context, m *library.Manager, lib, name string) (*LibraryItem, error) {
	libIDs, err := m.FindLibrary(ctx, library.Find{Name: lib})
	if err != nil {
		return nil, fmt.Errorf("looking up content library %q: %w", lib, err)
	}
	switch len(libIDs) {
	case 0:
		return nil, notFound("content library item", lib+"/"+name, fmt.Errorf("no content library is named %q", lib))
	case 1:
	default:
		return nil, fmt.Errorf("%d content libraries are named %q: name the item by its ID instead", len(libIDs), lib)
	}
	l, err := m.GetLibraryByID(ctx, libIDs[0])
	if err != nil {
		return nil, fmt.Errorf("reading content library %q: %w", lib, err)
	}
	itemIDs, err := m.FindLibraryItems(ctx, library.FindItem{LibraryID: l.ID, Name: name})
	if err != nil {
		return nil, fmt.Errorf("looking up %q in content library %q: %w", name, l.Name, err)
	}
	switch len(itemIDs) {
	case 0:
		return nil, notFound("content library item", l.Name+"/"+name, nil)
	case 1:
	default:
		return nil, fmt.Errorf("content library %q holds %d items named %q: name the item by its ID instead", l.Name, len(itemIDs), name)
	}
	item, err := m.GetLibraryItem(ctx, itemIDs[0])
	if err != nil {
		if isHTTPStatus(err, http.StatusNotFound) { // deleted meanwhile
			return nil, notFound("content library item", l.Name+"/"+name, err)
		}
		return nil, fmt.Errorf("reading content library item %s/%s: %w", l.Name, name, err)
	}
	return newLibraryItem(l, item), nil
}

func newLibraryItem(l *library.Library, item *library.Item) *LibraryItem {
	return &LibraryItem{
		ID: item.ID, Name: item.Name, Library: l.Name, LibraryID: l.ID, Type: item.Type,
		Path: l.Name + "/" + item.Name,
	}
}

// withLibrary runs f with a content library manager on the client's vAPI session (withREST).
func (c *Client) withLibrary(ctx context.Context, f func(*library.Manager) error) error {
	return c.withREST(ctx, func(rc *rest.Client) error { return f(library.NewManager(rc)) })
}

// isHTTPStatus reports whether err, or an error it wraps, is a vAPI answer with that status.
func isHTTPStatus(err error, code int) bool {
	for ; err != nil; err = errors.Unwrap(err) {
		if rest.IsStatusError(err, code) {
			return true
		}
	}
	return false
}

// DeploySpec describes a VM deployed from a content library item.
type DeploySpec struct {
	ItemID   string // content library item ID (FindLibraryItem)
	Name     string
	FolderID string
	PoolID   string
	// HostID is optional: by default vCenter (DRS) places the VM; in a cluster without DRS, and on
	// a stand-alone host, a connected host of the pool's cluster outside maintenance mode is used.
	HostID string
	// DatastoreID is optional: by default the datastore of the pool's cluster (mounted on the chosen
	// host, if any) that most of its hosts share, then the one with the most free space.
	DatastoreID string
	// Network is a network name or path. For an OVF item every network of the OVF descriptor is
	// mapped to it at deploy time; a vm-template item keeps its NICs (the caller edits them).
	// Empty keeps the item's networks.
	Network string
}

// NameConflictError means a VM could not be created because its folder already holds an
// object of that name.
type NameConflictError struct {
	Name       string
	FolderID   string
	ExistingID string // the managed object ID of what holds the name
	Err        error
}

func (e *NameConflictError) Error() string {
	return fmt.Sprintf("cannot create VM %q in folder %s: %s already has that name; choose another name, or remove or import %s", e.Name, e.FolderID, e.ExistingID, e.ExistingID)
}

func (e *NameConflictError) Unwrap() error { return e.Err }

// DeployLibraryItem creates a powered-off VM from a vm-template or OVF content library item and
// returns its managed object ID. Hardware size, extraConfig, NIC edits, guest customization and
// power-on are the caller's to apply afterwards (ReconfigureVM, ...): vCenter's deploy calls
// cannot do all of them for both item types.
//
// When the deploy created a VM and a later step fails, the VM's ID is returned with the error, so
// the caller can record or remove it.
func (c *Client) DeployLibraryItem(ctx context.Context, s DeploySpec) (string, error) {
	for _, f := range []struct{ what, v string }{{"content library item", s.ItemID}, {"VM name", s.Name}, {"folder", s.FolderID}, {"resource pool", s.PoolID}} {
		if strings.TrimSpace(f.v) == "" {
			return "", fmt.Errorf("deploying from a content library: no %s given", f.what)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.APITimeout)
	defer cancel()
	it, err := c.FindLibraryItem(ctx, s.ItemID)
	if err != nil {
		return "", err
	}
	host, ds, err := c.deployPlacement(ctx, s)
	if err != nil {
		return "", err
	}
	var nets []vcenter.NetworkMapping
	if it.Type == LibraryItemOVF {
		if nets, err = c.ovfNetworks(ctx, it, s); err != nil {
			return "", err
		}
	}
	var ref *types.ManagedObjectReference
	defer func() { // the new VM is read again at the next use of the snapshot; after a failure, everything
		if ref != nil && ref.Value != "" {
			c.vmChanged(ref.Value)
		} else {
			c.InvalidateVMs()
		}
	}()
	err = c.withLibrary(ctx, func(m *library.Manager) error {
		var err error
		vcm := vcenter.NewManager(m.Client)
		if it.Type == LibraryItemVMTemplate {
			ref, err = vcm.DeployTemplateLibraryItem(ctx, it.ID, vcenter.DeployTemplate{
				Name:          s.Name,
				Placement:     &vcenter.Placement{Folder: s.FolderID, ResourcePool: s.PoolID, Host: host},
				DiskStorage:   &vcenter.DiskStorage{Datastore: ds},
				VMHomeStorage: &vcenter.DiskStorage{Datastore: ds},
			})
			return err
		}
		// No VmConfigSpec: vcsim drops the NICs when given one; the caller reconfigures.
		ref, err = vcm.DeployLibraryItem(ctx, it.ID, vcenter.Deploy{
			DeploymentSpec: vcenter.DeploymentSpec{
				Name:               s.Name,
				AcceptAllEULA:      true, // whoever published the item into the catalog accepted them
				DefaultDatastoreID: ds,
				NetworkMappings:    nets,
			},
			Target: vcenter.Target{ResourcePoolID: s.PoolID, FolderID: s.FolderID, HostID: host},
		})
		return err
	})
	if err != nil {
		return "", c.deployError(ctx, it, s, host, ds, err)
	}
	if ref == nil || ref.Value == "" {
		return "", fmt.Errorf("deploying %s as %q: vCenter returned no VM", it.Path, s.Name)
	}
	// The VM exists: errors from here on return its ID too.
	if err := c.makeVM(ctx, ref.Value, s.PoolID, host); err != nil {
		return ref.Value, fmt.Errorf("deploying %s as %q: %w", it.Path, s.Name, err)
	}
	return ref.Value, nil
}

// makeVM turns a deployed template into a VM. vCenter deploys a vm-template item as a VM; vcsim
// deploys it as a template (a clone with Template set) without a resource pool.
func (c *Client) makeVM(ctx context.Context, id, poolID, hostID string) error {
	ref := types.ManagedObjectReference{Type: "VirtualMachine", Value: id}
	var vm mo.VirtualMachine
	if err := c.retrieveOne(ctx, ref, []string{"config.template"}, &vm); err != nil {
		return fmt.Errorf("reading the new VM %s: %w", id, err)
	}
	if vm.Config == nil || !vm.Config.Template {
		return nil
	}
	var host *object.HostSystem
	if hostID != "" {
		host = object.NewHostSystem(c.vim, types.ManagedObjectReference{Type: "HostSystem", Value: hostID})
	}
	pool := object.NewResourcePool(c.vim, types.ManagedObjectReference{Type: "ResourcePool", Value: poolID})
	if err := object.NewVirtualMachine(c.vim, ref).MarkAsVirtualMachine(ctx, *pool, host); err != nil {
		return fmt.Errorf("the new VM %s came back as a template; converting it to a VM in pool %s: %w", id, poolID, err)
	}
	return nil
}

// deployError explains a failed deploy. vCenter answers 404 both for an item that is gone and for
// a placement object (folder, pool, host, datastore) that does not exist: the item is asked again
// to tell them apart. A name the folder already holds is a NameConflictError: vCenter and vcsim
// word it in many ways, so the folder is asked. Both cost nothing on success.
func (c *Client) deployError(ctx context.Context, it *LibraryItem, s DeploySpec, host, ds string, err error) error {
	if isHTTPStatus(err, http.StatusNotFound) {
		c.forgetLookups()
		gone := c.withLibrary(ctx, func(m *library.Manager) error {
			_, err := m.GetLibraryItem(ctx, it.ID)
			return err
		})
		if gone == nil || !isHTTPStatus(gone, http.StatusNotFound) {
			return fmt.Errorf("deploying content library item %s as %q: one of folder %s, resource pool %s, host %q, datastore %s does not exist: %w",
				it.Path, s.Name, s.FolderID, s.PoolID, host, ds, err)
		}
		return notFound("content library item", it.Path, err)
	}
	var de *vcenter.DeploymentError
	if errors.As(err, &de) {
		err = fmt.Errorf("%w%s", err, deploymentDetails(de))
	}
	folder := object.NewFolder(c.vim, types.ManagedObjectReference{Type: "Folder", Value: s.FolderID})
	if existing, ferr := object.NewSearchIndex(c.vim).FindChild(ctx, folder, s.Name); ferr == nil && existing != nil {
		return &NameConflictError{Name: s.Name, FolderID: s.FolderID, ExistingID: existing.Reference().Value, Err: err}
	}
	return fmt.Errorf("deploying content library item %s as %q into folder %s, pool %s: %w", it.Path, s.Name, s.FolderID, s.PoolID, err)
}

// deploymentDetails lists the messages of an OVF deployment error beyond the first (which its
// Error already carries).
func deploymentDetails(de *vcenter.DeploymentError) string {
	var out []string
	for i, e := range de.Errors {
		if i == 0 {
			continue
		}
		switch {
		case e.Message != nil:
			out = append(out, e.Message.DefaultMessage)
		case e.Error != nil && len(e.Error.Messages) > 0:
			out = append(out, e.Error.Messages[0].DefaultMessage)
		}
	}
	if len(out) == 0 {
		return ""
	}
	return "; " + strings.Join(out, "; ")
}

// ovfNetworks maps every network of an OVF item's descriptor to the requested network. vCenter
// names them in the item's filter answer (one request); vcsim names none, and the caller's NIC
// edit then attaches the VM.
func (c *Client) ovfNetworks(ctx context.Context, it *LibraryItem, s DeploySpec) ([]vcenter.NetworkMapping, error) {
	if s.Network == "" {
		return nil, nil
	}
	net, err := c.ResolveNetwork(ctx, s.Network)
	if err != nil {
		return nil, err
	}
	v, err := c.lookup(ctx, "ovf networks:"+it.ID, func(*find.Finder) (any, error) {
		var fr vcenter.FilterResponse
		err := c.withLibrary(ctx, func(m *library.Manager) error {
			var err error
			fr, err = vcenter.NewManager(m.Client).FilterLibraryItem(ctx, it.ID, vcenter.FilterRequest{Target: vcenter.Target{ResourcePoolID: s.PoolID}})
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("reading the networks of OVF item %s: %w", it.Path, err)
		}
		return fr.Networks, nil
	})
	if err != nil {
		return nil, err
	}
	var out []vcenter.NetworkMapping
	for _, name := range v.([]string) {
		out = append(out, vcenter.NetworkMapping{Key: name, Value: net.Reference().Value})
	}
	return out, nil
}

// poolPlacement is what placing a VM in a pool needs to know about the pool's cluster (or
// stand-alone host): read in one round trip, remembered until the next Refresh or pool write.
type poolPlacement struct {
	owner types.ManagedObjectReference
	drs   bool // DRS enabled: vCenter picks the host
	hosts []placementHost
	ds    []placementDatastore
}

type placementHost struct {
	id     string
	usable bool // connected and not in maintenance mode
	vms    int
	ds     map[string]bool
}

type placementDatastore struct {
	id     string
	usable bool // accessible and not in maintenance mode
	free   int64
}

// deployPlacement returns the host (empty: vCenter chooses) and datastore of a deploy.
func (c *Client) deployPlacement(ctx context.Context, s DeploySpec) (host, ds string, err error) {
	host, ds = s.HostID, s.DatastoreID
	if host != "" && ds != "" {
		return host, ds, nil
	}
	v, err := c.lookup(ctx, "placement:"+s.PoolID, func(*find.Finder) (any, error) { return c.readPlacement(ctx, s.PoolID) })
	if err != nil {
		return "", "", err
	}
	p := v.(*poolPlacement)
	if host == "" && !p.drs {
		if host = p.pickHost(); host == "" {
			return "", "", fmt.Errorf("resource pool %s: %s %s has no connected host outside maintenance mode to deploy on", s.PoolID, p.owner.Type, p.owner.Value)
		}
	}
	if host != "" && !p.has(host) {
		return "", "", fmt.Errorf("host %s is not in %s %s, which owns resource pool %s", host, p.owner.Type, p.owner.Value, s.PoolID)
	}
	if ds == "" {
		if ds = p.pickDatastore(host); ds == "" {
			where := p.owner.Type + " " + p.owner.Value
			if host != "" {
				where = "host " + host
			}
			return "", "", fmt.Errorf("resource pool %s: no accessible datastore outside maintenance mode on %s: give a datastore", s.PoolID, where)
		}
	}
	return host, ds, nil
}

func (c *Client) readPlacement(ctx context.Context, poolID string) (*poolPlacement, error) {
	trav := func(name, kind, path string, next ...string) types.BaseSelectionSpec {
		ts := &types.TraversalSpec{SelectionSpec: types.SelectionSpec{Name: name}, Type: kind, Path: path, Skip: types.NewBool(false)}
		for _, n := range next {
			ts.SelectSet = append(ts.SelectSet, &types.SelectionSpec{Name: n})
		}
		return ts
	}
	pool := types.ManagedObjectReference{Type: "ResourcePool", Value: poolID}
	req := types.RetrievePropertiesEx{
		This: c.vim.ServiceContent.PropertyCollector,
		SpecSet: []types.PropertyFilterSpec{{
			ObjectSet: []types.ObjectSpec{{Obj: pool, Skip: types.NewBool(false), SelectSet: []types.BaseSelectionSpec{
				trav("owner", "ResourcePool", "owner", "hosts", "datastores"),
				trav("hosts", "ComputeResource", "host"),
				trav("datastores", "ComputeResource", "datastore"),
			}}},
			PropSet: []types.PropertySpec{
				{Type: "ResourcePool", PathSet: []string{"owner"}},
				{Type: "ComputeResource", PathSet: []string{"configurationEx"}},
				{Type: "HostSystem", PathSet: []string{"runtime.connectionState", "runtime.inMaintenanceMode", "datastore", "vm"}},
				{Type: "Datastore", PathSet: []string{"summary.accessible", "summary.freeSpace", "summary.maintenanceMode"}},
			},
		}},
	}
	content, err := mo.RetrievePropertiesEx(ctx, c.vim, req)
	if err != nil {
		return nil, wrapNotFound("resource pool", poolID, fmt.Errorf("reading the cluster of resource pool %s: %w", poolID, err))
	}
	p := &poolPlacement{}
	for _, oc := range content {
		obj, err := mo.ObjectContentToType(oc, true)
		if err != nil {
			return nil, fmt.Errorf("decoding %s: %w", oc.Obj, err)
		}
		switch o := obj.(type) {
		case *mo.ResourcePool:
			if oc.Obj == pool {
				p.owner = o.Owner
			}
		case *mo.VirtualApp:
			if oc.Obj == pool {
				p.owner = o.Owner
			}
		case *mo.ClusterComputeResource:
			if cfg, ok := o.ConfigurationEx.(*types.ClusterConfigInfoEx); ok && cfg.DrsConfig.Enabled != nil {
				p.drs = *cfg.DrsConfig.Enabled
			}
		case *mo.HostSystem:
			h := placementHost{id: oc.Obj.Value, vms: len(o.Vm), ds: map[string]bool{}}
			h.usable = o.Runtime.ConnectionState == types.HostSystemConnectionStateConnected && !o.Runtime.InMaintenanceMode
			for _, d := range o.Datastore {
				h.ds[d.Value] = true
			}
			p.hosts = append(p.hosts, h)
		case *mo.Datastore:
			mm := o.Summary.MaintenanceMode
			p.ds = append(p.ds, placementDatastore{
				id:     oc.Obj.Value,
				usable: o.Summary.Accessible && (mm == "" || mm == string(types.DatastoreSummaryMaintenanceModeStateNormal)),
				free:   o.Summary.FreeSpace,
			})
		}
	}
	if p.owner.Value == "" {
		return nil, notFound("resource pool", poolID, nil)
	}
	sort.Slice(p.hosts, func(i, j int) bool { return p.hosts[i].id < p.hosts[j].id })
	sort.Slice(p.ds, func(i, j int) bool { return p.ds[i].id < p.ds[j].id })
	return p, nil
}

// pickHost returns the usable host running the fewest VMs (lowest ID on a tie), or "".
func (p *poolPlacement) pickHost() string {
	best := -1
	for i, h := range p.hosts {
		if h.usable && (best < 0 || h.vms < p.hosts[best].vms) {
			best = i
		}
	}
	if best < 0 {
		return ""
	}
	return p.hosts[best].id
}

func (p *poolPlacement) has(host string) bool {
	for _, h := range p.hosts {
		if h.id == host {
			return true
		}
	}
	return false
}

// pickDatastore returns the usable datastore mounted on host (on any host of the cluster when
// host is empty) that the most usable hosts share, then with the most free space, or "".
func (p *poolPlacement) pickDatastore(host string) string {
	best, bestShared := -1, 0
	for i, d := range p.ds {
		if !d.usable {
			continue
		}
		shared, onHost := 0, host == ""
		for _, h := range p.hosts {
			if h.ds[d.id] {
				if h.usable {
					shared++
				}
				onHost = onHost || h.id == host
			}
		}
		if !onHost || shared == 0 {
			continue
		}
		if best < 0 || shared > bestShared || shared == bestShared && d.free > p.ds[best].free {
			best, bestShared = i, shared
		}
	}
	if best < 0 {
		return ""
	}
	return p.ds[best].id
}
