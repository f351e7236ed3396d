package vsphere

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

// clusterHosts selects the seeded cluster's hosts, checking there are simulator.HostCount.
func clusterHosts(t *testing.T, c *Client) []HostRef {
	t.Helper()
	hosts, err := c.SelectHosts(context.Background(), HostScope{Clusters: []string{simulator.Cluster}})
	if err != nil {
		t.Fatal(err)
	}
	if len(hosts) != simulator.HostCount {
		t.Fatalf("cluster %s has %d hosts, want %d", simulator.Cluster, len(hosts), simulator.HostCount)
	}
	return hosts
}

func hostIDs(hosts []HostRef) []string {
	ids := make([]string, len(hosts))
	for i, h := range hosts {
		ids[i] = h.ID
	}
	return ids
}

func seededKeys() []string {
	keys := make([]string, 0, len(simulator.HostOptions))
	for k := range simulator.HostOptions {
		keys = append(keys, k)
	}
	return keys
}

// readOptions reads the hosts' options by host ID.
func readOptions(t *testing.T, c *Client, ids []string, keys []string) map[string]map[string]any {
	t.Helper()
	res, err := c.ReadHostOptions(context.Background(), ids, keys)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	for _, h := range res {
		out[h.HostID] = h.Options
	}
	return out
}

// TestReadHostOptions_bulk: the options of every host of the cluster come back in two round
// trips, with their values and types, the host's name and cluster, and a key no host has absent.
func TestReadHostOptions_bulk(t *testing.T) {
	c := connect(t, newSim(t))
	ctx := context.Background()
	hosts := clusterHosts(t, c)
	keys := append(seededKeys(), "UserVars.NoSuchOption")
	before := c.Stats().RoundTrips()
	res, err := c.ReadHostOptions(ctx, hostIDs(hosts), keys)
	if err != nil {
		t.Fatal(err)
	}
	if n := c.Stats().RoundTrips() - before; n > 2 {
		t.Errorf("reading %d hosts' options took %d round trips, want at most 2", len(hosts), n)
	}
	if len(res) != len(hosts) {
		t.Fatalf("got options of %d hosts, want %d", len(res), len(hosts))
	}
	for i, h := range res {
		if h.HostID != hosts[i].ID || h.HostName != hosts[i].Name || h.HostName == "" || h.Cluster != simulator.Cluster {
			t.Errorf("result %d is host %s %q in cluster %q, want %s %q in %s", i, h.HostID, h.HostName, h.Cluster, hosts[i].ID, hosts[i].Name, simulator.Cluster)
		}
		if !reflect.DeepEqual(h.Options, simulator.HostOptions) {
			t.Errorf("%s: options %v, want exactly the seeded %v", h.HostName, h.Options, simulator.HostOptions)
		}
	}
	if all := readOptions(t, c, hostIDs(hosts)[:1], nil); !reflect.DeepEqual(all[hosts[0].ID], simulator.HostOptions) {
		t.Errorf("no keys: options %v, want every option the host has (the seeded ones)", all[hosts[0].ID])
	}
	if some := readOptions(t, c, hostIDs(hosts)[:1], []string{"Net.BlockGuestBPDU"}); len(some[hosts[0].ID]) != 1 {
		t.Errorf("one key: options %v, want that key only", some[hosts[0].ID])
	}
	if _, err := c.ReadHostOptions(ctx, []string{"host-nosuch"}, keys); !IsNotFound(err) {
		t.Errorf("reading a host that does not exist: %v, want a not-found error", err)
	}
}

