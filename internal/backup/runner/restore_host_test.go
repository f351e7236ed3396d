package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/repo"
)

const hostOption = "UserVars.ESXiShellTimeOut"

func (e *env) hostOption(t *testing.T, hostID string) any {
	t.Helper()
	opts, err := e.c.ReadHostOptions(context.Background(), []string{hostID}, []string{hostOption})
	if err != nil {
		t.Fatal(err)
	}
	return opts[0].Options[hostOption]
}

func (e *env) inMaintenance(t *testing.T, hostID string) bool {
	t.Helper()
	var h mo.HostSystem
	ref := types.ManagedObjectReference{Type: "HostSystem", Value: hostID}
	if err := property.DefaultCollector(e.c.Vim()).RetrieveOne(context.Background(), ref, []string{"runtime.inMaintenanceMode"}, &h); err != nil {
		t.Fatal(err)
	}
	return h.Runtime.InMaintenanceMode
}

// A host's configuration is restored from its newest bundle: a setting changed since the backup
// is back to its backed-up value, the host was put in maintenance mode first (--enter-maintenance)
// and the bundle's SHA-256 was checked on the way. Without maintenance mode ESXi refuses, and the
// error says what to do; a bundle whose bytes changed in the repository is refused before the
// host applies anything.
func TestRestoreHostConfig(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	hosts := e.withHosts(t, false)
	h := hosts[0]
	if err := e.c.SetHostOptions(ctx, h.ID, map[string]any{hostOption: int64(600)}); err != nil {
		t.Fatal(err)
	}
	if _, res := e.run(t, e.opts()); res.Status != "ok" {
		t.Fatalf("backup: %+v", res)
	}
	if err := e.c.SetHostOptions(ctx, h.ID, map[string]any{hostOption: int64(0)}); err != nil {
		t.Fatal(err)
	}

	opts := e.restoreOpts()
	opts.Host = h.Name
	sum, err := Restore(ctx, e.c, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res := sum.Results[0]; res.Status != VMFailed || !strings.Contains(res.Err.Error(), "maintenance mode") {
		t.Fatalf("restore outside maintenance mode: %+v, want refused naming maintenance mode", res)
	}

	// Corrupt bundle: refused, the host untouched.
	r := e.repo(t)
	p := e.hostPoints(t, r, h.Name)[0]
	bundle := filepath.Join(e.dir, e.job.Name, "hosts", h.Name, p.ID, repo.HostBundleFile)
	orig, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	bad := append([]byte(nil), orig...)
	bad[len(bad)/2] ^= 0xff
	if err := os.WriteFile(bundle, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	opts.EnterMaintenance = true
	sum, err = Restore(ctx, e.c, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res := sum.Results[0]; res.Status != VMFailed || !errors.Is(res.Err, repo.ErrCorrupt) {
		t.Fatalf("restore of a corrupt bundle: %+v, want ErrCorrupt", res)
	}
	if got := e.hostOption(t, h.ID); fmt.Sprint(got) != "0" {
		t.Fatalf("after the refused bundle %s = %v, want the host untouched (0)", hostOption, got)
	}
	if err := os.WriteFile(bundle, orig, 0o644); err != nil {
		t.Fatal(err)
	}

	sum, err = Restore(ctx, e.c, opts)
	if err != nil {
		t.Fatal(err)
	}
	res := sum.Results[0]
	if res.Status != VMOK || res.Point != p.ID || res.ID != h.ID || res.Bytes != int64(len(orig)) {
		t.Fatalf("host restore: %+v, want ok from %s onto %s with %d bytes", res, p.ID, h.ID, len(orig))
	}
	if got := e.hostOption(t, h.ID); fmt.Sprint(got) != "600" {
		t.Errorf("after the restore %s = %v, want the backed-up 600", hostOption, got)
	}
	if !e.inMaintenance(t, h.ID) {
		t.Errorf("the host is not in maintenance mode after --enter-maintenance")
	}
}
