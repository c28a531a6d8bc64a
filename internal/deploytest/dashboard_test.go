package deploytest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dredge-cli/dredge/adapters/httpapi"
	"github.com/dredge-cli/dredge/internal/testengine"
	"github.com/dredge-cli/dredge/workers"
)

// dashboardPath is the dashboard Grafana provisions.
var dashboardPath = deployPath("grafana", "dashboards", "dredge.json")

// TestDashboardSeries checks that the dashboard's queries name only series
// that /metrics exports, with labels those series carry: a panel over a
// misspelt name or label would stay empty without an error.
func TestDashboardSeries(t *testing.T) {
	queries := dashboardQueries(t, dashboardPath)
	if len(queries) < 6 {
		t.Fatalf("%d queries in the dashboard, want a panel each for operations, latency, errors, cache, queue, workers", len(queries))
	}
	exp := parseExposition(liveMetrics(t))
	for _, q := range queries {
		for _, problem := range exp.check(q) {
			t.Errorf("%s\n  query: %s", problem, q)
		}
	}
}

// TestCheckFindsMissing is the mutation check: the checker must report a
// misspelt series, a histogram queried without its suffix, a suffix on a
// counter and a label the series lacks, and pass the well-formed queries.
func TestCheckFindsMissing(t *testing.T) {
	exp := parseExposition(`# TYPE dredge_operations_total counter
dredge_operations_total{operation="x",outcome="success"} 1
# TYPE dredge_operation_duration_seconds histogram
dredge_operation_duration_seconds_bucket{operation="x",le="+Inf"} 1
dredge_operation_duration_seconds_sum{operation="x"} 0.1
dredge_operation_duration_seconds_count{operation="x"} 1
`)
	for _, tc := range []struct {
		query string
		bad   string // "" for none; else a part of the one problem
	}{
		{`sum by (operation) (rate(dredge_operations_total{job=~"$job"}[$__rate_interval]))`, ""},
		{`histogram_quantile(0.99, sum by (le, operation) (rate(dredge_operation_duration_seconds_bucket[5m])))`, ""},
		{`sum(rate(dredge_operation_duration_seconds_sum[5m])) / sum(rate(dredge_operation_duration_seconds_count[5m]))`, ""},
		{`label_values(dredge_operations_total, job)`, ""},
		{`sum(rate(dredge_operations_totl[5m]))`, "dredge_operations_totl"},
		{`rate(dredge_operation_duration_seconds[5m])`, "dredge_operation_duration_seconds"},
		{`rate(dredge_operations_total_bucket[5m])`, "dredge_operations_total_bucket"},
		{`sum(rate(dredge_operations_total{code="x"}[5m]))`, `label "code"`},
		{`sum by (code) (rate(dredge_operations_total[5m]))`, `label "code"`},
		// A name in a string is a label value, not a series.
		{`sum(rate(dredge_operations_total{operation="dredge_nope"}[5m]))`, ""},
	} {
		got := exp.check(tc.query)
		switch {
		case tc.bad == "" && len(got) > 0:
			t.Errorf("%s: %v, want no problem", tc.query, got)
		case tc.bad != "" && (len(got) != 1 || !strings.Contains(got[0], tc.bad)):
			t.Errorf("%s: %q, want one problem naming %s", tc.query, got, tc.bad)
		}
	}
}

// liveMetrics returns the /metrics text of an Engine after traffic
// through the HTTP handler and a worker pool: successful and failed
// operations, a cache hit, a loaded model and a completed job, so that
// every series the processes can export has been created. The worker
// process serves the same Monitor's handler, and the MCP server too.
func liveMetrics(t *testing.T) string {
	eng := testengine.New(t)
	q := workers.NewMemory(workers.MemoryConfig{})
	t.Cleanup(func() { q.Close() })
	pool := workers.NewPool(eng, q, workers.PoolConfig{Concurrency: 2, Heartbeat: 10 * time.Millisecond})
	pool.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := pool.Shutdown(ctx); err != nil {
			t.Errorf("pool shutdown: %v", err)
		}
	})
	h, err := httpapi.New(eng, httpapi.Config{Jobs: q})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	call := func(method, path, body string, want int) []byte {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, b)
		}
		return b
	}
	infer := `{"dredge_insight": "strings vibrate", "quasimoto_coords": [0.25, 0.75]}`
	call("POST", "/v1/ops/unified_inference", infer, 200)
	call("POST", "/v1/ops/unified_inference", infer, 200) // a cache hit
	call("POST", "/v1/ops/string_spectrum", `{"max_modes": -1}`, 400)
	call("POST", "/v1/ops/load_model", `{"model_type": "quasimoto_ensemble", "config": {"n_waves": 2}}`, 200)
	var job struct {
		ID string `json:"job_id"`
	}
	if err := json.Unmarshal(call("POST", "/v1/jobs", `{"operation": "string_spectrum", "params": {"max_modes": 2}}`, 202), &job); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		var st struct {
			Status string `json:"status"`
		}
		if err := json.Unmarshal(call("GET", "/v1/jobs/"+job.ID, "", 200), &st); err != nil {
			t.Fatal(err)
		}
		if st.Status == "completed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s: %s after 10 s", job.ID, st.Status)
		}
	}
	return string(call("GET", "/metrics", "", 200))
}
