// Package vsphere holds every call vmgmt makes to vCenter: the session (login, keep-alive, reuse
// across processes, re-login when a session goes stale), bounded retries, typed NotFound errors,
// task waits and bulk property reads. It knows nothing of Terraform.
package vsphere

import (
	"context"
	"errors"
	"fmt"
	"net/url"
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
	// Datacenter is the default datacenter used to resolve relative inventory paths.
	// Empty means the only datacenter of the inventory.
	Datacenter string
	// APITimeout bounds every single vCenter call and task wait. Zero means five minutes.
	APITimeout time.Duration
	// SessionCacheDir is where sessions are persisted (one file per server and user, mode 0600)
	// so that the many short-lived provider processes of a Terraform run share one session.
	// Empty disables the cache: the session is then logged out by Close.
	SessionCacheDir string
	// KeepAlive is the idle interval after which a no-op call keeps the session alive.
	// Zero means five minutes.
	KeepAlive time.Duration
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
// session for this server and user; a stale one is replaced transparently.
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
	login := *u
	login.User = url.UserPassword(cfg.User, cfg.Password)

	c := &Client{cfg: cfg, url: u, stats: &Stats{}}
	c.cache = &cache.Session{
		URL:         &login,
		Insecure:    cfg.Insecure,
		DirSOAP:     cfg.SessionCacheDir,
		DirREST:     restCacheDir(cfg.SessionCacheDir),
		Passthrough: cfg.SessionCacheDir == "",
	}
	configure := func(sc *soap.Client) error {
		sc.Timeout = cfg.APITimeout
		return nil
	}

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
			return nil, classifyLoginError(u, cfg.User, err)
		}
		c.created = true
	}
	c.vim = vc

	// Round trip chain, outermost first: keep-alive -> re-login on NotAuthenticated -> retry -> count -> SOAP.
	var rt soap.RoundTripper = vc.Client
	rt = &countingRoundTripper{next: rt, stats: c.stats}
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
		return classifyLoginError(c.url, c.cfg.User, err)
	}
	c.created = true
	if err := c.cache.Save(c.vim); err != nil {
		return fmt.Errorf("saving the new vCenter session to %s: %w", c.cfg.SessionCacheDir, err)
	}
	return nil
}

func classifyLoginError(u *url.URL, user string, err error) error {
	msg := err.Error()
	switch {
	case fault.Is(err, &types.InvalidLogin{}) || strings.Contains(msg, "InvalidLogin") ||
		strings.Contains(strings.ToLower(msg), "incorrect user name or password") || strings.Contains(msg, "Login failure"):
		return &LoginError{Server: u.Host, User: user, Reason: "vCenter rejected the user name or password", Err: err}
	case strings.Contains(msg, "x509:") || strings.Contains(msg, "certificate"):
		return &LoginError{Server: u.Host, User: user, Reason: "the server's TLS certificate is not trusted (install its CA, or set allow_unverified_ssl = true for a lab)", Err: err}
	default:
		return &LoginError{Server: u.Host, User: user, Reason: "cannot reach the vCenter SDK", Err: err}
	}
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
	return dir + "/rest"
}
