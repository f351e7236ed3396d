// Package provider is the vmgmt provider: its schema, its Configure (one vCenter session per
// process, handed to every resource), and the list of resources and data sources.
package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/baseline"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/capacity"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/catalog"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/framework"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/policy"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/security"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// Environment variables, shared with hashicorp/vsphere so both providers read the same credentials.
const (
	EnvServer          = "VSPHERE_SERVER"
	EnvUser            = "VSPHERE_USER"
	EnvPassword        = "VSPHERE_PASSWORD"
	EnvAllowUnverified = "VSPHERE_ALLOW_UNVERIFIED_SSL"
	EnvCAFile          = "VSPHERE_CA_FILE"
	EnvDatacenter      = "VSPHERE_DATACENTER"
	EnvAPITimeout      = "VSPHERE_API_TIMEOUT"
	EnvPersistSession  = "VSPHERE_PERSIST_SESSION"
	EnvSessionPath     = "VSPHERE_VIM_SESSION_PATH"
)

var _ provider.Provider = (*Provider)(nil)

// Provider is the vmgmt provider.
type Provider struct {
	version string
	pools   *pools
}

// pools keep, for the life of the provider process, one vCenter client per distinct
// configuration (so every resource, and every provider alias with the same settings, shares one
// session) and one prepared policy engine per policy configuration.
type pools struct {
	clientsMu sync.Mutex
	clients   map[string]*vsphere.Client
	enginesMu sync.Mutex
	engines   map[string]*policy.Engine
}

// New returns a provider factory for providerserver.
func New(version string) func() provider.Provider {
	factory, _ := NewWithShutdown(version)
	return factory
}

// NewWithShutdown returns a provider factory and the function that closes what the providers it
// makes opened: main calls it when Terraform stops the provider, so sessions that are not
// persisted are logged out and decision logs flushed.
func NewWithShutdown(version string) (factory func() provider.Provider, shutdown func(context.Context)) {
	pl := &pools{clients: map[string]*vsphere.Client{}, engines: map[string]*policy.Engine{}}
	return func() provider.Provider { return &Provider{version: version, pools: pl} }, pl.close
}

type providerModel struct {
	VSphereServer      types.String `tfsdk:"vsphere_server"`
	User               types.String `tfsdk:"user"`
	Password           types.String `tfsdk:"password"`
	AllowUnverifiedSSL types.Bool   `tfsdk:"allow_unverified_ssl"`
	CAFile             types.String `tfsdk:"ca_file"`
	Datacenter         types.String `tfsdk:"datacenter"`
	APITimeout         types.String `tfsdk:"api_timeout"`
	PersistSession     types.Bool   `tfsdk:"persist_session"`
	SessionCacheDir    types.String `tfsdk:"session_cache_dir"`
	Policy             *policyModel `tfsdk:"policy"`
}

func (p *Provider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "vmgmt"
	resp.Version = p.version
}

func (p *Provider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The vmgmt provider is the management layer for business-critical applications on VMware vSphere: " +
			"capacity reservations, security groups, configuration baselines, a service catalog and backup jobs, with " +
			"policy evaluated at plan time. It reads the same credentials as `hashicorp/vsphere`.",
		Attributes: map[string]schema.Attribute{
			"vsphere_server": schema.StringAttribute{
				MarkdownDescription: "vCenter Server host name or IP address, optionally with `:port`, or a full `https://` URL. " +
					"Falls back to `" + EnvServer + "`.",
				Optional: true,
			},
			"user": schema.StringAttribute{
				MarkdownDescription: "User name for vCenter, e.g. `administrator@vsphere.local`. Falls back to `" + EnvUser + "`.",
				Optional:            true,
			},
			"password": schema.StringAttribute{
				MarkdownDescription: "Password for vCenter. Falls back to `" + EnvPassword + "`. Never logged or stored in state. " +
					"From a variable, declare it `ephemeral = true` (Terraform >= 1.10) so that saved plan files do not hold it.",
				Optional:  true,
				Sensitive: true,
			},
			"allow_unverified_ssl": schema.BoolAttribute{
				MarkdownDescription: "Skip verification of vCenter's TLS certificate. Only for labs and simulators. " +
					"Defaults to `false`; falls back to `" + EnvAllowUnverified + "`.",
				Optional: true,
			},
			"ca_file": schema.StringAttribute{
				MarkdownDescription: "Path of a PEM file with the certificate authorities that vCenter's TLS certificate is checked " +
					"against, instead of the system's: for a vCenter signed by a private CA (the VMCA's root, or a company CA). " +
					"The file must hold at least one `CERTIFICATE` block. Ignored when `allow_unverified_ssl` is `true`. " +
					"Falls back to `" + EnvCAFile + "`.",
				Optional:   true,
				Validators: []validator.String{caFileValidator{}},
			},
			"datacenter": schema.StringAttribute{
				MarkdownDescription: "Datacenter used to resolve relative inventory paths (e.g. `prod/Resources/tier-1` means " +
					"`/<datacenter>/host/prod/Resources/tier-1`). Optional when the inventory has a single datacenter. " +
					"Falls back to `" + EnvDatacenter + "`.",
				Optional: true,
			},
			"api_timeout": schema.StringAttribute{
				MarkdownDescription: "Timeout of each vCenter call and task wait, as a Go duration (`90s`, `5m`). Default `5m`. " +
					"Falls back to `" + EnvAPITimeout + "` (a duration, or whole minutes as in the vSphere provider).",
				Optional:   true,
				Validators: []validator.String{durationValidator{}},
			},
			"persist_session": schema.BoolAttribute{
				MarkdownDescription: "Persist the vCenter session on disk (one file per server, user and password, mode 0600) " +
					"so the several provider processes of a Terraform run, and the next run, reuse one session instead of " +
					"logging in each time. A cached session is used only with the password it was opened with. The file is " +
					"a credential: whoever can read it acts as the user until vCenter ends the session. " +
					"Default `true`; falls back to `" + EnvPersistSession + "`. When `false`, " +
					"the provider logs its session out when Terraform stops it.",
				Optional: true,
			},
			"session_cache_dir": schema.StringAttribute{
				MarkdownDescription: "Directory for persisted sessions; keep it private to the user that runs Terraform " +
					"(the provider creates it with mode 0700). Default: the user's cache directory + `/vmgmt/sessions`. " +
					"Falls back to `" + EnvSessionPath + "`.",
				Optional: true,
			},
		},
		Blocks: map[string]schema.Block{
			"policy": policyBlock(),
		},
	}
}

