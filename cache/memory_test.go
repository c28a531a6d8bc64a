package cache_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/dredge-cli/dredge/cache"
	"github.com/dredge-cli/dredge/cache/cachetest"
)

func newMemory(t testing.TB, cfg cache.MemoryConfig) *cache.Memory {
	t.Helper()
	m, err := cache.NewMemory(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMemory(t *testing.T) {
	cachetest.Run(t, func(t *testing.T) cache.Cache { return newMemory(t, cache.MemoryConfig{}) })
}

func TestMemoryBound(t *testing.T) {
	const maxBytes = 64 << 10
	m := newMemory(t, cache.MemoryConfig{MaxBytes: maxBytes})
	defer m.Close()
	v := make([]byte, 1000)
	for i := range 1000 { // about 1 MB into a 64 KiB cache
		if err := m.Set(t.Context(), fmt.Sprint("k", i), v, 0); err != nil {
			t.Fatal(err)
		}
	}
	s, err := m.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if max := int64(maxBytes / 1000); s.Entries < 1 || s.Entries > max {
		t.Errorf("Stats.Entries = %d, want 1..%d", s.Entries, max)
	}
}

func TestMemoryConfig(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     cache.MemoryConfig
		wantErr bool
		wantTTL float64
	}{
		{"zero", cache.MemoryConfig{}, false, 3600},
		{"ttl", cache.MemoryConfig{DefaultTTL: 90e9}, false, 90},
		{"no expiry", cache.MemoryConfig{DefaultTTL: cache.NoExpiry}, false, -1},
		{"negative bytes", cache.MemoryConfig{MaxBytes: -1}, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := cache.NewMemory(tc.cfg)
			if (err != nil) != tc.wantErr {
				t.Fatalf("NewMemory: %v, want error %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			defer m.Close()
			s, _ := m.Stats(t.Context())
			if s.DefaultTTLSeconds != tc.wantTTL || s.Backend != cache.BackendMemory {
				t.Errorf("Stats = %+v, want backend memory, default_ttl %v", s, tc.wantTTL)
			}
		})
	}
}

func BenchmarkMemoryGet(b *testing.B) {
	// Get copies the value; GetShared, the hit the Engine takes, does not.
	gets := []struct {
		name string
		get  func(*cache.Memory, context.Context, string) ([]byte, error)
	}{{"", (*cache.Memory).Get}, {"-shared", (*cache.Memory).GetShared}}
	for _, size := range []int{128, 4096} {
		for _, g := range gets {
			b.Run(fmt.Sprint(size, "B", g.name), func(b *testing.B) {
				m := newMemory(b, cache.MemoryConfig{})
				defer m.Close()
				ctx := b.Context()
				if err := m.Set(ctx, "spectrum/v1/key", make([]byte, size), 0); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					if _, err := g.get(m, ctx, "spectrum/v1/key"); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// TestMemoryReadYourWrites checks that a Get right after Set sees the value,
// and after Delete does not, while ristretto applies new keys on its own
// goroutine: over more Sets than one wait-free batch, overwriting keys
// before ristretto has stored them, from several goroutines at once.
func TestMemoryReadYourWrites(t *testing.T) {
	m := newMemory(t, cache.MemoryConfig{})
	defer m.Close()
	ctx := t.Context()
	errs := make(chan error, 4)
	for g := range 4 {
		go func() {
			errs <- func() error {
				for i := range 2000 {
					k := fmt.Sprintf("g%d/k%d", g, i)
					for _, v := range []string{"first", "second"} {
						if err := m.Set(ctx, k, []byte(v), 0); err != nil {
							return err
						}
						got, err := m.Get(ctx, k)
						if err != nil || string(got) != v {
							return fmt.Errorf("Get(%s) after Set %q = %q, %v", k, v, got, err)
						}
					}
					if i%3 == 0 {
						if err := m.Delete(ctx, k); err != nil {
							return err
						}
						if got, err := m.Get(ctx, k); err == nil {
							return fmt.Errorf("Get(%s) after Delete = %q", k, got)
						}
					}
				}
				return nil
			}()
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	s, err := m.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Stats waits for ristretto: every key not deleted is stored.
	if want := int64(4 * (2000 - 667)); s.Entries != want {
		t.Errorf("Stats.Entries = %d, want %d", s.Entries, want)
	}
}

// TestMemoryValues checks the value a Memory keeps beside the bytes: the
// one SetValue stored, nil for Set, and gone with the entry.
func TestMemoryValues(t *testing.T) {
	ctx := context.Background()
	m, err := cache.NewMemory(cache.MemoryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	type result struct{ N int }
	stored := &result{N: 3}
	if err := m.SetValue(ctx, "k", []byte(`{"N":3}`), stored, 0); err != nil {
		t.Fatal(err)
	}
	b, v, err := m.GetValue(ctx, "k")
	if err != nil || string(b) != `{"N":3}` || v != stored {
		t.Fatalf("GetValue = %s, %v, %v", b, v, err)
	}
	if err := m.Set(ctx, "k", []byte(`{"N":4}`), 0); err != nil {
		t.Fatal(err)
	}
	if b, v, err := m.GetValue(ctx, "k"); err != nil || string(b) != `{"N":4}` || v != nil {
		t.Fatalf("after Set: GetValue = %s, %v, %v", b, v, err)
	}
	if err := m.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.GetValue(ctx, "k"); !errors.Is(err, cache.ErrNotFound) {
		t.Fatalf("after Delete: %v", err)
	}
}
