package framework

import (
	"context"

	"github.com/hashicorp/terraform-plugin-log/tflog"
)

// TFLog writes internal/vsphere's log lines through Terraform's provider logging (TF_LOG,
// TF_LOG_PROVIDER), in the context of the request that made the call.
type TFLog struct{}

func (TFLog) Debug(ctx context.Context, msg string, fields map[string]any) {
	tflog.Debug(ctx, msg, fields)
}

func (TFLog) Trace(ctx context.Context, msg string, fields map[string]any) {
	tflog.Trace(ctx, msg, fields)
}
