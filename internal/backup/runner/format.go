package runner

import (
	"encoding/binary"
	"io"
)

// head passes a stream through and keeps its first n bytes, so that what was stored can be told
// by its magic: a host's bundle must be gzip, a disk's format is in its header.
type head struct {
	r io.Reader
	n int
	b []byte
}

func (h *head) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if need := h.n - len(h.b); need > 0 {
		h.b = append(h.b, p[:min(n, need)]...)
	}
	return n, err
}

// Disk formats a manifest records, from the stored bytes' header.
const (
	// formatFlat is a raw disk image: the disk's bytes as the guest sees them (what the
	// simulator's export serves, the flat extent).
	formatFlat = "flat"
	// formatStreamOptimized is a VMDK in the streamOptimized format (compressed grains with
	// markers), what vCenter's export serves: it is imported as it is (ImportVApp, or
	// vmkfstools), not written to a flat extent.
	formatStreamOptimized = "vmdk-stream-optimized"
	// formatSparse is another VMDK sparse extent (monolithicSparse).
	formatSparse = "vmdk-sparse"
)

// diskFormat tells a disk's stored format from its first bytes: a VMDK sparse header starts
// with "KDMV" and a little-endian flags word whose bits 16 (compressed grains) and 17 (markers)
// make it streamOptimized; anything else is a flat image.
func diskFormat(first []byte) string {
	if len(first) < 8 || string(first[:4]) != "KDMV" {
		return formatFlat
	}
	if len(first) >= 12 {
		flags := binary.LittleEndian.Uint32(first[8:12])
		if flags&(1<<16) != 0 && flags&(1<<17) != 0 {
			return formatStreamOptimized
		}
	}
	return formatSparse
}
