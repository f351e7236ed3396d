package repo

import (
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	good := map[string]Location{
		"file:///var/backups/vmgmt":      {Scheme: "file", Path: "/var/backups/vmgmt"},
		"file:///var/backups/vmgmt/../x": {Scheme: "file", Path: "/var/backups/x"},
		"file://localhost/srv/b":         {Scheme: "file", Path: "/srv/b"},
		"s3://bk":                        {Scheme: "s3", Bucket: "bk"},
		"s3://bk/":                       {Scheme: "s3", Bucket: "bk"},
		"s3://bk/vmgmt/prod/":            {Scheme: "s3", Bucket: "bk", Prefix: "vmgmt/prod"},
		"s3://bk/p?region=eu-west-1":     {Scheme: "s3", Bucket: "bk", Prefix: "p", Region: "eu-west-1"},
		"s3://bk/p?endpoint=http://127.0.0.1:9000&region=us-east-1": {Scheme: "s3", Bucket: "bk", Prefix: "p",
			Endpoint: "http://127.0.0.1:9000", Region: "us-east-1", PathStyle: true},
		"s3://bk/p?endpoint=https://s3.example.com/&path_style=false": {Scheme: "s3", Bucket: "bk", Prefix: "p",
			Endpoint: "https://s3.example.com"},
	}
	for raw, want := range good {
		got, err := ParseURL(raw)
		if err != nil {
			t.Errorf("ParseURL(%q): %v", raw, err)
			continue
		}
		if got != want {
			t.Errorf("ParseURL(%q) = %+v, want %+v", raw, got, want)
		}
		again, err := ParseURL(got.String())
		if err != nil || again != got {
			t.Errorf("ParseURL(%q.String() = %q) = %+v, %v: not the same location", raw, got.String(), again, err)
		}
	}
	bad := map[string]string{
		"":                                "empty",
		"/var/backups":                    "no scheme",
		"ftp://host/x":                    `scheme "ftp"`,
		"file://nas/backups":              `names host "nas"`,
		"file://":                         "no absolute path",
		"file:///x?y=1":                   "query parameters",
		"s3:///prefix":                    "names no bucket",
		"s3://AKIA:secret@bk/p":           "carries credentials",
		"s3://bk/p?acl=public":            "unknown parameters acl",
		"s3://bk/p?endpoint=minio:9000":   `has endpoint "minio:9000"`,
		"s3://bk/p?path_style=yes":        `path_style="yes"`,
		"s3://bk/p?endpoint=http://u:p@h": "credentials in its endpoint",
	}
	for raw, want := range bad {
		_, err := ParseURL(raw)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseURL(%q) = %v, want an error containing %q", raw, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("ParseURL(%q) error shows the secret: %v", raw, err)
		}
	}
}
