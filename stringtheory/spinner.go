package stringtheory

import (
	"runtime"
	"sync/atomic"
	"time"
)

// spinner runs one function at a time on a goroutine of its own that,
// between them, spins (yielding the processor to any other runnable
// goroutine) for up to spinnerPark, then blocks until the next. Handing
// work to a goroutine that the scheduler must wake cost 70–90 µs here
// (a 2-vCPU VM whose idle vCPUs halt): two 200 µs halves took 287 µs on
// two goroutines started per call, 203 µs with a spinning one.
//
// A function handed over is claimed by whichever comes first, the
// spinner or the caller's wait: when the machine is busy with other work
// and the spinner's thread does not get a core, the caller runs it itself
// rather than wait for that thread.
type spinner struct {
	calls   atomic.Int64 // functions handed over
	claimed atomic.Int64 // functions claimed, by the spinner or wait
	done    atomic.Int64 // functions finished
	fn      func()

	parked atomic.Bool // the goroutine blocks on wake
	wake   chan struct{}

	waiting  atomic.Bool // wait blocks on finished
	finished chan struct{}

	halt   atomic.Bool
	exited chan struct{} // closed when the goroutine returns
}

// spinnerPark is how long a spinner waits for work before it blocks:
// longer than the serial work between two epochs' halves. waitSpin is how
// long wait spins before it blocks.
const (
	spinnerPark = time.Millisecond
	waitSpin    = 50 * time.Microsecond
)

// spinners counts the spinners that trainings hold. Each takes a core
// while it spins, so a training gets one only while fewer than
// GOMAXPROCS − 1 run (takeSpinner); the others run their halves in turn,
// with the same results. Four SIREN trainings at once on two cores (300
// epochs each), same run: 300–364 ms when each had a spinner, 291–306 ms
// when one did (298–304 ms unsplit).
var spinners atomic.Int64

// takeSpinner returns a new spinner, counted in spinners until its stop,
// or nil when GOMAXPROCS − 1 are held already (none when GOMAXPROCS is 1).
func takeSpinner() *spinner {
	if spinners.Add(1) > int64(runtime.GOMAXPROCS(0)-1) {
		spinners.Add(-1)
		return nil
	}
	sp := &spinner{wake: make(chan struct{}, 1), finished: make(chan struct{}, 1), exited: make(chan struct{})}
	go sp.loop()
	return sp
}

func (sp *spinner) loop() {
	defer close(sp.exited)
	var seen int64
	for {
		idle := time.Now()
		for spins := 0; sp.calls.Load() == seen; spins++ {
			if sp.halt.Load() {
				return
			}
			runtime.Gosched()
			if spins%64 != 63 || time.Since(idle) < spinnerPark {
				continue
			}
			// Block: say so, then look once more, so that a call made
			// meanwhile is not missed (start wakes only a parked one).
			sp.parked.Store(true)
			if (sp.calls.Load() != seen || sp.halt.Load()) && sp.parked.CompareAndSwap(true, false) {
				continue
			}
			<-sp.wake
			idle = time.Now()
		}
		seen++
		if sp.claimed.CompareAndSwap(seen-1, seen) {
			sp.fn()
			sp.done.Store(seen)
			if sp.waiting.CompareAndSwap(true, false) {
				sp.finished <- struct{}{}
			}
		}
	}
}

// start hands fn to the spinner. The caller must wait before the next
// start.
func (sp *spinner) start(fn func()) {
	sp.fn = fn
	sp.calls.Add(1)
	if sp.parked.CompareAndSwap(true, false) {
		sp.wake <- struct{}{}
	}
}

// wait returns when the function of the last start has returned: it runs
// it itself if the spinner has not taken it yet.
func (sp *spinner) wait() {
	n := sp.calls.Load()
	if sp.claimed.CompareAndSwap(n-1, n) {
		sp.fn()
		sp.done.Store(n)
		return
	}
	for start := time.Now(); sp.done.Load() != n; {
		runtime.Gosched()
		if time.Since(start) < waitSpin {
			continue
		}
		// Block, as the spinner's loop does, until it says it finished.
		sp.waiting.Store(true)
		if sp.done.Load() == n && sp.waiting.CompareAndSwap(true, false) {
			return
		}
		<-sp.finished
		return
	}
}

// stop ends the spinner's goroutine once it is idle, and gives its
// place in spinners back.
func (sp *spinner) stop() {
	if sp.halt.Swap(true) {
		return // stopped already
	}
	spinners.Add(-1)
	if sp.parked.CompareAndSwap(true, false) {
		sp.wake <- struct{}{}
	}
}