// close closes every client and engine of the pools.
func (pl *pools) close(ctx context.Context) {
	pl.enginesMu.Lock()
	for k, e := range pl.engines {
		_ = e.Close()
		delete(pl.engines, k)
	}
	pl.enginesMu.Unlock()
	pl.clientsMu.Lock()
	defer pl.clientsMu.Unlock()
	for k, c := range pl.clients {
		_ = c.Close(ctx)
		delete(pl.clients, k)
	}
}

func (p *Provider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var m providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	cfg, ok := p.resolveConfig(m, resp)
	if !ok {
		return
	}
	key := strings.Join([]string{cfg.Server, cfg.User, cfg.Password, strconv.FormatBool(cfg.Insecure), cfg.CAFile, cfg.Datacenter,
		cfg.APITimeout.String(), cfg.SessionCacheDir}, "\x00")

	p.pools.clientsMu.Lock()
	c := p.pools.clients[key]
	p.pools.clientsMu.Unlock()
	if c == nil {
		var err error
		c, err = vsphere.Connect(ctx, cfg)
		if err != nil {
			framework.AddVSphereError(&resp.Diagnostics, "Cannot connect to vCenter", err)
			return
		}
		p.pools.clientsMu.Lock()
		if existing := p.pools.clients[key]; existing != nil {
			_ = c.Close(ctx)
			c = existing
		} else {
			p.pools.clients[key] = c
		}
		p.pools.clientsMu.Unlock()
	}
	// A new Terraform command starts from a fresh view of the inventory: the VM snapshot and the
	// client's caches are shared by the calls of one command only.
	c.Refresh()
	engine, ok := p.pools.configurePolicy(ctx, m.Policy, &resp.Diagnostics)
	if !ok {
		return
	}
	data := &framework.Client{VSphere: c, Policy: engine, Version: p.version, Baselines: baseline.Lookup{}}
	resp.ResourceData = data
	resp.DataSourceData = data
}

