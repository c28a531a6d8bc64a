// Package throttle lets something happen at most once per interval among
// concurrent goroutines: logging a recurring failure, refreshing a gauge
// that costs a round trip, scanning for lapsed work.
package throttle
