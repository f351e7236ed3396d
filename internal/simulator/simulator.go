// Package simulator runs govmomi's vCenter simulator (vcsim) with the demo inventory that vmgmt's
// tests and `make demo` use: a production cluster with real-looking capacity, template VMs,
// distributed port groups, VM folders and tag categories. It is never linked into the provider.
package simulator

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/url"
	"sync"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	// Registers the vAPI (REST) endpoints: tagging and content library.
	_ "github.com/vmware/govmomi/vapi/simulator"
)

// Fixed credentials of the simulator.
const (
	DefaultUser     = "administrator@vsphere.local"
	DefaultPassword = "VMware1!"
)

// The seeded inventory. Tests and examples refer to these names.
const (
	Datacenter     = "dc1"
	Cluster        = "prod"
	ClusterPath    = "/" + Datacenter + "/host/" + Cluster
	RootPoolPath   = ClusterPath + "/Resources"
	DVSwitch       = "dvs-prod"
	TemplateFolder = "templates"
	WorkloadFolder = "workloads"
	// RecoveryFolder is an empty VM folder, and IsolatedPortGroup a port group no VM is on:
	// where restore tests put their copies, apart from production.
	RecoveryFolder    = "recovery"
	IsolatedPortGroup = "pg-isolated"

	// Hosts and their hardware: 4 hosts x 32 cores x 2600 MHz, 512 GiB each.
	HostCount      = 4
	HostCores      = 32
	HostCoreMHz    = 2600
	HostMemoryMB   = 512 * 1024
	ClusterCPUMHz  = HostCount * HostCores * HostCoreMHz // 332800
	ClusterMemMB   = HostCount * HostMemoryMB            // 2097152
	clusterMemByte = int64(ClusterMemMB) * 1024 * 1024
)

// Templates are the template VMs in the templates folder: golden images, and the builds of them
// that the demo's catalog items publish on (one item per template).
var Templates = []string{"rhel9-base", "win2022-base", "rhel9-app", "rhel9-web"}

// PortGroups are the distributed port groups on the DV switch.
var PortGroups = []string{"pg-app", "pg-db", "pg-web"}

// Workloads are ordinary powered-on VMs in the workloads folder.
var Workloads = []string{"erp-db01", "erp-app01", "web01"}

// WorkloadPortGroups maps each of Workloads to the port group of its one NIC: each tier on its own
// network, so a port group's security policy reaches one tier. Templates use PortGroups[0].
var WorkloadPortGroups = map[string]string{"erp-db01": "pg-db", "erp-app01": "pg-app", "web01": "pg-web"}

// HardwareVersion is the virtual hardware of every seeded VM and template (vSphere 8.0 U2's), with
// UEFI firmware: what the scg-8 pack's hardware version and secure boot controls ask for.
const HardwareVersion = "vmx-21"

// Library is the local content library on the seeded datastore.
const Library = "vmgmt-library"

// LibraryFolder is the VM folder that holds the backing templates of Library's vm-template items,
// apart from the templates folder: an item's backing VM would otherwise clash by name with, or be
// counted among, the templates there.
const LibraryFolder = "content-library"

// LibraryTemplate is a vm-template item of Library and the template it was published from.
type LibraryTemplate struct {
	Item     string // item name; its path is Library + "/" + Item
	Template string // the template in TemplateFolder it was made from
}

// LibraryItems are the vm-template items of Library.
var LibraryItems = []LibraryTemplate{{Item: "rhel9-base-vmtx", Template: "rhel9-base"}}

// SeededTemplates counts the template VMs of the seeded inventory: Templates, and the templates
// backing LibraryItems.
func SeededTemplates() int { return len(Templates) + len(LibraryItems) }

// SeededVMs counts the VMs and templates of the seeded inventory.
func SeededVMs() int { return SeededTemplates() + len(Workloads) }

// TagCategories maps each seeded tag category to its tags.
var TagCategories = map[string][]string{
	"tier":          {"tier-1", "tier-2", "tier-3"},
	"environment":   {"production", "staging", "development"},
	"backup-policy": {"gold", "silver", "bronze"},
}

// Principal is a user or group of the simulator's directory, as RetrieveUserGroups finds it.
type Principal struct {
	Name     string // DOMAIN\name, e.g. VSPHERE.LOCAL\alice
	Group    bool
	FullName string
}

// Principals are the users and groups the simulator's directory knows besides vcsim's own (root
// and admin, in no domain). Start copies them, so a test that changes this list changes only the
// simulators it starts afterwards.
var Principals = []Principal{
	{Name: `VSPHERE.LOCAL\db-admins`, Group: true, FullName: "Database administrators"},
	{Name: `VSPHERE.LOCAL\app-operators`, Group: true, FullName: "Application operators"},
	{Name: `VSPHERE.LOCAL\auditors`, Group: true, FullName: "Read-only auditors"},
	{Name: `VSPHERE.LOCAL\platform-team`, Group: true, FullName: "Platform team"},
	{Name: `VSPHERE.LOCAL\alice`, FullName: "Alice Anders"},
	{Name: `VSPHERE.LOCAL\bob`, FullName: "Bob Berg"},
	{Name: `VSPHERE.LOCAL\carol`, FullName: "Carol Chen"},
	{Name: `VSPHERE.LOCAL\mallory`, FullName: "Mallory Mills"},
	{Name: `CORP.EXAMPLE\jdoe`, FullName: "John Doe"},
	{Name: `CORP.EXAMPLE\contractors`, Group: true, FullName: "External contractors"},
}

