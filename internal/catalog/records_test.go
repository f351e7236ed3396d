package catalog_test

import (
	"context"
	"strings"
	"testing"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/catalog"
)

// An item published before the record store (the bare definition, format 1) is read as published;
// publishing it again writes the format-2 envelope.
func TestItemRecordPreviousFormat(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	ctx := context.Background()
	c := client(t, sim)
	tmpl, err := c.FindVM(ctx, templatePath)
	if err != nil {
		t.Fatal(err)
	}
	legacy := `{"name":"legacy-app","version":"0.9.0","sizes":{"small":{"cpus":2,"memory_mb":4096,"disk_gb":40}},"lease":{"default_days":30,"max_days":90,"grace_days":7}}`
	if err := c.SetCustomValue(ctx, tmpl.ID, catalog.FieldItem, legacy); err != nil {
		t.Fatal(err)
	}
	catalog.InvalidateItems(c)
	items, err := catalog.Items(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	it := items["legacy-app"]
	if it == nil || it.Version != "0.9.0" || it.Sizes["small"].CPUs != 2 || it.Lease.MaxDays != 90 || it.TemplateID != tmpl.ID {
		t.Fatalf("the format-1 item read as %+v", it)
	}
	src := &catalog.Source{ID: tmpl.ID, Path: tmpl.Path, VM: tmpl}
	if err := catalog.Publish(ctx, c, src, it.Definition); err != nil {
		t.Fatal(err)
	}
	vm, err := c.GetVM(ctx, tmpl.ID)
	if err != nil {
		t.Fatal(err)
	}
	if raw := vm.Custom[catalog.FieldItem]; !strings.HasPrefix(raw, `{"format":2,"data":{"name":"legacy-app"`) {
		t.Errorf("published again as %.60s…, want the format-2 envelope", raw)
	}
}
