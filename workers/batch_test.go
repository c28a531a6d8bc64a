package workers

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestBatcher: every call runs exactly once, in batches of at most max,
// and calls that arrive while a batch runs share the next one.
func TestBatcher(t *testing.T) {
	var runs, calls atomic.Int64
	var mu sync.Mutex
	sizes := map[int]int{}
	b := batcher[*int]{max: 8, run: func(batch []*int) {
		runs.Add(1)
		mu.Lock()
		sizes[len(batch)]++
		mu.Unlock()
		time.Sleep(time.Millisecond) // a round trip
		for _, v := range batch {
			*v++
			calls.Add(1)
		}
	}}
	const n = 400
	vals := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() { defer wg.Done(); b.do(&vals[i]) }()
	}
	wg.Wait()
	for i, v := range vals {
		if v != 1 {
			t.Fatalf("call %d ran %d times", i, v)
		}
	}
	if calls.Load() != n || runs.Load() >= n/2 {
		t.Errorf("%d calls in %d batches; want %d calls in far fewer batches", calls.Load(), runs.Load(), n)
	}
	for size := range sizes {
		if size < 1 || size > 8 {
			t.Errorf("a batch of %d (max 8): %v", size, sizes)
		}
	}
	if b.busy || len(b.waiting) != 0 {
		t.Errorf("idle batcher busy=%v waiting=%d", b.busy, len(b.waiting))
	}
	// A lone call runs at once, in a batch of its own.
	var v int
	b.do(&v)
	if v != 1 {
		t.Error("lone call did not run")
	}
}

// TestBatcherPanic: a run that panics fails the calls of its batch with
// an error (the leader's call panics on), and the calls waiting for the
// next batch still run.
func TestBatcherPanic(t *testing.T) {
	release := make(chan struct{})
	var first atomic.Bool
	b := batcher[*int]{max: 4, run: func(batch []*int) {
		if first.CompareAndSwap(false, true) {
			<-release // let others queue behind this batch
			panic("a bug in run")
		}
		for _, v := range batch {
			*v++
		}
	}}
	leaderDone := make(chan any)
	var lead int
	go func() {
		defer func() { leaderDone <- recover() }()
		b.do(&lead)
	}()
	for !first.Load() {
		time.Sleep(time.Millisecond)
	}
	const n = 6
	vals := make([]int, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = b.do(&vals[i]) })
	}
	for {
		b.mu.Lock()
		w := len(b.waiting)
		b.mu.Unlock()
		if w == n {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	if r := <-leaderDone; r == nil {
		t.Error("the leader's call did not panic")
	}
	wg.Wait()
	for i := range n {
		if errs[i] == nil && vals[i] != 1 {
			t.Errorf("call %d: no error and ran %d times", i, vals[i])
		}
		if errs[i] != nil && vals[i] != 0 {
			t.Errorf("call %d failed but ran", i)
		}
	}
	if b.busy {
		t.Error("batcher still busy")
	}
}
