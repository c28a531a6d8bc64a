package cachetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dredge-cli/dredge/cache"
)

// Options adjust [RunWith] to a backend. The zero value runs every check.
type Options struct {
	// TTLSlack is added to every wait for an entry to expire, for backends
	// whose expiry is coarse. 0 means 0.
	TTLSlack time.Duration
}

// Run runs the conformance suite against the caches newCache returns, one
// fresh, empty cache per subtest. Run closes each cache when its subtest
// ends (and checks that a second Close returns nil); newCache need not.
// Subtests run sequentially.
func Run(t *testing.T, newCache func(t *testing.T) cache.Cache) {
	t.Helper()
	RunWith(t, Options{}, newCache)
}

// RunWith is [Run] with options.
func RunWith(t *testing.T, opt Options, newCache func(t *testing.T) cache.Cache) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, c cache.Cache, opt Options)
	}{
		{"GetMissing", testGetMissing},
		{"SetGet", testSetGet},
		{"Overwrite", testOverwrite},
		{"KeysAreOpaque", testKeysAreOpaque},
		{"Isolation", testIsolation},
		{"Delete", testDelete},
		{"TTL", testTTL},
		{"Clear", testClear},
		{"EmptyKey", testEmptyKey},
		{"CanceledContext", testCanceledContext},
		{"Stats", testStats},
		{"Concurrent", testConcurrent},
		{"Close", testClose},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCache(t)
			if c == nil {
				t.Fatal("newCache returned nil")
			}
			t.Cleanup(func() {
				if err := c.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
				if err := c.Close(); err != nil {
					t.Errorf("second Close: %v", err)
				}
			})
			tc.fn(t, c, opt)
		})
	}
}

func mustSet(t *testing.T, c cache.Cache, key string, v []byte, ttl time.Duration) {
	t.Helper()
	if err := c.Set(t.Context(), key, v, ttl); err != nil {
		t.Fatalf("Set(%q): %v", key, err)
	}
}

func wantValue(t *testing.T, c cache.Cache, key string, want []byte) {
	t.Helper()
	got, err := c.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v, want %d bytes", key, err, len(want))
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Get(%q) = %.40q (%d bytes), want %.40q (%d bytes)", key, got, len(got), want, len(want))
	}
}

func wantMiss(t *testing.T, c cache.Cache, key string) {
	t.Helper()
	got, err := c.Get(t.Context(), key)
	if !errors.Is(err, cache.ErrNotFound) {
		t.Fatalf("Get(%q) = %.40q, %v; want ErrNotFound", key, got, err)
	}
}

func testGetMissing(t *testing.T, c cache.Cache, _ Options) {
	wantMiss(t, c, "missing")
}

func testSetGet(t *testing.T, c cache.Cache, _ Options) {
	rng := rand.New(rand.NewPCG(1, 2))
	big := make([]byte, 256<<10)
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	for _, tc := range []struct {
		name  string
		value []byte
	}{
		{"empty", []byte{}},
		{"nil", nil},
		{"text", []byte(`{"energy_spectrum":[0.5,1,1.5]}`)},
		{"binary", []byte{0, 1, 0xff, '\r', '\n', 0}},
		{"256KiB", big},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := "setget/" + tc.name
			mustSet(t, c, key, tc.value, 0)
			got, err := c.Get(t.Context(), key)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if !bytes.Equal(got, tc.value) {
				t.Fatalf("Get = %d bytes, want %d", len(got), len(tc.value))
			}
		})
	}
}

func testOverwrite(t *testing.T, c cache.Cache, _ Options) {
	for i := range 3 {
		v := []byte(fmt.Sprintf("value %d %s", i, strings.Repeat("x", i*100)))
		mustSet(t, c, "k", v, 0)
		wantValue(t, c, "k", v)
	}
}

