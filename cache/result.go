package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Key names one cached result. CacheKey returns the key string the backend
// stores it under, or an error (wrapping ErrInvalidArgument) for a key that
// cannot be encoded. [KeyOf] makes keys from a kind and a value.
type Key interface {
	CacheKey() (string, error)
}

// KeyOf returns the key of a result of the given kind (a name and a format
// version, such as "spectrum/v1/") computed from v: the kind followed by
// the [Fingerprint] of v, so that equal values give equal keys whatever
// their maps' order. A v that Fingerprint refuses (NaN, too deep) makes a
// key whose CacheKey fails.
func KeyOf(kind string, v any) Key { return kindKey{kind, v} }

type kindKey struct {
	kind string
	v    any
}

func (k kindKey) CacheKey() (string, error) {
	fp, err := Fingerprint(k.v)
	if err != nil {
		return "", err
	}
	return k.kind + fp, nil
}

// ResultConfig configures [NewResultCache]. The zero value stores results
// with the backend's default TTL and discards log records.
type ResultConfig struct {
	// TTL of stored results; 0 means the backend's default.
	TTL time.Duration
	// Logger receives backend and encoding errors, at most one record per
	// LogInterval. nil discards them.
	Logger *slog.Logger
	// LogInterval is the least time between two logged errors. 0 means 10s.
	LogInterval time.Duration
}

// ResultCache caches computed results under typed keys on a [Cache], and
// never fails its caller: a backend error is a miss on Get and is dropped
// on Set, counted in Stats.Errors and logged (rate limited).
//
// All methods are safe for concurrent use. A nil *ResultCache is a disabled
// cache: Get misses, Set does nothing. A ResultCache does not own its
// backend: closing the backend is the caller's job.
type ResultCache struct {
	backend Cache
	ttl     time.Duration
	log     *errLogger

	c counters
}

// NewResultCache returns a result cache on backend.
func NewResultCache(backend Cache, cfg ResultConfig) *ResultCache {
	return &ResultCache{backend: backend, ttl: cfg.TTL, log: newErrLogger(cfg.Logger, cfg.LogInterval)}
}

// Backend returns the cache the results are stored in.
func (r *ResultCache) Backend() Cache {
	if r == nil {
		return nil
	}
	return r.backend
}

func (r *ResultCache) fail(msg string, err error) {
	r.c.errors.Add(1)
	r.log.log(msg, err)
}

// Get returns the stored result for k and true, or nil and false on a
// miss, a backend error, or a key that cannot be encoded. The result may be
// shared with the cache (a [ValueCache] backend such as [Memory] returns
// it without a copy): the caller must not modify it.
func (r *ResultCache) Get(ctx context.Context, k Key) ([]byte, bool) {
	v, _, ok := r.GetValue(ctx, k)
	return v, ok
}

// GetValue is Get that also returns the value stored beside the result by
// SetValue, when the backend keeps values ([ValueCache]); nil otherwise.
func (r *ResultCache) GetValue(ctx context.Context, k Key) ([]byte, any, bool) {
	if r == nil || r.backend == nil {
		return nil, nil, false
	}
	key, err := k.CacheKey()
	if err != nil {
		r.c.misses.Add(1)
		r.fail("cache: result key", err)
		return nil, nil, false
	}
	var v []byte
	var value any
	if vc, ok := r.backend.(ValueCache); ok {
		v, value, err = vc.GetValue(ctx, key)
	} else {
		v, err = r.backend.Get(ctx, key)
	}
	if err != nil {
		r.c.misses.Add(1)
		return nil, nil, false
	}
	r.c.hits.Add(1)
	return v, value, true
}

// Set stores v as the result for k. Errors are counted and logged, not
// returned. Set may keep v (a [Memory] backend stores it without a copy):
// the caller must not modify v afterwards.
func (r *ResultCache) Set(ctx context.Context, k Key, v []byte) {
	r.SetValue(ctx, k, v, nil)
}

// SetValue is Set that also keeps value beside v where the backend keeps
// values ([ValueCache]), for GetValue to return; other backends store v
// only. The caller must not modify v or value afterwards.
func (r *ResultCache) SetValue(ctx context.Context, k Key, v []byte, value any) {
	if r == nil || r.backend == nil {
		return
	}
	key, err := k.CacheKey()
	if err != nil {
		r.fail("cache: result key", err)
		return
	}
	if vc, ok := r.backend.(ValueCache); ok {
		_ = vc.SetValue(ctx, key, v, value, r.ttl) // fails only when closed or cancelled
		return
	}
	_ = r.backend.Set(ctx, key, v, r.ttl) // the backend counts and logs its errors
}

