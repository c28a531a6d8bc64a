package cache_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/dredge-cli/dredge/cache"
	"github.com/dredge-cli/dredge/cache/cachetest"
	"github.com/dredge-cli/dredge/internal/testredis"
)

const redisSkip = "REDIS_URL not set: start redis-server and set REDIS_URL=redis://127.0.0.1:6379/0 to run"

var prefixSeq atomic.Int64

// uniquePrefix gives each cache its own key space, so that parallel test
// runs against one server do not collide.
func uniquePrefix(t testing.TB) string {
	return fmt.Sprintf("dredge-test:%d:%d:%d:", os.Getpid(), time.Now().UnixNano(), prefixSeq.Add(1))
}

// newRedisFromEnv returns a cache on REDIS_URL with a unique prefix, or
// skips the test. The cache is cleared and closed when the test ends.
func newRedisFromEnv(t testing.TB, cfg cache.RedisConfig) *cache.Redis {
	t.Helper()
	url := os.Getenv("REDIS_URL")
	if url == "" {
		t.Skip(redisSkip)
	}
	cfg.URL = url
	cfg.Prefix = uniquePrefix(t)
	r, err := cache.NewRedis(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if clean, err := cache.NewRedis(cfg); err == nil {
			_ = clean.Clear(context.Background())
			_ = clean.Close()
		}
	})
	return r
}

func skipWithoutRedis(t testing.TB) {
	if os.Getenv("REDIS_URL") == "" {
		t.Skip(redisSkip)
	}
}

func TestRedis(t *testing.T) {
	skipWithoutRedis(t)
	cachetest.Run(t, func(t *testing.T) cache.Cache { return newRedisFromEnv(t, cache.RedisConfig{}) })
}

func TestRedisClientCache(t *testing.T) {
	skipWithoutRedis(t)
	cachetest.Run(t, func(t *testing.T) cache.Cache {
		return newRedisFromEnv(t, cache.RedisConfig{ClientCache: time.Minute})
	})
}

