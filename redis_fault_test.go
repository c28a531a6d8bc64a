package dredge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/cache"
	"github.com/dredge-cli/dredge/internal/testredis"
	"github.com/dredge-cli/dredge/modelstore"
)

// TestRedisFaultEngine stops Redis during a run of cached operations: every
// operation still succeeds; when Redis is back, hits resume.
func TestRedisFaultEngine(t *testing.T) {
	srv := testredis.Start(t, 0)
	e := newEngine(t, dredge.WithCacheConfig(cache.Config{
		Enabled: true, Backend: cache.BackendRedis,
		Redis: cache.RedisConfig{URL: srv.URL(), Prefix: fmt.Sprintf("dredge-fault-%d:", time.Now().UnixNano()), Timeout: 100 * time.Millisecond},
	}))
	ctx := context.Background()
	run := func(i int) map[string]any {
		t.Helper()
		start := time.Now()
		body, code := e.CallJSON(ctx, "unified_inference", json.RawMessage(fmt.Sprintf(`{"dredge_insight":"fault %d"}`, i%5)))
		if code != dredge.CodeOK {
			t.Fatalf("request %d failed: %s", i, body)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("request %d took %v", i, d)
		}
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		return m
	}
	hits := 0
	for i := 0; i < 20; i++ {
		if run(i)["cached"] == true {
			hits++
		}
	}
	if hits < 10 {
		t.Fatalf("only %d hits with Redis up", hits)
	}
	srv.Kill()
	for i := 0; i < 20; i++ {
		run(i) // misses, but every one succeeds
	}
	srv.Restart()
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; ; i++ {
		// An empty server: the first round stores, later rounds hit.
		if run(i)["cached"] == true {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no cache hits within 10s of Redis coming back")
		}
		time.Sleep(50 * time.Millisecond)
	}
	st, _ := e.CacheStats(ctx)
	if st.CacheStats.Errors == 0 {
		t.Errorf("cache errors not counted: %+v", st.CacheStats)
	}
	m, _ := e.Metrics(ctx)
	if n := m.Metrics.Counters["dredge_cache_errors_total{backend=redis}"]; n == 0 {
		t.Errorf("dredge_cache_errors_total not fed: %v", m.Metrics.Counters)
	}
}

func TestReady(t *testing.T) {
	ctx := context.Background()
	if err := newEngine(t).Ready(ctx); err != nil {
		t.Fatalf("memory cache engine not ready: %v", err)
	}
	if err := newEngine(t, dredge.WithCache(nil)).Ready(ctx); err != nil {
		t.Fatalf("cacheless engine not ready: %v", err)
	}
	srv := testredis.Start(t, 0)
	e := newEngine(t, dredge.WithCacheConfig(cache.Config{Enabled: true, Backend: cache.BackendRedis,
		Redis: cache.RedisConfig{URL: srv.URL(), Timeout: 100 * time.Millisecond}}))
	if err := e.Ready(ctx); err != nil {
		t.Fatalf("redis up: %v", err)
	}
	srv.Kill()
	if err := e.Ready(ctx); dredge.CodeOf(err) != dredge.CodeUnavailable {
		t.Fatalf("redis down: Ready = %v", err)
	}
	srv.Restart()
	deadline := time.Now().Add(10 * time.Second)
	for e.Ready(ctx) != nil {
		if time.Now().After(deadline) {
			t.Fatal("not ready again within 10s of Redis coming back")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestReadyModelStore: an Engine whose models live in Redis is not ready
// while that Redis is down, even with no cache to probe.
func TestReadyModelStore(t *testing.T) {
	ctx := context.Background()
	srv := testredis.Start(t, 0)
	store, err := modelstore.NewRedis(modelstore.RedisConfig{URL: srv.URL(), Timeout: 200 * time.Millisecond, RetryInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	e := newEngine(t, dredge.WithCache(nil), dredge.WithModelStore(store))
	if err := e.Ready(ctx); err != nil {
		t.Fatalf("redis up: Ready = %v", err)
	}
	srv.Kill()
	if err := e.Ready(ctx); dredge.CodeOf(err) != dredge.CodeUnavailable || !strings.Contains(err.Error(), "model store") {
		t.Fatalf("redis down: Ready = %v, want unavailable naming the model store", err)
	}
}
