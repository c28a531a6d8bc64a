package dredge

import (
	"context"
	"fmt"
	"time"
)

// Progress is how far a long-running operation has come: Done of Total
// units of work (benchmark: epochs), with a short message and, for a
// training, the loss of the last epoch done.
type Progress struct {
	Done    int64    `json:"done"`
	Total   int64    `json:"total"`
	Message string   `json:"message,omitempty"`
	Loss    *float64 `json:"loss,omitempty"`
}

type progressKey struct{}

// WithProgress returns a context whose long-running operations
// ([Operation.LongRunning]; benchmark reports its epochs) report their
// progress to fn. Reports come as units of work end (benchmark: epochs),
// throttled: a unit is reported once 1% more of the work is done or 100 ms
// have passed since the last report, whichever comes first, and the last
// unit always is. fn runs on the operation's goroutine and must return quickly (hand
// the progress to another goroutine to send it anywhere slow). Without a
// listener the operations report nothing and pay nothing.
func WithProgress(ctx context.Context, fn func(p Progress)) context.Context {
	if fn == nil {
		return ctx
	}
	return context.WithValue(ctx, progressKey{}, fn)
}

// progressReportInterval is the time after which the next unit of work
// done is reported even short of 1% (see WithProgress): a report comes
// only when a unit ends (benchmark: an epoch), so a slow unit can keep a
// listener waiting longer.
const progressReportInterval = 100 * time.Millisecond

// progressReporter throttles the reports of one run of total units of work
// to a listener.
type progressReporter struct {
	fn       func(Progress)
	total    int64
	step     int64 // 1% of total, at least 1
	next     int64 // the next report is due at this many units…
	deadline time.Time
	what     string
	now      func() time.Time
}

// newProgress returns the reporter of a run of total units to ctx's
// listener, or nil when nobody listens (reporting to nil does nothing).
func newProgress(ctx context.Context, total int64, what string) *progressReporter {
	fn, _ := ctx.Value(progressKey{}).(func(Progress))
	if fn == nil || total <= 0 {
		return nil
	}
	r := &progressReporter{fn: fn, total: total, step: max(total/100, 1), what: what, now: time.Now}
	r.next = r.step
	r.deadline = r.now().Add(progressReportInterval)
	return r
}

// report notes that done units are done, with the loss of the last one,
// and reports it when due. It is safe on a nil reporter.
func (r *progressReporter) report(done int64, loss float64) {
	if r == nil {
		return
	}
	if done < r.next && done < r.total {
		if t := r.now(); t.Before(r.deadline) {
			return
		}
	}
	r.next = done + r.step
	r.deadline = r.now().Add(progressReportInterval)
	r.fn(Progress{Done: done, Total: r.total, Message: fmt.Sprintf("%s: %d/%d, loss %.6g", r.what, done, r.total, loss), Loss: &loss})
}
