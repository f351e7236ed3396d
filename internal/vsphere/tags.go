package vsphere

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/vapi/tags"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/suggest"
)

// restSession is the vAPI (REST) session used for tags, opened on first use.
type restSession struct {
	mu       sync.Mutex
	lookupMu sync.Mutex
	c        *rest.Client
	// categories and tags by name, filled as they are looked up or created.
	categories map[string]string            // category name -> ID
	tagIDs     map[string]map[string]string // category name -> tag name -> ID
}

func (c *Client) restClient(ctx context.Context) (*rest.Client, error) {
	c.rest.mu.Lock()
	defer c.rest.mu.Unlock()
	if c.rest.c != nil {
		return c.rest.c, nil
	}
	rc := rest.NewClient(c.vim)
	if err := c.cache.Login(ctx, rc, c.configureSOAP); err != nil {
		// The cache keys REST sessions separately; fall back to a plain login.
		rc = rest.NewClient(c.vim)
		if err := rc.Login(ctx, url.UserPassword(c.cfg.User, c.cfg.Password)); err != nil {
			return nil, fmt.Errorf("logging in to the vAPI endpoint (tags, content library): %w", err)
		}
	}
	c.rest.c = rc
	return rc, nil
}

// withREST runs f with the client's vAPI session. A session that vCenter no longer accepts
// (expired, or logged out elsewhere) is replaced once and f run again; f must be safe to run
// again (the refused request did nothing, and what f did before it is read or idempotent).
// Whether the session ended is told by a 401, or, since govmomi's tag calls do not keep the
// status in the errors they return, by asking vCenter for the session after a failure.
func (c *Client) withREST(ctx context.Context, f func(*rest.Client) error) error {
	for attempt := 0; ; attempt++ {
		rc, err := c.restClient(ctx)
		if err != nil {
			return err
		}
		err = f(rc)
		if err == nil || attempt > 0 || !(isHTTPStatus(err, http.StatusUnauthorized) || restSessionGone(ctx, rc)) {
			return err
		}
		c.rest.mu.Lock()
		if c.rest.c == rc {
			c.rest.c = nil
		}
		c.rest.mu.Unlock()
	}
}

// SetTags attaches, on a VM, one tag per category (categories and tags are created on first
// use, cardinality single) and detaches any other tag it has in those categories. vmgmt uses
// tags to record what a VM is (catalog item, version, owner, job function) where vSphere
// users and other tools look.
//
// fresh says the VM was just created and carries none of these tags yet: the tags are then
// attached in one call, without reading what is attached first.
func (c *Client) SetTags(ctx context.Context, vmID string, want map[string]string, fresh bool) error {
	sets := make(map[string][]string, len(want))
	for cat, name := range want {
		sets[cat] = []string{name}
	}
	return c.SetTagSets(ctx, vmID, sets, fresh)
}

// SetTagSets is SetTags with any number of tags per category, as a restore puts back what a VM
// carried: in each category of want the VM ends with exactly want's tags. A category missing on
// this vCenter is created with cardinality multiple when want has more than one tag in it
// (single otherwise); a category that exists with cardinality single and more than one tag
// wanted in it is an error naming the category, before anything is attached.
func (c *Client) SetTagSets(ctx context.Context, vmID string, want map[string][]string, fresh bool) error {
	return c.withREST(ctx, func(rc *rest.Client) error { return c.setTags(ctx, tags.NewManager(rc), vmID, want, fresh) })
}

// setTags is SetTagSets on one vAPI session. Run again it does nothing more (a tag attached
// twice is attached once).
func (c *Client) setTags(ctx context.Context, m *tags.Manager, vmID string, want map[string][]string, fresh bool) error {
	ref := types.ManagedObjectReference{Type: "VirtualMachine", Value: vmID}
	var attached []tags.Tag
	if !fresh {
		var err error
		if attached, err = m.GetAttachedTags(ctx, ref); err != nil {
			return fmt.Errorf("reading the tags of %s: %w", vmID, err)
		}
	}
	cats := make([]string, 0, len(want))
	for cat := range want {
		cats = append(cats, cat)
	}
	sort.Strings(cats)
	// Every category and tag is resolved (and checked) before any tag is detached or attached.
	catIDs := make([]string, len(cats))
	wanted := make([]map[string]bool, len(cats)) // tag IDs per category
	for i, cat := range cats {
		names := want[cat]
		catID, err := c.category(ctx, m, cat, len(names) > 1)
		if err != nil {
			return err
		}
		if len(names) > 1 {
			info, err := m.GetCategory(ctx, catID)
			if err != nil {
				return fmt.Errorf("reading tag category %s: %w", cat, err)
			}
			if info.Cardinality != "MULTIPLE" {
				return fmt.Errorf("tagging %s: category %s takes one tag per object (cardinality single), but %d are wanted (%s): "+
					"make the category's cardinality multiple in vCenter, or drop all but one", vmID, cat, len(names), strings.Join(names, ", "))
			}
		}
		catIDs[i], wanted[i] = catID, map[string]bool{}
		for _, name := range names {
			tagID, err := c.tag(ctx, m, cat, catID, name)
			if err != nil {
				return err
			}
			wanted[i][tagID] = true
		}
	}
	var attach []string
	for i := range cats {
		for _, t := range attached {
			if t.CategoryID != catIDs[i] {
				continue
			}
			if wanted[i][t.ID] {
				delete(wanted[i], t.ID) // attached already
				continue
			}
			if err := m.DetachTag(ctx, t.ID, ref); err != nil {
				return fmt.Errorf("detaching tag %s from %s: %w", t.Name, vmID, err)
			}
		}
		for id := range wanted[i] {
			attach = append(attach, id)
		}
	}
	if len(attach) > 0 {
		sort.Strings(attach)
		if err := m.AttachMultipleTagsToObject(ctx, attach, ref); err != nil {
			return fmt.Errorf("tagging %s: %w", vmID, err)
		}
	}
	return nil
}

