package dredge

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"math"
	"sync"
	"time"

	"github.com/dredge-cli/dredge/cache"
)

// openCache sets up the result cache from the configuration.
func (e *Engine) openCache(c *config) error {
	backend := c.cache
	if !c.cacheSet {
		c.cacheCfg = &cache.Config{Enabled: true, Backend: cache.BackendMemory}
	}
	if c.cacheCfg != nil {
		cc := *c.cacheCfg
		if cc.Logger == nil {
			cc.Logger = e.logger
		}
		if !cc.Enabled {
			return nil
		}
		var err error
		if backend, err = cache.Open(context.Background(), cc); err != nil {
			return err
		}
		e.closers = append(e.closers, func(context.Context) error { return backend.Close() })
	}
	if backend == nil {
		return nil
	}
	if _, nop := backend.(*cache.Nop); nop {
		return nil
	}
	e.cacheBackend = cache.BackendName(backend)
	// A memory backend (the ValueCache) fails only when closed, which the
	// Engine checks first: left unwrapped, the result cache can hand it
	// results without copies.
	if _, values := backend.(cache.ValueCache); !values && e.mon.MetricsEnabled() {
		backend = &countedCache{Cache: backend, onErr: func() { e.mon.CacheError(e.cacheBackend) }}
	}
	e.results = cache.NewResultCache(backend, cache.ResultConfig{Logger: e.logger})
	// The result cache's counts are the only ones: /metrics reads them
	// (and keeps them once the Engine is closed).
	stop := e.mon.ObserveCache(e.cacheBackend, e.results.Counts)
	e.closers = append(e.closers, func(context.Context) error { stop(); return nil })
	return nil
}

// countedCache counts a backend's failures (not misses, not the caller's
// cancellations) in the monitor's dredge_cache_errors_total.
type countedCache struct {
	cache.Cache
	onErr func()
}

func (c *countedCache) count(ctx context.Context, err error) error {
	if err != nil && !errors.Is(err, cache.ErrNotFound) && ctx.Err() == nil {
		c.onErr()
	}
	return err
}

func (c *countedCache) Get(ctx context.Context, key string) ([]byte, error) {
	v, err := c.Cache.Get(ctx, key)
	return v, c.count(ctx, err)
}

func (c *countedCache) Set(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	return c.count(ctx, c.Cache.Set(ctx, key, v, ttl))
}

func (c *countedCache) Delete(ctx context.Context, key string) error {
	return c.count(ctx, c.Cache.Delete(ctx, key))
}

// resultKey is a result-cache key made by an operation's key function.
type resultKey string

func (k resultKey) CacheKey() (string, error) { return string(k), nil }

// cachedResult is implemented by the results of cached operations.
type cachedResult interface {
	// cachedCopy returns a copy sharing no memory with the result, with
	// Cached set.
	cachedCopy() any
}

// store keeps a copy of res under key, as it is answered from the cache:
// with "cached": true, and encoded.
func (e *Engine) store(ctx context.Context, key string, res any) {
	c, ok := res.(cachedResult)
	if !ok {
		return
	}
	v := c.cachedCopy()
	b, err := encodeResult(v)
	if err != nil {
		return // the caller encodes res too, and reports the error
	}
	e.results.SetValue(ctx, resultKey(key), b, v)
	if s, ok := res.(interface{ stored(key string) }); ok {
		s.stored(key)
	}
}

// keyHash computes a result-cache key: the operation's key kind and the
// SHA-256 of the request's canonical binary form, which the key function
// writes after the defaults are applied and the request validated. The
// form is gathered in a pooled buffer and hashed at once; past
// maxKeyBuffer it is hashed as it goes (large inference inputs).
type keyHash struct {
	h   hash.Hash // nil until the form outgrows the buffer
	p   *[]byte
	buf []byte
}

// maxKeyBuffer bounds the buffer a key is gathered in.
const maxKeyBuffer = 64 << 10

var keyBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func newKeyHash() keyHash {
	p := keyBuffers.Get().(*[]byte)
	return keyHash{p: p, buf: (*p)[:0]}
}

func (k *keyHash) room(n int) {
	if len(k.buf)+n > maxKeyBuffer {
		if k.h == nil {
			k.h = sha256.New()
		}
		k.h.Write(k.buf)
		k.buf = k.buf[:0]
	}
}

func (k *keyHash) int(v int) {
	k.room(8)
	k.buf = binary.BigEndian.AppendUint64(k.buf, uint64(v))
}

func (k *keyHash) str(s string) {
	k.int(len(s))
	for len(s) > 0 {
		k.room(1)
		n := min(len(s), maxKeyBuffer-len(k.buf))
		k.buf = append(k.buf, s[:n]...)
		s = s[n:]
	}
}

func (k *keyHash) floats(v []float64) {
	k.int(len(v))
	for _, f := range v {
		k.room(8)
		k.buf = binary.BigEndian.AppendUint64(k.buf, math.Float64bits(f))
	}
}

func (k *keyHash) ints(v []int) {
	k.int(len(v))
	for _, i := range v {
		k.int(i)
	}
}

// key returns kind followed by the hex digest, and returns the buffer to
// the pool: k is not used afterwards.
func (k *keyHash) key(kind string) string {
	var sum [sha256.Size]byte
	if k.h == nil {
		sum = sha256.Sum256(k.buf)
	} else {
		k.h.Write(k.buf)
		k.h.Sum(sum[:0])
	}
	*k.p = k.buf[:0]
	keyBuffers.Put(k.p)
	var out [64 + 2*sha256.Size]byte
	return string(hex.AppendEncode(append(out[:0], kind...), sum[:]))
}

// paramsFingerprint identifies a model's parameter values.
func paramsFingerprint(v []float64) string {
	k := newKeyHash()
	k.floats(v)
	return k.key("")
}

// Cache returns the backend of the Engine's result cache, nil when caching
// is off.
func (e *Engine) Cache() cache.Cache {
	if e.results == nil {
		return nil
	}
	return e.results.Backend()
}

// readyProbeKey is looked up by [Engine.Ready]; it is never stored.
const readyProbeKey = "dredge/ready-probe"

// Ready reports whether the Engine and the dependencies it was configured
// with answer: it fails when the Engine is closed, when its model store
// does not answer a ping ([modelstore.Store.Ping]), or when the cache
// backend (a Redis server, say) does not answer a lookup within ctx. A
// miss counts as an answer.
func (e *Engine) Ready(ctx context.Context) error {
	if err := e.check(); err != nil {
		return err
	}
	if e.modelStore != nil {
		if err := e.modelStore.Ping(ctx); err != nil {
			return &Error{Code: CodeUnavailable, Message: "model store is not answering", Err: fmt.Errorf("%w: %w", ErrUnavailable, err)}
		}
	}
	c := e.Cache()
	if c == nil {
		return nil
	}
	if _, err := c.Get(ctx, readyProbeKey); err != nil && !errors.Is(err, cache.ErrNotFound) {
		return &Error{Code: CodeUnavailable, Message: "cache backend " + e.cacheBackend + " is not answering", Err: fmt.Errorf("%w: %w", ErrUnavailable, err)}
	}
	return nil
}
