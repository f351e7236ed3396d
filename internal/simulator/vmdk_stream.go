package simulator

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/vmware/govmomi/vmdk"
)

// errNotStreamOptimized says an upload is not a stream-optimized VMDK: it is stored as it came.
var errNotStreamOptimized = errors.New("not a stream-optimized VMDK")

// Metadata marker types of a stream-optimized VMDK (VMware's Virtual Disk Format 5.0, "Stream-
// Optimized Compressed Sparse Extents").
const (
	markerEOS    = 0
	markerGT     = 1
	markerGD     = 2
	markerFooter = 3
)

// decodeStreamOptimized writes the disk a stream-optimized VMDK holds (what vCenter's export
// serves and its import takes) into dst as a flat image of the disk's capacity: the header, then
// grains (a marker with the grain's sector and compressed size, then the zlib data) and metadata
// markers (grain tables, the grain directory, the footer, each with their sectors, and the end of
// stream), each grain padded to a sector. It reads the stream once, front to back, as vCenter's
// import does. (govmomi's vmdk.StreamOptimizedWriter leaves grains unpadded: its output is not
// read here.) A file that does not start with a compressed sparse header is
// errNotStreamOptimized.
func decodeStreamOptimized(src io.Reader, dst *os.File) error {
	r := bufio.NewReaderSize(src, 1<<20)
	var hdr vmdk.SparseExtentHeaderOnDisk
	if err := binary.Read(r, binary.LittleEndian, &hdr); err != nil {
		return errNotStreamOptimized
	}
	if hdr.MagicNumber != vmdk.SparseMagicNumber || hdr.Flags&vmdk.SparseFlagCompressed == 0 || hdr.Flags&vmdk.SparseFlagEmbeddedLBA == 0 {
		return errNotStreamOptimized
	}
	const sector = vmdk.SectorSize
	capacity := int64(hdr.Capacity) * sector
	grainBytes := int64(hdr.GrainSize) * sector
	if hdr.Overhead < 1 || grainBytes <= 0 || grainBytes > 1<<24 {
		return fmt.Errorf("stream-optimized VMDK: overhead %d sectors, grain %d sectors: not a valid header", hdr.Overhead, hdr.GrainSize)
	}
	if err := dst.Truncate(capacity); err != nil {
		return err
	}
	pos := int64(binary.Size(hdr))
	skip := func(n int64) error {
		d, err := io.CopyN(io.Discard, r, n)
		pos += d
		return err
	}
	if err := skip(int64(hdr.Overhead)*sector - pos); err != nil {
		return fmt.Errorf("stream-optimized VMDK: reading its metadata: %w", err)
	}
	grain := make([]byte, grainBytes)
	var compressed bytes.Buffer
	for {
		var marker struct {
			LBA  uint64
			Size uint32
		}
		if err := binary.Read(r, binary.LittleEndian, &marker); err != nil {
			return fmt.Errorf("stream-optimized VMDK: no end-of-stream marker: %w", err)
		}
		pos += 12
		if marker.Size == 0 {
			var rest struct {
				Type uint32
				Pad  [496]byte
			}
			if err := binary.Read(r, binary.LittleEndian, &rest); err != nil {
				return fmt.Errorf("stream-optimized VMDK: a metadata marker cut short: %w", err)
			}
			pos += 500
			switch rest.Type {
			case markerEOS:
				return nil
			case markerGT, markerGD, markerFooter:
				if err := skip(int64(marker.LBA) * sector); err != nil {
					return fmt.Errorf("stream-optimized VMDK: metadata cut short: %w", err)
				}
				continue
			}
			return fmt.Errorf("stream-optimized VMDK: unknown marker type %d", rest.Type)
		}
		compressed.Reset()
		if _, err := io.CopyN(&compressed, r, int64(marker.Size)); err != nil {
			return fmt.Errorf("stream-optimized VMDK: grain at sector %d cut short: %w", marker.LBA, err)
		}
		pos += int64(marker.Size)
		zr, err := zlib.NewReader(&compressed)
		if err != nil {
			return fmt.Errorf("stream-optimized VMDK: grain at sector %d: %w", marker.LBA, err)
		}
		n, err := io.ReadFull(zr, grain)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("stream-optimized VMDK: grain at sector %d: %w", marker.LBA, err)
		}
		off := int64(marker.LBA) * sector
		if off+int64(n) > capacity {
			return fmt.Errorf("stream-optimized VMDK: grain at sector %d lies beyond the disk's %d bytes", marker.LBA, capacity)
		}
		if _, err := dst.WriteAt(grain[:n], off); err != nil {
			return err
		}
		// Every grain is padded to its sector.
		if rem := pos % sector; rem != 0 {
			if err := skip(sector - rem); err != nil {
				return fmt.Errorf("stream-optimized VMDK: grain at sector %d: its padding cut short: %w", marker.LBA, err)
			}
		}
	}
}

