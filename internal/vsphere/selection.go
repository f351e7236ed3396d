package vsphere

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/vapi/tags"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// MatchMode says how the criteria of a selection combine.
type MatchMode string

const (
	// MatchAny selects a VM that meets at least one criterion.
	MatchAny MatchMode = "any"
	// MatchAll selects a VM that meets every criterion.
	MatchAll MatchMode = "all"
)

// MatchModes lists the valid match modes.
func MatchModes() []string { return []string{string(MatchAny), string(MatchAll)} }

// PowerStates lists the valid power states, for validators.
func PowerStates() []string {
	return []string{string(PoweredOn), string(PoweredOff), string(Suspended)}
}

// TemplateFilter says whether a selection keeps templates, ordinary VMs or both.
type TemplateFilter string

const (
	// TemplatesInclude keeps templates and ordinary VMs (the default).
	TemplatesInclude TemplateFilter = "include"
	// TemplatesExclude keeps ordinary VMs only.
	TemplatesExclude TemplateFilter = "exclude"
	// TemplatesOnly keeps templates only.
	TemplatesOnly TemplateFilter = "only"
)

// TemplateFilters lists the valid template filters.
func TemplateFilters() []string {
	return []string{string(TemplatesInclude), string(TemplatesExclude), string(TemplatesOnly)}
}

// TagRef names one vSphere tag by its category and its name.
type TagRef struct {
	Category string
	Name     string
}

func (t TagRef) String() string { return t.Category + "/" + t.Name }

// Criteria are the ways a selection names VMs. Each entry of each list is one criterion.
type Criteria struct {
	// Tags: VMs that carry the tag. A tag that does not exist (yet) matches no VM.
	Tags []TagRef
	// Folders: VMs in the folder (or datacenter), given by managed object ID (group-v42) or
	// inventory path, absolute (/dc1/vm/apps) or relative to the datacenter's VM folder (apps).
	Folders []string
	// Pools: VMs in the resource pool, vApp or cluster (templates are in none), given by managed object ID (resgroup-42,
	// domain-c7) or inventory path, absolute or relative to the datacenter's host folder
	// (prod/Resources/apps).
	Pools []string
	// IDs: VMs by managed object ID (vm-42). An ID that names no VM matches nothing.
	IDs []string
	// DirectOnly restricts Folders and Pools to their direct children; by default a VM in a
	// nested folder or pool matches too.
	DirectOnly bool
	// Match combines the criteria; empty means MatchAny.
	Match MatchMode
}

func (c *Criteria) empty() bool {
	return c == nil || len(c.Tags)+len(c.Folders)+len(c.Pools)+len(c.IDs) == 0
}

// Selection picks VMs: those meeting Include, minus those meeting any criterion of Exclude, then
// kept only when they pass the power state and template filters.
type Selection struct {
	Include Criteria
	// Exclude drops the VMs it matches. Nil or empty excludes nothing.
	Exclude *Criteria
	// PowerStates keeps VMs in one of these states; empty keeps every state.
	PowerStates []PowerState
	// Templates keeps templates, ordinary VMs or both; empty means TemplatesInclude.
	Templates TemplateFilter
	// Also selects the VMs carrying any of these tags whatever Include says: the tag a catalog
	// VM carries for the function its item names (vmgmt-security-group:<name>, say). Exclude and
	// the filters still apply.
	Also []TagRef
}

// SelectedVM is one VM a selection matched.
type SelectedVM struct {
	// ID is the VM's managed object ID.
	ID string
	// Props holds the properties the caller asked for, by property path, as vCenter returns them
	// (govmomi types). A property that is unset on the VM is absent.
	Props map[string]any
}

// Validate reports what makes the selection unusable, naming the field.
func (s Selection) Validate() error {
	if s.Include.empty() && len(s.Also) == 0 {
		return errors.New("a selection needs at least one of tags, folders, pools or ids")
	}
	if err := s.Include.validate("include"); err != nil {
		return err
	}
	if s.Exclude != nil {
		if err := s.Exclude.validate("exclude"); err != nil {
			return err
		}
	}
	for _, p := range s.PowerStates {
		if !contains(PowerStates(), string(p)) {
			return fmt.Errorf("power state %q is not one of %s", p, strings.Join(PowerStates(), ", "))
		}
	}
	if s.Templates != "" && !contains(TemplateFilters(), string(s.Templates)) {
		return fmt.Errorf("templates %q is not one of %s", s.Templates, strings.Join(TemplateFilters(), ", "))
	}
	return nil
}

