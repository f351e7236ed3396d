package simulator

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// nfcImportPrefix is where the import leases' disk URLs point: /vmgmt-nfc-import/<lease
// token>/<flat extent's file name>. It is a sibling of nfcPrefix (the export leases' endpoint),
// since an import's URL takes uploads and an export's serves downloads; vcsim's own /nfc/ endpoint
// keeps the import leases' other files (nvram, ISO images), whose uploads it discards.
const nfcImportPrefix = "/vmgmt-nfc-import/"

// diskImports makes vcsim's import leases keep the disk data a client uploads, as vCenter's do.
// vcsim's ResourcePool.ImportVApp creates the VM (each new disk a small text descriptor on the
// datastore, and an empty flat extent) and an HttpNfcLease whose device URLs point at vcsim's /nfc/ endpoint, which hashes
// an upload and discards it. Here each disk URL of such a lease points at this endpoint instead,
// and a PUT or POST to it (with a Content-Length or chunked) streams the body into the disk's
// flat extent (<disk>-flat.vmdk beside the descriptor), which the export leases (diskExports) and
// Sim.DiskFiles then serve. The body goes to a temporary file in the same directory, renamed over
// the flat extent only once the whole body has arrived while the lease is still ready: a cut or
// failed upload leaves the flat extent as it was (empty, or the last complete upload).
//
// vCenter expects a disk upload in the stream-optimized VMDK format (it starts with the sparse
// magic "KDMV") and decodes it into the disk: so does the simulator (decodeStreamOptimized), into
// a flat image of the disk's capacity, and refuses a stream it cannot decode. Any other body (a
// flat image, which is what the simulator's own exports serve) is stored as received; its size is
// not checked against the disk's capacity. Sim.ImportLeases records the upload's bytes and SHA-256
// as received.
//
// vcsim makes the lease inside ImportVApp but turns it ready (lists its URLs) later, inside the
// import's own task, out of reach of a method handler, and the client learns the lease only from
// ImportVApp's answer. (A method handler cannot carry out the call in vcsim's place either: vcsim
// prefers the session's view of the called object, which is the pool itself, to the handler's.)
// So, as diskExports does for ExportSnapshot, the registry Handler notes each ImportVApp call by
// its *simulator.Context, and a RegisterObject handler, which sees the lease turn ready (or fail)
// with that same context, points the lease's disk URLs at this endpoint before the lease reaches
// the client. The context is the same because vcsim's task closure captures the call's own and
// turns the lease ready with it (vcsim v0.56.0, resource_pool.go); TestImportKeepsDiskData fails
// first if a vcsim upgrade changes that. The Handler also follows HttpNfcLeaseProgress, Complete
// and Abort, which vcsim carries out: a lease's URLs answer only while it is ready, and
// ImportLeases shows each lease's last state.
//
// An aborted import leaves its VM in the inventory, as vcsim does, and the client destroys it;
// vCenter removes the VM of an aborted import itself.
type diskImports struct {
	self types.ManagedObjectReference

	mu      sync.Mutex
	pending map[*simulator.Context]bool // ImportVApp calls whose lease is not ready yet
	leases  []*importLease              // in the order they turned ready (or failed)
	byRef   map[types.ManagedObjectReference]*importLease
	byID    map[string]*importLease // by the token in the URLs, while ready
}

// importLease is what diskImports keeps of a lease.
type importLease struct {
	id     string // the token in the lease's URLs
	disks  []*importDisk
	status ImportLease
}

// importDisk is what diskImports keeps of a disk of a lease.
type importDisk struct {
	flat   string // the flat extent on the host
	status ImportDisk
}

// ImportLease is what a test can see of an import lease (ImportVApp) the simulator made.
type ImportLease struct {
	Ref    types.ManagedObjectReference
	Entity types.ManagedObjectReference // the VM
	// State is ready (a lease is recorded once vcsim has made the VM), then done (completed) or
	// error (aborted); or error from the start when the import failed.
	State    types.HttpNfcLeaseState
	Progress int32        // the last HttpNfcLeaseProgress percent
	Fault    string       // the abort's message, or the failed import's
	Disks    []ImportDisk // the lease's disk URLs, in device order
}

// ImportDisk is what a test can see of one disk URL of an import lease.
type ImportDisk struct {
	Target string // the device URL's TargetId and last path element: the flat extent's file name
	Bytes  int64  // the size of the last complete upload, 0 before one
	SHA256 string // the last complete upload's SHA-256, hex, computed as it streamed; "" before one
	Failed int    // uploads that did not complete (cut, unreadable, or the lease ended meanwhile)
}

// ImportLeases lists the import leases made so far, oldest first.
func (s *Sim) ImportLeases() []ImportLease {
	d := s.imports
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]ImportLease, 0, len(d.leases))
	for _, l := range d.leases {
		st := l.status
		st.Disks = make([]ImportDisk, 0, len(l.disks))
		for _, disk := range l.disks {
			st.Disks = append(st.Disks, disk.status)
		}
		out = append(out, st)
	}
	return out
}

