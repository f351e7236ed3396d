package security

// RequestFor is the request token of a group with an owned role of these privileges, and its
// role's pending name, for tests that arrange what an interrupted create left behind.
func RequestFor(name string, privileges []string, groups ...string) (token, pending string) {
	var ps []principalRecord
	for _, g := range groups {
		ps = append(ps, principalRecord{Name: g, Group: true, Propagate: true})
	}
	r := request(name, "", privileges, ps)
	return r.Token, r.PendingName()
}