// resolveConfig merges the provider block with the environment and validates the result. Every
// problem becomes a diagnostic on the attribute that names both the attribute and the variable.
func (p *Provider) resolveConfig(m providerModel, resp *provider.ConfigureResponse) (vsphere.Config, bool) {
	cfg := vsphere.Config{Logger: framework.TFLog{}}
	unknown := func(attr string, v interface{ IsUnknown() bool }) bool {
		if v.IsUnknown() {
			resp.Diagnostics.AddAttributeError(path.Root(attr), "Unknown provider setting",
				fmt.Sprintf("%s depends on a value that is only known after apply. The provider needs it to reach vCenter at plan time: "+
					"use a variable or a value known at plan time.", attr))
			return true
		}
		return false
	}
	for attr, v := range map[string]interface{ IsUnknown() bool }{
		"vsphere_server": m.VSphereServer, "user": m.User, "password": m.Password, "allow_unverified_ssl": m.AllowUnverifiedSSL, "ca_file": m.CAFile,
		"datacenter": m.Datacenter, "api_timeout": m.APITimeout, "persist_session": m.PersistSession, "session_cache_dir": m.SessionCacheDir,
	} {
		unknown(attr, v)
	}
	if resp.Diagnostics.HasError() {
		return cfg, false
	}

	str := func(v types.String, env string) string {
		if !v.IsNull() {
			return v.ValueString()
		}
		return os.Getenv(env)
	}
	cfg.Server = strings.TrimSpace(str(m.VSphereServer, EnvServer))
	cfg.User = str(m.User, EnvUser)
	cfg.Password = str(m.Password, EnvPassword)
	cfg.Datacenter = str(m.Datacenter, EnvDatacenter)

	missing := func(attr, env, what string) {
		resp.Diagnostics.AddAttributeError(path.Root(attr), "Missing "+what,
			fmt.Sprintf("No %s configured. Set %s in the provider block or the %s environment variable.", what, attr, env))
	}
	if cfg.Server == "" {
		missing("vsphere_server", EnvServer, "vCenter server")
	} else if _, err := vsphere.ParseServer(cfg.Server); err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("vsphere_server"), "Invalid vCenter server",
			fmt.Sprintf("%v. Set vsphere_server (or %s) to a host name, host:port or https:// URL.", err, EnvServer))
	}
	if cfg.User == "" {
		missing("user", EnvUser, "vCenter user")
	}
	if cfg.Password == "" {
		missing("password", EnvPassword, "vCenter password")
	}

	boolSetting := func(attr string, v types.Bool, env string, def bool) bool {
		if !v.IsNull() {
			return v.ValueBool()
		}
		s := strings.TrimSpace(os.Getenv(env))
		if s == "" {
			return def
		}
		b, err := strconv.ParseBool(s)
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root(attr), "Invalid "+env,
				fmt.Sprintf("%s=%q is not a boolean: use true or false (it stands in for %s).", env, s, attr))
			return def
		}
		return b
	}
	cfg.Insecure = boolSetting("allow_unverified_ssl", m.AllowUnverifiedSSL, EnvAllowUnverified, false)
	cfg.CAFile = strings.TrimSpace(str(m.CAFile, EnvCAFile))
	if cfg.CAFile != "" && m.CAFile.IsNull() {
		// The attribute's validator checked a value from the block; one from the environment is checked here.
		if err := vsphere.CheckCAFile(cfg.CAFile); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("ca_file"), "Invalid "+EnvCAFile,
				fmt.Sprintf("%s=%q: %v. Point it at a PEM file holding the CA certificate that signed vCenter's certificate (it stands in for ca_file), or unset it.", EnvCAFile, cfg.CAFile, err))
		}
	}
	persist := boolSetting("persist_session", m.PersistSession, EnvPersistSession, true)

	if s := str(m.APITimeout, EnvAPITimeout); s != "" {
		d, err := parseTimeout(s)
		if err != nil {
			src := "api_timeout"
			if m.APITimeout.IsNull() {
				src = EnvAPITimeout
			}
			resp.Diagnostics.AddAttributeError(path.Root("api_timeout"), "Invalid API timeout",
				fmt.Sprintf("%s=%q: %v. Use a duration such as 90s or 5m.", src, s, err))
		}
		cfg.APITimeout = d
	}
	if persist {
		dir := str(m.SessionCacheDir, EnvSessionPath)
		if dir == "" {
			base, err := os.UserCacheDir()
			if err != nil {
				base = os.TempDir()
			}
			dir = filepath.Join(base, "vmgmt", "sessions")
		}
		cfg.SessionCacheDir = dir
	}
	return cfg, !resp.Diagnostics.HasError()
}

// parseTimeout accepts a Go duration, or a whole number of minutes as VSPHERE_API_TIMEOUT does in
// the vSphere provider.
func parseTimeout(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 {
			return 0, fmt.Errorf("must be positive")
		}
		return time.Duration(n) * time.Minute, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("not a duration")
	}
	if d <= 0 {
		return 0, fmt.Errorf("must be positive")
	}
	return d, nil
}

func (p *Provider) Resources(context.Context) []func() resource.Resource {
	var out []func() resource.Resource
	out = append(out, capacity.Resources()...)
	out = append(out, catalog.Resources()...)
	out = append(out, security.Resources()...)
	out = append(out, baseline.Resources()...)
	out = append(out, backup.Resources()...)
	return out
}

func (p *Provider) DataSources(context.Context) []func() datasource.DataSource {
	var out []func() datasource.DataSource
	out = append(out, capacity.DataSources()...)
	out = append(out, catalog.DataSources()...)
	out = append(out, security.DataSources()...)
	out = append(out, baseline.DataSources()...)
	out = append(out, backup.DataSources()...)
	return out
}

// caFileValidator checks at plan time that ca_file names a readable file holding at least one PEM
// certificate, so that a wrong path is reported on the attribute rather than as a TLS failure.
type caFileValidator struct{}

func (caFileValidator) Description(context.Context) string {
	return "value must be the path of a readable PEM file holding at least one certificate"
}
func (v caFileValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }
func (caFileValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := vsphere.CheckCAFile(strings.TrimSpace(req.ConfigValue.ValueString())); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid CA file",
			fmt.Sprintf("%v. Set ca_file to a PEM file holding the CA certificate that signed vCenter's certificate, "+
				"e.g. the VMCA root certificates that vCenter serves at https://<vcenter>/certs/download.zip.", err))
	}
}

type durationValidator struct{}

func (durationValidator) Description(context.Context) string {
	return "value must be a positive Go duration such as 90s or 5m"
}
func (v durationValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }
func (durationValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, err := parseTimeout(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid duration",
			fmt.Sprintf("%q: %v. Use a duration such as 90s or 5m.", req.ConfigValue.ValueString(), err))
	}
}
