package monitor_test

import (
	"bufio"
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/dredge-cli/dredge/monitor"
)

// Record operations and read them back as the get_metrics snapshot.
func Example() {
	m, err := monitor.New(monitor.Config{ServiceVersion: "0.2.0"})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Shutdown(context.Background())

	ctx := context.Background()
	for _, outcome := range []string{monitor.OutcomeSuccess, monitor.OutcomeSuccess, "invalid_params"} {
		_, span := m.StartOperation(ctx, "unified_inference")
		span.SetModelType("string_theory")
		span.SetDevice("cpu")
		span.End(outcome)
	}
	m.CacheHit("memory")
	m.CacheMiss("memory")
	m.RecordOperation(ctx, "train_model", monitor.OutcomeSuccess, 250*time.Millisecond)

	snap := m.Snapshot()
	fmt.Println(snap.Counters["dredge_operations_total{operation=unified_inference,outcome=success}"])
	fmt.Println(snap.Counters["dredge_operations_total{operation=unified_inference,outcome=invalid_params}"])
	fmt.Println(snap.Counters["dredge_cache_hits_total{backend=memory}"])
	fmt.Println(snap.Timers["dredge_operation_duration_seconds{operation=unified_inference}"].Count)
	train := snap.Timers["dredge_operation_duration_seconds{operation=train_model}"]
	fmt.Printf("count=%d total_time=%gs max=%gs\n", train.Count, train.TotalTime, train.Max)
	// Output:
	// 2
	// 1
	// 1
	// 3
	// count=1 total_time=0.25s max=0.25s
}

// Serve /metrics and show the operation counter's exposition.
func ExampleMonitor_Handler() {
	m, err := monitor.New(monitor.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Shutdown(context.Background())
	m.RecordOperation(context.Background(), "unified_inference", monitor.OutcomeSuccess, time.Millisecond)
	m.RecordOperation(context.Background(), "unified_inference", "invalid_params", time.Millisecond)

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		if line := sc.Text(); strings.Contains(line, "dredge_operations_total") {
			fmt.Println(line)
		}
	}
	// Output:
	// # HELP dredge_operations_total Operations served, by operation, outcome (success or an error code) and tenant (named tenants only).
	// # TYPE dredge_operations_total counter
	// dredge_operations_total{operation="unified_inference",outcome="invalid_params"} 1
	// dredge_operations_total{operation="unified_inference",outcome="success"} 1
}

// Count the operations of the tenants a keys file names apart. A tenant
// not in the set (here "mallory", as if taken from a request) is counted
// with the default tenant's calls, without a tenant label, so that no
// request can add a series.
func ExampleMonitor_SetTenants() {
	m, err := monitor.New(monitor.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Shutdown(context.Background())
	m.SetTenants([]string{"acme", "globex"})

	op := m.Operation("unified_inference")
	for _, tenant := range []string{"acme", "acme", "globex", "", "mallory"} {
		_, span := op.StartTenant(context.Background(), tenant)
		span.SetCached(tenant == "globex")
		span.End(monitor.OutcomeSuccess)
	}

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "dredge_operations_total") || strings.HasPrefix(line, "dredge_tenant_cache_hits_total") {
			fmt.Println(line)
		}
	}
	// Output:
	// dredge_operations_total{operation="unified_inference",outcome="success"} 2
	// dredge_operations_total{operation="unified_inference",outcome="success",tenant="acme"} 2
	// dredge_operations_total{operation="unified_inference",outcome="success",tenant="globex"} 1
	// dredge_tenant_cache_hits_total{tenant="acme"} 0
	// dredge_tenant_cache_hits_total{tenant="globex"} 1
}

// Time a block of code into dredge_timer_duration_seconds.
func ExampleMonitor_Timer() {
	m, err := monitor.New(monitor.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Shutdown(context.Background())

	load := func() {
		t := m.Timer("load_weights")
		defer t.Stop()
		// … load the weights
	}
	load()
	load()

	fmt.Println(m.Snapshot().Timers["dredge_timer_duration_seconds{timer=load_weights}"].Count)
	// Output: 2
}

// A Monitor that records nothing costs next to nothing; a nil *Monitor is
// the same.
func ExampleNop() {
	m := monitor.Nop()
	_, span := m.StartOperation(context.Background(), "unified_inference")
	span.End(monitor.OutcomeSuccess)
	fmt.Println(m.MetricsEnabled(), len(m.Snapshot().Counters))
	// Output: false 0
}
