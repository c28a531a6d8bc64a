package cache_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/dredge-cli/dredge/cache"
)

// The parameters of the operations whose keys the tests pin.
type (
	spectrumKey struct{ MaxModes, Dimensions int }
	unifiedKey  struct {
		Insight string
		Coords  []float64
		Modes   []int
	}
	inferenceKey struct {
		ModelID, Version string
		Inputs           any
	}
)

func spectrum(maxModes, dims int) cache.Key {
	return cache.KeyOf("spectrum/v1/", spectrumKey{maxModes, dims})
}

func unified(insight string, coords []float64, modes []int) cache.Key {
	return cache.KeyOf("unified/v1/", unifiedKey{insight, coords, modes})
}

func inference(id, version string, inputs any) cache.Key {
	return cache.KeyOf("inference/v1/", inferenceKey{id, version, inputs})
}

func TestKeys(t *testing.T) {
	key := func(k cache.Key) string {
		t.Helper()
		s, err := k.CacheKey()
		if err != nil {
			t.Fatalf("%#v.CacheKey(): %v", k, err)
		}
		return s
	}
	mapA := map[string][]float64{"x": {0.1, 0.2}, "t": {0, 1}, "y": {3}}
	mapB := map[string][]float64{"y": {3}, "t": {0, 1}, "x": {0.1, 0.2}} // same, other literal order
	for _, tc := range []struct {
		name string
		a, b cache.Key
		same bool
	}{
		{"spectrum equal", spectrum(10, 10), spectrum(10, 10), true},
		{"spectrum swapped", spectrum(10, 11), spectrum(11, 10), false},
		{"unified equal", unified("i", []float64{0.5}, []int{1, 2, 3}), unified("i", []float64{0.5}, []int{1, 2, 3}), true},
		{"unified coords", unified("i", []float64{0.5}, nil), unified("i", []float64{0.5000000000000001}, nil), false},
		{"unified nil=empty", unified("i", nil, nil), unified("i", []float64{}, []int{}), true},
		{"unified insight", unified("a", nil, nil), unified("b", nil, nil), false},
		{"unified split", unified("ab", []float64{1}, nil), unified("a", []float64{1}, nil), false},
		{"inference map order", inference("m", "v1", mapA), inference("m", "v1", mapB), true},
		{"inference version", inference("m", "v1", mapA), inference("m", "v2", mapA), false},
		{"inference model", inference("m1", "v", mapA), inference("m2", "v", mapA), false},
		{"inference rows", inference("m", "v", [][]float64{{1, 2}, {3}}), inference("m", "v", [][]float64{{1}, {2, 3}}), false},
		{"inference any", inference("m", "v", map[string]any{"x": []any{1.0, 2.0}}), inference("m", "v", map[string]any{"x": []float64{1, 2}}), true},
		{"kinds differ", spectrum(0, 0), unified("", nil, nil), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := key(tc.a), key(tc.b)
			if (a == b) != tc.same {
				t.Errorf("keys %q and %q: equal %v, want %v", a, b, a == b, tc.same)
			}
		})
	}
	if k := key(spectrum(10, 10)); !strings.HasPrefix(k, "spectrum/v1/") || len(k) != len("spectrum/v1/")+64 {
		t.Errorf("spectrum key = %q, want spectrum/v1/ and 64 hex digits", k)
	}
}

// TestKeyGolden pins key strings (the wanted hashes were computed
// independently, in Python, from the documented encoding): a change would orphan every stored result
// (and silently split a cache shared between versions), so it must be a
// deliberate format version bump.
func TestKeyGolden(t *testing.T) {
	for _, tc := range []struct {
		key  cache.Key
		want string
	}{
		{spectrum(10, 10), "spectrum/v1/bea83b70c24ecd9057adb356254c8994926eccdbd4de5629776b735f1c1c3f81"},
		{unified("", []float64{0.5}, []int{1, 2, 3}), "unified/v1/4f6698e05d66292130acce539a98d9555e19732a790eb4d2bbfc3209b40d3b9d"},
	} {
		got, err := tc.key.CacheKey()
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("%#v.CacheKey() = %q, want %q", tc.key, got, tc.want)
		}
	}
}

