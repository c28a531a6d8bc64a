//go:build unix

package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dredge-cli/dredge/internal/testredis"
	"github.com/dredge-cli/dredge/monitor"
	"github.com/dredge-cli/dredge/workers"
)

// TestWorker runs the worker against REDIS_URL: a job enqueued elsewhere
// completes, /health and /metrics answer, SIGTERM stops it.
func TestWorker(t *testing.T) {
	url := os.Getenv("REDIS_URL")
	if url == "" {
		t.Skip("REDIS_URL not set: start redis-server and set REDIS_URL=redis://127.0.0.1:6379/0 to run the worker")
	}
	prefix := "dredge:test:worker:" + strconv.FormatInt(time.Now().UnixNano(), 36)
	port := testredis.FreePort(t)
	t.Setenv("LOG_LEVEL", "error")
	t.Setenv("CACHE_BACKEND", "memory")
	t.Setenv("QUEUE_PREFIX", prefix)
	t.Setenv("METRICS_PORT", strconv.Itoa(port))
	t.Setenv("NUM_WORKERS", "2")

	c := testredis.ClientAt(t, url)
	ctx := context.Background()
	defer func() {
		keys, _ := c.Do(ctx, c.B().Keys().Pattern("{"+prefix+"}:*").Build()).AsStrSlice()
		if len(keys) > 0 {
			_ = c.Do(ctx, c.B().Del().Key(keys...).Build()).Error()
		}
	}()
	q, err := workers.NewRedis(ctx, workers.RedisConfig{Client: c, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	// Enqueued before the worker starts: it waits in Redis.
	ok, err := q.Enqueue(ctx, "string_spectrum", json.RawMessage(`{"max_modes":3}`))
	if err != nil {
		t.Fatal(err)
	}
	bad, err := q.Enqueue(ctx, "string_spectrum", json.RawMessage(`{"max_modes":-1}`))
	if err != nil {
		t.Fatal(err)
	}

	ran := make(chan error, 1)
	go func() { ran <- run() }()
	wait := func(id string) workers.State {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			select {
			case err := <-ran:
				t.Fatalf("run returned early: %v", err)
			default:
			}
			if st, err := q.Status(ctx, id); err == nil && st.Status.Final() {
				return st
			}
		}
		t.Fatalf("job %s did not finish", id)
		return workers.State{}
	}
	if st := wait(ok); st.Status != workers.Completed || !strings.Contains(string(st.Result), `"max_modes":3`) {
		t.Errorf("job: %+v", st)
	}
	if st := wait(bad); st.Status != workers.Failed || st.Code != "invalid_argument" || !strings.Contains(st.Error, "max_modes") {
		t.Errorf("bad job: %+v", st)
	}
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	get := func(path string) (int, string) {
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := get("/health"); code != 200 || !strings.Contains(body, `"healthy"`) {
		t.Errorf("/health: %d %s", code, body)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, "dredge_workers_busy") ||
		!strings.Contains(body, `operation="string_spectrum"`) {
		t.Errorf("/metrics: %d %s", code, body)
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-ran:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop on SIGTERM")
	}
}

func TestWorkerRefusesOtherQueues(t *testing.T) {
	t.Setenv("LOG_LEVEL", "error")
	t.Setenv("QUEUE_BACKEND", "memory")
	if err := run(); err == nil || !strings.Contains(err.Error(), "QUEUE_BACKEND") {
		t.Errorf("QUEUE_BACKEND=memory: %v", err)
	}
	t.Setenv("QUEUE_BACKEND", "redis")
	t.Setenv("NUM_WORKERS", "0")
	if err := run(); err == nil || !strings.Contains(err.Error(), "NUM_WORKERS") {
		t.Errorf("NUM_WORKERS=0: %v", err)
	}
	// Set but empty is unset: the worker goes on to Redis (here none).
	t.Setenv("QUEUE_BACKEND", "")
	t.Setenv("NUM_WORKERS", "1")
	t.Setenv("REDIS_URL", "redis://127.0.0.1:1/0")
	if err := run(); err == nil || strings.Contains(err.Error(), "QUEUE_BACKEND") {
		t.Errorf("QUEUE_BACKEND= (empty): %v, want Redis's error, not QUEUE_BACKEND's", err)
	}
	t.Setenv("QUEUE_BACKEND", "redis")
	t.Setenv("NUM_WORKERS", "1")
	t.Setenv("METRICS_PORT", "http")
	if err := run(); err == nil || !strings.Contains(err.Error(), "METRICS_PORT") {
		t.Errorf("METRICS_PORT=http: %v", err)
	}
}

// TestLabelTenants: with API_KEYS_FILE the worker labels the file's
// tenants' jobs, and learns a tenant added to the file on SIGHUP; a file
// that does not load stops it at start.
func TestLabelTenants(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(path, []byte("acme k-acme-0001\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("API_KEYS_FILE", path)
	mon, err := monitor.New(monitor.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer mon.Shutdown(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := labelTenants(ctx, mon, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	metrics := func() string {
		w := httptest.NewRecorder()
		mon.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
		return w.Body.String()
	}
	mon.JobFinishedFor("acme", monitor.JobCompleted, time.Millisecond)
	mon.JobFinishedFor("globex", monitor.JobCompleted, time.Millisecond)
	if m := metrics(); !strings.Contains(m, `dredge_jobs_total{outcome="completed",tenant="acme"} 1`) || strings.Contains(m, `tenant="globex"`) {
		t.Fatalf("before SIGHUP, want acme labelled and globex not:\n%s", m)
	}
	if err := os.WriteFile(path, []byte("acme k-acme-0001\nglobex k-globex-01\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mon.JobFinishedFor("globex", monitor.JobCompleted, time.Millisecond)
		if strings.Contains(metrics(), `tenant="globex"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("globex not labelled after SIGHUP")
		}
	}
	if strings.Contains(metrics(), "k-acme-0001") {
		t.Error("a key reached /metrics")
	}
	t.Setenv("API_KEYS_FILE", filepath.Join(t.TempDir(), "missing"))
	if err := labelTenants(ctx, mon, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "API_KEYS_FILE") {
		t.Errorf("a missing keys file: %v, want an error naming API_KEYS_FILE", err)
	}
}
