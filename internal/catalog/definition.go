// Package catalog is the Provisioning & Lifecycle function of the reference architecture: a
// service catalog of VMs. Platform engineers publish catalog items (vmgmt_catalog_item), catalog
// users request VMs from them (vmgmt_catalog_vm), and the vmgmt_catalog data source lists what a
// group may request.
package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// Custom attribute and extraConfig keys vmgmt uses for the catalog. The item definition lives on
// its template VM, so the catalog is visible in vCenter outside any Terraform state.
const (
	// FieldItem is the custom attribute on a template holding its catalog item definition (JSON).
	FieldItem = "vmgmt.catalog.item"

	// Stamps in the extraConfig of every VM made from the catalog.
	StampItem        = "vmgmt.catalog.item"
	StampVersion     = "vmgmt.catalog.version"
	StampSize        = "vmgmt.catalog.size"
	StampOwner       = "vmgmt.owner"
	StampJobFunction = "vmgmt.job_function"
	StampCreated     = "vmgmt.lease.created"
	StampLeaseDays   = "vmgmt.lease.days"

	// Tag categories recording the same on every catalog VM, where vSphere users look.
	TagItem        = "vmgmt-catalog-item"
	TagVersion     = "vmgmt-catalog-version"
	TagOwner       = "vmgmt-owner"
	TagJobFunction = "vmgmt-job-function"
)

// Size is one size a catalog item offers.
type Size struct {
	CPUs     int32 `json:"cpus"`
	MemoryMB int64 `json:"memory_mb"`
	DiskGB   int64 `json:"disk_gb"`
}

// Quota limits what one entitled group may hold of an item.
type Quota struct {
	Instances int64 `json:"instances,omitempty"`
	CPUs      int64 `json:"cpus,omitempty"`
	MemoryMB  int64 `json:"memory_mb,omitempty"`
}

// Lease bounds how long a VM from the item lives.
type Lease struct {
	DefaultDays int64 `json:"default_days"`
	MaxDays     int64 `json:"max_days"`
	GraceDays   int64 `json:"grace_days"`
}

// Definition is a catalog item as stored on its template.
type Definition struct {
	Name            string           `json:"name"`
	Version         string           `json:"version"`
	Description     string           `json:"description,omitempty"`
	Sizes           map[string]Size  `json:"sizes"`
	AllowedFolders  []string         `json:"allowed_folders,omitempty"`
	AllowedNetworks []string         `json:"allowed_networks,omitempty"`
	EntitledGroups  []string         `json:"entitled_groups,omitempty"`
	Quota           map[string]Quota `json:"quota,omitempty"`
	Lease           Lease            `json:"lease"`
	// Defaults for the VMs the item makes.
	CapacityReservation string `json:"capacity_reservation,omitempty"`
	ConfigBaseline      string `json:"config_baseline,omitempty"`
	SecurityGroup       string `json:"security_group,omitempty"`
	BackupJob           string `json:"backup_job,omitempty"`
}

// Item is a published definition together with the template that carries it.
type Item struct {
	Definition
	TemplateID   string
	TemplatePath string
}

// SizeNames lists the item's sizes in order.
func (d *Definition) SizeNames() []string {
	out := make([]string, 0, len(d.Sizes))
	for n := range d.Sizes {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// itemsCache keeps the published catalog per client: VM creates make the VM snapshot stale, but
// not the catalog, which changes only when an item is published or unpublished.
var itemsCache struct {
	mu sync.Mutex
	by map[*vsphere.Client]cachedItems
}

type cachedItems struct {
	items  map[string]*Item
	writes uint64
	at     time.Time
}

// Items returns every published catalog item. It is read from the VM snapshot (no extra round
// trip) and then served from a cache until this client publishes or unpublishes an item, or
// vsphere.VMSnapshotMaxAge passes (changes made elsewhere).
func Items(ctx context.Context, c *vsphere.Client) (map[string]*Item, error) {
	itemsCache.mu.Lock()
	if e, ok := itemsCache.by[c]; ok && e.writes == c.CustomWrites() && time.Since(e.at) < vsphere.VMSnapshotMaxAge {
		itemsCache.mu.Unlock()
		return e.items, nil
	}
	itemsCache.mu.Unlock()
	writes := c.CustomWrites()
	items, err := readItems(ctx, c)
	if err != nil {
		return nil, err
	}
	itemsCache.mu.Lock()
	if itemsCache.by == nil {
		itemsCache.by = map[*vsphere.Client]cachedItems{}
	}
	itemsCache.by[c] = cachedItems{items: items, writes: writes, at: time.Now()}
	itemsCache.mu.Unlock()
	return items, nil
}

// InvalidateItems drops the cached catalog of a client (a new Terraform command starts fresh).
func InvalidateItems(c *vsphere.Client) {
	itemsCache.mu.Lock()
	delete(itemsCache.by, c)
	itemsCache.mu.Unlock()
}

// readItems reads every published catalog item from the VM snapshot. A template whose
// definition cannot be decoded is reported, not skipped.
func readItems(ctx context.Context, c *vsphere.Client) (map[string]*Item, error) {
	if _, err := c.CustomFieldKey(ctx, FieldItem); err != nil {
		return nil, err
	}
	vms, err := c.VMs(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]*Item{}
	for _, vm := range vms {
		raw, ok := vm.Custom[FieldItem]
		if !ok || raw == "" || !vm.Template {
			continue // only templates publish items (a clone may carry a copy of the attribute)
		}
		var d Definition
		if err := json.Unmarshal([]byte(raw), &d); err != nil {
			return nil, fmt.Errorf("template %s carries a catalog definition that is not valid JSON: %w", vm.Path, err)
		}
		if prev, dup := out[d.Name]; dup {
			return nil, fmt.Errorf("catalog item %q is published on two templates (%s and %s); remove one", d.Name, prev.TemplatePath, vm.Path)
		}
		out[d.Name] = &Item{Definition: d, TemplateID: vm.ID, TemplatePath: vm.Path}
	}
	return out, nil
}

// Publish stores a definition on a template.
func Publish(ctx context.Context, c *vsphere.Client, templateID string, d Definition) error {
	raw, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return c.SetCustomValue(ctx, templateID, FieldItem, string(raw))
}

// Unpublish removes the definition from a template.
func Unpublish(ctx context.Context, c *vsphere.Client, templateID string) error {
	err := c.SetCustomValue(ctx, templateID, FieldItem, "")
	if vsphere.IsNotFound(err) {
		return nil
	}
	return err
}
