package backup_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/job"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// badJob is a job with these schedule, retention, repository and extra lines, and this selection.
func badJob(sim *acctest.Sim, schedule, retention, repository, extra, selection string) string {
	if schedule == "" {
		schedule = `{ cron = "0 2 * * *" }`
	}
	if retention == "" {
		retention = `{ keep_last = 3 }`
	}
	if repository == "" {
		repository = "file:///var/backups/vmgmt"
	}
	if selection == "" {
		selection = tier1
	}
	return sim.ProviderConfig() + fmt.Sprintf(`
resource "vmgmt_backup_job" "bad" {
  name       = "bad"
  schedule   = %s
  retention  = %s
  repository = %q
%s
  %s
}
`, schedule, retention, repository, extra, selection)
}

// Every bad input fails the plan with a message that says what is wrong and where, and no job
// record is written to vCenter.
func TestAccBackupJob_badInput(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	countJobs := acctest.Counter{What: "backup job records", Count: func(ctx context.Context, c *vsphere.Client) (int, error) {
		jobs, err := job.ReadJobs(ctx, c, true)
		return len(jobs), err
	}}
	cases := []acctest.BadInput{
		{Class: "schedule", Name: "hour out of range", Config: badJob(sim, `{ cron = "0 25 * * *" }`, "", "", "", ""),
			Want: `Error: Invalid cron expression.*Attribute schedule\.cron: cron "0 25 \* \* \*" is not a cron expression the scheduler accepts: the hour field "25" is out of range or malformed\. Give five fields.*"0 2 \* \* \*" \(02:00 every day\)`},
		{Class: "schedule", Name: "words", Config: badJob(sim, `{ cron = "nightly" }`, "", "", "", ""),
			Want: `Error: Invalid cron expression.*schedule\.cron: cron "nightly" .*does not have five fields`},
		{Class: "schedule", Name: "seconds", Config: badJob(sim, `{ cron = "0 0 2 * * *" }`, "", "", "", ""),
			Want: `Error: Invalid cron expression.*seconds or years`},
		{Class: "schedule", Name: "never fires", Config: badJob(sim, `{ cron = "0 2 30 2 *" }`, "", "", "", ""),
			Want: `Error: Invalid cron expression.*cron "0 2 30 2 \*" has no run after`},
		{Class: "schedule", Name: "unknown zone", Config: badJob(sim, `{ cron = "0 2 * * *", time_zone = "Europe/Berlinn" }`, "", "", "", ""),
			Want: `Error: Unknown time zone.*Attribute schedule\.time_zone: time zone "Europe/Berlinn" is not in the IANA time zone database.*Europe/Berlin`},
		{Class: "repository", Name: "no scheme", Config: badJob(sim, "", "", "/var/backups", "", ""),
			Want: `Error: Invalid repository URL.*Attribute repository: the repository URL "/var/backups" has no scheme: give file:///path/to/dir or s3://bucket/prefix`},
		{Class: "repository", Name: "unknown scheme", Config: badJob(sim, "", "", "nfs://filer/backups", "", ""),
			Want: `Error: Invalid repository URL.*scheme "nfs"`},
		{Class: "repository", Name: "credentials in the URL", Config: badJob(sim, "", "", "s3://AKIA:secret@bucket/vmgmt", "", ""),
			Want: `Error: Invalid repository URL.*carries credentials: remove them, and give them in the environment`},
		{Class: "repository", Name: "relative file path", Config: badJob(sim, "", "", "file://backups", "", ""),
			Want: `Error: Invalid repository URL.*names host "backups"`},
		{Class: "retention", Name: "keep_last 0", Config: badJob(sim, "", `{ keep_last = 0, daily = 7 }`, "", "", ""),
			Want: `Error: Retention keeps nothing.*Keep_last = 0 keeps no restore point`},
		{Class: "retention", Name: "keep_last missing", Config: badJob(sim, "", `{ daily = 7 }`, "", "", ""),
			Want: `Error: Incorrect attribute value type.*keep_last.*required`},
		{Class: "retention", Name: "negative daily", Config: badJob(sim, "", `{ keep_last = 1, daily = -1 }`, "", "", ""),
			Want: `Error: Number out of range.*Attribute retention\.daily must be a whole number from 0 to 100,000; got -1`},
		{Class: "selection", Name: "no selection or hosts", Config: badJob(sim, "", "", "", "", " "),
			Want: `Error: Backup job protects nothing.*needs a selection block naming its VMs`},
		{Class: "selection", Name: "empty selection", Config: badJob(sim, "", "", "", "", "selection {}"),
			Want: `Error: Missing selection criteria.*Attribute selection names no VM`},
		{Class: "selection", Name: "empty hosts", Config: badJob(sim, "", "", "", "", "hosts {}"),
			Want: `Error: Missing host criteria.*Attribute hosts names no host`},
		{Class: "names", Name: "bad consistency", Config: badJob(sim, "", "", "", `  consistency = "application"`, ""),
			Want: `Error: Invalid Attribute Value Match.*Attribute consistency value must be one of: \["crash" "quiesced"\], got: "application"`},
	}
	acctest.RunBadInput(t, sim, cases, countJobs)
}
