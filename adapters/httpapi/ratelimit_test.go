package httpapi

import (
	"strconv"
	"testing"
	"time"
)

func TestLimiterTokenBucket(t *testing.T) {
	clk := newClock()
	l := newLimiter(2*time.Second, clk.now) // 2 tokens per second
	for i := range 4 {
		if ok, _ := l.allow("a", 4); !ok {
			t.Fatalf("burst request %d refused", i)
		}
	}
	ok, retry := l.allow("a", 4)
	if ok || retry != 1 {
		t.Fatalf("past the burst: ok=%v retry=%d, want refused, retry 1", ok, retry)
	}
	clk.advance(250 * time.Millisecond) // half a token
	if ok, retry := l.allow("a", 4); ok || retry != 1 {
		t.Fatalf("half a token: ok=%v retry=%d", ok, retry)
	}
	clk.advance(250 * time.Millisecond)
	if ok, _ := l.allow("a", 4); !ok {
		t.Fatal("one token refilled but refused")
	}
	clk.advance(time.Hour) // refills to the burst, not beyond
	n := 0
	for ok, _ := l.allow("a", 4); ok; ok, _ = l.allow("a", 4) {
		n++
	}
	if n != 4 {
		t.Errorf("after an hour idle: %d requests, want the burst of 4", n)
	}
}

func TestLimiterRetryAfter(t *testing.T) {
	clk := newClock()
	l := newLimiter(time.Hour, clk.now) // one token per 6 minutes
	for range 10 {
		l.allow("a", 10)
	}
	if _, retry := l.allow("a", 10); retry != 360 {
		t.Errorf("Retry-After %d, want 360", retry)
	}
}

func TestLimiterBoundedMemory(t *testing.T) {
	clk := newClock()
	l := newLimiter(time.Second, clk.now)
	l.maxBuckets = 100
	for i := range 1000 {
		l.allow(strconv.Itoa(i), 5)
		if n := l.size(); n > l.maxBuckets {
			t.Fatalf("%d buckets held, bound %d", n, l.maxBuckets)
		}
	}
	// Idle buckets that refilled are dropped by the next sweep.
	clk.advance(2 * time.Second)
	l.allow("fresh", 5)
	if n := l.size(); n != 1 {
		t.Errorf("after the refill period: %d buckets, want 1", n)
	}
	// A bucket still refilling is kept: dropping it would reset its budget.
	for range 5 {
		l.allow("busy", 5)
	}
	clk.advance(1500 * time.Millisecond)
	l.allow("other", 5)
	if ok, _ := l.allow("busy", 5); !ok {
		t.Error("busy bucket should have refilled 7.5 tokens → at least one")
	}
}

func TestLimiterConcurrent(t *testing.T) {
	l := newLimiter(time.Minute, time.Now)
	done := make(chan int)
	for g := range 8 {
		go func() {
			n := 0
			for range 200 {
				if ok, _ := l.allow(strconv.Itoa(g%2), 1000); ok {
					n++
				}
			}
			done <- n
		}()
	}
	total := 0
	for range 8 {
		total += <-done
	}
	if total != 1600 { // two keys, 800 requests each, within the burst
		t.Errorf("%d allowed, want 1600", total)
	}
}

// TestLimiterLimitsPerBucket: each bucket has the limit it is used with.
func TestLimiterLimitsPerBucket(t *testing.T) {
	l := newLimiter(time.Minute, newClock().now)
	count := func(key string, limit int) int {
		n := 0
		for ok, _ := l.allow(key, limit); ok; ok, _ = l.allow(key, limit) {
			n++
		}
		return n
	}
	if a, b := count("a", 3), count("b", 7); a != 3 || b != 7 {
		t.Errorf("allowed %d and %d, want 3 and 7", a, b)
	}
}

// TestLimiterLimitChange: a changed limit applies to the next request,
// with the requests already counted kept.
func TestLimiterLimitChange(t *testing.T) {
	tests := []struct {
		name            string
		used, from, to  int
		wantAfterChange int // requests allowed under the new limit
	}{
		{"raised after exhaustion", 5, 5, 8, 3},
		{"raised part way", 2, 5, 8, 6},
		{"lowered below the use", 4, 10, 3, 0},
		{"lowered above the use", 2, 10, 5, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLimiter(time.Hour, newClock().now) // no refill to speak of
			for i := range tt.used {
				if ok, _ := l.allow("t", tt.from); !ok {
					t.Fatalf("request %d of %d refused", i+1, tt.from)
				}
			}
			n := 0
			for ok, _ := l.allow("t", tt.to); ok; ok, _ = l.allow("t", tt.to) {
				n++
			}
			if n != tt.wantAfterChange {
				t.Errorf("%d allowed after the change, want %d", n, tt.wantAfterChange)
			}
			// Until the use is below the new limit, one token per
			// 3600/to seconds.
			over := max(tt.used-tt.to, 0)
			if _, retry := l.allow("t", tt.to); retry != (over+1)*3600/tt.to {
				t.Errorf("Retry-After %d, want %d", retry, (over+1)*3600/tt.to)
			}
		})
	}
}
