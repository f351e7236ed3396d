package simulator

import (
	"fmt"
	"math/rand/v2"
	"os"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

// BigDiskVM is the seeded workload whose disk holds data: its flat extent on the datastore is a
// sparse file of Options.BigDiskSize bytes with BigDiskExtents written in it, so an export of it
// moves real bytes and a hash of them means something. The other VMs' flat extents are empty.
const BigDiskVM = "erp-db01"

// DefaultBigDiskSize is BigDiskVM's disk size when Options.BigDiskSize is zero. The file is
// sparse: it costs the datastore's filesystem only the few MB of BigDiskExtents.
const DefaultBigDiskSize int64 = 4 << 30

// bigDiskChunk is the size of each extent of data in the big disk.
const bigDiskChunk = 1 << 20

// bigDiskSize is the size of BigDiskVM's disk for the size asked for: the default for zero,
// rounded up to whole MiB (a disk's capacity is in KB, its descriptor's in sectors).
func bigDiskSize(asked int64) int64 {
	if asked <= 0 {
		asked = DefaultBigDiskSize
	}
	return (asked + 1<<20 - 1) &^ (1<<20 - 1)
}

// BigDiskExtents are the offsets and lengths of the non-zero data in a big disk of size bytes:
// the first and the last MiB, and one MiB at a third and at two thirds of the disk (aligned to
// 4 KiB), fewer when the disk is too small to hold four apart. The rest reads as zeros.
func BigDiskExtents(size int64) [][2]int64 {
	size = bigDiskSize(size)
	var out [][2]int64
	next := int64(0)
	for _, off := range []int64{0, size / 3 &^ 4095, 2 * size / 3 &^ 4095, size - bigDiskChunk} {
		if off < next {
			continue
		}
		out = append(out, [2]int64{off, bigDiskChunk})
		next = off + bigDiskChunk
	}
	return out
}

// writeBigDisk gives BigDiskVM's disk its flat extent: a sparse file of the disk's size, beside
// the descriptor that names it, with deterministic pseudo-random data at BigDiskExtents.
func (s *Sim) writeBigDisk(size int64) error {
	files, err := s.diskDescriptors(BigDiskVM)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		return fmt.Errorf("%s has %d disks, want 1", BigDiskVM, len(files))
	}
	flat := simulator.VirtualDiskBackingFileName(files[0])
	f, err := os.OpenFile(flat, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("creating the flat extent of %s: %w", BigDiskVM, err)
	}
	defer func() { _ = f.Close() }()
	size = bigDiskSize(size)
	if err := f.Truncate(size); err != nil {
		return fmt.Errorf("sizing the flat extent of %s: %w", BigDiskVM, err)
	}
	src := rand.NewChaCha8([32]byte{'v', 'm', 'g', 'm', 't'})
	buf := make([]byte, bigDiskChunk)
	for _, e := range BigDiskExtents(size) {
		_, _ = src.Read(buf)
		if _, err := f.WriteAt(buf[:e[1]], e[0]); err != nil {
			return fmt.Errorf("writing the flat extent of %s: %w", BigDiskVM, err)
		}
	}
	return f.Close()
}

// DiskFiles returns, for each disk of a VM of the simulator in device order, the host file that
// its export lease serves: the flat extent (empty but for BigDiskVM's), or the descriptor of a
// disk that has none. Tests hash these files to compare with what an export delivered.
func (s *Sim) DiskFiles(vmName string) ([]string, error) {
	files, err := s.diskDescriptors(vmName)
	for i := range files {
		files[i] = dataFile(files[i])
	}
	return files, err
}

// DiskFilesByID is DiskFiles of the VM with this managed object ID: a restored VM may share its
// name with the VM it copies.
func (s *Sim) DiskFilesByID(id string) ([]string, error) {
	files, err := s.descriptorsOf(func(vm *simulator.VirtualMachine) bool { return vm.Self.Value == id }, id)
	for i := range files {
		files[i] = dataFile(files[i])
	}
	return files, err
}

// diskDescriptors returns the host file of each disk descriptor of a VM, in device order.
func (s *Sim) diskDescriptors(vmName string) ([]string, error) {
	return s.descriptorsOf(func(vm *simulator.VirtualMachine) bool { return vm.Name == vmName }, vmName)
}

// descriptorsOf returns the host file of each disk descriptor of the first VM it picks, in
// device order.
func (s *Sim) descriptorsOf(is func(*simulator.VirtualMachine) bool, vmName string) ([]string, error) {
	m := s.model.Map()
	for _, e := range m.All("VirtualMachine") {
		vm, ok := e.(*simulator.VirtualMachine)
		if !ok || !is(vm) || vm.Config == nil {
			continue
		}
		var files []string
		for _, d := range object.VirtualDeviceList(vm.Config.Hardware.Device).SelectByType((*types.VirtualDisk)(nil)) {
			b, ok := d.GetVirtualDevice().Backing.(types.BaseVirtualDeviceFileBackingInfo)
			if !ok {
				continue
			}
			desc, fault := hostPath(m, b.GetVirtualDeviceFileBackingInfo().FileName)
			if fault != nil {
				return nil, fmt.Errorf("disk of %s: %T", vmName, fault)
			}
			files = append(files, desc)
		}
		return files, nil
	}
	return nil, fmt.Errorf("no VM %s in the simulator", vmName)
}
