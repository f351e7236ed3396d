package simulator

import (
	"context"
	"fmt"
	"testing"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// hostOptionManagers returns the advanced OptionManager of every host, by host name.
func hostOptionManagers(t *testing.T, c *govmomi.Client) map[string]*object.OptionManager {
	t.Helper()
	ctx := context.Background()
	hosts, err := find.NewFinder(c.Client, false).HostSystemList(ctx, "/"+Datacenter+"/host/*/*")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*object.OptionManager{}
	for _, h := range hosts {
		var o mo.HostSystem
		if err := h.Properties(ctx, h.Reference(), []string{"name", "configManager.advancedOption"}, &o); err != nil {
			t.Fatal(err)
		}
		out[o.Name] = object.NewOptionManager(c.Client, *o.ConfigManager.AdvancedOption)
	}
	return out
}

// settings reads an OptionManager's setting property over SOAP, by key.
func settings(t *testing.T, om *object.OptionManager) map[string]any {
	t.Helper()
	var o mo.OptionManager
	if err := om.Properties(context.Background(), om.Reference(), []string{"setting"}, &o); err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	for _, s := range o.Setting {
		out[s.GetOptionValue().Key] = s.GetOptionValue().Value
	}
	return out
}

// TestHostOptions_seeded: every host reports every one of HostOptions, with its value and its
// type (long, string, boolean) as they come back over SOAP.
func TestHostOptions_seeded(t *testing.T) {
	c := startSim(t)
	oms := hostOptionManagers(t, c)
	if len(oms) != HostCount {
		t.Fatalf("found %d hosts, want %d", len(oms), HostCount)
	}
	for host, om := range oms {
		got := settings(t, om)
		for k, want := range HostOptions {
			if v, ok := got[k]; !ok || fmt.Sprintf("%T %v", v, v) != fmt.Sprintf("%T %v", want, want) {
				t.Errorf("%s: %s = %T %v (present %v), want %T %v", host, k, v, v, ok, want, want)
			}
		}
	}
}

// TestHostOptions_perHost: an update on one host leaves the others' options as they were.
func TestHostOptions_perHost(t *testing.T) {
	c := startSim(t)
	ctx := context.Background()
	oms := hostOptionManagers(t, c)
	var changed string
	for name, om := range oms {
		changed = name
		if err := om.Update(ctx, []types.BaseOptionValue{&types.OptionValue{Key: "UserVars.ESXiShellTimeOut", Value: int64(900)}}); err != nil {
			t.Fatal(err)
		}
		break
	}
	for name, om := range oms {
		want := int64(0)
		if name == changed {
			want = 900
		}
		if got := settings(t, om)["UserVars.ESXiShellTimeOut"]; got != want {
			t.Errorf("%s: UserVars.ESXiShellTimeOut = %v, want %v (updated on %s only)", name, got, want, changed)
		}
	}
}

// TestHostOptions_updateChecks: a host's UpdateOptions refuses, as ESXi does, a key the host does
// not have (InvalidName) and a value of the wrong type (InvalidArgument), and then changes
// nothing, not even the valid changes sent with it. A query for a missing key faults InvalidName
// (vcsim's own behaviour, which vmgmt reads as "absent").
func TestHostOptions_updateChecks(t *testing.T) {
	c := startSim(t)
	ctx := context.Background()
	var om *object.OptionManager
	for _, o := range hostOptionManagers(t, c) {
		om = o
		break
	}
	valid := &types.OptionValue{Key: "Security.PasswordHistory", Value: int64(5)}
	cases := []struct {
		name   string
		change types.OptionValue
		fault  types.BaseMethodFault
	}{
		{"unknown key", types.OptionValue{Key: "UserVars.NoSuchOption", Value: int64(1)}, &types.InvalidName{}},
		{"int for a long", types.OptionValue{Key: "UserVars.ESXiShellTimeOut", Value: int32(900)}, &types.InvalidArgument{}},
		{"string for a long", types.OptionValue{Key: "UserVars.ESXiShellTimeOut", Value: "900"}, &types.InvalidArgument{}},
		{"string for a bool", types.OptionValue{Key: "Config.HostAgent.plugins.solo.enableMob", Value: "false"}, &types.InvalidArgument{}},
		{"long for a string", types.OptionValue{Key: "Syslog.global.logHost", Value: int64(514)}, &types.InvalidArgument{}},
	}
	for _, tc := range cases {
		change := tc.change
		err := om.Update(ctx, []types.BaseOptionValue{valid, &change})
		if !fault.Is(err, tc.fault) {
			t.Errorf("%s: UpdateOptions = %v, want a %T", tc.name, err, tc.fault)
		}
	}
	got := settings(t, om)
	if got["Security.PasswordHistory"] != int64(0) || got["UserVars.ESXiShellTimeOut"] != int64(0) {
		t.Errorf("refused updates changed options: PasswordHistory %v, ESXiShellTimeOut %v", got["Security.PasswordHistory"], got["UserVars.ESXiShellTimeOut"])
	}
	if _, ok := got["UserVars.NoSuchOption"]; ok {
		t.Error("a refused update added its unknown key")
	}
	if err := om.Update(ctx, []types.BaseOptionValue{valid}); err != nil {
		t.Fatalf("a well-typed update of a known key: %v", err)
	}
	if _, err := om.Query(ctx, "UserVars.NoSuchOption"); !fault.Is(err, &types.InvalidName{}) {
		t.Errorf("QueryOptions of a missing key = %v, want InvalidName", err)
	}
}

// TestHostOptions_newHost: a host added to the cluster after Start comes with HostOptions, like
// a freshly installed ESXi host.
func TestHostOptions_newHost(t *testing.T) {
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
	oms := hostOptionManagers(t, c)
	om, ok := oms["esx-new.example.com"]
	if !ok {
		t.Fatalf("the added host is not among %d hosts", len(oms))
	}
	got := settings(t, om)
	for k, want := range HostOptions {
		if got[k] != want {
			t.Errorf("added host: %s = %v, want %v", k, got[k], want)
		}
	}
}
