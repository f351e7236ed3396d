package simulator

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// firmwareSystems returns every host's configManager.firmwareSystem, by host name.
func firmwareSystems(t *testing.T, c *govmomi.Client) map[string]types.ManagedObjectReference {
	t.Helper()
	ctx := context.Background()
	hosts, err := find.NewFinder(c.Client, false).HostSystemList(ctx, "/"+Datacenter+"/host/*/*")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]types.ManagedObjectReference{}
	for _, h := range hosts {
		var o mo.HostSystem
		if err := h.Properties(ctx, h.Reference(), []string{"name", "configManager.firmwareSystem"}, &o); err != nil {
			t.Fatal(err)
		}
		if o.ConfigManager.FirmwareSystem == nil {
			t.Fatalf("host %s has no configManager.firmwareSystem", o.Name)
		}
		out[o.Name] = *o.ConfigManager.FirmwareSystem
	}
	return out
}

// backupURL asks the firmware system for a backup and returns the URL with the server's address
// for "*".
func backupURL(t *testing.T, c *govmomi.Client, fw types.ManagedObjectReference) *url.URL {
	t.Helper()
	res, err := methods.BackupFirmwareConfiguration(context.Background(), c.Client, &types.BackupFirmwareConfiguration{This: fw})
	if err != nil {
		t.Fatalf("BackupFirmwareConfiguration(%s): %v", fw, err)
	}
	return starURL(t, c, res.Returnval)
}

