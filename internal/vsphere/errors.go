package vsphere

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/vim25/types"
)

// NotFoundError means the object a caller named does not exist (any more).
type NotFoundError struct {
	Kind string // "resource pool", "cluster", ...
	Name string // the path or managed object ID asked for
	Err  error
	// Hint helps fix the name: the nearest valid names ("did you mean …?").
	Hint string
}

func (e *NotFoundError) Error() string {
	if e.Hint != "" {
		return fmt.Sprintf("%s %q not found: %s", e.Kind, e.Name, e.Hint)
	}
	return fmt.Sprintf("%s %q not found", e.Kind, e.Name)
}

func (e *NotFoundError) Unwrap() error { return e.Err }

func notFound(kind, name string, err error) error {
	return &NotFoundError{Kind: kind, Name: name, Err: err}
}

// IsNotFound reports whether err means that an object does not exist: our typed error,
// govmomi's finder error, or vCenter's ManagedObjectNotFound fault.
func IsNotFound(err error) bool {
	if err == nil {
		return false
	}
	var nf *NotFoundError
	if errors.As(err, &nf) {
		return true
	}
	var fnf *find.NotFoundError
	if errors.As(err, &fnf) {
		return true
	}
	return fault.Is(err, &types.ManagedObjectNotFound{})
}

// wrapNotFound turns a ManagedObjectNotFound fault into a NotFoundError naming the object.
func wrapNotFound(kind, name string, err error) error {
	if err != nil && IsNotFound(err) {
		var nf *NotFoundError
		if errors.As(err, &nf) {
			return err
		}
		return notFound(kind, name, err)
	}
	return err
}

// LessID orders managed object IDs as vCenter numbers them: by type prefix, then by number
// (host-24 before host-101), so that a list sorted by ID keeps its order when IDs grow a digit.
func LessID(a, b string) bool {
	pa, na, oka := splitID(a)
	pb, nb, okb := splitID(b)
	if !oka || !okb || pa != pb {
		return a < b
	}
	if na != nb {
		return na < nb
	}
	return a < b
}

// splitID splits an ID at its trailing digits: "host-24" into "host-" and 24, "group-v3" into
// "group-v" and 3.
func splitID(id string) (string, int, bool) {
	i := len(id)
	for i > 0 && id[i-1] >= '0' && id[i-1] <= '9' {
		i--
	}
	n, err := strconv.Atoi(id[i:])
	return id[:i], n, err == nil && !strings.HasPrefix(id[i:], "+")
}
