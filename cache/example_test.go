package cache_test

import (
	"context"
	"fmt"
	"time"

	"github.com/dredge-cli/dredge/cache"
)

func Example() {
	ctx := context.Background()
	c, err := cache.Open(ctx, cache.Config{Enabled: true, Backend: "memory", TTL: time.Hour})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	results := cache.NewResultCache(c, cache.ResultConfig{})

	spectrum := func(ctx context.Context) ([]float64, error) {
		return []float64{0.5, 1, 1.5}, nil // E_n = n/2 for n = 1..3
	}
	key := cache.KeyOf("spectrum/v1/", struct{ MaxModes, Dimensions int }{3, 10})
	for range 2 {
		v, cached, err := cache.GetOrCompute(ctx, results, key, spectrum)
		fmt.Println(v, cached, err)
	}
	s := results.Stats(ctx)
	fmt.Printf("%s: %d hit, %d miss, hit rate %.2f, %d entries, default ttl %vs\n",
		s.Backend, s.Hits, s.Misses, s.HitRate, s.Entries, s.DefaultTTLSeconds)
	// Output:
	// [0.5 1 1.5] false <nil>
	// [0.5 1 1.5] true <nil>
	// memory: 1 hit, 1 miss, hit rate 0.50, 1 entries, default ttl 3600s
}

func ExampleMemory() {
	ctx := context.Background()
	m, err := cache.NewMemory(cache.MemoryConfig{MaxBytes: 1 << 20})
	if err != nil {
		panic(err)
	}
	defer m.Close()
	_ = m.Set(ctx, "greeting", []byte("hello"), time.Minute)
	v, err := m.Get(ctx, "greeting")
	fmt.Printf("%s %v\n", v, err)
	_, err = m.Get(ctx, "missing")
	fmt.Println(err)
	// Output:
	// hello <nil>
	// cache: not found
}
