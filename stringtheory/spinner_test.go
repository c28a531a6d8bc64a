package stringtheory

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/dredge-cli/dredge/accel"
)

// TestSpinner: every function handed over runs once, in order, and has
// returned when wait does; the spinner parks when idle and wakes for the
// next call; stop ends its goroutine whether it spins or is parked.
func TestSpinner(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	for _, parkFirst := range []bool{false, true} {
		sp := takeSpinner()
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

// TestTakeSpinner: trainings hold at most GOMAXPROCS − 1 spinners, and a
// training gives its spinner back when it ends.
func TestTakeSpinner(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3))
	if n := spinners.Load(); n != 0 {
		t.Fatalf("%d spinners held before the test", n)
	}
	a, b := takeSpinner(), takeSpinner()
	if a == nil || b == nil {
		t.Fatal("GOMAXPROCS 3: no spinner for the first two")
	}
	if c := takeSpinner(); c != nil {
		t.Fatal("GOMAXPROCS 3: a third spinner")
	}
	a.stop()
	c := takeSpinner()
	if c == nil {
		t.Fatal("no spinner after one was given back")
	}
	b.stop()
	c.stop()
	runtime.GOMAXPROCS(1)
	if d := takeSpinner(); d != nil {
		t.Fatal("GOMAXPROCS 1: a spinner")
	}
	runtime.GOMAXPROCS(2)
	m, err := New(TypeSIREN, Config{})
	if err != nil {
		t.Fatal(err)
	}
	data, err := DatasetFor(m)
	if err != nil {
		t.Fatal(err)
	}
	if !m.(*Network).splits(data.N) {
		t.Fatal("SIREN on its data set does not split: the test tests nothing")
	}
	if _, err := Train(context.Background(), accel.NewCPU(accel.CPUConfig{}), m, data, TrainConfig{Epochs: 2}); err != nil {
		t.Fatal(err)
	}
	if n := spinners.Load(); n != 0 {
		t.Fatalf("%d spinners held after the training", n)
	}
}
