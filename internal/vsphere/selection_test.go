package vsphere

import (
	"context"
	"fmt"
	"net/url"
	"path"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/vapi/tags"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

// The selection fixture, on the shared simulator, in folders and pools of its own:
//
//	folders  /dc1/vm/sel                  pools  prod/Resources/selpool
//	         /dc1/vm/sel/inner                   prod/Resources/selpool/child
//	         /dc1/vm/sel/inner/deep
//	         /dc1/vm/app-7 (empty)
//
//	VM        folder           pool                 power   template  tags
//	s-top     sel              (cluster root)       on      no        tier/tier-1
//	s-inner   sel/inner        selpool              off     no        tier/tier-1, environment/production
//	s-deep    sel/inner/deep   selpool/child        on      no        environment/production
//	s-tmpl    sel              (none: a template)   off     yes       -
const (
	selFolder = "sel"
	selInner  = "sel/inner"
	selDeep   = "sel/inner/deep"
	selIDLike = "app-7" // an empty folder whose name reads like a managed object ID
	selPool   = "prod/Resources/selpool"
	selChild  = "prod/Resources/selpool/child"
)

var (
	tier1      = TagRef{Category: "tier", Name: "tier-1"}
	production = TagRef{Category: "environment", Name: "production"}
	gold       = TagRef{Category: "backup-policy", Name: "gold"}
	// The seeded VMs, none tagged, none in the sel folders.
	seededWorkloads = simulator.Workloads
)

var selFix struct {
	once sync.Once
	ids  map[string]string // VM name -> ID
	err  error
}

// selectionSim returns the fixture's simulator and the fixture VMs' IDs by name.
func selectionSim(t *testing.T) (*simulator.Sim, map[string]string) {
	t.Helper()
	sim := sharedSim(t)
	selFix.once.Do(func() { selFix.ids, selFix.err = buildSelectionFixture(context.Background(), sim) })
	if selFix.err != nil {
		t.Fatalf("selection fixture: %v", selFix.err)
	}
	return sim, selFix.ids
}

func buildSelectionFixture(ctx context.Context, sim *simulator.Sim) (map[string]string, error) {
	gc, err := sim.Connect(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = gc.Logout(ctx) }()
	f := find.NewFinder(gc.Client, false)
	dc, err := f.Datacenter(ctx, simulator.Datacenter)
	if err != nil {
		return nil, err
	}
	f.SetDatacenter(dc)
	folders, err := fixtureFolders(ctx, f)
	if err != nil {
		return nil, err
	}
	pools, err := fixturePools(ctx, f)
	if err != nil {
		return nil, err
	}
	rc := rest.NewClient(gc.Client)
	if err := rc.Login(ctx, simUser(sim)); err != nil {
		return nil, err
	}
	defer func() { _ = rc.Logout(ctx) }()
	fx := &fixtureMaker{f: f, tm: tags.NewManager(rc), folders: folders}
	defs := []fixtureVM{
		{"s-top", selFolder, pools[""], true, false, []TagRef{tier1}},
		{"s-inner", selInner, pools[selPool], false, false, []TagRef{tier1, production}},
		{"s-deep", selDeep, pools[selChild], true, false, []TagRef{production}},
		{"s-tmpl", selFolder, pools[selPool], false, true, nil},
	}
	ids := map[string]string{}
	for _, d := range defs {
		if ids[d.name], err = fx.vm(ctx, d); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// fixtureFolders makes the fixture's folders, by path relative to the VM folder.
func fixtureFolders(ctx context.Context, f *find.Finder) (map[string]*object.Folder, error) {
	vmFolder, err := f.Folder(ctx, "/dc1/vm")
	if err != nil {
		return nil, err
	}
	folders := map[string]*object.Folder{}
	parent := vmFolder
	for _, p := range []string{selFolder, selInner, selDeep} {
		fo, err := parent.CreateFolder(ctx, path.Base(p))
		if err != nil {
			return nil, fmt.Errorf("creating folder %s: %w", p, err)
		}
		folders[p], parent = fo, fo
	}
	if _, err := vmFolder.CreateFolder(ctx, selIDLike); err != nil {
		return nil, err
	}
	return folders, nil
}

// fixturePools makes the fixture's pools; "" is the cluster's root pool.
func fixturePools(ctx context.Context, f *find.Finder) (map[string]*object.ResourcePool, error) {
	root, err := f.ResourcePool(ctx, simulator.RootPoolPath)
	if err != nil {
		return nil, err
	}
	alloc := types.ResourceAllocationInfo{Reservation: types.NewInt64(0), Limit: types.NewInt64(-1), ExpandableReservation: types.NewBool(true), Shares: &types.SharesInfo{Level: types.SharesLevelNormal}}
	spec := types.ResourceConfigSpec{CpuAllocation: alloc, MemoryAllocation: alloc}
	pool, err := root.Create(ctx, path.Base(selPool), spec)
	if err != nil {
		return nil, err
	}
	child, err := pool.Create(ctx, path.Base(selChild), spec)
	if err != nil {
		return nil, err
	}
	return map[string]*object.ResourcePool{"": root, selPool: pool, selChild: child}, nil
}

// fixtureVM is one VM of the fixture.
type fixtureVM struct {
	name   string
	folder string
	pool   *object.ResourcePool
	on     bool
	tmpl   bool
	tags   []TagRef
}

type fixtureMaker struct {
	f       *find.Finder
	tm      *tags.Manager
	folders map[string]*object.Folder
}

// vm creates, powers and tags one fixture VM and returns its ID.
func (fx *fixtureMaker) vm(ctx context.Context, d fixtureVM) (string, error) {
	ds, err := fx.f.DefaultDatastore(ctx)
	if err != nil {
		return "", err
	}
	task, err := fx.folders[d.folder].CreateVM(ctx, types.VirtualMachineConfigSpec{
		Name: d.name, GuestId: "otherGuest64", NumCPUs: 1, MemoryMB: 512,
		Files: &types.VirtualMachineFileInfo{VmPathName: fmt.Sprintf("[%s]", ds.Name())},
	}, d.pool, nil)
	if err != nil {
		return "", err
	}
	info, err := task.WaitForResult(ctx)
	if err != nil {
		return "", fmt.Errorf("creating %s: %w", d.name, err)
	}
	vm := object.NewVirtualMachine(task.Client(), info.Result.(types.ManagedObjectReference))
	if d.on {
		if task, err = vm.PowerOn(ctx); err == nil {
			err = task.Wait(ctx)
		}
	}
	if d.tmpl {
		err = vm.MarkAsTemplate(ctx)
	}
	if err != nil {
		return "", fmt.Errorf("shaping %s: %w", d.name, err)
	}
	for _, tg := range d.tags {
		if err := attachTag(ctx, fx.tm, tg, vm.Reference()); err != nil {
			return "", err
		}
	}
	return vm.Reference().Value, nil
}

func attachTag(ctx context.Context, tm *tags.Manager, tg TagRef, ref types.ManagedObjectReference) error {
	cat, err := tm.GetCategory(ctx, tg.Category)
	if err != nil {
		return err
	}
	t, err := tm.GetTagForCategory(ctx, tg.Name, cat.ID)
	if err != nil {
		return err
	}
	return tm.AttachTag(ctx, t.ID, ref)
}

// names runs Select and returns the names of the VMs it matched, sorted.
func names(t *testing.T, c *Client, sel Selection) []string {
	t.Helper()
	vms, err := c.Select(context.Background(), sel, []string{"name"})
	if err != nil {
		t.Fatalf("Select(%+v): %v", sel, err)
	}
	out := make([]string, 0, len(vms))
	for _, vm := range vms {
		n, _ := vm.Props["name"].(string)
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func list(s ...string) []string {
	sort.Strings(s)
	if s == nil {
		return []string{}
	}
	return s
}

func TestSelectEachCriterion(t *testing.T) {
	sim, ids := selectionSim(t)
	c := connect(t, sim)
	cases := []struct {
		name string
		inc  Criteria
		want []string
	}{
		{"tag", Criteria{Tags: []TagRef{tier1}}, list("s-top", "s-inner")},
		{"tag nobody carries", Criteria{Tags: []TagRef{gold}}, list()},
		{"tag that does not exist", Criteria{Tags: []TagRef{{Category: "tier", Name: "tier-9"}}}, list()},
		{"category that does not exist", Criteria{Tags: []TagRef{{Category: "nope", Name: "x"}}}, list()},
		{"folder, recursive", Criteria{Folders: []string{selFolder}}, list("s-top", "s-inner", "s-deep", "s-tmpl")},
		{"nested folder, recursive", Criteria{Folders: []string{selInner}}, list("s-inner", "s-deep")},
		{"folder, direct only", Criteria{Folders: []string{selFolder}, DirectOnly: true}, list("s-top", "s-tmpl")},
		{"folder by absolute path", Criteria{Folders: []string{"/dc1/vm/" + selDeep}}, list("s-deep")},
		{"folder whose name reads like an ID", Criteria{Folders: []string{selIDLike}}, list()},
		{"folder by ID", Criteria{Folders: []string{folderID(t, sim, selInner)}, DirectOnly: true}, list("s-inner")},
		{"pool, recursive", Criteria{Pools: []string{selPool}}, list("s-inner", "s-deep")},
		{"pool, direct only", Criteria{Pools: []string{selPool}, DirectOnly: true}, list("s-inner")},
		{"nested pool", Criteria{Pools: []string{selChild}}, list("s-deep")},
		{"pool by absolute path", Criteria{Pools: []string{"/dc1/host/" + selChild}}, list("s-deep")},
		{"cluster, direct only: its root pool", Criteria{Pools: []string{simulator.Cluster}, DirectOnly: true, Folders: []string{selFolder}, Match: MatchAll}, list("s-top")},
		{"cluster, recursive", Criteria{Pools: []string{simulator.Cluster}, Folders: []string{selFolder}, Match: MatchAll}, list("s-top", "s-inner", "s-deep")},
		{"ids", Criteria{IDs: []string{ids["s-deep"], ids["s-tmpl"], "vm-does-not-exist"}}, list("s-deep", "s-tmpl")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := names(t, c, Selection{Include: tc.inc}); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSelectAnyAllExcludeAndFilters(t *testing.T) {
	sim, ids := selectionSim(t)
	c := connect(t, sim)
	both := Criteria{Tags: []TagRef{tier1, production}}
	cases := []struct {
		name string
		sel  Selection
		want []string
	}{
		{"any", Selection{Include: both}, list("s-top", "s-inner", "s-deep")},
		{"all", Selection{Include: Criteria{Tags: both.Tags, Match: MatchAll}}, list("s-inner")},
		{"all across kinds", Selection{Include: Criteria{Tags: []TagRef{production}, Pools: []string{selChild}, Match: MatchAll}}, list("s-deep")},
		{"any across kinds", Selection{Include: Criteria{Tags: []TagRef{tier1}, IDs: []string{ids["s-tmpl"]}}}, list("s-top", "s-inner", "s-tmpl")},
		{"exclude by tag", Selection{Include: Criteria{Folders: []string{selFolder}}, Exclude: &Criteria{Tags: []TagRef{production}}}, list("s-top", "s-tmpl")},
		{"exclude by folder", Selection{Include: Criteria{Folders: []string{selFolder}}, Exclude: &Criteria{Folders: []string{selInner}}}, list("s-top", "s-tmpl")},
		{"exclude by direct folder", Selection{Include: Criteria{Folders: []string{selFolder}}, Exclude: &Criteria{Folders: []string{selInner}, DirectOnly: true}}, list("s-top", "s-deep", "s-tmpl")},
		{"exclude by pool and id", Selection{Include: Criteria{Folders: []string{selFolder}}, Exclude: &Criteria{Pools: []string{selChild}, IDs: []string{ids["s-top"]}}}, list("s-inner", "s-tmpl")},
		{"exclude all of", Selection{Include: Criteria{Folders: []string{selFolder}}, Exclude: &Criteria{Tags: both.Tags, Match: MatchAll}}, list("s-top", "s-deep", "s-tmpl")},
		{"empty exclude", Selection{Include: both, Exclude: &Criteria{}}, list("s-top", "s-inner", "s-deep")},
		{"powered on", Selection{Include: Criteria{Folders: []string{selFolder}}, PowerStates: []PowerState{PoweredOn}}, list("s-top", "s-deep")},
		{"powered off or suspended", Selection{Include: Criteria{Folders: []string{selFolder}}, PowerStates: []PowerState{PoweredOff, Suspended}}, list("s-inner", "s-tmpl")},
		{"no templates", Selection{Include: Criteria{Folders: []string{selFolder}}, Templates: TemplatesExclude}, list("s-top", "s-inner", "s-deep")},
		{"templates only", Selection{Include: Criteria{Folders: []string{selFolder}}, Templates: TemplatesOnly}, list("s-tmpl")},
		{"templates included", Selection{Include: Criteria{Folders: []string{selFolder}}, Templates: TemplatesInclude}, list("s-top", "s-inner", "s-deep", "s-tmpl")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := names(t, c, tc.sel); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// Tags attached and detached between two resolutions show at the second, on the same client
// (whose tag IDs are cached).
func TestSelectSeesTagChanges(t *testing.T) {
	sim, ids := selectionSim(t)
	c := connect(t, sim)
	ctx := context.Background()
	sel := Selection{Include: Criteria{Tags: []TagRef{gold}}}
	if got := names(t, c, sel); len(got) != 0 {
		t.Fatalf("before tagging: %v", got)
	}
	tm := adminTags(t, sim)
	top := types.ManagedObjectReference{Type: "VirtualMachine", Value: ids["s-top"]}
	deep := types.ManagedObjectReference{Type: "VirtualMachine", Value: ids["s-deep"]}
	for _, ref := range []types.ManagedObjectReference{top, deep} {
		if err := attachTag(ctx, tm, gold, ref); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { detachTag(t, tm, gold, top); detachTag(t, tm, gold, deep) })
	if got, want := names(t, c, sel), list("s-top", "s-deep"); !reflect.DeepEqual(got, want) {
		t.Fatalf("after tagging: got %v, want %v", got, want)
	}
	detachTag(t, tm, gold, top)
	if got, want := names(t, c, sel), list("s-deep"); !reflect.DeepEqual(got, want) {
		t.Fatalf("after untagging s-top: got %v, want %v", got, want)
	}
}

// A tag created after a resolution that found none is found by the next one.
func TestSelectSeesNewTag(t *testing.T) {
	sim, ids := selectionSim(t)
	c := connect(t, sim)
	ctx := context.Background()
	fresh := TagRef{Category: "tier", Name: "tier-new"}
	sel := Selection{Include: Criteria{Tags: []TagRef{fresh}}}
	if got := names(t, c, sel); len(got) != 0 {
		t.Fatalf("before the tag exists: %v", got)
	}
	tm := adminTags(t, sim)
	cat, err := tm.GetCategory(ctx, fresh.Category)
	if err != nil {
		t.Fatal(err)
	}
	id, err := tm.CreateTag(ctx, &tags.Tag{Name: fresh.Name, CategoryID: cat.ID})
	if err != nil {
		t.Fatal(err)
	}
	ref := types.ManagedObjectReference{Type: "VirtualMachine", Value: ids["s-tmpl"]}
	if err := tm.AttachTag(ctx, id, ref); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { detachTag(t, tm, fresh, ref) })
	if got, want := names(t, c, sel), list("s-tmpl"); !reflect.DeepEqual(got, want) {
		t.Fatalf("after the tag was created: got %v, want %v", got, want)
	}
}

// A tag (or its category) deleted and made again under the same name, between two resolutions of
// one client, is found under its new ID.
func TestSelectSeesTagRecreated(t *testing.T) {
	sim, ids := selectionSim(t)
	c := connect(t, sim)
	ctx := context.Background()
	tm := adminTags(t, sim)
	ref := TagRef{Category: "sel-recreate", Name: "x"}
	sel := Selection{Include: Criteria{Tags: []TagRef{ref}}}
	mkTag := func(name, vm string, newCategory bool) {
		t.Helper()
		cat, err := tm.GetCategory(ctx, ref.Category)
		if newCategory || err != nil {
			if err == nil {
				if err := tm.DeleteCategory(ctx, cat); err != nil {
					t.Fatal(err)
				}
			}
			id, err := tm.CreateCategory(ctx, &tags.Category{Name: ref.Category, Cardinality: "SINGLE", AssociableTypes: []string{"VirtualMachine"}})
			if err != nil {
				t.Fatal(err)
			}
			cat = &tags.Category{ID: id}
		} else if old, err := tm.GetTagForCategory(ctx, name, cat.ID); err == nil {
			if err := tm.DeleteTag(ctx, old); err != nil {
				t.Fatal(err)
			}
		}
		id, err := tm.CreateTag(ctx, &tags.Tag{Name: name, CategoryID: cat.ID})
		if err != nil {
			t.Fatal(err)
		}
		if err := tm.AttachTag(ctx, id, types.ManagedObjectReference{Type: "VirtualMachine", Value: ids[vm]}); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		if cat, err := tm.GetCategory(ctx, ref.Category); err == nil {
			_ = tm.DeleteCategory(ctx, cat)
		}
	})
	mkTag("x", "s-top", true)
	if got, want := names(t, c, sel), list("s-top"); !reflect.DeepEqual(got, want) {
		t.Fatalf("first: got %v, want %v", got, want)
	}
	mkTag("x", "s-deep", false)
	if got, want := names(t, c, sel), list("s-deep"); !reflect.DeepEqual(got, want) {
		t.Fatalf("after the tag was made again: got %v, want %v", got, want)
	}
	mkTag("x", "s-inner", true)
	if got, want := names(t, c, sel), list("s-inner"); !reflect.DeepEqual(got, want) {
		t.Fatalf("after the category was made again: got %v, want %v", got, want)
	}
	// A tag not found leaves its category's ID cached; that category made again is found too.
	later := Selection{Include: Criteria{Tags: []TagRef{{Category: ref.Category, Name: "y"}}}}
	if got := names(t, c, later); len(got) != 0 {
		t.Fatalf("before tag y exists: %v", got)
	}
	mkTag("y", "s-tmpl", true)
	if got, want := names(t, c, later), list("s-tmpl"); !reflect.DeepEqual(got, want) {
		t.Fatalf("tag y in the category made again: got %v, want %v", got, want)
	}
}

// The matched VMs carry exactly the properties asked for, not the ones the selector reads.
func TestSelectReturnsExactlyTheAskedProperties(t *testing.T) {
	sim, ids := selectionSim(t)
	c := connect(t, sim)
	ctx := context.Background()
	sel := Selection{Include: Criteria{IDs: []string{ids["s-deep"]}}}
	vms, err := c.Select(ctx, sel, []string{"name", "config.hardware.numCPU"})
	if err != nil {
		t.Fatal(err)
	}
	if len(vms) != 1 || vms[0].ID != ids["s-deep"] {
		t.Fatalf("got %+v", vms)
	}
	var keys []string
	for k := range vms[0].Props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if want := []string{"config.hardware.numCPU", "name"}; !reflect.DeepEqual(keys, want) {
		t.Errorf("properties %v, want %v", keys, want)
	}
	if vms[0].Props["name"] != "s-deep" || vms[0].Props["config.hardware.numCPU"] != int32(1) {
		t.Errorf("values %v", vms[0].Props)
	}
	var typed []mo.VirtualMachine
	if err := c.SelectInto(ctx, Selection{Include: Criteria{Folders: []string{selDeep}}}, []string{"name"}, &typed); err != nil {
		t.Fatal(err)
	}
	if len(typed) != 1 || typed[0].Name != "s-deep" || typed[0].Runtime.PowerState != "" || typed[0].Parent != nil {
		t.Errorf("SelectInto: %+v", typed)
	}
}

func TestSelectErrors(t *testing.T) {
	sim, _ := selectionSim(t)
	c := connect(t, sim)
	cases := []struct {
		name string
		sel  Selection
		want string
	}{
		{"no criteria", Selection{}, "at least one of tags, folders, pools or ids"},
		{"exclude only", Selection{Exclude: &Criteria{IDs: []string{"vm-1"}}}, "at least one of"},
		{"bad match", Selection{Include: Criteria{IDs: []string{"vm-1"}, Match: "some"}}, `match "some" is not one of any, all`},
		{"bad exclude match", Selection{Include: Criteria{IDs: []string{"vm-1"}}, Exclude: &Criteria{Match: "x"}}, `exclude: match "x"`},
		{"tag without name", Selection{Include: Criteria{Tags: []TagRef{{Category: "tier"}}}}, "needs both a category and a name"},
		{"bad power state", Selection{Include: Criteria{IDs: []string{"vm-1"}}, PowerStates: []PowerState{"on"}}, `power state "on"`},
		{"bad template filter", Selection{Include: Criteria{IDs: []string{"vm-1"}}, Templates: "maybe"}, `templates "maybe"`},
		{"missing folder", Selection{Include: Criteria{Folders: []string{"sel/nope"}}}, `/dc1/vm/sel/nope`},
		{"missing pool in exclude", Selection{Include: Criteria{IDs: []string{"vm-1"}}, Exclude: &Criteria{Pools: []string{"resgroup-999999"}}}, "exclude: "},
		{"a pool named as folder", Selection{Include: Criteria{Folders: []string{"/dc1/host/" + selPool}}}, "is a ResourcePool, not a folder"},
		{"a folder named as pool", Selection{Include: Criteria{Pools: []string{"/dc1/vm/" + selFolder}}}, "is a Folder, not a resource pool"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Select(context.Background(), tc.sel, []string{"name"})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if _, err := c.Select(context.Background(), Selection{Include: Criteria{Folders: []string{"sel/nope"}}}, nil); !IsNotFound(err) {
		t.Errorf("a missing folder is not a NotFound error: %v", err)
	}
}

// Relative paths need one datacenter: with two and none configured, Select says what to do; with
// the datacenter configured it resolves.
func TestSelectRelativePathNeedsOneDatacenter(t *testing.T) {
	sim := newSim(t)
	ctx := context.Background()
	gc, err := sim.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = gc.Logout(ctx) }()
	if _, err := object.NewRootFolder(gc.Client).CreateDatacenter(ctx, "dc2"); err != nil {
		t.Fatal(err)
	}
	sel := Selection{Include: Criteria{Folders: []string{simulator.WorkloadFolder}}}
	if _, err := connect(t, sim).Select(ctx, sel, nil); err == nil || !strings.Contains(err.Error(), "set the provider's datacenter") {
		t.Fatalf("two datacenters, none configured: %v", err)
	}
	c := connect(t, sim, func(cfg *Config) { cfg.Datacenter = simulator.Datacenter })
	if got := names(t, c, sel); !reflect.DeepEqual(got, list(seededWorkloads...)) {
		t.Fatalf("with the datacenter configured: %v", got)
	}
}

// The round trips of one resolution do not grow with the VMs: a warm client spends one SOAP and
// one vAPI call, whatever the inventory holds.
func TestSelectRoundTripsDoNotGrow(t *testing.T) {
	ctx := context.Background()
	sel := Selection{
		Include:     Criteria{Tags: []TagRef{tier1}, Folders: []string{simulator.BulkFolder}, Pools: []string{simulator.Cluster}, Match: MatchAny},
		Exclude:     &Criteria{Tags: []TagRef{production}, IDs: []string{"vm-1"}},
		PowerStates: []PowerState{PoweredOff, PoweredOn},
	}
	for _, n := range []int{10, 300} {
		sim, err := simulator.Start(ctx, simulator.Options{ExtraVMs: n})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(sim.Close)
		rc := newRequestCounter(t, sim)
		c := connect(t, sim, func(cfg *Config) { cfg.Server = rc.host })
		tagBulk(t, sim, tier1, 0)
		tagBulk(t, sim, production, 1)
		first := measure(t, c, rc, sel)
		warm := measure(t, c, rc, sel)
		t.Logf("%d bulk VMs: %d matched; first resolution %d SOAP + %d vAPI, warm %d SOAP + %d vAPI",
			n, warm.matched, first.soap, first.rest, warm.soap, warm.rest)
		// A tag that no VM carries costs one more vAPI call (telling an empty tag from a deleted one).
		empty := Selection{Include: Criteria{Tags: []TagRef{gold}, Folders: []string{simulator.BulkFolder}}}
		_ = measure(t, c, rc, empty)
		if e := measure(t, c, rc, empty); e.soap != 1 || e.rest != 2 {
			t.Errorf("%d bulk VMs: a warm resolution naming an empty tag took %d SOAP and %d vAPI calls, want 1 and 2", n, e.soap, e.rest)
		}
		if warm.matched < n-1 {
			t.Errorf("%d bulk VMs: matched %d", n, warm.matched)
		}
		if warm.soap != 1 || warm.rest != 1 {
			t.Errorf("%d bulk VMs: a warm resolution took %d SOAP and %d vAPI calls, want 1 and 1", n, warm.soap, warm.rest)
		}
		if first.soap > 3 {
			t.Errorf("%d bulk VMs: the first resolution took %d SOAP calls, want at most 3 (two views, one read)", n, first.soap)
		}
	}
}

type selCost struct {
	soap, rest int64
	matched    int
	elapsed    time.Duration
}

func measure(tb testing.TB, c *Client, rc *requestCounter, sel Selection) selCost {
	tb.Helper()
	soap0, rest0, start := c.Stats().RoundTrips(), rc.requests(), time.Now()
	vms, err := c.Select(context.Background(), sel, []string{"name"})
	if err != nil {
		tb.Fatalf("Select: %v", err)
	}
	return selCost{soap: c.Stats().RoundTrips() - soap0, rest: rc.requests() - rest0, matched: len(vms), elapsed: time.Since(start)}
}

// BenchmarkSelect reports the round trips (SOAP and vAPI) and the wall time of one resolution of
// a selection by tag, folder and pool with an exclude list, at 10, 100 and 1,000 VMs. "first-*"
// is the first resolution of a client (it makes the views and looks the tags up); the loop is
// the warm cost.
func BenchmarkSelect(b *testing.B) {
	for _, total := range []int{10, 100, 1000} {
		sim, err := simulator.Start(context.Background(), simulator.Options{ExtraVMs: total - simulator.SeededVMs()})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(sim.Close)
		tagHalf(b, sim)
		rc := newRequestCounter(b, sim)
		b.Run(fmt.Sprintf("vms=%d", total), func(b *testing.B) {
			c := connect(b, sim, func(cfg *Config) { cfg.Server = rc.host })
			sel := Selection{
				Include: Criteria{Tags: []TagRef{tier1}, Folders: []string{simulator.WorkloadFolder}, Pools: []string{simulator.Cluster}, Match: MatchAny},
				Exclude: &Criteria{Tags: []TagRef{production}, Folders: []string{simulator.TemplateFolder}},
			}
			first := measure(b, c, rc, sel)
			b.ResetTimer()
			var soap, restCalls int64
			matched := 0
			for i := 0; i < b.N; i++ {
				m := measure(b, c, rc, sel)
				soap, restCalls, matched = soap+m.soap, restCalls+m.rest, m.matched
			}
			b.StopTimer()
			b.ReportMetric(float64(soap)/float64(b.N), "soap/op")
			b.ReportMetric(float64(restCalls)/float64(b.N), "vapi/op")
			b.ReportMetric(float64(soap+restCalls)/float64(b.N), "roundtrips/op")
			b.ReportMetric(float64(matched), "matched")
			// After the loop: ResetTimer drops the metrics reported before it.
			b.ReportMetric(float64(first.soap+first.rest), "first-roundtrips")
			b.ReportMetric(float64(first.elapsed.Microseconds())/1000, "first-ms")
		})
	}
}

// tagHalf tags every other bulk VM tier-1, in one vAPI call.
func tagHalf(b *testing.B, sim *simulator.Sim) {
	b.Helper()
	ctx := context.Background()
	tm := adminTags(b, sim)
	gc, err := sim.Connect(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = gc.Logout(ctx) }()
	f := find.NewFinder(gc.Client, false)
	vms, err := f.VirtualMachineList(ctx, "/dc1/vm/"+simulator.BulkFolder+"/*")
	if err != nil {
		b.Fatal(err)
	}
	var refs []mo.Reference
	for i, vm := range vms {
		if i%2 == 0 {
			refs = append(refs, vm.Reference())
		}
	}
	cat, err := tm.GetCategory(ctx, tier1.Category)
	if err != nil {
		b.Fatal(err)
	}
	tg, err := tm.GetTagForCategory(ctx, tier1.Name, cat.ID)
	if err != nil {
		b.Fatal(err)
	}
	if err := tm.AttachTagToMultipleObjects(ctx, tg.ID, refs); err != nil {
		b.Fatal(err)
	}
}

// tagBulk attaches tg to the i-th bulk VM.
func tagBulk(t *testing.T, sim *simulator.Sim, tg TagRef, i int) {
	t.Helper()
	ctx := context.Background()
	gc, err := sim.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = gc.Logout(ctx) }()
	vm, err := find.NewFinder(gc.Client, false).VirtualMachine(ctx, "/dc1/vm/"+simulator.BulkFolder+"/"+simulator.BulkVMName(i))
	if err != nil {
		t.Fatal(err)
	}
	if err := attachTag(ctx, adminTags(t, sim), tg, vm.Reference()); err != nil {
		t.Fatal(err)
	}
}

// adminTags is a tag manager on an administrator's vAPI session of sim, as another tool or
// person changing tags behind vmgmt's back.
func adminTags(tb testing.TB, sim *simulator.Sim) *tags.Manager {
	tb.Helper()
	ctx := context.Background()
	gc, err := sim.Connect(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	rc := rest.NewClient(gc.Client)
	if err := rc.Login(ctx, simUser(sim)); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = rc.Logout(ctx); _ = gc.Logout(ctx) })
	return tags.NewManager(rc)
}

func detachTag(tb testing.TB, tm *tags.Manager, tg TagRef, ref types.ManagedObjectReference) {
	tb.Helper()
	ctx := context.Background()
	cat, err := tm.GetCategory(ctx, tg.Category)
	if err != nil {
		tb.Fatal(err)
	}
	t, err := tm.GetTagForCategory(ctx, tg.Name, cat.ID)
	if err != nil {
		tb.Fatal(err)
	}
	if err := tm.DetachTag(ctx, t.ID, ref); err != nil {
		tb.Fatal(err)
	}
}

func folderID(t *testing.T, sim *simulator.Sim, rel string) string {
	t.Helper()
	ctx := context.Background()
	gc, err := sim.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = gc.Logout(ctx) }()
	fo, err := find.NewFinder(gc.Client, false).Folder(ctx, "/dc1/vm/"+rel)
	if err != nil {
		t.Fatal(err)
	}
	return fo.Reference().Value
}

func simUser(sim *simulator.Sim) *url.Userinfo { return url.UserPassword(sim.User, sim.Password) }

// A session that vCenter ended (idle timeout, an administrator) between two resolutions is
// replaced, with the views it owned, and both kinds of criteria still resolve.
func TestSelectAfterSessionEnded(t *testing.T) {
	sim, _ := selectionSim(t)
	c := connect(t, sim)
	sel := Selection{Include: Criteria{Tags: []TagRef{tier1}, Folders: []string{selDeep}}}
	want := list("s-top", "s-inner", "s-deep")
	if got := names(t, c, sel); !reflect.DeepEqual(got, want) {
		t.Fatalf("before: got %v, want %v", got, want)
	}
	terminate(t, sim, sessionKey(t, c))
	if got := names(t, c, sel); !reflect.DeepEqual(got, want) {
		t.Fatalf("after the session ended: got %v, want %v", got, want)
	}
}

// Resolutions running at once on one client agree (the views and the tag cache are shared).
func TestSelectConcurrent(t *testing.T) {
	sim, _ := selectionSim(t)
	c := connect(t, sim)
	sel := Selection{Include: Criteria{Tags: []TagRef{tier1, production}, Pools: []string{selChild}}, Exclude: &Criteria{Folders: []string{selDeep}}}
	var wg sync.WaitGroup
	got := make([][]string, 8)
	for i := range got {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			vms, err := c.Select(context.Background(), sel, []string{"name"})
			if err != nil {
				t.Errorf("Select: %v", err)
				return
			}
			for _, vm := range vms {
				got[i] = append(got[i], vm.Props["name"].(string))
			}
			sort.Strings(got[i])
		}(i)
	}
	wg.Wait()
	for i, g := range got {
		if want := list("s-top", "s-inner"); !reflect.DeepEqual(g, want) {
			t.Errorf("resolution %d: got %v, want %v", i, g, want)
		}
	}
}
