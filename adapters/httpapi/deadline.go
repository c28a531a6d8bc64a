package httpapi

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// withLazyTimeout is context.WithTimeout(parent, d) without its costs for
// the calls that finish before anything waits on the context. WithTimeout
// starts a timer and links the new context into its parent's for every
// request, about five allocations and two microseconds, although nearly
// every operation finishes long before REQUEST_TIMEOUT and never calls
// Done. The context returned here answers Deadline and Err from the clock
// and its parent, and makes the real context.WithDeadline only when it has
// to: on Done, when its Err is about to become non-nil, and on a Value
// lookup after it ended (so that context.Cause finds the real cause).
func withLazyTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	dl := time.Now().Add(d)
	if pd, ok := parent.Deadline(); ok && pd.Before(dl) {
		dl = pd
	}
	c := &lazyDeadlineCtx{parent: parent, deadline: dl}
	return c, c.cancel
}

type lazyDeadlineCtx struct {
	parent   context.Context
	deadline time.Time

	mu       sync.Mutex // held to make real and to cancel
	real     atomic.Pointer[realCtx]
	canceled atomic.Bool // before real was made
}

type realCtx struct {
	context.Context
	cancel context.CancelFunc
}

func (c *lazyDeadlineCtx) Deadline() (time.Time, bool) { return c.deadline, true }

func (c *lazyDeadlineCtx) Done() <-chan struct{} { return c.materialize().Done() }

func (c *lazyDeadlineCtx) Err() error {
	if r := c.real.Load(); r != nil {
		return r.Err()
	}
	if c.parent.Err() == nil && time.Now().Before(c.deadline) && !c.canceled.Load() {
		return nil
	}
	return c.materialize().Err()
}

func (c *lazyDeadlineCtx) Value(key any) any {
	if r := c.real.Load(); r != nil {
		return r.Value(key)
	}
	if !time.Now().Before(c.deadline) || c.canceled.Load() {
		return c.materialize().Value(key)
	}
	return c.parent.Value(key)
}

func (c *lazyDeadlineCtx) String() string { return "httpapi.withLazyTimeout" }

// materialize returns the real context, made on first use. A context
// canceled before it was made is made canceled, with the parent's error
// when the parent ended first, as context.WithDeadline would have it.
func (c *lazyDeadlineCtx) materialize() *realCtx {
	if r := c.real.Load(); r != nil {
		return r
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if r := c.real.Load(); r != nil {
		return r
	}
	var r realCtx
	if c.canceled.Load() {
		r.Context, r.cancel = context.WithCancel(c.parent)
		r.cancel()
	} else {
		r.Context, r.cancel = context.WithDeadline(c.parent, c.deadline)
	}
	c.real.Store(&r)
	return &r
}

func (c *lazyDeadlineCtx) cancel() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r := c.real.Load(); r != nil {
		r.cancel()
		return
	}
	c.canceled.Store(true)
}
