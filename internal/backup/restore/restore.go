// Package restore recreates a VM from a restore point, from the repository alone: the manifest
// says what the VM was (hardware, disks and where they sat, networks, extraConfig with vmgmt's
// stamps, tags), the point's files hold the disks' bytes. It is shared by the vmgmt_vm_restore
// resource and the `backup restore` and `backup verify` commands. It imports no Terraform package
// and reaches vCenter only through internal/vsphere (see vsphere.RestoreVM for the import path and
// its crash safety).
//
// A restore is prepared first (Prepare: the point is complete, every disk's SHA-256 is listed,
// the target folder, pool, datastore and networks exist, the name is free), which a plan can do
// without changing anything, and then run (Plan.Run): every disk's bytes are hashed while they
// stream to vCenter, and a disk whose bytes do not match the manifest fails the restore, which
// destroys the half-made VM.
package restore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/repo"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// Target says where and how a point is restored. Zero values take the defaults given.
type Target struct {
	// Name of the restored VM; default the name the VM had when the point was taken.
	Name string
	// Folder is a VM folder's inventory path or managed object ID; default the datacenter's vm
	// folder.
	Folder string
	// Pool is a resource pool's inventory path or managed object ID; default the datacenter's
	// only cluster's root pool.
	Pool string
	// Datastore is the name of the datastore the VM goes to; default the datastore its first
	// disk was on, when the target vCenter has one of that name, else its only datastore.
	Datastore string
	// Networks maps the networks the VM was on to those its NICs attach to; a network not in
	// the map keeps its name (it must exist on the target).
	Networks map[string]string
	// PowerOn powers the VM on once restored.
	PowerOn bool
	// SkipTags leaves the point's tags off the VM (a restore test's copy must not
	// join the security groups, baselines and backup jobs that select by tag).
	SkipTags bool
	// ExtraConfig is set on the VM besides the point's (a restore test marks its copy).
	ExtraConfig map[string]string
	// SkipStamps leaves vmgmt's own stamps (catalog, baseline, security group, backup job) off
	// the VM, for the same reason as SkipTags.
	SkipStamps bool
	// Replacing is the ID of a VM this restore replaces (destroyed before it is made): it may
	// hold the name while the replacement is planned.
	Replacing string
	// NewMACs gives every adapter a MAC vCenter generates; otherwise an adapter whose MAC was
	// set by hand (manual) keeps it. A copy beside the original sets it: two adapters with one
	// MAC on a network break both.
	NewMACs bool
}

// Plan is a prepared restore: the point, its manifest, and the VM to make.
type Plan struct {
	Point    repo.Point
	Manifest *repo.Manifest
	Spec     vsphere.RestoreSpec
	// Tags are the tags to attach, category -> names.
	Tags    map[string][]string
	PowerOn bool
	// Bytes is the sum of the disks' stored sizes: what the restore reads.
	Bytes int64
	// Warnings are what the restore does differently from the VM that was backed up.
	Warnings []string
}

// Result is what a restore did.
type Result struct {
	ID   string
	Name string
	// Bytes is what was read from the repository and sent to vCenter.
	Bytes int64
	// Duration is the recovery time: from the start of the restore to the VM existing with its
	// disks checked, tagged, and powered on when asked.
	Duration time.Duration
	// Adopted says a finished import of the same request was found and finished (an
	// interrupted restore's); Discarded names the half-made VM of one that was destroyed first.
	Adopted   bool
	Discarded string
}

