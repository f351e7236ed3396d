// Package vsphere holds every call vmgmt makes to vCenter: the session (login, keep-alive, reuse
// across processes, re-login when a session goes stale), bounded retries, typed NotFound errors,
// task waits and bulk property reads. It knows nothing of Terraform.
package vsphere

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/session/cache"
	"github.com/vmware/govmomi/session/keepalive"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// Config is what Connect needs to reach one vCenter.
type Config struct {
	// Server is the vCenter host name or IP, optionally with a port or a full https:// URL.
	Server   string
	User     string
	Password string
	// Insecure skips TLS certificate verification.
	Insecure bool
	// CAFile is a PEM file of the certificate authorities that vCenter's certificate is checked
	// against instead of the system's (a vCenter signed by a private CA). Empty uses the system's.
	CAFile string
	// Datacenter is the default datacenter used to resolve relative inventory paths.
	// Empty means the only datacenter of the inventory.
	Datacenter string
	// APITimeout bounds every single vCenter call and task wait. Zero means five minutes.
	APITimeout time.Duration
	// SessionCacheDir is where sessions are persisted (one file per server, user and password,
	// mode 0600) so that the many short-lived provider processes of a Terraform run share one
	// session. Empty disables the cache: the session is then logged out by Close.
	SessionCacheDir string
	// KeepAlive is the idle interval after which a no-op call keeps the session alive.
	// Zero means five minutes.
	KeepAlive time.Duration
	// Logger receives the client's structured log lines (nil: none).
	Logger Logger
	// Retries is how many times a call that failed with a transient fault is retried.
	// Negative disables retries; zero means the default of 3.
	Retries int
}

// DefaultAPITimeout is used when Config.APITimeout is zero.
const DefaultAPITimeout = 5 * time.Minute

// Client is one authenticated vCenter session shared by every resource of a provider process.
// It is safe for concurrent use.
type Client struct {
	cfg     Config
	url     *url.URL
	vim     *vim25.Client
	cache   *cache.Session
	stats   *Stats
	keep    *keepalive.HandlerSOAP
	reauth  *reauthRoundTripper
	created bool // this process logged in (rather than reusing a cached session)

	dcMu sync.Mutex
	dc   *object.Datacenter

	views      views
	fields     customFields
	vms        vmCache
	capacities capacityCache
	rest       restSession
	caches     cacheRegistry
	log        Logger
	authz      authzState

	closeOnce sync.Once
}

// ParseServer turns the user's server setting into the SDK URL.
func ParseServer(server string) (*url.URL, error) {
	s := strings.TrimSpace(server)
	if s == "" {
		return nil, errors.New("no vCenter server given")
	}
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not a host name or URL: %w", server, err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, fmt.Errorf("%q: scheme must be https (or http for a local simulator), not %q", server, u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%q has no host name", server)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = vim25.Path
	}
	u.User = nil
	return u, nil
}

// Connect returns a logged-in client. With a session cache directory it first tries the cached
// session for this server, user and password; a stale one is replaced transparently.
func Connect(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.APITimeout <= 0 {
		cfg.APITimeout = DefaultAPITimeout
	}
	if cfg.KeepAlive <= 0 {
		cfg.KeepAlive = 5 * time.Minute
	}
	if cfg.Retries == 0 {
		cfg.Retries = 3
	}
	if cfg.Retries < 0 {
		cfg.Retries = 0
	}
	u, err := ParseServer(cfg.Server)
	if err != nil {
		return nil, err
	}
	if cfg.User == "" {
		return nil, errors.New("no user given")
	}
	if cfg.CAFile != "" && !cfg.Insecure {
		if err := CheckCAFile(cfg.CAFile); err != nil {
			return nil, err
		}
	}
	login := *u
	login.User = url.UserPassword(cfg.User, cfg.Password)
	dir, err := sessionCacheDir(cfg.SessionCacheDir, u, cfg.User, cfg.Password)
	if err != nil {
		return nil, err
	}

	c := &Client{cfg: cfg, url: u, stats: &Stats{}, log: cfg.Logger}
	if c.log == nil {
		c.log = nopLogger{}
	}
	c.cache = &cache.Session{
		URL:         &login,
		Insecure:    cfg.Insecure,
		DirSOAP:     dir,
		DirREST:     restCacheDir(dir),
		Passthrough: cfg.SessionCacheDir == "",
	}
	configure := c.configureSOAP

	ctx, cancel := context.WithTimeout(ctx, cfg.APITimeout)
	defer cancel()

	vc := new(vim25.Client)
	// Load tells us whether a cached session was reused, so Close knows whether it owns the session.
	reused, err := c.cache.Load(ctx, vc, configure)
	if err != nil {
		// A corrupt or unreadable cache entry is not fatal: log in afresh.
		reused = false
	}
	if !reused {
		vc = new(vim25.Client)
		// Load has already rejected the cache entry (or there is none): Reauth makes Login skip
		// reading it again (a corrupt entry would fail again) and overwrite it.
		fresh := *c.cache
		fresh.Reauth = true
		if err := fresh.Login(ctx, vc, configure); err != nil {
			return nil, c.loginError(err)
		}
		c.created = true
		forgetOtherPasswords(dir)
	}
	c.vim = vc

	// Round trip chain, outermost first: keep-alive -> re-login on NotAuthenticated -> retry -> count -> SOAP.
	var rt soap.RoundTripper = vc.Client
	rt = &countingRoundTripper{next: rt, stats: c.stats, log: c.log}
	rt = &retryRoundTripper{next: rt, attempts: cfg.Retries, stats: c.stats}
	c.reauth = &reauthRoundTripper{next: rt, login: c.relogin, stats: c.stats}
	c.keep = keepalive.NewHandlerSOAP(c.reauth, cfg.KeepAlive, nil)
	vc.RoundTripper = c.keep
	c.keep.Start()
	return c, nil
}

