package batch_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/adapters/batch"
	"github.com/dredge-cli/dredge/internal/testredis"
	"github.com/dredge-cli/dredge/workers"
)

// mixedTasks returns n task lines of several operations with ids
// m0…m(n-1), every task distinct (so that no run serves one from its
// cache): every 97th names an unknown operation, every 89th has bad params
// (id "bad-…") and, with malformed, every 83rd is not JSON.
func mixedTasks(n int, malformed bool) string {
	var b strings.Builder
	for i := range n {
		switch {
		case i%97 == 50:
			fmt.Fprintf(&b, `{"id": "m%d", "operation": "no_such_op", "params": {}}`+"\n", i)
		case i%89 == 40:
			fmt.Fprintf(&b, `{"id": "bad-%d", "operation": "string_spectrum", "params": {"max_modes": "x%d"}}`+"\n", i, i)
		case malformed && i%83 == 30:
			fmt.Fprintf(&b, "not json %d\n", i)
		case i%3 == 0:
			fmt.Fprintf(&b, `{"id": "m%d", "operation": "unified_inference", "params": {"dredge_insight": "insight %d", "quasimoto_coords": [%g, 0.2, 0.3]}}`+"\n", i, i, 0.1*float64(i%10))
		case i%3 == 1:
			fmt.Fprintf(&b, `{"id": "m%d", "operation": "lift", "params": {"insight_text": "insight %d"}}`+"\n", i, i)
		default:
			fmt.Fprintf(&b, `{"id": "m%d", "operation": "string_parameters", "params": {"energy_scale": %d, "coupling_constant": 0.1}}`+"\n", i, 1+i)
		}
	}
	return b.String()
}

// startPool runs q's jobs on an Engine of their own until the test ends.
func startPool(t *testing.T, q workers.Queue) {
	t.Helper()
	p := workers.NewPool(newEngine(t), q, workers.PoolConfig{Concurrency: 16})
	p.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := p.Shutdown(ctx); err != nil {
			t.Errorf("pool shutdown: %v", err)
		}
	})
}

// memoryQueue returns an in-process queue with a pool running its jobs.
func memoryQueue(t *testing.T) *workers.Memory {
	t.Helper()
	q := workers.NewMemory(workers.MemoryConfig{})
	t.Cleanup(func() { _ = q.Close() })
	startPool(t, q)
	return q
}

// runBatch runs input on a fresh Engine and returns the output.
func runBatch(t *testing.T, input string, opts batch.Options) ([]byte, batch.Summary, error) {
	t.Helper()
	var buf bytes.Buffer
	sum, err := batch.Run(context.Background(), newEngine(t), strings.NewReader(input), &buf, opts)
	return buf.Bytes(), sum, err
}

// sameResults checks that a queue run's results equal a local run's, line
// by line when ordered, else by id. A job's failure carries no field (the
// queue keeps the code and message), so the field of the bad-params tasks
// is left out.
func sameResults(t *testing.T, local, queued []byte, ordered bool) {
	t.Helper()
	lo, qo := decode(t, local), decode(t, queued)
	if len(lo) != len(qo) {
		t.Fatalf("%d results through the queue, %d locally", len(qo), len(lo))
	}
	norm := func(o out) string {
		if strings.HasPrefix(o.ID, "bad-") {
			o.Field = ""
		}
		var r any
		if o.Result != nil {
			_ = json.Unmarshal(o.Result, &r)
		}
		b, _ := json.Marshal(struct {
			O out
			R any
		}{o, r})
		return string(b)
	}
	if ordered {
		for i := range lo {
			if a, b := norm(lo[i]), norm(qo[i]); a != b {
				t.Fatalf("result %d:\nqueue %s\nlocal %s", i, b, a)
			}
		}
		return
	}
	lm, qm := byID(t, lo), byID(t, qo)
	for id, l := range lm {
		q, ok := qm[id]
		if !ok {
			t.Fatalf("%q: no result through the queue", id)
		}
		if a, b := norm(l), norm(q); a != b {
			t.Fatalf("%q:\nqueue %s\nlocal %s", id, b, a)
		}
	}
}