func (c *Criteria) validate(where string) error {
	if c.Match != "" && !contains(MatchModes(), string(c.Match)) {
		return fmt.Errorf("%s: match %q is not one of %s", where, c.Match, strings.Join(MatchModes(), ", "))
	}
	for _, t := range c.Tags {
		if strings.TrimSpace(t.Category) == "" || strings.TrimSpace(t.Name) == "" {
			return fmt.Errorf("%s: tag %q needs both a category and a name", where, t.String())
		}
	}
	for kind, list := range map[string][]string{"folder": c.Folders, "pool": c.Pools, "id": c.IDs} {
		for _, v := range list {
			if strings.TrimSpace(v) == "" {
				return fmt.Errorf("%s: empty %s", where, kind)
			}
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// The VM properties the selector itself reads, on top of what the caller asks for.
var selectionVMProps = []string{"parent", "resourcePool", "config.template", "runtime.powerState"}

// selectionInventoryKinds are the containers a VM's folder and pool ancestry runs through.
const selectionInventoryKinds = "Datacenter,Folder,ComputeResource,ResourcePool"

// Select resolves the selection and returns the matched VMs, sorted by ID, each with exactly the
// given properties. The cost does not grow with the number of VMs: one property read over
// container views (the views are made once per client), and, when the selection names tags, one
// vAPI call listing the VMs of every tag. The first time a client meets a tag it looks the tag's
// ID up, and a tag that lists no VM costs one more call telling an empty tag from a deleted one.
// The property read and the tag calls run side by side.
func (c *Client) Select(ctx context.Context, sel Selection, props []string) ([]SelectedVM, error) {
	contents, err := c.selectContents(ctx, sel, props)
	if err != nil {
		return nil, err
	}
	out := make([]SelectedVM, 0, len(contents))
	for _, oc := range contents {
		vm := SelectedVM{ID: oc.Obj.Value, Props: make(map[string]any, len(oc.PropSet))}
		for _, p := range oc.PropSet {
			vm.Props[p.Name] = p.Val
		}
		out = append(out, vm)
	}
	return out, nil
}

// SelectInto is Select decoding the matched VMs into dst, a *[]mo.VirtualMachine, for the code of
// this package that reads typed properties.
func (c *Client) SelectInto(ctx context.Context, sel Selection, props []string, dst *[]mo.VirtualMachine) error {
	contents, err := c.selectContents(ctx, sel, props)
	if err != nil {
		return err
	}
	return mo.LoadObjectContent(contents, dst)
}

func (c *Client) selectContents(ctx context.Context, sel Selection, props []string) ([]types.ObjectContent, error) {
	out, errs, err := c.selectEachContents(ctx, []Selection{sel}, props)
	if err != nil {
		return nil, err
	}
	return out[0], errs[0]
}

// SelectEach resolves several selections at the cost of one Select: one property read of every VM
// (and the inventory when any selection names folders or pools), one vAPI call for the tags of all
// of them. A selection that cannot be resolved (invalid, or naming a folder that does not exist)
// gets its error in errs and no VMs; err is for the reads themselves.
func (c *Client) SelectEach(ctx context.Context, sels []Selection, props []string) (vms [][]SelectedVM, errs []error, err error) {
	contents, errs, err := c.selectEachContents(ctx, sels, props)
	if err != nil {
		return nil, nil, err
	}
	vms = make([][]SelectedVM, len(sels))
	for i, list := range contents {
		for _, oc := range list {
			vm := SelectedVM{ID: oc.Obj.Value, Props: make(map[string]any, len(oc.PropSet))}
			for _, p := range oc.PropSet {
				vm.Props[p.Name] = p.Val
			}
			vms[i] = append(vms[i], vm)
		}
	}
	return vms, errs, nil
}

func (c *Client) selectEachContents(ctx context.Context, sels []Selection, props []string) (out [][]types.ObjectContent, errs []error, err error) {
	out, errs = make([][]types.ObjectContent, len(sels)), make([]error, len(sels))
	if len(sels) == 0 {
		return out, errs, nil
	}
	var all Selection
	inventory := false
	for i, sel := range sels {
		if errs[i] = sel.Validate(); errs[i] != nil {
			errs[i] = fmt.Errorf("invalid VM selection: %w", errs[i])
			continue
		}
		all.Include.Tags = append(all.Include.Tags, sel.tagRefs()...)
		inventory = inventory || sel.needsInventory()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type tagAnswer struct {
		members map[TagRef]map[string]bool
		err     error
	}
	tagCh := make(chan tagAnswer, 1)
	go func() {
		m, err := c.taggedVMs(ctx, all.tagRefs())
		tagCh <- tagAnswer{m, err}
	}()
	snap, err := c.selectionSnapshot(ctx, props, inventory)
	tagged := <-tagCh
	if err != nil {
		return nil, nil, err
	}
	if tagged.err != nil {
		return nil, nil, tagged.err
	}
	r := &resolver{snap: snap, tagged: tagged.members, dcPath: c.knownDatacenterPath()}
	keepProps := map[string]bool{}
	for _, p := range props {
		keepProps[p] = true
	}
	for i := range sels {
		if errs[i] == nil {
			out[i], errs[i] = r.selectOne(&sels[i], c.cfg.Datacenter, keepProps)
		}
	}
	return out, errs, nil
}

// selectOne picks one selection's VMs, sorted by ID, from the snapshot, each with the kept
// properties.
func (r *resolver) selectOne(sel *Selection, dc string, keepProps map[string]bool) ([]types.ObjectContent, error) {
	include, err := r.compile(&sel.Include, "include", dc)
	if err != nil {
		return nil, err
	}
	var exclude *compiled
	if !sel.Exclude.empty() {
		if exclude, err = r.compile(sel.Exclude, "exclude", dc); err != nil {
			return nil, err
		}
	}
	var out []types.ObjectContent
	for i := range r.snap.vms {
		vm := &r.snap.vms[i]
		if !sel.passesFilters(vm) || !(r.matches(include, vm) || r.taggedAny(sel.Also, vm)) || (exclude != nil && r.matches(exclude, vm)) {
			continue
		}
		oc := types.ObjectContent{Obj: vm.content.Obj}
		for _, p := range vm.content.PropSet {
			if keepProps[p.Name] {
				oc.PropSet = append(oc.PropSet, p)
			}
		}
		out = append(out, oc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Obj.Value < out[j].Obj.Value })
	return out, nil
}

// tagRefs lists each tag the selection names once, include and exclude together, so one vAPI
// call answers for all of them.
func (s Selection) tagRefs() []TagRef {
	seen := map[TagRef]bool{}
	var out []TagRef
	add := func(c *Criteria) {
		if c == nil {
			return
		}
		for _, t := range c.Tags {
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	add(&s.Include)
	add(s.Exclude)
	add(&Criteria{Tags: s.Also})
	return out
}

func (s Selection) needsInventory() bool {
	need := func(c *Criteria) bool { return c != nil && len(c.Folders)+len(c.Pools) > 0 }
	return need(&s.Include) || need(s.Exclude)
}

func (s Selection) passesFilters(vm *selVM) bool {
	switch s.Templates {
	case TemplatesExclude:
		if vm.template {
			return false
		}
	case TemplatesOnly:
		if !vm.template {
			return false
		}
	}
	if len(s.PowerStates) == 0 {
		return true
	}
	for _, p := range s.PowerStates {
		if string(p) == vm.powerState {
			return true
		}
	}
	return false
}

// selVM is one VM as the selector sees it.
type selVM struct {
	content    types.ObjectContent
	parent     string // folder ID, empty for a VM in a vApp
	pool       string // resource pool or vApp ID
	template   bool
	powerState string
}

// invNode is one container of the inventory: datacenter, folder, compute resource or pool.
type invNode struct {
	kind, name, parent string
}

// selSnapshot is what one property read returns: every VM with its requested properties, and,
// when folders or pools are named, every container with its name and parent.
type selSnapshot struct {
	vms   []selVM
	nodes map[string]invNode
}

// selectionSnapshot reads every VM and, with inventory, every container, in one
// RetrievePropertiesEx over container views (plus its continuations on a server that pages).
func (c *Client) selectionSnapshot(ctx context.Context, props []string, inventory bool) (*selSnapshot, error) {
	vmProps := append(append([]string(nil), props...), selectionVMProps...)
	var snap *selSnapshot
	err := c.withView(ctx, "VirtualMachine", func(vmView *view.ContainerView) error {
		views := []types.ManagedObjectReference{vmView.Reference()}
		if !inventory {
			var err error
			snap, err = c.retrieveSelection(ctx, views, vmProps, false)
			return err
		}
		return c.withView(ctx, selectionInventoryKinds, func(inv *view.ContainerView) error {
			var err error
			snap, err = c.retrieveSelection(ctx, append(views, inv.Reference()), vmProps, true)
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("reading the VMs of a selection: %w", err)
	}
	return snap, nil
}

func (c *Client) retrieveSelection(ctx context.Context, views []types.ManagedObjectReference, vmProps []string, inventory bool) (*selSnapshot, error) {
	spec := types.PropertyFilterSpec{PropSet: []types.PropertySpec{{Type: "VirtualMachine", PathSet: dedupe(vmProps)}}}
	for _, v := range views {
		spec.ObjectSet = append(spec.ObjectSet, types.ObjectSpec{
			Obj:       v,
			Skip:      types.NewBool(true),
			SelectSet: []types.BaseSelectionSpec{&types.TraversalSpec{Type: "ContainerView", Path: "view"}},
		})
	}
	if inventory {
		for _, kind := range strings.Split(selectionInventoryKinds, ",") {
			spec.PropSet = append(spec.PropSet, types.PropertySpec{Type: kind, PathSet: []string{"name", "parent"}})
		}
	}
	res, err := property.DefaultCollector(c.vim).RetrieveProperties(ctx, types.RetrieveProperties{SpecSet: []types.PropertyFilterSpec{spec}})
	if err != nil {
		return nil, err
	}
	snap := &selSnapshot{nodes: map[string]invNode{}}
	for _, oc := range res.Returnval {
		if oc.Obj.Type == "VirtualMachine" {
			snap.vms = append(snap.vms, newSelVM(oc))
			continue
		}
		n := invNode{kind: oc.Obj.Type}
		for _, p := range oc.PropSet {
			switch p.Name {
			case "name":
				n.name, _ = p.Val.(string)
			case "parent":
				if ref, ok := p.Val.(types.ManagedObjectReference); ok {
					n.parent = ref.Value
				}
			}
		}
		snap.nodes[oc.Obj.Value] = n
	}
	return snap, nil
}

func newSelVM(oc types.ObjectContent) selVM {
	vm := selVM{content: oc}
	for _, p := range oc.PropSet {
		switch p.Name {
		case "parent":
			if ref, ok := p.Val.(types.ManagedObjectReference); ok {
				vm.parent = ref.Value
			}
		case "resourcePool":
			if ref, ok := p.Val.(types.ManagedObjectReference); ok {
				vm.pool = ref.Value
			}
		case "config.template":
			vm.template, _ = p.Val.(bool)
		case "runtime.powerState":
			if ps, ok := p.Val.(types.VirtualMachinePowerState); ok {
				vm.powerState = string(ps)
			}
		}
	}
	return vm
}

func dedupe(list []string) []string {
	seen := map[string]bool{}
	out := list[:0:0]
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// knownDatacenterPath is the inventory path of the datacenter this client already resolved, or
// empty: relative paths are otherwise resolved from the snapshot, without a call.
func (c *Client) knownDatacenterPath() string {
	c.dcMu.Lock()
	defer c.dcMu.Unlock()
	if c.dc != nil {
		return c.dc.InventoryPath
	}
	return ""
}

// resolver evaluates criteria against one snapshot.
type resolver struct {
	snap   *selSnapshot
	tagged map[TagRef]map[string]bool
	dcPath string
	paths  map[string]string // inventory path -> ID, built on first use
}

// compiled is a Criteria whose folders and pools are resolved to IDs.
type compiled struct {
	c       *Criteria
	folders []string
	pools   []string
	ids     map[string]bool
}

func (r *resolver) compile(c *Criteria, where, dcName string) (*compiled, error) {
	out := &compiled{c: c, ids: map[string]bool{}}
	for _, id := range c.IDs {
		out.ids[strings.TrimSpace(id)] = true
	}
	for _, f := range c.Folders {
		id, err := r.container(f, "folder", "vm", dcName, "Folder", "Datacenter")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		out.folders = append(out.folders, id)
	}
	for _, p := range c.Pools {
		id, err := r.container(p, "resource pool", "host", dcName, "ResourcePool", "VirtualApp", "ComputeResource", "ClusterComputeResource")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		out.pools = append(out.pools, id)
	}
	return out, nil
}

// container resolves a folder or pool reference (ID or path) to the ID of a container of one of
// the given kinds. base is the datacenter folder relative paths start in ("vm" or "host").
func (r *resolver) container(ref, what, base, dcName string, kinds ...string) (string, error) {
	ref = strings.TrimSpace(ref)
	id := ref
	n, ok := r.snap.nodes[id]
	// A name such as "web-01" reads like an ID; not found as one, it is taken as a relative path.
	if !ok || IsInventoryPath(ref) {
		p, err := r.absolute(ref, base, dcName)
		if err != nil {
			return "", fmt.Errorf("%s %q: %w", what, ref, err)
		}
		if id, ok = r.pathIndex()[p]; !ok {
			return "", fmt.Errorf("%w: no object has that ID, and nothing is at %s; check the path, or give the managed object ID", notFound(what, ref, nil), p)
		}
		n = r.snap.nodes[id]
	}
	if !contains(kinds, n.kind) {
		return "", fmt.Errorf("%s %q is a %s, not a %s", what, ref, n.kind, what)
	}
	return id, nil
}

func (r *resolver) absolute(p, base, dcName string) (string, error) {
	if strings.HasPrefix(p, "/") {
		return path.Clean(p), nil
	}
	dc, err := r.datacenterPath(dcName)
	if err != nil {
		return "", err
	}
	if strings.HasPrefix(p, base+"/") {
		return path.Join(dc, p), nil
	}
	return path.Join(dc, base, p), nil
}

// datacenterPath is the path relative references start from: the configured datacenter, or the
// only one of the inventory.
func (r *resolver) datacenterPath(dcName string) (string, error) {
	if r.dcPath != "" {
		return r.dcPath, nil
	}
	if dcName != "" {
		if strings.HasPrefix(dcName, "/") {
			return path.Clean(dcName), nil
		}
		for id, n := range r.snap.nodes {
			if n.kind == "Datacenter" && n.name == dcName {
				return r.pathOf(id), nil
			}
		}
		return "", notFound("datacenter", dcName, nil)
	}
	var found []string
	for id, n := range r.snap.nodes {
		if n.kind == "Datacenter" {
			found = append(found, r.pathOf(id))
		}
	}
	if len(found) != 1 {
		return "", fmt.Errorf("a relative path needs one datacenter, and the inventory has %d: give an absolute path or set the provider's datacenter", len(found))
	}
	return found[0], nil
}

// pathOf is the inventory path of a container: its ancestors' names up to the root folder (which
// the views do not hold).
func (r *resolver) pathOf(id string) string {
	var names []string
	for n, ok := r.snap.nodes[id]; ok; n, ok = r.snap.nodes[n.parent] {
		names = append(names, n.name)
	}
	for i, j := 0, len(names)-1; i < j; i, j = i+1, j-1 {
		names[i], names[j] = names[j], names[i]
	}
	return "/" + strings.Join(names, "/")
}

func (r *resolver) pathIndex() map[string]string {
	if r.paths == nil {
		r.paths = make(map[string]string, len(r.snap.nodes))
		for id := range r.snap.nodes {
			r.paths[r.pathOf(id)] = id
		}
	}
	return r.paths
}

// matches tells whether vm meets the criteria: one criterion (any) or every one (all).
func (r *resolver) matches(c *compiled, vm *selVM) bool {
	all := c.c.Match == MatchAll
	results := make([]bool, 0, len(c.c.Tags)+len(c.folders)+len(c.pools)+len(c.ids))
	for _, t := range c.c.Tags {
		results = append(results, r.tagged[t][vm.content.Obj.Value])
	}
	for _, f := range c.folders {
		results = append(results, r.inFolder(vm, f, c.c.DirectOnly))
	}
	for _, p := range c.pools {
		results = append(results, r.inPool(vm, p, c.c.DirectOnly))
	}
	for id := range c.ids {
		results = append(results, vm.content.Obj.Value == id)
	}
	for _, ok := range results {
		if ok && !all {
			return true
		}
		if !ok && all {
			return false
		}
	}
	return all && len(results) > 0
}

// taggedAny tells whether vm carries one of the tags.
func (r *resolver) taggedAny(refs []TagRef, vm *selVM) bool {
	for _, t := range refs {
		if r.tagged[t][vm.content.Obj.Value] {
			return true
		}
	}
	return false
}

func (r *resolver) inFolder(vm *selVM, folder string, direct bool) bool {
	if direct {
		return vm.parent == folder
	}
	return r.under(vm.parent, folder)
}

// inPool: a cluster or host stands for its root pool.
func (r *resolver) inPool(vm *selVM, pool string, direct bool) bool {
	if !direct {
		return r.under(vm.pool, pool)
	}
	if vm.pool == pool {
		return true
	}
	n := r.snap.nodes[pool]
	return (n.kind == "ComputeResource" || n.kind == "ClusterComputeResource") && r.snap.nodes[vm.pool].parent == pool
}

// under tells whether id is ancestor or id itself.
func (r *resolver) under(id, ancestor string) bool {
	for depth := 0; id != "" && depth < 1000; depth++ {
		if id == ancestor {
			return true
		}
		id = r.snap.nodes[id].parent
	}
	return false
}

// taggedVMs returns, for each tag, the IDs of the VMs that carry it, in one vAPI call (after the
// tags' IDs are known). Tags that do not exist carry nothing.
func (c *Client) taggedVMs(ctx context.Context, refs []TagRef) (map[TagRef]map[string]bool, error) {
	return c.taggedObjects(ctx, refs, "VirtualMachine")
}

// taggedObjects is taggedVMs for the objects of one managed object type (kind), e.g. HostSystem.
func (c *Client) taggedObjects(ctx context.Context, refs []TagRef, kind string) (map[TagRef]map[string]bool, error) {
	out := map[TagRef]map[string]bool{}
	what := map[string]string{"VirtualMachine": "VMs", "HostSystem": "hosts"}[kind]
	if what == "" {
		what = kind + " objects"
	}
	if len(refs) == 0 {
		return out, nil
	}
	err := c.withREST(ctx, func(rc *rest.Client) error {
		m := tags.NewManager(rc)
		ids, cached, err := c.selectionTagIDs(ctx, m, refs)
		if err != nil {
			return err
		}
		if err := listTagged(ctx, m, ids, kind, out); err != nil {
			return fmt.Errorf("listing the %s tagged %s: %w", what, tagList(refs), err)
		}
		// vCenter answers an ID it does not know with no objects: a cached ID that listed none may
		// be of a tag deleted (and perhaps made again) since; those are looked up afresh.
		stale, err := staleTags(ctx, m, ids, cached, out)
		if err != nil || len(stale) == 0 {
			return err
		}
		c.forgetTagIDs(stale)
		if ids, _, err = c.selectionTagIDs(ctx, m, stale); err != nil {
			return err
		}
		if err := listTagged(ctx, m, ids, kind, out); err != nil {
			return fmt.Errorf("listing the %s tagged %s: %w", what, tagList(stale), err)
		}
		return nil
	})
	return out, err
}

// listTagged lists the objects of the tags ids (tag ID -> tag) in one call and records those of
// type kind.
func listTagged(ctx context.Context, m *tags.Manager, ids map[string]TagRef, kind string, out map[TagRef]map[string]bool) error {
	if len(ids) == 0 {
		return nil
	}
	list := make([]string, 0, len(ids))
	for id := range ids {
		list = append(list, id)
	}
	sort.Strings(list)
	attached, err := m.ListAttachedObjectsOnTags(ctx, list)
	if err != nil {
		return err
	}
	for _, a := range attached {
		ref, ok := ids[a.TagID]
		if !ok {
			continue
		}
		set := map[string]bool{}
		for _, o := range a.ObjectIDs {
			if o.Reference().Type == kind {
				set[o.Reference().Value] = true
			}
		}
		out[ref] = set
	}
	return nil
}

// staleTags returns the tags whose cached ID listed no VM and is no longer a tag's: one more call,
// listing every tag ID, and only when a cached tag listed no VM.
func staleTags(ctx context.Context, m *tags.Manager, ids map[string]TagRef, cached map[string]bool, out map[TagRef]map[string]bool) ([]TagRef, error) {
	var suspects []string
	for id, ref := range ids {
		if cached[id] && len(out[ref]) == 0 {
			suspects = append(suspects, id)
		}
	}
	if len(suspects) == 0 {
		return nil, nil
	}
	all, err := m.ListTags(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing tags: %w", err)
	}
	exists := make(map[string]bool, len(all))
	for _, id := range all {
		exists[id] = true
	}
	var stale []TagRef
	for _, id := range suspects {
		if !exists[id] {
			stale = append(stale, ids[id])
		}
	}
	sort.Slice(stale, func(i, j int) bool { return stale[i].String() < stale[j].String() })
	return stale, nil
}

func tagList(refs []TagRef) string {
	s := make([]string, len(refs))
	for i, r := range refs {
		s[i] = r.String()
	}
	return strings.Join(s, ", ")
}

// selectionTagIDs maps tag ID -> tag for the tags that exist, using and filling the client's
// name -> ID cache; cached says which IDs came from the cache. Unlike the tag writers, it never
// creates a category or tag.
func (c *Client) selectionTagIDs(ctx context.Context, m *tags.Manager, refs []TagRef) (ids map[string]TagRef, cached map[string]bool, err error) {
	c.rest.lookupMu.Lock()
	defer c.rest.lookupMu.Unlock()
	ids, cached = map[string]TagRef{}, map[string]bool{}
	for _, ref := range refs {
		c.rest.mu.Lock()
		id, ok := c.rest.tagIDs[ref.Category][ref.Name]
		catID, catOK := c.rest.categories[ref.Category]
		c.rest.mu.Unlock()
		if ok {
			ids[id], cached[id] = ref, true
			continue
		}
		if catOK {
			id, err = findTag(ctx, m, catID, ref)
			if err != nil || id == "" {
				// The cached category may be gone (deleted, or made again; vCenter lists no tags
				// for an ID it does not know): look it up afresh.
				catOK = false
			}
		}
		if !catOK {
			if catID, err = findCategory(ctx, m, ref.Category); err != nil {
				return nil, nil, err
			}
			if catID == "" {
				continue
			}
			if id, err = findTag(ctx, m, catID, ref); err != nil {
				return nil, nil, err
			}
		}
		c.rememberTag(ref, catID, id)
		if id != "" {
			ids[id] = ref
		}
	}
	return ids, cached, nil
}

func (c *Client) rememberTag(ref TagRef, catID, tagID string) {
	c.rest.mu.Lock()
	defer c.rest.mu.Unlock()
	if c.rest.categories == nil {
		c.rest.categories = map[string]string{}
	}
	c.rest.categories[ref.Category] = catID
	if tagID == "" {
		return
	}
	if c.rest.tagIDs == nil {
		c.rest.tagIDs = map[string]map[string]string{}
	}
	if c.rest.tagIDs[ref.Category] == nil {
		c.rest.tagIDs[ref.Category] = map[string]string{}
	}
	c.rest.tagIDs[ref.Category][ref.Name] = tagID
}

func (c *Client) forgetTagIDs(refs []TagRef) {
	c.rest.mu.Lock()
	defer c.rest.mu.Unlock()
	for _, ref := range refs {
		delete(c.rest.categories, ref.Category)
		delete(c.rest.tagIDs, ref.Category)
	}
}

// findCategory returns the ID of the category with this name, or "" when there is none.
func findCategory(ctx context.Context, m *tags.Manager, name string) (string, error) {
	ids, err := m.ListCategories(ctx)
	if err != nil {
		return "", fmt.Errorf("listing tag categories: %w", err)
	}
	for _, id := range ids {
		cat, err := m.GetCategory(ctx, id)
		if err != nil {
			return "", fmt.Errorf("reading tag category %s: %w", id, err)
		}
		if cat.Name == name {
			return cat.ID, nil
		}
	}
	return "", nil
}

// findTag returns the ID of the tag with this name in the category, or "" when there is none.
func findTag(ctx context.Context, m *tags.Manager, catID string, ref TagRef) (string, error) {
	ids, err := m.ListTagsForCategory(ctx, catID)
	if err != nil {
		return "", fmt.Errorf("listing the tags of category %s: %w", ref.Category, err)
	}
	for _, id := range ids {
		t, err := m.GetTag(ctx, id)
		if err != nil {
			return "", fmt.Errorf("reading tag %s: %w", id, err)
		}
		if t.Name == ref.Name {
			return t.ID, nil
		}
	}
	return "", nil
}
