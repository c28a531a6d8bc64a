// Package cachetest is the conformance suite of [cache.Cache]: every
// implementation, in this module or outside it, runs it, as handlers run
// testing/slogtest.
//
// # Usage
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
// [Run] asks for a fresh, empty cache per subtest and closes it afterwards.
// A backend shared between tests (a Redis server) must give each cache its
// own key space, e.g. a unique key prefix per call.
//
// # What it checks
//
//   - a Get of a missing key is [cache.ErrNotFound];
//   - Set then Get returns the value, byte for byte (empty, binary,
//     256 KiB), and the very next Get sees a Set;
//   - keys that look like paths, globs or separators ("../x", "*", "a/b")
//     are opaque and distinct;
//   - values are copied on Set and Get;
//   - Delete (also of a missing key), Clear, TTL expiry, ttl 0 (the
//     default TTL), [cache.NoExpiry];
//   - an empty key is [cache.ErrInvalidArgument]; a canceled context is
//     context.Canceled;
//   - Stats counts hits, misses, the hit rate and entries (or -1);
//   - concurrent Set, Get and Delete from 8 goroutines never return a torn
//     or foreign value (run with -race);
//   - after Close every call is [cache.ErrClosed] and Close is idempotent.
//
// Use [RunWith] and [Options] to adjust timing for slow backends.
package cachetest
