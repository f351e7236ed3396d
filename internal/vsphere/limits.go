package vsphere

// What vCenter accepts, for the validators that refuse at plan time what vCenter would refuse at
// apply (or, worse, accept and store differently). Sources: the vSphere 8 configuration maximums
// and the vSphere API reference (ManagedEntity.name, VirtualMachineConfigSpec, SharesInfo).
const (
	// MaxNameLength is the longest inventory name (VM, resource pool, folder), in characters.
	MaxNameLength = 80
	// MaxTagNameLength is the longest tag (and category) name, in characters.
	MaxTagNameLength = 256

	// MaxVCPUs is the most virtual CPUs of one VM.
	MaxVCPUs = 768
	// MaxMemoryMB is the most memory of one VM (24 TB), in MB.
	MaxMemoryMB = 24 * 1024 * 1024
	// MemoryMultipleMB: a VM's memory is a whole number of 4 MB pages.
	MemoryMultipleMB = 4
	// MaxDiskGB is the largest virtual disk (62 TB), in GB.
	MaxDiskGB = 62 * 1024
	// MaxVMs is the most VMs registered in one vCenter.
	MaxVMs = 45000

	// MaxPoolCPUMHz and MaxPoolMemoryMB bound a resource pool's reservation and limit. The API
	// takes any 64-bit number, but no cluster holds more than this (96 hosts of 896 logical CPUs
	// at 5 GHz is 430,080,000 MHz; 96 hosts of 24 TB is 2,415,919,104 MB), and the bound keeps the
	// sums of admission far from overflowing.
	MaxPoolCPUMHz   = 1_000_000_000
	MaxPoolMemoryMB = 10_000_000_000
	// MaxShares is the most shares of a custom level: SharesInfo.shares is a 32-bit integer.
	MaxShares = 1<<31 - 1
)