// StreamOptimized encodes a flat disk image as a stream-optimized VMDK as vCenter's export writes
// one: a compressed sparse header, a descriptor sector, every grain that is not all zeros (a
// marker, its zlib data, padded to a sector), a grain table and a footer, each behind its marker,
// and the end-of-stream marker. Tests hand it to an import lease to stand for a vCenter-made
// restore point. capacity (bytes, a multiple of 512) may exceed len(raw): the rest reads as
// zeros.
func StreamOptimized(raw []byte, capacity int64) ([]byte, error) {
	const sector = vmdk.SectorSize
	if capacity%sector != 0 || int64(len(raw)) > capacity {
		return nil, fmt.Errorf("capacity %d: want a multiple of %d, at least the %d bytes of the image", capacity, sector, len(raw))
	}
	var b bytes.Buffer
	pad := func() { b.Write(make([]byte, (sector-b.Len()%sector)%sector)) }
	hdr := vmdk.SparseExtentHeaderOnDisk{
		MagicNumber: vmdk.SparseMagicNumber, Version: 3,
		Flags:    vmdk.SparseFlagCompressed | vmdk.SparseFlagEmbeddedLBA | vmdk.SparseFlagValidNewlineDetector,
		Capacity: uint64(capacity / sector), GrainSize: vmdk.GrainSize, DescriptorOffset: 1, DescriptorSize: 1,
		NumGTEsPerGT: 512, GDOffset: ^uint64(0), Overhead: 2, CompressAlgorithm: 1,
		SingleEndLine: '\n', NonEndLine: ' ', DoubleEndLineChar1: '\r', DoubleEndLineChar2: '\n',
	}
	if err := binary.Write(&b, binary.LittleEndian, &hdr); err != nil {
		return nil, err
	}
	b.WriteString("# Disk DescriptorFile\nversion=1\ncreateType=\"streamOptimized\"\n")
	pad()
	grain := int(vmdk.GrainSize * sector)
	for off := 0; off < len(raw); off += grain {
		chunk := raw[off:min(off+grain, len(raw))]
		if bytes.Count(chunk, []byte{0}) == len(chunk) {
			continue
		}
		var z bytes.Buffer
		zw := zlib.NewWriter(&z)
		if _, err := zw.Write(chunk); err != nil {
			return nil, err
		}
		if err := zw.Close(); err != nil {
			return nil, err
		}
		_ = binary.Write(&b, binary.LittleEndian, struct {
			LBA  uint64
			Size uint32
		}{uint64(off / sector), uint32(z.Len())})
		b.Write(z.Bytes())
		pad()
	}
	meta := func(kind uint32, sectors uint64) {
		_ = binary.Write(&b, binary.LittleEndian, vmdk.SparseMetaDataMarkerOnDisk{NumSectors: sectors, SectorType: kind})
		b.Write(make([]byte, sectors*sector))
	}
	meta(markerGT, 4)
	meta(markerGD, 1)
	meta(markerFooter, 1)
	meta(markerEOS, 0)
	return b.Bytes(), nil
}
