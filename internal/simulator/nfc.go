package simulator

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
	"sync"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// nfcPrefix is where the export leases' device URLs point. vcsim's own /nfc/ endpoint stays as it
// is, for its import leases.
const nfcPrefix = "/vmgmt-nfc/"

// diskExports makes vcsim's export lease serve each disk's data as vCenter's does: the flat
// extent the descriptor names (<disk>-flat.vmdk beside it), streamed with HTTP range support,
// where vcsim's serves the small text descriptor. vcsim creates every disk's flat extent empty;
// only BigDiskVM's holds data. A disk without one is served as its descriptor, as vcsim does.
//
// vcsim makes the lease inside its ExportSnapshot, out of reach of a method handler. So, as
// cloneFirmware does, the registry Handler notes each ExportSnapshot call, and a RegisterObject
// handler, which sees the lease turn ready within that call, points the lease's disk URLs at this
// endpoint and gives them their file sizes, before the lease reaches the client. The Handler also
// follows HttpNfcLeaseProgress, Complete and Abort, which vcsim carries out (completing or
// aborting removes the lease object): a lease's URLs answer only while it is ready, and
// ExportLeases shows each lease's last state as vCenter would hold it (done or error).
type diskExports struct {
	self types.ManagedObjectReference

	mu      sync.Mutex
	pending map[*simulator.Context]types.ManagedObjectReference // ExportSnapshot calls -> snapshot
	leases  []*exportLease                                      // in creation order
	byRef   map[types.ManagedObjectReference]*exportLease
	byID    map[string]*exportLease // by the token in the URLs, while ready
}

// exportLease is what diskExports keeps of a lease.
type exportLease struct {
	id     string            // the token in the lease's URLs
	files  map[string]string // TargetId -> file on the host
	status ExportLease
}

// ExportLease is what a test can see of an export lease the simulator made.
type ExportLease struct {
	Ref      types.ManagedObjectReference
	Entity   types.ManagedObjectReference // the VM
	State    types.HttpNfcLeaseState      // ready, then done (completed) or error (aborted)
	Progress int32                        // the last HttpNfcLeaseProgress percent
	Fault    string                       // the abort's message
}

// ExportLeases lists the export leases made so far, oldest first.
func (s *Sim) ExportLeases() []ExportLease {
	d := s.exports
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]ExportLease, 0, len(d.leases))
	for _, l := range d.leases {
		out = append(out, l.status)
	}
	return out
}

// serveDiskExports installs diskExports and registers its HTTP endpoint. It chains to the
// registry handler already installed.
func serveDiskExports(model *simulator.Model) *diskExports {
	d := &diskExports{
		self:    types.ManagedObjectReference{Type: "VmgmtDiskExports", Value: "disk-exports"},
		pending: map[*simulator.Context]types.ManagedObjectReference{},
		byRef:   map[types.ManagedObjectReference]*exportLease{},
		byID:    map[string]*exportLease{},
	}
	m := model.Map()
	m.AddHandler(d)
	beforeCalls(m, func(ctx *simulator.Context, method *simulator.Method) types.BaseMethodFault {
		d.note(ctx, method)
		return nil
	})
	model.Service.HandleFunc(nfcPrefix, d.serve)
	return d
}

// note notes an ExportSnapshot call, and follows the lease calls vcsim will carry out (those on a
// lease of the caller's session).
func (d *diskExports) note(ctx *simulator.Context, method *simulator.Method) {
	if method.Name == "ExportSnapshot" && method.This.Type == "VirtualMachineSnapshot" {
		d.mu.Lock()
		d.pending[ctx] = method.This
		d.mu.Unlock()
		return
	}
	if method.This.Type != "HttpNfcLease" || ctx.Session == nil || ctx.Session.Get(method.This) == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if l := d.byRef[method.This]; l != nil && followLease(method.Body, &l.status.State, &l.status.Progress, &l.status.Fault) {
		delete(d.byID, l.id)
	}
}

// followLease applies a lease call vcsim will carry out (progress, complete, abort) to what the
// simulator keeps of a ready lease, and reports whether the call ended it: its URLs then stop
// answering.
func followLease(body any, state *types.HttpNfcLeaseState, progress *int32, fault *string) (ended bool) {
	if *state != types.HttpNfcLeaseStateReady {
		return false
	}
	switch req := body.(type) {
	case *types.HttpNfcLeaseProgress:
		*progress = req.Percent
	case *types.HttpNfcLeaseComplete:
		*state = types.HttpNfcLeaseStateDone
		return true
	case *types.HttpNfcLeaseAbort:
		*state = types.HttpNfcLeaseStateError
		if req.Fault != nil {
			*fault = req.Fault.LocalizedMessage
		}
		return true
	}
	return false
}

func (d *diskExports) Reference() types.ManagedObjectReference { return d.self }

func (d *diskExports) PutObject(*simulator.Context, mo.Reference) {}

func (d *diskExports) RemoveObject(*simulator.Context, types.ManagedObjectReference) {}

