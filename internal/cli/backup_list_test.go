package cli_test

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/cli"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

// listedPoint is one element of `backup list --format json`, as a script reads it.
type listedPoint struct {
	Job         string    `json:"job"`
	VM          string    `json:"vm"`
	VMID        string    `json:"vm_id"`
	Point       string    `json:"point"`
	Time        time.Time `json:"time"`
	Bytes       int64     `json:"bytes"`
	Consistency string    `json:"consistency"`
	Verified    bool      `json:"verified"`
	Disks       int       `json:"disks"`
}

// `backup list` after two runs of a job: every protected VM's points, newest first, with their
// size, consistency and disks, as a table and as JSON; --vm keeps one VM's; an unknown job is a
// usage error naming the jobs; a job whose repository is unavailable is reported on stderr, exit
// 1, while the other job is still listed.
func TestBackupList(t *testing.T) {
	_, put := backupSim(t, 5)
	put("nightly", "file://"+filepath.Join(t.TempDir(), "repo"))
	if code, _, stderr := run(t, "backup", "list"); code != cli.ExitOK || stderr != "" {
		t.Fatalf("list before any run: exit %d, stderr %q", code, stderr)
	}
	for i := 0; i < 2; i++ {
		if code, stdout, stderr := run(t, "backup", "run", "--job", "nightly"); code != cli.ExitOK {
			t.Fatalf("backup run: exit %d\n%s\n%s", code, stdout, stderr)
		}
	}

	code, stdout, stderr := run(t, "backup", "list", "--job", "nightly", "--format", "json")
	if code != cli.ExitOK || stderr != "" {
		t.Fatalf("list --format json: exit %d\n%s\n%s", code, stdout, stderr)
	}
	var points []listedPoint
	if err := json.Unmarshal([]byte(stdout), &points); err != nil {
		t.Fatalf("list --format json is not one JSON array: %v\n%s", err, stdout)
	}
	perVM := map[string][]listedPoint{}
	for _, p := range points {
		if p.Job != "nightly" || p.Consistency != "crash" || p.Verified || p.Disks < 1 || p.Time.IsZero() || !strings.HasPrefix(p.VMID, "vm-") {
			t.Errorf("point %+v: want job nightly, crash, not verified, at least a disk, a time and the VM's ID", p)
		}
		perVM[p.VM] = append(perVM[p.VM], p)
	}
	if len(perVM) != len(simulator.Workloads) {
		t.Errorf("points of %d VMs, want the %d workloads: %+v", len(perVM), len(simulator.Workloads), points)
	}
	for _, vm := range simulator.Workloads {
		ps := perVM[vm]
		if len(ps) != 2 {
			t.Errorf("%s: %d points, want one per run (2)", vm, len(ps))
			continue
		}
		// IDs sort by time as text: the newest point has the greatest.
		if ps[0].Point <= ps[1].Point || ps[0].Time.Before(ps[1].Time) {
			t.Errorf("%s: points not newest first: %s, %s", vm, ps[0].Point, ps[1].Point)
		}
	}
	// The big disk's point holds at least the disk's data (the simulator's sparse extent).
	if big := perVM[simulator.BigDiskVM]; len(big) > 0 && big[0].Bytes < 4<<20 {
		t.Errorf("%s's point holds %d bytes, want at least its 4 MiB disk", simulator.BigDiskVM, big[0].Bytes)
	}

	code, stdout, _ = run(t, "backup", "list", "--job", "nightly")
	if code != cli.ExitOK {
		t.Fatalf("list: exit %d\n%s", code, stdout)
	}
	lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	if len(lines) != 1+len(points) || !regexp.MustCompile(`^JOB +VM +POINT +TIME +SIZE +CONSISTENCY +VERIFIED +DISKS$`).MatchString(lines[0]) {
		t.Fatalf("want a header and %d rows:\n%s", len(points), stdout)
	}
	col := strings.Index(lines[0], "POINT")
	for i, p := range points {
		row := lines[1+i]
		if !strings.HasPrefix(row[col:], p.Point+" ") || !strings.HasPrefix(row, "nightly ") || !strings.Contains(row, " "+p.VM+" ") ||
			!strings.Contains(row, " crash ") || !strings.Contains(row, " no ") {
			t.Errorf("row %d %q does not show point %+v in the aligned columns", i, row, p)
		}
	}

	code, stdout, _ = run(t, "backup", "list", "--vm", simulator.BigDiskVM, "--format", "json")
	var one []listedPoint
	if err := json.Unmarshal([]byte(stdout), &one); code != cli.ExitOK || err != nil {
		t.Fatalf("list --vm: exit %d, %v\n%s", code, err, stdout)
	}
	if len(one) != 2 || one[0].VM != simulator.BigDiskVM || one[1].VM != simulator.BigDiskVM {
		t.Errorf("list --vm %s: %+v, want its 2 points only", simulator.BigDiskVM, one)
	}

	if code, _, stderr := run(t, "backup", "list", "--job", "missing"); code != cli.ExitUsage || !strings.Contains(stderr, `no backup job "missing" in vCenter (jobs: nightly)`) {
		t.Fatalf("unknown job: exit %d, %q", code, stderr)
	}
	if code, _, stderr := run(t, "backup", "list", "--format", "yaml"); code != cli.ExitUsage || !strings.Contains(stderr, "use text or json") {
		t.Fatalf("bad format: exit %d, %q", code, stderr)
	}

	put("broken", "file://"+filepath.Join(t.TempDir(), "unmounted", "repo"))
	code, stdout, stderr = run(t, "backup", "list", "--format", "json")
	var all []listedPoint
	if err := json.Unmarshal([]byte(stdout), &all); err != nil {
		t.Fatalf("list with a broken job: stdout is not a JSON array: %v\n%s", err, stdout)
	}
	if code != cli.ExitFail || len(all) != len(points) || !strings.Contains(stderr, "job broken: backup repository unavailable") {
		t.Fatalf("list with a broken job: exit %d, %d points (want %d), stderr %q", code, len(all), len(points), stderr)
	}
}
