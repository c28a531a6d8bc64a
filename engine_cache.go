package dredge

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"sort"
	"sync/atomic"
	"time"

	"github.com/dredge-cli/dredge/cache"
)

// WithCache makes the Engine cache results in c (the Engine does not close
// it). WithCache(nil) disables caching. By default an Engine caches in a
// memory cache of its own.
func WithCache(c cache.Cache) Option {
	return optionFunc(func(cfg *config) error {
		cfg.cache, cfg.cacheCfg, cfg.cacheSet = c, nil, true
		return nil
	})
}

// WithCacheConfig makes the Engine open (and own) a cache from cfg; a
// zero cfg (Enabled false) disables caching.
func WithCacheConfig(c cache.Config) Option {
	return optionFunc(func(cfg *config) error {
		cfg.cache, cfg.cacheCfg, cfg.cacheSet = nil, &c, true
		return nil
	})
}

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
	// A memory backend (the SharedGetter) fails only when closed, which
	// the Engine checks first: left unwrapped, the result cache can hand
	// it results without copies.
	if _, shared := backend.(cache.SharedGetter); !shared && e.mon.MetricsEnabled() {
		backend = &countedCache{Cache: backend, onErr: func() { e.mon.CacheError(e.cacheBackend) }}
	}
	e.results = cache.NewResultCache(backend, cache.ResultConfig{Logger: e.logger})
	e.rawStored = newRawFilter()
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

// cacheable is implemented by the params of operations whose results the
// Engine caches. cacheKey returns the canonical key of the request, after
// defaults are applied and the input validated.
type cacheable interface {
	cacheKey(e *Engine) (cache.Key, error)
}

// rawCacheable marks operations whose exact request bytes are also a cache
// key, so that a repeated request is answered without decoding it.
type rawCacheable interface {
	rawCacheable()
}

// rawFilter remembers, approximately, which exact-request keys its Engine
// has stored. Those entries are made only when a request repeats one already
// answered, so most requests have none, and looking one up would cost a
// SHA-256 and a cache lookup (a Redis round trip, with that backend) on
// every miss. The filter answers from a hash of the request's bytes into a
// bitmap instead. It can be wrong both ways without changing any answer:
// "stored" for a key that is not (the lookup then misses, as it did without
// the filter), and "not stored" after it has been reset or for an entry
// another process stored (the request is then decoded and answered from its
// canonical key, "cached": true all the same, and the exact-request entry
// is stored again).
type rawFilter struct {
	seed maphash.Seed
	set  atomic.Int64 // bits set since the last reset
	bits []atomic.Uint64
}

// rawFilterBits is the filter's size: 128 KiB. It is reset when a quarter
// of its bits are set, so that it says "stored" wrongly at most a quarter
// of the time.
const rawFilterBits = 1 << 20

func newRawFilter() *rawFilter {
	return &rawFilter{seed: maphash.MakeSeed(), bits: make([]atomic.Uint64, rawFilterBits/64)}
}

// slot returns the bit of an exact request: its operation and params.
func (f *rawFilter) slot(op string, params []byte) uint64 {
	var h maphash.Hash
	h.SetSeed(f.seed)
	h.WriteString(op)
	h.WriteByte(0)
	h.Write(params)
	return h.Sum64() % rawFilterBits
}

// has reports whether the entry of slot may have been stored.
func (f *rawFilter) has(slot uint64) bool {
	return f.bits[slot/64].Load()&(1<<(slot%64)) != 0
}

// add records that the entry of slot has been stored.
func (f *rawFilter) add(slot uint64) {
	mask := uint64(1) << (slot % 64)
	if f.bits[slot/64].Or(mask)&mask != 0 {
		return // set already
	}
	if f.set.Add(1) > rawFilterBits/4 {
		f.set.Store(0)
		for i := range f.bits {
			f.bits[i].Store(0)
		}
	}
}

// resolvedKey is a key whose string is computed once for the lookup and
// the store of one request.
type resolvedKey string

func (k resolvedKey) CacheKey() (string, error) { return string(k), nil }

// resolve computes k's string once; a key that fails is kept as it is, so
// that the result cache reports its error.
func resolve(k cache.Key) cache.Key {
	s, err := k.CacheKey()
	if err != nil {
		return k
	}
	return resolvedKey(s)
}

// rawKey names a response by the operation and the exact bytes of its params.
type rawKey struct {
	op     string
	params []byte
}

func (k rawKey) CacheKey() (string, error) {
	// One allocation: the key string. The hash input is assembled on the
	// stack for the small requests this key is used for.
	var in [maxRawKeyBytes + 64]byte
	b := append(in[:0], k.op...)
	b = append(b, 0)
	b = append(b, k.params...)
	sum := sha256.Sum256(b)
	var out [128]byte
	o := append(out[:0], "raw/v1/"...)
	o = append(o, k.op...)
	o = append(o, '/')
	o = hex.AppendEncode(o, sum[:])
	return string(o), nil
}