// Options tune a run.
type Options struct {
	// Wrap, when set, wraps each disk's stream on its way to vCenter (progress meters, tests'
	// failures). disk is the disk's label, size its stored bytes.
	Wrap func(disk string, size int64, r io.Reader) io.Reader
	// DiskDone, when set, is told when each disk's upload ended, with its error.
	DiskStart func(disk string, size int64)
	DiskDone  func(disk string, bytes int64, err error)
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// PointStamp is the extraConfig key every restored VM carries, naming the point it was made from
// (job/vm/point): the vmgmt_vm_restore import reads it, whichever way the VM was restored.
const PointStamp = "vmgmt.restore.point"

// CopyStamp marks a restored VM made as a copy beside the original (Target.SkipStamps: no tags,
// no vmgmt stamps), so that the vmgmt_vm_restore import can tell keep_identity = false.
const CopyStamp = "vmgmt.restore.copy"

// TargetError is a Prepare failure that is about the target, not the point: which part of it.
type TargetError struct {
	Part Part
	Err  error
}

// Part names a part of a restore's target.
type Part string

// The parts of a target a TargetError names.
const (
	PartName      Part = "name"
	PartFolder    Part = "folder"
	PartPool      Part = "pool"
	PartDatastore Part = "datastore"
	PartNetwork   Part = "network"
)

func (e *TargetError) Error() string { return e.Err.Error() }

func (e *TargetError) Unwrap() error { return e.Err }

// Formats a restore can send to vCenter as they are stored.
const (
	formatFlat   = "flat"
	formatStream = "vmdk-stream-optimized"
)

// Prepare checks that the point can be restored to the target and works out the VM to make,
// changing nothing: the point is a complete VM point whose every disk has its SHA-256 listed in
// the manifest and in the point's files, the folder, pool, datastore and networks exist, and no
// VM but an interrupted restore of the same request holds the name in the folder.
func Prepare(ctx context.Context, c *vsphere.Client, r *repo.Repository, p repo.Point, t Target) (*Plan, error) {
	m, err := r.ReadManifest(ctx, p)
	if err != nil {
		return nil, err
	}
	if err := restorable(p, m); err != nil {
		return nil, err
	}
	plan := &Plan{Point: p, Manifest: m, PowerOn: t.PowerOn}
	name := t.Name
	if name == "" {
		name = m.VM.Name
	}
	folderID, poolID, err := resolvePlace(ctx, c, name, t.Folder, t.Pool)
	if err != nil {
		return nil, err
	}
	ds, err := pickDatastore(ctx, c, m, t.Datastore)
	if err != nil {
		return nil, &TargetError{Part: PartDatastore, Err: fmt.Errorf("restoring %s: %w", name, err)}
	}
	s := vsphere.RestoreSpec{
		Name: name, FolderID: folderID, PoolID: poolID, Datastore: ds,
		GuestID: m.Hardware.GuestID, CPUs: int32(m.Hardware.CPUs), MemoryMB: m.Hardware.MemoryMB,
		Firmware: m.Hardware.Firmware, HardwareVersion: m.Hardware.HardwareVersion,
		ExtraConfig: withPointStamp(restoredConfig(m.ExtraConfig, t), p),
	}
	if s.GuestID == "" {
		plan.Warnings = append(plan.Warnings, "the point records no guest OS (it predates vmgmt recording it): the VM is made as otherGuest64; set its guest OS by hand")
	}
	for _, d := range m.Disks {
		s.Disks = append(s.Disks, restoreDisk(d))
		plan.Bytes += d.Bytes
	}
	for _, n := range m.Networks {
		to := n.Network
		if mapped, ok := t.Networks[n.Network]; ok {
			to = mapped
		}
		if _, err := c.ResolveNetwork(ctx, to); err != nil {
			hint := ""
			if to == n.Network {
				hint = fmt.Sprintf(" (map it to a network of this vCenter: network map %q = \"<network>\")", n.Network)
			}
			return nil, &TargetError{Part: PartNetwork, Err: fmt.Errorf("restoring %s: network %s: %w%s", name, to, err, hint)}
		}
		nic, warning := restoreNIC(n, to, t.NewMACs)
		if warning != "" {
			plan.Warnings = append(plan.Warnings, warning)
		}
		s.NICs = append(s.NICs, nic)
	}
	s.Request = vsphere.NewRequest("vm-restore", p.String(), name, s.FolderID)
	if err := nameFree(ctx, c, s, t.Replacing); err != nil {
		return nil, err
	}
	if !t.SkipTags {
		plan.Tags = tagSets(m.Tags)
	}
	plan.Spec = s
	return plan, nil
}

// restorable refuses a point a restore cannot use, saying why.
func restorable(p repo.Point, m *repo.Manifest) error {
	switch {
	case p.IsHost() || m.Host != nil:
		return fmt.Errorf("restore point %s is a host configuration backup: restore it with `backup restore --host`", p)
	case m.VM == nil || m.Hardware == nil:
		return fmt.Errorf("restore point %s records no VM or no hardware: it cannot be restored as a VM", p)
	case len(m.Disks) == 0:
		return fmt.Errorf("restore point %s holds no disk", p)
	}
	files := map[string]repo.FileInfo{}
	for _, f := range m.Files {
		files[f.Name] = f
	}
	for _, d := range m.Disks {
		f, ok := files[d.File]
		switch {
		case len(d.SHA256) != sha256.Size*2:
			return fmt.Errorf("restore point %s: disk %s (%s) has no SHA-256 in the manifest, so its bytes cannot be checked: it is not restored", p, d.Label, d.File)
		case !ok || f.SHA256 != d.SHA256:
			return fmt.Errorf("restore point %s: disk %s (%s) is not listed with the same SHA-256 among the point's files: the manifest is inconsistent, it is not restored", p, d.Label, d.File)
		case d.Format != "" && d.Format != formatFlat && d.Format != formatStream:
			return fmt.Errorf("restore point %s: disk %s is stored as %s, which vCenter's import does not take (flat or vmdk-stream-optimized)", p, d.Label, d.Format)
		}
	}
	return nil
}

// restoreDisk is a manifest disk as the import makes it.
func restoreDisk(d repo.Disk) vsphere.RestoreDisk {
	out := vsphere.RestoreDisk{Controller: d.Controller, CapacityBytes: d.CapacityBytes, Thin: true}
	if d.Bus != nil {
		out.Bus = *d.Bus
	}
	if d.Unit != nil {
		out.Unit = *d.Unit
	}
	if d.Thin != nil {
		out.Thin = *d.Thin
	}
	if out.CapacityBytes <= 0 {
		out.CapacityBytes = d.Bytes
	}
	return out
}

// generatedConfig matches the extraConfig keys vSphere writes itself for a VM (device settings,
// UUIDs, NVRAM, tools state, the simulator's marker) and vmgmt's request stamp of the original
// VM: a restore leaves them to the new VM's vSphere and its own request.
var generatedConfig = regexp.MustCompile(`^(govcsim|vc\.uuid|nvram|softPowerOff|monitor\.phys_bits_used|` +
	`vmgmt\.request|(uuid|migrate|sched|vmware\.tools|toolsInstallManager|hpet0|svga|numa|viv|vmxstats|cpuid|checkpoint|vmotion)\..*|` +
	`(ethernet|scsi|sata|nvme|ide|pciBridge|usb|sound|serial|parallel|floppy)[0-9]+[.:].*)$`)

// vmgmtStamps matches the stamps vmgmt's functions leave on a VM.
var vmgmtStamps = regexp.MustCompile(`^vmgmt\.(catalog|baseline|security-group|backup)\.`)

// restoredConfig is the extraConfig the restored VM gets: the point's, without what vSphere
// generates (and, with t.SkipStamps, without vmgmt's stamps), plus t's.
func restoredConfig(from map[string]string, t Target) map[string]string {
	out := map[string]string{}
	for k, v := range from {
		if generatedConfig.MatchString(k) || (t.SkipStamps && vmgmtStamps.MatchString(k)) || k == CopyStamp {
			continue
		}
		out[k] = v
	}
	if t.SkipStamps {
		out[CopyStamp] = "true"
	}
	for k, v := range t.ExtraConfig {
		out[k] = v
	}
	return out
}

// withPointStamp is extraConfig with the point's stamp.
func withPointStamp(ec map[string]string, p repo.Point) map[string]string {
	ec[PointStamp] = p.String()
	return ec
}

// resolvePlace resolves a target's folder ("": the datacenter's vm folder) and pool ("": the
// datacenter's only cluster) to their IDs; a failure is a TargetError naming which.
func resolvePlace(ctx context.Context, c *vsphere.Client, name, folder, pool string) (folderID, poolID string, err error) {
	f, err := c.ResolveFolder(ctx, folder)
	if err != nil {
		return "", "", &TargetError{Part: PartFolder, Err: fmt.Errorf("restoring %s: the target folder: %w", name, err)}
	}
	if pool == "" {
		if poolID, err = c.DefaultPool(ctx); err != nil {
			return "", "", &TargetError{Part: PartPool, Err: fmt.Errorf("restoring %s: no pool given, and %w", name, err)}
		}
		return f.Reference().Value, poolID, nil
	}
	p, err := c.ResolvePool(ctx, pool)
	if err != nil {
		return "", "", &TargetError{Part: PartPool, Err: fmt.Errorf("restoring %s: the target pool: %w", name, err)}
	}
	return f.Reference().Value, p.ID(), nil
}

// Moves is what it takes to bring a restored VM where a target says: each field set names where
// it must go, an empty one that it is there already (or that the target leaves it free).
type Moves struct {
	FolderID  string
	PoolID    string
	Datastore string
}

// Place compares where a restored VM is with a target's folder, pool and datastore, each given
// as at restore (inventory path or ID; a datastore by name). An empty one leaves that part where
// it is: the defaults choose where a VM is made, they do not move it afterwards. A part that does
// not exist is a TargetError naming it.
func Place(ctx context.Context, c *vsphere.Client, vm *vsphere.VM, folder, pool, datastore string) (Moves, error) {
	var mv Moves
	if folder != "" {
		f, err := c.ResolveFolder(ctx, folder)
		if err != nil {
			return mv, &TargetError{Part: PartFolder, Err: fmt.Errorf("moving %s: the folder: %w", vm.Name, err)}
		}
		if id := f.Reference().Value; id != vm.FolderID {
			mv.FolderID = id
		}
	}
	if pool != "" {
		p, err := c.ResolvePool(ctx, pool)
		if err != nil {
			return mv, &TargetError{Part: PartPool, Err: fmt.Errorf("moving %s: the pool: %w", vm.Name, err)}
		}
		if p.ID() != vm.PoolID {
			mv.PoolID = p.ID()
		}
	}
	if datastore != "" && datastore != vm.Datastore {
		names, err := c.DatastoreNames(ctx)
		if err != nil {
			return mv, err
		}
		if !slices.Contains(names, datastore) {
			return mv, &TargetError{Part: PartDatastore, Err: fmt.Errorf("moving %s: no datastore %q on this vCenter (it has %s)", vm.Name, datastore, strings.Join(names, ", "))}
		}
		mv.Datastore = datastore
	}
	return mv, nil
}

// restoreNIC is the adapter a restore makes for n on network to: of n's kind, keeping a manual
// MAC address unless newMACs (a copy beside the original must not take its MAC). An SR-IOV
// adapter needs the target host's physical function and is made vmxnet3; a point from before
// vmgmt recorded adapter kinds gives vmxnet3; both say so in the warning.
func restoreNIC(n repo.Network, to string, newMACs bool) (vsphere.RestoreNIC, string) {
	nic := vsphere.RestoreNIC{Network: to, Adapter: n.Adapter}
	if n.AddressType == "manual" && !newMACs {
		nic.MAC = n.MAC
	}
	label := n.Label
	if label == "" {
		label = "the adapter on " + n.Network
	}
	switch n.Adapter {
	case "":
		nic.Adapter = "vmxnet3"
		return nic, fmt.Sprintf("the point does not record the kind of %s (it predates vmgmt recording it): it is made vmxnet3", label)
	case "sriov":
		nic.Adapter = "vmxnet3"
		return nic, fmt.Sprintf("%s was an SR-IOV adapter, which needs the host's physical function: it is made vmxnet3", label)
	}
	return nic, ""
}

// tagSets turns "category/name" tags into category -> names, every tag the VM carried (a
// category of cardinality multiple holds several), each once, sorted.
func tagSets(tags []string) map[string][]string {
	out := map[string][]string{}
	for _, t := range tags {
		if cat, name, ok := strings.Cut(t, "/"); ok && !slices.Contains(out[cat], name) {
			out[cat] = append(out[cat], name)
		}
	}
	for _, names := range out {
		sort.Strings(names)
	}
	return out
}

// pickDatastore chooses the datastore: the one asked for (it must exist), else the one the first
// disk was on when the target has it, else the target's only one.
func pickDatastore(ctx context.Context, c *vsphere.Client, m *repo.Manifest, asked string) (string, error) {
	names, err := c.DatastoreNames(ctx)
	if err != nil {
		return "", err
	}
	has := func(n string) bool { i := sort.SearchStrings(names, n); return i < len(names) && names[i] == n }
	if asked != "" {
		if !has(asked) {
			return "", fmt.Errorf("no datastore %q on this vCenter (it has %s)", asked, strings.Join(names, ", "))
		}
		return asked, nil
	}
	for _, d := range m.Disks {
		if ds, _, ok := strings.Cut(strings.TrimPrefix(d.Source, "["), "]"); ok && strings.HasPrefix(d.Source, "[") && has(ds) {
			return ds, nil
		}
	}
	switch len(names) {
	case 0:
		return "", errors.New("this vCenter has no datastore")
	case 1:
		return names[0], nil
	}
	return "", fmt.Errorf("the datastore the VM was on is not on this vCenter, which has several (%s): name one", strings.Join(names, ", "))
}

// nameFree checks that no VM holds the name in the folder, but one an interrupted restore of the
// same request made (which the run adopts).
func nameFree(ctx context.Context, c *vsphere.Client, s vsphere.RestoreSpec, replacing string) error {
	vms, err := c.VMs(ctx)
	if err != nil {
		return err
	}
	for _, vm := range vms {
		if vm.FolderID == s.FolderID && vm.Name == s.Name && vm.ExtraConfig[vsphere.StampRequest] != s.Request.Token && vm.ID != replacing {
			return &TargetError{Part: PartName, Err: fmt.Errorf("restoring to %s: a VM of that name already exists there (%s, %s); choose another name, or remove it", s.Name, vm.ID, vm.Path)}
		}
	}
	return nil
}

// Run restores the VM: each disk is read from the repository and hashed while it streams to
// vCenter, and one whose bytes differ from the manifest fails the restore (ErrCorrupt), which
// destroys the half-made VM. The VM is then tagged and, when asked, powered on. An interrupted
// run of the same plan is finished (adopted) or started over (its half-made VM destroyed).
func (p *Plan) Run(ctx context.Context, c *vsphere.Client, r *repo.Repository, opts Options) (Result, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	start := now()
	res := Result{Name: p.Spec.Name}
	disks := p.Manifest.Disks
	data := func(ctx context.Context, i int) (io.ReadCloser, int64, error) {
		d := disks[i]
		f, err := r.OpenFile(ctx, p.Point, d.File)
		if err != nil {
			return nil, 0, err
		}
		label := diskLabel(d)
		if opts.DiskStart != nil {
			opts.DiskStart(label, d.Bytes)
		}
		body := Checked(p.Point, d.File, d.Bytes, d.SHA256, f)
		if opts.Wrap != nil {
			body = opts.Wrap(label, d.Bytes, body)
		}
		return &diskBody{Reader: body, f: f, done: func(n int64, err error) {
			res.Bytes += n
			if opts.DiskDone != nil {
				opts.DiskDone(label, n, err)
			}
		}}, d.Bytes, nil
	}
	restored, err := c.RestoreVM(ctx, p.Spec, data)
	res.ID, res.Adopted, res.Discarded = restored.ID, restored.Adopted, restored.Discarded
	if err != nil {
		return res, err
	}
	if len(p.Tags) > 0 {
		if err := c.SetTagSets(ctx, res.ID, p.Tags, !restored.Adopted); err != nil {
			return res, fmt.Errorf("restored %s (%s), but tagging it failed (a rerun tags it): %w", p.Spec.Name, res.ID, err)
		}
	}
	if p.PowerOn {
		if err := c.SetPower(ctx, res.ID, true); err != nil {
			return res, fmt.Errorf("restored %s (%s), but powering it on failed: %w", p.Spec.Name, res.ID, err)
		}
	}
	res.Duration = now().Sub(start)
	return res, nil
}

// diskLabel names a disk in progress and messages.
func diskLabel(d repo.Disk) string {
	if d.Label != "" {
		return d.Label
	}
	return d.File
}

// Checked hashes a stored file's bytes as they are read from r and, at their end, fails with a
// CorruptError instead of io.EOF when their size or SHA-256 differ from what the manifest says
// (bytes, sha). So vCenter never sees the end of a file whose bytes do not check out: the upload
// fails, and what it was to make with it.
func Checked(p repo.Point, file string, bytes int64, sha string, r io.Reader) io.Reader {
	return &checked{r: r, h: sha256.New(), file: file, bytes: bytes, sha: sha, point: p}
}

type checked struct {
	r     io.Reader
	h     hash.Hash
	n     int64
	file  string
	bytes int64
	sha   string
	point repo.Point
}

func (c *checked) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	if c.n > c.bytes {
		return n, &repo.CorruptError{Point: c.point, File: c.file, Reason: fmt.Sprintf("has more than the %d bytes the manifest says", c.bytes)}
	}
	if err == io.EOF {
		switch got := hex.EncodeToString(c.h.Sum(nil)); {
		case c.n != c.bytes:
			return n, &repo.CorruptError{Point: c.point, File: c.file, Reason: fmt.Sprintf("has %d bytes, the manifest says %d", c.n, c.bytes)}
		case got != c.sha:
			return n, &repo.CorruptError{Point: c.point, File: c.file, Reason: fmt.Sprintf("has SHA-256 %s, the manifest says %s", got, c.sha)}
		}
	}
	return n, err
}

// diskBody is a disk's stream as the upload reads it; closing it closes the repository file and
// reports the disk's end.
type diskBody struct {
	io.Reader
	f    io.Closer
	n    int64
	err  error
	done func(n int64, err error)
}

func (b *diskBody) Read(p []byte) (int, error) {
	n, err := b.Reader.Read(p)
	b.n += int64(n)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

func (b *diskBody) Close() error {
	b.done(b.n, b.err)
	return b.f.Close()
}
