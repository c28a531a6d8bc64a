package cachetest_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/dredge-cli/dredge/cache"
)

// An implementation's test calls cachetest.Run with a constructor:
//
//	func TestMemory(t *testing.T) {
//		cachetest.Run(t, func(t *testing.T) cache.Cache {
//			c, err := cache.NewMemory(cache.MemoryConfig{})
//			if err != nil {
//				t.Fatal(err)
//			}
//			return c
//		})
//	}
//
// This example walks through a few of the behaviours the suite demands, on
// the memory backend.
func Example() {
	ctx := context.Background()
	c, _ := cache.NewMemory(cache.MemoryConfig{})
	defer c.Close()

	_, err := c.Get(ctx, "missing")
	fmt.Println("miss is ErrNotFound:", errors.Is(err, cache.ErrNotFound))

	_ = c.Set(ctx, "../x", []byte("v1"), 0) // keys are opaque, never paths
	v, _ := c.Get(ctx, "../x")              // a Set is visible to the next Get
	fmt.Println("read back:", string(v))

	_ = c.Close()
	_, err = c.Get(ctx, "../x")
	fmt.Println("after Close:", errors.Is(err, cache.ErrClosed), c.Close() == nil)
	// Output:
	// miss is ErrNotFound: true
	// read back: v1
	// after Close: true true
}