// inferenceKey names an inference response by the model id, its parameter
// fingerprint and the inputs.
type inferenceKey struct {
	id, version string
	inputs      Inputs
}

func (k inferenceKey) CacheKey() (string, error) {
	h := sha256.New()
	var b [8]byte
	h.Write([]byte(k.id))
	h.Write([]byte{0})
	h.Write([]byte(k.version))
	names := make([]string, 0, len(k.inputs))
	for n := range k.inputs {
		names = append(names, n)
	}
	sort.Strings(names)
	buf := make([]byte, 0, 4096)
	for _, n := range names {
		v := k.inputs[n]
		buf = append(buf[:0], 0)
		buf = append(buf, n...)
		buf = binary.BigEndian.AppendUint64(buf, uint64(v.Width))
		buf = binary.BigEndian.AppendUint64(buf, uint64(len(v.Data)))
		h.Write(buf)
		buf = buf[:0]
		for _, f := range v.Data {
			binary.BigEndian.PutUint64(b[:], math.Float64bits(f))
			buf = append(buf, b[:]...)
			if len(buf) >= 4096 {
				h.Write(buf)
				buf = buf[:0]
			}
		}
		h.Write(buf)
	}
	return "inference/v1/" + hex.EncodeToString(h.Sum(nil)), nil
}

func (p *SpectrumParams) cacheKey(*Engine) (cache.Key, error) {
	maxModes, dims, err := p.resolve()
	if err != nil {
		return nil, err
	}
	return cache.SpectrumKey{MaxModes: maxModes, Dimensions: dims}, nil
}

func (p *SpectrumParams) rawCacheable() {}

func (p *UnifiedParams) cacheKey(*Engine) (cache.Key, error) {
	insight, coords, modes, err := p.resolve()
	if err != nil {
		return nil, err
	}
	if len(coords) > 4096 || len(modes) > 4096 {
		return nil, nil // not worth caching; computed directly
	}
	return cache.UnifiedKey{Insight: insight, Coords: coords, Modes: modes}, nil
}

func (p *UnifiedParams) rawCacheable() {}

func (p *InferenceParams) cacheKey(e *Engine) (cache.Key, error) {
	ent, err := e.models.get(p.ModelID)
	if err != nil {
		return nil, err
	}
	ent.mu.RLock()
	version := ent.fingerprint
	ent.mu.RUnlock()
	return inferenceKey{id: ent.id, version: version, inputs: p.Inputs}, nil
}

// markCached returns a stored answer marked as served from the cache:
// every cacheable result ends with "cached":false} when it is computed, and
// the answers stored under exact-request keys are marked already.
func markCached(body []byte) []byte {
	const f, t = `"cached":false}`, `"cached":true}`
	if !bytes.HasSuffix(body, []byte(f)) {
		return body
	}
	// make-and-copy allocates without zeroing first.
	out := make([]byte, len(body)-len(f)+len(t))
	copy(out, body)
	copy(out[len(out)-len(t):], t)
	return out
}

// paramsFingerprint identifies a model's parameter values.
func paramsFingerprint(v []float64) string {
	h := sha256.New()
	buf := make([]byte, 0, 8*min(len(v), 512))
	for i, f := range v {
		buf = binary.BigEndian.AppendUint64(buf, math.Float64bits(f))
		if len(buf) == cap(buf) || i == len(v)-1 {
			h.Write(buf)
			buf = buf[:0]
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// cacheGet returns the cached response under k and counts the request as
// a hit, and as a miss when countMiss is set: a miss on an exact-request
// key goes on to the canonical key, which counts it. Backend errors are
// misses (the backend counts and logs them).
func (e *Engine) cacheGet(ctx context.Context, k cache.Key, countMiss bool) ([]byte, bool) {
	body, ok := e.results.Get(ctx, k)
	switch {
	case ok:
		e.hits.Add(1)
		e.cacheHit()
	case countMiss:
		e.misses.Add(1)
		e.cacheMiss()
	}
	return body, ok
}

// cacheStats reports the result cache's statistics with hits and misses
// counted per request.
func (e *Engine) cacheStats(ctx context.Context) cache.Stats {
	s := e.results.Stats(ctx)
	if e.results == nil {
		return s
	}
	s.Hits, s.Misses = e.hits.Load(), e.misses.Load()
	s.HitRate = 0
	if t := s.Hits + s.Misses; t > 0 {
		s.HitRate = float64(s.Hits) / float64(t)
	}
	return s
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
// with answer: it fails when the Engine is closed or the cache backend (a
// Redis server, say) does not answer a lookup within ctx. A miss counts as
// an answer.
func (e *Engine) Ready(ctx context.Context) error {
	if err := e.check(); err != nil {
		return err
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
