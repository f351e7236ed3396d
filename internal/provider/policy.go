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
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/framework"

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

// configurePolicy returns the prepared engine of a policy configuration, prepared once per
// process.
func (pl *pools) configurePolicy(ctx context.Context, m *policyModel, diags *diag.Diagnostics) (*policy.Engine, bool) {
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
	schemas, err := PolicyInputSchemas(ctx)
	if err != nil {
		diags.AddError("Cannot build the policy input schemas", fmt.Sprintf("%v. This is a bug in the vmgmt provider; please report it.", err))
		return nil, false
	}
	cfg.Schemas = schemas
	keyBytes, _ := json.Marshal(cfg)
	key := string(keyBytes)
	pl.enginesMu.Lock()
	defer pl.enginesMu.Unlock()
	if e := pl.engines[key]; e != nil {
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
	pl.engines[key] = e
	return e, true
}

var (
	inputSchemasOnce sync.Once
	inputSchemas     policy.Schemas
	inputSchemasErr  error
)

// PolicyInputSchemas are the JSON Schemas of the policy input of every resource and data source
// of the provider, derived from their schemas and the inventory facts they describe
// (framework.PolicyInventory). Policy is type-checked against them when it loads, and
// schemas/policy-input holds them as files for `opa check --schema`.
func PolicyInputSchemas(ctx context.Context) (policy.Schemas, error) {
	inputSchemasOnce.Do(func() { inputSchemas, inputSchemasErr = buildInputSchemas(ctx) })
	return inputSchemas, inputSchemasErr
}

func buildInputSchemas(ctx context.Context) (policy.Schemas, error) {
	p := &Provider{}
	out := policy.Schemas{}
	// A resource and a data source may share a type name: the input of either conforms.
	add := func(typ string, s *policy.Schema) { out[typ] = policy.Merge(out[typ], s) }
	for _, f := range p.Resources(ctx) {
		r := f()
		var meta resource.MetadataResponse
		r.Metadata(ctx, resource.MetadataRequest{ProviderTypeName: "vmgmt"}, &meta)
		var sr resource.SchemaResponse
		r.Schema(ctx, resource.SchemaRequest{}, &sr)
		if sr.Diagnostics.HasError() {
			return nil, fmt.Errorf("schema of %s: %v", meta.TypeName, sr.Diagnostics)
		}
		add(meta.TypeName, policy.InputSchema(meta.TypeName, policy.KindResource, sr.Schema.Type().TerraformType(ctx),
			describer(ctx, sr.Schema), inventoryOf(r)))
	}
	for _, f := range p.DataSources(ctx) {
		d := f()
		var meta datasource.MetadataResponse
		d.Metadata(ctx, datasource.MetadataRequest{ProviderTypeName: "vmgmt"}, &meta)
		var sr datasource.SchemaResponse
		d.Schema(ctx, datasource.SchemaRequest{}, &sr)
		if sr.Diagnostics.HasError() {
			return nil, fmt.Errorf("schema of data source %s: %v", meta.TypeName, sr.Diagnostics)
		}
		add(meta.TypeName, policy.InputSchema(meta.TypeName, policy.KindDataSource, sr.Schema.Type().TerraformType(ctx),
			describer(ctx, sr.Schema), inventoryOf(d)))
	}
	return out, nil
}

func inventoryOf(v any) map[string]*policy.Schema {
	if pi, ok := v.(framework.PolicyInventory); ok {
		return pi.PolicyInventory()
	}
	return nil
}

// describer reads attribute descriptions (and whether a number is whole) from a resource or data
// source schema.
func describer[A interface {
	GetMarkdownDescription() string
	GetType() attr.Type
}](ctx context.Context, s interface {
	AttributeAtPath(context.Context, path.Path) (A, diag.Diagnostics)
}) policy.Describe {
	return func(tp *tftypes.AttributePath) (string, bool) {
		p, ok := frameworkPath(tp)
		if !ok {
			return "", false
		}
		a, d := s.AttributeAtPath(ctx, p)
		if d.HasError() {
			return "", false // a block, or an element of a set
		}
		t := a.GetType()
		return a.GetMarkdownDescription(), t.Equal(types.Int64Type) || t.Equal(types.Int32Type)
	}
}

// frameworkPath converts an attribute path; steps into a set cannot be (they need the value).
func frameworkPath(tp *tftypes.AttributePath) (path.Path, bool) {
	var p path.Path
	for i, step := range tp.Steps() {
		switch x := step.(type) {
		case tftypes.AttributeName:
			if i == 0 {
				p = path.Root(string(x))
			} else {
				p = p.AtName(string(x))
			}
		case tftypes.ElementKeyInt:
			p = p.AtListIndex(int(x))
		case tftypes.ElementKeyString:
			p = p.AtMapKey(string(x))
		default:
			return path.Path{}, false
		}
	}
	return p, true
}