// relogin replaces a session that vCenter no longer accepts, and refreshes the cache entry.
func (c *Client) relogin(ctx context.Context) error {
	m := session.NewManager(&vim25.Client{Client: c.vim.Client, ServiceContent: c.vim.ServiceContent, RoundTripper: c.vim.Client})
	if err := m.Login(ctx, c.cache.URL.User); err != nil {
		return c.loginError(err)
	}
	c.created = true
	if err := c.cache.Save(c.vim); err != nil {
		return fmt.Errorf("saving the new vCenter session to %s: %w", c.cfg.SessionCacheDir, err)
	}
	return nil
}

// configureSOAP applies the settings of this client to a SOAP client (a new one, or one loaded
// from the session cache): the call timeout and the CAs its certificate is checked against.
func (c *Client) configureSOAP(sc *soap.Client) error {
	sc.Timeout = c.cfg.APITimeout
	if c.cfg.CAFile != "" && !c.cfg.Insecure {
		if err := sc.SetRootCAs(c.cfg.CAFile); err != nil {
			return fmt.Errorf("ca_file %s: %w", c.cfg.CAFile, err)
		}
	}
	return nil
}

func (c *Client) loginError(err error) error {
	return classifyLoginError(c.url, c.cfg.User, c.cfg.CAFile, err)
}

func classifyLoginError(u *url.URL, user, caFile string, err error) error {
	msg := err.Error()
	var unknownCA x509.UnknownAuthorityError
	var badHost x509.HostnameError
	var invalid x509.CertificateInvalidError
	le := &LoginError{Server: u.Host, User: user, Err: err}
	switch {
	case fault.Is(err, &types.InvalidLogin{}) || strings.Contains(msg, "InvalidLogin") ||
		strings.Contains(strings.ToLower(msg), "incorrect user name or password") || strings.Contains(msg, "Login failure"):
		le.Reason = "vCenter rejected the user name or password"
	case errors.As(err, &badHost):
		le.Reason = fmt.Sprintf("the server's TLS certificate is not valid for %s (connect by a name the certificate holds)", u.Hostname())
	case errors.As(err, &unknownCA) && caFile != "":
		le.Reason = fmt.Sprintf("the server's TLS certificate is not trusted: it is not signed by a CA in ca_file %s", caFile)
	case errors.As(err, &unknownCA) || errors.As(err, &invalid) || strings.Contains(msg, "x509:") || strings.Contains(msg, "certificate"):
		le.Reason = "the server's TLS certificate is not trusted (set ca_file to the CA bundle that signed it, or allow_unverified_ssl = true for a lab)"
	default:
		le.Reason = "cannot reach the vCenter SDK"
	}
	return le
}

// CheckCAFile reports whether path is a readable file holding at least one PEM certificate.
func CheckCAFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading the CA file: %w", err)
	}
	n := 0
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return fmt.Errorf("CA file %s: certificate %d is not valid: %w", path, n+1, err)
		}
		n++
	}
	if n == 0 {
		return fmt.Errorf("CA file %s holds no PEM certificate (-----BEGIN CERTIFICATE----- blocks)", path)
	}
	return nil
}

// LoginError says why a session could not be established.
type LoginError struct {
	Server, User, Reason string
	Err                  error
}

func (e *LoginError) Error() string {
	return fmt.Sprintf("logging in to %s as %q: %s: %v", e.Server, e.User, e.Reason, e.Err)
}

func (e *LoginError) Unwrap() error { return e.Err }

// Vim returns the underlying govmomi client for calls this package does not wrap yet.
func (c *Client) Vim() *vim25.Client { return c.vim }

// Stats returns the round-trip counters of this client.
func (c *Client) Stats() *Stats { return c.stats }

// Server returns the host name of the vCenter this client talks to.
func (c *Client) Server() string { return c.url.Host }

// User returns the user the session was opened for.
func (c *Client) User() string { return c.cfg.User }

// Timeout returns the per-call timeout.
func (c *Client) Timeout() time.Duration { return c.cfg.APITimeout }

// SessionCreated reports whether this process logged in itself rather than reusing a cached session.
func (c *Client) SessionCreated() bool { return c.created }

