package mcp

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/internal/testengine"
	"github.com/dredge-cli/dredge/workers"
)

// notes collects the progress notifications a client receives.
type notes struct {
	mu   sync.Mutex
	list []*sdk.ProgressNotificationParams
}

func (n *notes) add(_ context.Context, req *sdk.ProgressNotificationClientRequest) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.list = append(n.list, req.Params)
}

// wait returns the notifications once there is one (they may arrive just
// after the call's result), or none after a few seconds.
func (n *notes) wait() []*sdk.ProgressNotificationParams {
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		n.mu.Lock()
		l := slices.Clone(n.list)
		n.mu.Unlock()
		if len(l) > 0 || time.Now().After(deadline) {
			return l
		}
	}
}

// jobsSetup serves an Engine with job tools on a memory queue whose pool
// heartbeats every 10 ms, and returns a connected client that collects
// progress notifications.
func jobsSetup(t *testing.T, opts Options) (*sdk.ClientSession, *notes, workers.Queue) {
	t.Helper()
	ctx := testContext(t)
	eng := testengine.New(t, dredge.WithTimeouts(-1, -1))
	q := workers.NewMemory(workers.MemoryConfig{})
	p := workers.NewPool(eng, q, workers.PoolConfig{Concurrency: 2, Heartbeat: 10 * time.Millisecond})
	p.Start()
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_ = p.Shutdown(sctx)
		_ = q.Close()
	})
	opts.Jobs = q
	ct, st := sdk.NewInMemoryTransports()
	ss, err := NewServer(eng, &opts).Connect(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := &notes{}
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "test", Version: "1"},
		&sdk.ClientOptions{ProgressNotificationHandler: n.add}).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cs.Close()
		_ = ss.Wait()
	})
	return cs, n, q
}

// callJSON calls a tool and returns its structured content decoded, and
// whether it is a tool error.
func callJSON(t *testing.T, cs *sdk.ClientSession, tool string, args any, token any) (map[string]any, bool) {
	t.Helper()
	params := &sdk.CallToolParams{Name: tool, Arguments: args}
	if token != nil {
		params.SetProgressToken(token)
	}
	res, err := cs.CallTool(testContext(t), params)
	if err != nil {
		t.Fatalf("%s(%v): %v", tool, args, err)
	}
	m, _ := decode(t, res.StructuredContent).(map[string]any)
	if txt := text(t, res); !res.IsError && !jsonEqual(decode(t, []byte(txt)), m) {
		t.Errorf("%s: text %s differs from the structured content %v", tool, txt, m)
	}
	return m, res.IsError
}

func submitJob(t *testing.T, cs *sdk.ClientSession, op string, params string) string {
	t.Helper()
	out, isErr := callJSON(t, cs, SubmitJobTool, map[string]any{"operation": op, "params": json.RawMessage(params)}, nil)
	id, _ := out["job_id"].(string)
	if isErr || !workers.ValidID(id) || out["status"] != "pending" {
		t.Fatalf("submit_job %s %s: %v", op, params, out)
	}
	return id
}

