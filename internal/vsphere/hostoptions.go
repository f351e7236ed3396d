package vsphere

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/types"
)

// HostScope names ESXi hosts: those in the clusters, carrying the tags, or listed by ID,
// combined by Match (any by default).
type HostScope struct {
	// Clusters by managed object ID (domain-c7) or inventory path, absolute (/dc1/host/prod) or
	// relative to the datacenter's host folder (prod). A cluster that does not exist is an error.
	Clusters []string
	// Tags: hosts that carry the tag. A tag that does not exist (yet) matches no host.
	Tags []TagRef
	// IDs: hosts by managed object ID (host-42). An ID that names no host matches nothing.
	IDs []string
	// Match combines the criteria; empty means MatchAny.
	Match MatchMode
}

// Validate reports what makes the scope unusable.
func (s HostScope) Validate() error {
	if len(s.Clusters)+len(s.Tags)+len(s.IDs) == 0 {
		return errors.New("a host scope needs at least one of clusters, tags or ids")
	}
	c := Criteria{Tags: s.Tags, Pools: s.Clusters, IDs: s.IDs, Match: s.Match}
	return c.validate("hosts")
}

// HostRef is one host a scope selected.
type HostRef struct {
	ID   string
	Name string
	// Cluster and ClusterID name the host's cluster; both are empty for a standalone host.
	Cluster   string
	ClusterID string
	// OptionManager is the ID of the host's advanced option manager (configManager.advancedOption).
	OptionManager string
	// Version and Build are the host's ESXi release (config.product); empty when the host does
	// not say (disconnected). A configuration bundle restores only onto the same build.
	Version, Build string
}

// HostOptions are a host's advanced options, by key, with the types vCenter returns (int64 for
// a long option, int32, string, bool). A key the host does not have is absent.
type HostOptions struct {
	HostID, HostName, Cluster string
	Options                   map[string]any
}

// The host properties a host read needs.
var hostRefProps = []string{"name", "parent", "configManager.advancedOption", "config.product.version", "config.product.build"}

// SelectHosts resolves the scope into hosts, sorted by ID, in one property read over container
// views (every host with its parent, and the inventory's containers for cluster paths and names)
// while, when tags are named, one vAPI call lists the hosts of every tag.
func (c *Client) SelectHosts(ctx context.Context, scope HostScope) ([]HostRef, error) {
	if err := scope.Validate(); err != nil {
		return nil, fmt.Errorf("invalid host scope: %w", err)
	}
	hosts, errs, err := c.SelectHostsEach(ctx, []HostScope{scope})
	if err != nil {
		return nil, err
	}
	return hosts[0], errs[0]
}

