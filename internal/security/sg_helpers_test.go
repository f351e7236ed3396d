package security_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

// sgVC is an administrator's session to the test's simulator (acctest.Admin), with what the
// security tests arrange and inspect: permissions, roles, port groups.
type sgVC struct {
	*acctest.Admin
	t   *testing.T
	ctx context.Context
	c   *govmomi.Client
}

func sgConnect(t *testing.T, sim *acctest.Sim) *sgVC {
	t.Helper()
	a := acctest.NewAdmin(t, sim)
	return &sgVC{Admin: a, t: t, ctx: a.Ctx, c: a.Client}
}

func (v *sgVC) auth() *object.AuthorizationManager { return object.NewAuthorizationManager(v.c.Client) }

// permissions are the permissions defined on the VM itself, by principal.
func (v *sgVC) permissions(vmName string) map[string]types.Permission {
	v.t.Helper()
	perms, err := v.auth().RetrieveEntityPermissions(v.ctx, v.VM(vmName), false)
	if err != nil {
		v.t.Fatal(err)
	}
	out := map[string]types.Permission{}
	for _, p := range perms {
		out[p.Principal] = p
	}
	return out
}

// grantForeign sets a permission on the VM as someone else would, keeping the others (the
// simulator replaces the whole list).
func (v *sgVC) grantForeign(vmName, principal string, group bool, role string) {
	v.t.Helper()
	ref := v.VM(vmName)
	roles, err := v.auth().RoleList(v.ctx)
	if err != nil {
		v.t.Fatal(err)
	}
	r := roles.ByName(role)
	if r == nil {
		v.t.Fatalf("no role %s", role)
	}
	list := []types.Permission{{Entity: &ref, Principal: principal, Group: group, RoleId: r.RoleId, Propagate: true}}
	for p, perm := range v.permissions(vmName) {
		if p != principal {
			list = append(list, perm)
		}
	}
	if err := v.auth().SetEntityPermissions(v.ctx, ref, list); err != nil {
		v.t.Fatal(err)
	}
}

func (v *sgVC) role(name string) *types.AuthorizationRole {
	v.t.Helper()
	roles, err := v.auth().RoleList(v.ctx)
	if err != nil {
		v.t.Fatal(err)
	}
	return roles.ByName(name)
}

// folder is the VM folder at this path under the datacenter's VM folder (e.g. "workloads").
func (v *sgVC) folder(name string) types.ManagedObjectReference {
	v.t.Helper()
	f := find.NewFinder(v.c.Client, true)
	folder, err := f.Folder(v.ctx, "/"+simulator.Datacenter+"/vm/"+name)
	if err != nil {
		v.t.Fatal(err)
	}
	return folder.Reference()
}

// grantForeignOn sets a permission on any entity as someone else would, keeping the others.
func (v *sgVC) grantForeignOn(ref types.ManagedObjectReference, principal string, group bool, role string) {
	v.t.Helper()
	r := v.role(role)
	if r == nil {
		v.t.Fatalf("no role %s", role)
	}
	perms, err := v.auth().RetrieveEntityPermissions(v.ctx, ref, false)
	if err != nil {
		v.t.Fatal(err)
	}
	list := []types.Permission{{Entity: &ref, Principal: principal, Group: group, RoleId: r.RoleId, Propagate: true}}
	for _, p := range perms {
		if p.Principal != principal {
			list = append(list, p)
		}
	}
	if err := v.auth().SetEntityPermissions(v.ctx, ref, list); err != nil {
		v.t.Fatal(err)
	}
}

// revokeForeign removes a principal's permission defined on the VM.
func (v *sgVC) revokeForeign(vmName, principal string, group bool) {
	v.t.Helper()
	if err := v.auth().RemoveEntityPermission(v.ctx, v.VM(vmName), principal, group); err != nil {
		v.t.Fatal(err)
	}
}

// updateRole changes a role's privileges as an administrator would in the vSphere Client.
func (v *sgVC) updateRole(name string, privileges ...string) {
	v.t.Helper()
	r := v.role(name)
	if r == nil {
		v.t.Fatalf("no role %s", name)
	}
	if err := v.auth().UpdateRole(v.ctx, r.RoleId, r.Name, privileges); err != nil {
		v.t.Fatal(err)
	}
}

func (v *sgVC) portGroup(name string) mo.DistributedVirtualPortgroup {
	v.t.Helper()
	f := find.NewFinder(v.c.Client, true)
	net, err := f.Network(v.ctx, "/"+simulator.Datacenter+"/network/"+name)
	if err != nil {
		v.t.Fatal(err)
	}
	var pg mo.DistributedVirtualPortgroup
	if err := v.c.RetrieveOne(v.ctx, net.Reference(), []string{"name", "config"}, &pg); err != nil {
		v.t.Fatal(err)
	}
	return pg
}

// secFlags are a port group's security flags; nil is not set.
type secFlags struct{ promiscuous, macChanges, forged *bool }

func (f secFlags) String() string {
	s := func(b *bool) string {
		if b == nil {
			return "unset"
		}
		return fmt.Sprint(*b)
	}
	return fmt.Sprintf("{promiscuous %s, mac %s, forged %s}", s(f.promiscuous), s(f.macChanges), s(f.forged))
}

