package simulator

import (
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// liveViews makes container views list what is below their root when they are read, as vCenter's
// do. vcsim adds a new object to a view only when it finds it below the view's root at the moment
// the object is put into the inventory, and a resource pool or a host added to a cluster is put
// before its parent lists it: a view made earlier never shows it, so a client that keeps its views
// (vmgmt keeps one per kind for the life of its session) would not see a pool or host made after
// its first read. Before each RetrieveProperties(Ex) that starts from a container view, the view's
// contents are computed again from its root. It runs before the handler already installed, if any.
func liveViews(model *simulator.Model) {
	beforeCalls(model.Map(), func(ctx *simulator.Context, method *simulator.Method) types.BaseMethodFault {
		var specs []types.PropertyFilterSpec
		switch req := method.Body.(type) {
		case *types.RetrieveProperties:
			specs = req.SpecSet
		case *types.RetrievePropertiesEx:
			specs = req.SpecSet
		}
		for _, spec := range specs {
			for _, os := range spec.ObjectSet {
				if os.Obj.Type == "ContainerView" && ctx.Session != nil {
					if v, ok := ctx.Session.Get(os.Obj).(*simulator.ContainerView); ok {
						refreshView(ctx, v)
					}
				}
			}
		}
		return nil
	})
}

// refreshView sets the view's contents to the objects of its types below its root.
func refreshView(ctx *simulator.Context, v *simulator.ContainerView) {
	ctx.WithLock(v, func() {
		var view []types.ManagedObjectReference
		seen := map[types.ManagedObjectReference]bool{}
		var add func(ref types.ManagedObjectReference)
		add = func(ref types.ManagedObjectReference) {
			for _, child := range viewChildren(ctx.Map.Get(ref)) {
				if seen[child] {
					continue
				}
				seen[child] = true
				if viewIncludes(v.Type, child.Type) {
					view = append(view, child)
				}
				if v.Recursive {
					add(child)
				}
			}
		}
		add(v.Container)
		v.View = view
	})
}

// viewChildren are the objects a container view descends to from obj, as vcsim's own views walk.
func viewChildren(obj mo.Reference) []types.ManagedObjectReference {
	switch o := obj.(type) {
	case *simulator.Folder:
		return o.ChildEntity
	case *simulator.StoragePod:
		return o.ChildEntity
	case *simulator.Datacenter:
		return []types.ManagedObjectReference{o.VmFolder, o.HostFolder, o.DatastoreFolder, o.NetworkFolder}
	case *simulator.ClusterComputeResource:
		return withPool(o.Host, o.ResourcePool)
	case *mo.ComputeResource:
		return withPool(o.Host, o.ResourcePool)
	case *simulator.ResourcePool:
		return append(append([]types.ManagedObjectReference(nil), o.ResourcePool.ResourcePool...), o.Vm...)
	case *simulator.VirtualApp:
		return append(append([]types.ManagedObjectReference(nil), o.ResourcePool.ResourcePool...), o.Vm...)
	case *simulator.HostSystem:
		return o.Vm
	}
	return nil
}

func withPool(hosts []types.ManagedObjectReference, pool *types.ManagedObjectReference) []types.ManagedObjectReference {
	out := append([]types.ManagedObjectReference(nil), hosts...)
	if pool != nil {
		out = append(out, *pool)
	}
	return out
}

// viewSubtypes are the managed object types a view of a type also lists.
var viewSubtypes = map[string][]string{
	"ComputeResource": {"ClusterComputeResource"},
	"ResourcePool":    {"VirtualApp"},
	"Folder":          {"StoragePod"},
}

func viewIncludes(kinds []string, kind string) bool {
	if len(kinds) == 0 {
		return true
	}
	for _, k := range kinds {
		if k == kind || k == "ManagedEntity" {
			return true
		}
		for _, sub := range viewSubtypes[k] {
			if sub == kind {
				return true
			}
		}
	}
	return false
}
