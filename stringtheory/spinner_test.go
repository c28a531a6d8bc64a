package stringtheory

import (
	"testing"
	"time"
)

// TestSpinner: every function handed over runs once, in order, and has
// returned when wait does; the spinner parks when idle and wakes for the
// next call; stop ends its goroutine whether it spins or is parked.
func TestSpinner(t *testing.T) {
	for _, parkFirst := range []bool{false, true} {
		sp := newSpinner()
		var got []int
		for i := range 1000 {
			sp.start(func() { got = append(got, i) })
			sp.wait()
			if len(got) != i+1 || got[i] != i {
				t.Fatalf("after call %d: ran %v", i, got[max(0, len(got)-3):])
			}
		}
		// Idle past spinnerPark: it parks, and a call wakes it.
		deadline := time.Now().Add(5 * time.Second)
		for !sp.parked.Load() {
			if time.Now().After(deadline) {
				t.Fatal("the spinner did not park when idle")
			}
			time.Sleep(spinnerPark)
		}
		ran := false
		sp.start(func() { ran = true })
		sp.wait()
		if !ran {
			t.Fatal("a parked spinner did not run the next call")
		}
		if parkFirst {
			for !sp.parked.Load() {
				if time.Now().After(deadline) {
					t.Fatal("the spinner did not park again")
				}
				time.Sleep(spinnerPark)
			}
		}
		sp.stop()
		select {
		case <-sp.exited:
		case <-time.After(5 * time.Second):
			t.Fatalf("stop (parked: %v) did not end the goroutine", parkFirst)
		}
	}
}
