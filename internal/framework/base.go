// Package framework holds what every vmgmt resource and data source shares: the typed client the
// provider hands them, and base types that remove Metadata/Configure boilerplate.
package framework

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/policy"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// Client is the value the provider's Configure hands to every resource and data source.
type Client struct {
	VSphere *vsphere.Client
	// Policy is the policy gate; nil when the provider has no policy block.
	Policy *policy.Engine
	// Version is the provider version (set by ldflags at build time).
	Version string
	// BaselineBirth returns what a new VM must be made with to comply with the configuration
	// baseline of that name (its settings, flags and stamp), and whether that baseline exists and
	// enforces. The provider sets it to the baseline package's, so that a catalog VM is born
	// compliant with its item's baseline without the catalog importing that package; nil: no
	// baseline is applied at birth.
	BaselineBirth func(ctx context.Context, c *vsphere.Client, name string) (vsphere.Remediation, bool, error)

	principal principal
	shared    sync.Map // key -> value kept for the life of this client (see Shared)
}

// Shared returns the value kept under key for the life of this configured client (one provider
// process of a Terraform command), made by newValue on first use. The framework makes a new
// resource value for every call, so plan-time state that the calls of several resources share (a
// ledger of the reservations planned in this run, the items it publishes) lives here.
func (c *Client) Shared(key string, newValue func() any) any {
	if v, ok := c.shared.Load(key); ok {
		return v
	}
	v, _ := c.shared.LoadOrStore(key, newValue())
	return v
}

// NotePlanned records that this provider process plans an object (a catalog item, say) that
// others may refer to by name before it exists in vCenter, with what is known of it (nil when its
// planned values are not all known yet).
func (c *Client) NotePlanned(kind, name string, v any) {
	c.shared.Store("planned\x00"+kind+"\x00"+name, v)
}

// DonePlanned forgets a planned object once it is made (or its create failed): a resource whose
// plan waits for it (PlannedAny) is planned after it, at apply time, and sees it in vCenter.
func (c *Client) DonePlanned(kind, name string) {
	c.shared.Delete("planned\x00" + kind + "\x00" + name)
}

// Planned reports whether this provider process has planned the object, and what it noted of it.
// Terraform plans a resource after those it refers to, so an object named through a reference is
// known here.
func (c *Client) Planned(kind, name string) (any, bool) {
	return c.shared.Load("planned\x00" + kind + "\x00" + name)
}

// PlannedAny reports whether this provider process has planned any object of the kind, such as a
// VM to create ("vm"): a resource whose plan depends on what exists (a selection of VMs) cannot
// know its result before those are made, and marks it known after apply.
func (c *Client) PlannedAny(kind string) bool {
	found := false
	prefix := "planned\x00" + kind + "\x00"
	c.shared.Range(func(k, _ any) bool {
		if s, ok := k.(string); ok && strings.HasPrefix(s, prefix) {
			found = true
			return false
		}
		return true
	})
	return found
}

// PlannedVM is the kind of planned object a VM create notes (NotePlanned, PlannedAny).
const PlannedVM = "vm"

// PlannedBaseline is the kind a configuration baseline's plan notes, with its mode as the value
// (baseline.Mode), so that a catalog VM whose item names the baseline can tell it will be enforced.
const PlannedBaseline = "baseline"

// ResourceBase is embedded by every resource: it implements Metadata and Configure.
type ResourceBase struct {
	// TypeSuffix is the resource type without the provider prefix, e.g. "capacity_reservation".
	TypeSuffix string
	Client     *Client
}

// Metadata implements resource.Resource.
func (b *ResourceBase) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_" + b.TypeSuffix
}

// Configure implements resource.ResourceWithConfigure.
func (b *ResourceBase) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	b.Client = clientFrom(req.ProviderData, &resp.Diagnostics)
}

// Configured reports whether the provider has been configured (it is not during validation);
// plan-time checks that need vCenter skip themselves when it returns false.
func (b *ResourceBase) Configured() bool { return b.Client != nil && b.Client.VSphere != nil }

// DataSourceBase is embedded by every data source: it implements Metadata and Configure.
type DataSourceBase struct {
	TypeSuffix string
	Client     *Client
}

// Metadata implements datasource.DataSource.
func (b *DataSourceBase) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_" + b.TypeSuffix
}

// Configure implements datasource.DataSourceWithConfigure.
func (b *DataSourceBase) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	b.Client = clientFrom(req.ProviderData, &resp.Diagnostics)
}

// RequireClient adds an error when the provider was not configured, and reports whether it was.
func RequireClient(c *Client, diags *diag.Diagnostics) bool {
	if c == nil || c.VSphere == nil {
		diags.AddError("Provider not configured",
			"The vmgmt provider has no vCenter connection. This usually means the provider block has values that are "+
				"unknown until apply; give vsphere_server, user and password known values.")
		return false
	}
	return true
}

func clientFrom(data any, diags *diag.Diagnostics) *Client {
	if data == nil {
		return nil // not configured yet: validation runs before Configure
	}
	c, ok := data.(*Client)
	if !ok {
		diags.AddError("Unexpected provider data",
			fmt.Sprintf("Expected *framework.Client, got %T. This is a bug in the vmgmt provider; please report it.", data))
		return nil
	}
	return c
}
