package pipeline_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/internal/testengine"
	"github.com/dredge-cli/dredge/pipeline"
)

var newEngine = testengine.New

// sliceSource yields tasks from a slice.
type sliceSource struct {
	tasks []pipeline.Task
	i     int
}

func (s *sliceSource) Next(t *pipeline.Task) (bool, error) {
	if s.i >= len(s.tasks) {
		return false, nil
	}
	*t = s.tasks[s.i]
	s.i++
	return true, nil
}

func TestLoadTestGenerator(t *testing.T) {
	g := &pipeline.LoadTest{N: 26, Repeats: true, IDs: true}
	var tasks []pipeline.Task
	for {
		var task pipeline.Task
		ok, err := g.Next(&task)
		if err != nil || !ok {
			break
		}
		tasks = append(tasks, task)
	}
	if len(tasks) != 26 {
		t.Fatalf("%d tasks, want 26", len(tasks))
	}
	// As the original's generate_test_tasks: task 7, and task 25, which
	// repeats task 5, which repeats task 1.
	var p7, p1 dredge.UnifiedParams
	_ = json.Unmarshal(tasks[7].Params, &p7)
	_ = json.Unmarshal(tasks[1].Params, &p1)
	if tasks[7].ID != "task_0007" || p7.Insight != pipeline.Insights[2] ||
		fmt.Sprint(*p7.Coords) != "[0.7000000000000001 0.4 0.3]" || fmt.Sprint(*p7.Modes) != "[2 3 3]" {
		t.Errorf("task 7 = %s %s", tasks[7].ID, tasks[7].Params)
	}
	if tasks[25].ID != "task_0025_repeat" || string(tasks[25].Params) != string(tasks[1].Params) || tasks[25].Unified != tasks[1].Unified {
		t.Errorf("task 25 = %s %s, want a repeat of task 1 %s", tasks[25].ID, tasks[25].Params, tasks[1].Params)
	}
	if tasks[0].ID != "task_0000" || tasks[10].ID != "task_0010_repeat" {
		t.Errorf("ids %s %s", tasks[0].ID, tasks[10].ID)
	}
	_ = p1
}

func TestRunCountsAndOrder(t *testing.T) {
	for _, cached := range []bool{false, true} {
		for _, ordered := range []bool{false, true} {
			var opts []dredge.Option
			if !cached {
				opts = append(opts, dredge.WithCache(nil))
			}
			e := newEngine(t, opts...)
			p, err := pipeline.New(e, pipeline.Config{Workers: 3, Ordered: ordered})
			if err != nil {
				t.Fatal(err)
			}
			const n = 2000
			seen := make([]int, n)
			next := int64(0)
			stats, err := p.Run(context.Background(), &pipeline.LoadTest{N: n, Repeats: true, IDs: true}, func(r pipeline.Result) error {
				seen[r.Seq]++
				if !strings.HasPrefix(r.ID, fmt.Sprintf("task_%04d", r.Seq)) {
					return fmt.Errorf("result %d has the id %s", r.Seq, r.ID)
				}
				if ordered && r.Seq != next {
					return fmt.Errorf("result %d handed on before %d", r.Seq, next)
				}
				next++
				if r.Code != dredge.CodeOK || !strings.HasPrefix(string(r.Body), `{"success":true`) {
					return fmt.Errorf("task %d: %s", r.Seq, r.Body)
				}
				return nil
			})
			if err != nil {
				t.Fatalf("cached %v ordered %v: %v", cached, ordered, err)
			}
			for i, c := range seen {
				if c != 1 {
					t.Fatalf("task %d handed on %d times", i, c)
				}
			}
			if stats.TotalTasks != n || stats.Successful != n || stats.Failed != 0 || !stats.Latency.Exact || stats.Throughput <= 0 {
				t.Errorf("stats %+v", stats)
			}
			// With the cache every task after the 30 distinct ones hits
			// (a few more miss while two workers compute the same one).
			if cached && (stats.CacheHits < n-60 || stats.CacheHitRate != float64(stats.CacheHits)/n) {
				t.Errorf("cache hits %d of %d", stats.CacheHits, n)
			}
			if !cached && stats.CacheHits != 0 {
				t.Errorf("cache hits %d without a cache", stats.CacheHits)
			}
		}
	}
}

