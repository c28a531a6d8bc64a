package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dredge-cli/dredge/workers"
)

// newJobsHandler returns New's handler with cfg.Jobs set to q (a fresh
// memory queue when nil) and, when workers > 0, a pool of that many
// running its jobs on the handler's Engine.
func newJobsHandler(t *testing.T, cfg Config, q workers.Queue, n int) *handler {
	t.Helper()
	if q == nil {
		q = workers.NewMemory(workers.MemoryConfig{})
	}
	t.Cleanup(func() { q.Close() })
	eng := newTestEngine(t)
	if n > 0 {
		p := workers.NewPool(eng, q, workers.PoolConfig{Concurrency: n, Heartbeat: 10 * time.Millisecond})
		p.Start()
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := p.Shutdown(ctx); err != nil {
				t.Errorf("pool shutdown: %v", err)
			}
		})
	}
	cfg.Jobs = q
	h, err := New(eng, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h.(*handler)
}

// submit posts a job and returns its id, expecting 202.
func submit(t *testing.T, h *handler, body string, hdr ...string) string {
	t.Helper()
	w := do(t, h, "POST", "/v1/jobs", strings.NewReader(body), hdr...)
	var got struct {
		ID     string `json:"job_id"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &got); w.Code != 202 || err != nil || got.Status != "pending" || len(got.ID) != 32 {
		t.Fatalf("submit %s: %d %s", body, w.Code, w.Body)
	}
	if loc := w.Header().Get("Location"); loc != "/v1/jobs/"+got.ID {
		t.Errorf("Location %q, want /v1/jobs/%s", loc, got.ID)
	}
	return got.ID
}

// jobState is the JSON of GET /v1/jobs/{id}.
type jobState struct {
	ID        string          `json:"job_id"`
	Operation string          `json:"operation"`
	Status    string          `json:"status"`
	Result    json.RawMessage `json:"result"`
	Error     string          `json:"error"`
	Code      string          `json:"code"`
	Attempts  int             `json:"attempts"`
	Enqueued  time.Time       `json:"enqueued_at"`
}

func getState(t *testing.T, w *httptest.ResponseRecorder) jobState {
	t.Helper()
	var st jobState
	if err := json.Unmarshal(w.Body.Bytes(), &st); w.Code != 200 || err != nil {
		t.Fatalf("job state: %d %s", w.Code, w.Body)
	}
	return st
}

// await polls GET /v1/jobs/{id} until the job is final.
func await(t *testing.T, h *handler, id string, hdr ...string) jobState {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := getState(t, do(t, h, "GET", "/v1/jobs/"+id, nil, hdr...))
		if st.ID != id {
			t.Fatalf("job_id %q, want %q", st.ID, id)
		}
		switch st.Status {
		case "completed", "failed", "canceled":
			return st
		case "pending", "running":
		default:
			t.Fatalf("status %q", st.Status)
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still %s", id, st.Status)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// withoutCached decodes a JSON object without its "cached" member.
func withoutCached(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	delete(m, "cached")
	return m
}

func TestJobCompletes(t *testing.T) {
	h := newJobsHandler(t, Config{}, nil, 2)
	params := `{"dredge_insight":"a job","quasimoto_coords":[0.5,0.25],"string_modes":[1,2,3]}`
	id := submit(t, h, `{"operation":"unified_inference","params":`+params+`}`)
	st := await(t, h, id)
	if st.Status != "completed" || st.Operation != "unified_inference" || st.Attempts != 1 || st.Enqueued.IsZero() || st.Error != "" || st.Code != "" {
		t.Fatalf("job: %+v", st)
	}
	direct := do(t, h, "POST", "/v1/ops/unified_inference", strings.NewReader(params))
	if direct.Code != 200 {
		t.Fatalf("direct call: %d %s", direct.Code, direct.Body)
	}
	if got, want := withoutCached(t, st.Result), withoutCached(t, direct.Body.Bytes()); !reflect.DeepEqual(got, want) {
		t.Errorf("job result %s\nwant the direct call's %s", st.Result, direct.Body)
	}
	if len(st.Result) == 0 || st.Result[0] != '{' {
		t.Errorf("result is not the raw response object: %s", st.Result)
	}
}

func TestJobFails(t *testing.T) {
	h := newJobsHandler(t, Config{}, nil, 1)
	id := submit(t, h, `{"operation":"string_spectrum","params":{"max_modes":-1}}`)
	st := await(t, h, id)
	if st.Status != "failed" || st.Code != "invalid_argument" || !strings.Contains(st.Error, "max_modes") || st.Result != nil {
		t.Fatalf("job with bad params: %+v", st)
	}
	// Without params the operation runs on its defaults.
	if st := await(t, h, submit(t, h, `{"operation":"string_parameters"}`)); st.Status != "completed" {
		t.Fatalf("job without params: %+v", st)
	}
}

func TestJobBadInput(t *testing.T) {
	h := newJobsHandler(t, Config{}, nil, 0)
	tests := []struct {
		name, method, target, body string
		status                     int
		code, field                string
	}{
		{"unknown operation", "POST", "/v1/jobs", `{"operation":"frobnicate","params":{}}`, 404, "not_found", "operation"},
		{"missing operation", "POST", "/v1/jobs", `{"params":{}}`, 400, "invalid_argument", "operation"},
		{"malformed body", "POST", "/v1/jobs", `{"operation":"string_spectrum"`, 400, "invalid_argument", "body"},
		{"array body", "POST", "/v1/jobs", `[1]`, 400, "invalid_argument", "body"},
		{"empty body", "POST", "/v1/jobs", ``, 400, "invalid_argument", "body"},
		{"mistyped operation", "POST", "/v1/jobs", `{"operation":3}`, 400, "invalid_argument", "body"},
		{"unknown id", "GET", "/v1/jobs/0123456789abcdef0123456789abcdef", "", 404, "not_found", "job_id"},
		{"malformed id", "GET", "/v1/jobs/nope", "", 400, "invalid_argument", "job_id"},
		{"uppercase id", "GET", "/v1/jobs/0123456789ABCDEF0123456789ABCDEF", "", 400, "invalid_argument", "job_id"},
		{"cancel unknown id", "DELETE", "/v1/jobs/0123456789abcdef0123456789abcdef", "", 404, "not_found", "job_id"},
		{"cancel malformed id", "DELETE", "/v1/jobs/x", "", 400, "invalid_argument", "job_id"},
		{"GET /v1/jobs", "GET", "/v1/jobs", "", 405, "invalid_argument", "method"},
		{"PUT a job", "PUT", "/v1/jobs/0123456789abcdef0123456789abcdef", "", 405, "invalid_argument", "method"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(t, h, tt.method, tt.target, strings.NewReader(tt.body))
			rep := decodeReply(t, w)
			if w.Code != tt.status || rep.Success || rep.Code != tt.code || rep.Field != tt.field || rep.Error == "" {
				t.Fatalf("%d %s, want %d %s field %s", w.Code, w.Body, tt.status, tt.code, tt.field)
			}
		})
	}
	w := do(t, h, "PUT", "/v1/jobs/0123456789abcdef0123456789abcdef", nil)
	if allow := w.Header().Get("Allow"); allow != "GET, HEAD, DELETE" {
		t.Errorf("Allow %q", allow)
	}
	if n, _ := h.cfg.Jobs.Depth(context.Background()); n != 0 {
		t.Errorf("bad submissions enqueued %d jobs", n)
	}
}

func TestJobCancel(t *testing.T) {
	h := newJobsHandler(t, Config{}, nil, 0) // no pool: jobs stay pending
	id := submit(t, h, `{"operation":"string_spectrum","params":{"max_modes":2}}`)
	if st := getState(t, do(t, h, "GET", "/v1/jobs/"+id, nil)); st.Status != "pending" || st.Attempts != 0 {
		t.Fatalf("before cancel: %+v", st)
	}
	if st := getState(t, do(t, h, "DELETE", "/v1/jobs/"+id, nil)); st.Status != "canceled" || st.ID != id {
		t.Fatalf("cancel: %+v", st)
	}
	if st := getState(t, do(t, h, "GET", "/v1/jobs/"+id, nil)); st.Status != "canceled" {
		t.Fatalf("after cancel: %+v", st)
	}
	w := do(t, h, "DELETE", "/v1/jobs/"+id, nil)
	rep := decodeReply(t, w)
	if w.Code != 409 || rep.Code != "invalid_argument" || rep.Field != "job_id" || !strings.Contains(rep.Error, "already canceled") {
		t.Fatalf("second cancel: %d %s", w.Code, w.Body)
	}
}

func TestJobQueueFull(t *testing.T) {
	h := newJobsHandler(t, Config{}, workers.NewMemory(workers.MemoryConfig{MaxPending: 1}), 0)
	submit(t, h, `{"operation":"string_parameters"}`)
	w := do(t, h, "POST", "/v1/jobs", strings.NewReader(`{"operation":"string_parameters"}`))
	rep := decodeReply(t, w)
	if w.Code != 503 || rep.Code != "unavailable" || w.Header().Get("Retry-After") != "1" {
		t.Fatalf("full queue: %d %v %s", w.Code, w.Header(), w.Body)
	}
	// A closed queue is unavailable too.
	h.cfg.Jobs.Close()
	w = do(t, h, "POST", "/v1/jobs", strings.NewReader(`{"operation":"string_parameters"}`))
	if w.Code != 503 || decodeReply(t, w).Code != "unavailable" {
		t.Fatalf("closed queue: %d %s", w.Code, w.Body)
	}
}

func TestJobsNotConfigured(t *testing.T) {
	h := newTestHandler(t, Config{})
	for _, r := range []struct{ method, target string }{
		{"POST", "/v1/jobs"},
		{"GET", "/v1/jobs/0123456789abcdef0123456789abcdef"},
		{"DELETE", "/v1/jobs/0123456789abcdef0123456789abcdef"},
	} {
		w := do(t, h, r.method, r.target, strings.NewReader(`{"operation":"string_parameters"}`))
		rep := decodeReply(t, w)
		if w.Code != 404 || rep.Code != "not_found" || !strings.Contains(rep.Error, "not configured") {
			t.Errorf("%s %s: %d %s", r.method, r.target, w.Code, w.Body)
		}
	}
	if idx := do(t, h, "GET", "/", nil).Body.String(); strings.Contains(idx, "/v1/jobs") {
		t.Errorf("index lists the job routes without a queue: %s", idx)
	}
	idx := do(t, newJobsHandler(t, Config{}, nil, 0), "GET", "/", nil).Body.String()
	for _, r := range []string{`"POST /v1/jobs"`, `"GET /v1/jobs/{id}"`, `"DELETE /v1/jobs/{id}"`} {
		if !strings.Contains(idx, r) {
			t.Errorf("index without %s: %s", r, idx)
		}
	}
}

func TestJobsNeedAuth(t *testing.T) {
	const key = "job-key-0123456789"
	h := newJobsHandler(t, Config{AuthEnabled: true, APIKeys: []string{key}}, nil, 1)
	id := "0123456789abcdef0123456789abcdef"
	for _, r := range []struct{ method, target, body string }{
		{"POST", "/v1/jobs", `{"operation":"string_parameters"}`},
		{"GET", "/v1/jobs/" + id, ""},
		{"DELETE", "/v1/jobs/" + id, ""},
	} {
		w := do(t, h, r.method, r.target, strings.NewReader(r.body))
		if rep := decodeReply(t, w); w.Code != 401 || rep.Code != "unauthenticated" {
			t.Errorf("%s %s without a key: %d %s", r.method, r.target, w.Code, w.Body)
		}
		w = do(t, h, r.method, r.target, strings.NewReader(r.body), "X-API-Key", "wrong")
		if w.Code != 401 {
			t.Errorf("%s %s with a wrong key: %d %s", r.method, r.target, w.Code, w.Body)
		}
	}
	if n, _ := h.cfg.Jobs.Depth(context.Background()); n != 0 {
		t.Errorf("an unauthenticated submission was enqueued")
	}
	got := submit(t, h, `{"operation":"string_parameters"}`, "Authorization", "Bearer "+key)
	if st := await(t, h, got, "X-API-Key", key); st.Status != "completed" {
		t.Fatalf("authenticated job: %+v", st)
	}
}

func TestJobsRateLimited(t *testing.T) {
	h := newJobsHandler(t, Config{RateLimitEnabled: true, RateLimitRequests: 1, RateLimitWindow: time.Hour}, nil, 0)
	submit(t, h, `{"operation":"string_parameters"}`)
	w := do(t, h, "POST", "/v1/jobs", strings.NewReader(`{"operation":"string_parameters"}`))
	if rep := decodeReply(t, w); w.Code != 429 || rep.Code != "rate_limited" || w.Header().Get("Retry-After") == "" {
		t.Fatalf("second submission: %d %s", w.Code, w.Body)
	}
}

// TestJobIdempotencyKey: a second POST with the same Idempotency-Key
// answers 200 with the first job's state and enqueues nothing; a bad key
// is a 400 naming the header.
func TestJobIdempotencyKey(t *testing.T) {
	h := newJobsHandler(t, Config{}, nil, 1)
	body := `{"operation":"lift","params":{"insight_text":"once"}}`
	id := submit(t, h, body, "Idempotency-Key", "req-7")
	await(t, h, id)
	again := do(t, h, "POST", "/v1/jobs", strings.NewReader(body), "Idempotency-Key", "req-7")
	st := getState(t, again)
	if again.Code != 200 || st.ID != id || st.Status != "completed" || again.Header().Get("Idempotent-Replayed") != "true" ||
		again.Header().Get("Location") != "/v1/jobs/"+id {
		t.Fatalf("replay: %d %s %v", again.Code, again.Body, again.Header())
	}
	if other := submit(t, h, body, "Idempotency-Key", "req-8"); other == id {
		t.Error("another key answered the first job")
	}
	w := do(t, h, "POST", "/v1/jobs", strings.NewReader(body), "Idempotency-Key", "has space")
	var rep struct{ Code, Field string }
	_ = json.Unmarshal(w.Body.Bytes(), &rep)
	if w.Code != 400 || rep.Code != "invalid_argument" || rep.Field != "Idempotency-Key" {
		t.Errorf("bad key: %d %s", w.Code, w.Body)
	}
}

// TestReadyWithJobs: a service with jobs is ready while its queue
// answers, and not once the queue fails.
func TestReadyWithJobs(t *testing.T) {
	q := workers.NewMemory(workers.MemoryConfig{})
	h := newJobsHandler(t, Config{}, q, 0)
	if w := do(t, h, "GET", "/ready", nil); w.Code != 200 {
		t.Fatalf("ready: %d %s", w.Code, w.Body)
	}
	_ = q.Close()
	if w := do(t, h, "GET", "/ready", nil); w.Code != http.StatusServiceUnavailable || decodeReply(t, w).Code != "unavailable" {
		t.Fatalf("ready with its queue closed: %d %s", w.Code, w.Body)
	}
}