func TestRedisClearKeepsOtherPrefixes(t *testing.T) {
	a := newRedisFromEnv(t, cache.RedisConfig{})
	defer a.Close()
	b := newRedisFromEnv(t, cache.RedisConfig{})
	defer b.Close()
	ctx := t.Context()
	for _, c := range []*cache.Redis{a, b} {
		if err := c.Set(ctx, "k", []byte("v"), 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Get(ctx, "k"); !errors.Is(err, cache.ErrNotFound) {
		t.Errorf("a.Get after a.Clear: %v, want ErrNotFound", err)
	}
	if _, err := b.Get(ctx, "k"); err != nil {
		t.Errorf("b.Get after a.Clear: %v, want the value", err)
	}
}

// TestRedisPrefixGlob checks that glob characters in the prefix are matched
// literally by Clear.
func TestRedisPrefixGlob(t *testing.T) {
	url := os.Getenv("REDIS_URL")
	if url == "" {
		t.Skip(redisSkip)
	}
	base := uniquePrefix(t)
	ctx := t.Context()
	open := func(prefix string) *cache.Redis {
		r, err := cache.NewRedis(cache.RedisConfig{URL: url, Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = r.Clear(context.Background()); _ = r.Close() })
		return r
	}
	glob, plain := open(base+"[ab]*?:"), open(base+"a-x:")
	for _, c := range []*cache.Redis{glob, plain} {
		if err := c.Set(ctx, "k", []byte("v"), 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := glob.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := plain.Get(ctx, "k"); err != nil {
		t.Errorf("Clear with prefix %q removed a key of prefix %q: %v", base+"[ab]*?:", base+"a-x:", err)
	}
}

func TestRedisBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  cache.RedisConfig
	}{
		{"scheme", cache.RedisConfig{URL: "http://127.0.0.1:6379"}},
		{"db", cache.RedisConfig{URL: "redis://127.0.0.1:6379/x"}},
		{"port", cache.RedisConfig{Port: 70000}},
		{"negative db", cache.RedisConfig{DB: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := cache.NewRedis(tc.cfg); !errors.Is(err, cache.ErrInvalidArgument) {
				t.Errorf("NewRedis: %v, want ErrInvalidArgument", err)
			}
		})
	}
}

// freePort returns a TCP port on 127.0.0.1 that nothing listens on.

// TestRedisUnreachable needs no server: it points at a port nobody listens on.
func TestRedisUnreachable(t *testing.T) {
	port := testredis.FreePort(t)
	if _, err := cache.NewRedis(cache.RedisConfig{Port: port}); !errors.Is(err, cache.ErrUnavailable) {
		t.Fatalf("NewRedis without LazyConnect: %v, want ErrUnavailable", err)
	}
	r, err := cache.NewRedis(cache.RedisConfig{Port: port, LazyConnect: true})
	if err != nil {
		t.Fatalf("NewRedis with LazyConnect: %v", err)
	}
	defer r.Close()
	rc := cache.NewResultCache(r, cache.ResultConfig{})
	key := spectrum(10, 10)
	for range 3 {
		start := time.Now()
		if _, err := r.Get(t.Context(), "k"); !errors.Is(err, cache.ErrUnavailable) {
			t.Errorf("Get: %v, want ErrUnavailable", err)
		}
		if _, ok := rc.Get(t.Context(), key); ok {
			t.Error("ResultCache.Get hit on an unreachable server")
		}
		rc.Set(t.Context(), key, []byte("{}"))
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("calls took %v", d)
		}
	}
	if s := rc.Stats(t.Context()); s.Errors == 0 || s.Misses != 3 || s.Backend != cache.BackendRedis {
		t.Errorf("Stats = %+v, want errors, 3 misses, backend redis", s)
	}
}

// countingHandler counts log records by level.
type countingHandler struct {
	mu     sync.Mutex
	counts map[slog.Level]int
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *countingHandler) WithGroup(string) slog.Handler            { return h }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.counts[r.Level]++
	return nil
}
func (h *countingHandler) count(l slog.Level) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.counts[l]
}

