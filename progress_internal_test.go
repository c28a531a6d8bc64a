package dredge

import (
	"context"
	"testing"
	"time"
)

// TestProgressThrottle: a report per 1% of the work, or per 100 ms of a
// slow run, and always the last one; nothing without a listener.
func TestProgressThrottle(t *testing.T) {
	if r := newProgress(context.Background(), 1000, "x"); r != nil {
		t.Fatalf("a reporter without a listener: %+v", r)
	}
	var got []Progress
	ctx := WithProgress(context.Background(), func(p Progress) { got = append(got, p) })
	clock := time.Unix(0, 0)
	r := newProgress(ctx, 1000, "training x")
	r.now = func() time.Time { return clock }
	r.deadline = clock.Add(progressReportInterval)
	for done := int64(1); done <= 1000; done++ {
		r.report(done, 0.5)
	}
	if len(got) != 100 {
		t.Fatalf("%d reports of 1000 fast units, want 100 (one per 1%%)", len(got))
	}
	for i, p := range got {
		if want := int64(i+1) * 10; p.Done != want || p.Total != 1000 {
			t.Fatalf("report %d: %+v, want done %d of 1000", i, p, want)
		}
	}
	if got[99].Message != "training x: 1000/1000, loss 0.5" {
		t.Errorf("message %q", got[99].Message)
	}
	if l := got[99].Loss; l == nil || *l != 0.5 {
		t.Errorf("loss %v, want 0.5", l)
	}

	// A slow run: a report whenever 100 ms have passed, though less than
	// 1% of the work is done.
	got = nil
	r = newProgress(ctx, 100_000, "y")
	r.now = func() time.Time { return clock }
	r.deadline = clock.Add(progressReportInterval)
	for done := int64(1); done <= 50; done++ {
		clock = clock.Add(30 * time.Millisecond)
		r.report(done, 1)
	}
	if len(got) < 11 || len(got) > 16 { // every 4th unit: 120 ms
		t.Errorf("%d reports of 50 units at 30 ms each, want one per 100 ms", len(got))
	}
	// The last unit is always reported.
	got = nil
	r = newProgress(ctx, 3, "z")
	r.report(3, 1)
	if len(got) != 1 || got[0].Done != 3 {
		t.Errorf("the last unit: %+v", got)
	}
	var nilReporter *progressReporter
	nilReporter.report(1, 1) // does nothing
}
