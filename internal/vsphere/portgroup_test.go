package vsphere

import (
	"context"
	"testing"

	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

func portGroupsByName(tb testing.TB, c *Client) map[string]PortGroup {
	tb.Helper()
	pgs, err := c.PortGroups(context.Background())
	if err != nil {
		tb.Fatalf("PortGroups: %v", err)
	}
	out := map[string]PortGroup{}
	for _, pg := range pgs {
		out[pg.Name] = pg
	}
	return out
}

// portGroupConfig reads a port group's configuration as another client would.
func portGroupConfig(tb testing.TB, sim *simulator.Sim, id string) types.DVPortgroupConfigInfo {
	tb.Helper()
	ctx := context.Background()
	gc, err := sim.Connect(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	defer func() { _ = gc.Logout(ctx) }()
	var pg mo.DistributedVirtualPortgroup
	ref := types.ManagedObjectReference{Type: "DistributedVirtualPortgroup", Value: id}
	if err := gc.PropertyCollector().RetrieveOne(ctx, ref, []string{"config"}, &pg); err != nil {
		tb.Fatal(err)
	}
	return pg.Config
}

func flagString(b *bool) string {
	if b == nil {
		return "unset"
	}
	if *b {
		return "true"
	}
	return "false"
}

// PortGroups lists the seeded port groups with the VMs whose adapters are on them (each workload
// on its tier's port group, the templates on pg-app), though vcsim keeps no port group's vm list.
func TestPortGroups(t *testing.T) {
	sim := sharedSim(t)
	c := connect(t, sim)
	byName := portGroupsByName(t, c)
	for _, name := range simulator.PortGroups {
		if _, ok := byName[name]; !ok {
			t.Errorf("PortGroups lacks %s: %v", name, byName)
		}
	}
	for _, w := range simulator.Workloads {
		id := workloadID(t, sim, w)
		for _, pg := range byName {
			on := false
			for _, v := range pg.VMIDs {
				on = on || v == id
			}
			if want := pg.Name == simulator.WorkloadPortGroups[w]; on != want {
				t.Errorf("%s lists VMs %v: %s (%s) on it is %v, want %v", pg.Name, pg.VMIDs, w, id, on, want)
			}
		}
	}
	if app := byName[simulator.PortGroups[0]]; app.Uplink || app.ID == "" || len(app.VMIDs) < simulator.SeededTemplates() {
		t.Errorf("%s = %+v, want the templates on it", app.Name, app)
	}
	// vcsim never sets config.uplink, so Uplink is not exercised here.

	before := c.Stats().RoundTrips()
	if _, err := c.PortGroups(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := c.Stats().RoundTrips() - before; n != 2 {
		t.Errorf("PortGroups took %d round trips, want 2 (port groups, VM adapters)", n)
	}
}

// SetPortGroupSecurity changes only the flags it is given and keeps the rest of the port group's
// configuration (vcsim replaces the whole configuration with the spec).
func TestSetPortGroupSecurity(t *testing.T) {
	sim := newSim(t)
	c := connect(t, sim)
	ctx := context.Background()
	db, web := portGroupsByName(t, c)["pg-db"], portGroupsByName(t, c)["pg-web"]
	before := portGroupConfig(t, sim, db.ID)
	if before.NumPorts != 128 {
		t.Fatalf("the seeded pg-db has %d ports, want 128", before.NumPorts)
	}
	f, tr := false, true

	// Start from a known state with every flag set, then change one.
	if err := c.SetPortGroupSecurity(ctx, db.ID, NetSecurity{AllowPromiscuous: &tr, AllowMACChanges: &tr, AllowForgedTransmits: &tr}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetPortGroupSecurity(ctx, db.ID, NetSecurity{AllowPromiscuous: &f}); err != nil {
		t.Fatal(err)
	}
	got := portGroupsByName(t, c)["pg-db"].Security
	if flagString(got.AllowPromiscuous) != "false" || flagString(got.AllowMACChanges) != "true" || flagString(got.AllowForgedTransmits) != "true" {
		t.Errorf("after promiscuous=false: promiscuous %s, MAC changes %s, forged %s; want false, true, true",
			flagString(got.AllowPromiscuous), flagString(got.AllowMACChanges), flagString(got.AllowForgedTransmits))
	}
	after := portGroupConfig(t, sim, db.ID)
	if after.Name != "pg-db" || after.NumPorts != before.NumPorts || after.Type != before.Type {
		t.Errorf("the port group's configuration changed: name %q, %d ports, type %s; was %q, %d, %s",
			after.Name, after.NumPorts, after.Type, before.Name, before.NumPorts, before.Type)
	}
	if _, ok := portGroupsByName(t, c)["pg-db"]; !ok {
		t.Error("pg-db is no longer listed by name")
	}

	if err := c.SetPortGroupSecurity(ctx, db.ID, NetSecurity{AllowForgedTransmits: &f}); err != nil {
		t.Fatal(err)
	}
	got = portGroupsByName(t, c)["pg-db"].Security
	if flagString(got.AllowPromiscuous) != "false" || flagString(got.AllowMACChanges) != "true" || flagString(got.AllowForgedTransmits) != "false" {
		t.Errorf("after forged=false: promiscuous %s, MAC changes %s, forged %s; want false, true, false",
			flagString(got.AllowPromiscuous), flagString(got.AllowMACChanges), flagString(got.AllowForgedTransmits))
	}
	// The other port groups are untouched.
	if now := portGroupsByName(t, c)["pg-web"].Security; flagString(now.AllowPromiscuous) != flagString(web.Security.AllowPromiscuous) ||
		flagString(now.AllowMACChanges) != flagString(web.Security.AllowMACChanges) ||
		flagString(now.AllowForgedTransmits) != flagString(web.Security.AllowForgedTransmits) {
		t.Errorf("pg-web changed too: %+v, was %+v", now, web.Security)
	}

	if err := c.SetPortGroupSecurity(ctx, "dvportgroup-404", NetSecurity{AllowPromiscuous: &f}); !IsNotFound(err) {
		t.Errorf("SetPortGroupSecurity on a port group that does not exist: %v, want a NotFoundError", err)
	}
}
