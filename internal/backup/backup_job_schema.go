package backup

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/job"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/framework"
)

// MaxJobNameLength bounds a job's name: it is a tag's name (vmgmt-backup-job:<name>) and a
// directory in the repository.
const MaxJobNameLength = 64

func (r *jobResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	count := func(d string) schema.Int64Attribute {
		return schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(0), CustomType: framework.Int64Type{},
			Validators: []validator.Int64{framework.Int64Between(0, 100000)}, MarkdownDescription: d}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "A backup job: which VMs (and hosts) to back up, when, how consistent, into which repository, and " +
			"how many restore points to keep. The definition is stored in vCenter (datacenter custom attribute " +
			"`vmgmt.backup-jobs`), so that the runner (`terraform-provider-vmgmt backup run`) needs nothing but vCenter's and " +
			"the repository's credentials. The VMs it protects are resolved live at every plan, so that a plan shows the VMs " +
			"that enter or leave protection. Destroying a job removes its definition, never its restore points. Import by name.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "The job's name.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"name": schema.StringAttribute{Required: true,
				MarkdownDescription: "Name of the job, unique in the datacenter. A catalog item's `backup_job` names it, and the item's " +
					"VMs (tagged `vmgmt-backup-job:<name>`) are protected by it. Changing it replaces the job.",
				Validators:    []validator.String{framework.Name(MaxJobNameLength)},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"description": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(""),
				MarkdownDescription: "What the job is for. Defaults to empty.", Validators: []validator.String{stringvalidator.LengthAtMost(1024)}},
			"schedule": schema.SingleNestedAttribute{Required: true,
				MarkdownDescription: "When the job is due. The runner, started by cron or a Kubernetes CronJob, runs the jobs that are due.",
				Attributes: map[string]schema.Attribute{
					"cron": schema.StringAttribute{Required: true,
						MarkdownDescription: "A cron expression of five fields, minute hour day-of-month month day-of-week (`0 2 * * *`: " +
							"02:00 every day; `30 1 * * 0`: 01:30 every Sunday; `L` is the last day of the month), or a tag such as " +
							"`@daily`. Checked at plan time by [gronx](https://github.com/adhocore/gronx).",
						Validators: []validator.String{cronValidator()}},
					"time_zone": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(job.DefaultTimeZone),
						MarkdownDescription: "The IANA time zone the expression is read in (`Europe/Berlin`). Defaults to `UTC`. A time a " +
							"DST change skips does not run that day; a time it repeats runs once.",
						Validators: []validator.String{timeZoneValidator()}},
				}},
			"retention": schema.SingleNestedAttribute{Required: true,
				MarkdownDescription: "Which restore points the runner keeps when it prunes: a point is kept when any rule keeps it. " +
					"The newest verified point is never pruned, and none is pruned before its replacement is complete.",
				Attributes: map[string]schema.Attribute{
					"keep_last": schema.Int64Attribute{Required: true, CustomType: framework.Int64Type{},
						Validators:          []validator.Int64{framework.Int64Between(0, 100000)},
						MarkdownDescription: "Keep the newest N restore points; at least 1."},
					"keep_days": count("Keep every restore point younger than N days. Defaults to 0."),
					"daily":     count("Keep the newest restore point of each of the last N days. Defaults to 0."),
					"weekly":    count("Keep the newest restore point of each of the last N weeks (ISO weeks). Defaults to 0."),
					"monthly":   count("Keep the newest restore point of each of the last N months. Defaults to 0."),
				}},
			"consistency": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(string(job.Crash)),
				MarkdownDescription: "`crash` (the default) snapshots the disks as they are; `quiesced` asks VMware Tools to flush the " +
					"guest's file systems (and VSS writers on Windows) first.",
				Validators: []validator.String{stringvalidator.OneOf(job.Consistencies()...)}},
			"repository": schema.StringAttribute{Required: true,
				MarkdownDescription: "Where the restore points go: `file:///path/to/dir` (a local or mounted directory) or " +
					"`s3://bucket/prefix?endpoint=https://minio.example.com:9000&region=eu-central-1` (AWS S3 or an S3-compatible " +
					"server). Credentials never go in the URL: the runner takes them from its environment (`AWS_ACCESS_KEY_ID`, " +
					"`AWS_SECRET_ACCESS_KEY`, or a profile), so they enter neither Terraform state nor vCenter.",
				Validators: []validator.String{repositoryValidator()}},
			"restore_test": schema.SingleNestedAttribute{Optional: true,
				MarkdownDescription: "A declared restore test, which `terraform-provider-vmgmt backup verify --all-due` runs when its " +
					"schedule is due: it restores the newest point of `sample` VMs (those whose newest point was tested longest ago " +
					"first, never tested before all, so that every VM is tested in turn) into the isolated `folder`, with every NIC on the isolated `network`, without tags or vmgmt " +
					"stamps, powers them on, waits for the guest, records the measured recovery time in each point's manifest " +
					"(`vmgmt_restore_points` shows it) and removes the copies. A checksum mismatch, a copy that does not come up, or a " +
					"recovery slower than `max_recovery_minutes` is a failed test. The newest verified point is never pruned.",
				Attributes: map[string]schema.Attribute{
					"cron": schema.StringAttribute{Required: true,
						MarkdownDescription: "When the test is due, a five-field cron expression as the job's `schedule.cron` (`0 6 * * 0`: Sundays at 06:00).",
						Validators:          []validator.String{cronValidator()}},
					"time_zone": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(job.DefaultTimeZone),
						MarkdownDescription: "The IANA time zone of `cron`. Defaults to `UTC`.", Validators: []validator.String{timeZoneValidator()}},
					"sample": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(1), CustomType: framework.Int64Type{},
						Validators:          []validator.Int64{framework.Int64Between(0, 10000)},
						MarkdownDescription: "How many VMs each test restores; 0 restores every VM of the job. Defaults to 1."},
					"folder": schema.StringAttribute{Required: true,
						MarkdownDescription: "The isolated VM folder (inventory path or managed object ID) the copies go to.",
						Validators:          []validator.String{framework.Name(1024)}},
					"network": schema.StringAttribute{Required: true,
						MarkdownDescription: "The isolated network or port group every NIC of a copy is put on: one with no route to " +
							"production, so that a copy never answers for the VM it copies.",
						Validators: []validator.String{framework.Name(256)}},
					"max_recovery_minutes": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(0), CustomType: framework.Int64Type{},
						Validators:          []validator.Int64{framework.Int64Between(0, 100000)},
						MarkdownDescription: "A test whose recovery (restore, power on, guest up) takes longer fails. 0 (the default): no bound."},
				}},
			"enabled": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				MarkdownDescription: "Whether the runner runs the job. Defaults to `true`; a disabled job keeps its restore points."},
			"protected_vm_ids": schema.SetAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "The VMs the job protects, resolved live at plan time: the `selection`'s, and the catalog VMs whose " +
					"item names the job. Known after apply while the same run creates VMs."},
			"protected_host_ids": schema.SetAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "The hosts whose configuration the job backs up (`hosts`); null without a `hosts` block."},
			"next_run": schema.StringAttribute{Computed: true,
				MarkdownDescription: "When the job is next due (RFC 3339, in the schedule's zone), as of the last apply or refresh; " +
					"null for a disabled job."},
			"last_run": schema.SingleNestedAttribute{Computed: true,
				MarkdownDescription: "What the runner recorded of the job's latest run; null before the first.",
				Attributes: map[string]schema.Attribute{
					"started":        schema.StringAttribute{Computed: true, MarkdownDescription: "When it started (RFC 3339)."},
					"finished":       schema.StringAttribute{Computed: true, MarkdownDescription: "When it finished (RFC 3339)."},
					"status":         schema.StringAttribute{Computed: true, MarkdownDescription: "`ok`, `partial` (some VMs or hosts failed), `failed`, or `running` while the run's runners are at work (or one died and the next runner of the same schedule slot resumes it)."},
					"vms":            schema.Int64Attribute{Computed: true, MarkdownDescription: "VMs backed up."},
					"failed":         schema.Int64Attribute{Computed: true, MarkdownDescription: "VMs and hosts that could not be backed up."},
					"hosts":          schema.Int64Attribute{Computed: true, MarkdownDescription: "Host configurations backed up."},
					"bytes":          schema.Int64Attribute{Computed: true, MarkdownDescription: "Bytes written to the repository."},
					"restore_points": schema.Int64Attribute{Computed: true, MarkdownDescription: "Restore points in the repository after the run."},
				},
				PlanModifiers: []planmodifier.Object{objectplanmodifier.UseStateForUnknown()}},
			"restore_point_count": schema.Int64Attribute{Computed: true,
				MarkdownDescription: "Complete restore points the job has in its repository (every VM and host), as of its last run, after pruning; 0 before the first.",
				PlanModifiers:       []planmodifier.Int64{int64planmodifier.UseStateForUnknown()}},
		},
		Blocks: map[string]schema.Block{
			"selection": func() schema.SingleNestedBlock {
				b := framework.OptionalSelectionBlock()
				b.MarkdownDescription = "The VMs the job backs up (a job needs `selection`, `hosts` or both). " + b.MarkdownDescription
				return b
			}(),
			"hosts": func() schema.SingleNestedBlock {
				b := framework.HostSelectionBlock()
				b.MarkdownDescription = "Hosts whose configuration bundle the job backs up. " + b.MarkdownDescription
				return b
			}(),
		},
	}
}

