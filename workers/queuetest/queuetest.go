package queuetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/workers"
)

// Run runs the suite against queues made by open, one per subtest, each
// empty, retrying failed jobs as retry says, and closed by open's caller
// or at the subtest's end.
func Run(t *testing.T, open func(t *testing.T, retry workers.RetryPolicy) workers.Queue) {
	t.Run("Retry", func(t *testing.T) { retries(t, open) })
	tests := []struct {
		name string
		fn   func(*testing.T, workers.Queue)
	}{
		{"Lifecycle", lifecycle},
		{"FirstInFirstOut", fifo},
		{"Fail", fail},
		{"Release", release},
		{"Cancel", cancel},
		{"Progress", progress},
		{"Unknown", unknown},
		{"ClaimWaits", claimWaits},
		{"Concurrent", concurrent},
		{"EnqueueOnce", enqueueOnce},
		{"Close", closeQueue},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t, workers.RetryPolicy{})) })
	}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func enqueue(t *testing.T, q workers.Queue, op, params string) string {
	t.Helper()
	id, err := q.Enqueue(ctxFor(t), op, json.RawMessage(params))
	if err != nil || id == "" {
		t.Fatalf("Enqueue(%s, %s) = %q, %v", op, params, id, err)
	}
	return id
}

func claim(t *testing.T, q workers.Queue) *workers.Job {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctxFor(t), 5*time.Second)
	defer cancel()
	j, err := q.Claim(ctx)
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	return j
}

func status(t *testing.T, q workers.Queue, id string) workers.State {
	t.Helper()
	s, err := q.Status(ctxFor(t), id)
	if err != nil {
		t.Fatalf("Status(%s): %v", id, err)
	}
	return s
}

func lifecycle(t *testing.T, q workers.Queue) {
	ctx := ctxFor(t)
	id := enqueue(t, q, "string_spectrum", `{"max_modes":3}`)
	if s := status(t, q, id); s.Status != workers.Pending || s.Operation != "string_spectrum" || s.ID != id || s.Enqueued.IsZero() {
		t.Errorf("after Enqueue: %+v", s)
	}
	if n, err := q.Depth(ctx); err != nil || n != 1 {
		t.Errorf("Depth = %d, %v; want 1", n, err)
	}
	j := claim(t, q)
	if j.ID != id || j.Operation != "string_spectrum" || string(j.Params) != `{"max_modes":3}` || j.Attempt != 1 {
		t.Errorf("claimed %+v", j)
	}
	if s := status(t, q, id); s.Status != workers.Running || s.Attempts != 1 || s.Started.IsZero() {
		t.Errorf("after Claim: %+v", s)
	}
	if canceled, err := q.Heartbeat(ctx, id, nil); err != nil || canceled {
		t.Errorf("Heartbeat = %v, %v", canceled, err)
	}
	result := `{"success":true,"max_modes":3}`
	if err := q.Ack(ctx, id, json.RawMessage(result)); err != nil {
		t.Fatal(err)
	}
	s := status(t, q, id)
	if s.Status != workers.Completed || string(s.Result) != result || s.Finished.IsZero() || !s.Status.Final() {
		t.Errorf("after Ack: %+v", s)
	}
	if err := q.Ack(ctx, id, json.RawMessage(result)); !errors.Is(err, workers.ErrNotClaimed) {
		t.Errorf("second Ack: %v, want ErrNotClaimed", err)
	}
	if n, err := q.Depth(ctx); err != nil || n != 0 {
		t.Errorf("Depth = %d, %v; want 0", n, err)
	}
}

func fifo(t *testing.T, q workers.Queue) {
	var ids []string
	for i := range 5 {
		ids = append(ids, enqueue(t, q, "lift", fmt.Sprintf(`{"insight_text":"%d"}`, i)))
	}
	seen := map[string]bool{}
	for i, want := range ids {
		j := claim(t, q)
		if j.ID != want {
			t.Errorf("claim %d got %s, want %s", i, j.ID, want)
		}
		if seen[j.ID] {
			t.Errorf("job %s claimed twice", j.ID)
		}
		seen[j.ID] = true
	}
}