// serveDiskImports installs diskImports and registers its HTTP endpoint. It chains to the
// registry handler already installed.
func serveDiskImports(model *simulator.Model) *diskImports {
	d := &diskImports{
		self:    types.ManagedObjectReference{Type: "VmgmtDiskImports", Value: "disk-imports"},
		pending: map[*simulator.Context]bool{},
		byRef:   map[types.ManagedObjectReference]*importLease{},
		byID:    map[string]*importLease{},
	}
	m := model.Map()
	m.AddHandler(d)
	beforeCalls(m, func(ctx *simulator.Context, method *simulator.Method) types.BaseMethodFault {
		d.note(ctx, method)
		return nil
	})
	model.Service.HandleFunc(nfcImportPrefix, d.serve)
	return d
}

// note notes an ImportVApp call that vcsim will carry out, and follows the lease calls vcsim will
// carry out (those on a lease of the caller's session). A call vcsim refuses before making a lease
// (a spec other than a VirtualMachineImportSpec, a folder given for a vApp) is not noted.
func (d *diskImports) note(ctx *simulator.Context, method *simulator.Method) {
	if req, ok := method.Body.(*types.ImportVApp); ok && method.Name == "ImportVApp" {
		if _, ok := req.Spec.(*types.VirtualMachineImportSpec); !ok || (req.Folder != nil && method.This.Type == "VirtualApp") {
			return
		}
		d.mu.Lock()
		d.pending[ctx] = true
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

func (d *diskImports) Reference() types.ManagedObjectReference { return d.self }

func (d *diskImports) PutObject(*simulator.Context, mo.Reference) {}

func (d *diskImports) RemoveObject(*simulator.Context, types.ManagedObjectReference) {}

// UpdateObject sees the lease of a noted ImportVApp call turn ready, and points its disk URLs at
// this endpoint; or sees it fail (the VM could not be made) and records it in error. vcsim calls
// it with the lease's lock held, and its property collector reads the lease under that lock: the
// client, even one already waiting on the lease, sees only the URLs set here.
func (d *diskImports) UpdateObject(ctx *simulator.Context, obj mo.Reference, changes []types.PropertyChange) {
	lease, ok := obj.(*mo.HttpNfcLease)
	if !ok || (lease.State != types.HttpNfcLeaseStateReady && lease.State != types.HttpNfcLeaseStateError) {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.pending[ctx] {
		return
	}
	delete(d.pending, ctx)
	l := &importLease{status: ImportLease{Ref: lease.Self, State: lease.State}}
	d.leases = append(d.leases, l)
	d.byRef[lease.Self] = l
	if lease.State == types.HttpNfcLeaseStateError {
		if lease.Error != nil {
			l.status.Fault = lease.Error.LocalizedMessage
		}
		return
	}
	if lease.Info != nil {
		d.ready(ctx, l, lease.Info)
	}
}

// ready points the disk URLs of a lease that has turned ready at this endpoint, one per disk's
// flat extent. It changes the lease's info in place, under the lease's lock, before the client
// can read it. It runs with d.mu held.
func (d *diskImports) ready(ctx *simulator.Context, l *importLease, info *types.HttpNfcLeaseInfo) {
	l.id = rand.Text()
	l.status.Entity = info.Entity
	d.byID[l.id] = l
	vm, ok := ctx.Map.Get(info.Entity).(*simulator.VirtualMachine)
	if !ok || vm.Config == nil {
		return
	}
	base, err := serverURL(ctx)
	if err != nil {
		return
	}
	descs := map[string]string{} // the descriptor's host file, by its base name (vcsim's TargetId)
	for _, dev := range object.VirtualDeviceList(vm.Config.Hardware.Device).SelectByType((*types.VirtualDisk)(nil)) {
		b, ok := dev.GetVirtualDevice().Backing.(types.BaseVirtualDeviceFileBackingInfo)
		if !ok {
			continue
		}
		name := b.GetVirtualDeviceFileBackingInfo().FileName
		if desc, fault := hostPath(ctx.Map, name); fault == nil {
			descs[path.Base(datastoreFile(name))] = desc
		}
	}
	for i := range info.DeviceUrl {
		u := &info.DeviceUrl[i]
		desc, ok := descs[u.TargetId]
		if u.Disk == nil || !*u.Disk || !ok {
			continue // not a disk: vcsim's URL stays
		}
		flat := simulator.VirtualDiskBackingFileName(desc)
		if flat == desc {
			continue // a descriptor that names no flat extent
		}
		target := filepath.Base(flat)
		url := *base
		url.Path = nfcImportPrefix + l.id + "/" + target
		u.Url = url.String()
		u.TargetId = target
		l.disks = append(l.disks, &importDisk{flat: flat, status: ImportDisk{Target: target}})
	}
}

// disk is the lease's disk whose URL ends in target, or nil.
func (l *importLease) disk(target string) *importDisk {
	for _, disk := range l.disks {
		if disk.status.Target == target {
			return disk
		}
	}
	return nil
}

// serve answers PUT and POST /vmgmt-nfc-import/<lease token>/<target> by writing the body to the
// disk's flat extent. As on vCenter, the token in the URL is the credential: no session is needed.
func (d *diskImports) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		w.Header().Set("Allow", "PUT, POST")
		http.Error(w, "import leases take PUT and POST only", http.StatusMethodNotAllowed)
		return
	}
	id, target, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, nfcImportPrefix), "/")
	d.mu.Lock()
	l := d.byID[id]
	var disk *importDisk
	if ok && l != nil {
		disk = l.disk(target)
	}
	d.mu.Unlock()
	if !ok || l == nil {
		http.Error(w, "no such lease, or the lease is no longer ready", http.StatusNotFound)
		return
	}
	if disk == nil {
		http.Error(w, "no such disk in the lease", http.StatusNotFound)
		return
	}
	status, err := d.store(l, disk, r.Body)
	if err != nil {
		d.mu.Lock()
		disk.status.Failed++
		d.mu.Unlock()
		http.Error(w, err.Error(), status)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// store streams body into a temporary file beside the disk's flat extent, hashing it as it goes,
// and renames it over the flat extent if the whole body arrived and the lease is still ready. On
// an error it removes the temporary file and returns the HTTP status to answer with.
func (d *diskImports) store(l *importLease, disk *importDisk, body io.Reader) (int, error) {
	tmp, err := os.CreateTemp(filepath.Dir(disk.flat), "."+filepath.Base(disk.flat)+".upload-*")
	if err != nil {
		return http.StatusInternalServerError, fmt.Errorf("creating the disk's file: %w", err)
	}
	stored := false
	defer func() {
		if !stored {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	sum := sha256.New()
	src := &bodyReader{r: body}
	n, err := io.CopyBuffer(io.MultiWriter(tmp, sum), src, make([]byte, 1<<20))
	switch {
	case src.err != nil:
		return http.StatusBadRequest, fmt.Errorf("reading the upload after %d bytes: %w", n, src.err)
	case err != nil:
		return http.StatusInternalServerError, fmt.Errorf("writing the disk's file: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return http.StatusInternalServerError, fmt.Errorf("writing the disk's file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return http.StatusInternalServerError, fmt.Errorf("writing the disk's file: %w", err)
	}
	file, status, err := flatOf(tmp.Name())
	if err != nil {
		return status, err
	}
	if file != tmp.Name() {
		defer func() { _ = os.Remove(file) }() // gone by the rename when stored
	}
	// The lease's state is checked and the file renamed under d.mu, so that an upload that ends
	// after HttpNfcLeaseComplete or Abort changes nothing.
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.byID[l.id] != l {
		return http.StatusNotFound, errors.New("the lease is no longer ready")
	}
	if err := os.Rename(file, disk.flat); err != nil {
		return http.StatusInternalServerError, fmt.Errorf("writing the disk's file: %w", err)
	}
	stored = file == tmp.Name()
	disk.status.Bytes = n
	disk.status.SHA256 = hex.EncodeToString(sum.Sum(nil))
	return http.StatusOK, nil
}

// flatOf is the file that holds the disk an upload (stored in the file upload) describes: a
// stream-optimized VMDK (what vCenter's import takes) decoded into a flat image beside it, or the
// upload itself when it is not one. A stream-optimized upload that cannot be decoded is refused
// (400), as vCenter's import fails it.
func flatOf(upload string) (string, int, error) {
	src, err := os.Open(upload)
	if err != nil {
		return "", http.StatusInternalServerError, err
	}
	defer func() { _ = src.Close() }()
	flat, err := os.CreateTemp(filepath.Dir(upload), filepath.Base(upload)+".flat-*")
	if err != nil {
		return "", http.StatusInternalServerError, err
	}
	err = decodeStreamOptimized(src, flat)
	if cerr := flat.Close(); err == nil {
		err = cerr
	}
	switch {
	case errors.Is(err, errNotStreamOptimized):
		_ = os.Remove(flat.Name())
		return upload, 0, nil
	case err != nil:
		_ = os.Remove(flat.Name())
		return "", http.StatusBadRequest, err
	}
	if err := os.Chmod(flat.Name(), 0o644); err != nil {
		_ = os.Remove(flat.Name())
		return "", http.StatusInternalServerError, err
	}
	return flat.Name(), 0, nil
}

// bodyReader keeps the error a read of the request body ended with (other than EOF), to tell a cut
// upload from a failed write.
type bodyReader struct {
	r   io.Reader
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}
