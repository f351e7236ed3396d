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
	"strings"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// Custom attribute and extraConfig keys vmgmt uses for the catalog. The item definition lives on
// its template VM, so the catalog is visible in vCenter outside any Terraform state.
const (
	// FieldItem is the custom attribute on a template holding its catalog item definition (JSON).
	FieldItem = "vmgmt.catalog.item"
	// FieldLibraryItems is the custom attribute on the datacenter holding the definitions of the
	// items made from content library items (JSON, by item name): a library item is not a
	// managed object and carries no custom attributes of its own.
	FieldLibraryItems = "vmgmt.catalog.library-items"

	// LibraryPrefix marks a template reference as a content library item: library:<library>/<item>
	// or library:<item ID>.
	LibraryPrefix = "library:"

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
	// Tag categories composing a catalog VM with the other management functions: the item's
	// defaults, attached at birth.
	TagBaseline      = "vmgmt-baseline"
	TagSecurityGroup = "vmgmt-security-group"
	TagBackupJob     = "vmgmt-backup-job"
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
	// Request is the token of the request that published the item (vsphere.Request), so that a
	// create interrupted after publishing adopts it on the rerun.
	Request string `json:"request,omitempty"`
}

// itemRequest identifies the publishing of an item: its name on its template.
func itemRequest(name, templateID string) vsphere.Request {
	return vsphere.NewRequest("vmgmt_catalog_item", name, templateID)
}

// Item is a published definition together with the template that carries it.
type Item struct {
	Definition
	// TemplateID is the template VM's managed object ID, or the content library item's ID.
	TemplateID string
	// TemplatePath is the template VM's inventory path, or library:<library>/<item>.
	TemplatePath string
	// Library says the item deploys a content library item rather than cloning a template VM.
	Library bool
	// reservationUnknown marks an item planned in this process whose capacity reservation is not
	// known until apply (created in the same apply).
	reservationUnknown bool
}

// TemplateType names the kind of template for users: "template_vm" or "library_item".
func (it *Item) TemplateType() string { return templateType(it.Library) }

func templateType(library bool) string {
	if library {
		return templateTypeLibrary
	}
	return templateTypeVM
}

const (
	templateTypeVM      = "template_vm"
	templateTypeLibrary = "library_item"
)

// libraryRecord is one entry of FieldLibraryItems.
type libraryRecord struct {
	ItemID     string     `json:"library_item_id"`
	ItemPath   string     `json:"library_item"`
	Definition Definition `json:"definition"`
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

// Items returns every published catalog item. It is read from the VM snapshot (no extra round
// trip) and then kept by the client until it publishes or unpublishes an item (a custom attribute
// write), vsphere.VMSnapshotMaxAge passes (changes made elsewhere), or a new command starts. VM
// creates make the VM snapshot stale, but not the catalog.
func Items(ctx context.Context, c *vsphere.Client) (map[string]*Item, error) {
	v, err := c.Cached(ctx, itemsKey, vsphere.VMSnapshotMaxAge, vsphere.CustomValueWrites, func(ctx context.Context) (any, error) {
		return readItems(ctx, c)
	})
	if err != nil {
		return nil, err
	}
	return v.(map[string]*Item), nil
}

// itemsKey is the published catalog's entry in the client's caches.
const itemsKey = "catalog items"

// InvalidateItems drops the cached catalog of a client, for readers that must see changes made
// elsewhere at once.
func InvalidateItems(c *vsphere.Client) { c.Forget(itemsKey) }

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
		if _, err := vsphere.DecodeRecord(raw, &d); err != nil {
			return nil, fmt.Errorf("template %s carries a catalog definition that cannot be read (%w): fix or clear its custom attribute %s", vm.Path, err, FieldItem)
		}
		if prev, dup := out[d.Name]; dup {
			return nil, fmt.Errorf("catalog item %q is published on two templates (%s and %s); remove one", d.Name, prev.TemplatePath, vm.Path)
		}
		out[d.Name] = &Item{Definition: d, TemplateID: vm.ID, TemplatePath: vm.Path}
	}
	records, err := libraryRecords(ctx, c, false)
	if err != nil {
		return nil, err
	}
	for name, rec := range records {
		if prev, dup := out[name]; dup {
			return nil, fmt.Errorf("catalog item %q is published on template %s and on content library item %s; remove one", name, prev.TemplatePath, rec.ItemPath)
		}
		rec.Definition.Name = name
		out[name] = &Item{Definition: rec.Definition, TemplateID: rec.ItemID, TemplatePath: LibraryPrefix + rec.ItemPath, Library: true}
	}
	return out, nil
}

