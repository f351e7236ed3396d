package vsphere

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	govsim "github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

func TestParseServer(t *testing.T) {
	tests := []struct {
		in      string
		want    string // the URL ParseServer returns
		wantErr string // a part of the error message
	}{
		{in: "vc.example.com", want: "https://vc.example.com/sdk"},
		{in: "  vc.example.com  ", want: "https://vc.example.com/sdk"},
		{in: "vc.example.com:8443", want: "https://vc.example.com:8443/sdk"},
		{in: "10.0.0.1", want: "https://10.0.0.1/sdk"},
		{in: "[::1]:443", want: "https://[::1]:443/sdk"},
		{in: "https://vc.example.com", want: "https://vc.example.com/sdk"},
		{in: "https://vc.example.com/", want: "https://vc.example.com/sdk"},
		{in: "https://vc.example.com/custom/sdk", want: "https://vc.example.com/custom/sdk"},
		{in: "http://127.0.0.1:8989/sdk", want: "http://127.0.0.1:8989/sdk"},
		// Credentials in the URL are dropped: they come from the user and password settings.
		{in: "https://admin:secret@vc.example.com", want: "https://vc.example.com/sdk"},
		{in: "", wantErr: "no vCenter server"},
		{in: "   ", wantErr: "no vCenter server"},
		{in: "ftp://vc.example.com", wantErr: "scheme must be https"},
		{in: "ldap://vc.example.com/sdk", wantErr: `not "ldap"`},
		{in: "https://", wantErr: "no host name"},
		{in: "https:///sdk", wantErr: "no host name"},
		{in: "vc.example.com:port", wantErr: "not a host name or URL"},
		{in: "https://vc\x7f.example.com", wantErr: "not a host name or URL"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			u, err := ParseServer(tt.in)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("ParseServer(%q) = %v, want an error containing %q", tt.in, u, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseServer(%q) error = %q, want it to contain %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseServer(%q): %v", tt.in, err)
			}
			if got := u.String(); got != tt.want {
				t.Errorf("ParseServer(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if u.User != nil {
				t.Errorf("ParseServer(%q) kept user info %v", tt.in, u.User)
			}
		})
	}
}

