package catalog

import (
	"context"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

var customizationAttrTypes = map[string]attr.Type{
	"hostname": types.StringType, "domain": types.StringType, "ipv4_address": types.StringType, "ipv4_gateway": types.StringType,
	"dns_servers": types.ListType{ElemType: types.StringType},
}

// vmModel is the Terraform state of a catalog VM.
type vmModel struct {
	ID                  types.String `tfsdk:"id"`
	UUID                types.String `tfsdk:"uuid"`
	Name                types.String `tfsdk:"name"`
	CatalogItem         types.String `tfsdk:"catalog_item"`
	Size                types.String `tfsdk:"size"`
	Folder              types.String `tfsdk:"folder"`
	Network             types.String `tfsdk:"network"`
	CapacityReservation types.String `tfsdk:"capacity_reservation"`
	Owner               types.String `tfsdk:"owner"`
	JobFunction         types.String `tfsdk:"job_function"`
	LeaseDays           types.Int64  `tfsdk:"lease_days"`
	Customization       types.Object `tfsdk:"customization"`
	PowerOn             types.Bool   `tfsdk:"power_on"`
	AllowPowerCycle     types.Bool   `tfsdk:"allow_power_cycle"`
	PinVersion          types.String `tfsdk:"pin_version"`
	Rebuild             types.Bool   `tfsdk:"rebuild"`
	Version             types.String `tfsdk:"catalog_item_version"`
	Pool                types.String `tfsdk:"pool"`
	CPUs                types.Int64  `tfsdk:"cpus"`
	MemoryMB            types.Int64  `tfsdk:"memory_mb"`
	DiskGB              types.Int64  `tfsdk:"disk_gb"`
	IPAddress           types.String `tfsdk:"ip_address"`
	CreatedAt           types.String `tfsdk:"created_at"`
	LeaseExpiresAt      types.String `tfsdk:"lease_expires_at"`
}

type customizationModel struct {
	Hostname   types.String   `tfsdk:"hostname"`
	Domain     types.String   `tfsdk:"domain"`
	IPv4       types.String   `tfsdk:"ipv4_address"`
	Gateway    types.String   `tfsdk:"ipv4_gateway"`
	DNSServers []types.String `tfsdk:"dns_servers"`
}

func (m *vmModel) customization(ctx context.Context, diags *diag.Diagnostics) *vsphere.Customization {
	if m.Customization.IsNull() || m.Customization.IsUnknown() {
		return nil
	}
	var cm customizationModel
	diags.Append(m.Customization.As(ctx, &cm, basetypes.ObjectAsOptions{})...)
	host := cm.Hostname.ValueString()
	if host == "" {
		host = m.Name.ValueString()
	}
	return &vsphere.Customization{
		Hostname: host, Domain: cm.Domain.ValueString(), IPv4: cm.IPv4.ValueString(), Gateway: cm.Gateway.ValueString(),
		DNSServers: stringValues(cm.DNSServers),
	}
}

// fill copies what vCenter reports into the model. vmFolder is the datacenter's vm folder path.
// The configured hardware (cpus, memory_mb, disk_gb) is read from the VM itself, so a resize
// behind Terraform's back shows in the next plan.
func (m *vmModel) fill(vmFolder string, vm *vsphere.VM) {
	m.Name = types.StringValue(vm.Name)
	m.UUID = types.StringValue(vm.UUID)
	st := vm.ExtraConfig
	if v := st[StampItem]; v != "" {
		m.CatalogItem = types.StringValue(v)
	}
	if v := st[StampVersion]; v != "" {
		m.Version = types.StringValue(v)
	}
	if v := st[StampSize]; v != "" {
		m.Size = types.StringValue(v)
	}
	m.Owner = types.StringValue(st[StampOwner])
	m.JobFunction = types.StringValue(st[StampJobFunction])
	if d, err := strconv.ParseInt(st[StampLeaseDays], 10, 64); err == nil {
		m.LeaseDays = types.Int64Value(d)
	}
	if v := st[StampCreated]; v != "" {
		m.CreatedAt = types.StringValue(v)
	}
	m.LeaseExpiresAt = leaseEnd(m.CreatedAt, m.LeaseDays)
	if m.LeaseExpiresAt.IsUnknown() {
		m.LeaseExpiresAt = types.StringNull()
	}
	// Keep the user's spelling of the folder while it is the folder the VM is in.
	if cur := m.Folder.ValueString(); m.Folder.IsNull() || m.Folder.IsUnknown() || absFolderPath(vmFolder, cur) != vm.FolderPath {
		m.Folder = types.StringValue(relFolder(vmFolder, vm.FolderPath))
	}
	if !containsStr(vm.Networks, m.Network.ValueString()) {
		if len(vm.Networks) > 0 {
			m.Network = types.StringValue(vm.Networks[0])
		} else {
			m.Network = types.StringValue("")
		}
	}
	m.Pool = types.StringValue(vm.PoolID)
	m.CPUs = types.Int64Value(int64(vm.CPUs))
	m.MemoryMB = types.Int64Value(vm.MemoryMB)
	m.DiskGB = types.Int64Value(vm.DiskGB)
	m.IPAddress = types.StringValue(vm.IPAddress)
	m.PowerOn = types.BoolValue(vm.PowerState == vsphere.PoweredOn)
	if m.AllowPowerCycle.IsNull() || m.AllowPowerCycle.IsUnknown() {
		m.AllowPowerCycle = types.BoolValue(false)
	}
	if m.Rebuild.IsNull() || m.Rebuild.IsUnknown() {
		m.Rebuild = types.BoolValue(false)
	}
	if m.Customization.IsUnknown() {
		m.Customization = types.ObjectNull(customizationAttrTypes)
	}
}

func absFolderPath(vmFolder, f string) string {
	if strings.HasPrefix(f, "/") {
		return strings.TrimSuffix(f, "/")
	}
	if f == "" {
		return vmFolder
	}
	return vmFolder + "/" + strings.Trim(f, "/")
}

// relFolder writes a folder relative to the datacenter's vm folder, as users do.
func relFolder(vmFolder, abs string) string {
	if rel, ok := strings.CutPrefix(abs, vmFolder+"/"); ok {
		return rel
	}
	if abs == vmFolder {
		return ""
	}
	return abs
}

func containsStr(l []string, s string) bool {
	for _, e := range l {
		if e == s {
			return true
		}
	}
	return false
}

// definitionDoc is a Definition as a plain document for policy input.
func definitionDoc(d Definition) map[string]any {
	sizes := map[string]any{}
	for n, s := range d.Sizes {
		sizes[n] = map[string]any{"cpus": int64(s.CPUs), "memory_mb": s.MemoryMB, "disk_gb": s.DiskGB}
	}
	quota := map[string]any{}
	for g, q := range d.Quota {
		quota[g] = map[string]any{"instances": q.Instances, "cpus": q.CPUs, "memory_mb": q.MemoryMB}
	}
	list := func(l []string) []any {
		out := make([]any, 0, len(l))
		for _, s := range l {
			out = append(out, s)
		}
		return out
	}
	return map[string]any{
		"name": d.Name, "version": d.Version, "sizes": sizes, "quota": quota,
		"allowed_folders": list(d.AllowedFolders), "allowed_networks": list(d.AllowedNetworks), "entitled_groups": list(d.EntitledGroups),
		"lease": map[string]any{"default_days": d.Lease.DefaultDays, "max_days": d.Lease.MaxDays, "grace_days": d.Lease.GraceDays},
	}
}
