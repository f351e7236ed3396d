package catalog_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
)

// sessionTerminator is an HTTPS reverse proxy in front of the simulator that ends the caller's
// vCenter session, as an administrator (or vCenter's idle timeout) would, while the provider
// waits for its clones: at the first WaitForUpdatesEx after the given numbers of CloneVM_Task
// calls went through, it terminates the session the request carries before forwarding it. The
// wait's property collector, made in that session, is gone with it.
type sessionTerminator struct {
	host string

	mu      sync.Mutex
	after   []int // clone counts at which to end the session, ascending
	clones  int
	logins  int
	ended   []string // the sessions ended
	failure error
}

var soapCall = regexp.MustCompile(`(?s)Body[^>]*>\s*<(?:\w+:)?(\w+)`)

func newSessionTerminator(t *testing.T, sim *acctest.Sim, after ...int) *sessionTerminator {
	t.Helper()
	ctx := context.Background()
	admin, err := sim.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Logout(ctx) })
	st := &sessionTerminator{after: after}
	target := sim.URL.Host
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme = "https"
			r.Out.URL.Host = target
			r.Out.Host = target
		},
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, MaxIdleConnsPerHost: 64}, //nolint:gosec // the simulator's self-signed certificate
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/sdk" {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			method := ""
			if m := soapCall.FindSubmatch(body); m != nil {
				method = string(m[1])
			}
			if key := st.observe(method); key != "" {
				if c, err := r.Cookie(soap.SessionCookieName); err == nil && c.Value != "" {
					err := session.NewManager(admin.Client).TerminateSession(ctx, []string{c.Value})
					st.record(c.Value, err)
				}
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	st.host = strings.TrimPrefix(srv.URL, "https://")
	return st
}

// observe counts a SOAP call and tells whether the session must end before it is forwarded.
func (st *sessionTerminator) observe(method string) (end string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	switch method {
	case "CloneVM_Task":
		st.clones++
	case "Login":
		st.logins++
	case "WaitForUpdatesEx":
		if len(st.after) > 0 && st.clones >= st.after[0] {
			return method
		}
	}
	return ""
}

// record notes a termination. A session that is gone already (a wait still in flight on a
// session ended a moment ago carries its cookie) leaves the trigger for the next wait.
func (st *sessionTerminator) record(key string, err error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if fault.Is(err, &types.NotFound{}) {
		return
	}
	if err != nil && st.failure == nil {
		st.failure = fmt.Errorf("terminating session %s: %w", key, err)
	}
	if len(st.after) > 0 {
		st.after = st.after[1:]
	}
	st.ended = append(st.ended, key)
}

func (st *sessionTerminator) counts() (clones, logins int, ended []string, failure error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.clones, st.logins, append([]string(nil), st.ended...), st.failure
}

// TestAccCatalogVM_sessionTerminatedMidApply applies 10 catalog VMs while their vCenter session
// is terminated twice during clone waits: the provider logs in again, waits again on the same
// tasks, and the apply completes with the 10 VMs in state and in vCenter, each cloned once (no
// clone sent again); the next plan is empty.
func TestAccCatalogVM_sessionTerminatedMidApply(t *testing.T) {
	acctest.PreCheck(t)
	const n = 10
	sim := acctest.NewSim(t)
	proxy := newSessionTerminator(t, sim, 3, 7)
	cfg := fleetConfig(sim.ProviderConfigAt(proxy.host, ""), n)
	ctx := context.Background()
	var loginsBefore int
	var stepStart time.Time

	checkState := func(s *terraform.State) error {
		ids := map[string]bool{}
		for addr, rs := range s.RootModule().Resources {
			if rs.Type != "vmgmt_catalog_vm" {
				continue
			}
			id := rs.Primary.Attributes["id"]
			if id == "" || ids[id] {
				return fmt.Errorf("%s has no or a repeated id %q", addr, id)
			}
			ids[id] = true
		}
		if len(ids) != n {
			return fmt.Errorf("%d catalog VMs in state, want %d", len(ids), n)
		}
		return nil
	}
	checkVCenter := func(*terraform.State) error {
		vms, err := stampedVMs(ctx, sim, fleetItem)
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			if name := fmt.Sprintf("fleet-%03d", i); vms[name] == nil {
				return fmt.Errorf("%s is missing in vCenter", name)
			}
		}
		if len(vms) != n {
			return fmt.Errorf("vCenter holds %d VMs of item %s, want %d", len(vms), fleetItem, n)
		}
		return nil
	}
	checkSessions := func(*terraform.State) error {
		clones, logins, ended, failure := proxy.counts()
		if failure != nil {
			return failure
		}
		if len(ended) != 2 {
			return fmt.Errorf("the session was terminated %d times during the apply, want 2", len(ended))
		}
		// A clone call that reached a session ended a moment before is refused (NotAuthenticated)
		// and sent again after the new login: that one is fine. What must not happen is a clone
		// vCenter ran twice: count the clone tasks it ran.
		ran, err := cloneTasksSince(ctx, sim, stepStart)
		if err != nil {
			return err
		}
		if ran != n || clones < n {
			return fmt.Errorf("vCenter ran %d clone tasks (%d CloneVM_Task calls) for %d VMs: a clone was run again", ran, clones, n)
		}
		if logins-loginsBefore < len(ended) {
			return fmt.Errorf("%d logins after %d terminated sessions", logins-loginsBefore, len(ended))
		}
		return nil
	}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				// The catalog item first, so that the sessions end during the VMs' clones.
				Config: fleetConfig(sim.ProviderConfigAt(proxy.host, ""), 0),
			},
			{
				PreConfig: func() { _, loginsBefore, _, _ = proxy.counts(); stepStart = time.Now() },
				Config:    cfg,
				Check:     resource.ComposeAggregateTestCheckFunc(checkState, checkVCenter, checkSessions),
			},
			{
				Config:           cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}

// cloneTasksSince counts the clone tasks of the fleet's template that vCenter queued since a time.
func cloneTasksSince(ctx context.Context, sim *acctest.Sim, since time.Time) (int, error) {
	c, err := sim.Connect(ctx)
	if err != nil {
		return 0, err
	}
	defer func() { _ = c.Logout(ctx) }()
	tmpl, err := find.NewFinder(c.Client, true).VirtualMachine(ctx, templatePath)
	if err != nil {
		return 0, err
	}
	pc := property.DefaultCollector(c.Client)
	var vm mo.VirtualMachine
	if err := pc.RetrieveOne(ctx, tmpl.Reference(), []string{"recentTask"}, &vm); err != nil {
		return 0, err
	}
	var tasks []mo.Task
	if len(vm.RecentTask) > 0 {
		if err := pc.Retrieve(ctx, vm.RecentTask, []string{"info"}, &tasks); err != nil {
			return 0, err
		}
	}
	n := 0
	for _, t := range tasks {
		if strings.HasPrefix(t.Info.DescriptionId, "VirtualMachine.clone") && t.Info.QueueTime.After(since) {
			n++
		}
	}
	return n, nil
}
