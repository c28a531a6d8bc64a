package throttle

import (
	"sync/atomic"
	"time"
)

// Every is due once per interval; the zero value is due at once. It is
// safe for concurrent use: of goroutines asking together, one is told.
type Every struct {
	last atomic.Int64 // unix nanoseconds of the last time due, 0 never
}

// Due reports whether d has passed since it last reported true (or it
// never did), and if so starts a new interval.
func (e *Every) Due(d time.Duration) bool {
	now := time.Now().UnixNano()
	last := e.last.Load()
	return (last == 0 || now-last >= int64(d)) && e.last.CompareAndSwap(last, now)
}