// TestSetHostOptions: values given as strings or ints reach the host with the option's own type
// (the simulator, like ESXi, refuses a mistyped value), on that host only.
func TestSetHostOptions(t *testing.T) {
	c := connect(t, newSim(t))
	ctx := context.Background()
	hosts := clusterHosts(t, c)
	err := c.SetHostOptions(ctx, hosts[0].ID, map[string]any{
		"UserVars.ESXiShellTimeOut":               "900",
		"Net.BlockGuestBPDU":                      1,
		"Security.PasswordQualityControl":         "similar=deny retry=3 min=disabled,disabled,disabled,disabled,15 max=64",
		"Config.HostAgent.plugins.solo.enableMob": "false",
		"Syslog.global.auditRecord.storageEnable": true,
	})
	if err != nil {
		t.Fatal(err)
	}
	got := readOptions(t, c, hostIDs(hosts), seededKeys())
	want := map[string]any{
		"UserVars.ESXiShellTimeOut":               int64(900),
		"Net.BlockGuestBPDU":                      int64(1),
		"Security.PasswordQualityControl":         "similar=deny retry=3 min=disabled,disabled,disabled,disabled,15 max=64",
		"Config.HostAgent.plugins.solo.enableMob": false,
		"Syslog.global.auditRecord.storageEnable": true,
	}
	for k, v := range want {
		if got[hosts[0].ID][k] != v {
			t.Errorf("%s on the host written: %T %v, want %T %v", k, got[hosts[0].ID][k], got[hosts[0].ID][k], v, v)
		}
	}
	for _, h := range hosts[1:] {
		if !reflect.DeepEqual(got[h.ID], simulator.HostOptions) {
			t.Errorf("%s, not written, changed: %v", h.Name, got[h.ID])
		}
	}
}

// TestSetHostsOptions_perHostErrors: a key a host lacks and a value that does not convert fail
// their own host only, naming it and the key, and write nothing there; the other hosts are
// written.
func TestSetHostsOptions_perHostErrors(t *testing.T) {
	c := connect(t, newSim(t))
	ctx := context.Background()
	hosts := clusterHosts(t, c)
	errs := c.SetHostsOptions(ctx, map[string]map[string]any{
		hosts[0].ID: {"UserVars.DcuiTimeOut": int64(300), "UserVars.NoSuchOption": 1},
		hosts[1].ID: {"UserVars.DcuiTimeOut": int64(300), "UserVars.ESXiShellTimeOut": "fifteen minutes"},
		hosts[2].ID: {"UserVars.DcuiTimeOut": int64(300), "Syslog.global.logHost": "udp://log.example.com:514"},
		hosts[3].ID: {"UserVars.DcuiTimeOut": 300.0, "Config.HostAgent.plugins.solo.enableMob": "maybe"},
	}, 2)
	for i, key := range map[int]string{0: "UserVars.NoSuchOption", 1: "UserVars.ESXiShellTimeOut", 3: "Config.HostAgent.plugins.solo.enableMob"} {
		err := errs[hosts[i].ID]
		if err == nil || !strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), hosts[i].Name) {
			t.Errorf("host %d: error %v, want one naming %s and %s", i, err, hosts[i].Name, key)
		}
	}
	if err := errs[hosts[0].ID]; err == nil || !strings.Contains(err.Error(), "has no advanced option") {
		t.Errorf("host 0: error %v, want one saying the host has no such option", err)
	}
	if err := errs[hosts[2].ID]; err != nil || len(errs) != 3 {
		t.Errorf("errors %v, want three, none for %s", errs, hosts[2].Name)
	}
	got := readOptions(t, c, hostIDs(hosts), []string{"UserVars.DcuiTimeOut", "Syslog.global.logHost"})
	for i, h := range hosts {
		want := int64(600)
		if i == 2 {
			want = 300
		}
		if got[h.ID]["UserVars.DcuiTimeOut"] != want {
			t.Errorf("host %d: UserVars.DcuiTimeOut = %v, want %d", i, got[h.ID]["UserVars.DcuiTimeOut"], want)
		}
	}
	if got[hosts[2].ID]["Syslog.global.logHost"] != "udp://log.example.com:514" {
		t.Errorf("Syslog.global.logHost = %v", got[hosts[2].ID]["Syslog.global.logHost"])
	}
}

