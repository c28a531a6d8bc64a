package httpapi

import (
	"strconv"
	"testing"
	"time"
)

func TestLimiterTokenBucket(t *testing.T) {
	clk := newClock()
	l := newLimiter(4, 2*time.Second, clk.now) // 2 tokens per second
	for i := range 4 {
		if ok, _ := l.allow("a"); !ok {
			t.Fatalf("burst request %d refused", i)
		}
	}
	ok, retry := l.allow("a")
	if ok || retry != 1 {
		t.Fatalf("past the burst: ok=%v retry=%d, want refused, retry 1", ok, retry)
	}
	clk.advance(250 * time.Millisecond) // half a token
	if ok, retry := l.allow("a"); ok || retry != 1 {
		t.Fatalf("half a token: ok=%v retry=%d", ok, retry)
	}
	clk.advance(250 * time.Millisecond)
	if ok, _ := l.allow("a"); !ok {
		t.Fatal("one token refilled but refused")
	}
	clk.advance(time.Hour) // refills to the burst, not beyond
	n := 0
	for ok, _ := l.allow("a"); ok; ok, _ = l.allow("a") {
		n++
	}
	if n != 4 {
		t.Errorf("after an hour idle: %d requests, want the burst of 4", n)
	}
}

func TestLimiterRetryAfter(t *testing.T) {
	clk := newClock()
	l := newLimiter(10, time.Hour, clk.now) // one token per 6 minutes
	for range 10 {
		l.allow("a")
	}
	if _, retry := l.allow("a"); retry != 360 {
		t.Errorf("Retry-After %d, want 360", retry)
	}
}

func TestLimiterBoundedMemory(t *testing.T) {
	clk := newClock()
	l := newLimiter(5, time.Second, clk.now)
	l.maxBuckets = 100
	for i := range 1000 {
		l.allow(strconv.Itoa(i))
		if n := l.size(); n > l.maxBuckets {
			t.Fatalf("%d buckets held, bound %d", n, l.maxBuckets)
		}
	}
	// Idle buckets that refilled are dropped by the next sweep.
	clk.advance(2 * time.Second)
	l.allow("fresh")
	if n := l.size(); n != 1 {
		t.Errorf("after the refill period: %d buckets, want 1", n)
	}
	// A bucket still refilling is kept: dropping it would reset its budget.
	for range 5 {
		l.allow("busy")
	}
	clk.advance(1500 * time.Millisecond)
	l.allow("other")
	if ok, _ := l.allow("busy"); !ok {
		t.Error("busy bucket should have refilled 7.5 tokens → at least one")
	}
}

func TestLimiterConcurrent(t *testing.T) {
	l := newLimiter(1000, time.Minute, time.Now)
	done := make(chan int)
	for g := range 8 {
		go func() {
			n := 0
			for range 200 {
				if ok, _ := l.allow(strconv.Itoa(g % 2)); ok {
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
