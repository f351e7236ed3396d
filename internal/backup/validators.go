package backup

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/job"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/repo"
)

// stringCheck is a string validator from a check that returns what is wrong, so that the plan
// says it on the attribute in the words of the package that owns the rule (gronx's schedule, the
// zone database, repo.ParseURL).
type stringCheck struct {
	summary, description string
	check                func(string) error
}

func (v stringCheck) Description(context.Context) string { return v.description }

func (v stringCheck) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v stringCheck) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := v.check(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, v.summary, "Attribute "+req.Path.String()+": "+err.Error()+".")
	}
}

func cronValidator() validator.String {
	return stringCheck{summary: "Invalid cron expression", description: "value must be a five-field cron expression that fires",
		check: func(s string) error { return job.Schedule{Cron: s}.Validate() }}
}

func timeZoneValidator() validator.String {
	return stringCheck{summary: "Unknown time zone", description: "value must be an IANA time zone name",
		check: func(s string) error { _, err := job.Schedule{TimeZone: s}.Location(); return err }}
}

func repositoryValidator() validator.String {
	return stringCheck{summary: "Invalid repository URL", description: "value must be a file:// or s3:// repository URL without credentials",
		check: func(s string) error { _, err := repo.ParseURL(s); return err }}
}
