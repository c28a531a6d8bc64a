package cache

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"golang.org/x/sys/cpu"

	"github.com/dredge-cli/dredge/internal/throttle"
)

// Cache stores byte values under string keys for a limited time.
//
// Every method takes a [context.Context] first and returns ctx.Err() when
// the context is already done. Every method of every implementation in this
// package is safe for concurrent use by multiple goroutines, Close included:
// a call that runs after Close returns [ErrClosed].
//
// Keys are arbitrary non-empty strings: an empty key is [ErrInvalidArgument].
// Values are copied on Set and on Get, so callers may reuse or modify the
// slices they pass in and get back.
//
// A cache is best effort: an entry may be evicted at any time (to stay within
// a size bound), and a backend that cannot be reached reports an error
// wrapping [ErrUnavailable]. Callers that must never fail because of the
// cache treat every error from Get as a miss; [ResultCache] does exactly that.
type Cache interface {
	// Get returns a copy of the value stored under key, or an error
	// wrapping ErrNotFound when there is none (never stored, expired,
	// evicted, deleted, or unreadable).
	Get(ctx context.Context, key string) ([]byte, error)

	// Set stores a copy of value under key, replacing any previous value.
	// A ttl > 0 expires the entry after ttl; ttl == 0 uses the backend's
	// default TTL; ttl < 0 (see NoExpiry) keeps it until it is evicted or
	// deleted. A Get that starts after Set returns sees the value.
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error

	// Delete removes key. Deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error

	// Clear removes every entry of this cache (and only those: a Redis
	// cache removes only keys with its prefix).
	Clear(ctx context.Context) error

	// Stats reports counters of this cache value since it was created.
	Stats(ctx context.Context) (Stats, error)

	// Close releases the cache's resources. It is idempotent: calls after
	// the first return nil.
	Close() error
}

// NoExpiry as the ttl of [Cache.Set] keeps an entry until it is evicted or
// deleted. Any negative ttl means the same.
const NoExpiry time.Duration = -1

// DefaultTTL is the TTL used when a configuration leaves it zero (the
// CACHE_TTL default of 3600 seconds).
const DefaultTTL = time.Hour

// Backend names, as in CACHE_BACKEND and [Stats.Backend].
const (
	BackendMemory = "memory"
	BackendFile   = "file"
	BackendRedis  = "redis"
	BackendNone   = "none" // the disabled cache returned by Open
)

var (
	// ErrNotFound reports a cache miss.
	ErrNotFound = errors.New("cache: not found")
	// ErrClosed reports a call on a closed cache.
	ErrClosed = errors.New("cache: closed")
	// ErrInvalidArgument reports a bad key, value or configuration.
	ErrInvalidArgument = errors.New("cache: invalid argument")
	// ErrUnavailable reports a backend that could not be reached in time.
	ErrUnavailable = errors.New("cache: backend unavailable")
)

// Stats reports a cache's counters. Its JSON form is the cache_stats object
// of the get_cache_stats operation.
type Stats struct {
	// Backend is "memory", "file", "redis" or "none".
	Backend string `json:"backend_type"`
	// Hits and Misses count Get calls that found a value or did not.
	// Gets that failed with an error other than ErrNotFound count as
	// misses and as errors.
	Hits   int64 `json:"hits"`
	Misses int64 `json:"misses"`
	// HitRate is Hits/(Hits+Misses), 0 before the first Get.
	HitRate float64 `json:"hit_rate"`
	// Entries is the number of stored entries, or -1 where the backend
	// cannot say cheaply (Redis).
	Entries int64 `json:"entries"`
	// DefaultTTLSeconds is the default TTL in seconds, -1 for no expiry.
	DefaultTTLSeconds float64 `json:"default_ttl"`
	// Errors counts failed backend operations (I/O errors, timeouts,
	// unreachable Redis, corrupt files).
	Errors int64 `json:"errors"`
}

// counters are the atomic hit, miss and error counts shared by the backends.
//
// The counters sit on cache lines of their own: sharing one with the
// fields every Get reads (a backend's pointers) made each of those reads a
// miss on the other cores, about 7% of a cache hit's time with two workers
// (pipeline's BenchmarkLoadTest/cache-repeats).
type counters struct {
	_                    cpu.CacheLinePad
	hits, misses, errors atomic.Int64
	_                    cpu.CacheLinePad
}