func fail(t *testing.T, q workers.Queue) {
	ctx := ctxFor(t)
	id := enqueue(t, q, "inference", `{"model_id":"nope"}`)
	claim(t, q)
	if err := q.Fail(ctx, id, dredge.CodeNotFound, `model_id: no model "nope" is loaded`); err != nil {
		t.Fatal(err)
	}
	s := status(t, q, id)
	if s.Status != workers.Failed || s.Code != dredge.CodeNotFound || s.Error != `model_id: no model "nope" is loaded` {
		t.Errorf("after Fail: %+v", s)
	}
	if err := q.Fail(ctx, id, dredge.CodeInternal, "again"); !errors.Is(err, workers.ErrNotClaimed) {
		t.Errorf("second Fail: %v, want ErrNotClaimed", err)
	}
}

func release(t *testing.T, q workers.Queue) {
	ctx := ctxFor(t)
	first := enqueue(t, q, "lift", `{"insight_text":"a"}`)
	second := enqueue(t, q, "lift", `{"insight_text":"b"}`)
	j := claim(t, q)
	if err := q.Release(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	if s := status(t, q, first); s.Status != workers.Pending || s.Attempts != 0 {
		t.Errorf("after Release: %+v", s)
	}
	// Handed back first in line, its attempt not counted.
	if j := claim(t, q); j.ID != first || j.Attempt != 1 {
		t.Errorf("claim after Release: %s attempt %d, want %s attempt 1", j.ID, j.Attempt, first)
	}
	if j := claim(t, q); j.ID != second {
		t.Errorf("then %s, want %s", j.ID, second)
	}
	if err := q.Release(ctx, "0123"); !errors.Is(err, workers.ErrNotFound) && !errors.Is(err, workers.ErrNotClaimed) {
		t.Errorf("Release of an unknown job: %v", err)
	}
}

func cancel(t *testing.T, q workers.Queue) {
	ctx := ctxFor(t)
	pending := enqueue(t, q, "lift", `{"insight_text":"p"}`)
	running := enqueue(t, q, "lift", `{"insight_text":"r"}`)
	if err := q.Cancel(ctx, pending); err != nil {
		t.Fatal(err)
	}
	if s := status(t, q, pending); s.Status != workers.Canceled {
		t.Errorf("canceled pending job: %+v", s)
	}
	// The canceled job is never claimed: the next claim is the other one.
	j := claim(t, q)
	if j.ID != running {
		t.Fatalf("claimed %s, want %s", j.ID, running)
	}
	if err := q.Cancel(ctx, running); err != nil {
		t.Fatal(err)
	}
	if canceled, err := q.Heartbeat(ctx, running, nil); err != nil || !canceled {
		t.Errorf("Heartbeat of a canceled job = %v, %v; want true", canceled, err)
	}
	if err := q.Ack(ctx, running, json.RawMessage(`{}`)); !errors.Is(err, workers.ErrNotClaimed) {
		t.Errorf("Ack of a canceled job: %v, want ErrNotClaimed", err)
	}
	if s := status(t, q, running); s.Status != workers.Canceled {
		t.Errorf("canceled running job: %+v", s)
	}
	if err := q.Cancel(ctx, running); !errors.Is(err, workers.ErrNotClaimed) {
		t.Errorf("Cancel of a finished job: %v, want ErrNotClaimed", err)
	}
}

// progress: a heartbeat's progress is the job's State.Progress until the
// next one that carries progress; a heartbeat without keeps it.
func progress(t *testing.T, q workers.Queue) {
	ctx := ctxFor(t)
	id := enqueue(t, q, "benchmark", `{"model_type":"quasimoto_1d"}`)
	claim(t, q)
	if s := status(t, q, id); s.Progress != nil {
		t.Errorf("progress before any heartbeat: %+v", s.Progress)
	}
	want := dredge.Progress{Done: 120, Total: 1000, Message: "training quasimoto_1d: 120/1000, loss 0.25"}
	if canceled, err := q.Heartbeat(ctx, id, &want); err != nil || canceled {
		t.Fatalf("Heartbeat with progress = %v, %v", canceled, err)
	}
	if s := status(t, q, id); s.Progress == nil || *s.Progress != want {
		t.Errorf("progress %+v, want %+v", s.Progress, want)
	}
	if _, err := q.Heartbeat(ctx, id, nil); err != nil {
		t.Fatal(err)
	}
	s := status(t, q, id)
	if s.Progress == nil || *s.Progress != want {
		t.Errorf("after a heartbeat without progress: %+v, want %+v kept", s.Progress, want)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var js struct {
		Progress map[string]any `json:"progress"`
	}
	if err := json.Unmarshal(b, &js); err != nil || js.Progress["done"] != 120.0 || js.Progress["total"] != 1000.0 {
		t.Errorf("State as JSON: %s, want \"progress\": {\"done\": 120, \"total\": 1000, …}", b)
	}
	later := dredge.Progress{Done: 1000, Total: 1000}
	if _, err := q.Heartbeat(ctx, id, &later); err != nil {
		t.Fatal(err)
	}
	if err := q.Ack(ctx, id, json.RawMessage(`{"success":true}`)); err != nil {
		t.Fatal(err)
	}
	if s := status(t, q, id); s.Status != workers.Completed || s.Progress == nil || *s.Progress != later {
		t.Errorf("completed: %+v, want the last progress %+v", s, later)
	}
	// A job not held takes no progress.
	other := enqueue(t, q, "lift", `{"insight_text":"x"}`)
	if _, err := q.Heartbeat(ctx, other, &want); !errors.Is(err, workers.ErrNotClaimed) {
		t.Errorf("Heartbeat of a pending job: %v, want ErrNotClaimed", err)
	}
	if s := status(t, q, other); s.Progress != nil {
		t.Errorf("pending job's progress %+v", s.Progress)
	}
}

func unknown(t *testing.T, q workers.Queue) {
	ctx := ctxFor(t)
	const id = "00000000000000000000000000000000"
	if _, err := q.Status(ctx, id); !errors.Is(err, workers.ErrNotFound) {
		t.Errorf("Status: %v, want ErrNotFound", err)
	}
	if err := q.Cancel(ctx, id); !errors.Is(err, workers.ErrNotFound) {
		t.Errorf("Cancel: %v, want ErrNotFound", err)
	}
	if err := q.Ack(ctx, id, nil); !errors.Is(err, workers.ErrNotFound) && !errors.Is(err, workers.ErrNotClaimed) {
		t.Errorf("Ack: %v", err)
	}
}

func claimWaits(t *testing.T, q workers.Queue) {
	ctx, cancel := context.WithTimeout(ctxFor(t), 100*time.Millisecond)
	defer cancel()
	if j, err := q.Claim(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Claim on an empty queue = %+v, %v; want the context's deadline", j, err)
	}
	// An ended context claims nothing, even with a job pending.
	ended, end := context.WithCancel(ctxFor(t))
	end()
	pending := enqueue(t, q, "lift", `{"insight_text":"not yet"}`)
	if j, err := q.Claim(ended); !errors.Is(err, context.Canceled) {
		t.Fatalf("Claim with an ended context = %+v, %v; want context.Canceled", j, err)
	}
	if j := claim(t, q); j.ID != pending {
		t.Fatalf("claimed %s, want %s", j.ID, pending)
	}
	got := make(chan *workers.Job, 1)
	go func() {
		ctx, cancel := context.WithTimeout(ctxFor(t), 10*time.Second)
		defer cancel()
		j, err := q.Claim(ctx)
		if err != nil {
			t.Error(err)
		}
		got <- j
	}()
	time.Sleep(50 * time.Millisecond)
	id := enqueue(t, q, "lift", `{"insight_text":"late"}`)
	if j := <-got; j == nil || j.ID != id {
		t.Errorf("waiting Claim got %+v, want %s", j, id)
	}
}

func concurrent(t *testing.T, q workers.Queue) {
	ctx := ctxFor(t)
	const producers, consumers, each = 4, 4, 100
	var mu sync.Mutex
	enqueued := map[string]bool{}
	claimed := map[string]int{}
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				id, err := q.Enqueue(ctx, "lift", json.RawMessage(fmt.Sprintf(`{"insight_text":"%d-%d"}`, p, i)))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				enqueued[id] = true
				mu.Unlock()
			}
		}()
	}
	done := make(chan struct{})
	var cw sync.WaitGroup
	for range consumers {
		cw.Add(1)
		go func() {
			defer cw.Done()
			for {
				cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
				j, err := q.Claim(cctx)
				cancel()
				if err != nil {
					select {
					case <-done:
						return
					default:
						continue
					}
				}
				mu.Lock()
				claimed[j.ID]++
				mu.Unlock()
				if err := q.Ack(ctx, j.ID, json.RawMessage(`{"success":true}`)); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		n := len(claimed)
		mu.Unlock()
		if n == producers*each {
			break
		}
	}
	close(done)
	cw.Wait()
	if len(enqueued) != producers*each || len(claimed) != producers*each {
		t.Fatalf("%d enqueued, %d claimed, want %d", len(enqueued), len(claimed), producers*each)
	}
	for id, n := range claimed {
		if n != 1 || !enqueued[id] {
			t.Errorf("job %s claimed %d times (enqueued %v)", id, n, enqueued[id])
		}
		if s := status(t, q, id); s.Status != workers.Completed {
			t.Errorf("job %s: %s", id, s.Status)
		}
	}
}

func closeQueue(t *testing.T, q workers.Queue) {
	errc := make(chan error, 1)
	go func() {
		_, err := q.Claim(ctxFor(t))
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, workers.ErrClosed) {
			t.Errorf("Claim waiting at Close: %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Claim still waiting after Close")
	}
	if _, err := q.Enqueue(ctxFor(t), "lift", nil); !errors.Is(err, workers.ErrClosed) {
		t.Errorf("Enqueue after Close: %v, want ErrClosed", err)
	}
}

// enqueueOnce: 10,000 concurrent enqueues with one idempotency key enqueue
// one job; every call answers its id; another key makes another job; a bad
// key is refused.
func enqueueOnce(t *testing.T, q workers.Queue) {
	ctx := ctxFor(t)
	const n = 10_000
	ids := make([]string, n)
	created := make([]bool, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ids[i], created[i], errs[i] = q.EnqueueOnce(ctx, "order-42", "lift", json.RawMessage(`{"insight_text":"once"}`))
		})
	}
	wg.Wait()
	made := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("call %d answered job %s, call 0 %s", i, ids[i], ids[0])
		}
		if created[i] {
			made++
		}
	}
	if made != 1 {
		t.Fatalf("%d calls created the job, want 1", made)
	}
	if n, err := q.Depth(ctx); err != nil || n != 1 {
		t.Errorf("Depth = %d, %v; want 1", n, err)
	}
	other, ok, err := q.EnqueueOnce(ctx, "order-43", "lift", nil)
	if err != nil || !ok || other == ids[0] {
		t.Errorf("another key: %s %v %v", other, ok, err)
	}
	for _, bad := range []string{"", "has space", strings.Repeat("k", 256), "tab\t"} {
		if _, _, err := q.EnqueueOnce(ctx, bad, "lift", nil); !errors.Is(err, workers.ErrInvalidKey) {
			t.Errorf("key %q: %v, want ErrInvalidKey", bad, err)
		}
	}
}

