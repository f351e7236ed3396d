package vsphere

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

const shellTimeout = "UserVars.ESXiShellTimeOut"

// maintenance puts the host in maintenance mode (on) or takes it out.
func maintenance(t *testing.T, c *Client, hostID string, on bool) {
	t.Helper()
	ctx := context.Background()
	h := object.NewHostSystem(c.Vim(), types.ManagedObjectReference{Type: "HostSystem", Value: hostID})
	var task *object.Task
	var err error
	if on {
		task, err = h.EnterMaintenanceMode(ctx, 0, false, nil)
	} else {
		task, err = h.ExitMaintenanceMode(ctx, 0)
	}
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		t.Fatalf("maintenance mode %v on %s: %v", on, hostID, err)
	}
}

func backup(t *testing.T, c *Client, hostID string) []byte {
	t.Helper()
	var buf bytes.Buffer
	n, err := c.BackupHostConfig(context.Background(), hostID, &buf)
	if err != nil {
		t.Fatalf("BackupHostConfig(%s): %v", hostID, err)
	}
	if n != int64(buf.Len()) || n == 0 {
		t.Fatalf("BackupHostConfig(%s) = %d bytes, wrote %d", hostID, n, buf.Len())
	}
	return buf.Bytes()
}

func shellTimeoutOf(t *testing.T, c *Client, hostID string) any {
	t.Helper()
	return readOptions(t, c, []string{hostID}, []string{shellTimeout})[hostID][shellTimeout]
}

func setShellTimeout(t *testing.T, c *Client, hostID string, v int64) {
	t.Helper()
	if err := c.SetHostOptions(context.Background(), hostID, map[string]any{shellTimeout: v}); err != nil {
		t.Fatal(err)
	}
}

// TestBackupHostConfig_restore: a host's bundle holds its name and advanced options; an option
// changed after the backup comes back with a restore in maintenance mode.
func TestBackupHostConfig_restore(t *testing.T) {
	sim := newSim(t)
	c := connect(t, sim)
	ctx := context.Background()
	h := clusterHosts(t, c)[0]

	bundle := backup(t, c, h.ID)
	b, err := simulator.ReadFirmwareBundle(bytes.NewReader(bundle))
	if err != nil {
		t.Fatalf("the backup is not a bundle: %v", err)
	}
	if b.HostName != h.Name || b.Options[shellTimeout] != simulator.HostOptions[shellTimeout] {
		t.Fatalf("bundle of %q with %s = %v, want host %q and %v", b.HostName, shellTimeout, b.Options[shellTimeout], h.Name, simulator.HostOptions[shellTimeout])
	}

	setShellTimeout(t, c, h.ID, 900)
	maintenance(t, c, h.ID, true)
	if err := c.RestoreHostConfig(ctx, h.ID, bytes.NewReader(bundle), int64(len(bundle)), false); err != nil {
		t.Fatalf("RestoreHostConfig in maintenance mode: %v", err)
	}
	if got := shellTimeoutOf(t, c, h.ID); got != simulator.HostOptions[shellTimeout] {
		t.Errorf("after the restore %s = %v, want the backed-up %v", shellTimeout, got, simulator.HostOptions[shellTimeout])
	}
	// Through vCenter the host serves and takes the bundle itself: both transfers went with a
	// vCenter service ticket, not vCenter's session (which a host does not know).
	if n := sim.HostBundleTicketedTransfers(); n != 2 {
		t.Errorf("%d bundle transfers were authorized by a service ticket, want 2 (the download and the upload)", n)
	}
}

// TestRestoreHostConfig_refused: a restore outside maintenance mode, of a corrupt bundle, or of
// another host's bundle without force fails with an error that names the host and says what to
// do, and changes nothing; with force, another host's bundle applies.
func TestRestoreHostConfig_refused(t *testing.T) {
	sim := newSim(t)
	c := connect(t, sim)
	ctx := context.Background()
	hosts := clusterHosts(t, c)
	h, other := hosts[0], hosts[1]
	bundle := backup(t, c, h.ID)
	setShellTimeout(t, c, h.ID, 900)

	restore := func(data []byte, force bool) error {
		return c.RestoreHostConfig(ctx, h.ID, bytes.NewReader(data), int64(len(data)), force)
	}
	check := func(what string, err error, want ...string) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: no error", what)
		}
		for _, w := range append(want, h.Name, h.ID) {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", what, err, w)
			}
		}
		if got := shellTimeoutOf(t, c, h.ID); got != int64(900) {
			t.Errorf("%s: %s = %v, want it left at 900", what, shellTimeout, got)
		}
	}

	check("outside maintenance mode", restore(bundle, false), "not in maintenance mode", "put it in maintenance mode")

	maintenance(t, c, h.ID, true)
	check("a truncated bundle", restore(bundle[:len(bundle)/2], false), "corrupt")
	check("not a bundle", restore([]byte("not a tgz"), false), "corrupt")

	setShellTimeout(t, c, other.ID, 600)
	otherBundle := backup(t, c, other.ID)
	check("another host's bundle", restore(otherBundle, false), "another host", "force")
	if err := restore(otherBundle, true); err != nil {
		t.Fatalf("another host's bundle with force: %v", err)
	}
	if got := shellTimeoutOf(t, c, h.ID); got != int64(600) {
		t.Errorf("after restoring %s's bundle with force: %s = %v, want 600", other.Name, shellTimeout, got)
	}

	if _, err := c.BackupHostConfig(ctx, "host-none", &bytes.Buffer{}); !IsNotFound(err) {
		t.Errorf("BackupHostConfig of a missing host: %v, want not found", err)
	}
}

// TestBackupHostConfig_deterministic: the same state gives the same bytes; a change of one
// option changes them, and undoing it gives the first bytes again.
func TestBackupHostConfig_deterministic(t *testing.T) {
	sim := newSim(t)
	c := connect(t, sim)
	h := clusterHosts(t, c)[0]
	first := backup(t, c, h.ID)
	if again := backup(t, c, h.ID); !bytes.Equal(first, again) {
		t.Fatalf("two backups of the same state differ (%d and %d bytes)", len(first), len(again))
	}
	setShellTimeout(t, c, h.ID, 900)
	if changed := backup(t, c, h.ID); bytes.Equal(first, changed) {
		t.Fatal("a backup after an option changed is the same as before")
	}
	setShellTimeout(t, c, h.ID, 0)
	if undone := backup(t, c, h.ID); !bytes.Equal(first, undone) {
		t.Fatal("a backup after the change was undone differs from the first")
	}
}