func starURL(t *testing.T, c *govmomi.Client, raw string) *url.URL {
	t.Helper()
	if !strings.HasPrefix(raw, "https://*/") {
		t.Fatalf("URL %q does not name the host as *", raw)
	}
	u, err := url.Parse(strings.Replace(raw, "*", c.Client.URL().Host, 1))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func download(t *testing.T, c *govmomi.Client, u *url.URL) []byte {
	t.Helper()
	rc, _, err := c.Download(context.Background(), u, &soap.DefaultDownload)
	if err != nil {
		t.Fatalf("downloading %s: %v", u, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestFirmwareSystem_everyHost: every host, the seeded ones and those added later to the cluster
// or standalone, has its own firmware system, whose backup downloads as a bundle of that host.
func TestFirmwareSystem_everyHost(t *testing.T) {
	c := startSim(t)
	ctx := context.Background()
	f := find.NewFinder(c.Client, false)
	cl, err := f.ClusterComputeResource(ctx, ClusterPath)
	if err != nil {
		t.Fatal(err)
	}
	task, err := cl.AddHost(ctx, types.HostConnectSpec{HostName: "esx-new.example.com", UserName: "root", Password: "x"}, true, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	hf, err := f.Folder(ctx, "/"+Datacenter+"/host")
	if err != nil {
		t.Fatal(err)
	}
	task, err = hf.AddStandaloneHost(ctx, types.HostConnectSpec{HostName: "esx-alone.example.com", UserName: "root", Password: "x"}, true, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}

	systems := firmwareSystems(t, c)
	if len(systems) != HostCount+2 {
		t.Fatalf("found %d hosts, want %d", len(systems), HostCount+2)
	}
	for _, name := range []string{"esx-new.example.com", "esx-alone.example.com"} {
		if _, ok := systems[name]; !ok {
			t.Errorf("the added host %s is not among the hosts", name)
		}
	}
	seen := map[types.ManagedObjectReference]string{}
	for name, fw := range systems {
		if other, dup := seen[fw]; dup {
			t.Errorf("hosts %s and %s share firmware system %s", name, other, fw)
		}
		seen[fw] = name
		u := backupURL(t, c, fw)
		if want := "/configBundle-" + name + ".tgz"; !strings.HasSuffix(u.Path, want) {
			t.Errorf("%s: backup URL %s does not end in %s", name, u, want)
		}
		b, err := ReadFirmwareBundle(bytes.NewReader(download(t, c, u)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if b.HostName != name || b.UUID == "" {
			t.Errorf("%s: bundle of host %q, uuid %q", name, b.HostName, b.UUID)
		}
		for k, want := range HostOptions {
			if got, ok := b.Options[k]; !ok || got != want {
				t.Errorf("%s: bundle has %s = %T %v, want %T %v", name, k, got, got, want, want)
			}
		}
	}
}

// TestFirmwareSystem_sessionAndHost: a bundle downloads only with the session that asked for
// it, and restores onto another host only with force.
func TestFirmwareSystem_sessionAndHost(t *testing.T) {
	c := startSim(t)
	ctx := context.Background()
	systems := firmwareSystems(t, c)
	hosts, err := find.NewFinder(c.Client, false).HostSystemList(ctx, ClusterPath+"/*")
	if err != nil {
		t.Fatal(err)
	}
	a, b := hosts[0], hosts[1]
	nameA, err := a.ObjectName(ctx)
	if err != nil {
		t.Fatal(err)
	}
	nameB, err := b.ObjectName(ctx)
	if err != nil {
		t.Fatal(err)
	}
	oms := hostOptionManagers(t, c)
	if err := oms[nameA].Update(ctx, []types.BaseOptionValue{&types.OptionValue{Key: "UserVars.ESXiShellTimeOut", Value: int64(900)}}); err != nil {
		t.Fatal(err)
	}
	u := backupURL(t, c, systems[nameA])

	// Without a session's cookie, and with another session's.
	insecure := &http.Client{Transport: c.DefaultTransport()}
	for _, cookie := range []*http.Cookie{nil, {Name: soap.SessionCookieName, Value: "another-session"}} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if cookie != nil {
			req.AddCookie(cookie)
		}
		res, err := insecure.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("a download with session cookie %v: %s, want 401", cookie, res.Status)
		}
	}
	bundle := download(t, c, u)

	// Host A's bundle onto host B, in maintenance mode.
	task, err := b.EnterMaintenanceMode(ctx, 0, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	upload := func() {
		t.Helper()
		res, err := methods.QueryFirmwareConfigUploadURL(ctx, c.Client, &types.QueryFirmwareConfigUploadURL{This: systems[nameB]})
		if err != nil {
			t.Fatal(err)
		}
		p := soap.DefaultUpload
		p.ContentLength = int64(len(bundle))
		if err := c.Upload(ctx, bytes.NewReader(bundle), starURL(t, c, res.Returnval), &p); err != nil {
			t.Fatal(err)
		}
	}
	upload()
	_, err = methods.RestoreFirmwareConfiguration(ctx, c.Client, &types.RestoreFirmwareConfiguration{This: systems[nameB]})
	if !fault.Is(err, &types.MismatchedBundle{}) {
		t.Fatalf("restoring host %s's bundle on %s: %v, want MismatchedBundle", nameA, nameB, err)
	}
	upload()
	if _, err := methods.RestoreFirmwareConfiguration(ctx, c.Client, &types.RestoreFirmwareConfiguration{This: systems[nameB], Force: true}); err != nil {
		t.Fatalf("restoring host %s's bundle on %s with force: %v", nameA, nameB, err)
	}
	// The upload is used up.
	_, err = methods.RestoreFirmwareConfiguration(ctx, c.Client, &types.RestoreFirmwareConfiguration{This: systems[nameB], Force: true})
	if !fault.Is(err, &types.FileFault{}) {
		t.Errorf("a second restore without an upload: %v, want FileFault", err)
	}
	if got := settings(t, oms[nameB])["UserVars.ESXiShellTimeOut"]; got != int64(900) {
		t.Errorf("after the forced restore, host %s has UserVars.ESXiShellTimeOut = %v, want host %s's 900", nameB, got, nameA)
	}
}

// TestFirmwareSystem_reset: ResetFirmwareToFactoryDefaults puts HostOptions back, and only in
// maintenance mode.
func TestFirmwareSystem_reset(t *testing.T) {
	c := startSim(t)
	ctx := context.Background()
	hosts, err := find.NewFinder(c.Client, false).HostSystemList(ctx, ClusterPath+"/*")
	if err != nil {
		t.Fatal(err)
	}
	h := hosts[0]
	name, err := h.ObjectName(ctx)
	if err != nil {
		t.Fatal(err)
	}
	om := hostOptionManagers(t, c)[name]
	if err := om.Update(ctx, []types.BaseOptionValue{&types.OptionValue{Key: "UserVars.ESXiShellTimeOut", Value: int64(900)}}); err != nil {
		t.Fatal(err)
	}
	fw := firmwareSystems(t, c)[name]
	reset := func() error {
		_, err := methods.ResetFirmwareToFactoryDefaults(ctx, c.Client, &types.ResetFirmwareToFactoryDefaults{This: fw})
		return err
	}
	if err := reset(); !fault.Is(err, &types.InvalidState{}) {
		t.Fatalf("a reset outside maintenance mode: %v, want InvalidState", err)
	}
	task, err := h.EnterMaintenanceMode(ctx, 0, false, nil)
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := reset(); err != nil {
		t.Fatalf("a reset in maintenance mode: %v", err)
	}
	if got := settings(t, om)["UserVars.ESXiShellTimeOut"]; got != HostOptions["UserVars.ESXiShellTimeOut"] {
		t.Errorf("after the reset UserVars.ESXiShellTimeOut = %v, want %v", got, HostOptions["UserVars.ESXiShellTimeOut"])
	}
}

// TestFirmwareSystem_disconnected: a disconnected host answers HostNotConnected to a backup, and
// backs up again once reconnected.
func TestFirmwareSystem_disconnected(t *testing.T) {
	c := startSim(t)
	ctx := context.Background()
	systems := firmwareSystems(t, c)
	hosts, err := find.NewFinder(c.Client, false).HostSystemList(ctx, ClusterPath+"/*")
	if err != nil {
		t.Fatal(err)
	}
	h := hosts[0]
	name, err := h.ObjectName(ctx)
	if err != nil {
		t.Fatal(err)
	}
	task, err := h.Disconnect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = methods.BackupFirmwareConfiguration(ctx, c.Client, &types.BackupFirmwareConfiguration{This: systems[name]})
	if !fault.Is(err, &types.HostNotConnected{}) {
		t.Fatalf("backing up disconnected host %s: %v, want HostNotConnected", name, err)
	}
	task, err = h.Reconnect(ctx, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := methods.BackupFirmwareConfiguration(ctx, c.Client, &types.BackupFirmwareConfiguration{This: systems[name]}); err != nil {
		t.Fatalf("backing up host %s after it reconnected: %v", name, err)
	}
}