func (c *counters) stats(backend string, entries int64, defaultTTL time.Duration) Stats {
	s := Stats{
		Backend:           backend,
		Hits:              c.hits.Load(),
		Misses:            c.misses.Load(),
		Entries:           entries,
		DefaultTTLSeconds: ttlSeconds(defaultTTL),
		Errors:            c.errors.Load(),
	}
	s.HitRate = hitRate(s.Hits, s.Misses)
	return s
}

func hitRate(hits, misses int64) float64 {
	if hits+misses == 0 {
		return 0
	}
	return float64(hits) / float64(hits+misses)
}

func ttlSeconds(d time.Duration) float64 {
	if d < 0 {
		return -1
	}
	return d.Seconds()
}

// effectiveTTL resolves the ttl argument of Set against a default:
// > 0 is kept, 0 becomes def, < 0 becomes 0 meaning "no expiry".
func effectiveTTL(ttl, def time.Duration) time.Duration {
	if ttl == 0 {
		ttl = def
	}
	if ttl < 0 {
		return 0
	}
	return ttl
}

// defaultTTL maps a configured TTL to the one used: 0 means DefaultTTL,
// negative means no expiry.
func defaultTTL(d time.Duration) time.Duration {
	switch {
	case d == 0:
		return DefaultTTL
	case d < 0:
		return NoExpiry
	}
	return d
}

func checkKey(key string) error {
	if key == "" {
		return errEmptyKey
	}
	return nil
}

var errEmptyKey = errorf("empty key", ErrInvalidArgument)

func errorf(msg string, sentinel error) error {
	return &wrapped{msg: "cache: " + msg, err: sentinel}
}

type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }

// errLogger logs errors at most once per interval and counts suppressed ones.
type errLogger struct {
	logger     *slog.Logger
	interval   time.Duration
	every      throttle.Every
	suppressed atomic.Int64
}

func newErrLogger(l *slog.Logger, interval time.Duration) *errLogger {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	if interval <= 0 {
		interval = 10 * time.Second
	}
	return &errLogger{logger: l, interval: interval}
}

// log reports err unless another error was logged less than interval ago.
func (e *errLogger) log(msg string, err error, attrs ...any) {
	if !e.every.Due(e.interval) {
		e.suppressed.Add(1)
		return
	}
	attrs = append(attrs, slog.Any("error", err))
	if n := e.suppressed.Swap(0); n > 0 {
		attrs = append(attrs, slog.Int64("suppressed", n))
	}
	e.logger.Warn(msg, attrs...)
}

// Nop is a disabled cache: every Get misses and every Set is dropped. Open
// returns one when [Config.Enabled] is false. Its methods are safe for
// concurrent use; it never reports ErrClosed.
type Nop struct{ c counters }

var _ Cache = (*Nop)(nil)

// Get always returns ErrNotFound (or ctx.Err()).
func (n *Nop) Get(ctx context.Context, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	n.c.misses.Add(1)
	return nil, ErrNotFound
}

// Set drops the value and returns nil (or ctx.Err()).
func (n *Nop) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	return ctx.Err()
}

// Delete returns nil (or ctx.Err()).
func (n *Nop) Delete(ctx context.Context, key string) error { return ctx.Err() }

// Clear returns nil (or ctx.Err()).
func (n *Nop) Clear(ctx context.Context) error { return ctx.Err() }

// Stats reports backend "none", zero entries and the misses counted.
func (n *Nop) Stats(ctx context.Context) (Stats, error) {
	return n.c.stats(BackendNone, 0, 0), nil
}

// Close returns nil.
func (n *Nop) Close() error { return nil }

// ValueCache is an optional interface of backends that keep values in
// process memory ([Memory] implements it). GetValue returns the stored
// bytes without a copy, and the value stored beside them by SetValue (nil
// for an entry stored by Set), so that a reader in the same process needs
// neither a copy nor a decoding; SetValue keeps body and value without
// copies. Neither side may modify what it handed over or got.
type ValueCache interface {
	GetValue(ctx context.Context, key string) (body []byte, value any, err error)
	SetValue(ctx context.Context, key string, body []byte, value any, ttl time.Duration) error
}
