package vsphere

import "context"

// Logger receives the client's structured log lines: each vCenter call (debug for writes, trace
// for reads) and each cache hit, miss and invalidation (trace). The provider hands in one that
// writes through Terraform's logging (tflog); this package knows nothing of Terraform. Fields
// never carry credentials or request bodies.
type Logger interface {
	Debug(ctx context.Context, msg string, fields map[string]any)
	Trace(ctx context.Context, msg string, fields map[string]any)
}

// nopLogger is the Logger of a client configured without one.
type nopLogger struct{}

func (nopLogger) Debug(context.Context, string, map[string]any) {}
func (nopLogger) Trace(context.Context, string, map[string]any) {}

func (c *Client) logCache(ctx context.Context, event, key string) {
	c.log.Trace(ctx, "vmgmt cache "+event, map[string]any{"cache": key})
}