// TestJobToolsBenchmark: a benchmark job submitted over MCP and followed
// with get_job (wait, progress token) sends progress notifications while
// it trains and ends completed with benchmark's own response.
func TestJobToolsBenchmark(t *testing.T) {
	cs, n, _ := jobsSetup(t, Options{})
	const epochs = 3000
	id := submitJob(t, cs, "benchmark", `{"model_type":"quasimoto_1d","config":{"epochs":3000}}`)
	st, isErr := callJSON(t, cs, GetJobTool, map[string]any{"job_id": id, "wait": true}, "job-token")
	if isErr || st["status"] != "completed" || st["job_id"] != id || st["operation"] != "benchmark" {
		t.Fatalf("get_job wait: %v", st)
	}
	result, _ := st["result"].(map[string]any)
	direct, isErr := callJSON(t, cs, "benchmark", map[string]any{"model_type": "quasimoto_1d", "config": map[string]any{"epochs": 10}}, nil)
	if isErr || result["success"] != true || result["epochs"] != float64(epochs) || result["model_type"] != "quasimoto_1d" ||
		!slices.Equal(keys(result), keys(direct)) {
		t.Errorf("the job's result %v, want benchmark's own response (fields %v)", result, keys(direct))
	}
	if p, _ := st["progress"].(map[string]any); p["total"] != float64(epochs) {
		t.Errorf("the completed job's progress %v", st["progress"])
	}
	got := n.wait()
	if len(got) == 0 {
		t.Fatal("no progress notification while the job trained")
	}
	for i, p := range got {
		if p.ProgressToken != "job-token" || p.Total != epochs || p.Progress < 1 || p.Progress > epochs ||
			i > 0 && p.Progress <= got[i-1].Progress || !strings.Contains(p.Message, "training quasimoto_1d") {
			t.Errorf("notification %d: %+v", i, p)
		}
	}
}

// TestBenchmarkToolProgress: a direct benchmark call with a progress token
// gets progress notifications while it trains; without one, none.
func TestBenchmarkToolProgress(t *testing.T) {
	cs, n, _ := jobsSetup(t, Options{})
	args := map[string]any{"model_type": "quasimoto_1d", "config": map[string]any{"epochs": 500}}
	if out, isErr := callJSON(t, cs, "benchmark", args, nil); isErr || out["success"] != true {
		t.Fatalf("benchmark: %v", out)
	}
	if out, isErr := callJSON(t, cs, "benchmark", args, 7); isErr || out["success"] != true {
		t.Fatalf("benchmark with a progress token: %v", out)
	}
	// The client handles notifications on goroutines of its own: the last
	// may land after the call's result.
	got := n.wait()
	for deadline := time.Now().Add(5 * time.Second); len(got) > 0 && got[len(got)-1].Progress != 500 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		got = n.wait()
	}
	if len(got) == 0 {
		t.Fatal("no progress notification")
	}
	for i, p := range got {
		if p.ProgressToken != 7.0 && p.ProgressToken != int64(7) && p.ProgressToken != 7 {
			t.Errorf("notification %d token %v (%T), want 7", i, p.ProgressToken, p.ProgressToken)
		}
		if p.Total != 500 || i > 0 && p.Progress <= got[i-1].Progress {
			t.Errorf("notification %d: %+v", i, p)
		}
	}
	if last := got[len(got)-1]; last.Progress != 500 {
		t.Errorf("last notification %+v, want progress 500", last)
	}
}

// TestJobToolsCancel: a running job is canceled; canceling it again names
// its state.
func TestJobToolsCancel(t *testing.T) {
	cs, _, q := jobsSetup(t, Options{JobWait: 100 * time.Millisecond})
	id := submitJob(t, cs, "benchmark", `{"model_type":"siren","config":{"epochs":50000}}`)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		s, err := q.Status(testContext(t), id)
		if err != nil {
			t.Fatal(err)
		}
		if s.Status == workers.Running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job still %s", s.Status)
		}
	}
	// wait is bounded by JobWait: the job is still running.
	start := time.Now()
	if st, isErr := callJSON(t, cs, GetJobTool, map[string]any{"job_id": id, "wait": true}, nil); isErr || st["status"] != "running" {
		t.Errorf("get_job wait on a long job: %v", st)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("get_job waited %v, bound 100ms", took)
	}
	if st, isErr := callJSON(t, cs, CancelJobTool, map[string]any{"job_id": id}, nil); isErr || st["status"] != "canceled" {
		t.Fatalf("cancel_job: %v", st)
	}
	out, isErr := callJSON(t, cs, CancelJobTool, map[string]any{"job_id": id}, nil)
	if !isErr || out["code"] != "invalid_argument" || out["field"] != "job_id" || !strings.Contains(out["error"].(string), "already canceled") {
		t.Errorf("cancel_job of a canceled job: %v", out)
	}
	if st, isErr := callJSON(t, cs, GetJobTool, map[string]any{"job_id": id}, nil); isErr || st["status"] != "canceled" {
		t.Errorf("get_job of the canceled job: %v", st)
	}
}