// VMTags returns the VM's tags as category name -> tag name for the given categories.
func (c *Client) VMTags(ctx context.Context, vmID string) (map[string]string, error) {
	var attached []tags.Tag
	var cats []tags.Category
	err := c.withREST(ctx, func(rc *rest.Client) error {
		m := tags.NewManager(rc)
		var err error
		if attached, err = m.GetAttachedTags(ctx, types.ManagedObjectReference{Type: "VirtualMachine", Value: vmID}); err != nil {
			return fmt.Errorf("reading the tags of %s: %w", vmID, err)
		}
		cats, err = m.GetCategories(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, cat := range cats {
		names[cat.ID] = cat.Name
	}
	out := map[string]string{}
	for _, t := range attached {
		out[names[t.CategoryID]] = t.Name
	}
	return out, nil
}

// category looks a tag category up by name, creating it when missing (cardinality multiple when
// multiple, else single); IDs are remembered for the session.
func (c *Client) category(ctx context.Context, m *tags.Manager, name string, multiple bool) (string, error) {
	// Parallel first lookups of the same names wait for one answer instead of all listing.
	c.rest.lookupMu.Lock()
	defer c.rest.lookupMu.Unlock()
	c.rest.mu.Lock()
	id, ok := c.rest.categories[name]
	c.rest.mu.Unlock()
	if ok {
		return id, nil
	}
	cardinality := "SINGLE"
	if multiple {
		cardinality = "MULTIPLE"
	}
	cat, err := m.GetCategory(ctx, name)
	if err == nil {
		id = cat.ID
	} else {
		id, err = m.CreateCategory(ctx, &tags.Category{
			Name: name, Description: "managed by vmgmt", Cardinality: cardinality, AssociableTypes: []string{"VirtualMachine"},
		})
		if err != nil {
			// Created by a parallel call in the meantime?
			if cat, err2 := m.GetCategory(ctx, name); err2 == nil {
				id, err = cat.ID, nil
			}
		}
		if err != nil {
			return "", fmt.Errorf("creating tag category %s: %w", name, err)
		}
	}
	c.rest.mu.Lock()
	if c.rest.categories == nil {
		c.rest.categories = map[string]string{}
	}
	c.rest.categories[name] = id
	c.rest.mu.Unlock()
	return id, nil
}

func (c *Client) tag(ctx context.Context, m *tags.Manager, cat, catID, name string) (string, error) {
	c.rest.lookupMu.Lock()
	defer c.rest.lookupMu.Unlock()
	c.rest.mu.Lock()
	id, ok := c.rest.tagIDs[cat][name]
	c.rest.mu.Unlock()
	if ok {
		return id, nil
	}
	t, err := m.GetTagForCategory(ctx, name, catID)
	if err == nil {
		id = t.ID
	} else {
		id, err = m.CreateTag(ctx, &tags.Tag{Name: name, CategoryID: catID, Description: "managed by vmgmt"})
		if err != nil {
			if t, err2 := m.GetTagForCategory(ctx, name, catID); err2 == nil {
				id, err = t.ID, nil
			}
		}
		if err != nil {
			return "", fmt.Errorf("creating tag %s/%s: %w", cat, name, err)
		}
	}
	c.rest.mu.Lock()
	if c.rest.tagIDs == nil {
		c.rest.tagIDs = map[string]map[string]string{}
	}
	if c.rest.tagIDs[cat] == nil {
		c.rest.tagIDs[cat] = map[string]string{}
	}
	c.rest.tagIDs[cat][name] = id
	c.rest.mu.Unlock()
	return id, nil
}

// closeREST logs the REST session out when sessions are not cached.
func (c *Client) closeREST(ctx context.Context) {
	c.rest.mu.Lock()
	defer c.rest.mu.Unlock()
	if c.rest.c != nil && c.cfg.SessionCacheDir == "" {
		_ = c.rest.c.Logout(ctx)
	}
	c.rest.c = nil
}

// restSessionGone asks vCenter whether the vAPI session still exists (false when that cannot be
// told).
func restSessionGone(ctx context.Context, rc *rest.Client) bool {
	s, err := rc.Session(ctx)
	return err == nil && s == nil
}

// AttachedTags returns the tags on each of the VMs (category and name), in one vAPI call for all
// of them, plus one call per tag and category this client has not met yet.
func (c *Client) AttachedTags(ctx context.Context, vmIDs []string) (map[string][]TagRef, error) {
	out := make(map[string][]TagRef, len(vmIDs))
	if len(vmIDs) == 0 {
		return out, nil
	}
	refs := make([]mo.Reference, len(vmIDs))
	for i, id := range vmIDs {
		refs[i] = types.ManagedObjectReference{Type: "VirtualMachine", Value: id}
	}
	err := c.withREST(ctx, func(rc *rest.Client) error {
		m := tags.NewManager(rc)
		attached, err := m.ListAttachedTagsOnObjects(ctx, refs)
		if err != nil {
			return fmt.Errorf("listing the tags of %d VMs: %w", len(vmIDs), err)
		}
		for _, a := range attached {
			id := a.ObjectID.Reference().Value
			out[id] = out[id][:0]
			for _, tid := range a.TagIDs {
				ref, err := c.tagByID(ctx, m, tid)
				if err != nil {
					return err
				}
				out[id] = append(out[id], ref)
			}
			sort.Slice(out[id], func(i, j int) bool { return out[id][i].String() < out[id][j].String() })
		}
		return nil
	})
	return out, err
}

// tagByID names a tag by its ID, from the client's lookups or with one call (two for a category
// not met yet).
func (c *Client) tagByID(ctx context.Context, m *tags.Manager, id string) (TagRef, error) {
	c.rest.mu.Lock()
	for cat, byName := range c.rest.tagIDs {
		for name, tid := range byName {
			if tid == id {
				c.rest.mu.Unlock()
				return TagRef{Category: cat, Name: name}, nil
			}
		}
	}
	c.rest.mu.Unlock()
	t, err := m.GetTag(ctx, id)
	if err != nil {
		return TagRef{}, fmt.Errorf("reading tag %s: %w", id, err)
	}
	catName := ""
	c.rest.mu.Lock()
	for name, cid := range c.rest.categories {
		if cid == t.CategoryID {
			catName = name
		}
	}
	c.rest.mu.Unlock()
	if catName == "" {
		cat, err := m.GetCategory(ctx, t.CategoryID)
		if err != nil {
			return TagRef{}, fmt.Errorf("reading tag category %s: %w", t.CategoryID, err)
		}
		catName = cat.Name
	}
	c.rememberTag(TagRef{Category: catName, Name: t.Name}, t.CategoryID, id)
	return TagRef{Category: catName, Name: t.Name}, nil
}

// MissingTags returns, for each of the tags that does not exist, what helps fix the name (the
// nearest categories or tags of the category). Tags this client already knows cost nothing; the
// others one lookup each, and a missing one the listing its hint needs.
func (c *Client) MissingTags(ctx context.Context, refs []TagRef) (map[TagRef]string, error) {
	out := map[TagRef]string{}
	if len(refs) == 0 {
		return out, nil
	}
	err := c.withREST(ctx, func(rc *rest.Client) error {
		m := tags.NewManager(rc)
		ids, _, err := c.selectionTagIDs(ctx, m, refs)
		if err != nil {
			return err
		}
		found := map[TagRef]bool{}
		for _, ref := range ids {
			found[ref] = true
		}
		for _, ref := range refs {
			if found[ref] {
				continue
			}
			hint, err := tagHint(ctx, m, ref)
			if err != nil {
				return err
			}
			out[ref] = hint
		}
		return nil
	})
	return out, err
}

// tagHint names the nearest categories when ref's category does not exist, else the nearest
// tags of its category.
func tagHint(ctx context.Context, m *tags.Manager, ref TagRef) (string, error) {
	cats, err := m.GetCategories(ctx)
	if err != nil {
		return "", fmt.Errorf("listing tag categories: %w", err)
	}
	names := make([]string, 0, len(cats))
	for _, cat := range cats {
		if cat.Name != ref.Category {
			names = append(names, cat.Name)
			continue
		}
		ts, err := m.GetTagsForCategory(ctx, cat.ID)
		if err != nil {
			return "", fmt.Errorf("listing the tags of category %s: %w", cat.Name, err)
		}
		tagNames := make([]string, 0, len(ts))
		for _, t := range ts {
			tagNames = append(tagNames, t.Name)
		}
		return fmt.Sprintf("category %q has no tag %q; %s", ref.Category, ref.Name, orNone(suggest.Phrase(ref.Name, tagNames, 12))), nil
	}
	return fmt.Sprintf("there is no tag category %q; %s", ref.Category, orNone(suggest.Phrase(ref.Category, names, 12))), nil
}

func orNone(s string) string {
	if s == "" {
		return "no similar names exist"
	}
	return s
}
