package repo

import "time"

// ManifestFormat is the version of the manifest.json layout this package writes and reads.
const ManifestFormat = 1

// Consistency is how a VM's disks were captured.
type Consistency string

// The consistency levels a manifest records.
const (
	Crash    Consistency = "crash"
	Quiesced Consistency = "quiesced"
)

// Manifest is a restore point's manifest.json: what the point holds and what recreating the VM
// (or restoring the host's configuration) needs, without vmgmt or vCenter at hand.
type Manifest struct {
	Format int    `json:"format"`
	Job    string `json:"job"`
	Point  string `json:"point"`
	// Time is when the point was begun (its ID's time), UTC.
	Time time.Time `json:"time"`
	// Run is the ID of the backup run that made the point. The runners that share a run
	// (scale-out) skip a VM or host that already has a point of the run.
	Run string `json:"run,omitempty"`

	VM          *VMInfo     `json:"vm,omitempty"`
	Consistency Consistency `json:"consistency,omitempty"`
	Hardware    *Hardware   `json:"hardware,omitempty"`
	Disks       []Disk      `json:"disks,omitempty"`
	Networks    []Network   `json:"networks,omitempty"`
	// ExtraConfig is the VM's extraConfig, key to value.
	ExtraConfig map[string]string `json:"extra_config,omitempty"`
	// Tags are the VM's tags as "category/name".
	Tags        []string `json:"tags,omitempty"`
	CatalogItem string   `json:"catalog_item,omitempty"`
	// Baseline and SecurityGroups are the stamps vmgmt left on the VM, key to value.
	Baseline       map[string]string `json:"baseline,omitempty"`
	SecurityGroups map[string]string `json:"security_groups,omitempty"`

	// Host is set on a host configuration point instead of VM.
	Host *HostInfo `json:"host,omitempty"`

	// Files are all data files of the point, as written; Commit fills it.
	Files []FileInfo `json:"files"`

	// Verified is the last restore test of this point, written by the restore commands.
	Verified *Verification `json:"verified,omitempty"`
}

// VMInfo names the VM a point was taken of.
type VMInfo struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	UUID string `json:"uuid,omitempty"`
}

// Hardware is the VM's virtual hardware, enough to recreate it.
type Hardware struct {
	CPUs            int    `json:"cpus"`
	MemoryMB        int64  `json:"memory_mb"`
	Firmware        string `json:"firmware,omitempty"`
	HardwareVersion string `json:"hardware_version,omitempty"`
	// GuestID is the guest OS the VM is configured for (config.guestId), which recreating it
	// needs.
	GuestID string `json:"guest_id,omitempty"`
}

// Disk is one virtual disk and the file in the point that holds its data.
type Disk struct {
	Key           int32  `json:"key"`
	Label         string `json:"label,omitempty"`
	File          string `json:"file"`
	CapacityBytes int64  `json:"capacity_bytes"`
	// Bytes and SHA256 describe File as stored; Commit fills them from what WriteFile saw.
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
	// Controller is the kind of controller the disk is on (lsilogic, lsilogic-sas, pvscsi,
	// buslogic, nvme, sata or ide), Bus its bus number and Unit the disk's unit on it, when known.
	Controller string `json:"controller,omitempty"`
	Bus        *int32 `json:"bus,omitempty"`
	Unit       *int32 `json:"unit,omitempty"`
	// Thin says whether the disk was thin provisioned, when known.
	Thin *bool `json:"thin,omitempty"`
	// Source is the disk's descriptor on the datastore it was backed up from.
	Source string `json:"source,omitempty"`
	// Format is how File holds the disk: "flat" (a raw image, the bytes the guest sees),
	// "vmdk-stream-optimized" (what vCenter's export serves: import it, do not write it to a
	// flat extent) or "vmdk-sparse". A restore needs it to know what to do with the file.
	Format string `json:"format,omitempty"`
}

// Network is one network adapter and the network it is on, in the VM's device order.
type Network struct {
	Label   string `json:"label"`
	Network string `json:"network"`
	// Adapter is the adapter's kind (vmxnet3, vmxnet2, vmxnet, e1000e, e1000, pcnet32, sriov);
	// empty in points made before vmgmt recorded it, which restore as vmxnet3.
	Adapter string `json:"adapter,omitempty"`
	// MAC is the adapter's MAC address, AddressType how it got it (manual, generated or
	// assigned): a restore keeps a manual one, except on a copy beside the original.
	MAC         string `json:"mac,omitempty"`
	AddressType string `json:"address_type,omitempty"`
}

// HostInfo names the host a configuration point was taken of, and its bundle.
type HostInfo struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	Build   string `json:"build,omitempty"`
	// Bundle is the file holding the configuration bundle, normally configBundle.tgz.
	Bundle string `json:"bundle"`
}

// FileInfo is one data file of a point as written.
type FileInfo struct {
	Name   string `json:"name"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// Verification is the outcome of a restore test of the point.
type Verification struct {
	At              time.Time `json:"at"`
	RecoverySeconds float64   `json:"recovery_seconds"`
	OK              bool      `json:"ok"`
	// Check says what showed the copy up (a guest heartbeat, or power alone); Error why the test
	// failed (a checksum mismatch, a copy that did not come up, a recovery slower than allowed).
	Check string `json:"check,omitempty"`
	Error string `json:"error,omitempty"`
	// MaxRecoverySeconds is the recovery time the test allowed (0: no bound).
	MaxRecoverySeconds float64 `json:"max_recovery_seconds,omitempty"`
}
