package provider

import (
	"os"
	"runtime/debug"
)

// TuneProcess prepares a provider process before it serves Terraform.
//
// It turns off the plugin SDK's own trace logging when nobody asked for logs (TF_LOG,
// TF_LOG_PROVIDER and TF_LOG_PATH unset): Terraform then discards those lines anyway, and
// producing them costs CPU on every call. Any TF_LOG* setting leaves logging as Terraform
// configures it.
//
// It also lets the heap grow to five times the live data between collections (GOGC=400) unless
// GOGC says otherwise. The provider lives for one Terraform command and its live heap is small
// (tens of MB), while the plugin framework allocates heavily on every call: fewer collections
// trade a few tens of MB of memory for less CPU per plan.
func TuneProcess() {
	quietSDKLogs()
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(400)
	}
}

func quietSDKLogs() {
	for _, k := range []string{"TF_LOG", "TF_LOG_PROVIDER", "TF_LOG_PATH"} {
		if os.Getenv(k) != "" {
			return
		}
	}
	for _, k := range []string{"TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK"} {
		if _, set := os.LookupEnv(k); !set {
			_ = os.Setenv(k, "off")
		}
	}
}
