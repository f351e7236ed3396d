package simulator

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/nfc"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

const importDiskKB = 8192

// importFixture is a simulator, a client, and where imports go: the root pool and the datastore.
type importFixture struct {
	sim    *Sim
	c      *vim25.Client
	finder *find.Finder
	pool   *object.ResourcePool
	ds     string
	http   *http.Client
}

func newImportFixture(t *testing.T) *importFixture {
	t.Helper()
	ctx := context.Background()
	sim, err := Start(ctx, Options{BigDiskSize: testDiskSize})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	c, err := sim.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Logout(ctx) })
	f := find.NewFinder(c.Client, true)
	dc, err := f.Datacenter(ctx, Datacenter)
	if err != nil {
		t.Fatal(err)
	}
	f.SetDatacenter(dc)
	pool, err := f.ResourcePool(ctx, RootPoolPath)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := f.DefaultDatastore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	return &importFixture{sim: sim, c: c.Client, finder: f, pool: pool, ds: ds.Name(), http: hc}
}

// spec is the import spec of a VM with an LSI Logic controller and n new disks of importDiskKB.
func (fx *importFixture) spec(name string, n int) *types.VirtualMachineImportSpec {
	changes := []types.BaseVirtualDeviceConfigSpec{&types.VirtualDeviceConfigSpec{
		Operation: types.VirtualDeviceConfigSpecOperationAdd,
		Device: &types.VirtualLsiLogicController{VirtualSCSIController: types.VirtualSCSIController{
			SharedBus:         types.VirtualSCSISharingNoSharing,
			VirtualController: types.VirtualController{VirtualDevice: types.VirtualDevice{Key: 1000}},
		}},
	}}
	for i := range n {
		// vcsim names a disk given only a datastore after the VM, and would give each disk of one
		// spec the same name: each is named here, as vCenter would name them.
		file := fmt.Sprintf("[%s] %s/%s.vmdk", fx.ds, name, name)
		if i > 0 {
			file = fmt.Sprintf("[%s] %s/%s_%d.vmdk", fx.ds, name, name, i)
		}
		changes = append(changes, &types.VirtualDeviceConfigSpec{
			Operation:     types.VirtualDeviceConfigSpecOperationAdd,
			FileOperation: types.VirtualDeviceConfigSpecFileOperationCreate,
			Device: &types.VirtualDisk{
				CapacityInKB: importDiskKB,
				VirtualDevice: types.VirtualDevice{
					Key:           int32(-1 - i),
					ControllerKey: 1000,
					UnitNumber:    types.NewInt32(int32(i)),
					Backing: &types.VirtualDiskFlatVer2BackingInfo{
						DiskMode:                     string(types.VirtualDiskModePersistent),
						ThinProvisioned:              types.NewBool(true),
						VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{FileName: file},
					},
				},
			},
		})
	}
	return &types.VirtualMachineImportSpec{ConfigSpec: types.VirtualMachineConfigSpec{
		Name:         name,
		GuestId:      string(types.VirtualMachineGuestOsIdentifierOtherGuest64),
		Files:        &types.VirtualMachineFileInfo{VmPathName: "[" + fx.ds + "]"},
		DeviceChange: changes,
	}}
}

// importVM imports a VM with n disks and waits for its lease; it returns the lease and the file
// items of its disk URLs, in device order.
func (fx *importFixture) importVM(t *testing.T, name string, n int) (*nfc.Lease, *nfc.LeaseInfo, []nfc.FileItem) {
	t.Helper()
	ctx := context.Background()
	lease, err := fx.pool.ImportVApp(ctx, fx.spec(name, n), nil, nil)
	if err != nil {
		t.Fatalf("ImportVApp: %v", err)
	}
	info, err := lease.Wait(ctx, nil)
	if err != nil {
		t.Fatalf("waiting for the import lease: %v", err)
	}
	var disks []nfc.FileItem
	for i, d := range info.DeviceUrl {
		if d.Disk != nil && *d.Disk {
			disks = append(disks, info.Items[i])
		}
	}
	if len(disks) != n {
		t.Fatalf("import lease has %d disk URLs, want %d: %+v", len(disks), n, info.DeviceUrl)
	}
	return lease, info, disks
}