func TestConnectValidatesConfig(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"no server", Config{User: "u", Password: "p"}, "no vCenter server"},
		{"bad scheme", Config{Server: "ftp://vc", User: "u", Password: "p"}, "scheme must be https"},
		{"no user", Config{Server: "vc.example.com", Password: "p"}, "no user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Connect(ctx, tt.cfg)
			if err == nil {
				_ = c.Close(ctx)
				t.Fatalf("Connect succeeded, want an error containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Connect error = %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestConnect(t *testing.T) {
	t.Parallel()
	sim := sharedSim(t)
	ctx := context.Background()
	c := connect(t, sim)

	if !c.SessionCreated() {
		t.Error("SessionCreated() = false for a client that logged in without a cache")
	}
	if got := c.Server(); got != sim.URL.Host {
		t.Errorf("Server() = %q, want %q", got, sim.URL.Host)
	}
	if got := c.User(); got != sim.User {
		t.Errorf("User() = %q, want %q", got, sim.User)
	}
	if got := c.Timeout(); got != DefaultAPITimeout {
		t.Errorf("Timeout() = %v, want the default %v", got, DefaultAPITimeout)
	}
	if c.Vim() == nil || !c.Vim().IsVC() {
		t.Error("Vim() is not a vCenter client")
	}
	got, err := c.Principal(ctx)
	if err != nil {
		t.Fatalf("Principal: %v", err)
	}
	if got != sim.User {
		t.Errorf("Principal() = %q, want %q", got, sim.User)
	}
	if c.Stats().RoundTrips() == 0 {
		t.Error("Principal made a call but Stats().RoundTrips() is 0")
	}
}

func TestConnectWithFullURL(t *testing.T) {
	t.Parallel()
	sim := sharedSim(t)
	c := connect(t, sim, func(cfg *Config) { cfg.Server = sim.URL.String() })
	got, err := c.Principal(context.Background())
	if err != nil {
		t.Fatalf("Principal: %v", err)
	}
	if got != sim.User {
		t.Errorf("Principal() = %q, want %q", got, sim.User)
	}
}

func TestConnectWrongPassword(t *testing.T) {
	t.Parallel()
	sim := sharedSim(t)
	cfg := simConfig(sim)
	cfg.Password = "not-the-password"
	c, err := Connect(context.Background(), cfg)
	if err == nil {
		_ = c.Close(context.Background())
		t.Fatal("Connect with a wrong password succeeded")
	}
	var le *LoginError
	if !errors.As(err, &le) {
		t.Fatalf("Connect error is %T (%v), want *LoginError", err, err)
	}
	if le.User != sim.User || le.Server != sim.URL.Host {
		t.Errorf("LoginError names %q on %q, want %q on %q", le.User, le.Server, sim.User, sim.URL.Host)
	}
	if !strings.Contains(err.Error(), sim.User) {
		t.Errorf("error %q does not name the user %q", err, sim.User)
	}
	if !strings.Contains(le.Reason, "user name or password") {
		t.Errorf("LoginError reason = %q, want it to say the credentials were rejected", le.Reason)
	}
	if strings.Contains(err.Error(), "not-the-password") {
		t.Errorf("error %q leaks the password", err)
	}
	if errors.Unwrap(err) == nil {
		t.Error("LoginError does not wrap the cause")
	}
}

func TestConnectUnreachable(t *testing.T) {
	// A port nobody listens on: take a free one and release it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()

	cfg := Config{Server: addr, User: "someone", Password: "x", Insecure: true}
	c, err := Connect(context.Background(), cfg)
	if err == nil {
		_ = c.Close(context.Background())
		t.Fatal("Connect to a closed port succeeded")
	}
	var le *LoginError
	if !errors.As(err, &le) {
		t.Fatalf("Connect error is %T (%v), want *LoginError", err, err)
	}
	if !strings.Contains(le.Reason, "cannot reach") {
		t.Errorf("LoginError reason = %q, want it to say the SDK cannot be reached", le.Reason)
	}
	if le.Server != addr {
		t.Errorf("LoginError server = %q, want %q", le.Server, addr)
	}
}

func TestConnectUntrustedCertificate(t *testing.T) {
	t.Parallel()
	sim := sharedSim(t)
	cfg := simConfig(sim)
	cfg.Insecure = false // the simulator's certificate is self-signed
	c, err := Connect(context.Background(), cfg)
	if err == nil {
		_ = c.Close(context.Background())
		t.Fatal("Connect verified the simulator's self-signed certificate")
	}
	var le *LoginError
	if !errors.As(err, &le) {
		t.Fatalf("Connect error is %T (%v), want *LoginError", err, err)
	}
	if !strings.Contains(le.Reason, "certificate") {
		t.Errorf("LoginError reason = %q, want it to be about the certificate", le.Reason)
	}
}

func TestDatacenter(t *testing.T) {
	t.Parallel()
	sim := sharedSim(t)
	ctx := context.Background()

	t.Run("default", func(t *testing.T) {
		c := connect(t, sim)
		dc, err := c.Datacenter(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if dc.Name() != simulator.Datacenter {
			t.Errorf("Datacenter() = %q, want %q", dc.Name(), simulator.Datacenter)
		}
		// The answer is cached: a second call costs nothing.
		before := c.Stats().RoundTrips()
		if _, err := c.Datacenter(ctx); err != nil {
			t.Fatal(err)
		}
		if d := c.Stats().RoundTrips() - before; d != 0 {
			t.Errorf("second Datacenter() cost %d round trips, want 0", d)
		}
		f, err := c.Finder(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.ClusterComputeResource(ctx, simulator.Cluster); err != nil {
			t.Errorf("the finder is not scoped to %s: %v", simulator.Datacenter, err)
		}
	})
	t.Run("configured", func(t *testing.T) {
		c := connect(t, sim, func(cfg *Config) { cfg.Datacenter = simulator.Datacenter })
		dc, err := c.Datacenter(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if dc.InventoryPath != "/"+simulator.Datacenter {
			t.Errorf("Datacenter().InventoryPath = %q", dc.InventoryPath)
		}
	})
	t.Run("missing", func(t *testing.T) {
		c := connect(t, sim, func(cfg *Config) { cfg.Datacenter = "no-such-dc" })
		_, err := c.Datacenter(ctx)
		if !IsNotFound(err) {
			t.Fatalf("Datacenter() error = %v, want a NotFound error", err)
		}
		if !strings.Contains(err.Error(), "no-such-dc") {
			t.Errorf("error %q does not name the datacenter", err)
		}
		if _, err := c.Finder(ctx); !IsNotFound(err) {
			t.Errorf("Finder() error = %v, want a NotFound error", err)
		}
		if _, err := c.ResolvePool(ctx, "prod"); !IsNotFound(err) {
			t.Errorf("ResolvePool of a relative path error = %v, want a NotFound error", err)
		}
	})
}

func TestCloseWithoutCacheLogsOut(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	ctx := context.Background()
	base := sessionCount(t, sim)

	c, err := Connect(ctx, simConfig(sim))
	if err != nil {
		t.Fatal(err)
	}
	if got := sessionCount(t, sim); got != base+1 {
		t.Fatalf("sessions after Connect = %d, want %d", got, base+1)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := sessionCount(t, sim); got != base {
		t.Errorf("sessions after Close = %d, want the baseline %d", got, base)
	}
	// Close is idempotent.
	if err := c.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestSessionCacheReuse(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "sessions") // Connect creates it
	base := sessionCount(t, sim)

	c1 := connect(t, sim, withCache(dir))
	if !c1.SessionCreated() {
		t.Error("first client: SessionCreated() = false with an empty cache")
	}
	if got := sessionCount(t, sim); got != base+1 {
		t.Fatalf("sessions after the first Connect = %d, want %d", got, base+1)
	}

	c2 := connect(t, sim, withCache(dir))
	if c2.SessionCreated() {
		t.Error("second client: SessionCreated() = true, want the cached session reused")
	}
	if got := sessionCount(t, sim); got != base+1 {
		t.Errorf("sessions after the second Connect = %d, want still %d", got, base+1)
	}
	if sessionKey(t, c1) != sessionKey(t, c2) {
		t.Error("the two clients use different sessions")
	}
	for i, c := range []*Client{c1, c2} {
		if p, err := c.Principal(ctx); err != nil || p != sim.User {
			t.Errorf("client %d: Principal() = %q, %v", i+1, p, err)
		}
	}

	// One session file and the cache's key, readable by their owner only, in directories
	// only the owner can enter.
	files := sessionFiles(t, dir)
	if len(files) != 1 {
		t.Fatalf("cache dir holds %d session files (%v), want 1", len(files), files)
	}
	for _, f := range append(files, filepath.Join(dir, cacheKeyFile)) {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if mode := fi.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s: mode = %o, want 600", f, mode)
		}
		content, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(content), sim.Password) {
			t.Errorf("%s holds the password", f)
		}
	}
	for d := filepath.Dir(files[0]); d != dir; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if mode := fi.Mode().Perm(); mode != 0o700 {
			t.Errorf("%s: mode = %o, want 700", d, mode)
		}
		if strings.Contains(d, sim.Password) || strings.Contains(d, "administrator") {
			t.Errorf("cache path %s shows the user or password", d)
		}
	}

	// Closing a client of a cached session keeps the session for the next process.
	if err := c1.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c2.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := sessionCount(t, sim); got != base+1 {
		t.Errorf("sessions after closing both = %d, want %d (the cached one)", got, base+1)
	}
}

func TestSessionCacheManyProcesses(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	ctx := context.Background()
	dir := t.TempDir()
	base := sessionCount(t, sim)

	// A process without the cache first: its session must not leak either.
	c, err := Connect(ctx, simConfig(sim))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}

	created := 0
	for i := 0; i < 10; i++ {
		c, err := Connect(ctx, Config{Server: sim.URL.Host, User: sim.User, Password: sim.Password, Insecure: true, SessionCacheDir: dir})
		if err != nil {
			t.Fatalf("cycle %d: Connect: %v", i, err)
		}
		if c.SessionCreated() {
			created++
		}
		if _, err := c.Principal(ctx); err != nil {
			t.Fatalf("cycle %d: Principal: %v", i, err)
		}
		if err := c.Close(ctx); err != nil {
			t.Fatalf("cycle %d: Close: %v", i, err)
		}
	}
	if created != 1 {
		t.Errorf("%d of 10 cycles logged in, want exactly 1", created)
	}
	if got := sessionCount(t, sim); got > base+1 {
		t.Errorf("sessions after 10 cycles = %d, want at most %d", got, base+1)
	}
}

func TestSessionCacheKeyedByUser(t *testing.T) {
	t.Parallel()
	// Another user must not pick up the cached session of the first one. The simulator only
	// accepts its own user, so a login of any other user fails, and a reused session would not.
	sim := newSim(t)
	dir := t.TempDir()
	connect(t, sim, withCache(dir))
	cfg := simConfig(sim)
	cfg.SessionCacheDir = dir
	cfg.User = "someone-else@vsphere.local"
	c2, err := Connect(context.Background(), cfg)
	if err == nil {
		_ = c2.Close(context.Background())
		t.Fatalf("Connect as %s succeeded (SessionCreated=%v): it reused another user's session", cfg.User, c2.SessionCreated())
	}
	var le *LoginError
	if !errors.As(err, &le) || le.User != cfg.User {
		t.Fatalf("Connect as another user: %v, want a LoginError for %q", err, cfg.User)
	}
}

func TestStaleCachedSessionReplaced(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	ctx := context.Background()
	dir := t.TempDir()
	base := sessionCount(t, sim)

	c1 := connect(t, sim, withCache(dir))
	key := sessionKey(t, c1)
	if err := c1.Close(ctx); err != nil {
		t.Fatal(err)
	}
	terminate(t, sim, key)
	if got := sessionCount(t, sim); got != base {
		t.Fatalf("sessions after terminating the cached one = %d, want %d", got, base)
	}

	c2 := connect(t, sim, withCache(dir))
	if !c2.SessionCreated() {
		t.Error("SessionCreated() = false although the cached session was dead")
	}
	if sessionKey(t, c2) == key {
		t.Error("the new client still uses the terminated session")
	}
	if _, err := c2.GetPool(ctx, rootPool(t, c2).ID()); err != nil {
		t.Fatalf("GetPool with the replacement session: %v", err)
	}
	if got := sessionCount(t, sim); got != base+1 {
		t.Errorf("sessions = %d, want %d", got, base+1)
	}

	// The replacement was written back: the next process reuses it.
	c3 := connect(t, sim, withCache(dir))
	if c3.SessionCreated() {
		t.Error("third client logged in again instead of reusing the refreshed cache entry")
	}
}

func TestCorruptCacheFileReplaced(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	ctx := context.Background()
	dir := t.TempDir()
	base := sessionCount(t, sim)

	c1 := connect(t, sim, withCache(dir))
	key := sessionKey(t, c1)
	if err := c1.Close(ctx); err != nil {
		t.Fatal(err)
	}
	files := sessionFiles(t, dir)
	if len(files) != 1 {
		t.Fatalf("cache dir holds %d session files, want 1", len(files))
	}
	if err := os.WriteFile(files[0], []byte("{this is not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	terminate(t, sim, key) // nobody can use it any more

	c2, err := Connect(ctx, Config{Server: sim.URL.Host, User: sim.User, Password: sim.Password, Insecure: true, SessionCacheDir: dir})
	if err != nil {
		t.Fatalf("Connect with a corrupt cache file: %v", err)
	}
	t.Cleanup(func() { _ = c2.Close(ctx) })
	if !c2.SessionCreated() {
		t.Error("SessionCreated() = false with a corrupt cache file")
	}
	if p, err := c2.Principal(ctx); err != nil || p != sim.User {
		t.Fatalf("Principal() = %q, %v", p, err)
	}
	if got := sessionCount(t, sim); got != base+1 {
		t.Errorf("sessions = %d, want %d", got, base+1)
	}
	// The corrupt entry was replaced by a usable one.
	c3 := connect(t, sim, withCache(dir))
	if c3.SessionCreated() {
		t.Error("the corrupt cache entry was not replaced: the next client logged in again")
	}
}

func TestReloginAfterSessionTerminated(t *testing.T) {
	t.Parallel()
	for _, cached := range []bool{false, true} {
		name := "no cache"
		if cached {
			name = "cache"
		}
		t.Run(name, func(t *testing.T) {
			sim := newSim(t)
			ctx := context.Background()
			dir := ""
			if cached {
				dir = t.TempDir()
			}
			base := sessionCount(t, sim)
			c := connect(t, sim, withCache(dir))
			root := rootPool(t, c)

			// A property read on a dead session.
			old := sessionKey(t, c)
			terminate(t, sim, old)
			p, err := c.GetPool(ctx, root.ID())
			if err != nil {
				t.Fatalf("GetPool after the session was terminated: %v", err)
			}
			if !p.Root {
				t.Errorf("GetPool(%s) is not the root pool", root.ID())
			}
			if got := c.Stats().Relogins(); got != 1 {
				t.Errorf("Relogins() = %d, want 1", got)
			}
			if !c.SessionCreated() {
				t.Error("SessionCreated() = false after a re-login")
			}

			// A method call (answered with a NotAuthenticated SOAP fault) on a dead session.
			terminate(t, sim, sessionKey(t, c))
			id, err := c.CreatePool(ctx, root, uniqueName("relogin"), spec(0, 0))
			if err != nil {
				t.Fatalf("CreatePool after the session was terminated: %v", err)
			}
			if got := c.Stats().Relogins(); got != 2 {
				t.Errorf("Relogins() = %d, want 2", got)
			}
			if err := c.DestroyPool(ctx, id); err != nil {
				t.Fatal(err)
			}

			// The principal is still known after the session was replaced behind its back.
			terminate(t, sim, sessionKey(t, c))
			if got, err := c.Principal(ctx); err != nil || got != sim.User {
				t.Errorf("Principal() after the session was terminated = %q, %v", got, err)
			}
			if got := c.Stats().Relogins(); got != 3 {
				t.Errorf("Relogins() = %d, want 3", got)
			}
			if got := sessionCount(t, sim); got != base+1 {
				t.Errorf("sessions = %d, want %d (dead ones replaced, not added)", got, base+1)
			}

			if cached {
				// The cache holds the replacement session, not the dead one.
				next := connect(t, sim, withCache(dir))
				if next.SessionCreated() {
					t.Error("the next process logged in again: the re-login did not refresh the cache")
				}
				if sessionKey(t, next) != sessionKey(t, c) {
					t.Error("the next process does not use the replacement session")
				}
			}
		})
	}
}

func TestReloginFailsWithWrongPasswordKeepsCause(t *testing.T) {
	t.Parallel()
	sim := sharedSim(t)
	ctx := context.Background()
	c := connect(t, sim)
	root := rootPool(t, c)
	// The password changed since the login (as after a rotation); the re-login cannot succeed.
	c.cache.URL.User = url.UserPassword(sim.User, "rotated-away")
	terminate(t, sim, sessionKey(t, c))

	_, err := c.CreatePool(ctx, root, uniqueName("nope"), spec(0, 0))
	if err == nil {
		t.Fatal("CreatePool succeeded on a dead session that cannot be renewed")
	}
	if !isNotAuthenticated(err) {
		t.Errorf("error %v does not carry the NotAuthenticated fault", err)
	}
	var le *LoginError
	if !errors.As(err, &le) {
		t.Errorf("error %v does not carry the LoginError of the failed re-login", err)
	}
	if got := c.Stats().Relogins(); got != 0 {
		t.Errorf("Relogins() = %d after a failed re-login, want 0", got)
	}
}

func TestConnectDefaults(t *testing.T) {
	t.Parallel()
	sim := sharedSim(t)
	c := connect(t, sim, func(cfg *Config) { cfg.Retries = -1 })
	if c.cfg.Retries != 0 {
		t.Errorf("Retries -1 became %d, want 0 (disabled)", c.cfg.Retries)
	}
	c2 := connect(t, sim)
	if c2.cfg.Retries != 3 || c2.cfg.KeepAlive <= 0 || c2.cfg.APITimeout != DefaultAPITimeout {
		t.Errorf("defaults not applied: %+v", c2.cfg)
	}
	if c2.url.Path != vim25.Path {
		t.Errorf("SDK path = %q, want %q", c2.url.Path, vim25.Path)
	}
}

// sessionFiles lists the session files of a cache directory (not its key).
func sessionFiles(tb testing.TB, dir string) []string {
	tb.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && path != filepath.Join(dir, cacheKeyFile) {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("listing the session cache: %v", err)
	}
	return files
}

// TestSessionCacheKeyedByPassword: a cached session is reused only with the password it was
// opened with. A wrong password fails with vCenter's login error although a valid session for
// the same server and user is cached, and it neither uses nor spoils that session.
func TestSessionCacheKeyedByPassword(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	ctx := context.Background()
	dir := t.TempDir()
	good := connect(t, sim, withCache(dir))
	key := sessionKey(t, good)

	cfg := simConfig(sim)
	cfg.SessionCacheDir = dir
	cfg.Password = "wrong-password"
	c, err := Connect(ctx, cfg)
	if err == nil {
		_ = c.Close(ctx)
		t.Fatalf("Connect with a wrong password succeeded (SessionCreated=%v): it reused the cached session", c.SessionCreated())
	}
	var le *LoginError
	if !errors.As(err, &le) || !strings.Contains(le.Reason, "user name or password") {
		t.Fatalf("Connect with a wrong password: %v, want the LoginError of vCenter rejecting it", err)
	}
	if files := sessionFiles(t, dir); len(files) != 1 {
		t.Errorf("the cache holds %d session files after the failed login, want the 1 valid one: %v", len(files), files)
	}

	again := connect(t, sim, withCache(dir))
	if again.SessionCreated() || sessionKey(t, again) != key {
		t.Error("the right password no longer finds the cached session")
	}
}

// TestSessionCacheForgetsOtherPasswords: once a password is accepted by a new login, the cached
// sessions of the same server and user opened with another password are removed; a wrong
// password removes nothing, and other users' sessions are kept.
func TestSessionCacheForgetsOtherPasswords(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	ctx := context.Background()
	dir := t.TempDir()
	c1 := connect(t, sim, withCache(dir))
	own := filepath.Dir(sessionFiles(t, dir)[0])
	// What an earlier password and another user left in the cache.
	oldPassword := filepath.Join(filepath.Dir(own), "0123456789abcdef0123456789abcdef")
	otherUser := filepath.Join(dir, "fedcba9876543210fedcba9876543210", "0123456789abcdef0123456789abcdef")
	for _, d := range []string{oldPassword, otherUser} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "session"), []byte("{}"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }

	cfg := simConfig(sim)
	cfg.SessionCacheDir = dir
	cfg.Password = "wrong-password"
	if c, err := Connect(ctx, cfg); err == nil {
		_ = c.Close(ctx)
		t.Fatal("Connect with a wrong password succeeded")
	}
	if !exists(oldPassword) || !exists(own) {
		t.Fatal("a failed login removed cached sessions")
	}

	// The cached session ends: the next process logs in again with the accepted password.
	terminate(t, sim, sessionKey(t, c1))
	c2 := connect(t, sim, withCache(dir))
	if !c2.SessionCreated() {
		t.Fatal("the next client did not log in again")
	}
	if exists(oldPassword) {
		t.Error("the session of the earlier password is still cached after a login with the new one")
	}
	if !exists(own) || !exists(otherUser) {
		t.Error("the login removed the current password's or another user's cache entry")
	}
}

func TestCacheKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// Processes that start together agree on one key.
	const n = 8
	keys := make(chan []byte, n)
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			k, err := cacheKey(dir)
			keys <- k
			errs <- err
		}()
	}
	var first []byte
	for i := 0; i < n; i++ {
		k, err := <-keys, <-errs
		if err != nil {
			t.Fatal(err)
		}
		if len(k) != 32 {
			t.Fatalf("key of %d bytes, want 32", len(k))
		}
		if first == nil {
			first = k
		} else if string(k) != string(first) {
			t.Fatal("concurrent first uses of a cache directory made different keys")
		}
	}
	path := filepath.Join(dir, cacheKeyFile)
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v; want mode 600", fi, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the cache directory holds %d entries after making the key, want only the key", len(entries))
	}
	// A corrupt key is replaced.
	if err := os.WriteFile(path, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := cacheKey(dir)
	if err != nil || len(k) != 32 {
		t.Fatalf("cacheKey after corruption = %d bytes, %v", len(k), err)
	}
	if k2, _ := cacheKey(dir); string(k2) != string(k) {
		t.Error("the replaced key is not kept")
	}

	// The directory of a session depends on each of server, user and password.
	u, _ := ParseServer("vc.example.com")
	u2, _ := ParseServer("vc2.example.com")
	base, _ := sessionCacheDir(dir, u, "u", "p")
	for name, got := range map[string]func() (string, error){
		"server":   func() (string, error) { return sessionCacheDir(dir, u2, "u", "p") },
		"user":     func() (string, error) { return sessionCacheDir(dir, u, "v", "p") },
		"password": func() (string, error) { return sessionCacheDir(dir, u, "u", "q") },
		// The separator keeps the parts apart.
		"split": func() (string, error) { return sessionCacheDir(dir, u, "up", "") },
	} {
		d, err := got()
		if err != nil {
			t.Fatal(err)
		}
		if d == base {
			t.Errorf("another %s gives the same cache directory %s", name, d)
		}
	}
	same, _ := sessionCacheDir(dir, u, "u", "p")
	if same != base {
		t.Error("the cache directory of one server, user and password is not stable")
	}
}