// testKeysAreOpaque checks that keys that look like paths, globs or
// separators are kept apart and stay inside the cache.
func testKeysAreOpaque(t *testing.T, c cache.Cache, _ Options) {
	keys := []string{
		"../../../../etc/passwd", "/abs/path", `a\b`, "a/b", "a:b", "a b", "*", "?", "[a]",
		"a*", "prefix:*", "\x00nul", "ünïcödé ✓", "\n", strings.Repeat("long", 300),
		"k", "K", "k ", " k",
	}
	for i, k := range keys {
		mustSet(t, c, k, []byte(fmt.Sprint(i)), 0)
	}
	for i, k := range keys {
		wantValue(t, c, k, []byte(fmt.Sprint(i)))
	}
	if err := c.Delete(t.Context(), "*"); err != nil {
		t.Fatalf("Delete(*): %v", err)
	}
	wantMiss(t, c, "*")
	wantValue(t, c, "a*", []byte("9"))
}

func testIsolation(t *testing.T, c cache.Cache, _ Options) {
	v := []byte("original")
	mustSet(t, c, "k", v, 0)
	copy(v, "MUTATED!")
	wantValue(t, c, "k", []byte("original"))
	got, err := c.Get(t.Context(), "k")
	if err != nil {
		t.Fatal(err)
	}
	copy(got, "MUTATED!")
	wantValue(t, c, "k", []byte("original"))
}

func testDelete(t *testing.T, c cache.Cache, _ Options) {
	mustSet(t, c, "a", []byte("1"), 0)
	mustSet(t, c, "b", []byte("2"), 0)
	for _, k := range []string{"a", "never-set"} {
		if err := c.Delete(t.Context(), k); err != nil {
			t.Fatalf("Delete(%q): %v", k, err)
		}
	}
	wantMiss(t, c, "a")
	wantValue(t, c, "b", []byte("2"))
	if err := c.Delete(t.Context(), "a"); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
}

func testTTL(t *testing.T, c cache.Cache, opt Options) {
	const short = 150 * time.Millisecond
	mustSet(t, c, "short", []byte("s"), short)
	mustSet(t, c, "default", []byte("d"), 0)
	mustSet(t, c, "forever", []byte("f"), cache.NoExpiry)
	mustSet(t, c, "long", []byte("l"), time.Hour)
	wantValue(t, c, "short", []byte("s"))
	// Rewriting with a longer TTL extends the entry.
	mustSet(t, c, "extended", []byte("e1"), short)
	mustSet(t, c, "extended", []byte("e2"), time.Hour)

	deadline := time.Now().Add(short + 2*time.Second + opt.TTLSlack)
	time.Sleep(short + 50*time.Millisecond)
	for {
		_, err := c.Get(t.Context(), "short")
		if errors.Is(err, cache.ErrNotFound) {
			break
		}
		if err != nil {
			t.Fatalf("Get(short): %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("entry with ttl %v still there after %v", short, short+2*time.Second+opt.TTLSlack)
		}
		time.Sleep(20 * time.Millisecond)
	}
	wantValue(t, c, "default", []byte("d"))
	wantValue(t, c, "forever", []byte("f"))
	wantValue(t, c, "long", []byte("l"))
	wantValue(t, c, "extended", []byte("e2"))
}

func testClear(t *testing.T, c cache.Cache, _ Options) {
	for i := range 50 {
		mustSet(t, c, fmt.Sprint("clear-", i), []byte("v"), 0)
	}
	if err := c.Clear(t.Context()); err != nil {
		t.Fatalf("Clear: %v", err)
	}
	for i := range 50 {
		wantMiss(t, c, fmt.Sprint("clear-", i))
	}
	if s, err := c.Stats(t.Context()); err != nil {
		t.Fatalf("Stats: %v", err)
	} else if s.Entries > 0 {
		t.Errorf("Stats.Entries = %d after Clear, want 0 (or -1)", s.Entries)
	}
	// The cache still works after Clear.
	mustSet(t, c, "after", []byte("v"), 0)
	wantValue(t, c, "after", []byte("v"))
	if err := c.Clear(t.Context()); err != nil {
		t.Fatalf("second Clear: %v", err)
	}
}

func testEmptyKey(t *testing.T, c cache.Cache, _ Options) {
	ctx := t.Context()
	for name, err := range map[string]error{
		"Get":    func() error { _, err := c.Get(ctx, ""); return err }(),
		"Set":    c.Set(ctx, "", []byte("v"), 0),
		"Delete": c.Delete(ctx, ""),
	} {
		if !errors.Is(err, cache.ErrInvalidArgument) {
			t.Errorf("%s with empty key: %v, want ErrInvalidArgument", name, err)
		}
	}
}

func testCanceledContext(t *testing.T, c cache.Cache, _ Options) {
	mustSet(t, c, "k", []byte("v"), 0)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for name, err := range map[string]error{
		"Get":    func() error { _, err := c.Get(ctx, "k"); return err }(),
		"Set":    c.Set(ctx, "k", []byte("v"), 0),
		"Delete": c.Delete(ctx, "k"),
		"Clear":  c.Clear(ctx),
		"Stats":  func() error { _, err := c.Stats(ctx); return err }(),
	} {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with canceled context: %v, want context.Canceled", name, err)
		}
	}
	wantValue(t, c, "k", []byte("v"))
}

