package vsphere

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Crash-safe creates. An apply can be killed at any point: before, during or after the vCenter
// call that makes an object, or after it while the object is finished (resized, customized,
// tagged, powered on), or while Terraform writes its state. The rerun plans the object again and
// must end with exactly one of it, never a duplicate and never an orphan. So every object vmgmt
// creates carries, from the very call that creates it, a stamp naming its Request; a create finds
// an object of its name already there and
//   - adopts it when the stamp is its own request's (it finishes what the interrupted create did
//     not, and the caller warns, naming the object);
//   - refuses it otherwise (ForeignObjectError: vmgmt did not make it for this request).
//
// Where the creating call can carry a stamp (a clone's extraConfig), the stamp is the request's
// token. Where it cannot (a content library deploy, a resource pool), the object is created under
// its Request's PendingName, which is the stamp, then stamped and renamed to its real name.

// StampRequest is the extraConfig key (VMs) or custom attribute (other objects) that holds the
// token of the request that created an object.
const StampRequest = "vmgmt.request"

// pendingPrefix starts the name an object carries until its create is finished.
const pendingPrefix = "vmgmt-creating-"

// Request identifies one create request across runs: the same configuration planned again (after
// an interruption, or after Terraform lost its state) is the same request; a request that differs
// in anything that identifies the object (its name, where it lives, what it is made from, whose
// it is) is another.
type Request struct {
	// Token is derived from the identifying fields; it is what the object is stamped with.
	Token string
}

// NewRequest derives a request from the kind of object and the fields that identify it.
func NewRequest(kind string, fields ...string) Request {
	h := sha256.New()
	h.Write([]byte("vmgmt-request/v1"))
	for _, f := range append([]string{kind}, fields...) {
		h.Write([]byte{0})
		h.Write([]byte(f))
	}
	return Request{Token: hex.EncodeToString(h.Sum(nil))[:32]}
}

// PendingName is the name an object carries between the call that creates it and the call that
// gives it its real name, when the creating call cannot carry a stamp.
func (r Request) PendingName() string { return pendingPrefix + r.Token[:16] }

// IsZero reports whether no request was given (a create that is not crash-safe).
func (r Request) IsZero() bool { return r.Token == "" }

// IsPendingName reports whether a name is a PendingName of some request.
func IsPendingName(name string) bool { return strings.HasPrefix(name, pendingPrefix) }

// ForeignObjectError means that the object a create would make already exists and was not made
// by vmgmt for this request, so it is not adopted.
type ForeignObjectError struct {
	Kind string // "virtual machine", "resource pool", ...
	Name string
	ID   string // managed object ID of the existing object
	Path string // its inventory path
	// Stamped says that it carries another request's stamp (vmgmt made it for another request).
	Stamped bool
}

func (e *ForeignObjectError) Error() string {
	why := "it carries no vmgmt request stamp (" + StampRequest + "), so vmgmt did not create it"
	if e.Stamped {
		why = "vmgmt created it for a different request (another item, version, owner, folder, pool or customization)"
	}
	return fmt.Sprintf("a %s named %q already exists at %s (%s): %s, and it is not adopted", e.Kind, e.Name, e.Path, e.ID, why)
}

// Created is the outcome of a crash-safe create.
type Created struct {
	ID string
	// Adopted is set when the object existed already, made by an interrupted create of the same
	// request; Finished lists what was done to finish it.
	Adopted  bool
	Finished []string
}
