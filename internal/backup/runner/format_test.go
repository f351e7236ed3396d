package runner

import (
	"encoding/binary"
	"io"
	"strings"
	"testing"
)

// A disk's format is told from its header: flat unless it starts with a VMDK sparse header,
// which is streamOptimized only with both the compressed and the markers flag.
func TestDiskFormat(t *testing.T) {
	header := func(flags uint32) []byte {
		b := append([]byte("KDMV"), 1, 0, 0, 0)
		return binary.LittleEndian.AppendUint32(b, flags)
	}
	for _, c := range []struct {
		name  string
		first []byte
		want  string
	}{
		{"empty disk", nil, formatFlat},
		{"zeros", make([]byte, 12), formatFlat},
		{"magic alone, short", []byte("KDMV"), formatFlat},
		{"streamOptimized (vCenter's export: 0x30001)", header(0x30001), formatStreamOptimized},
		{"compressed without markers", header(0x10001), formatSparse},
		{"markers without compression", header(0x20001), formatSparse},
		{"monolithicSparse", header(0x3), formatSparse},
		{"header cut before the flags", header(0x30001)[:10], formatSparse},
	} {
		if got := diskFormat(c.first); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

// head keeps the first n bytes however the reads split them, and passes everything through.
func TestHeadKeepsTheFirstBytes(t *testing.T) {
	h := &head{r: io.MultiReader(strings.NewReader("KD"), strings.NewReader("MV-and-the-rest")), n: 6}
	all, err := io.ReadAll(h)
	if err != nil || string(all) != "KDMV-and-the-rest" || string(h.b) != "KDMV-a" {
		t.Fatalf("read %q (%v), kept %q", all, err, h.b)
	}
}