// Delete removes the result for k, if any. Errors are dropped.
func (r *ResultCache) Delete(ctx context.Context, k Key) {
	if r == nil || r.backend == nil {
		return
	}
	if key, err := k.CacheKey(); err == nil {
		_ = r.backend.Delete(ctx, key)
	}
}

// Counts returns the hits and misses of Get so far: the counts that Stats
// reports, without asking the backend.
func (r *ResultCache) Counts() (hits, misses int64) {
	if r == nil {
		return 0, 0
	}
	return r.c.hits.Load(), r.c.misses.Load()
}

// Clear clears the backend and returns its error: clearing is an explicit
// administrative act whose failure the caller should see.
func (r *ResultCache) Clear(ctx context.Context) error {
	if r == nil || r.backend == nil {
		return nil
	}
	return r.backend.Clear(ctx)
}

// Stats reports the result cache's statistics for get_cache_stats: hits
// and misses of this ResultCache, entries and the default TTL from the
// backend (entries -1 when it cannot say or fails), and errors of both.
// A nil ResultCache reports backend "none".
func (r *ResultCache) Stats(ctx context.Context) Stats {
	if r == nil || r.backend == nil {
		return Stats{Backend: BackendNone}
	}
	bs, err := r.backend.Stats(ctx)
	if err != nil {
		if bs.Backend == "" {
			bs.Backend = BackendName(r.backend)
		}
		bs.Entries = -1
	}
	s := Stats{
		Backend:           bs.Backend,
		Hits:              r.c.hits.Load(),
		Misses:            r.c.misses.Load(),
		Entries:           bs.Entries,
		DefaultTTLSeconds: bs.DefaultTTLSeconds,
		Errors:            bs.Errors + r.c.errors.Load(),
	}
	if r.ttl != 0 {
		s.DefaultTTLSeconds = ttlSeconds(r.ttl)
	}
	s.HitRate = hitRate(s.Hits, s.Misses)
	return s
}

// BackendName returns the backend type of c as [Stats.Backend] names it
// ("memory", "file", "redis", "none"), without asking the backend.
func BackendName(c Cache) string {
	switch c.(type) {
	case *Memory:
		return BackendMemory
	case *File:
		return BackendFile
	case *Redis:
		return BackendRedis
	case *Nop:
		return BackendNone
	}
	return fmt.Sprintf("%T", c)
}

// GetJSON returns the result for k decoded from JSON into a T. A value that
// does not decode is a miss, counted as an error, and is deleted.
func GetJSON[T any](ctx context.Context, r *ResultCache, k Key) (T, bool) {
	var v T
	b, ok := r.Get(ctx, k)
	if !ok {
		return v, false
	}
	if err := json.Unmarshal(b, &v); err != nil {
		r.c.hits.Add(-1)
		r.c.misses.Add(1)
		r.fail("cache: result decode", err)
		r.Delete(ctx, k)
		var zero T
		return zero, false
	}
	return v, true
}

// SetJSON stores v encoded as JSON as the result for k. Encoding errors are
// counted and logged, not returned.
func SetJSON[T any](ctx context.Context, r *ResultCache, k Key, v T) {
	if r == nil || r.backend == nil {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		r.fail("cache: result encode", err)
		return
	}
	r.Set(ctx, k, b)
}

// errNoCompute is returned by GetOrCompute when compute is nil.
var errNoCompute = errors.New("cache: nil compute function")

// GetOrCompute returns the cached result for k, or calls compute, stores
// its result and returns it. cached reports whether the result came from
// the cache. Only compute's error is returned: the cache never fails the
// call. Concurrent callers that miss each compute (no single flight).
func GetOrCompute[T any](ctx context.Context, r *ResultCache, k Key, compute func(context.Context) (T, error)) (v T, cached bool, err error) {
	if compute == nil {
		return v, false, errNoCompute
	}
	if v, ok := GetJSON[T](ctx, r, k); ok {
		return v, true, nil
	}
	if v, err = compute(ctx); err != nil {
		return v, false, err
	}
	SetJSON(ctx, r, k, v)
	return v, false, nil
}
