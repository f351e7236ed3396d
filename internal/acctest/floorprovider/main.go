// Command floorprovider serves vmgmt's provider and resource schemas and does nothing else: no
// vCenter, no policy, no checks. The refresh benchmark plans the same configuration against it to
// show what Terraform and terraform-plugin-framework cost alone for N resources of that shape:
// the floor under vmgmt's own figures. Test tooling, never released.
package main

import (
	"context"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	fwprovider "github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/provider"
)

func main() {
	provider.TuneProcess()
	vmgmt := provider.New("floor")()
	err := providerserver.Serve(context.Background(), func() fwprovider.Provider { return floor{vmgmt} }, providerserver.ServeOpts{
		Address: "registry.terraform.io/vmgmt/vmgmt", ProtocolVersion: 6,
	})
	if err != nil {
		log.Fatal(err)
	}
}

// floor is vmgmt's provider schema with resources that only keep what Terraform plans.
type floor struct{ real fwprovider.Provider }

func (p floor) Metadata(ctx context.Context, req fwprovider.MetadataRequest, resp *fwprovider.MetadataResponse) {
	p.real.Metadata(ctx, req, resp)
}

func (p floor) Schema(ctx context.Context, req fwprovider.SchemaRequest, resp *fwprovider.SchemaResponse) {
	p.real.Schema(ctx, req, resp)
}

func (floor) Configure(context.Context, fwprovider.ConfigureRequest, *fwprovider.ConfigureResponse) {}

func (p floor) Resources(ctx context.Context) []func() resource.Resource {
	var out []func() resource.Resource
	for _, newReal := range p.real.Resources(ctx) {
		out = append(out, func() resource.Resource { return floorResource{newReal()} })
	}
	return out
}

func (floor) DataSources(context.Context) []func() datasource.DataSource { return nil }

// floorResource has a vmgmt resource's type name and schema; create and update store the plan
// (unknown values as null), read keeps the state.
type floorResource struct{ real resource.Resource }

func (r floorResource) Metadata(ctx context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	r.real.Metadata(ctx, req, resp)
}

func (r floorResource) Schema(ctx context.Context, req resource.SchemaRequest, resp *resource.SchemaResponse) {
	r.real.Schema(ctx, req, resp)
}

func (floorResource) Create(_ context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	resp.State.Raw = known(req.Plan.Raw)
}

func (floorResource) Read(context.Context, resource.ReadRequest, *resource.ReadResponse) {}

func (floorResource) Update(_ context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	resp.State.Raw = known(req.Plan.Raw)
}

func (floorResource) Delete(context.Context, resource.DeleteRequest, *resource.DeleteResponse) {}

func known(v tftypes.Value) tftypes.Value {
	out, _ := tftypes.Transform(v, func(_ *tftypes.AttributePath, v tftypes.Value) (tftypes.Value, error) {
		if !v.IsKnown() {
			return tftypes.NewValue(v.Type(), nil), nil
		}
		return v, nil
	})
	return out
}
