package policy

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Exemption lets a named policy through for selected objects until it expires. Exemptions live in
// policy data (data.vmgmt.exemptions), never in the HCL of the resource they exempt.
type Exemption struct {
	Policy   string    `json:"policy"`
	Selector Selector  `json:"selector"`
	Reason   string    `json:"reason"`
	Approver string    `json:"approver,omitempty"`
	Expires  time.Time `json:"expires"`
}

// Selector picks the objects an exemption covers: a resource type plus a name, an ID or a tag.
// Empty fields match anything; at least one of name, id and tag must be set.
type Selector struct {
	Type string `json:"type,omitempty"`
	Name string `json:"name,omitempty"`
	ID   string `json:"id,omitempty"`
	Tag  string `json:"tag,omitempty"`
}

func (e Exemption) expired(now time.Time) bool { return !now.Before(e.Expires) }

func (e Exemption) String() string {
	s := fmt.Sprintf("exemption from %s (reason: %s", e.Policy, e.Reason)
	if e.Approver != "" {
		s += "; approved by " + e.Approver
	}
	return s + "; expires " + e.expiryText() + ")"
}

// expiryText shows a date-only expiry as the date it was written with (valid through that day).
func (e Exemption) expiryText() string {
	t := e.Expires.UTC()
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0 {
		return "end of " + t.Add(-time.Second).Format("2006-01-02")
	}
	return t.Format(time.RFC3339)
}

// matches reports whether the exemption covers this policy and change.
func (e Exemption) matches(c Change, policy string) bool {
	if e.Policy != policy && !strings.HasPrefix(policy, e.Policy+".") {
		return false
	}
	s := e.Selector
	if s.Type != "" && s.Type != c.Type {
		return false
	}
	if s.Name != "" && s.Name != c.Name {
		return false
	}
	if s.ID != "" && s.ID != c.ID {
		return false
	}
	if s.Tag != "" {
		found := false
		for _, t := range c.Tags {
			if t == s.Tag {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// exemptionFor returns the most specific exemption for the policy, preferring a live one over an
// expired one.
func (e *Engine) exemptionFor(c Change, policy string) *Exemption {
	var expired *Exemption
	now := e.now()
	for i := range e.exemptions {
		ex := &e.exemptions[i]
		if !ex.matches(c, policy) {
			continue
		}
		if !ex.expired(now) {
			return ex
		}
		expired = ex
	}
	return expired
}

// parseExemptions reads data.vmgmt.exemptions and rejects incomplete entries: an exemption
// without a reason or an expiry date is a load error.
func parseExemptions(docs map[string]any) ([]Exemption, error) {
	root, _ := docs[Root].(map[string]any)
	if root == nil {
		return nil, nil
	}
	raw, ok := root["exemptions"]
	if !ok {
		return nil, nil
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, fmt.Errorf("must be a list of {policy, selector, reason, approver, expires} objects, got %T", raw)
	}
	var out []Exemption
	var errs []error
	for i, it := range list {
		m, ok := it.(map[string]any)
		if !ok {
			errs = append(errs, fmt.Errorf("[%d]: must be an object", i))
			continue
		}
		str := func(k string) string { s, _ := m[k].(string); return strings.TrimSpace(s) }
		ex := Exemption{Policy: str("policy"), Reason: str("reason"), Approver: str("approver")}
		if ex.Policy == "" {
			errs = append(errs, fmt.Errorf("[%d]: policy is required (the id of the policy it exempts from)", i))
		}
		if ex.Reason == "" {
			errs = append(errs, fmt.Errorf("[%d] (%s): reason is required", i, ex.Policy))
		}
		exp := str("expires")
		if exp == "" {
			errs = append(errs, fmt.Errorf("[%d] (%s): expires is required (YYYY-MM-DD or RFC 3339): exemptions must end", i, ex.Policy))
		} else if t, err := parseTime(exp); err != nil {
			errs = append(errs, fmt.Errorf("[%d] (%s): expires %q: use YYYY-MM-DD or RFC 3339", i, ex.Policy, exp))
		} else {
			ex.Expires = t
		}
		sel, _ := m["selector"].(map[string]any)
		if sel == nil {
			errs = append(errs, fmt.Errorf("[%d] (%s): selector is required: {type, name | id | tag}", i, ex.Policy))
		} else {
			get := func(k string) string { s, _ := sel[k].(string); return s }
			ex.Selector = Selector{Type: get("type"), Name: get("name"), ID: get("id"), Tag: get("tag")}
			if ex.Selector.Name == "" && ex.Selector.ID == "" && ex.Selector.Tag == "" {
				errs = append(errs, fmt.Errorf("[%d] (%s): selector needs a name, id or tag: an exemption covers named objects, not a whole type", i, ex.Policy))
			}
		}
		out = append(out, ex)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		// A date expires at the end of that day, UTC.
		return t.Add(24 * time.Hour), nil
	}
	return time.Parse(time.RFC3339, s)
}