var lastRunAttrTypes = map[string]attr.Type{
	"started": types.StringType, "finished": types.StringType, "status": types.StringType, "vms": types.Int64Type,
	"failed": types.Int64Type, "hosts": types.Int64Type, "bytes": types.Int64Type, "restore_points": types.Int64Type,
}

type jobModel struct {
	ID                types.String                  `tfsdk:"id"`
	Name              types.String                  `tfsdk:"name"`
	Description       types.String                  `tfsdk:"description"`
	Schedule          *scheduleModel                `tfsdk:"schedule"`
	Retention         *retentionModel               `tfsdk:"retention"`
	Consistency       types.String                  `tfsdk:"consistency"`
	Repository        types.String                  `tfsdk:"repository"`
	Enabled           types.Bool                    `tfsdk:"enabled"`
	RestoreTest       *restoreTestModel             `tfsdk:"restore_test"`
	ProtectedVMIDs    types.Set                     `tfsdk:"protected_vm_ids"`
	ProtectedHostIDs  types.Set                     `tfsdk:"protected_host_ids"`
	NextRun           types.String                  `tfsdk:"next_run"`
	LastRun           types.Object                  `tfsdk:"last_run"`
	RestorePointCount types.Int64                   `tfsdk:"restore_point_count"`
	Selection         *framework.SelectionModel     `tfsdk:"selection"`
	Hosts             *framework.HostSelectionModel `tfsdk:"hosts"`
}

type scheduleModel struct {
	Cron     types.String `tfsdk:"cron"`
	TimeZone types.String `tfsdk:"time_zone"`
}

type restoreTestModel struct {
	Cron               types.String `tfsdk:"cron"`
	TimeZone           types.String `tfsdk:"time_zone"`
	Sample             types.Int64  `tfsdk:"sample"`
	Folder             types.String `tfsdk:"folder"`
	Network            types.String `tfsdk:"network"`
	MaxRecoveryMinutes types.Int64  `tfsdk:"max_recovery_minutes"`
}

type retentionModel struct {
	KeepLast types.Int64 `tfsdk:"keep_last"`
	KeepDays types.Int64 `tfsdk:"keep_days"`
	Daily    types.Int64 `tfsdk:"daily"`
	Weekly   types.Int64 `tfsdk:"weekly"`
	Monthly  types.Int64 `tfsdk:"monthly"`
}