// TestSelectHosts_scope: hosts by tag (one vAPI listing), by ID, by cluster path, combined with
// any and all; an unknown cluster is a not-found error and an empty scope is refused.
func TestSelectHosts_scope(t *testing.T) {
	sim := newSim(t)
	c := connect(t, sim)
	ctx := context.Background()
	hosts := clusterHosts(t, c)
	if err := attachTag(ctx, adminTags(t, sim), tier1, types.ManagedObjectReference{Type: "HostSystem", Value: hosts[1].ID}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		scope HostScope
		want  []string
	}{
		{"tag", HostScope{Tags: []TagRef{tier1}}, []string{hosts[1].ID}},
		{"tag nobody carries", HostScope{Tags: []TagRef{gold}}, nil},
		{"ids", HostScope{IDs: []string{hosts[3].ID, "host-nosuch"}}, []string{hosts[3].ID}},
		{"tag or id", HostScope{Tags: []TagRef{tier1}, IDs: []string{hosts[2].ID}}, []string{hosts[1].ID, hosts[2].ID}},
		{"cluster path and tag", HostScope{Clusters: []string{simulator.ClusterPath}, Tags: []TagRef{tier1}, Match: MatchAll}, []string{hosts[1].ID}},
		{"cluster ID", HostScope{Clusters: []string{hosts[0].ClusterID}}, hostIDs(hosts)},
	}
	for _, tc := range cases {
		got, err := c.SelectHosts(ctx, tc.scope)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if ids := hostIDs(got); !reflect.DeepEqual(ids, tc.want) && !(len(ids) == 0 && len(tc.want) == 0) {
			t.Errorf("%s: selected %v, want %v", tc.name, ids, tc.want)
		}
	}
	if _, err := c.SelectHosts(ctx, HostScope{Clusters: []string{"staging"}}); !IsNotFound(err) {
		t.Errorf("an unknown cluster: %v, want a not-found error", err)
	}
	if _, err := c.SelectHosts(ctx, HostScope{}); err == nil {
		t.Error("an empty scope was accepted")
	}
}

// TestSelectHosts_joinsCluster: a standalone host moved into the cluster is selected by the next
// SelectHosts, and comes with the seeded options, reported under the cluster. The client connects
// after the host is added: a vcsim ContainerView never lists a host added after it was made.
func TestSelectHosts_joinsCluster(t *testing.T) {
	sim := newSim(t)
	ctx := context.Background()
	gc, err := sim.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gc.Logout(ctx) })
	f := find.NewFinder(gc.Client, false)
	hostFolder, err := f.Folder(ctx, "/"+simulator.Datacenter+"/host")
	if err != nil {
		t.Fatal(err)
	}
	task, err := hostFolder.AddStandaloneHost(ctx, types.HostConnectSpec{HostName: "esx-joiner.example.com", UserName: "root", Password: "x"}, true, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	info, err := task.WaitForResult(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// vCenter's task result is the new ComputeResource; vcsim's is the host itself.
	added := info.Result.(types.ManagedObjectReference)
	host := object.NewHostSystem(gc.Client, added)
	if added.Type != "HostSystem" {
		standalone, err := object.NewComputeResource(gc.Client, added).Hosts(ctx)
		if err != nil || len(standalone) != 1 {
			t.Fatalf("the standalone host's compute resource holds %v (%v)", standalone, err)
		}
		host = standalone[0]
	}
	joiner := host.Reference().Value
	c := connect(t, sim)
	clusterHosts(t, c) // still 4: the new host is not in the cluster yet
	cl, err := f.ClusterComputeResource(ctx, simulator.ClusterPath)
	if err != nil {
		t.Fatal(err)
	}
	if task, err = cl.MoveInto(ctx, host); err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatalf("moving the host into the cluster: %v", err)
	}
	hosts, err := c.SelectHosts(ctx, HostScope{Clusters: []string{simulator.Cluster}})
	if err != nil {
		t.Fatal(err)
	}
	if ids := hostIDs(hosts); len(ids) != simulator.HostCount+1 || !contains(ids, joiner) {
		t.Fatalf("after the move the cluster's hosts are %v, want the 4 and %s", ids, joiner)
	}
	res, err := c.ReadHostOptions(ctx, []string{joiner}, seededKeys())
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Cluster != simulator.Cluster || !reflect.DeepEqual(res[0].Options, simulator.HostOptions) {
		t.Errorf("the joined host reads as cluster %q with %v, want %s with the seeded options", res[0].Cluster, res[0].Options, simulator.Cluster)
	}
}