// Options configures Start.
type Options struct {
	// Addr is the loopback address to listen on; empty means a free port on 127.0.0.1.
	Addr     string
	User     string
	Password string
	// ExtraVMs adds that many bare VMs in BulkFolder to the seeded inventory (for benchmarks).
	ExtraVMs int
	// BigDiskSize is the size in bytes of BigDiskVM's disk, whose data an export serves; zero
	// means DefaultBigDiskSize. The file is sparse, so its size costs no disk space.
	BigDiskSize int64
}

// Sim is a running simulator.
type Sim struct {
	model  *simulator.Model
	server *simulator.Server
	// exports are the export leases the simulator made.
	exports *diskExports
	// imports are the import leases the simulator made.
	imports *diskImports
	// firmware serves the hosts' configuration bundles.
	firmware *firmwareStore
	// URL is the SDK URL without credentials, e.g. https://127.0.0.1:8989/sdk.
	URL      *url.URL
	User     string
	Password string
}

// createMu serializes vcsim's Model.Create, which writes package globals (the license manager's
// evaluation license) that another simulator being created in the same process reads: tests start
// simulators in parallel, and `go test -race` reported it.
var createMu sync.Mutex

// Start creates the inventory, serves it over TLS on a loopback port and seeds it.
func Start(ctx context.Context, opts Options) (*Sim, error) {
	if opts.User == "" {
		opts.User = DefaultUser
	}
	if opts.Password == "" {
		opts.Password = DefaultPassword
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	model := simulator.VPX()
	model.Datacenter = 1
	model.Cluster = 1
	model.ClusterHost = HostCount
	model.Host = 0
	model.Pool = 0
	model.Machine = 0
	model.Datastore = 1
	model.Portgroup = 1
	model.Autostart = true
	createMu.Lock()
	err := model.Create()
	createMu.Unlock()
	if err != nil {
		model.Remove()
		return nil, fmt.Errorf("creating the simulator inventory: %w", err)
	}
	sizeCluster(model)
	nameSwitches(model)
	fixPools(model)
	seedHostOptions(model)
	checkHostOptionUpdates(model) // after fixPools, which sets the registry's handler outright
	cloneFirmware(model)
	liveViews(model)
	seedDirectory(model, Principals)
	fillPrivilegeList(model)
	firmware := addFirmwareSystems(model) // before NewServer, which mounts its HTTP handler
	exports := serveDiskExports(model)
	imports := serveDiskImports(model)

	model.Service.RegisterEndpoints = true
	model.Service.TLS = new(tls.Config)
	model.Service.Listen = &url.URL{Host: opts.Addr, User: url.UserPassword(opts.User, opts.Password)}
	server := model.Service.NewServer()

	u := *server.URL
	u.User = nil
	s := &Sim{model: model, server: server, exports: exports, imports: imports, firmware: firmware, URL: &u, User: opts.User, Password: opts.Password}
	if err := s.seed(ctx, opts.ExtraVMs, opts.BigDiskSize); err != nil {
		s.Close()
		return nil, fmt.Errorf("seeding the simulator inventory: %w", err)
	}
	return s, nil
}

// Close stops the server and removes the simulator's temporary datastore files.
func (s *Sim) Close() {
	if s.server != nil {
		s.server.Close()
	}
	if s.model != nil {
		s.model.Remove()
	}
}

// Env returns the environment variables the provider reads to reach this simulator.
func (s *Sim) Env() map[string]string {
	return map[string]string{
		"VSPHERE_SERVER":               s.URL.Host,
		"VSPHERE_USER":                 s.User,
		"VSPHERE_PASSWORD":             s.Password,
		"VSPHERE_ALLOW_UNVERIFIED_SSL": "true",
	}
}

// Connect opens a new authenticated govmomi client to the simulator (for tests and seeding).
// Log it out when done, or it counts as a session.
func (s *Sim) Connect(ctx context.Context) (*govmomi.Client, error) {
	u := *s.URL
	u.User = url.UserPassword(s.User, s.Password)
	return govmomi.NewClient(ctx, &u, true)
}

// SessionCount returns the number of sessions the simulator holds, not counting the one this
// call opens to ask (it is logged out before returning).
func (s *Sim) SessionCount(ctx context.Context) (int, error) {
	c, err := s.Connect(ctx)
	if err != nil {
		return 0, err
	}
	defer func() { _ = c.Logout(ctx) }()
	var sm mo.SessionManager
	if err := c.PropertyCollector().RetrieveOne(ctx, *c.ServiceContent.SessionManager, []string{"sessionList"}, &sm); err != nil {
		return 0, err
	}
	return len(sm.SessionList) - 1, nil
}

// sizeCluster gives the hosts, cluster and root pool real-looking capacity. vcsim's defaults are a
// single 2-core host worth of capacity, and it never recomputes the root pool.
func sizeCluster(model *simulator.Model) {
	m := model.Map()
	for _, e := range m.All("HostSystem") {
		h := e.(*simulator.HostSystem)
		hw := h.Summary.Hardware
		if hw == nil {
			continue
		}
		hw.CpuMhz = HostCoreMHz
		hw.NumCpuCores = HostCores
		hw.NumCpuThreads = 2 * HostCores
		hw.NumCpuPkgs = 2
		hw.MemorySize = int64(HostMemoryMB) * 1024 * 1024
		if h.Hardware != nil {
			h.Hardware.CpuInfo.NumCpuCores = HostCores
			h.Hardware.CpuInfo.NumCpuThreads = 2 * HostCores
			h.Hardware.CpuInfo.NumCpuPackages = 2
			h.Hardware.CpuInfo.Hz = HostCoreMHz * 1000 * 1000
			h.Hardware.MemorySize = int64(HostMemoryMB) * 1024 * 1024
		}
	}
	for _, e := range m.All("ClusterComputeResource") {
		c := e.(*simulator.ClusterComputeResource)
		if s, ok := c.Summary.(*types.ClusterComputeResourceSummary); ok {
			s.TotalCpu = ClusterCPUMHz
			s.EffectiveCpu = ClusterCPUMHz
			s.TotalMemory = clusterMemByte
			s.EffectiveMemory = ClusterMemMB
			s.NumCpuCores = HostCount * HostCores
			s.NumCpuThreads = 2 * HostCount * HostCores
		}
		if c.ResourcePool == nil {
			continue
		}
		rp, ok := m.Get(*c.ResourcePool).(*simulator.ResourcePool)
		if !ok {
			continue
		}
		setRootAllocation(&rp.Config.CpuAllocation, ClusterCPUMHz)
		setRootAllocation(&rp.Config.MemoryAllocation, ClusterMemMB)
		rp.Runtime.Cpu = types.ResourcePoolResourceUsage{MaxUsage: ClusterCPUMHz, UnreservedForPool: ClusterCPUMHz, UnreservedForVm: ClusterCPUMHz}
		rp.Runtime.Memory = types.ResourcePoolResourceUsage{MaxUsage: clusterMemByte, UnreservedForPool: clusterMemByte, UnreservedForVm: clusterMemByte}
	}
}

// nameSwitches names the distributed switch; vcsim does not implement Rename_Task for switches.
func nameSwitches(model *simulator.Model) {
	for _, e := range model.Map().All("DistributedVirtualSwitch") {
		if d, ok := e.(*simulator.DistributedVirtualSwitch); ok {
			d.Name = DVSwitch
			if c := d.Config.GetDVSConfigInfo(); c != nil {
				c.Name = DVSwitch
			}
			if d.Summary.Name != "" {
				d.Summary.Name = DVSwitch
			}
		}
	}
}

func setRootAllocation(a *types.ResourceAllocationInfo, capacity int64) {
	a.Reservation = types.NewInt64(capacity)
	a.Limit = types.NewInt64(capacity)
	a.ExpandableReservation = types.NewBool(false)
	a.Shares = &types.SharesInfo{Level: types.SharesLevelNormal, Shares: 4000}
}

// seed shapes the inventory through the API, as an administrator would.
func (s *Sim) seed(ctx context.Context, extraVMs int, bigDisk int64) error {
	c, err := s.Connect(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = session.NewManager(c.Client).Logout(ctx) }()
	sd := &seeder{c: c, user: url.UserPassword(s.User, s.Password), bigDisk: bigDiskSize(bigDisk)}
	steps := []func(context.Context) error{
		sd.rename,
		sd.folders,
		sd.network,
		sd.vms,
		sd.tags,
		sd.library,
		func(ctx context.Context) error { return sd.extraVMs(ctx, extraVMs) },
		func(context.Context) error { return s.writeBigDisk(sd.bigDisk) },
	}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return nil
}

// beforeCalls runs before ahead of every call vcsim dispatches, and then the registry handler
// already installed, if any; a fault before returns answers the call instead. The simulator's
// fixes to vcsim (clones' firmware, host options, live views, the disk leases) each see the calls
// this way.
func beforeCalls(m *simulator.Registry, before func(*simulator.Context, *simulator.Method) types.BaseMethodFault) {
	next := m.Handler
	m.Handler = func(ctx *simulator.Context, method *simulator.Method) (mo.Reference, types.BaseMethodFault) {
		if fault := before(ctx, method); fault != nil {
			return nil, fault
		}
		if next != nil {
			return next(ctx, method)
		}
		return nil, nil
	}
}
