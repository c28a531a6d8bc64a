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

// Options are the settings of a queue the suite opens; the zero value is
// the queue's defaults.
type Options struct {
	// Retry is how the queue retries failed jobs.
	Retry workers.RetryPolicy
	// MaxTenantJobs bounds each tenant's queued jobs (0: no bound).
	MaxTenantJobs int
}

// Run runs the suite against queues made by open, one per subtest, each
// empty, with the options given, and closed by open's caller or at the
// subtest's end.
func Run(t *testing.T, open func(t *testing.T, opt Options) workers.Queue) {
	t.Run("Retry", func(t *testing.T) { retries(t, open) })
	t.Run("TenantLimit", func(t *testing.T) { tenantLimit(t, open) })
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
		{"Tenants", tenants},
		{"Close", closeQueue},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t, Options{})) })
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
func retries(t *testing.T, open func(*testing.T, Options) workers.Queue) {
	const backoff = 200 * time.Millisecond
	q := open(t, Options{Retry: workers.RetryPolicy{Max: 2, Backoff: backoff, MaxBackoff: 300 * time.Millisecond}})
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
	q = open(t, Options{Retry: workers.RetryPolicy{Max: -1}})
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

// notFound checks that err, the answer to a call about job id of another
// tenant, is ErrNotFound and reads as want, the answer about an id that
// never existed, once each id is replaced: nothing tells the two apart.
func notFound(t *testing.T, call string, err error, id string, want error, unknownID string) {
	t.Helper()
	if !errors.Is(err, workers.ErrNotFound) {
		t.Errorf("%s of another tenant's job: %v, want ErrNotFound", call, err)
		return
	}
	if want == nil {
		t.Fatalf("%s of an unknown id answered no error", call)
	}
	if got, w := strings.ReplaceAll(err.Error(), id, "ID"), strings.ReplaceAll(want.Error(), unknownID, "ID"); got != w {
		t.Errorf("%s of another tenant's job: %q; of an unknown id: %q", call, got, w)
	}
}

// tenants: a job belongs to the tenant on its Enqueue's context. Another
// tenant (the default one included) can neither read nor cancel it, and
// gets the answer of an id that never existed, for pending, running and
// finished jobs alike; Claim reports each job's tenant; idempotency keys
// are per tenant.
func tenants(t *testing.T, q workers.Queue) {
	ctx := ctxFor(t)
	acme, globex := dredge.WithTenant(ctx, "acme"), dredge.WithTenant(ctx, "globex")
	const unknownID = "0123456789abcdef0123456789abcdef"
	enq := func(ctx context.Context, params string) string {
		t.Helper()
		id, err := q.Enqueue(ctx, "lift", json.RawMessage(params))
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	a := enq(acme, `{"insight_text":"acme"}`)
	g := enq(globex, `{"insight_text":"globex"}`)
	d := enq(ctx, `{"insight_text":"default"}`)
	// owners[id] is the context of the job's tenant; others, the rest.
	owners := map[string]context.Context{a: acme, g: globex, d: ctx}
	isolated := func(phase string) {
		t.Helper()
		for id, own := range owners {
			if s, err := q.Status(own, id); err != nil || s.ID != id {
				t.Errorf("%s: Status of its own job %s: %+v, %v", phase, id, s, err)
			}
			for _, other := range []context.Context{acme, globex, ctx} {
				if other == own {
					continue
				}
				_, err := q.Status(other, id)
				_, want := q.Status(other, unknownID)
				notFound(t, phase+": Status", err, id, want, unknownID)
				err = q.Cancel(other, id)
				want = q.Cancel(other, unknownID)
				notFound(t, phase+": Cancel", err, id, want, unknownID)
			}
		}
	}
	isolated("pending")
	// Every job is still there, as its tenant left it.
	for _, want := range []struct {
		id, tenant, params string
	}{{a, "acme", `{"insight_text":"acme"}`}, {g, "globex", `{"insight_text":"globex"}`}, {d, "", `{"insight_text":"default"}`}} {
		j := claim(t, q)
		if j.ID != want.id || j.Tenant != want.tenant || string(j.Params) != want.params {
			t.Errorf("claimed %+v, want job %s of tenant %q", j, want.id, want.tenant)
		}
	}
	isolated("running")
	for id := range owners {
		if err := q.Ack(ctx, id, json.RawMessage(`{"success":true}`)); err != nil {
			t.Fatalf("Ack of %s by a worker (any tenant's): %v", id, err)
		}
	}
	// A finished job is ErrNotClaimed to its own tenant's Cancel (409 over
	// HTTP), and must stay ErrNotFound to the others.
	isolated("completed")
	if err := q.Cancel(acme, a); !errors.Is(err, workers.ErrNotClaimed) {
		t.Errorf("Cancel of its own finished job: %v, want ErrNotClaimed", err)
	}

	// Idempotency keys: one key, three tenants, three jobs; each tenant's
	// second call finds its own.
	keyed := map[string]string{}
	for _, c := range []struct {
		name string
		ctx  context.Context
	}{{"acme", acme}, {"globex", globex}, {"", ctx}} {
		id, created, err := q.EnqueueOnce(c.ctx, "order-42", "lift", json.RawMessage(`{}`))
		if err != nil || !created {
			t.Fatalf("EnqueueOnce(order-42) of tenant %q: %s, %v, %v; want a new job", c.name, id, created, err)
		}
		for other, oid := range keyed {
			if oid == id {
				t.Fatalf("tenants %q and %q share job %s through one key", c.name, other, id)
			}
		}
		keyed[c.name] = id
	}
	for _, c := range []struct {
		name string
		ctx  context.Context
	}{{"acme", acme}, {"globex", globex}, {"", ctx}} {
		id, created, err := q.EnqueueOnce(c.ctx, "order-42", "lift", json.RawMessage(`{}`))
		if err != nil || created || id != keyed[c.name] {
			t.Errorf("EnqueueOnce(order-42) of tenant %q again: %s, %v, %v; want %s, not created", c.name, id, created, err, keyed[c.name])
		}
	}
	// Tenants and keys built to meet if a queue joined them naively:
	// "a:b:c" from "a" and "b:c" or "a:b" and "c", or the default tenant's
	// key "1:a:b" against tenant "a" and key "b" prefixed with its length.
	seen := map[string]bool{}
	for _, tk := range [][2]string{{"a", "b:c"}, {"a:b", "c"}, {"", "a:b:c"}, {"a", "b"}, {"", "1:a:b"}, {"1 a", "b"}, {"1", "a:b"}} {
		id, created, err := q.EnqueueOnce(dredge.WithTenant(ctx, tk[0]), tk[1], "lift", nil)
		if err != nil || !created || seen[id] {
			t.Errorf("EnqueueOnce(%q) of tenant %q: %s, %v, %v; want a job of its own", tk[1], tk[0], id, created, err)
		}
		seen[id] = true
	}
}

// tenantLimit: with MaxTenantJobs 2, each tenant, the default one
// included, has at most 2 jobs pending or running, whatever the others
// have; a key already known answers its job even at the limit; a job
// counts while pending, running, released or waiting for a retry, and
// stops counting once completed, canceled or failed, so that once every
// job has ended each tenant has room for exactly 2 again.
func tenantLimit(t *testing.T, open func(*testing.T, Options) workers.Queue) {
	const retryAfter = 50 * time.Millisecond
	q := open(t, Options{MaxTenantJobs: 2, Retry: workers.RetryPolicy{Max: 1, Backoff: retryAfter, MaxBackoff: retryAfter}})
	ctx := ctxFor(t)
	acme, globex := dredge.WithTenant(ctx, "acme"), dredge.WithTenant(ctx, "globex")
	full := func(ctx context.Context, what string) {
		t.Helper()
		id, err := q.Enqueue(ctx, "lift", nil)
		var le *workers.TenantLimitError
		if !errors.As(err, &le) || le.Limit != 2 || !errors.Is(err, dredge.ErrResourceExhausted) ||
			!strings.Contains(err.Error(), "QUEUE_TENANT_MAX_JOBS=2 queued jobs") {
			t.Fatalf("%s: Enqueue = %q, %v; want a TenantLimitError of 2", what, id, err)
		}
	}
	room := func(ctx context.Context, what string) string {
		t.Helper()
		id, err := q.Enqueue(ctx, "lift", nil)
		if err != nil {
			t.Fatalf("%s: Enqueue: %v, want room", what, err)
		}
		return id
	}
	a1 := room(acme, "acme's first job")
	a2, created, err := q.EnqueueOnce(acme, "k2", "lift", nil)
	if err != nil || !created {
		t.Fatalf("acme's second job: %s, %v, %v", a2, created, err)
	}
	full(acme, "acme's third job")
	if id, created, err := q.EnqueueOnce(acme, "k2", "lift", nil); err != nil || created || id != a2 {
		t.Errorf("a known key at the limit: %s, %v, %v; want %s", id, created, err, a2)
	}
	if _, _, err := q.EnqueueOnce(acme, "k3", "lift", nil); !errors.As(err, new(*workers.TenantLimitError)) {
		t.Errorf("a new key at the limit: %v, want a TenantLimitError", err)
	}
	room(globex, "globex's first job, acme at its limit")
	room(ctx, "the default tenant's first job")
	room(ctx, "the default tenant's second job")
	full(ctx, "the default tenant's third job")

	if j := claim(t, q); j.ID != a1 {
		t.Fatalf("claimed %s, want %s", j.ID, a1)
	}
	full(acme, "one job running")
	if err := q.Release(ctx, a1); err != nil {
		t.Fatal(err)
	}
	full(acme, "one job released")
	if j := claim(t, q); j.ID != a1 {
		t.Fatalf("claimed %s after its release, want it", j.ID)
	}
	if err := q.Fail(ctx, a1, dredge.CodeUnavailable, "down"); err != nil {
		t.Fatal(err)
	}
	full(acme, "one job waiting for its retry")
	if j := claim(t, q); j.ID != a2 {
		t.Fatalf("claimed %s, want %s", j.ID, a2)
	}
	if err := q.Ack(ctx, a2, json.RawMessage(`{}`)); err != nil {
		t.Fatal(err)
	}
	a3 := room(acme, "one job completed")
	full(acme, "again two")
	if err := q.Cancel(acme, a3); err != nil {
		t.Fatal(err)
	}
	room(acme, "one job canceled")
	full(acme, "again two")

	// The rest: acme's retried job fails for good (its one retry spent),
	// the others complete.
	for range 5 {
		j := claim(t, q)
		if j.ID == a1 {
			if err := q.Fail(ctx, a1, dredge.CodeUnavailable, "down again"); err != nil {
				t.Fatal(err)
			}
			if s, err := q.Status(acme, a1); err != nil || s.Status != workers.Failed {
				t.Fatalf("acme's retried job: %+v, %v; want failed", s, err)
			}
			continue
		}
		if err := q.Ack(ctx, j.ID, json.RawMessage(`{}`)); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []context.Context{acme, globex, ctx} {
		room(c, "every job ended")
		room(c, "every job ended, the second")
		full(c, "every job ended, the third")
	}
}