// startTLSSim starts a bare vCenter simulator that serves the given certificate.
func startTLSSim(t *testing.T, cert tls.Certificate) *url.URL {
	t.Helper()
	model := govsim.VPX()
	model.Datacenter = 1
	model.Machine = 0
	if err := model.Create(); err != nil {
		t.Fatal(err)
	}
	model.Service.RegisterEndpoints = true
	model.Service.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	model.Service.Listen = &url.URL{Host: "127.0.0.1:0", User: url.UserPassword(simulator.DefaultUser, simulator.DefaultPassword)}
	server := model.Service.NewServer()
	t.Cleanup(func() {
		server.Close()
		model.Remove()
	})
	u := *server.URL
	u.User = nil
	return &u
}

// TestConnectPrivateCA: a vCenter whose certificate a private CA signed is trusted with ca_file
// (for SOAP, a cached session and the vAPI endpoint), refused without it with a clear reason,
// and reached with allow_unverified_ssl too.
func TestConnectPrivateCA(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ca := simulator.NewTestCA(t, "corp")
	other := simulator.NewTestCA(t, "other")
	u := startTLSSim(t, ca.Leaf)
	cfg := func(edit func(*Config)) Config {
		c := Config{Server: u.Host, User: simulator.DefaultUser, Password: simulator.DefaultPassword}
		edit(&c)
		return c
	}
	refused := func(t *testing.T, c Config, want string) {
		t.Helper()
		cl, err := Connect(ctx, c)
		if err == nil {
			_ = cl.Close(ctx)
			t.Fatal("Connect trusted a certificate it should not")
		}
		var le *LoginError
		if !errors.As(err, &le) || !strings.Contains(le.Reason, want) {
			t.Fatalf("Connect error = %v, want a LoginError saying %q", err, want)
		}
	}

	t.Run("system roots only", func(t *testing.T) {
		refused(t, cfg(func(*Config) {}), "certificate is not trusted (set ca_file")
	})
	t.Run("another CA", func(t *testing.T) {
		refused(t, cfg(func(c *Config) { c.CAFile = other.File }), "not signed by a CA in ca_file "+other.File)
	})
	t.Run("ca_file", func(t *testing.T) {
		dir := t.TempDir()
		c := cfg(func(c *Config) { c.CAFile = ca.File; c.SessionCacheDir = dir })
		cl, err := Connect(ctx, c)
		if err != nil {
			t.Fatalf("Connect with ca_file: %v", err)
		}
		t.Cleanup(func() { _ = cl.Close(ctx) })
		if p, err := cl.Principal(ctx); err != nil || p != simulator.DefaultUser {
			t.Fatalf("Principal() = %q, %v", p, err)
		}
		rc, err := cl.restClient(ctx)
		if err != nil {
			t.Fatalf("vAPI login with ca_file: %v", err)
		}
		if s, err := rc.Session(ctx); err != nil || s == nil {
			t.Fatalf("vAPI session with ca_file = %v, %v", s, err)
		}
		restCached := false
		for _, f := range sessionFiles(t, dir) {
			restCached = restCached || filepath.Base(filepath.Dir(f)) == "rest"
		}
		if !restCached {
			t.Error("the vAPI session was not cached")
		}
		// A session loaded from the cache is checked against the same CAs.
		cl2, err := Connect(ctx, c)
		if err != nil {
			t.Fatalf("second Connect with ca_file: %v", err)
		}
		t.Cleanup(func() { _ = cl2.Close(ctx) })
		if cl2.SessionCreated() {
			t.Error("the second client did not reuse the cached session")
		}
		if _, err := cl2.Principal(ctx); err != nil {
			t.Fatal(err)
		}
		// The same cached session, read with another CA, is refused.
		refused(t, cfg(func(c *Config) { c.CAFile = other.File; c.SessionCacheDir = dir }), "not signed by a CA in ca_file")
	})
	t.Run("allow_unverified_ssl", func(t *testing.T) {
		cl, err := Connect(ctx, cfg(func(c *Config) { c.Insecure = true }))
		if err != nil {
			t.Fatalf("Connect with allow_unverified_ssl: %v", err)
		}
		_ = cl.Close(ctx)
	})
}