// TestQueueSameAsLocal runs the same tasks locally and through a memory
// queue run by a pool, in both orders: the same results, the same
// statistics of successes and failures, and input order when ordered.
func TestQueueSameAsLocal(t *testing.T) {
	const n = 3000
	input := mixedTasks(n, true)
	for _, ordered := range []bool{true, false} {
		t.Run(fmt.Sprint("ordered=", ordered), func(t *testing.T) {
			local, lsum, err := runBatch(t, input, batch.Options{Ordered: ordered})
			if err != nil {
				t.Fatal(err)
			}
			queued, qsum, err := runBatch(t, input, batch.Options{Ordered: ordered, Queue: memoryQueue(t), Workers: 64})
			if err != nil {
				t.Fatal(err)
			}
			sameResults(t, local, queued, ordered)
			if qsum.TotalTasks != n || qsum.Successful != lsum.Successful || qsum.Failed != lsum.Failed || lsum.Failed == 0 {
				t.Errorf("queue summary %+v, local %+v", qsum.Stats, lsum.Stats)
			}
			if ordered {
				for i, o := range decode(t, queued) {
					if !strings.HasSuffix(o.ID, fmt.Sprint(i)) && o.ID != fmt.Sprint("line-", i+1) {
						t.Fatalf("result %d has id %q: not in the input's order", i, o.ID)
					}
				}
			}
		})
	}
}

// TestQueueFailFast stops at the first failed job: a *TaskError naming
// it, its result not written, every line written a success; a rerun
// without FailFast completes the batch with every task once.
func TestQueueFailFast(t *testing.T) {
	const n = 2000
	var b strings.Builder
	for i := range n {
		if i == 1000 {
			b.WriteString(`{"id": "boom", "operation": "string_spectrum", "params": {"max_modes": -1}}` + "\n")
			continue
		}
		fmt.Fprintf(&b, `{"id": "t%d", "operation": "lift", "params": {"insight_text": "insight %d"}}`+"\n", i, i)
	}
	input := b.String()
	out := filepath.Join(t.TempDir(), "results.jsonl")
	in := filepath.Join(t.TempDir(), "tasks.jsonl")
	if err := os.WriteFile(in, []byte(input), 0o644); err != nil {
		t.Fatal(err)
	}
	q := memoryQueue(t)
	eng := newEngine(t)
	_, err := batch.RunFile(context.Background(), eng, in, out, batch.Options{Queue: q, FailFast: true, Workers: 16, Ordered: true})
	var te *batch.TaskError
	if !errors.As(err, &te) || te.ID != "boom" || te.Line != 1001 || te.Code != dredge.CodeInvalidArgument {
		t.Fatalf("err = %v, want a *TaskError for boom on line 1001 (invalid_argument)", err)
	}
	first, _ := os.ReadFile(out)
	outs := decode(t, first)
	for _, o := range outs {
		if o.Result == nil || o.ID == "boom" {
			t.Fatalf("after fail-fast: %+v", o)
		}
	}
	sum, err := batch.RunFile(context.Background(), eng, in, out, batch.Options{Queue: q, Workers: 16})
	if err != nil {
		t.Fatal(err)
	}
	all, _ := os.ReadFile(out)
	got := byID(t, decode(t, all))
	if len(got) != n || got["boom"].Code != "invalid_argument" || sum.Skipped != int64(len(outs)) {
		t.Errorf("rerun: %d results (want %d), boom %+v, %d skipped (want %d)", len(got), n, got["boom"], sum.Skipped, len(outs))
	}
}

