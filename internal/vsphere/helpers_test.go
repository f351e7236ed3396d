package vsphere

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/vmware/govmomi/session"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

// shared is one simulator for the tests that only create and read pools under their own names.
// Tests that count sessions or assert on the whole cluster start their own (newSim).
var shared struct {
	once sync.Once
	sim  *simulator.Sim
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.sim != nil {
		shared.sim.Close()
	}
	os.Exit(code)
}

// sharedSim returns the package's shared simulator, starting it on first use.
func sharedSim(tb testing.TB) *simulator.Sim {
	tb.Helper()
	shared.once.Do(func() {
		shared.sim, shared.err = simulator.Start(context.Background(), simulator.Options{})
	})
	if shared.err != nil {
		tb.Fatalf("starting the shared simulator: %v", shared.err)
	}
	return shared.sim
}

// newSim starts a simulator that only this test uses.
func newSim(tb testing.TB) *simulator.Sim {
	tb.Helper()
	sim, err := simulator.Start(context.Background(), simulator.Options{})
	if err != nil {
		tb.Fatalf("starting the simulator: %v", err)
	}
	tb.Cleanup(sim.Close)
	return sim
}

// simConfig is a Config that reaches sim, with retries kept fast.
func simConfig(sim *simulator.Sim) Config {
	return Config{
		Server:   sim.URL.Host,
		User:     sim.User,
		Password: sim.Password,
		Insecure: true,
	}
}

// connect connects to sim and closes the client when the test ends.
func connect(tb testing.TB, sim *simulator.Sim, edit ...func(*Config)) *Client {
	tb.Helper()
	cfg := simConfig(sim)
	for _, e := range edit {
		e(&cfg)
	}
	c, err := Connect(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("Connect: %v", err)
	}
	tb.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

func withCache(dir string) func(*Config) {
	return func(c *Config) { c.SessionCacheDir = dir }
}

func sessionCount(tb testing.TB, sim *simulator.Sim) int {
	tb.Helper()
	n, err := sim.SessionCount(context.Background())
	if err != nil {
		tb.Fatalf("SessionCount: %v", err)
	}
	return n
}

// sessionKey is the key of the session c currently uses.
func sessionKey(tb testing.TB, c *Client) string {
	tb.Helper()
	us, err := session.NewManager(c.Vim()).UserSession(context.Background())
	if err != nil {
		tb.Fatalf("reading the current session: %v", err)
	}
	if us == nil {
		tb.Fatal("the client has no session")
	}
	return us.Key
}

// terminate ends a session server-side, as an administrator (or vCenter's idle timeout) would.
func terminate(tb testing.TB, sim *simulator.Sim, key string) {
	tb.Helper()
	ctx := context.Background()
	admin, err := sim.Connect(ctx)
	if err != nil {
		tb.Fatalf("admin connect: %v", err)
	}
	defer func() { _ = admin.Logout(ctx) }()
	if err := session.NewManager(admin.Client).TerminateSession(ctx, []string{key}); err != nil {
		tb.Fatalf("terminating session %s: %v", key, err)
	}
}

var poolSeq atomic.Int64

// uniqueName returns a pool name no other test uses on the shared simulator.
func uniqueName(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, poolSeq.Add(1))
}

// rootPool resolves the seeded cluster's root pool.
func rootPool(tb testing.TB, c *Client) PoolRef {
	tb.Helper()
	ref, err := c.ResolvePool(context.Background(), simulator.ClusterPath)
	if err != nil {
		tb.Fatalf("ResolvePool(%s): %v", simulator.ClusterPath, err)
	}
	return ref
}

// mustCreatePool creates a pool and destroys it when the test ends (children first: cleanups
// run last-in first-out).
func mustCreatePool(tb testing.TB, c *Client, parent PoolRef, name string, spec PoolSpec) PoolRef {
	tb.Helper()
	id, err := c.CreatePool(context.Background(), parent, name, spec)
	if err != nil {
		tb.Fatalf("CreatePool(%s): %v", name, err)
	}
	tb.Cleanup(func() {
		if err := c.DestroyPool(context.Background(), id); err != nil {
			tb.Errorf("cleanup: DestroyPool(%s): %v", id, err)
		}
	})
	return PoolRef{Ref: refFromID(id)}
}

// spec is a pool spec with the given reservations, no limit, normal shares.
func spec(cpuMHz, memMB int64) PoolSpec {
	return PoolSpec{
		CPU:    Allocation{Reservation: cpuMHz, Limit: -1, SharesLevel: SharesNormal},
		Memory: Allocation{Reservation: memMB, Limit: -1, SharesLevel: SharesNormal},
	}
}
