package monitor_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dredge-cli/dredge/internal/promcheck"
	"github.com/dredge-cli/dredge/monitor"
)

// tenantWorkload records calls of the tenants acme and globex, of the
// default tenant, and of "mallory", a name no keys file gave.
func tenantWorkload(m *monitor.Monitor) {
	ctx := context.Background()
	op := m.Operation("unified_inference")
	for _, c := range []struct {
		tenant, outcome string
		cached          bool
	}{
		{"acme", monitor.OutcomeSuccess, false},
		{"acme", monitor.OutcomeSuccess, true},
		{"acme", "invalid_argument", false},
		{"globex", monitor.OutcomeSuccess, true},
		{"", monitor.OutcomeSuccess, false},
		{"mallory", monitor.OutcomeSuccess, true},
		{"mallory", "not_found", false},
	} {
		_, s := op.StartTenant(ctx, c.tenant)
		s.SetCached(c.cached)
		s.End(c.outcome)
	}
	m.JobFinishedFor("acme", monitor.JobCompleted, time.Millisecond)
	m.JobFinishedFor("globex", monitor.JobFailed, time.Millisecond)
	m.JobFinishedFor("mallory", monitor.JobCompleted, time.Millisecond)
	m.JobFinished(monitor.JobCompleted, time.Millisecond)
}

func TestTenantLabels(t *testing.T) {
	m := newMonitor(t, monitor.Config{})
	m.SetTenants([]string{"globex", "acme", ""})
	if got := strings.Join(m.Tenants(), " "); got != "acme globex" {
		t.Errorf("Tenants() = %q, want \"acme globex\"", got)
	}
	tenantWorkload(m)

	body := scrape(t, m.Handler())
	for _, want := range []string{
		`dredge_operations_total{operation="unified_inference",outcome="success",tenant="acme"} 2`,
		`dredge_operations_total{operation="unified_inference",outcome="invalid_argument",tenant="acme"} 1`,
		`dredge_operations_total{operation="unified_inference",outcome="success",tenant="globex"} 1`,
		// The default tenant's call and mallory's, without the label.
		`dredge_operations_total{operation="unified_inference",outcome="success"} 2`,
		`dredge_operations_total{operation="unified_inference",outcome="not_found"} 1`,
		// One histogram for all tenants.
		`dredge_operation_duration_seconds_count{operation="unified_inference"} 7`,
		`dredge_tenant_cache_hits_total{tenant="acme"} 1`,
		`dredge_tenant_cache_hits_total{tenant="globex"} 1`,
		`dredge_jobs_total{outcome="completed",tenant="acme"} 1`,
		`dredge_jobs_total{outcome="failed",tenant="globex"} 1`,
		`dredge_jobs_total{outcome="completed"} 2`,
		`dredge_timer_duration_seconds_count{timer="job_run"} 4`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("exposition lacks %q", want)
		}
	}
	if strings.Contains(body, "mallory") {
		t.Error("a tenant not in the set became a label value")
	}
	if strings.Count(body, `tenant="`) != 7 {
		t.Errorf("%d tenant-labelled series, want 7", strings.Count(body, `tenant="`))
	}
	if t.Failed() {
		t.Logf("exposition:\n%s", body)
	}
	promcheck.Metrics(t, body)

	snap := m.Snapshot()
	for k, want := range map[string]float64{
		"dredge_operations_total{operation=unified_inference,outcome=success,tenant=acme}": 2,
		"dredge_operations_total{operation=unified_inference,outcome=success}":             2,
		"dredge_tenant_cache_hits_total{tenant=globex}":                                    1,
		"dredge_jobs_total{outcome=failed,tenant=globex}":                                  1,
	} {
		if got := snap.Counters[k]; got != want {
			t.Errorf("snapshot %s = %v, want %v", k, got, want)
		}
	}
}