// TestQueueResume runs through the queue into an output that already
// holds a local run's first results and a torn line: the tasks there are
// skipped and every task ends in the output exactly once, with the same
// results as a local run's. (Malformed lines are left out: a rerun reports
// them again, locally too.)
func TestQueueResume(t *testing.T) {
	const n, done = 1500, 600
	input := mixedTasks(n, false)
	local, _, err := runBatch(t, input, batch.Options{Ordered: true})
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(local, []byte("\n"))
	partial := bytes.Join(lines[:done], nil)
	partial = append(partial, lines[done][:len(lines[done])/2]...) // torn by a kill
	dir := t.TempDir()
	in, out := filepath.Join(dir, "tasks.jsonl"), filepath.Join(dir, "results.jsonl")
	if err := os.WriteFile(in, []byte(input), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, partial, 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := batch.RunFile(context.Background(), newEngine(t), in, out, batch.Options{Queue: memoryQueue(t), Ordered: true})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Skipped != done || sum.Resumed != done || sum.TotalTasks != n-done {
		t.Errorf("summary %+v: want %d skipped and resumed, %d run", sum, done, n-done)
	}
	got, _ := os.ReadFile(out)
	sameResults(t, local, got, true)
}

// fakeQueue wraps a queue: tasks whose params hold "cancel-me",
// "expire-me" or "stuck" are not enqueued but get an id whose status is
// canceled, lost (ErrNotFound) or pending for ever.
type fakeQueue struct {
	workers.Queue
	mu       sync.Mutex
	fakes    map[string]string // id → what
	canceled []string          // ids Cancel was called for
}

func (f *fakeQueue) Enqueue(ctx context.Context, op string, params json.RawMessage) (string, error) {
	for _, what := range []string{"cancel-me", "expire-me", "stuck"} {
		if bytes.Contains(params, []byte(what)) {
			f.mu.Lock()
			defer f.mu.Unlock()
			id := fmt.Sprintf("fake-%d", len(f.fakes))
			f.fakes[id] = what
			return id, nil
		}
	}
	return f.Queue.Enqueue(ctx, op, params)
}

func (f *fakeQueue) Status(ctx context.Context, id string) (workers.State, error) {
	f.mu.Lock()
	what, fake := f.fakes[id]
	f.mu.Unlock()
	switch {
	case !fake:
		return f.Queue.Status(ctx, id)
	case what == "cancel-me":
		return workers.State{ID: id, Status: workers.Canceled}, nil
	case what == "expire-me":
		return workers.State{}, fmt.Errorf("%w: %q", workers.ErrNotFound, id)
	}
	return workers.State{ID: id, Status: workers.Pending}, nil
}

func (f *fakeQueue) Cancel(ctx context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, fake := f.fakes[id]; fake {
		f.canceled = append(f.canceled, id)
		return nil
	}
	return f.Queue.Cancel(ctx, id)
}

// TestQueueLostJobs: a job canceled behind the batch's back, one whose
// status expired, one that never finishes (the task's deadline) and a
// closed queue each give an error line, and the batch goes on and ends.
func TestQueueLostJobs(t *testing.T) {
	fq := &fakeQueue{Queue: memoryQueue(t), fakes: make(map[string]string)}
	lift := func(id, text string) string {
		return fmt.Sprintf(`{"id": %q, "operation": "lift", "params": {"insight_text": %q}}`+"\n", id, text)
	}
	input := lift("a", "fine") + lift("c", "cancel-me") + lift("e", "expire-me") + lift("s", "stuck") + lift("b", "fine too")
	start := time.Now()
	output, sum, err := runBatch(t, input, batch.Options{Queue: fq, TaskTimeout: 300 * time.Millisecond, Ordered: true})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the batch took %v: the stuck job's deadline is 300ms", d)
	}
	got := byID(t, decode(t, output))
	for id, w := range map[string]want{
		"a": {ok: true},
		"b": {ok: true},
		"c": {code: "unavailable", line: 2, msg: "was canceled before it finished"},
		"e": {code: "unavailable", line: 3, msg: "is lost (expired or deleted from the queue)"},
		"s": {code: "unavailable", line: 4, msg: "(status pending): the task's deadline passed"},
	} {
		g := got[id]
		if w.ok && (g.Result == nil || g.Error != "") || !w.ok && (g.Code != w.code || g.Line != w.line || !strings.Contains(g.Error, w.msg)) {
			t.Errorf("%q: %+v, want %+v", id, g, w)
		}
	}
	if sum.Successful != 2 || sum.Failed != 3 {
		t.Errorf("summary %+v", sum.Stats)
	}
	fq.mu.Lock()
	if len(fq.canceled) != 1 || fq.fakes[fq.canceled[0]] != "stuck" {
		t.Errorf("jobs canceled: %q, want the stuck one's", fq.canceled)
	}
	fq.mu.Unlock()

	closed := workers.NewMemory(workers.MemoryConfig{})
	_ = closed.Close()
	output, sum, err = runBatch(t, tasks(50), batch.Options{Queue: closed})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range decode(t, output) {
		if o.Code != "unavailable" || !strings.Contains(o.Error, "queue: enqueueing the job: workers: queue closed") {
			t.Fatalf("with a closed queue: %+v", o)
		}
	}
	if sum.Failed != 50 {
		t.Errorf("with a closed queue: summary %+v", sum.Stats)
	}
}

// TestQueueRedis runs a batch through a Redis queue (REDIS_URL, a prefix
// of its own whose keys are deleted at the end) with a pool in-process:
// the same results as a local run's.
func TestQueueRedis(t *testing.T) {
	c, _ := testredis.Client(t)
	prefix := fmt.Sprintf("dredge:test:batch:%d", time.Now().UnixNano())
	t.Cleanup(func() { testredis.DeleteKeys(t, c, "{"+prefix+"}:*") })
	q, err := workers.NewRedis(context.Background(), workers.RedisConfig{Client: c, Prefix: prefix, Poll: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Close() })
	startPool(t, q)

	const n = 2000
	input := mixedTasks(n, true)
	local, _, err := runBatch(t, input, batch.Options{Ordered: true})
	if err != nil {
		t.Fatal(err)
	}
	queued, sum, err := runBatch(t, input, batch.Options{Ordered: true, Queue: q})
	if err != nil {
		t.Fatal(err)
	}
	sameResults(t, local, queued, true)
	t.Logf("%d tasks through Redis: %.0f tasks/s, latency p50 %.2f ms, p99 %.2f ms", sum.TotalTasks, sum.Throughput, 1e3*sum.Latency.Median, 1e3*sum.Latency.P99)
}
