package workers_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/internal/testengine"
	"github.com/dredge-cli/dredge/workers"
)

// wait polls a job of the default tenant until its status is final or the
// test's patience ends.
func wait(t *testing.T, q workers.Queue, id string, want workers.Status) workers.State {
	t.Helper()
	return waitAs(t, context.Background(), q, id, want)
}

// waitAs is wait for a job of the tenant on ctx.
func waitAs(t *testing.T, ctx context.Context, q workers.Queue, id string, want workers.Status) workers.State {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s, err := q.Status(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if s.Status == want || (s.Status.Final() && want.Final()) || time.Now().After(deadline) {
			if s.Status != want {
				t.Fatalf("job %s (%s): %s %s %s, want %s", id, s.Operation, s.Status, s.Code, s.Error, want)
			}
			return s
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func without(b []byte, keys ...string) map[string]any {
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	for _, k := range keys {
		delete(m, k)
	}
	return m
}

// TestPoolRunsJobsThroughTheTable checks that a job's result is the
// operation's own response, and that a failing operation fails its job
// with the operation's code and message while the pool goes on.
func TestPoolRunsJobsThroughTheTable(t *testing.T) {
	ctx := context.Background()
	eng := testengine.New(t)
	q := workers.NewMemory(workers.MemoryConfig{})
	defer q.Close()
	p := workers.NewPool(eng, q, workers.PoolConfig{Concurrency: 2})
	p.Start()
	defer p.Shutdown(ctx)

	jobs := []struct{ op, params string }{
		{"unified_inference", `{"dredge_insight":"job","quasimoto_coords":[0.5]}`},
		{"string_spectrum", `{"max_modes":4}`},
		{"load_model", `{"model_type":"quasimoto_1d"}`},
	}
	for _, j := range jobs {
		id, err := q.Enqueue(ctx, j.op, json.RawMessage(j.params))
		if err != nil {
			t.Fatal(err)
		}
		s := wait(t, q, id, workers.Completed)
		direct, code := eng.CallJSON(ctx, j.op, json.RawMessage(j.params))
		if code != dredge.CodeOK {
			t.Fatal(string(direct))
		}
		if a, b := without(s.Result, "cached", "model_id"), without(direct, "cached", "model_id"); !reflect.DeepEqual(a, b) {
			t.Errorf("%s: job result %v, direct call %v", j.op, a, b)
		}
	}
	for _, c := range []struct {
		op, params string
		code       dredge.Code
		msg        string
	}{
		{"inference", `{"model_id":"nope_0","inputs":{"x":[1]}}`, dredge.CodeNotFound, `model_id: no model "nope_0" is loaded`},
		{"no_such_operation", `{}`, dredge.CodeNotFound, "operation: unknown operation"},
		{"string_spectrum", `{"max_modes":0}`, dredge.CodeInvalidArgument, "max_modes: must be between 1"},
	} {
		id, err := q.Enqueue(ctx, c.op, json.RawMessage(c.params))
		if err != nil {
			t.Fatal(err)
		}
		s := wait(t, q, id, workers.Failed)
		if s.Code != c.code || len(s.Error) < len(c.msg) || s.Error[:len(c.msg)] != c.msg {
			t.Errorf("%s(%s): failed with %s %q, want %s %q…", c.op, c.params, s.Code, s.Error, c.code, c.msg)
		}
	}
	// The pool still runs jobs.
	id, _ := q.Enqueue(ctx, "lift", json.RawMessage(`{"insight_text":"still here"}`))
	wait(t, q, id, workers.Completed)
}

// longTraining is a benchmark job of minutes.
const longTraining = `{"model_type":"siren","config":{"epochs":50000}}`

// TestPoolCancelAndDeadline: a canceled running job stops; a job past the
// Engine's deadline fails unavailable; the pool goes on.
func TestPoolCancelAndDeadline(t *testing.T) {
	ctx := context.Background()
	eng := testengine.New(t, dredge.WithTimeouts(-1, 300*time.Millisecond))
	q := workers.NewMemory(workers.MemoryConfig{Retry: workers.RetryPolicy{Max: -1}}) // unavailable is retryable
	defer q.Close()
	p := workers.NewPool(eng, q, workers.PoolConfig{Concurrency: 1, Heartbeat: 20 * time.Millisecond})
	p.Start()
	defer p.Shutdown(ctx)

	id, _ := q.Enqueue(ctx, "benchmark", json.RawMessage(longTraining))
	s := wait(t, q, id, workers.Failed)
	if s.Code != dredge.CodeUnavailable || s.Finished.Sub(s.Started) > 5*time.Second {
		t.Errorf("training past the Engine's 300ms deadline: %+v", s)
	}

	free := testengine.New(t, dredge.WithTimeouts(-1, -1))
	q2 := workers.NewMemory(workers.MemoryConfig{})
	defer q2.Close()
	p2 := workers.NewPool(free, q2, workers.PoolConfig{Concurrency: 1, Heartbeat: 20 * time.Millisecond})
	p2.Start()
	defer p2.Shutdown(ctx)
	id, _ = q2.Enqueue(ctx, "benchmark", json.RawMessage(longTraining))
	wait(t, q2, id, workers.Running)
	if g := free.Monitor().Snapshot().Gauges["dredge_workers_busy"]; g != 1 {
		t.Errorf("dredge_workers_busy %v while one job runs, want 1", g)
	}
	start := time.Now()
	if err := q2.Cancel(ctx, id); err != nil {
		t.Fatal(err)
	}
	next, _ := q2.Enqueue(ctx, "lift", json.RawMessage(`{"insight_text":"after the cancel"}`))
	wait(t, q2, next, workers.Completed)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the pool took %v to stop a canceled job and run the next", took)
	}
	if s := wait(t, q2, id, workers.Canceled); s.Result != nil {
		t.Errorf("canceled job has a result: %s", s.Result)
	}

	// The jobs' metrics: outcomes, claims, latencies.
	snap := free.Monitor().Snapshot()
	for key, want := range map[string]float64{
		"dredge_jobs_total{outcome=lost}":      1, // canceled while it ran: its end refused
		"dredge_jobs_total{outcome=completed}": 1,
		"dredge_job_claims_total":              2,
		"dredge_job_retries_total":             0,
	} {
		if got := snap.Counters[key]; got != want {
			t.Errorf("%s = %v, want %v", key, got, want)
		}
	}
	for _, timer := range []string{"job_wait", "job_run"} {
		if n := snap.Timers["dredge_timer_duration_seconds{timer="+timer+"}"].Count; n != 2 {
			t.Errorf("timer %s counted %d jobs, want 2", timer, n)
		}
	}
	if n := eng.Monitor().Snapshot().Counters["dredge_jobs_total{outcome=failed}"]; n != 1 {
		t.Errorf("dredge_jobs_total{outcome=failed} = %v, want 1", n)
	}
}

// TestPoolShutdown: running jobs finish within the grace period; past it
// they are stopped and handed back, pending, without spending an attempt.
func TestPoolShutdown(t *testing.T) {
	ctx := context.Background()
	eng := testengine.New(t, dredge.WithTimeouts(-1, -1))
	q := workers.NewMemory(workers.MemoryConfig{})
	defer q.Close()
	p := workers.NewPool(eng, q, workers.PoolConfig{Concurrency: 1})
	p.Start()
	id, _ := q.Enqueue(ctx, "benchmark", json.RawMessage(longTraining))
	wait(t, q, id, workers.Running)
	sctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if err := p.Shutdown(sctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown past its grace: %v, want the deadline", err)
	}
	if s := wait(t, q, id, workers.Pending); s.Attempts != 0 {
		t.Errorf("handed-back job: %+v, want pending with no attempt spent", s)
	}
	// A pool shut down claims nothing more.
	later, _ := q.Enqueue(ctx, "lift", json.RawMessage(`{"insight_text":"x"}`))
	time.Sleep(100 * time.Millisecond)
	if s, _ := q.Status(ctx, later); s.Status != workers.Pending {
		t.Errorf("a job enqueued after Shutdown: %s", s.Status)
	}

	// Within its grace, Shutdown waits for a running job to finish.
	if err := q.Cancel(ctx, id); err != nil {
		t.Fatal(err)
	}
	p2 := workers.NewPool(eng, q, workers.PoolConfig{Concurrency: 2})
	p2.Start()
	wait(t, q, later, workers.Completed)
	short, _ := q.Enqueue(ctx, "benchmark", json.RawMessage(`{"model_type":"quasimoto_1d","config":{"epochs":2000}}`))
	wait(t, q, short, workers.Running)
	gctx, gcancel := context.WithTimeout(ctx, time.Minute)
	defer gcancel()
	if err := p2.Shutdown(gctx); err != nil {
		t.Errorf("Shutdown within its grace: %v", err)
	}
	if s, _ := q.Status(ctx, short); s.Status != workers.Completed {
		t.Errorf("the job running at Shutdown: %s %s, want completed", s.Status, s.Error)
	}
}

// TestPoolReportsProgress: a running job's progress reaches its State
// with the heartbeats, increasing, and the last one stays when it ends.
func TestPoolReportsProgress(t *testing.T) {
	ctx := context.Background()
	eng := testengine.New(t, dredge.WithTimeouts(-1, -1))
	q := workers.NewMemory(workers.MemoryConfig{})
	defer q.Close()
	p := workers.NewPool(eng, q, workers.PoolConfig{Concurrency: 1, Heartbeat: 10 * time.Millisecond})
	p.Start()
	defer p.Shutdown(ctx)

	id, _ := q.Enqueue(ctx, "benchmark", json.RawMessage(`{"model_type":"quasimoto_1d","config":{"epochs":5000}}`))
	var seen []int64
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		s, err := q.Status(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if s.Progress != nil && s.Status == workers.Running {
			if s.Progress.Total != 5000 || len(seen) > 0 && s.Progress.Done < seen[len(seen)-1] {
				t.Fatalf("progress %+v after %v", s.Progress, seen)
			}
			seen = append(seen, s.Progress.Done)
		}
		if s.Status.Final() {
			break
		}
	}
	s := wait(t, q, id, workers.Completed)
	if len(seen) == 0 {
		t.Fatalf("no progress seen while the job ran (%.2fs)", s.Finished.Sub(s.Started).Seconds())
	}
	if s.Progress == nil || s.Progress.Total != 5000 || s.Progress.Done < seen[len(seen)-1] {
		t.Errorf("completed job's progress %+v", s.Progress)
	}
}

// panicky is a queue whose first Ack panics.
type panicky struct {
	workers.Queue
	once chan struct{}
}

func (q panicky) Ack(ctx context.Context, id string, result json.RawMessage) error {
	select {
	case <-q.once:
		return q.Queue.Ack(ctx, id, result)
	default:
		close(q.once)
		panic("a queue's bug")
	}
}

// TestPoolPanic: a panic while a job runs fails the job (internal) and
// the pool goes on running jobs.
func TestPoolPanic(t *testing.T) {
	ctx := context.Background()
	eng := testengine.New(t)
	mem := workers.NewMemory(workers.MemoryConfig{Retry: workers.RetryPolicy{Max: -1}}) // internal is retryable
	defer mem.Close()
	p := workers.NewPool(eng, panicky{Queue: mem, once: make(chan struct{})}, workers.PoolConfig{Concurrency: 1})
	p.Start()
	defer p.Shutdown(ctx)
	first, _ := mem.Enqueue(ctx, "lift", json.RawMessage(`{"insight_text":"boom"}`))
	if s := wait(t, mem, first, workers.Failed); s.Code != dredge.CodeInternal {
		t.Errorf("the job that panicked: %+v", s)
	}
	next, _ := mem.Enqueue(ctx, "lift", json.RawMessage(`{"insight_text":"after"}`))
	wait(t, mem, next, workers.Completed)
}

// TestPoolRunsJobsAsTheirTenant: a job runs under its tenant, so that the
// Engine answers from that tenant's cache, never from another's: a result
// cached by acme's direct call answers acme's job, while the same job of
// globex or of the default tenant is computed.
func TestPoolRunsJobsAsTheirTenant(t *testing.T) {
	ctx := context.Background()
	eng := testengine.New(t)
	q := workers.NewMemory(workers.MemoryConfig{})
	defer q.Close()
	p := workers.NewPool(eng, q, workers.PoolConfig{Concurrency: 1})
	p.Start()
	defer p.Shutdown(ctx)

	eng.Monitor().SetTenants([]string{"acme", "globex"})
	const params = `{"dredge_insight":"a tenant's question","quasimoto_coords":[0.4]}`
	acme := dredge.WithTenant(ctx, "acme")
	if a := eng.Answer(acme, "unified_inference", json.RawMessage(params)); a.Err != nil {
		t.Fatal(a.Err)
	}
	for _, c := range []struct {
		name   string
		ctx    context.Context
		cached bool
	}{{"acme", acme, true}, {"globex", dredge.WithTenant(ctx, "globex"), false}, {"the default tenant", ctx, false}} {
		id, err := q.Enqueue(c.ctx, "unified_inference", json.RawMessage(params))
		if err != nil {
			t.Fatal(err)
		}
		s := waitAs(t, c.ctx, q, id, workers.Completed)
		var res struct {
			Cached bool `json:"cached"`
		}
		if err := json.Unmarshal(s.Result, &res); err != nil || res.Cached != c.cached {
			t.Errorf("%s's job: cached %v (%v), want %v", c.name, res.Cached, err, c.cached)
		}
	}
	// Each job is counted under its tenant's label (the default tenant's
	// without one), once the pool has reported it.
	var w *httptest.ResponseRecorder
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		w = httptest.NewRecorder()
		eng.Monitor().Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
		if strings.Contains(w.Body.String(), `dredge_jobs_total{outcome="completed"}`) || time.Now().After(deadline) {
			break
		}
	}
	for _, want := range []string{`dredge_jobs_total{outcome="completed",tenant="acme"} 1`, `dredge_jobs_total{outcome="completed",tenant="globex"} 1`, `dredge_jobs_total{outcome="completed"} 1`} {
		if !strings.Contains(w.Body.String(), want) {
			t.Errorf("/metrics lacks %s:\n%s", want, grepLines(w.Body.String(), "dredge_jobs_total"))
		}
	}
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for line := range strings.Lines(s) {
		if strings.Contains(line, sub) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "")
}

// TestPoolDepthWhileBusy: the queue depth gauge follows the queue while
// no claim comes (every runner busy), from the pool's heartbeats.
func TestPoolDepthWhileBusy(t *testing.T) {
	ctx := context.Background()
	eng := testengine.New(t)
	q := workers.NewMemory(workers.MemoryConfig{})
	defer q.Close()
	p := workers.NewPool(eng, q, workers.PoolConfig{Concurrency: 1, Heartbeat: 20 * time.Millisecond})
	p.Start()
	defer p.Shutdown(ctx)
	long, err := q.Enqueue(ctx, "benchmark", json.RawMessage(`{"model_type":"siren","config":{"epochs":100000,"hidden_size":4}}`))
	if err != nil {
		t.Fatal(err)
	}
	waitAs(t, ctx, q, long, workers.Running)
	for range 3 {
		if _, err := q.Enqueue(ctx, "lift", json.RawMessage(`{"insight_text":"waits"}`)); err != nil {
			t.Fatal(err)
		}
	}
	var body string
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(body, "dredge_queue_depth 3\n"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the depth gauge did not follow the queue while the runner was busy:\n%s", grepLines(body, "dredge_queue_depth"))
		}
		w := httptest.NewRecorder()
		eng.Monitor().Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
		body = w.Body.String()
	}
	if err := q.Cancel(ctx, long); err != nil {
		t.Fatal(err)
	}
}