// leaseRecord is ImportLeases' record of the lease ref.
func (fx *importFixture) leaseRecord(t *testing.T, ref types.ManagedObjectReference) ImportLease {
	t.Helper()
	for _, l := range fx.sim.ImportLeases() {
		if l.Ref == ref {
			return l
		}
	}
	t.Fatalf("ImportLeases() has no lease %v: %+v", ref, fx.sim.ImportLeases())
	return ImportLease{}
}

// upload POSTs a disk to its lease item as vsphere.RestoreVM does (length -1: chunked), without
// nfc.Lease.Upload's progress reader. net/http reads a body once more after its ContentLength to
// check there is no more, which can happen after the response came back and Upload closed the
// progress channel: the reader then sends on a closed channel and panics (it did in CI).
func (fx *importFixture) upload(ctx context.Context, item nfc.FileItem, body io.Reader, length int64) error {
	return fx.c.Upload(ctx, body, item.URL, &soap.Upload{Method: http.MethodPost, Type: "application/x-vnd.vmware-streamVmdk", ContentLength: length})
}

// randomBytes are n deterministic pseudo-random bytes.
func randomBytes(seed byte, n int) []byte {
	b := make([]byte, n)
	_, _ = rand.NewChaCha8([32]byte{'i', 'm', 'p', 'o', 'r', 't', seed}).Read(b)
	return b
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// fileSHA256 is the SHA-256 of a file, hex; "" when the file does not exist.
func fileSHA256(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return sha256Hex(b)
}

// diskFiles is Sim.DiskFiles(name), which must name n flat extents.
func (fx *importFixture) diskFiles(t *testing.T, name string, n int) []string {
	t.Helper()
	files, err := fx.sim.DiskFiles(name)
	if err != nil || len(files) != n {
		t.Fatalf("DiskFiles(%s) = %v, %v; want %d files", name, files, err, n)
	}
	return files
}

// send sends body to url with the method, and returns the status.
func (fx *importFixture) send(t *testing.T, method, url string, body []byte) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	res, err := fx.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	return res.StatusCode
}

// export exports the current snapshot of a new snapshot of the VM, and returns the bytes each disk
// URL serves, in order.
func (fx *importFixture) export(t *testing.T, vmName string) [][]byte {
	t.Helper()
	ctx := context.Background()
	vm, err := fx.finder.VirtualMachine(ctx, vmName)
	if err != nil {
		t.Fatal(err)
	}
	task, err := vm.CreateSnapshot(ctx, "backup", "", false, false)
	if err != nil {
		t.Fatal(err)
	}
	res, err := task.WaitForResult(ctx)
	if err != nil {
		t.Fatalf("snapshot of %s: %v", vmName, err)
	}
	exp, err := methods.ExportSnapshot(ctx, fx.c, &types.ExportSnapshot{This: res.Result.(types.ManagedObjectReference)})
	if err != nil {
		t.Fatalf("ExportSnapshot: %v", err)
	}
	lease := nfc.NewLease(fx.c, exp.Returnval)
	info, err := lease.Wait(ctx, nil)
	if err != nil {
		t.Fatalf("waiting for the export lease: %v", err)
	}
	var out [][]byte
	for i, d := range info.DeviceUrl {
		if d.Disk == nil || !*d.Disk {
			continue
		}
		res, err := fx.http.Get(info.Items[i].URL.String())
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(res.Body)
		_ = res.Body.Close()
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d, %v", info.Items[i].URL, res.StatusCode, err)
		}
		out = append(out, b)
	}
	if err := lease.Complete(ctx); err != nil {
		t.Fatal(err)
	}
	return out
}