// UpdateObject sees a lease that an ExportSnapshot call made turn ready, and makes its disk URLs
// serve the disks' data.
func (d *diskExports) UpdateObject(ctx *simulator.Context, obj mo.Reference, changes []types.PropertyChange) {
	lease, ok := obj.(*mo.HttpNfcLease)
	if !ok || lease.State != types.HttpNfcLeaseStateReady || lease.Info == nil {
		return
	}
	d.mu.Lock()
	snapRef, ok := d.pending[ctx]
	delete(d.pending, ctx)
	d.mu.Unlock()
	if !ok {
		return
	}
	snap, ok := ctx.Map.Get(snapRef).(*simulator.VirtualMachineSnapshot)
	if !ok {
		return
	}
	base, err := serverURL(ctx)
	if err != nil {
		return
	}
	l := &exportLease{id: rand.Text(), files: map[string]string{}}
	disks := map[string]*types.VirtualDisk{} // by the base name of the descriptor
	for _, dev := range object.VirtualDeviceList(snap.Config.Hardware.Device).SelectByType((*types.VirtualDisk)(nil)) {
		disk := dev.(*types.VirtualDisk)
		if b, ok := disk.Backing.(types.BaseVirtualDeviceFileBackingInfo); ok {
			disks[path.Base(datastoreFile(b.GetVirtualDeviceFileBackingInfo().FileName))] = disk
		}
	}
	info := lease.Info
	info.TotalDiskCapacityInKB = 0
	for i := range info.DeviceUrl {
		u := &info.DeviceUrl[i]
		disk := disks[u.TargetId]
		if disk == nil {
			continue // not a disk: vcsim serves it
		}
		b := disk.Backing.(types.BaseVirtualDeviceFileBackingInfo).GetVirtualDeviceFileBackingInfo()
		file, fault := diskDataFile(ctx, b.FileName)
		if fault != nil {
			continue
		}
		st, err := os.Stat(file)
		if err != nil {
			continue
		}
		target := path.Base(file)
		l.files[target] = file
		url := *base
		url.Path = nfcPrefix + l.id + "/" + target
		u.Url = url.String()
		u.TargetId = target
		u.FileSize = st.Size()
		info.TotalDiskCapacityInKB += disk.CapacityInKB
	}
	l.status = ExportLease{Ref: lease.Self, Entity: info.Entity, State: lease.State}
	d.mu.Lock()
	d.leases = append(d.leases, l)
	d.byRef[lease.Self] = l
	d.byID[l.id] = l
	d.mu.Unlock()
}

// datastoreFile is the path part of a datastore path ("[datastore] dir/disk.vmdk").
func datastoreFile(dsPath string) string {
	var p object.DatastorePath
	if !p.FromString(dsPath) {
		return dsPath
	}
	return p.Path
}

// serverURL is the simulator's own URL, which vcsim records when its server starts.
func serverURL(ctx *simulator.Context) (*url.URL, error) {
	for _, o := range ctx.Map.OptionManager().Setting {
		if v := o.GetOptionValue(); v.Key == "vcsim.server.url" {
			if s, ok := v.Value.(string); ok {
				return url.Parse(s)
			}
		}
	}
	return nil, fmt.Errorf("the simulator's URL is not known")
}

// diskDataFile is the host file that holds the data of the disk whose descriptor is at dsPath
// ("[datastore] dir/disk.vmdk"): its flat extent when there is one, else the descriptor.
func diskDataFile(ctx *simulator.Context, dsPath string) (string, types.BaseMethodFault) {
	desc, fault := hostPath(ctx.Map, dsPath)
	if fault != nil {
		return "", fault
	}
	return dataFile(desc), nil
}

// dataFile is the file that holds the data of the disk whose descriptor is the host file desc.
func dataFile(desc string) string {
	if flat := simulator.VirtualDiskBackingFileName(desc); flat != desc {
		if _, err := os.Stat(flat); err == nil {
			return flat
		}
	}
	return desc
}

// hostPath maps a datastore path to the file that holds it on the simulator's host.
func hostPath(m *simulator.Registry, dsPath string) (string, types.BaseMethodFault) {
	var p object.DatastorePath
	if !p.FromString(dsPath) {
		return "", &types.InvalidDatastorePath{DatastorePath: dsPath}
	}
	for _, e := range m.All("Datastore") {
		if ds, ok := e.(*simulator.Datastore); ok && ds.Name == p.Datastore {
			return path.Join(ds.Summary.Url, p.Path), nil
		}
	}
	return "", &types.InvalidDatastore{Name: p.Datastore}
}

// serve answers GET (and HEAD) /vmgmt-nfc/<lease token>/<target id> with the disk's file, ranges
// included. As on vCenter, the token in the URL is the credential: no session is needed.
func (d *diskExports) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "export leases serve GET only", http.StatusMethodNotAllowed)
		return
	}
	id, target, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, nfcPrefix), "/")
	d.mu.Lock()
	l := d.byID[id]
	d.mu.Unlock()
	if !ok || l == nil {
		http.Error(w, "no such lease, or the lease is no longer ready", http.StatusNotFound)
		return
	}
	file, ok := l.files[target]
	if !ok {
		http.Error(w, "no such device in the lease", http.StatusNotFound)
		return
	}
	f, err := os.Open(file)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	defer func() { _ = f.Close() }()
	st, err := f.Stat()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, target, st.ModTime(), f)
}