// SelectHostsEach resolves several scopes at the cost of one: one read of every host and the
// inventory, one vAPI call for the tags of all of them. A scope that cannot be resolved (invalid,
// or naming a cluster that does not exist) gets its error in errs and no hosts; err is for the
// reads themselves.
func (c *Client) SelectHostsEach(ctx context.Context, scopes []HostScope) (hosts [][]HostRef, errs []error, err error) {
	hosts, errs = make([][]HostRef, len(scopes)), make([]error, len(scopes))
	if len(scopes) == 0 {
		return hosts, errs, nil
	}
	var tagRefs []TagRef
	seen := map[TagRef]bool{}
	for _, s := range scopes {
		for _, t := range s.Tags {
			if !seen[t] {
				seen[t] = true
				tagRefs = append(tagRefs, t)
			}
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type tagAnswer struct {
		members map[TagRef]map[string]bool
		err     error
	}
	tagCh := make(chan tagAnswer, 1)
	go func() {
		m, err := c.taggedObjects(ctx, tagRefs, "HostSystem")
		tagCh <- tagAnswer{m, err}
	}()
	all, snap, err := c.hostSnapshot(ctx)
	tagged := <-tagCh
	if err != nil {
		return nil, nil, err
	}
	if tagged.err != nil {
		return nil, nil, tagged.err
	}
	r := &resolver{snap: snap, dcPath: c.knownDatacenterPath()}
	for i, scope := range scopes {
		hosts[i], errs[i] = scope.resolve(r, c.cfg.Datacenter, all, tagged.members)
	}
	return hosts, errs, nil
}

// resolve picks the scope's hosts, sorted by ID, from every host.
func (s HostScope) resolve(r *resolver, dc string, all []HostRef, tagged map[TagRef]map[string]bool) ([]HostRef, error) {
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("invalid host scope: %w", err)
	}
	clusters := make([]string, 0, len(s.Clusters))
	for _, cl := range s.Clusters {
		id, err := r.container(cl, "cluster", "host", dc, "ClusterComputeResource")
		if err != nil {
			return nil, fmt.Errorf("host scope: %w", err)
		}
		clusters = append(clusters, id)
	}
	var out []HostRef
	for _, h := range all {
		if s.matches(h, clusters, tagged) {
			out = append(out, h)
		}
	}
	sort.Slice(out, func(i, j int) bool { return LessID(out[i].ID, out[j].ID) })
	return out, nil
}

// matches tells whether the host meets one criterion of the scope (any) or every one (all).
func (s HostScope) matches(h HostRef, clusters []string, tagged map[TagRef]map[string]bool) bool {
	results := make([]bool, 0, len(clusters)+len(s.Tags)+len(s.IDs))
	for _, cl := range clusters {
		results = append(results, h.ClusterID == cl)
	}
	for _, t := range s.Tags {
		results = append(results, tagged[t][h.ID])
	}
	for _, id := range s.IDs {
		results = append(results, strings.TrimSpace(id) == h.ID)
	}
	all := s.Match == MatchAll
	for _, ok := range results {
		if ok != all {
			return ok
		}
	}
	return all && len(results) > 0
}

// hostSnapshot reads every host and the containers above them (folders, datacenters, clusters)
// in one RetrieveProperties.
func (c *Client) hostSnapshot(ctx context.Context) ([]HostRef, *selSnapshot, error) {
	// A traversal from the root folder rather than the client's container views: a view vcsim
	// made before a host was added to a cluster never shows that host, and the read costs one
	// round trip either way.
	spec := types.PropertyFilterSpec{
		ObjectSet: []types.ObjectSpec{{Obj: c.vim.ServiceContent.RootFolder, Skip: types.NewBool(true), SelectSet: hostTraversal()}},
		PropSet:   []types.PropertySpec{{Type: "HostSystem", PathSet: hostRefProps}},
	}
	for _, kind := range []string{"Folder", "Datacenter", "ComputeResource", "ClusterComputeResource"} {
		spec.PropSet = append(spec.PropSet, types.PropertySpec{Type: kind, PathSet: []string{"name", "parent"}})
	}
	var contents []types.ObjectContent
	res, err := property.DefaultCollector(c.vim).RetrieveProperties(ctx, types.RetrieveProperties{SpecSet: []types.PropertyFilterSpec{spec}})
	if err == nil {
		contents = res.Returnval
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading the hosts of a host scope: %w", err)
	}
	snap := &selSnapshot{nodes: map[string]invNode{}}
	var hosts []*types.ObjectContent
	for i, oc := range contents {
		if oc.Obj.Type == "HostSystem" {
			hosts = append(hosts, &contents[i])
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
	out := make([]HostRef, 0, len(hosts))
	for _, oc := range hosts {
		h, parent := newHostRef(*oc)
		if n, ok := snap.nodes[parent.Value]; ok && n.kind == "ClusterComputeResource" {
			h.Cluster, h.ClusterID = n.name, parent.Value
		}
		out = append(out, h)
	}
	return out, snap, nil
}

// hostTraversal walks the inventory from the root folder down to every host: folders, the
// datacenters' host folders, and the hosts of clusters and standalone compute resources.
func hostTraversal() []types.BaseSelectionSpec {
	return []types.BaseSelectionSpec{
		&types.TraversalSpec{SelectionSpec: types.SelectionSpec{Name: "folder"}, Type: "Folder", Path: "childEntity",
			SelectSet: []types.BaseSelectionSpec{&types.SelectionSpec{Name: "folder"}, &types.SelectionSpec{Name: "dcHosts"},
				&types.SelectionSpec{Name: "crHosts"}, &types.SelectionSpec{Name: "clusterHosts"}}},
		&types.TraversalSpec{SelectionSpec: types.SelectionSpec{Name: "dcHosts"}, Type: "Datacenter", Path: "hostFolder",
			SelectSet: []types.BaseSelectionSpec{&types.SelectionSpec{Name: "folder"}}},
		&types.TraversalSpec{SelectionSpec: types.SelectionSpec{Name: "crHosts"}, Type: "ComputeResource", Path: "host"},
		&types.TraversalSpec{SelectionSpec: types.SelectionSpec{Name: "clusterHosts"}, Type: "ClusterComputeResource", Path: "host"},
	}
}

// newHostRef reads a host's hostRefProps; the cluster is left to the caller, which knows the
// parent's name and type.
func newHostRef(oc types.ObjectContent) (HostRef, types.ManagedObjectReference) {
	h := HostRef{ID: oc.Obj.Value}
	var parent types.ManagedObjectReference
	for _, p := range oc.PropSet {
		switch p.Name {
		case "name":
			h.Name, _ = p.Val.(string)
		case "parent":
			parent, _ = p.Val.(types.ManagedObjectReference)
		case "configManager.advancedOption":
			if ref, ok := p.Val.(types.ManagedObjectReference); ok {
				h.OptionManager = ref.Value
			}
		case "config.product.version":
			h.Version, _ = p.Val.(string)
		case "config.product.build":
			h.Build, _ = p.Val.(string)
		}
	}
	return h, parent
}

// ReadHostOptions reads the advanced options of the hosts (managed object IDs), keeping only the
// given keys (every option when keys is empty), in the order of hosts. It costs two round trips
// whatever the number of hosts: one reading the hosts (name, cluster, option manager), one
// reading the setting property of every host's option manager. A key a host does not have is
// absent from its Options; so it never asks QueryOptions, whose InvalidName means the same. A
// host that does not exist is a NotFoundError.
func (c *Client) ReadHostOptions(ctx context.Context, hosts []string, keys []string) ([]HostOptions, error) {
	if len(hosts) == 0 {
		return nil, nil
	}
	refs, err := c.hostRefs(ctx, hosts)
	if err != nil {
		return nil, err
	}
	return c.readOptions(ctx, refs, keys)
}

// OptionsOf reads the advanced options of hosts a scope selected (SelectHosts), keeping only the
// given keys (every option when keys is empty), in one round trip: the hosts' option managers are
// known already.
func (c *Client) OptionsOf(ctx context.Context, hosts []HostRef, keys []string) ([]HostOptions, error) {
	if len(hosts) == 0 {
		return nil, nil
	}
	return c.readOptions(ctx, hosts, keys)
}

// hostRefs reads the hosts by ID, with their parents' names, in one call.
func (c *Client) hostRefs(ctx context.Context, ids []string) ([]HostRef, error) {
	spec := types.PropertyFilterSpec{PropSet: []types.PropertySpec{
		{Type: "HostSystem", PathSet: hostRefProps},
		{Type: "ComputeResource", PathSet: []string{"name"}},
	}}
	for _, id := range ids {
		spec.ObjectSet = append(spec.ObjectSet, types.ObjectSpec{
			Obj:       types.ManagedObjectReference{Type: "HostSystem", Value: id},
			SelectSet: []types.BaseSelectionSpec{&types.TraversalSpec{Type: "HostSystem", Path: "parent"}},
		})
	}
	res, err := property.DefaultCollector(c.vim).RetrieveProperties(ctx, types.RetrieveProperties{SpecSet: []types.PropertyFilterSpec{spec}})
	if err != nil {
		return nil, hostNotFound(ids, fmt.Errorf("reading hosts %s: %w", strings.Join(ids, ", "), err))
	}
	byID := map[string]HostRef{}
	parents := map[string]types.ManagedObjectReference{}
	clusterNames := map[string]string{}
	for _, oc := range res.Returnval {
		switch oc.Obj.Type {
		case "HostSystem":
			h, parent := newHostRef(oc)
			byID[h.ID], parents[h.ID] = h, parent
		case "ClusterComputeResource":
			for _, p := range oc.PropSet {
				if p.Name == "name" {
					clusterNames[oc.Obj.Value], _ = p.Val.(string)
				}
			}
		}
	}
	out := make([]HostRef, 0, len(ids))
	for _, id := range ids {
		h, ok := byID[id]
		if !ok {
			return nil, notFound("host", id, nil)
		}
		if p := parents[id]; p.Type == "ClusterComputeResource" {
			h.Cluster, h.ClusterID = clusterNames[p.Value], p.Value
		}
		out = append(out, h)
	}
	return out, nil
}

// hostNotFound names the missing host when vCenter refused the read for one of them.
func hostNotFound(ids []string, err error) error {
	var mnf *types.ManagedObjectNotFound
	if _, ok := fault.As(err, &mnf); ok && mnf.Obj.Type == "HostSystem" {
		return notFound("host", mnf.Obj.Value, err)
	}
	if IsNotFound(err) && len(ids) == 1 {
		return notFound("host", ids[0], err)
	}
	return err
}

// readOptions reads the setting property of every host's option manager in one call.
func (c *Client) readOptions(ctx context.Context, hosts []HostRef, keys []string) ([]HostOptions, error) {
	want := map[string]bool{}
	for _, k := range keys {
		want[k] = true
	}
	spec := types.PropertyFilterSpec{PropSet: []types.PropertySpec{{Type: "OptionManager", PathSet: []string{"setting"}}}}
	for _, h := range hosts {
		if h.OptionManager != "" {
			spec.ObjectSet = append(spec.ObjectSet, types.ObjectSpec{Obj: types.ManagedObjectReference{Type: "OptionManager", Value: h.OptionManager}})
		}
	}
	settings := map[string][]types.BaseOptionValue{}
	if len(spec.ObjectSet) > 0 {
		res, err := property.DefaultCollector(c.vim).RetrieveProperties(ctx, types.RetrieveProperties{SpecSet: []types.PropertyFilterSpec{spec}})
		if err != nil {
			return nil, fmt.Errorf("reading the advanced options of %d hosts: %w", len(hosts), err)
		}
		for _, oc := range res.Returnval {
			for _, p := range oc.PropSet {
				if list, ok := p.Val.(types.ArrayOfOptionValue); ok {
					settings[oc.Obj.Value] = list.OptionValue
				}
			}
		}
	}
	out := make([]HostOptions, 0, len(hosts))
	for _, h := range hosts {
		ho := HostOptions{HostID: h.ID, HostName: h.Name, Cluster: h.Cluster, Options: map[string]any{}}
		for _, o := range settings[h.OptionManager] {
			v := o.GetOptionValue()
			if len(want) == 0 || want[v.Key] {
				ho.Options[v.Key] = v.Value
			}
		}
		out = append(out, ho)
	}
	return out, nil
}

// SetHostOptions sets advanced options on one host with one UpdateOptions call, after reading
// the options' current values (two round trips): each value is converted to the option's type on
// the host (ESXi refuses an xsd:int for a long option), so "900", 900 and int64(900) all set a
// long option to 900. A key the host does not have, or a value that does not convert, fails
// before anything is written. Options already at the value are not sent.
func (c *Client) SetHostOptions(ctx context.Context, hostID string, values map[string]any) error {
	return c.SetHostsOptions(ctx, map[string]map[string]any{hostID: values}, 1)[hostID]
}

// SetHostsOptions is SetHostOptions for many hosts: one read of every host's current options
// (two round trips), then one UpdateOptions per host that needs a change, at most concurrency at
// a time (at least one). It returns the error of each host that failed, by host ID; the other
// hosts are still written. No entry means the host has the values now.
func (c *Client) SetHostsOptions(ctx context.Context, values map[string]map[string]any, concurrency int) map[string]error {
	errs := map[string]error{}
	if len(values) == 0 {
		return errs
	}
	ids := make([]string, 0, len(values))
	keySet := map[string]bool{}
	for id, kv := range values {
		ids = append(ids, id)
		for k := range kv {
			keySet[k] = true
		}
	}
	sort.Strings(ids)
	keys := make([]string, 0, len(keySet))
	for k := range keySet {
		keys = append(keys, k)
	}
	refs, err := c.hostRefs(ctx, ids)
	var current []HostOptions
	if err == nil {
		current, err = c.readOptions(ctx, refs, keys)
	}
	if err != nil {
		for _, id := range ids {
			errs[id] = err
		}
		return errs
	}
	concurrency = max(concurrency, 1)
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, concurrency)
	for i, cur := range current {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := c.updateHostOptions(ctx, refs[i], cur, values[cur.HostID]); err != nil {
				mu.Lock()
				errs[cur.HostID] = err
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errs
}

// updateHostOptions sends the changed values, converted to the host's option types.
func (c *Client) updateHostOptions(ctx context.Context, h HostRef, cur HostOptions, values map[string]any) error {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var changes []types.BaseOptionValue
	for _, k := range keys {
		old, ok := cur.Options[k]
		if !ok {
			return fmt.Errorf("host %s (%s) has no advanced option %q: check the key's spelling and the host's ESXi version", h.Name, h.ID, k)
		}
		v, err := convertOption(values[k], old)
		if err != nil {
			return fmt.Errorf("advanced option %q on host %s (%s): %w", k, h.Name, h.ID, err)
		}
		if reflect.DeepEqual(v, old) {
			continue
		}
		changes = append(changes, &types.OptionValue{Key: k, Value: v})
	}
	if len(changes) == 0 {
		return nil
	}
	om := object.NewOptionManager(c.vim, types.ManagedObjectReference{Type: "OptionManager", Value: h.OptionManager})
	if err := om.Update(ctx, changes); err != nil {
		return fmt.Errorf("setting %d advanced options on host %s (%s): %w", len(changes), h.Name, h.ID, err)
	}
	return nil
}

// convertOption converts v to the type of the option's current value: a whole number (int
// types, an integral float, or its decimal string) for a long or int option, a bool (or
// "true"/"false") for a boolean one, a string for a string one.
func convertOption(v, current any) (any, error) {
	switch current.(type) {
	case int64:
		return toInt(v, math.MinInt64, math.MaxInt64, func(n int64) any { return n })
	case int32:
		return toInt(v, math.MinInt32, math.MaxInt32, func(n int64) any { return int32(n) })
	case bool:
		switch b := v.(type) {
		case bool:
			return b, nil
		case string:
			if p, err := strconv.ParseBool(strings.TrimSpace(b)); err == nil {
				return p, nil
			}
		}
		return nil, fmt.Errorf("the option is a boolean; %v (%T) is not true or false", v, v)
	case string:
		if s, ok := v.(string); ok {
			return s, nil
		}
		return nil, fmt.Errorf("the option is a string; give %v (%T) as a string", v, v)
	}
	if reflect.TypeOf(v) == reflect.TypeOf(current) {
		return v, nil
	}
	return nil, fmt.Errorf("the option's value is a %T, and %v (%T) cannot be converted to it", current, v, v)
}

func toInt(v any, lo, hi int64, as func(int64) any) (any, error) {
	var n int64
	switch x := v.(type) {
	case int:
		n = int64(x)
	case int32:
		n = int64(x)
	case int64:
		n = x
	case float64:
		if x != math.Trunc(x) || x < float64(lo) || x > float64(hi) {
			return nil, fmt.Errorf("the option takes a whole number between %d and %d, not %v", lo, hi, x)
		}
		n = int64(x)
	case string:
		p, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("the option takes a whole number, not %q", x)
		}
		n = p
	default:
		return nil, fmt.Errorf("the option takes a whole number, not %v (%T)", v, v)
	}
	if n < lo || n > hi {
		return nil, fmt.Errorf("the option takes a whole number between %d and %d, not %d", lo, hi, n)
	}
	return as(n), nil
}
