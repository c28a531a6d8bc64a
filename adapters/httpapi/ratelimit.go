package httpapi

import (
	"math"
	"sync"
	"time"
)

// defaultMaxBuckets bounds the rate limiter's memory: past it, buckets are
// evicted (idle ones first).
const defaultMaxBuckets = 100_000

// limiter is a token-bucket rate limiter keyed by client (a tenant or an
// address): each bucket holds up to its limit of tokens, given with each
// request, and refills completely over the window. It is safe for
// concurrent use.
//
// A bucket that has been idle long enough to refill completely behaves
// exactly like a new one, so such buckets are dropped (a sweep at most once
// per window); when the map still exceeds maxBuckets, arbitrary buckets are
// dropped, which only ever lets a client through earlier.
type limiter struct {
	window     time.Duration // time for an empty bucket to become full
	now        func() time.Time
	maxBuckets int

	mu        sync.Mutex
	buckets   map[string]*bucket
	nextSweep time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
	burst  float64 // the limit the bucket was last used with
}

func newLimiter(window time.Duration, now func() time.Time) *limiter {
	return &limiter{
		window:     window,
		now:        now,
		maxBuckets: defaultMaxBuckets,
		buckets:    make(map[string]*bucket),
	}
}

// rate is the refill rate, in tokens per second, of a bucket of burst
// tokens.
func (l *limiter) rate(burst float64) float64 { return burst / l.window.Seconds() }

// allow takes a token from key's bucket, whose limit is requests (≥ 1)
// tokens per window. When the bucket is empty it returns false and the
// whole seconds until a token is available (≥ 1).
//
// A limit that differs from the bucket's last one (a quota changed by a
// reload of the keys file) applies at once, with the requests already
// counted kept: the tokens change by the difference, so a client that has
// used 40 of 50 has 60 left when the limit becomes 100, and when it
// becomes 30 it is 10 over, and waits for 11 tokens to refill. (Clamping
// at zero would forget those 10, and a later raise would give them back.)
func (l *limiter) allow(key string, requests int) (ok bool, retryAfter int) {
	burst := float64(requests)
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.After(l.nextSweep) {
		l.sweep(now)
	}
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= l.maxBuckets {
			l.sweep(now)
			l.evict(len(l.buckets) - l.maxBuckets + 1)
		}
		b = &bucket{tokens: burst, last: now, burst: burst}
		l.buckets[key] = b
	} else {
		if dt := now.Sub(b.last).Seconds(); dt > 0 {
			b.tokens = math.Min(b.burst, b.tokens+dt*l.rate(b.burst))
			b.last = now
		}
		if b.burst != burst {
			b.tokens = math.Min(burst, b.tokens+burst-b.burst)
			b.burst = burst
		}
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := math.Ceil((1 - b.tokens) / l.rate(burst))
	return false, int(math.Max(1, math.Min(wait, math.MaxInt32)))
}

// sweep drops the buckets that are full by now. l.mu is held.
func (l *limiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate(b.burst) >= b.burst {
			delete(l.buckets, k)
		}
	}
	l.nextSweep = now.Add(l.window)
}

// evict drops n arbitrary buckets. l.mu is held.
func (l *limiter) evict(n int) {
	for k := range l.buckets {
		if n <= 0 {
			return
		}
		delete(l.buckets, k)
		n--
	}
}

// size returns the number of buckets held.
func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
