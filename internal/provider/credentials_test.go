package provider_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/provider"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

// TestAccWrongPasswordWithCachedSession runs the real provider binary through the real terraform
// CLI, as a user would: a plan with the right password leaves a valid session in the cache; a
// plan with VSPHERE_PASSWORD=wrong must then fail with vCenter's login error instead of reusing
// that session; the right password again reuses it (no new vCenter session).
func TestAccWrongPasswordWithCachedSession(t *testing.T) {
	acctest.PreCheck(t)
	tf, err := acctest.TerraformPath()
	if err != nil {
		t.Fatal(err)
	}
	cliConfig := acctest.DevOverridesConfig(t, acctest.ProviderBinary(t))
	sim := acctest.NewSim(t)
	ctx := context.Background()
	work := t.TempDir()
	cfg := acctest.RequiredProviders + fmt.Sprintf(`
provider "vmgmt" {
  session_cache_dir = %q
}

data "vmgmt_capacity" "cluster" {
  path = %q
}
`, sim.SessionDir, simulator.ClusterPath)
	if err := os.WriteFile(filepath.Join(work, "main.tf"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	plan := func(password string) (string, error) {
		cmd := exec.Command(tf, "plan", "-input=false", "-no-color")
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+cliConfig, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1")
		for k, v := range sim.Env() {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		cmd.Env = append(cmd.Env, provider.EnvPassword+"="+password, provider.EnvPersistSession+"=true")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	sessions := func() int {
		n, err := sim.SessionCount(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	base := sessions()
	if out, err := plan(sim.Password); err != nil {
		t.Fatalf("plan with the right password: %v\n%s", err, out)
	}
	if got := sessions(); got != base+1 {
		t.Fatalf("sessions after the first plan = %d, want %d (the cached one)", got, base+1)
	}

	out, err := plan("wrong-password")
	if err == nil {
		t.Fatalf("plan with VSPHERE_PASSWORD=wrong succeeded: the cached session was reused with a wrong password\n%s", out)
	}
	if !strings.Contains(out, "Cannot connect to vCenter") || !strings.Contains(out, "rejected the user name or password") {
		t.Fatalf("plan with a wrong password failed without vCenter's login error:\n%s", out)
	}
	if strings.Contains(out, "wrong-password") {
		t.Errorf("the output shows the password:\n%s", out)
	}

	if out, err := plan(sim.Password); err != nil {
		t.Fatalf("plan with the right password after the wrong one: %v\n%s", err, out)
	}
	if got := sessions(); got != base+1 {
		t.Errorf("sessions after the last plan = %d, want still %d: the cached session was not reused", got, base+1)
	}
}

// frontWithCertificate serves the simulator behind a TLS front end that presents cert, as a
// vCenter whose certificate a private CA issued; it returns the front end's host:port.
func frontWithCertificate(t *testing.T, sim *acctest.Sim, cert tls.Certificate) string {
	t.Helper()
	target := sim.URL.Host
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme = "https"
			r.Out.URL.Host = target
			r.Out.Host = target
		},
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec // the simulator's own self-signed certificate, behind the front end
	}
	srv := httptest.NewUnstartedServer(rp)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "https://")
}

// TestAccProvider_caFile: a vCenter signed by a private CA is reached with ca_file (or
// VSPHERE_CA_FILE), refused without it with a clear reason, and a ca_file that is missing or
// holds no certificate is an error on the attribute at plan time.
func TestAccProvider_caFile(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	clearEnv(t)
	ca := simulator.NewTestCA(t, "corp")
	host := frontWithCertificate(t, sim, ca.Leaf)
	notPEM := filepath.Join(t.TempDir(), "vcenter.der")
	if err := os.WriteFile(notPEM, ca.Leaf.Certificate[0], 0o600); err != nil {
		t.Fatal(err)
	}
	block := func(extra string) string {
		return fmt.Sprintf(`provider "vmgmt" {
  vsphere_server    = %q
  user              = %q
  password          = %q
  session_cache_dir = %q
%s
}
`, host, sim.User, sim.Password, sim.SessionDir, extra) + capacityDS
	}
	readsCapacity := []statecheck.StateCheck{
		statecheck.ExpectKnownValue("data.vmgmt_capacity.c", tfjsonpath.New("cpu_capacity_mhz"), knownvalue.Int64Exact(simulator.ClusterCPUMHz)),
	}
	cases := []struct {
		name   string
		extra  string
		env    string // VSPHERE_CA_FILE
		checks []statecheck.StateCheck
		want   string
	}{
		{name: "ca_file", extra: fmt.Sprintf("  ca_file = %q", ca.File), checks: readsCapacity},
		{name: "VSPHERE_CA_FILE", env: ca.File, checks: readsCapacity},
		{name: "allow_unverified_ssl", extra: "  allow_unverified_ssl = true", checks: readsCapacity},
		{name: "no CA", want: `(?s)Cannot connect to vCenter.*certificate is not\s+trusted\s+\(set\s+ca_file`},
		{name: "missing file", extra: `  ca_file = "/nonexistent/ca.pem"`, want: `(?s)Invalid CA file.*ca_file = "/nonexistent/ca.pem".*reading the CA\s+file`},
		{name: "not PEM", extra: fmt.Sprintf("  ca_file = %q", notPEM), want: `(?s)Invalid CA file.*holds no PEM\s+certificate`},
		{name: "VSPHERE_CA_FILE not PEM", env: notPEM, want: `(?s)Invalid VSPHERE_CA_FILE.*holds no PEM\s+certificate`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(provider.EnvCAFile, tc.env)
			step := resource.TestStep{Config: block(tc.extra), ConfigStateChecks: tc.checks}
			if tc.want != "" {
				step.ExpectError = regexp.MustCompile(tc.want)
			}
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
				Steps:                    []resource.TestStep{step},
			})
		})
	}
}
