package httpapi

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

type ctxKey string

// TestLazyTimeoutBehavesLikeWithTimeout runs each scenario on
// context.WithTimeout and on withLazyTimeout and requires the same
// observations.
func TestLazyTimeoutBehavesLikeWithTimeout(t *testing.T) {
	parentCause := errors.New("parent's cause")
	type observed struct {
		err, cause error
		done       bool
		value      any
	}
	observe := func(ctx context.Context) observed {
		o := observed{err: ctx.Err(), cause: context.Cause(ctx), value: ctx.Value(ctxKey("k"))}
		select {
		case <-ctx.Done():
			o.done = true
		default:
		}
		return o
	}
	scenarios := []struct {
		name string
		d    time.Duration
		run  func(ctx context.Context, cancel context.CancelFunc, cancelParent context.CancelCauseFunc) observed
	}{
		{"running", time.Hour, func(ctx context.Context, _ context.CancelFunc, _ context.CancelCauseFunc) observed {
			return observe(ctx)
		}},
		{"canceled", time.Hour, func(ctx context.Context, cancel context.CancelFunc, _ context.CancelCauseFunc) observed {
			cancel()
			return observe(ctx)
		}},
		{"canceled twice, then Done", time.Hour, func(ctx context.Context, cancel context.CancelFunc, _ context.CancelCauseFunc) observed {
			cancel()
			cancel()
			<-ctx.Done()
			return observe(ctx)
		}},
		{"timed out, not watched", 2 * time.Millisecond, func(ctx context.Context, _ context.CancelFunc, _ context.CancelCauseFunc) observed {
			time.Sleep(20 * time.Millisecond)
			return observe(ctx)
		}},
		{"timed out, cause first", 2 * time.Millisecond, func(ctx context.Context, _ context.CancelFunc, _ context.CancelCauseFunc) observed {
			time.Sleep(20 * time.Millisecond)
			cause := context.Cause(ctx)
			o := observe(ctx)
			o.cause = cause
			return o
		}},
		{"timed out while watched", 2 * time.Millisecond, func(ctx context.Context, _ context.CancelFunc, _ context.CancelCauseFunc) observed {
			<-ctx.Done()
			return observe(ctx)
		}},
		{"timed out, then canceled", 2 * time.Millisecond, func(ctx context.Context, cancel context.CancelFunc, _ context.CancelCauseFunc) observed {
			time.Sleep(20 * time.Millisecond)
			_ = ctx.Err()
			cancel()
			return observe(ctx)
		}},
		{"canceled, then past the deadline", 2 * time.Millisecond, func(ctx context.Context, cancel context.CancelFunc, _ context.CancelCauseFunc) observed {
			cancel()
			time.Sleep(20 * time.Millisecond)
			return observe(ctx)
		}},
		{"parent canceled", time.Hour, func(ctx context.Context, _ context.CancelFunc, cancelParent context.CancelCauseFunc) observed {
			cancelParent(parentCause)
			return observe(ctx)
		}},
		{"parent canceled while watched", time.Hour, func(ctx context.Context, _ context.CancelFunc, cancelParent context.CancelCauseFunc) observed {
			done := ctx.Done()
			cancelParent(parentCause)
			<-done
			return observe(ctx)
		}},
		{"child context", 2 * time.Millisecond, func(ctx context.Context, _ context.CancelFunc, _ context.CancelCauseFunc) observed {
			child, cancel := context.WithCancel(ctx)
			defer cancel()
			<-child.Done()
			o := observe(ctx)
			o.cause = context.Cause(child)
			return o
		}},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			var got [2]observed
			for i, with := range []func(context.Context, time.Duration) (context.Context, context.CancelFunc){context.WithTimeout, withLazyTimeout} {
				parent, cancelParent := context.WithCancelCause(context.WithValue(context.Background(), ctxKey("k"), "v"))
				ctx, cancel := with(parent, s.d)
				got[i] = s.run(ctx, cancel, cancelParent)
				cancel()
				cancelParent(nil)
			}
			if got[0] != got[1] {
				t.Errorf("context.WithTimeout: %+v\nwithLazyTimeout:    %+v", got[0], got[1])
			}
		})
	}
}

func TestLazyTimeoutDeadline(t *testing.T) {
	before := time.Now()
	ctx, cancel := withLazyTimeout(context.Background(), time.Minute)
	defer cancel()
	if d, ok := ctx.Deadline(); !ok || d.Before(before.Add(time.Minute)) || d.After(time.Now().Add(time.Minute)) {
		t.Errorf("deadline %v %v, want about a minute from now", d, ok)
	}
	// A parent's earlier deadline is the deadline.
	parent, cancelParent := context.WithTimeout(context.Background(), time.Second)
	defer cancelParent()
	ctx, cancel = withLazyTimeout(parent, time.Hour)
	defer cancel()
	pd, _ := parent.Deadline()
	if d, _ := ctx.Deadline(); !d.Equal(pd) {
		t.Errorf("deadline %v, want the parent's %v", d, pd)
	}
}

func TestLazyTimeoutConcurrentUse(t *testing.T) {
	for range 50 {
		ctx, cancel := withLazyTimeout(context.Background(), time.Millisecond)
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				switch g {
				case 0:
					<-ctx.Done()
				case 1:
					for ctx.Err() == nil {
						time.Sleep(100 * time.Microsecond)
					}
				case 2:
					_ = context.Cause(ctx)
				case 3:
					cancel()
				}
			})
		}
		wg.Wait()
		if ctx.Err() == nil || context.Cause(ctx) == nil {
			t.Fatalf("ended context: Err %v, Cause %v", ctx.Err(), context.Cause(ctx))
		}
	}
}

// TestLazyTimeoutAllocations: the point of the lazy context is that an
// operation which never waits on it costs two allocations (the context
// and its cancel func), not WithTimeout's five and a timer.
func TestLazyTimeoutAllocations(t *testing.T) {
	parent, cancelParent := context.WithCancel(context.Background())
	defer cancelParent()
	allocs := testing.AllocsPerRun(100, func() {
		ctx, cancel := withLazyTimeout(parent, time.Minute)
		_ = ctx.Err()
		_ = ctx.Value(ctxKey("k"))
		cancel()
	})
	if allocs > 2 {
		t.Errorf("%v allocations per unwatched request, want 2", allocs)
	}
}