// Close stops the keep-alive. The session is logged out only when it is not cached: a cached
// session is meant for the next process of the same Terraform run.
func (c *Client) Close(ctx context.Context) error {
	var err error
	c.closeOnce.Do(func() {
		if c.keep != nil {
			c.keep.Stop()
		}
		c.destroyViews(ctx)
		c.closeREST(ctx)
		if c.cfg.SessionCacheDir == "" {
			ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			err = session.NewManager(c.vim).Logout(ctx)
		}
	})
	return err
}

// Principal is the user name of the current session, as vCenter reports it.
func (c *Client) Principal(ctx context.Context) (string, error) {
	us, err := session.NewManager(c.vim).UserSession(ctx)
	if err != nil {
		return "", fmt.Errorf("reading the current vCenter session: %w", err)
	}
	if us == nil {
		return "", errors.New("the vCenter session is not authenticated")
	}
	return us.UserName, nil
}

// Datacenter returns the configured datacenter, or the only one when none is configured.
func (c *Client) Datacenter(ctx context.Context) (*object.Datacenter, error) {
	c.dcMu.Lock()
	defer c.dcMu.Unlock()
	if c.dc != nil {
		return c.dc, nil
	}
	if dc := c.snapshotDatacenter(); dc != nil {
		c.dc = dc
		return dc, nil
	}
	f := find.NewFinder(c.vim, false)
	if c.cfg.Datacenter != "" {
		dc, err := f.Datacenter(ctx, c.cfg.Datacenter)
		if err != nil {
			return nil, notFound("datacenter", c.cfg.Datacenter, err)
		}
		c.dc = dc
		return dc, nil
	}
	dc, err := f.DefaultDatacenter(ctx)
	if err != nil {
		return nil, fmt.Errorf("no datacenter configured and the inventory has none or several (set the provider's datacenter): %w", err)
	}
	c.dc = dc
	return dc, nil
}

// Finder returns a finder scoped to the configured datacenter.
func (c *Client) Finder(ctx context.Context) (*find.Finder, error) {
	f := find.NewFinder(c.vim, false)
	dc, err := c.Datacenter(ctx)
	if err != nil {
		return nil, err
	}
	f.SetDatacenter(dc)
	return f, nil
}

func restCacheDir(dir string) string {
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, "rest")
}

// The session cache holds, under the configured directory, one directory per server and user,
// and in it one per password:
//
//	<dir>/key                        random HMAC key, made once (mode 0600)
//	<dir>/<server+user>/<password>/  SOAP session file (govmomi's session cache), and rest/
//
// Both names are HMAC-SHA256 digests under the key, so a session logged in with one password is
// never reused with another (a wrong password fails with vCenter's login error, whatever the
// cache holds), and the names tell nothing of the password to whoever cannot read the key.
const cacheKeyFile = "key"

// sessionCacheDir is the cache directory of one server, user and password ("" without a cache).
func sessionCacheDir(dir string, u *url.URL, user, password string) (string, error) {
	if dir == "" {
		return "", nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("creating the session cache directory: %w", err)
	}
	key, err := cacheKey(dir)
	if err != nil {
		return "", fmt.Errorf("session cache key in %s: %w", dir, err)
	}
	digest := func(parts ...string) string {
		mac := hmac.New(sha256.New, key)
		for _, p := range parts {
			mac.Write([]byte(p))
			mac.Write([]byte{0})
		}
		return hex.EncodeToString(mac.Sum(nil))[:32]
	}
	server := u.String()
	return filepath.Join(dir, digest(server, user), digest(server, user, password)), nil
}

// cacheKey returns the HMAC key of a cache directory, making it on first use. Processes that
// start together agree on one key: the first to link its new file in place wins.
func cacheKey(dir string) ([]byte, error) {
	path := filepath.Join(dir, cacheKeyFile)
	valid := func() ([]byte, bool) {
		k, err := os.ReadFile(path)
		return k, err == nil && len(k) == sha256.Size
	}
	if k, ok := valid(); ok {
		return k, nil
	}
	k := make([]byte, sha256.Size)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(dir, ".key-*") // mode 0600
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if _, err := tmp.Write(k); err != nil {
		_ = tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := os.Link(tmp.Name(), path); err == nil {
		return k, nil
	}
	if k, ok := valid(); ok { // another process made it first
		return k, nil
	}
	// The key file is unreadable or corrupt: the sessions under it cannot be found again anyway.
	if err := os.Rename(tmp.Name(), path); err != nil {
		return nil, err
	}
	return k, nil
}

// forgetOtherPasswords removes the cached sessions of the same server and user opened with
// another password, once this one was accepted: after a password change, sessions opened with
// the old one do not stay on disk.
func forgetOtherPasswords(dir string) {
	if dir == "" {
		return
	}
	parent, self := filepath.Dir(dir), filepath.Base(dir)
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.Name() != self {
			_ = os.RemoveAll(filepath.Join(parent, e.Name()))
		}
	}
}
