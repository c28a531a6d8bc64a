package dredge

import (
	"context"
	"encoding/json"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dredge-cli/dredge/cache"
)

// countingCache counts the calls that reach a backend, by key prefix.
type countingCache struct {
	cache.Cache
	mu         sync.Mutex
	gets, sets map[string]int
}

func newCountingCache(t *testing.T) *countingCache {
	m, err := cache.NewMemory(cache.MemoryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return &countingCache{Cache: m, gets: map[string]int{}, sets: map[string]int{}}
}

func prefix(key string) string { return key[:strings.IndexByte(key, '/')] }

func (c *countingCache) Get(ctx context.Context, key string) ([]byte, error) {
	c.mu.Lock()
	c.gets[prefix(key)]++
	c.mu.Unlock()
	return c.Cache.Get(ctx, key)
}

func (c *countingCache) Set(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	c.mu.Lock()
	c.sets[prefix(key)]++
	c.mu.Unlock()
	return c.Cache.Set(ctx, key, v, ttl)
}

func (c *countingCache) take() (gets, sets map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	gets, sets = c.gets, c.sets
	c.gets, c.sets = map[string]int{}, map[string]int{}
	return gets, sets
}

// TestExactRequestKeys follows the cache calls of a request and its
// repeats: a request never answered costs no exact-request lookup, the
// first repeat stores the exact-request entry, later ones hit it.
func TestExactRequestKeys(t *testing.T) {
	cc := newCountingCache(t)
	e, err := New(WithCache(cc))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	params := json.RawMessage(`{"dredge_insight":"exact","quasimoto_coords":[0.5]}`)
	steps := []struct {
		name       string
		gets, sets map[string]int
		cached     bool
	}{
		{"first", map[string]int{"unified": 1}, map[string]int{"unified": 1}, false},
		{"first repeat", map[string]int{"unified": 1}, map[string]int{"raw": 1}, true},
		{"second repeat", map[string]int{"raw": 1}, map[string]int{}, true},
		{"third repeat", map[string]int{"raw": 1}, map[string]int{}, true},
	}
	for _, s := range steps {
		body, code := e.CallJSON(ctx, "unified_inference", params)
		if code != CodeOK {
			t.Fatalf("%s: %s", s.name, body)
		}
		gets, sets := cc.take()
		if !maps.Equal(gets, s.gets) || !maps.Equal(sets, s.sets) {
			t.Errorf("%s: gets %v sets %v, want gets %v sets %v", s.name, gets, sets, s.gets, s.sets)
		}
		if cached := strings.HasSuffix(string(body), `"cached":true}`); cached != s.cached {
			t.Errorf("%s: cached %v, want %v: %s", s.name, cached, s.cached, body)
		}
	}

	// An exact-request entry the filter does not know of (stored by
	// another process, or before a reset) changes nothing in the answer:
	// the canonical key answers and the entry is stored again.
	e.rawStored = newRawFilter()
	body, _ := e.CallJSON(ctx, "unified_inference", params)
	gets, sets := cc.take()
	if !strings.HasSuffix(string(body), `"cached":true}`) || gets["unified"] != 1 || gets["raw"] != 0 || sets["raw"] != 1 {
		t.Errorf("after a reset: gets %v sets %v: %s", gets, sets, body)
	}
	if s := e.cacheStats(ctx); s.Hits != 4 || s.Misses != 1 {
		t.Errorf("hits %d misses %d, want 4 and 1", s.Hits, s.Misses)
	}
}

func TestRawFilter(t *testing.T) {
	f := newRawFilter()
	a, b := f.slot("unified_inference", []byte(`{"a":1}`)), f.slot("string_spectrum", []byte(`{"a":1}`))
	if a == b {
		t.Fatal("two operations with the same params share a slot")
	}
	if a != f.slot("unified_inference", []byte(`{"a":1}`)) {
		t.Fatal("slot is not deterministic")
	}
	if f.has(a) {
		t.Fatal("empty filter has a slot")
	}
	f.add(a)
	f.add(a)
	if !f.has(a) || f.has(b) || f.set.Load() != 1 {
		t.Fatalf("after add: has(a)=%v has(b)=%v set=%d", f.has(a), f.has(b), f.set.Load())
	}
	// Setting more than a quarter of the bits resets the filter.
	f = newRawFilter()
	for i := uint64(0); i <= rawFilterBits/4; i++ {
		f.add(i * 3)
	}
	if n := f.set.Load(); n != 0 {
		t.Fatalf("%d bits set after filling a quarter, want a reset to 0", n)
	}
	if f.has(0) || f.has(3) || f.has(3*(rawFilterBits/4)) {
		t.Fatal("bits survived the reset")
	}
}
