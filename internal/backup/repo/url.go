package repo

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Location is a parsed repository URL: file:///path or s3://bucket/prefix?endpoint=...&region=....
// It never holds credentials: those come from the environment (AWS_ACCESS_KEY_ID and the like, or
// the SDK's other sources) and never enter Terraform state or vCenter.
type Location struct {
	// Scheme is "file" or "s3".
	Scheme string
	// Path is the directory of a file repository (absolute, cleaned).
	Path string
	// Bucket and Prefix name an S3 repository; Prefix has no leading or trailing slash.
	Bucket, Prefix string
	// Endpoint is an S3-compatible server's URL (MinIO, Ceph, a test server); empty for AWS.
	Endpoint string
	// Region is the bucket's region; empty lets the SDK decide.
	Region string
	// PathStyle asks for path-style S3 addressing (bucket in the path), which most S3-compatible
	// servers need; it is the default when Endpoint is set.
	PathStyle bool
}

// s3Params are the query parameters an s3:// URL accepts.
var s3Params = map[string]bool{"endpoint": true, "region": true, "path_style": true}

// ParseURL checks a repository URL and says what is wrong with it in terms a user can act on.
func ParseURL(raw string) (Location, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return Location{}, errors.New("the repository URL is empty: give file:///path/to/dir or s3://bucket/prefix")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Location{}, fmt.Errorf("the repository URL %q cannot be parsed: %v", raw, err)
	}
	if u.User != nil {
		return Location{}, fmt.Errorf("the repository URL %q carries credentials: remove them, and give them in the environment "+
			"(AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile) so that they never enter Terraform state or vCenter", redact(u))
	}
	switch u.Scheme {
	case "file":
		return parseFile(raw, u)
	case "s3":
		return parseS3(raw, u)
	case "":
		return Location{}, fmt.Errorf("the repository URL %q has no scheme: give file:///path/to/dir or s3://bucket/prefix", raw)
	}
	return Location{}, fmt.Errorf("the repository URL %q has scheme %q: vmgmt stores restore points in file:// or s3:// repositories", raw, u.Scheme)
}

func parseFile(raw string, u *url.URL) (Location, error) {
	if u.Host != "" && u.Host != "localhost" {
		return Location{}, fmt.Errorf("the repository URL %q names host %q: a file repository is a local path, file:///path/to/dir "+
			"(three slashes); mount a network share and give its local path", raw, u.Host)
	}
	if len(u.Query()) > 0 {
		return Location{}, fmt.Errorf("the repository URL %q has query parameters, which a file repository does not take", raw)
	}
	p := u.Path
	if p == "" || !filepath.IsAbs(p) {
		return Location{}, fmt.Errorf("the repository URL %q has no absolute path: give file:///path/to/dir", raw)
	}
	return Location{Scheme: "file", Path: filepath.Clean(p)}, nil
}

func parseS3(raw string, u *url.URL) (Location, error) {
	if u.Host == "" {
		return Location{}, fmt.Errorf("the repository URL %q names no bucket: give s3://bucket/prefix", raw)
	}
	q := u.Query()
	var unknown []string
	for k := range q {
		if !s3Params[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return Location{}, fmt.Errorf("the repository URL %q has unknown parameters %s: an s3:// URL takes endpoint, region and path_style",
			raw, strings.Join(unknown, ", "))
	}
	loc := Location{Scheme: "s3", Bucket: u.Host, Prefix: strings.Trim(path.Clean("/"+u.Path), "/"), Region: q.Get("region")}
	if e := q.Get("endpoint"); e != "" {
		eu, err := url.Parse(e)
		if err != nil || (eu.Scheme != "http" && eu.Scheme != "https") || eu.Host == "" {
			return Location{}, fmt.Errorf("the repository URL %q has endpoint %q: give the S3-compatible server's URL, "+
				"such as https://minio.example.com:9000", raw, e)
		}
		if eu.User != nil {
			return Location{}, fmt.Errorf("the repository URL %q carries credentials in its endpoint: give them in the environment instead", redact(u))
		}
		loc.Endpoint, loc.PathStyle = strings.TrimRight(e, "/"), true
	}
	switch q.Get("path_style") {
	case "":
	case "true":
		loc.PathStyle = true
	case "false":
		loc.PathStyle = false
	default:
		return Location{}, fmt.Errorf("the repository URL %q has path_style=%q: give true or false", raw, q.Get("path_style"))
	}
	return loc, nil
}

// String is the location as a URL, without anything secret (it never holds any).
func (l Location) String() string {
	if l.Scheme == "file" {
		return (&url.URL{Scheme: "file", Path: l.Path}).String()
	}
	u := url.URL{Scheme: "s3", Host: l.Bucket, Path: "/" + l.Prefix}
	q := url.Values{}
	if l.Endpoint != "" {
		q.Set("endpoint", l.Endpoint)
	}
	if l.Region != "" {
		q.Set("region", l.Region)
	}
	if l.Endpoint != "" && !l.PathStyle {
		q.Set("path_style", "false")
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// redact is the URL with its user information replaced, for messages.
func redact(u *url.URL) string {
	c := *u
	if c.User != nil {
		c.User = url.User("REDACTED")
	}
	return c.String()
}