func (v *sgVC) portGroupSecurity(name string) secFlags {
	v.t.Helper()
	pg := v.portGroup(name)
	s, ok := pg.Config.DefaultPortConfig.(*types.VMwareDVSPortSetting)
	if !ok || s.SecurityPolicy == nil {
		return secFlags{}
	}
	val := func(p *types.BoolPolicy) *bool {
		if p == nil {
			return nil
		}
		return p.Value
	}
	return secFlags{val(s.SecurityPolicy.AllowPromiscuous), val(s.SecurityPolicy.MacChanges), val(s.SecurityPolicy.ForgedTransmits)}
}

// setPortGroupSecurity sets the flags that are not nil on the port group, as someone would in the
// vSphere Client. The simulator replaces the whole configuration with the spec, so the spec is
// the configuration read back with the flags changed.
func (v *sgVC) setPortGroupSecurity(name string, want secFlags) {
	v.t.Helper()
	pg := v.portGroup(name)
	cfg := pg.Config
	setting, _ := cfg.DefaultPortConfig.(*types.VMwareDVSPortSetting)
	if setting == nil {
		setting = &types.VMwareDVSPortSetting{}
	}
	if setting.SecurityPolicy == nil {
		setting.SecurityPolicy = &types.DVSSecurityPolicy{}
	}
	set := func(p **types.BoolPolicy, b *bool) {
		if b != nil {
			*p = &types.BoolPolicy{Value: types.NewBool(*b)}
		}
	}
	set(&setting.SecurityPolicy.AllowPromiscuous, want.promiscuous)
	set(&setting.SecurityPolicy.MacChanges, want.macChanges)
	set(&setting.SecurityPolicy.ForgedTransmits, want.forged)
	spec := types.DVPortgroupConfigSpec{
		ConfigVersion: cfg.ConfigVersion, Name: cfg.Name, NumPorts: cfg.NumPorts, PortNameFormat: cfg.PortNameFormat,
		DefaultPortConfig: setting, Description: cfg.Description, Type: cfg.Type, BackingType: cfg.BackingType,
		Policy: cfg.Policy, AutoExpand: cfg.AutoExpand, VmVnicNetworkResourcePoolKey: cfg.VmVnicNetworkResourcePoolKey,
		LogicalSwitchUuid: cfg.LogicalSwitchUuid, SegmentId: cfg.SegmentId,
	}
	task, err := object.NewDistributedVirtualPortgroup(v.c.Client, pg.Self).Reconfigure(v.ctx, spec)
	if err != nil {
		v.t.Fatal(err)
	}
	if err := task.Wait(v.ctx); err != nil {
		v.t.Fatal(err)
	}
}

func bp(b bool) *bool { return &b }

// planWarnings records the warnings the provider returns from PlanResourceChange, which
// terraform-plugin-testing does not expose: the factories serve the provider through it.
type planWarnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *planWarnings) factories() map[string]func() (tfprotov6.ProviderServer, error) {
	out := map[string]func() (tfprotov6.ProviderServer, error){}
	for name, f := range acctest.ProtoV6ProviderFactories {
		out[name] = func() (tfprotov6.ProviderServer, error) {
			s, err := f()
			if err != nil {
				return nil, err
			}
			return &warningServer{ProviderServer: s, w: w}, nil
		}
	}
	return out
}

// reset forgets the warnings recorded so far (call it in a step's PreConfig).
func (w *planWarnings) reset() {
	w.mu.Lock()
	w.msgs = nil
	w.mu.Unlock()
}

// find returns the recorded warnings whose summary and detail match re.
func (w *planWarnings) find(re string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	rx := regexp.MustCompile(re)
	var out []string
	for _, m := range w.msgs {
		if rx.MatchString(m) {
			out = append(out, m)
		}
	}
	return out
}

func (w *planWarnings) all() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.msgs, "\n---\n")
}

// expect fails unless a recorded warning matches re.
func (w *planWarnings) expect(re string) error {
	if len(w.find(re)) == 0 {
		return fmt.Errorf("no plan warning matches %q; warnings:\n%s", re, w.all())
	}
	return nil
}

type warningServer struct {
	tfprotov6.ProviderServer
	w *planWarnings
}

func (s *warningServer) PlanResourceChange(ctx context.Context, req *tfprotov6.PlanResourceChangeRequest) (*tfprotov6.PlanResourceChangeResponse, error) {
	resp, err := s.ProviderServer.PlanResourceChange(ctx, req)
	if resp != nil {
		s.w.mu.Lock()
		for _, d := range resp.Diagnostics {
			if d.Severity == tfprotov6.DiagnosticSeverityWarning {
				s.w.msgs = append(s.w.msgs, d.Summary+": "+d.Detail)
			}
		}
		s.w.mu.Unlock()
	}
	return resp, err
}

// vmsOn counts the VMs (templates included) with a NIC on the network.
func (v *sgVC) vmsOn(network string) int {
	v.t.Helper()
	m := view.NewManager(v.c.Client)
	cv, err := m.CreateContainerView(v.ctx, v.c.ServiceContent.RootFolder, []string{"VirtualMachine"}, true)
	if err != nil {
		v.t.Fatal(err)
	}
	defer func() { _ = cv.Destroy(v.ctx) }()
	var vms []mo.VirtualMachine
	if err := cv.Retrieve(v.ctx, []string{"VirtualMachine"}, []string{"network"}, &vms); err != nil {
		v.t.Fatal(err)
	}
	n := 0
	for _, vm := range vms {
		for _, net := range vm.Network {
			if net.Value == network {
				n++
				break
			}
		}
	}
	return n
}