func TestFingerprint(t *testing.T) {
	type params struct {
		A      float64
		B      []int
		hidden int
	}
	for _, tc := range []struct {
		name    string
		a, b    any
		same    bool
		wantErr bool
	}{
		{"map order", map[string]int{"a": 1, "b": 2}, map[string]int{"b": 2, "a": 1}, true, false},
		{"int keys", map[int]string{1: "a", 2: "b"}, map[int]string{2: "b", 1: "a"}, true, false},
		{"string vs int", "1", 1, false, false},
		{"int vs float", 1, 1.0, false, false},
		{"int sizes", int8(3), int64(3), true, false},
		{"float32 widened", float32(0.5), 0.5, true, false},
		{"signed zero", 0.0, math.Copysign(0, -1), false, false},
		{"pointer followed", &params{A: 1}, params{A: 1}, true, false},
		{"unexported ignored", params{A: 1, hidden: 1}, params{A: 1, hidden: 2}, true, false},
		{"nil pointer", (*params)(nil), nil, true, false},
		{"list split", []string{"ab", "c"}, []string{"a", "bc"}, false, false},
		{"nested", map[string]any{"x": []any{map[string]int{"k": 1}}}, map[string]any{"x": []any{map[string]int{"k": 1}}}, true, false},
		{"NaN", math.NaN(), nil, false, true},
		{"Inf in slice", []float64{1, math.Inf(1)}, nil, false, true},
		{"func", func() {}, nil, false, true},
		{"chan", make(chan int), nil, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := cache.Fingerprint(tc.a)
			if tc.wantErr {
				if !errors.Is(err, cache.ErrInvalidArgument) {
					t.Fatalf("Fingerprint(%v): %v, want ErrInvalidArgument", tc.a, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, err := cache.Fingerprint(tc.b)
			if err != nil {
				t.Fatal(err)
			}
			if (a == b) != tc.same {
				t.Errorf("equal %v, want %v", a == b, tc.same)
			}
		})
	}
}

func TestFingerprintDepth(t *testing.T) {
	type node struct{ Next *node }
	n := &node{}
	n.Next = n // a cycle
	if _, err := cache.Fingerprint(n); !errors.Is(err, cache.ErrInvalidArgument) {
		t.Errorf("Fingerprint of a cycle: %v, want ErrInvalidArgument", err)
	}
}

// failing is a backend whose every call fails.
type failing struct{ cache.Nop }

var errBoom = errors.New("boom")

func (*failing) Get(context.Context, string) ([]byte, error)              { return nil, errBoom }
func (*failing) Set(context.Context, string, []byte, time.Duration) error { return errBoom }
func (*failing) Stats(context.Context) (cache.Stats, error)               { return cache.Stats{}, errBoom }

func TestResultCache(t *testing.T) {
	m := newMemory(t, cache.MemoryConfig{DefaultTTL: 2 * time.Minute})
	defer m.Close()
	rc := cache.NewResultCache(m, cache.ResultConfig{})
	ctx := t.Context()
	k := spectrum(3, 10)

	if _, ok := rc.Get(ctx, k); ok {
		t.Fatal("hit on an empty cache")
	}
	rc.Set(ctx, k, []byte(`[0.5,1,1.5]`))
	if v, ok := rc.Get(ctx, k); !ok || string(v) != `[0.5,1,1.5]` {
		t.Fatalf("Get = %q, %v", v, ok)
	}
	// A NaN key is a miss and an error, never a failure.
	bad := unified("", []float64{math.NaN()}, nil)
	rc.Set(ctx, bad, []byte("x"))
	if _, ok := rc.Get(ctx, bad); ok {
		t.Fatal("hit for a NaN key")
	}

	s := rc.Stats(ctx)
	want := cache.Stats{Backend: "memory", Hits: 1, Misses: 2, HitRate: 1.0 / 3, Entries: 1, DefaultTTLSeconds: 120, Errors: 2}
	if s != want {
		t.Errorf("Stats = %+v, want %+v", s, want)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"backend_type", "hits", "misses", "hit_rate", "entries", "default_ttl", "errors"} {
		if _, ok := fields[name]; !ok {
			t.Errorf("Stats JSON %s lacks %q", b, name)
		}
	}
}

func TestResultCacheTTL(t *testing.T) {
	m := newMemory(t, cache.MemoryConfig{})
	defer m.Close()
	rc := cache.NewResultCache(m, cache.ResultConfig{TTL: 30 * time.Millisecond})
	k := spectrum(1, 0)
	rc.Set(t.Context(), k, []byte("1"))
	if s := rc.Stats(t.Context()); s.DefaultTTLSeconds != 0.03 {
		t.Errorf("Stats.DefaultTTLSeconds = %v, want 0.03", s.DefaultTTLSeconds)
	}
	time.Sleep(60 * time.Millisecond)
	if _, ok := rc.Get(t.Context(), k); ok {
		t.Error("hit after the result TTL")
	}
}

func TestResultCacheNeverFails(t *testing.T) {
	for _, tc := range []struct {
		name string
		rc   *cache.ResultCache
	}{
		{"failing backend", cache.NewResultCache(&failing{}, cache.ResultConfig{})},
		{"nop backend", cache.NewResultCache(&cache.Nop{}, cache.ResultConfig{})},
		{"nil", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			calls := 0
			for range 2 {
				v, cached, err := cache.GetOrCompute(ctx, tc.rc, spectrum(2, 0), func(context.Context) ([]float64, error) {
					calls++
					return []float64{0.5, 1}, nil
				})
				if err != nil || cached || len(v) != 2 {
					t.Fatalf("GetOrCompute = %v, %v, %v", v, cached, err)
				}
			}
			if calls != 2 {
				t.Errorf("compute ran %d times, want 2", calls)
			}
			_ = tc.rc.Clear(ctx)
			s := tc.rc.Stats(ctx)
			if s.Hits != 0 || s.Backend == "" {
				t.Errorf("Stats = %+v", s)
			}
		})
	}
}

func TestGetOrCompute(t *testing.T) {
	m := newMemory(t, cache.MemoryConfig{})
	defer m.Close()
	rc := cache.NewResultCache(m, cache.ResultConfig{})
	ctx := t.Context()
	type result struct {
		Spectrum []float64 `json:"energy_spectrum"`
	}
	k := spectrum(2, 10)
	compute := func(context.Context) (result, error) { return result{[]float64{0.5, 1}}, nil }
	for i, wantCached := range []bool{false, true, true} {
		v, cached, err := cache.GetOrCompute(ctx, rc, k, compute)
		if err != nil || cached != wantCached || len(v.Spectrum) != 2 {
			t.Fatalf("call %d: GetOrCompute = %+v, cached %v, %v; want cached %v", i, v, cached, err, wantCached)
		}
	}
	// A compute error is returned and nothing is stored.
	k2 := spectrum(99, 0)
	if _, _, err := cache.GetOrCompute(ctx, rc, k2, func(context.Context) (result, error) { return result{}, errBoom }); !errors.Is(err, errBoom) {
		t.Fatalf("GetOrCompute: %v, want errBoom", err)
	}
	if _, ok := rc.Get(ctx, k2); ok {
		t.Error("a failed computation was cached")
	}
	// A stored value that does not decode is a miss and is removed.
	rc.Set(ctx, k, []byte("not json"))
	if _, ok := cache.GetJSON[result](ctx, rc, k); ok {
		t.Error("GetJSON hit on undecodable value")
	}
	if _, ok := rc.Get(ctx, k); ok {
		t.Error("undecodable value not removed")
	}
}