// libraryRecords reads the definitions of the library-backed items from the datacenter: from the
// VM snapshot, or read now (fresh) before changing them.
func libraryRecords(ctx context.Context, c *vsphere.Client, fresh bool) (map[string]libraryRecord, error) {
	raw, err := c.DatacenterRecords(ctx, FieldLibraryItems, fresh)
	if err != nil {
		return nil, err
	}
	return decodeLibraryRecords(raw)
}

func decodeLibraryRecords(raw map[string]json.RawMessage) (map[string]libraryRecord, error) {
	out := make(map[string]libraryRecord, len(raw))
	for name, r := range raw {
		var rec libraryRecord
		if err := json.Unmarshal(r, &rec); err != nil {
			return nil, fmt.Errorf("the datacenter's custom attribute %s holds a record %q that cannot be read (fix or clear it in vCenter): %w", FieldLibraryItems, name, err)
		}
		out[name] = rec
	}
	return out, nil
}

// itemFormat is the format of the item records written now (vsphere's record envelope); format 1
// is the bare definition written before it.
const itemFormat = 2

// changeLibraryRecords applies change to the library-backed definitions through the record
// store's read-modify-write.
func changeLibraryRecords(ctx context.Context, c *vsphere.Client, change func(map[string]libraryRecord)) error {
	return c.ChangeDatacenterRecords(ctx, FieldLibraryItems, itemFormat,
		func(raw map[string]json.RawMessage) error {
			records, err := decodeLibraryRecords(raw)
			if err != nil {
				return err
			}
			change(records)
			clear(raw)
			for name, rec := range records {
				b, err := json.Marshal(rec)
				if err != nil {
					return err
				}
				raw[name] = b
			}
			return nil
		})
}

// Publish stores a definition on its template: a template VM's custom attribute, or the
// datacenter's record of library-backed items.
func Publish(ctx context.Context, c *vsphere.Client, src *Source, d Definition) error {
	d.Request = itemRequest(d.Name, src.ID).Token
	if src.Library != nil {
		rec := libraryRecord{ItemID: src.ID, ItemPath: src.Library.Path, Definition: d}
		return changeLibraryRecords(ctx, c,
			func(records map[string]libraryRecord) { records[d.Name] = rec })
	}
	return c.PutVMRecord(ctx, src.ID, FieldItem, itemFormat, d)
}

// Unpublish removes item name from its template (a template VM's ID, or a library item's).
func Unpublish(ctx context.Context, c *vsphere.Client, name, templateID string, library bool) error {
	if library {
		ours := func(records map[string]libraryRecord) bool {
			r, ok := records[name]
			return ok && r.ItemID == templateID
		}
		return changeLibraryRecords(ctx, c,
			func(records map[string]libraryRecord) {
				if ours(records) {
					delete(records, name)
				}
			})
	}
	err := c.PutVMRecord(ctx, templateID, FieldItem, itemFormat, nil)
	if vsphere.IsNotFound(err) {
		return nil
	}
	return err
}

// Source is what an item makes VMs from: a template VM, or a content library item.
type Source struct {
	ID   string // the template VM's managed object ID, or the library item's ID
	Path string // the template VM's inventory path, or library:<library>/<item>
	// VM is the template VM (nil for a library item).
	VM *vsphere.VM
	// Library is the content library item (nil for a template VM).
	Library *vsphere.LibraryItem
}

// Type is "template_vm" or "library_item".
func (s *Source) Type() string { return templateType(s.Library != nil) }

// Facts describes the source for policy input.
func (s *Source) Facts() map[string]any {
	if s.VM == nil {
		return map[string]any{"id": s.ID, "path": s.Path, "type": s.Type(), "library_item_type": s.Library.Type}
	}
	vm := s.VM
	return map[string]any{"id": vm.ID, "path": vm.Path, "type": s.Type(), "cpus": int64(vm.CPUs), "memory_mb": vm.MemoryMB, "disk_gb": vm.DiskGB}
}

// FindSource resolves a template reference: a template VM (inventory path, managed object ID or
// UUID), or with LibraryPrefix a content library item (<library>/<item> or item ID).
func FindSource(ctx context.Context, c *vsphere.Client, ref string) (*Source, error) {
	if lib, ok := strings.CutPrefix(strings.TrimSpace(ref), LibraryPrefix); ok {
		it, err := c.FindLibraryItem(ctx, lib)
		if err != nil {
			return nil, err
		}
		return &Source{ID: it.ID, Path: LibraryPrefix + it.Path, Library: it}, nil
	}
	vm, err := c.FindVM(ctx, ref)
	if err != nil {
		return nil, err
	}
	return &Source{ID: vm.ID, Path: vm.Path, VM: vm}, nil
}