func TestCheckCAFile(t *testing.T) {
	t.Parallel()
	ca := simulator.NewTestCA(t, "check")
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caPEM, err := os.ReadFile(ca.File)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(ca.Leaf.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	tests := []struct {
		name    string
		path    string
		wantErr string
	}{
		{"a CA", ca.File, ""},
		{"a bundle with a key first", write("bundle.pem", append(append([]byte("# corp roots\n"), keyPEM...), caPEM...)), ""},
		{"missing", filepath.Join(dir, "nope.pem"), "reading the CA file"},
		{"empty", write("empty.pem", nil), "holds no PEM certificate"},
		{"not PEM", write("der.crt", ca.Leaf.Certificate[0]), "holds no PEM certificate"},
		{"only a key", write("key.pem", keyPEM), "holds no PEM certificate"},
		{"a broken certificate", write("broken.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("nope")})), "certificate 1 is not valid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckCAFile(tt.path)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("CheckCAFile: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("CheckCAFile = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
	// Connect checks the file before it dials.
	if _, err := Connect(context.Background(), Config{Server: "127.0.0.1:1", User: "u", Password: "p", CAFile: filepath.Join(dir, "nope.pem")}); err == nil || !strings.Contains(err.Error(), "reading the CA file") {
		t.Errorf("Connect with a missing ca_file = %v", err)
	}
}
