package httpapi

import (
	"math"
	"sync"
	"time"
)

// defaultMaxBuckets bounds the rate limiter's memory: past it, buckets are
// evicted (idle ones first).
const defaultMaxBuckets = 100_000

// limiter is a token-bucket rate limiter keyed by client: each bucket holds
// up to burst tokens and refills at rate tokens per second. It is safe for
// concurrent use.
//
// A bucket that has been idle long enough to refill completely behaves
// exactly like a new one, so such buckets are dropped (a sweep at most once
// per refill period); when the map still exceeds maxBuckets, arbitrary
// buckets are dropped, which only ever lets a client through earlier.
type limiter struct {
	burst      float64
	rate       float64       // tokens per second
	refill     time.Duration // time for an empty bucket to become full
	now        func() time.Time
	maxBuckets int

	mu        sync.Mutex
	buckets   map[string]*bucket
	nextSweep time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(requests int, window time.Duration, now func() time.Time) *limiter {
	return &limiter{
		burst:      float64(requests),
		rate:       float64(requests) / window.Seconds(),
		refill:     window,
		now:        now,
		maxBuckets: defaultMaxBuckets,
		buckets:    make(map[string]*bucket),
	}
}

// allow takes a token from key's bucket. When the bucket is empty it
// returns false and the whole seconds until a token is available (≥ 1).
func (l *limiter) allow(key string) (ok bool, retryAfter int) {
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
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	} else if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = math.Min(l.burst, b.tokens+dt*l.rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := math.Ceil((1 - b.tokens) / l.rate)
	return false, int(math.Max(1, math.Min(wait, math.MaxInt32)))
}

// sweep drops the buckets that are full by now. l.mu is held.
func (l *limiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.buckets, k)
		}
	}
	l.nextSweep = now.Add(l.refill)
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