// An imported disk's upload lands in its flat extent, which DiskFiles names and an export of the
// VM serves; the lease is recorded with the upload's size and hash, and done once completed.
func TestImportKeepsDiskData(t *testing.T) {
	fx := newImportFixture(t)
	ctx := context.Background()
	lease, info, disks := fx.importVM(t, "imported01", 1)
	if u := disks[0].URL; !strings.HasPrefix(u.Path, nfcImportPrefix) || !strings.HasSuffix(u.Path, "/imported01-flat.vmdk") {
		t.Errorf("disk URL %s: want %s<token>/imported01-flat.vmdk", u, nfcImportPrefix)
	}
	for _, d := range info.DeviceUrl {
		if (d.Disk == nil || !*d.Disk) && strings.Contains(d.Url, nfcImportPrefix) {
			t.Errorf("non-disk device URL %s points at the import endpoint", d.Url)
		}
	}
	if got := fx.leaseRecord(t, lease.Reference()); got.State != types.HttpNfcLeaseStateReady || got.Entity != info.Entity ||
		len(got.Disks) != 1 || got.Disks[0].Target != "imported01-flat.vmdk" || got.Disks[0].SHA256 != "" {
		t.Errorf("ImportLeases() before the upload: %+v; want ready, the VM, one disk not uploaded", got)
	}
	if status := fx.send(t, http.MethodGet, disks[0].URL.String(), nil); status != http.StatusMethodNotAllowed {
		t.Errorf("GET on an import disk URL: status %d, want 405", status)
	}

	data := randomBytes(1, 8<<20)
	if err := fx.upload(ctx, disks[0], bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatalf("upload: %v", err)
	}
	if err := lease.Progress(ctx, 100); err != nil {
		t.Fatal(err)
	}
	if err := lease.Complete(ctx); err != nil {
		t.Fatalf("HttpNfcLeaseComplete: %v", err)
	}

	if _, err := fx.finder.VirtualMachine(ctx, "imported01"); err != nil {
		t.Fatalf("the imported VM: %v", err)
	}
	files := fx.diskFiles(t, "imported01", 1)
	if !strings.HasSuffix(files[0], "-flat.vmdk") || fileSHA256(t, files[0]) != sha256Hex(data) {
		t.Fatalf("DiskFiles = %v: want the flat extent holding the %d uploaded bytes", files, len(data))
	}
	got := fx.leaseRecord(t, lease.Reference())
	if got.State != types.HttpNfcLeaseStateDone || got.Progress != 100 || len(got.Disks) != 1 ||
		got.Disks[0].Bytes != int64(len(data)) || got.Disks[0].SHA256 != sha256Hex(data) || got.Disks[0].Failed != 0 {
		t.Errorf("ImportLeases() after complete: %+v; want done, 100%%, %d bytes with their hash", got, len(data))
	}
	if leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(files[0]), ".*upload*")); len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}

	exported := fx.export(t, "imported01")
	if len(exported) != 1 || sha256Hex(exported[0]) != sha256Hex(data) {
		t.Errorf("the export of the imported VM served %d disks; want the uploaded bytes back", len(exported))
	}
}

// Each disk's upload lands in its own flat extent, in device order.
func TestImportTwoDisks(t *testing.T) {
	fx := newImportFixture(t)
	ctx := context.Background()
	lease, _, disks := fx.importVM(t, "imported02", 2)
	data := [][]byte{randomBytes(2, 3<<20), randomBytes(3, 5<<20)}
	for i := range disks {
		if err := fx.upload(ctx, disks[i], bytes.NewReader(data[i]), int64(len(data[i]))); err != nil {
			t.Fatalf("upload of disk %d: %v", i, err)
		}
	}
	if err := lease.Complete(ctx); err != nil {
		t.Fatal(err)
	}
	files := fx.diskFiles(t, "imported02", 2)
	if files[0] == files[1] {
		t.Fatalf("both disks in %s", files[0])
	}
	rec := fx.leaseRecord(t, lease.Reference())
	for i := range files {
		if fileSHA256(t, files[i]) != sha256Hex(data[i]) {
			t.Errorf("disk %d (%s) does not hold upload %d", i, files[i], i)
		}
		if len(rec.Disks) != 2 || rec.Disks[i].Target != filepath.Base(files[i]) || rec.Disks[i].SHA256 != sha256Hex(data[i]) {
			t.Errorf("ImportLeases() disks %+v: disk %d should be %s with upload %d's hash", rec.Disks, i, filepath.Base(files[i]), i)
		}
	}
	exported := fx.export(t, "imported02")
	if len(exported) != 2 || sha256Hex(exported[0]) != sha256Hex(data[0]) || sha256Hex(exported[1]) != sha256Hex(data[1]) {
		t.Errorf("the export served %d disks; want both uploads back, in order", len(exported))
	}
}

