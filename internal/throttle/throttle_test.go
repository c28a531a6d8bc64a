package throttle

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestEvery(t *testing.T) {
	var e Every
	if !e.Due(time.Hour) {
		t.Fatal("the zero Every is not due at once")
	}
	if e.Due(time.Hour) {
		t.Fatal("due again within the interval")
	}
	if !e.Due(0) {
		t.Fatal("not due after the interval")
	}
	// Of goroutines asking together, one is told.
	var f Every
	var told atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if f.Due(time.Hour) {
				told.Add(1)
			}
		})
	}
	wg.Wait()
	if told.Load() != 1 {
		t.Errorf("%d goroutines told, want 1", told.Load())
	}
}