// TestSetTenantsAgain: a tenant that leaves the set is counted without the
// label from the next call on, and keeps the series it had; one that joins
// gets its own from its next call.
func TestSetTenantsAgain(t *testing.T) {
	m := newMonitor(t, monitor.Config{})
	op := m.Operation("string_spectrum")
	call := func(tenant string) {
		_, s := op.StartTenant(context.Background(), tenant)
		s.End("")
	}
	m.SetTenants([]string{"acme"})
	call("acme")
	call("globex")
	m.SetTenants([]string{"globex"})
	call("acme")
	call("globex")
	snap := m.Snapshot()
	for k, want := range map[string]float64{
		"dredge_operations_total{operation=string_spectrum,outcome=success,tenant=acme}":   1,
		"dredge_operations_total{operation=string_spectrum,outcome=success,tenant=globex}": 1,
		"dredge_operations_total{operation=string_spectrum,outcome=success}":               2,
	} {
		if got := snap.Counters[k]; got != want {
			t.Errorf("%s = %v, want %v", k, got, want)
		}
	}
	m.SetTenants(nil)
	if got := m.Tenants(); len(got) != 0 {
		t.Errorf("Tenants() after SetTenants(nil) = %v", got)
	}
}

// TestNoTenantsNoLabel: without SetTenants no series has a tenant label,
// whatever tenant the calls name.
func TestNoTenantsNoLabel(t *testing.T) {
	m := newMonitor(t, monitor.Config{})
	tenantWorkload(m)
	if body := scrape(t, m.Handler()); strings.Contains(body, `tenant="`) || strings.Contains(body, "dredge_tenant_cache_hits_total{") {
		t.Errorf("tenant labels without SetTenants:\n%s", body)
	}
}

func TestTenantsDisabled(t *testing.T) {
	for _, m := range []*monitor.Monitor{nil, monitor.Nop(), newMonitor(t, monitor.Config{DisableMetrics: true, DisableTracing: true})} {
		m.SetTenants([]string{"acme"})
		tenantWorkload(m)
		if got := m.Tenants(); len(got) != 0 {
			t.Errorf("Tenants() = %v on a monitor that records nothing", got)
		}
		_, s := m.Operation("x").StartTenant(context.Background(), "acme")
		if s.Recording() {
			t.Error("a call of a monitor that records nothing is Recording")
		}
		if snap := m.Snapshot(); len(snap.Counters) != 0 {
			t.Errorf("Snapshot = %v, want empty", snap.Counters)
		}
	}
}

// TestTenantRecording: a labelled tenant's call is Recording (so that the
// Engine reports its cache hits) without a span.
func TestTenantRecording(t *testing.T) {
	m := newMonitor(t, monitor.Config{})
	m.SetTenants([]string{"acme"})
	op := m.Operation("unified_inference")
	for tenant, want := range map[string]bool{"acme": true, "": false, "mallory": false} {
		_, s := op.StartTenant(context.Background(), tenant)
		if s.Recording() != want || s.Span().IsRecording() {
			t.Errorf("tenant %q: Recording %v, span recording %v; want %v, false", tenant, s.Recording(), s.Span().IsRecording(), want)
		}
		s.End("")
	}
}

func TestTenantHotPathDoesNotAllocate(t *testing.T) {
	m := newMonitor(t, monitor.Config{})
	m.SetTenants([]string{"acme"})
	tenantWorkload(m) // create the series first
	op := m.Operation("unified_inference")
	ctx := context.Background()
	for _, tenant := range []string{"acme", "", "mallory"} {
		f := func() {
			_, s := op.StartTenant(ctx, tenant)
			s.SetCached(true)
			s.End("invalid_argument")
			m.JobFinishedFor(tenant, monitor.JobCompleted, time.Millisecond)
		}
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("tenant %q: %v allocations per call, want 0", tenant, n)
		}
	}
}

// TestSetTenantsConcurrent runs under -race: the set changes while calls
// are counted and scraped.
func TestSetTenantsConcurrent(t *testing.T) {
	m := newMonitor(t, monitor.Config{})
	op := m.Operation("unified_inference")
	const perG = 300
	var wg sync.WaitGroup
	for _, tenant := range []string{"acme", "globex", ""} {
		wg.Go(func() {
			for range perG {
				_, s := op.StartTenant(context.Background(), tenant)
				s.SetCached(true)
				s.End("")
			}
		})
	}
	wg.Go(func() {
		for i := range 50 {
			if i%2 == 0 {
				m.SetTenants([]string{"acme"})
			} else {
				m.SetTenants([]string{"acme", "globex"})
			}
			_ = m.Snapshot()
		}
	})
	wg.Wait()
	var total float64
	for k, v := range m.Snapshot().Counters {
		if strings.HasPrefix(k, "dredge_operations_total{") {
			total += v
		}
	}
	if total != 3*perG {
		t.Errorf("%v calls counted across the series, want %d", total, 3*perG)
	}
}