// retries: a job failed with a retryable code runs again after a backoff
// that doubles up to its bound, as often as the policy allows, then fails;
// its State shows the failure meanwhile. Other codes, and a policy of no
// retries, fail at once; a success after a failure clears the error; a job
// waiting for its retry can be canceled.
func retries(t *testing.T, open func(*testing.T, workers.RetryPolicy) workers.Queue) {
	const backoff = 200 * time.Millisecond
	q := open(t, workers.RetryPolicy{Max: 2, Backoff: backoff, MaxBackoff: 300 * time.Millisecond})
	ctx := ctxFor(t)
	id := enqueue(t, q, "lift", `{"n":1}`)
	waits := []time.Duration{0, backoff, 300 * time.Millisecond} // before each delivery: doubled, bounded
	var failed time.Time
	for attempt := range waits {
		j := claim(t, q)
		if waited := time.Since(failed); attempt > 0 && waited < waits[attempt] {
			t.Errorf("retry %d claimed %v after the failure, want at least %v", attempt, waited, waits[attempt])
		}
		if j.ID != id || j.Attempt != attempt+1 || string(j.Params) != `{"n":1}` {
			t.Fatalf("delivery %d: %+v", attempt+1, j)
		}
		msg := fmt.Sprintf("failure %d", attempt+1)
		failed = time.Now()
		if err := q.Fail(ctx, id, dredge.CodeUnavailable, msg); err != nil {
			t.Fatal(err)
		}
		s := status(t, q, id)
		if attempt < 2 {
			next := waits[attempt+1] // and up to a quarter more
			if s.Status != workers.Pending || s.Code != dredge.CodeUnavailable || s.Error != msg ||
				s.RetryAt.Before(failed.Add(next)) || s.RetryAt.After(time.Now().Add(next*5/4)) {
				t.Errorf("waiting for retry %d (due in %v to %v): %+v", attempt+1, next, next*5/4, s)
			}
			if n, err := q.Depth(ctx); err != nil || n != 1 {
				t.Errorf("Depth with a job waiting for its retry = %d, %v; want 1", n, err)
			}
		} else if s.Status != workers.Failed || s.Code != dredge.CodeUnavailable || s.Error != msg || s.Attempts != 3 || !s.RetryAt.IsZero() {
			t.Errorf("after its retries: %+v, want failed after 3 attempts", s)
		}
	}
	if j, err := claimFor(q, 400*time.Millisecond); j != nil || err == nil {
		t.Errorf("a job with its retries spent was delivered again: %+v", j)
	}

	// Bad input is not retried.
	id = enqueue(t, q, "lift", `{}`)
	claim(t, q)
	if err := q.Fail(ctx, id, dredge.CodeInvalidArgument, "n: required"); err != nil {
		t.Fatal(err)
	}
	if s := status(t, q, id); s.Status != workers.Failed || s.Attempts != 1 {
		t.Errorf("failed with invalid_argument: %+v, want failed at once", s)
	}

	// A success after a failure.
	id = enqueue(t, q, "lift", `{}`)
	claim(t, q)
	if err := q.Fail(ctx, id, dredge.CodeInternal, "internal error"); err != nil {
		t.Fatal(err)
	}
	if j := claim(t, q); j.ID != id || j.Attempt != 2 {
		t.Fatalf("retry: %+v", j)
	}
	if err := q.Ack(ctx, id, json.RawMessage(`{"ok":true}`)); err != nil {
		t.Fatal(err)
	}
	if s := status(t, q, id); s.Status != workers.Completed || s.Code != "" || s.Error != "" || s.Attempts != 2 {
		t.Errorf("completed on its retry: %+v", s)
	}

	// Canceled while waiting for its retry.
	id = enqueue(t, q, "lift", `{}`)
	claim(t, q)
	if err := q.Fail(ctx, id, dredge.CodeInternal, "internal error"); err != nil {
		t.Fatal(err)
	}
	if err := q.Cancel(ctx, id); err != nil {
		t.Fatal(err)
	}
	if j, err := claimFor(q, 2*backoff); j != nil || err == nil {
		t.Errorf("a job canceled while waiting for its retry was delivered: %+v", j)
	}
	if n, err := q.Depth(ctx); err != nil || n != 0 {
		t.Errorf("Depth = %d, %v; want 0", n, err)
	}

	// No retries.
	q = open(t, workers.RetryPolicy{Max: -1})
	id = enqueue(t, q, "lift", `{}`)
	claim(t, q)
	if err := q.Fail(ctx, id, dredge.CodeUnavailable, "down"); err != nil {
		t.Fatal(err)
	}
	if s := status(t, q, id); s.Status != workers.Failed {
		t.Errorf("with no retries: %+v, want failed", s)
	}
}

// claimFor claims with a deadline d away.
func claimFor(q workers.Queue, d time.Duration) (*workers.Job, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return q.Claim(ctx)
}