func TestRunFailuresGoOn(t *testing.T) {
	e := newEngine(t)
	p, _ := pipeline.New(e, pipeline.Config{Workers: 2, Ordered: true})
	tasks := []pipeline.Task{
		{ID: "a", Operation: "string_spectrum", Params: json.RawMessage(`{"max_modes":3}`)},
		{ID: "b", Operation: "frobnicate"},
		{ID: "c", Err: &dredge.FieldError{Field: "line 3", Reason: "malformed JSON"}},
		{ID: "d", Operation: "string_spectrum", Params: json.RawMessage(`{"max_modes":-1}`)},
		{ID: "e", Operation: "lift", Params: json.RawMessage(`{"insight_text":"x"}`)},
	}
	var got []pipeline.Result
	stats, err := p.Run(context.Background(), &sliceSource{tasks: tasks}, func(r pipeline.Result) error {
		got = append(got, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []dredge.Code{dredge.CodeOK, dredge.CodeNotFound, dredge.CodeInvalidArgument, dredge.CodeInvalidArgument, dredge.CodeOK}
	for i, r := range got {
		if r.ID != tasks[i].ID || r.Code != want[i] {
			t.Errorf("result %d: %s %v %s, want %s %v", i, r.ID, r.Code, r.Body, tasks[i].ID, want[i])
		}
	}
	if stats.TotalTasks != 5 || stats.Successful != 2 || stats.Failed != 3 {
		t.Errorf("stats %+v", stats)
	}
	if !strings.Contains(string(got[2].Body), "line 3") {
		t.Errorf("a source's error is the result: %s", got[2].Body)
	}
}

func TestRunStops(t *testing.T) {
	e := newEngine(t)
	for _, ordered := range []bool{false, true} {
		p, _ := pipeline.New(e, pipeline.Config{Workers: 2, Ordered: ordered})
		boom := errors.New("disk full")
		n := 0
		stats, err := p.Run(context.Background(), &pipeline.LoadTest{N: 100_000}, func(pipeline.Result) error {
			if n++; n == 500 {
				return boom
			}
			return nil
		})
		if !errors.Is(err, boom) || stats.TotalTasks >= 100_000 {
			t.Errorf("ordered %v: a failing sink: err %v after %d tasks", ordered, err, stats.TotalTasks)
		}
		ctx, cancel := context.WithCancel(context.Background())
		stats, err = p.Run(ctx, &pipeline.LoadTest{N: 1_000_000}, func(r pipeline.Result) error {
			if r.Seq == 1000 {
				cancel()
			}
			return nil
		})
		if !errors.Is(err, context.Canceled) || stats.TotalTasks >= 1_000_000 {
			t.Errorf("ordered %v: cancelled: err %v after %d tasks", ordered, err, stats.TotalTasks)
		}
	}
	if _, err := pipeline.New(nil, pipeline.Config{}); !errors.Is(err, dredge.ErrInvalidArgument) {
		t.Errorf("New(nil): %v", err)
	}
}

// A slow sink fills the ordered window, so that workers wait for room
// while others take tasks: every task must still come out once, in order,
// under its own id.
func TestRunOrderedWindowFull(t *testing.T) {
	e := newEngine(t, dredge.WithCache(nil))
	p, _ := pipeline.New(e, pipeline.Config{Workers: 4, Ordered: true})
	const n = 6000
	next := int64(0)
	_, err := p.Run(context.Background(), &pipeline.LoadTest{N: n, IDs: true}, func(r pipeline.Result) error {
		if r.Seq != next || !strings.HasPrefix(r.ID, fmt.Sprintf("task_%04d", next)) {
			return fmt.Errorf("got %d (%s), want %d", r.Seq, r.ID, next)
		}
		next++
		if next%256 == 0 {
			time.Sleep(2 * time.Millisecond)
		}
		return nil
	})
	if err != nil || next != n {
		t.Fatalf("%v after %d results", err, next)
	}
}

// TestRunDo runs the tasks through Config.Do without an Engine: Do sees
// each task with its deadline, a task with Err never reaches it, and the
// results keep their ids, codes and bodies in order.
func TestRunDo(t *testing.T) {
	var calls atomic.Int64
	do := func(ctx context.Context, task *pipeline.Task) pipeline.Result {
		calls.Add(1)
		if _, ok := ctx.Deadline(); !ok {
			return pipeline.Result{Code: dredge.CodeInternal, Err: errors.New("no deadline")}
		}
		if task.Operation == "bad" {
			err := &dredge.Error{Code: dredge.CodeNotFound, Message: "bad op"}
			return pipeline.Result{Code: dredge.CodeNotFound, Err: err, Body: dredge.ErrorJSON(err)}
		}
		return pipeline.Result{Body: []byte(`{"success":true,"op":"` + task.Operation + `"}`)}
	}
	p, err := pipeline.New(nil, pipeline.Config{Workers: 4, Ordered: true, TaskTimeout: time.Minute, Do: do})
	if err != nil {
		t.Fatal(err)
	}
	var tasks []pipeline.Task
	for i := range 500 {
		task := pipeline.Task{ID: fmt.Sprint(i), Operation: "op" + fmt.Sprint(i)}
		switch i % 5 {
		case 1:
			task.Operation = "bad"
		case 2:
			task.Err = &dredge.Error{Code: dredge.CodeInvalidArgument, Message: "malformed"}
		}
		tasks = append(tasks, task)
	}
	var got []pipeline.Result
	st, err := p.Run(context.Background(), &sliceSource{tasks: tasks}, func(r pipeline.Result) error {
		got = append(got, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.TotalTasks != 500 || st.Successful != 300 || st.Failed != 200 || calls.Load() != 400 {
		t.Fatalf("stats %+v, %d calls of Do; want 500 tasks, 300 successful, 400 calls", st, calls.Load())
	}
	for i, r := range got {
		want := dredge.CodeOK
		switch i % 5 {
		case 1:
			want = dredge.CodeNotFound
		case 2:
			want = dredge.CodeInvalidArgument
		}
		if r.Seq != int64(i) || r.ID != fmt.Sprint(i) || r.Code != want {
			t.Fatalf("result %d: seq %d id %q code %q, want code %q", i, r.Seq, r.ID, r.Code, want)
		}
		if want == dredge.CodeOK && string(r.Body) != `{"success":true,"op":"op`+fmt.Sprint(i)+`"}` {
			t.Fatalf("result %d: body %s", i, r.Body)
		}
	}
	if _, err := pipeline.New(nil, pipeline.Config{}); !errors.Is(err, dredge.ErrInvalidArgument) {
		t.Errorf("New(nil) without Do: %v, want ErrInvalidArgument", err)
	}
}