func testStats(t *testing.T, c cache.Cache, _ Options) {
	s0, err := c.Stats(t.Context())
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if s0.Backend == "" {
		t.Error("Stats.Backend is empty")
	}
	if s0.Hits != 0 || s0.Misses != 0 || s0.Errors != 0 || s0.HitRate != 0 {
		t.Errorf("fresh cache: Stats = %+v, want zero counters", s0)
	}
	if s0.Entries != 0 && s0.Entries != -1 {
		t.Errorf("fresh cache: Stats.Entries = %d, want 0 or -1", s0.Entries)
	}
	mustSet(t, c, "a", []byte("1"), 0)
	mustSet(t, c, "b", []byte("2"), 0)
	wantValue(t, c, "a", []byte("1"))
	wantValue(t, c, "a", []byte("1"))
	wantValue(t, c, "b", []byte("2"))
	wantMiss(t, c, "c")
	s, err := c.Stats(t.Context())
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if s.Hits != 3 || s.Misses != 1 || s.Errors != 0 {
		t.Errorf("Stats = %+v, want 3 hits, 1 miss, 0 errors", s)
	}
	if s.HitRate != 0.75 {
		t.Errorf("Stats.HitRate = %v, want 0.75", s.HitRate)
	}
	if s.Entries != 2 && s.Entries != -1 {
		t.Errorf("Stats.Entries = %d, want 2 (or -1)", s.Entries)
	}
	if s.DefaultTTLSeconds == 0 {
		t.Errorf("Stats.DefaultTTLSeconds = 0, want a TTL (or -1 for none)")
	}
}

// testConcurrent runs goroutines that set, get and delete overlapping keys.
// Every value names its key, so a hit on the wrong or a torn value shows.
func testConcurrent(t *testing.T, c cache.Cache, _ Options) {
	const (
		workers = 8
		ops     = 200
		keys    = 16
	)
	ctx := t.Context()
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for range ops {
				k := fmt.Sprint("conc-", rng.IntN(keys))
				switch op := rng.IntN(10); {
				case op < 5:
					v, err := c.Get(ctx, k)
					if err != nil && !errors.Is(err, cache.ErrNotFound) {
						errc <- fmt.Errorf("Get(%q): %w", k, err)
						return
					}
					if err == nil && !bytes.HasPrefix(v, []byte(k+"=")) {
						errc <- fmt.Errorf("Get(%q) = %.60q, not a value of that key", k, v)
						return
					}
				case op < 9:
					v := fmt.Appendf(nil, "%s=%d:%s", k, w, strings.Repeat("v", rng.IntN(2000)))
					if err := c.Set(ctx, k, v, 0); err != nil {
						errc <- fmt.Errorf("Set(%q): %w", k, err)
						return
					}
				default:
					if err := c.Delete(ctx, k); err != nil {
						errc <- fmt.Errorf("Delete(%q): %w", k, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
}

func testClose(t *testing.T, c cache.Cache, _ Options) {
	mustSet(t, c, "k", []byte("v"), 0)
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ctx := t.Context()
	for name, err := range map[string]error{
		"Get":    func() error { _, err := c.Get(ctx, "k"); return err }(),
		"Set":    c.Set(ctx, "k", []byte("v"), 0),
		"Delete": c.Delete(ctx, "k"),
		"Clear":  c.Clear(ctx),
	} {
		if !errors.Is(err, cache.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
}