// rawRequest writes an HTTP/1.1 request by hand on a TLS connection: the head (request line and
// headers, without the blank line), then body. With cut, it closes the connection after body
// without reading an answer (and returns 0); otherwise it returns the answer's status.
func (fx *importFixture) rawRequest(t *testing.T, u *url.URL, head string, body []byte, cut bool) int {
	t.Helper()
	conn, err := tls.Dial("tcp", u.Host, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	if _, err := io.WriteString(conn, head+"\r\nHost: "+u.Host+"\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(body); err != nil {
		t.Fatal(err)
	}
	if cut {
		return 0
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	return res.StatusCode
}

// chunked frames data as an HTTP chunked body, in chunks of size n, with the last chunk.
func chunked(data []byte, n int) []byte {
	var b bytes.Buffer
	for len(data) > 0 {
		c := data[:min(n, len(data))]
		fmt.Fprintf(&b, "%x\r\n", len(c))
		b.Write(c)
		b.WriteString("\r\n")
		data = data[len(c):]
	}
	b.WriteString("0\r\n\r\n")
	return b.Bytes()
}

// An upload without a Content-Length (chunked, as a client streaming from a repository sends it)
// is stored whole; so is one through nfc.Lease.Upload that gives no length.
func TestImportChunkedUpload(t *testing.T) {
	fx := newImportFixture(t)
	ctx := context.Background()
	lease, _, disks := fx.importVM(t, "imported03", 2)
	data := randomBytes(4, 2<<20+12345)
	status := fx.rawRequest(t, disks[0].URL, "POST "+disks[0].URL.RequestURI()+" HTTP/1.1\r\nTransfer-Encoding: chunked", chunked(data, 100000), false)
	if status != http.StatusOK {
		t.Fatalf("chunked POST: status %d, want 200", status)
	}
	other := randomBytes(5, 1<<20+1)
	if err := fx.upload(ctx, disks[1], io.MultiReader(bytes.NewReader(other)), -1); err != nil {
		t.Fatalf("upload without a length: %v", err)
	}
	if err := lease.Complete(ctx); err != nil {
		t.Fatal(err)
	}
	files := fx.diskFiles(t, "imported03", 2)
	if fileSHA256(t, files[0]) != sha256Hex(data) || fileSHA256(t, files[1]) != sha256Hex(other) {
		t.Errorf("the flat extents do not hold the chunked uploads")
	}
	if rec := fx.leaseRecord(t, lease.Reference()); rec.Disks[0].Bytes != int64(len(data)) || rec.Disks[1].Bytes != int64(len(other)) {
		t.Errorf("ImportLeases() disks %+v; want %d and %d bytes", rec.Disks, len(data), len(other))
	}
}

// Once the lease is completed, or aborted, its disk URLs answer 404 and change nothing. An aborted
// lease is in the error state with the client's fault, and its VM stays (as in vcsim; vCenter
// removes it).
func TestImportLeaseEnded(t *testing.T) {
	fx := newImportFixture(t)
	ctx := context.Background()
	data := randomBytes(6, 1<<20)
	other := randomBytes(7, 1<<20)

	lease, _, disks := fx.importVM(t, "imported04", 1)
	if err := fx.upload(ctx, disks[0], bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	if err := lease.Complete(ctx); err != nil {
		t.Fatal(err)
	}
	files := fx.diskFiles(t, "imported04", 1)
	for _, method := range []string{http.MethodPut, http.MethodPost} {
		if status := fx.send(t, method, disks[0].URL.String(), other); status != http.StatusNotFound {
			t.Errorf("%s after complete: status %d, want 404", method, status)
		}
	}
	if fileSHA256(t, files[0]) != sha256Hex(data) {
		t.Error("an upload after complete changed the disk")
	}
	if rec := fx.leaseRecord(t, lease.Reference()); rec.State != types.HttpNfcLeaseStateDone || rec.Disks[0].SHA256 != sha256Hex(data) {
		t.Errorf("ImportLeases() after complete and refused uploads: %+v", rec)
	}

	lease, info, disks := fx.importVM(t, "imported05", 1)
	files = fx.diskFiles(t, "imported05", 1)
	before := fileSHA256(t, files[0]) // vcsim makes each new disk's flat extent, empty
	fault := &types.LocalizedMethodFault{Fault: &types.SystemError{Reason: "repository gone"}, LocalizedMessage: "repository gone"}
	if err := lease.Abort(ctx, fault); err != nil {
		t.Fatalf("HttpNfcLeaseAbort: %v", err)
	}
	if status := fx.send(t, http.MethodPut, disks[0].URL.String(), other); status != http.StatusNotFound {
		t.Errorf("PUT after abort: status %d, want 404", status)
	}
	rec := fx.leaseRecord(t, lease.Reference())
	if rec.State != types.HttpNfcLeaseStateError || rec.Fault != "repository gone" || rec.Entity != info.Entity || rec.Disks[0].SHA256 != "" {
		t.Errorf("ImportLeases() after abort: %+v; want error, the client's fault, no upload", rec)
	}
	if _, err := fx.finder.VirtualMachine(ctx, "imported05"); err != nil {
		t.Errorf("the aborted import's VM: %v; vcsim keeps it", err)
	}
	if fileSHA256(t, files[0]) != before {
		t.Errorf("an upload after abort wrote %s", files[0])
	}
	if err := lease.Complete(ctx); err == nil {
		t.Error("HttpNfcLeaseComplete on an aborted lease succeeded")
	}
}

// An import that vcsim fails in its task (here: a vApp property set that is not user
// configurable) fails its lease: the lease is recorded in error with the fault, and no disk URL.
func TestImportFailed(t *testing.T) {
	fx := newImportFixture(t)
	ctx := context.Background()
	spec := fx.spec("imported08", 1)
	spec.ConfigSpec.VAppConfig = &types.VAppConfigSpec{VmConfigSpec: types.VmConfigSpec{Property: []types.VAppPropertySpec{{
		Info: &types.VAppPropertyInfo{Id: "fixed", UserConfigurable: types.NewBool(false), DefaultValue: "a", Value: "b"},
	}}}}
	lease, err := fx.pool.ImportVApp(ctx, spec, nil, nil)
	if err != nil {
		t.Fatalf("ImportVApp: %v", err)
	}
	if _, err := lease.Wait(ctx, nil); err == nil {
		t.Fatal("the lease of an import vcsim refuses turned ready")
	}
	rec := fx.leaseRecord(t, lease.Reference())
	if rec.State != types.HttpNfcLeaseStateError || rec.Fault == "" || len(rec.Disks) != 0 {
		t.Errorf("ImportLeases() = %+v; want the lease in error, with a fault, no disks", rec)
	}
}

// waitFailed waits until ImportLeases counts n failed uploads on the lease's first disk, and
// returns its record.
func (fx *importFixture) waitFailed(t *testing.T, ref types.ManagedObjectReference, n int) ImportLease {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		rec := fx.leaseRecord(t, ref)
		if rec.Disks[0].Failed >= n {
			return rec
		}
		if time.Now().After(deadline) {
			t.Fatalf("the simulator counted %d failed uploads, want %d", rec.Disks[0].Failed, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// failingReader yields its data, then an error instead of EOF.
type failingReader struct{ r io.Reader }

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, errors.New("the repository went away")
	}
	return n, err
}

// An upload cut mid-body leaves no flat extent, or the last complete upload's, and no temporary
// file: a connection closed before its Content-Length arrived, and a chunked upload whose
// source fails.
func TestImportCutUpload(t *testing.T) {
	fx := newImportFixture(t)
	ctx := context.Background()
	lease, _, disks := fx.importVM(t, "imported06", 1)
	files := fx.diskFiles(t, "imported06", 1)
	dir := filepath.Dir(files[0])
	before := fileSHA256(t, files[0])
	data := randomBytes(8, 4<<20)

	head := fmt.Sprintf("PUT %s HTTP/1.1\r\nContent-Length: %d", disks[0].URL.RequestURI(), len(data))
	fx.rawRequest(t, disks[0].URL, head, data[:len(data)/2], true)
	fx.waitFailed(t, lease.Reference(), 1)
	if got := fileSHA256(t, files[0]); got != before {
		t.Errorf("a cut upload changed the flat extent")
	}

	if err := fx.upload(ctx, disks[0], bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	other := randomBytes(9, 3<<20)
	err := fx.upload(ctx, disks[0], &failingReader{r: bytes.NewReader(other)}, -1)
	if err == nil {
		t.Fatal("an upload whose source fails succeeded")
	}
	rec := fx.waitFailed(t, lease.Reference(), 2)
	if fileSHA256(t, files[0]) != sha256Hex(data) || rec.Disks[0].SHA256 != sha256Hex(data) || rec.Disks[0].Bytes != int64(len(data)) {
		t.Errorf("after a cut upload: the flat extent or the record %+v is not the last complete upload", rec.Disks[0])
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".*upload*")); len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
	if err := lease.Complete(ctx); err != nil {
		t.Fatal(err)
	}
}

// An upload in the stream-optimized VMDK format, what vCenter's import takes, is decoded into the
// disk's flat extent, of the disk's capacity: the grains' bytes where they belong, zeros between
// (an all-zero grain is not in the stream), whatever metadata follows the grains. The lease
// records the upload as received. A stream-optimized upload that cannot be decoded is refused
// and leaves the disk as it was; a body that merely starts with the magic, uncompressed, is stored
// as it came.
func TestImportDecodesStreamOptimized(t *testing.T) {
	fx := newImportFixture(t)
	ctx := context.Background()
	lease, _, disks := fx.importVM(t, "imported07", 1)
	capacity := int64(importDiskKB) * 1024
	raw := make([]byte, capacity-(64<<10)-1000) // the last grain partial, the rest of the disk zeros
	copy(raw, randomBytes(10, 200<<10))
	copy(raw[1<<20:], randomBytes(11, 100<<10)) // a gap of zero grains before it
	stream, err := StreamOptimized(raw, capacity)
	if err != nil {
		t.Fatal(err)
	}
	upload := func(body []byte) error {
		return fx.upload(ctx, disks[0], bytes.NewReader(body), int64(len(body)))
	}
	if err := upload(stream); err != nil {
		t.Fatal(err)
	}
	want := append(append([]byte(nil), raw...), make([]byte, capacity-int64(len(raw)))...)
	files := fx.diskFiles(t, "imported07", 1)
	if got := fileSHA256(t, files[0]); got != sha256Hex(want) {
		t.Fatalf("the decoded disk's SHA-256 %s, want the image's %s", got, sha256Hex(want))
	}
	if d := fx.sim.ImportLeases()[0].Disks[0]; d.Bytes != int64(len(stream)) || d.SHA256 != sha256Hex(stream) {
		t.Errorf("recorded upload %+v, want the stream's %d bytes", d, len(stream))
	}

	// A stream cut after its first grain: refused, the disk unchanged.
	bad := append([]byte(nil), stream[:2*vmdkSector+100]...)
	if err := upload(bad); err == nil {
		t.Error("a cut stream-optimized upload was accepted")
	}
	if got := fileSHA256(t, files[0]); got != sha256Hex(want) {
		t.Error("a refused upload changed the disk")
	}

	// The magic alone, without the compressed flag: not a stream, stored as it came.
	plain := append([]byte("KDMV\x01\x00\x00\x00\x00\x00\x00\x00"), randomBytes(12, 64<<10)...)
	if err := upload(plain); err != nil {
		t.Fatal(err)
	}
	if err := lease.Complete(ctx); err != nil {
		t.Fatal(err)
	}
	if got := fileSHA256(t, files[0]); got != sha256Hex(plain) {
		t.Error("an upload that is not a stream-optimized VMDK was not stored as received")
	}
}

const vmdkSector = 512
