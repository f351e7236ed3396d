package vsphere

import (
	"errors"
	"fmt"

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
