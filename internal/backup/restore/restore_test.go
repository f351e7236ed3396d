package restore

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/repo"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// Checked passes bytes that match exactly, and fails at the end one byte short, one byte over, or
// one byte different, naming the file; an empty file of an empty manifest entry passes.
func TestCheckedBoundaries(t *testing.T) {
	data := []byte("0123456789abcdef")
	p := repo.Point{Job: "j", VM: "vm", ID: "20261202T031500.123Z-1a2b3c"}
	read := func(body []byte, bytes int64, sha string) error {
		_, err := io.Copy(io.Discard, Checked(p, "disk-0.vmdk", bytes, sha, bytesReader(body)))
		return err
	}
	if err := read(data, int64(len(data)), sum(data)); err != nil {
		t.Errorf("exact bytes: %v", err)
	}
	if err := read(nil, 0, sum(nil)); err != nil {
		t.Errorf("empty file: %v", err)
	}
	flipped := append([]byte(nil), data...)
	flipped[7] ^= 1
	for name, tc := range map[string]struct {
		body []byte
		want string
	}{
		"one byte short":   {data[:len(data)-1], "has 15 bytes, the manifest says 16"},
		"one byte over":    {append(append([]byte(nil), data...), 'x'), "more than the 16 bytes"},
		"one byte differs": {flipped, "has SHA-256 " + sum(flipped)},
	} {
		err := read(tc.body, int64(len(data)), sum(data))
		if !errors.Is(err, repo.ErrCorrupt) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "disk-0.vmdk") {
			t.Errorf("%s: %v, want ErrCorrupt saying %q", name, err, tc.want)
		}
	}
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// restoredConfig drops what vSphere generates and the original's request stamp, keeps vmgmt's
// stamps and the user's keys (guestinfo too), and leaves vmgmt's stamps off with SkipStamps;
// the target's keys are added.
func TestRestoredConfig(t *testing.T) {
	from := map[string]string{
		"govcsim": "TRUE", "vc.uuid": "x", "uuid.bios": "x", "nvram": "vm.nvram", "scsi0:0.present": "TRUE",
		"ethernet0.addressType": "generated", "pciBridge0.present": "TRUE", "sched.swap.derivedName": "x",
		"vmware.tools.gapp": "x", "vmgmt.request": "orig", "migrate.hostLog": "x",
		"vmgmt.catalog.item": "db-server", "vmgmt.baseline.tier1": "3f2a", "vmgmt.security-group.db": "sg",
		"guestinfo.role": "db", "identity.owner": "jane", "ideal.setting": "1", "mks.enable3d": "FALSE",
	}
	got := restoredConfig(from, Target{ExtraConfig: map[string]string{"vmgmt.restore.verify": "p"}})
	want := map[string]string{"vmgmt.catalog.item": "db-server", "vmgmt.baseline.tier1": "3f2a", "vmgmt.security-group.db": "sg",
		"guestinfo.role": "db", "identity.owner": "jane", "ideal.setting": "1", "mks.enable3d": "FALSE", "vmgmt.restore.verify": "p"}
	if len(got) != len(want) {
		t.Errorf("restored config %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
	skipped := restoredConfig(from, Target{SkipStamps: true})
	for _, k := range []string{"vmgmt.catalog.item", "vmgmt.baseline.tier1", "vmgmt.security-group.db"} {
		if _, ok := skipped[k]; ok {
			t.Errorf("SkipStamps kept %s", k)
		}
	}
	if skipped["guestinfo.role"] != "db" {
		t.Errorf("SkipStamps dropped a user key: %v", skipped)
	}
}

// restorable refuses a host point, a point without disks, a disk without its SHA-256 or whose
// SHA-256 is not the one among the point's files, and a format vCenter cannot import.
func TestRestorable(t *testing.T) {
	p := repo.Point{Job: "j", VM: "vm", ID: "20261202T031500.123Z-1a2b3c"}
	sha := sum([]byte("disk"))
	good := func() *repo.Manifest {
		return &repo.Manifest{VM: &repo.VMInfo{Name: "vm"}, Hardware: &repo.Hardware{CPUs: 1, MemoryMB: 1},
			Disks: []repo.Disk{{File: "disk-0.vmdk", SHA256: sha, Format: "flat"}},
			Files: []repo.FileInfo{{Name: "disk-0.vmdk", SHA256: sha}}}
	}
	if err := restorable(p, good()); err != nil {
		t.Fatalf("a good point: %v", err)
	}
	for name, tc := range map[string]struct {
		change func(m *repo.Manifest)
		want   string
	}{
		"host point":         {func(m *repo.Manifest) { m.Host = &repo.HostInfo{Name: "esx"} }, "host configuration backup"},
		"no disk":            {func(m *repo.Manifest) { m.Disks = nil }, "holds no disk"},
		"no checksum":        {func(m *repo.Manifest) { m.Disks[0].SHA256 = "" }, "has no SHA-256"},
		"short checksum":     {func(m *repo.Manifest) { m.Disks[0].SHA256 = sha[:63] }, "has no SHA-256"},
		"not among files":    {func(m *repo.Manifest) { m.Files = nil }, "not listed with the same SHA-256"},
		"other file's sum":   {func(m *repo.Manifest) { m.Files[0].SHA256 = sum([]byte("x")) }, "not listed with the same SHA-256"},
		"unknown format":     {func(m *repo.Manifest) { m.Disks[0].Format = "vmdk-sparse" }, "which vCenter's import does not take"},
		"no hardware record": {func(m *repo.Manifest) { m.Hardware = nil }, "records no VM or no hardware"},
	} {
		m := good()
		tc.change(m)
		if err := restorable(p, m); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
	m := good()
	m.Disks[0].Format = "vmdk-stream-optimized"
	if err := restorable(p, m); err != nil {
		t.Errorf("a stream-optimized disk: %v", err)
	}
}

// tagSets keeps every tag of a category, each once, sorted; a tag without a category is dropped.
func TestTagSets(t *testing.T) {
	got := tagSets([]string{"tier/tier-1", "compliance/sox", "app/erp", "broken", "compliance/pci", "compliance/sox"})
	want := map[string][]string{"tier": {"tier-1"}, "app": {"erp"}, "compliance": {"pci", "sox"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("tagSets = %v, want %v", got, want)
	}
	if got := tagSets(nil); len(got) != 0 {
		t.Errorf("tagSets(nil) = %v", got)
	}
}

// restoreNIC keeps an adapter's kind and a manual MAC (not on a copy, not a generated one), and
// says so when it makes a vmxnet3 instead: a point that predates adapter kinds, an SR-IOV one.
func TestRestoreNIC(t *testing.T) {
	for _, tc := range []struct {
		n       repo.Network
		newMACs bool
		want    vsphere.RestoreNIC
		warning string
	}{
		{repo.Network{Network: "pg-db", Adapter: "e1000e", MAC: "00:50:56:01:02:03", AddressType: "manual"}, false,
			vsphere.RestoreNIC{Network: "to", Adapter: "e1000e", MAC: "00:50:56:01:02:03"}, ""},
		{repo.Network{Network: "pg-db", Adapter: "e1000e", MAC: "00:50:56:01:02:03", AddressType: "manual"}, true,
			vsphere.RestoreNIC{Network: "to", Adapter: "e1000e"}, ""},
		{repo.Network{Network: "pg-db", Adapter: "vmxnet3", MAC: "00:50:56:81:02:03", AddressType: "assigned"}, false,
			vsphere.RestoreNIC{Network: "to", Adapter: "vmxnet3"}, ""},
		{repo.Network{Network: "pg-db"}, false, vsphere.RestoreNIC{Network: "to", Adapter: "vmxnet3"}, "predates"},
		{repo.Network{Label: "Network adapter 2", Network: "pg-db", Adapter: "sriov"}, false,
			vsphere.RestoreNIC{Network: "to", Adapter: "vmxnet3"}, "Network adapter 2 was an SR-IOV adapter"},
	} {
		got, warning := restoreNIC(tc.n, "to", tc.newMACs)
		if got != tc.want || (tc.warning == "") != (warning == "") || !strings.Contains(warning, tc.warning) {
			t.Errorf("restoreNIC(%+v, newMACs %v) = %+v, %q; want %+v and a warning with %q", tc.n, tc.newMACs, got, warning, tc.want, tc.warning)
		}
	}
}