// TestRedisFault starts its own redis-server (it needs /usr/bin/redis-server,
// not REDIS_URL), runs cached gets and sets through a ResultCache, stops the
// server (SIGSTOP: calls time out) and kills it (calls are refused), and
// checks that every call returns a miss within the timeout without failing
// its caller, that errors are counted and logged once, and that hits resume
// after the server is back.
func TestRedisFault(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	const timeout = 100 * time.Millisecond
	// A call may overrun its timeout by scheduling delay on a loaded
	// machine running -race; it must not approach a second.
	const slack = 250 * time.Millisecond
	srv := testredis.Start(t, 0)
	logs := &countingHandler{counts: map[slog.Level]int{}}
	r, err := cache.NewRedis(cache.RedisConfig{
		Port: srv.Port, Prefix: uniquePrefix(t), Timeout: timeout, RetryInterval: 200 * time.Millisecond,
		Logger: slog.New(logs), LogInterval: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rc := cache.NewResultCache(r, cache.ResultConfig{})
	ctx := t.Context()

	// roundTrip is one cached operation as the engine does it: look up,
	// compute on a miss, store. It reports whether the lookup hit.
	var slowest time.Duration
	roundTrip := func(i int) bool {
		key := spectrum(i%5, 10)
		start := time.Now()
		v, hit, err := cache.GetOrCompute(ctx, rc, key, func(context.Context) ([]float64, error) {
			return []float64{float64(i % 5)}, nil
		})
		d := time.Since(start)
		slowest = max(slowest, d)
		if err != nil || len(v) != 1 || v[0] != float64(i%5) {
			t.Fatalf("GetOrCompute = %v, %v", v, err)
		}
		if d > 2*timeout+slack { // a Get and a Set, each bounded
			t.Errorf("cached call took %v, want at most %v", d, 2*timeout+slack)
		}
		return hit
	}
	// waitHits runs round trips until one hits.
	waitHits := func(phase string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for i := 0; !roundTrip(i); i++ {
			if time.Now().After(deadline) {
				t.Fatalf("%s: no cache hit within 5s", phase)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	// outage runs round trips for d; all must miss.
	outage := func(phase string, d time.Duration) {
		t.Helper()
		slowest = 0
		for i, end := 0, time.Now().Add(d); time.Now().Before(end); i++ {
			if roundTrip(i) {
				t.Fatalf("%s: cache hit while the server is down", phase)
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Logf("%s: slowest cached call %v", phase, slowest)
	}

	waitHits("start")
	errs0 := rc.Stats(ctx).Errors

	srv.Signal(syscall.SIGSTOP)
	outage("stopped", time.Second)
	srv.Signal(syscall.SIGCONT)
	waitHits("after SIGCONT")

	srv.Kill()
	outage("killed", time.Second)
	srv.Restart() // same port, empty data set
	waitHits("after restart")

	s := rc.Stats(ctx)
	if s.Errors <= errs0 {
		t.Errorf("Stats.Errors = %d, want more than %d", s.Errors, errs0)
	}
	if n := logs.count(slog.LevelWarn); n != 1 {
		t.Errorf("%d warnings logged, want 1 (LogInterval is an hour)", n)
	}
	if n := logs.count(slog.LevelInfo); n < 1 {
		t.Errorf("no record of the server being reachable again")
	}
	t.Logf("stats: %+v", s)
}

// TestRedisLazyConnect starts with no server, then starts one: the cache
// connects by itself.
func TestRedisLazyConnect(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	if _, err := os.Stat(testredis.Bin); err != nil {
		t.Skipf("%s not found: %v", testredis.Bin, err)
	}
	port := testredis.FreePort(t)
	r, err := cache.NewRedis(cache.RedisConfig{Port: port, Prefix: uniquePrefix(t), LazyConnect: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Set(t.Context(), "k", []byte("v"), 0); !errors.Is(err, cache.ErrUnavailable) {
		t.Fatalf("Set before the server runs: %v, want ErrUnavailable", err)
	}
	// Past the first retry interval, so that the background reconnection
	// loop, not the first attempt, has to find the server.
	time.Sleep(300 * time.Millisecond)
	testredis.Start(t, port)
	deadline := time.Now().Add(5 * time.Second)
	for r.Set(t.Context(), "k", []byte("v"), 0) != nil {
		if time.Now().After(deadline) {
			t.Fatal("not connected 5s after the server started")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if v, err := r.Get(t.Context(), "k"); err != nil || string(v) != "v" {
		t.Fatalf("Get = %q, %v", v, err)
	}
}

func BenchmarkRedisGet(b *testing.B) {
	for _, bc := range []struct {
		name string
		cfg  cache.RedisConfig
	}{
		{"128B", cache.RedisConfig{}},
		{"128B-clientcache", cache.RedisConfig{ClientCache: time.Minute}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := newRedisFromEnv(b, bc.cfg)
			defer r.Close()
			ctx := b.Context()
			if err := r.Set(ctx, "spectrum/v1/key", make([]byte, 128), 0); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.Get(ctx, "spectrum/v1/key"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestRedisCluster runs the suite on a Redis Cluster of three masters:
// keys spread over the nodes, and Clear scans every node.
func TestRedisCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts a three-node Redis Cluster")
	}
	url := testredis.StartCluster(t, 3)
	n := 0
	cachetest.Run(t, func(t *testing.T) cache.Cache {
		n++
		c, err := cache.NewRedis(cache.RedisConfig{URL: url, Prefix: fmt.Sprintf("dredge:cluster:%d:", n)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	})
}