// TestJobToolsBadInput: bad input is a tool error naming the field, as in
// the HTTP API's jobs; a job with bad params fails with the operation's
// own error.
func TestJobToolsBadInput(t *testing.T) {
	cs, _, _ := jobsSetup(t, Options{})
	const unknownID = "0123456789abcdef0123456789abcdef"
	for _, c := range []struct {
		name, tool string
		args       any
		code       dredge.Code
		field      string
	}{
		{"unknown operation", SubmitJobTool, map[string]any{"operation": "frobnicate"}, dredge.CodeNotFound, "operation"},
		{"missing operation", SubmitJobTool, map[string]any{"params": map[string]any{}}, dredge.CodeInvalidArgument, "operation"},
		{"operation not a string", SubmitJobTool, map[string]any{"operation": 5}, dredge.CodeInvalidArgument, "operation"},
		{"params not an object", SubmitJobTool, map[string]any{"operation": "lift", "params": []int{1}}, dredge.CodeInvalidArgument, "params"},
		{"unknown argument", SubmitJobTool, map[string]any{"operation": "lift", "parms": map[string]any{}}, dredge.CodeInvalidArgument, "arguments"},
		{"missing id", GetJobTool, map[string]any{}, dredge.CodeInvalidArgument, "job_id"},
		{"malformed id", GetJobTool, map[string]any{"job_id": "../../etc/passwd"}, dredge.CodeInvalidArgument, "job_id"},
		{"upper-case id", GetJobTool, map[string]any{"job_id": strings.ToUpper(unknownID)}, dredge.CodeInvalidArgument, "job_id"},
		{"wait not a boolean", GetJobTool, map[string]any{"job_id": unknownID, "wait": "yes"}, dredge.CodeInvalidArgument, "wait"},
		{"unknown id", GetJobTool, map[string]any{"job_id": unknownID}, dredge.CodeNotFound, "job_id"},
		{"cancel malformed id", CancelJobTool, map[string]any{"job_id": 12}, dredge.CodeInvalidArgument, "job_id"},
		{"cancel unknown id", CancelJobTool, map[string]any{"job_id": unknownID}, dredge.CodeNotFound, "job_id"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, isErr := callJSON(t, cs, c.tool, c.args, nil)
			if !isErr || out["code"] != string(c.code) || out["field"] != c.field || out["success"] != false {
				t.Errorf("%s(%v): %v, want a tool error %s naming %s", c.tool, c.args, out, c.code, c.field)
			}
		})
	}
	// The params themselves are the operation's to check when the job runs.
	id := submitJob(t, cs, "string_spectrum", `{"max_modes":-1}`)
	st, isErr := callJSON(t, cs, GetJobTool, map[string]any{"job_id": id, "wait": true}, nil)
	if isErr || st["status"] != "failed" || st["code"] != "invalid_argument" || !strings.HasPrefix(st["error"].(string), "max_modes:") {
		t.Errorf("a job with bad params: %v, want failed with string_spectrum's own error", st)
	}
}

// TestJobToolsListed: the job tools are listed only with a queue.
func TestJobToolsListed(t *testing.T) {
	cs, _, _ := jobsSetup(t, Options{})
	res, err := cs.ListTools(testContext(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
	}
	want := append(dredge.Operations(), SubmitJobTool, GetJobTool, CancelJobTool)
	if slices.Sort(names); !slices.Equal(names, slices.Sorted(slices.Values(want))) {
		t.Errorf("tools %v, want the operations and the job tools", names)
	}
}
