package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/adapters/httpapi"
	"github.com/dredge-cli/dredge/adapters/mcp"
	"github.com/dredge-cli/dredge/cache"
	"github.com/dredge-cli/dredge/internal/testengine"
	"github.com/dredge-cli/dredge/internal/testredis"
	"github.com/dredge-cli/dredge/modelstore"
	"github.com/dredge-cli/dredge/workers"
)

// TestTenants is issue 19's acceptance test: two tenants of one service
// whose models, cached results and jobs live in Redis, over HTTP, MCP and
// jobs. Neither can list, read, infer with, train, unload or fetch a job
// of the other's, and every answer about the other's ids equals, byte for
// byte (the id aside), the answer about an id that never existed; cached
// results never cross; and no key reaches the logs, /metrics or any
// answer.
func TestTenants(t *testing.T) {
	rc, url := testredis.Client(t)
	prefix := fmt.Sprintf("dredge:test:tenants:%d", time.Now().UnixNano())
	t.Cleanup(func() {
		for _, p := range []string{"{" + prefix + ":models:}*", prefix + ":cache:*", "{" + prefix + ":jobs}*"} {
			testredis.DeleteKeys(t, rc, p)
		}
	})
	store, err := modelstore.NewRedis(modelstore.RedisConfig{URL: url, Prefix: prefix + ":models:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	eng := testengine.New(t, dredge.WithModelStore(store), dredge.WithCacheConfig(cache.Config{
		Enabled: true, Backend: cache.BackendRedis, TTL: time.Hour, Redis: cache.RedisConfig{URL: url, Prefix: prefix + ":cache:"}}))
	ctx := context.Background()
	q, err := workers.NewRedis(ctx, workers.RedisConfig{Client: rc, Prefix: prefix + ":jobs"})
	if err != nil {
		t.Fatal(err)
	}
	pool := workers.NewPool(eng, q, workers.PoolConfig{Concurrency: 2})
	pool.Start()
	t.Cleanup(func() {
		_ = pool.Shutdown(ctx)
		_ = q.Close()
	})
	logs := new(syncBuffer)
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m, err := mcp.NewHTTPHandler(eng, &mcp.HTTPOptions{Options: mcp.Options{Logger: logger, Jobs: q}})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := httpapi.ParseKeys("acme " + keyAcme1 + "\nglobex " + keyGlobex + "\n")
	if err != nil {
		t.Fatal(err)
	}
	h, err := httpapi.New(eng, httpapi.Config{AuthEnabled: true, Keys: keys, Jobs: q, MCP: m, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(h)
	ts.Config.RegisterOnShutdown(m.CloseSessions)
	ts.Start()
	t.Cleanup(ts.Close)

	var answers strings.Builder // every answer, searched for keys at the end
	call := func(key, method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		answers.Write(b)
		return res.StatusCode, string(b)
	}
	op := func(key, name, params string) (int, string) {
		t.Helper()
		return call(key, "POST", "/v1/ops/"+name, params)
	}
	sessions := map[string]*sdk.ClientSession{"acme": connectWithKey(t, ts, keyAcme1), "globex": connectWithKey(t, ts, keyGlobex)}
	tool := func(tenant, name, args string) (isErr bool, text string) {
		t.Helper()
		var a map[string]any
		if err := json.Unmarshal([]byte(args), &a); err != nil {
			t.Fatal(err)
		}
		res, err := sessions[tenant].CallTool(mcpTestContext(t), &sdk.CallToolParams{Name: name, Arguments: a})
		if err != nil {
			t.Fatalf("%s as %s: %v", name, tenant, err)
		}
		for _, c := range res.Content {
			if tc, ok := c.(*sdk.TextContent); ok {
				text += tc.Text
			}
		}
		answers.WriteString(text)
		return res.IsError, text
	}
	field := func(body, name string) string {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		s, _ := m[name].(string)
		return s
	}

	// acme loads a model over HTTP and one over MCP.
	code, body := op(keyAcme1, "load_model", `{"model_type":"siren","config":{"hidden_size":4}}`)
	if code != 200 || field(body, "model_id") != "siren_0" {
		t.Fatalf("acme's load_model over HTTP: %d %s", code, body)
	}
	if isErr, text := tool("acme", "load_model", `{"model_type":"quasimoto_1d","config":{"n_waves":2}}`); isErr || field(text, "model_id") != "quasimoto_1d_0" {
		t.Fatalf("acme's load_model over MCP: %s", text)
	}
	acmeModels := []string{"quasimoto_1d_0", "siren_0"}
	listed := func(body string) []string {
		var r struct {
			Models []struct {
				ModelID string `json:"model_id"`
			} `json:"models"`
		}
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatalf("list_models: %s", body)
		}
		var ids []string
		for _, m := range r.Models {
			ids = append(ids, m.ModelID)
		}
		return ids
	}
	if _, body := op(keyAcme1, "list_models", `{}`); !slices.Equal(listed(body), acmeModels) {
		t.Errorf("acme's list_models: %s", body)
	}
	if _, body := op(keyGlobex, "list_models", `{}`); len(listed(body)) != 0 {
		t.Errorf("globex's list_models over HTTP shows %v", listed(body))
	}
	if _, text := tool("globex", "list_models", `{}`); len(listed(text)) != 0 {
		t.Errorf("globex's list_models over MCP shows %v", listed(text))
	}

	// globex reads, infers with, trains and unloads acme's models over
	// HTTP and MCP, and through jobs: each answer is the one for an id
	// that never existed (siren_7, quasimoto_1d_7).
	ops := map[string]string{
		"inference":      `{"model_id":%q,"inputs":{"x":[0.5],"t":[0]}}`,
		"get_parameters": `{"model_id":%q}`,
		"benchmark":      `{"model_id":%q,"config":{"epochs":1}}`,
		"unload_model":   `{"model_id":%q}`,
	}
	submit := func(key, name, params string) string {
		t.Helper()
		code, body := call(key, "POST", "/v1/jobs", `{"operation":"`+name+`","params":`+params+`}`)
		if code != http.StatusAccepted {
			t.Fatalf("job %s: %d %s", name, code, body)
		}
		return field(body, "job_id")
	}
	finished := func(key, id string) string {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			_, body := call(key, "GET", "/v1/jobs/"+id, "")
			if s := field(body, "status"); s == "completed" || s == "failed" {
				// The parts that differ from one job to the next go.
				var st map[string]any
				_ = json.Unmarshal([]byte(body), &st)
				for _, k := range []string{"job_id", "enqueued_at", "started_at", "finished_at"} {
					delete(st, k)
				}
				b, _ := json.Marshal(st)
				return string(b)
			}
			if time.Now().After(deadline) {
				t.Fatalf("job %s not finished: %s", id, body)
			}
		}
	}
	for _, id := range acmeModels {
		never := strings.TrimSuffix(id, "0") + "7"
		for name, params := range ops {
			if name == "inference" && strings.HasPrefix(id, "siren") {
				params = `{"model_id":%q,"inputs":{"x":[0.5]}}`
			}
			wantCode, want := op(keyGlobex, name, fmt.Sprintf(params, never))
			if wantCode != http.StatusNotFound {
				t.Fatalf("%s of %s as globex: %d %s, want 404", name, never, wantCode, want)
			}
			if code, got := op(keyGlobex, name, fmt.Sprintf(params, id)); code != wantCode || got != strings.ReplaceAll(want, never, id) {
				t.Errorf("HTTP %s of acme's %s as globex: %d %s; of %s: %d %s", name, id, code, got, never, wantCode, want)
			}
			wantErr, wantText := tool("globex", name, fmt.Sprintf(params, never))
			if isErr, got := tool("globex", name, fmt.Sprintf(params, id)); !wantErr || !isErr || got != strings.ReplaceAll(wantText, never, id) {
				t.Errorf("MCP %s of acme's %s as globex: %v %s; of %s: %v %s", name, id, isErr, got, never, wantErr, wantText)
			}
			want = finished(keyGlobex, submit(keyGlobex, name, fmt.Sprintf(params, never)))
			if got := finished(keyGlobex, submit(keyGlobex, name, fmt.Sprintf(params, id))); got != strings.ReplaceAll(want, never, id) || !strings.Contains(got, "not_found") {
				t.Errorf("a job of globex's, %s of acme's %s: %s; of %s: %s", name, id, got, never, want)
			}
		}
	}
	// None of that touched acme's models.
	if _, body := op(keyAcme1, "list_models", `{}`); !slices.Equal(listed(body), acmeModels) {
		t.Errorf("acme's list_models after globex's attempts: %s", body)
	}
	if code, body := op(keyAcme1, "inference", `{"model_id":"siren_0","inputs":{"x":[0.5]}}`); code != 200 {
		t.Errorf("acme's inference after globex's attempts: %d %s", code, body)
	}

	// acme's job: globex's GET and DELETE over HTTP and get_job and
	// cancel_job over MCP answer as for a job id that never existed.
	job := submit(keyAcme1, "inference", `{"model_id":"siren_0","inputs":{"x":[0.25]}}`)
	if st := finished(keyAcme1, job); !strings.Contains(st, `"completed"`) {
		t.Fatalf("acme's job: %s", st)
	}
	const unknownJob = "0123456789abcdef0123456789abcdef"
	for _, method := range []string{"GET", "DELETE"} {
		wantCode, want := call(keyGlobex, method, "/v1/jobs/"+unknownJob, "")
		if code, got := call(keyGlobex, method, "/v1/jobs/"+job, ""); code != wantCode || wantCode != 404 || got != strings.ReplaceAll(want, unknownJob, job) {
			t.Errorf("HTTP %s of acme's job as globex: %d %s; of an unknown job: %d %s", method, code, got, wantCode, want)
		}
	}
	for _, name := range []string{mcp.GetJobTool, mcp.CancelJobTool} {
		wantErr, want := tool("globex", name, `{"job_id":"`+unknownJob+`"}`)
		if isErr, got := tool("globex", name, `{"job_id":"`+job+`"}`); !isErr || !wantErr || got != strings.ReplaceAll(want, unknownJob, job) {
			t.Errorf("MCP %s of acme's job as globex: %s; of an unknown job: %s", name, got, want)
		}
	}
	if st := finished(keyAcme1, job); !strings.Contains(st, `"completed"`) {
		t.Errorf("acme's job after globex's attempts: %s", st)
	}

	// Cached results never cross: a tenant's repeat of a call is a hit,
	// over HTTP, MCP or a job alike; the other's first call is not.
	const unified = `{"dredge_insight":"one question for both","quasimoto_coords":[0.4]}`
	cached := func(body string) bool {
		var r struct {
			Cached bool `json:"cached"`
		}
		_ = json.Unmarshal([]byte(body), &r)
		return r.Cached
	}
	if _, body := op(keyAcme1, "unified_inference", unified); cached(body) {
		t.Errorf("acme's first unified_inference was cached: %s", body)
	}
	if _, text := tool("acme", "unified_inference", unified); !cached(text) {
		t.Errorf("acme's repeat over MCP was not cached: %s", text)
	}
	if _, body := op(keyGlobex, "unified_inference", unified); cached(body) {
		t.Errorf("globex's first unified_inference was answered from acme's cache: %s", body)
	}
	gj := submit(keyGlobex, "unified_inference", unified)
	finished(keyGlobex, gj)
	if _, body := call(keyGlobex, "GET", "/v1/jobs/"+gj, ""); !strings.Contains(body, `\"cached\":true`) && !strings.Contains(body, `"cached":true`) {
		t.Errorf("globex's repeat as a job was not cached: %s", body)
	}

	// No key anywhere: answers, logs, /metrics (whose tenant labels are
	// the keys file's tenants).
	_, metrics := call(keyAcme1, "GET", "/metrics", "")
	if !strings.Contains(metrics, `tenant="acme"`) || !strings.Contains(metrics, `tenant="globex"`) {
		t.Errorf("/metrics has no series of the two tenants")
	}
	call("not-a-key-"+keyAcme1, "GET", "/v1/ops", "")
	for name, text := range map[string]string{"answers": answers.String(), "logs": logs.String(), "metrics": metrics} {
		for _, key := range []string{keyAcme1, keyGlobex} {
			if strings.Contains(text, key) {
				t.Errorf("a key reached the %s", name)
			}
		}
	}
}
