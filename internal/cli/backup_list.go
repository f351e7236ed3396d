package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/points"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// backupList is `backup list`: the complete restore points of the jobs vCenter holds, as an
// aligned table or one JSON array. A job whose repository cannot be listed is reported on stderr
// and the others are still listed; the exit code is 1 then. Exit 2 when nothing could be listed
// (no credentials, vCenter unreachable, no job of that name).
func backupList(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("backup list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opts points.ListOptions
	fs.StringVar(&opts.Job, "job", "", "list only the restore points of the backup job of this name")
	fs.StringVar(&opts.VM, "vm", "", "list only the restore points of the VM of this name")
	format := fs.String("format", "text", "output format: text (a table) or json (one array, for scripts)")
	rest, err := parse(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "terraform-provider-vmgmt backup list: unexpected arguments %q\n", rest)
		return ExitUsage
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(stderr, "terraform-provider-vmgmt backup list: --format %q: use text or json\n", *format)
		return ExitUsage
	}
	return withVCenter("backup list", stderr, func(ctx context.Context, c *vsphere.Client) int {
		listing, err := points.List(ctx, c, opts)
		if err != nil {
			fmt.Fprintf(stderr, "terraform-provider-vmgmt backup list: %v\n", err)
			return ExitUsage
		}
		if *format == "json" {
			err = writeListJSON(stdout, listing.Points)
		} else {
			err = writeListText(stdout, listing.Points)
		}
		if err != nil {
			fmt.Fprintf(stderr, "terraform-provider-vmgmt backup list: writing the list: %v\n", err)
			return ExitFail
		}
		for _, e := range listing.Errs {
			fmt.Fprintf(stderr, "terraform-provider-vmgmt backup list: %v\n", e)
		}
		if len(listing.Errs) > 0 {
			return ExitFail
		}
		return ExitOK
	})
}

// writeListJSON writes the points as one JSON array ([] when there are none).
func writeListJSON(w io.Writer, listed []points.Listed) error {
	if listed == nil {
		listed = []points.Listed{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(listed)
}

// writeListText writes the points as an aligned table with a header line; host points show as
// "host:<name>" in the VM column.
func writeListText(w io.Writer, listed []points.Listed) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tVM\tPOINT\tTIME\tSIZE\tCONSISTENCY\tVERIFIED\tDISKS")
	for _, p := range listed {
		subject := p.VM
		if p.Host != "" {
			subject = "host:" + p.Host
		}
		consistency := p.Consistency
		if consistency == "" {
			consistency = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", p.Job, subject, p.ID, p.Time.UTC().Format(time.RFC3339),
			humanBytes(p.Bytes), consistency, verifiedText(p), p.Disks)
	}
	return tw.Flush()
}

// verifiedText is the VERIFIED column: "yes" or "FAILED" with the restore test's date, "no" for a
// point never tested.
func verifiedText(p points.Listed) string {
	switch {
	case p.VerifiedAt == nil:
		return "no"
	case p.Verified:
		return "yes " + p.VerifiedAt.UTC().Format(time.DateOnly)
	}
	return "FAILED " + p.VerifiedAt.UTC().Format(time.DateOnly)
}

// humanBytes is a size in binary units with one decimal, "512 B" below a KiB.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
