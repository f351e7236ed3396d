package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/policy"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/policy/packs"
)

type policyModel struct {
	Sources     []types.String `tfsdk:"sources"`
	Packs       []types.String `tfsdk:"packs"`
	DecisionLog types.String   `tfsdk:"decision_log"`
	Explain     types.String   `tfsdk:"explain"`
	Remote      *remoteModel   `tfsdk:"remote"`
}

type remoteModel struct {
	URL     types.String `tfsdk:"url"`
	Path    types.String `tfsdk:"path"`
	Timeout types.String `tfsdk:"timeout"`
	Token   types.String `tfsdk:"token"`
}

func policyBlock() schema.SingleNestedBlock {
	return schema.SingleNestedBlock{
		MarkdownDescription: "The policy gate: Rego policy evaluated for every planned change at plan time, inside the provider, " +
			"and again at apply time before anything changes in vCenter. See the policy guide.",
		Attributes: map[string]schema.Attribute{
			"sources": schema.ListAttribute{
				MarkdownDescription: "Rego files, directories (Rego plus JSON/YAML data such as exemptions and pack parameters) and " +
					"bundle `.tar.gz` files (their manifest, revision and `rego_version` are honoured). `*_test.rego` files are not loaded.",
				ElementType: types.StringType,
				Optional:    true,
				Validators:  []validator.List{listvalidator.ValueStringsAre(stringvalidator.LengthAtLeast(1))},
			},
			"packs": schema.ListAttribute{
				MarkdownDescription: "Built-in policy packs by name: " + "`" + strings.Join(packs.Names(), "`, `") + "`. " +
					"Their parameters come from policy data (`data.vmgmt.params.<pack>`).",
				ElementType: types.StringType,
				Optional:    true,
				Validators:  []validator.List{listvalidator.ValueStringsAre(stringvalidator.OneOf(packs.Names()...))},
			},
			"decision_log": schema.StringAttribute{
				MarkdownDescription: "Path of a JSON-lines file receiving one line per decision (id, time, phase, resource, result, " +
					"exemptions used, policy revision, duration); sensitive values are masked.",
				Optional: true,
			},
			"explain": schema.StringAttribute{
				MarkdownDescription: "`none` (default) or `fails`: add a trimmed evaluation trace to the diagnostic of a blocking violation.",
				Optional:            true,
				Validators:          []validator.String{stringvalidator.OneOf(policy.ExplainNone, policy.ExplainFails)},
			},
		},
		Blocks: map[string]schema.Block{
			"remote": schema.SingleNestedBlock{
				MarkdownDescription: "Also ask an OPA server (`POST /v1/data/<path>`). If it cannot answer within `timeout`, the change is refused (fail closed).",
				Attributes: map[string]schema.Attribute{
					"url": schema.StringAttribute{
						MarkdownDescription: "Base URL of the OPA server, e.g. `https://opa.example.com:8181`.",
						Optional:            true,
					},
					"path": schema.StringAttribute{
						MarkdownDescription: "Decision path below `/v1/data`, e.g. `vmgmt` (default) or `vmgmt/capacity`.",
						Optional:            true,
					},
					"timeout": schema.StringAttribute{
						MarkdownDescription: "Timeout of one decision as a Go duration. Default `5s`.",
						Optional:            true,
						Validators:          []validator.String{durationValidator{}},
					},
					"token": schema.StringAttribute{
						MarkdownDescription: "Bearer token sent to the server. Pass it from an `ephemeral = true` variable " +
							"(Terraform >= 1.10) so that saved plan files do not hold it.",
						Optional:  true,
						Sensitive: true,
					},
				},
			},
		},
	}
}

// engines keeps one prepared engine per policy configuration for the life of the process.
var (
	enginesMu sync.Mutex
	engines   = map[string]*policy.Engine{}
)

func configurePolicy(ctx context.Context, m *policyModel, diags *diag.Diagnostics) (*policy.Engine, bool) {
	if m == nil {
		return nil, true
	}
	var cfg policy.Config
	for _, s := range m.Sources {
		if s.IsUnknown() {
			diags.AddAttributeError(path.Root("policy").AtName("sources"), "Unknown policy source", "Policy sources must be known at plan time.")
			return nil, false
		}
		cfg.Sources = append(cfg.Sources, s.ValueString())
	}
	for _, s := range m.Packs {
		cfg.Packs = append(cfg.Packs, s.ValueString())
	}
	cfg.DecisionLog = m.DecisionLog.ValueString()
	cfg.Explain = m.Explain.ValueString()
	if r := m.Remote; r != nil && r.URL.IsNull() && (!r.Path.IsNull() || !r.Timeout.IsNull() || !r.Token.IsNull()) {
		diags.AddAttributeError(path.Root("policy").AtName("remote").AtName("url"), "Missing remote OPA URL",
			"The remote block needs url (e.g. https://opa.example.com:8181); without it no remote decision would be asked for.")
		return nil, false
	}
	if r := m.Remote; r != nil && !r.URL.IsNull() {
		rc := &policy.RemoteConfig{URL: r.URL.ValueString(), Path: r.Path.ValueString(), Token: r.Token.ValueString()}
		if t := r.Timeout.ValueString(); t != "" {
			d, err := time.ParseDuration(t)
			if err != nil {
				diags.AddAttributeError(path.Root("policy").AtName("remote").AtName("timeout"), "Invalid timeout", err.Error())
				return nil, false
			}
			rc.Timeout = d
		}
		cfg.Remote = rc
	}
	if !cfg.Enabled() {
		diags.AddAttributeError(path.Root("policy"), "Empty policy block",
			"The policy block names no sources, packs or remote decision point. Add at least one, or remove the block.")
		return nil, false
	}
	keyBytes, _ := json.Marshal(cfg)
	key := string(keyBytes)
	enginesMu.Lock()
	defer enginesMu.Unlock()
	if e := engines[key]; e != nil {
		return e, true
	}
	e, err := policy.New(ctx, cfg)
	if err != nil {
		var le *policy.LoadError
		summary := "Cannot load policy"
		if errors.As(err, &le) {
			summary = "Invalid policy"
		}
		diags.AddAttributeError(path.Root("policy"), summary,
			fmt.Sprintf("%v\n\nFix the policy source (file and line above) and plan again; `terraform-provider-vmgmt policy test <dir>` runs its tests.", err))
		return nil, false
	}
	engines[key] = e
	return e, true
}

// closePolicy flushes decision logs at shutdown.
func closePolicy() {
	enginesMu.Lock()
	defer enginesMu.Unlock()
	for k, e := range engines {
		_ = e.Close()
		delete(engines, k)
	}
}
