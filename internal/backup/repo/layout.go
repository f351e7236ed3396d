package repo

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Names of the files every restore point holds besides its data files.
const (
	// ManifestFile describes the point; its presence is what makes a point complete.
	ManifestFile = "manifest.json"
	// SumsFile lists the SHA-256 of every data file, in the format of sha256sum(1).
	SumsFile = "SHA256SUMS"
	// HostBundleFile is the configuration bundle of a host point.
	HostBundleFile = "configBundle.tgz"
)

// hostsDir is the directory, beside the VM directories of a job, that holds the host points.
const hostsDir = "hosts"

// pointTimeLayout is the time part of a point ID: UTC to the millisecond, sortable as text, so
// that two points of a VM taken within one second still sort newest first.
const pointTimeLayout = "20060102T150405.000Z"

// pointSecondLayout is the time part of a point ID without milliseconds, which is also read.
const pointSecondLayout = "20060102T150405Z"

// pointIDPattern matches a point ID; anything else in a job's tree is not a restore point.
var pointIDPattern = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}(\.[0-9]{3})?Z-[0-9a-f]{6}$`)

// fileNamePattern is what a data file in a point may be called: one plain path element.
var fileNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// Point names one restore point: a VM's or a host's, in a job.
type Point struct {
	Job string
	// VM is the VM's name for a VM point; empty for a host point.
	VM string
	// Host is the host's name for a host point; empty for a VM point.
	Host string
	// ID is the point's ID, "20261202T031500.123Z-1a2b3c": its creation time to the millisecond
	// (IDs of a second, "20261202T031500Z-1a2b3c", are read too), then a random part.
	ID string
	// Time is the creation time encoded in ID.
	Time time.Time
}

// IsHost says whether the point is a host configuration backup.
func (p Point) IsHost() bool { return p.Host != "" }

// String names the point for messages: job/vm/id or job/hosts/host/id, unescaped.
func (p Point) String() string {
	if p.IsHost() {
		return p.Job + "/" + hostsDir + "/" + p.Host + "/" + p.ID
	}
	return p.Job + "/" + p.VM + "/" + p.ID
}

// dir is the point's key prefix inside the repository, ending in a slash.
func (p Point) dir() string {
	return subjectDir(p.Job, p.VM, p.Host) + p.ID + "/"
}

// subjectDir is the key prefix of a VM's or a host's points in a job, ending in a slash.
func subjectDir(job, vm, host string) string {
	if host != "" {
		return escapeName(job) + "/" + hostsDir + "/" + escapeName(host) + "/"
	}
	return escapeName(job) + "/" + escapeVM(vm) + "/"
}

// newPointID makes the ID of a point created at at: sortable by time, unique by its random part.
func newPointID(at time.Time) (string, error) {
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("making a restore point ID: %w", err)
	}
	return at.UTC().Format(pointTimeLayout) + "-" + hex.EncodeToString(b[:]), nil
}

// pointTime is the creation time a point ID encodes.
func pointTime(id string) (time.Time, bool) {
	if !pointIDPattern.MatchString(id) {
		return time.Time{}, false
	}
	stamp := id[:strings.LastIndexByte(id, '-')]
	layout := pointTimeLayout
	if len(stamp) == len(pointSecondLayout) {
		layout = pointSecondLayout
	}
	t, err := time.Parse(layout, stamp)
	return t, err == nil
}

// escapeName makes a job, VM or host name one safe path element, reversibly: ASCII letters,
// digits, '-', '_' and '.' stay, every other byte becomes %XX (as in a URL), and so do the dots
// of "." and "..". A name with '/', spaces or any Unicode is then safe in a path and an S3 key,
// and url.PathUnescape (or any URL decoder) gives it back.
func escapeName(s string) string {
	if s == "." || s == ".." {
		return strings.Repeat("%2E", len(s))
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// escapeVM is escapeName for a VM, with its first letter escaped too when the VM is named like the
// hosts directory, so that a VM called "hosts" never shares a directory with the host points.
func escapeVM(s string) string {
	e := escapeName(s)
	if e == hostsDir {
		return fmt.Sprintf("%%%02X", e[0]) + e[1:]
	}
	return e
}

// unescapeName reverses escapeName and escapeVM.
func unescapeName(s string) (string, bool) {
	u, err := url.PathUnescape(s)
	return u, err == nil
}

// parsePointKey splits a key below a job's directory (the job part already removed) into the
// point it belongs to and the file name: "<vm>/<id>/<file>" or "hosts/<host>/<id>/<file>".
func parsePointKey(job, rest string) (Point, string, bool) {
	parts := strings.Split(rest, "/")
	p := Point{Job: job}
	var ok bool
	switch {
	case len(parts) == 4 && parts[0] == hostsDir:
		p.Host, ok = unescapeName(parts[1])
		parts = parts[2:]
	case len(parts) == 3 && parts[0] != hostsDir:
		p.VM, ok = unescapeName(parts[0])
		parts = parts[1:]
	}
	if !ok || parts[1] == "" {
		return Point{}, "", false
	}
	p.ID = parts[0]
	if p.Time, ok = pointTime(p.ID); !ok {
		return Point{}, "", false
	}
	return p, parts[1], true
}

// checkFileName says whether name may be a data file of a point.
func checkFileName(name string) error {
	if name == ManifestFile || name == SumsFile {
		return fmt.Errorf("%q is written by Commit, not as a data file", name)
	}
	if !fileNamePattern.MatchString(name) || strings.HasSuffix(name, ".tmp") {
		return fmt.Errorf("%q is not a valid file name in a restore point: use letters, digits, '.', '_' and '-', "+
			"such as disk-2000.vmdk", name)
	}
	return nil
}

// CheckPointID says what is wrong with a restore point ID, nil when it is one.
func CheckPointID(id string) error {
	if !pointIDPattern.MatchString(id) {
		return fmt.Errorf("%q is not a restore point ID (they look like 20261202T031500.123Z-1a2b3c: `backup list` shows them)", id)
	}
	return nil
}
