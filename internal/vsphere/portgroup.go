package vsphere

import (
	"context"
	"fmt"
	"sort"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// NetSecurity is the security policy of a distributed port group's ports. Nil leaves a flag as it
// is (on write) or means it is not set (on read: the switch's value applies).
type NetSecurity struct {
	AllowPromiscuous     *bool
	AllowMACChanges      *bool
	AllowForgedTransmits *bool
}

// PortGroup is a distributed port group with the VMs on it.
type PortGroup struct {
	ID       string
	Name     string
	VMIDs    []string // sorted
	Uplink   bool
	Security NetSecurity
}

var portGroupProps = []string{"name", "vm", "config.defaultPortConfig", "config.uplink"}

// PortGroups reads every distributed port group, with its VMs and security policy, in two round
// trips whatever the number of VMs. A port group's VMs are those whose network lists it, read from
// the VMs: the simulator does not keep a port group's vm property (vCenter does; both agree).
func (c *Client) PortGroups(ctx context.Context) ([]PortGroup, error) {
	var pgs []mo.DistributedVirtualPortgroup
	if err := c.RetrieveAll(ctx, "DistributedVirtualPortgroup", portGroupProps, &pgs); err != nil {
		return nil, err
	}
	var vms []mo.VirtualMachine
	if err := c.RetrieveAll(ctx, "VirtualMachine", []string{"network"}, &vms); err != nil {
		return nil, err
	}
	onNet := map[string]map[string]bool{}
	for _, vm := range vms {
		for _, n := range vm.Network {
			if onNet[n.Value] == nil {
				onNet[n.Value] = map[string]bool{}
			}
			onNet[n.Value][vm.Self.Value] = true
		}
	}
	out := make([]PortGroup, 0, len(pgs))
	for _, pg := range pgs {
		p := PortGroup{ID: pg.Self.Value, Name: pg.Name, Uplink: pg.Config.Uplink != nil && *pg.Config.Uplink, Security: securityOf(pg.Config.DefaultPortConfig)}
		ids := onNet[pg.Self.Value]
		if ids == nil {
			ids = map[string]bool{}
		}
		for _, vm := range pg.Vm {
			ids[vm.Value] = true
		}
		for id := range ids {
			p.VMIDs = append(p.VMIDs, id)
		}
		sort.Strings(p.VMIDs)
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func securityOf(setting types.BaseDVPortSetting) NetSecurity {
	s, ok := setting.(*types.VMwareDVSPortSetting)
	if !ok || s.SecurityPolicy == nil {
		return NetSecurity{}
	}
	flag := func(p *types.BoolPolicy) *bool {
		if p == nil {
			return nil
		}
		return p.Value
	}
	return NetSecurity{
		AllowPromiscuous:     flag(s.SecurityPolicy.AllowPromiscuous),
		AllowMACChanges:      flag(s.SecurityPolicy.MacChanges),
		AllowForgedTransmits: flag(s.SecurityPolicy.ForgedTransmits),
	}
}

// SetPortGroupSecurity sets the flags of want that are not nil on the port group, keeping the
// others and the rest of its configuration. The port group's configuration is read fresh and
// written back whole with its config version (vCenter refuses a stale version; the simulator
// replaces the configuration with the spec, so every field must be in it).
func (c *Client) SetPortGroupSecurity(ctx context.Context, id string, want NetSecurity) error {
	ref := types.ManagedObjectReference{Type: "DistributedVirtualPortgroup", Value: id}
	var pg mo.DistributedVirtualPortgroup
	if err := c.retrieveOne(ctx, ref, []string{"name", "config"}, &pg); err != nil {
		return wrapNotFound("port group", id, err)
	}
	cfg := pg.Config
	setting, _ := cfg.DefaultPortConfig.(*types.VMwareDVSPortSetting)
	if setting == nil {
		setting = &types.VMwareDVSPortSetting{}
	}
	if setting.SecurityPolicy == nil {
		setting.SecurityPolicy = &types.DVSSecurityPolicy{}
	}
	set := func(p **types.BoolPolicy, v *bool) {
		if v == nil {
			return
		}
		b := *v
		*p = &types.BoolPolicy{Value: &b}
	}
	set(&setting.SecurityPolicy.AllowPromiscuous, want.AllowPromiscuous)
	set(&setting.SecurityPolicy.MacChanges, want.AllowMACChanges)
	set(&setting.SecurityPolicy.ForgedTransmits, want.AllowForgedTransmits)
	spec := types.DVPortgroupConfigSpec{
		ConfigVersion:                cfg.ConfigVersion,
		Name:                         cfg.Name,
		NumPorts:                     cfg.NumPorts,
		PortNameFormat:               cfg.PortNameFormat,
		DefaultPortConfig:            setting,
		Description:                  cfg.Description,
		Type:                         cfg.Type,
		BackingType:                  cfg.BackingType,
		Policy:                       cfg.Policy,
		AutoExpand:                   cfg.AutoExpand,
		VmVnicNetworkResourcePoolKey: cfg.VmVnicNetworkResourcePoolKey,
		LogicalSwitchUuid:            cfg.LogicalSwitchUuid,
		SegmentId:                    cfg.SegmentId,
	}
	task, err := object.NewDistributedVirtualPortgroup(c.vim, ref).Reconfigure(ctx, spec)
	if err != nil {
		return fmt.Errorf("setting the security policy of port group %s: %w", pg.Name, err)
	}
	if _, err := c.waitTask(ctx, task); err != nil {
		return fmt.Errorf("setting the security policy of port group %s: %w", pg.Name, err)
	}
	return nil
}
