//go:build unix

package faulttest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dredge-cli/dredge/internal/testredis"
)

// printLogs prints the output of the processes even when the test passes.
var printLogs = flag.Bool("logs", false, "print the output of the service, the workers and Redis even when the test passes")

const (
	jobsPerPhase = 1000
	claimAfter   = 2 * time.Second
	// finalWithin bounds the wait for every job of a phase to finish.
	finalWithin = 60 * time.Second
)

// TestFaultWorkerAndRedisKilled runs the service (enqueue only), two
// worker processes and Redis (append-only, appendfsync always).
//
// Phase 1 submits jobs and SIGKILLs a worker while it holds some: every
// job must end completed with its own successful result. Phase 2 starts a
// replacement worker, submits more jobs from several clients and
// SIGKILLs Redis while they come in, restarting it on the same port and
// data a second later: every job answered 202 must end completed; the
// submissions refused meanwhile must be 503.
func TestFaultWorkerAndRedisKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the fault test builds and runs the service, two workers and redis-server")
	}
	bin := buildBinaries(t, "./examples/http-service", "./examples/worker")
	srv := testredis.StartWith(t, testredis.Options{AppendOnly: true})
	env := []string{
		"REDIS_URL=" + srv.URL(),
		"QUEUE_BACKEND=redis",
		"QUEUE_CLAIM_AFTER=" + claimAfter.String(),
		"CACHE_BACKEND=memory",
		"LOG_LEVEL=warn",
	}

	svcPort := testredis.FreePort(t)
	start(t, "service", filepath.Join(bin, "http-service"), []string{"-addr", "127.0.0.1:" + strconv.Itoa(svcPort)},
		append(env, "NUM_WORKERS=0"))
	api := &client{base: "http://127.0.0.1:" + strconv.Itoa(svcPort), hc: &http.Client{
		Timeout:   15 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64},
	}}
	api.waitOK(t, "/ready")
	workerA := startWorker(t, bin, "worker-a", env)
	startWorker(t, bin, "worker-b", env)

	// Phase 1: a worker killed while it holds jobs.
	t0 := time.Now()
	var phase1 []job
	for i := range jobsPerPhase {
		phase1 = append(phase1, newJob(i))
	}
	var count atomic.Int64 // jobs accepted so far
	subs := api.submitInBackground(t, phase1, &count)
	waitAccepted(&count, jobsPerPhase/4, subs)
	// Kill it while it runs jobs (its busy gauge), else look again.
	at := -1 // jobs accepted when the worker died
	for deadline := time.Now().Add(20 * time.Second); at < 0 && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if busy, err := workerA.busy(); err == nil && busy > 0 {
			workerA.kill()
			at = int(count.Load())
		}
	}
	res := <-subs
	if at < 0 {
		t.Fatal("phase 1: worker-a was never seen running a job: the kill could not land mid-run")
	}
	if res.refused > 0 || len(res.accepted) != len(phase1) {
		t.Fatalf("phase 1: %d of %d jobs accepted, %d submissions refused, with Redis up", len(res.accepted), len(phase1), res.refused)
	}
	first := res.accepted
	api.waitFinal(t, "phase 1", first)
	twice := checkCompleted(t, "phase 1", api, first)
	if twice == 0 {
		t.Error("phase 1: no job ran twice: the killed worker held none, so nothing was taken over")
	}
	t.Logf("phase 1: %d jobs completed in %v; worker-a SIGKILLed after %d submissions; %d jobs delivered twice or more",
		len(first), time.Since(t0).Round(time.Millisecond), at, twice)
	if t.Failed() {
		return
	}

	// Phase 2: Redis killed and restarted on its own data.
	startWorker(t, bin, "worker-c", env) // replaces worker-a
	t0 = time.Now()
	var phase2 []job
	for i := range jobsPerPhase {
		phase2 = append(phase2, newJob(jobsPerPhase+i))
	}
	count.Store(0)
	subs = api.submitInBackground(t, phase2, &count)
	waitAccepted(&count, jobsPerPhase/4, subs)
	downAt := time.Now()
	srv.Kill()
	time.Sleep(time.Second)
	srv.Restart()
	down := time.Since(downAt)
	res = <-subs
	if len(res.accepted) != len(phase2) {
		t.Errorf("phase 2: %d of %d jobs accepted", len(res.accepted), len(phase2))
	}
	if res.refused == 0 {
		t.Error("phase 2: no submission was refused: Redis went down after the last one")
	}
	api.waitFinal(t, "phase 2", res.accepted)
	twice = checkCompleted(t, "phase 2", api, res.accepted)
	t.Logf("phase 2: %d jobs accepted and completed in %v; Redis down for %v; %d submissions refused with 503 meanwhile (retried after Retry-After); %d jobs delivered twice or more",
		len(res.accepted), time.Since(t0).Round(time.Millisecond), down.Round(time.Millisecond), res.refused, twice)

	// The results of phase 1 came back with Redis's data.
	checkCompleted(t, "phase 1 after the restart", api, first)
}

// buildBinaries builds the packages pkgs (paths from the module's root,
// such as "./examples/worker") into a temporary directory. They are built
// without -race even under -race: on a small machine instrumented
// processes run ten times slower, and a race they report would not fail
// the test (their own tests run them with -race).
func buildBinaries(t *testing.T, pkgs ...string) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("the go command is not on PATH: %v", err)
	}
	if _, err := os.Stat(testredis.Bin); err != nil {
		t.Skipf("%s not found (apt-get install redis-server): %v", testredis.Bin, err)
	}
	dir := t.TempDir()
	cmd := exec.Command(gobin, append([]string{"build", "-o", dir + string(filepath.Separator)}, pkgs...)...)
	cmd.Dir = filepath.Join("..", "..") // the module's root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return dir
}

// proc is a process the test owns; its stderr goes to a file that is
// printed when the test fails.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	port int    // the worker's METRICS_PORT
	log  string // the file of its stdout and stderr
}

func start(t *testing.T, name, bin string, args, env []string) *proc {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{name: name, cmd: exec.Command(bin, args...), done: make(chan struct{}), log: logPath}
	p.cmd.Env = append(os.Environ(), env...) // the last value of a key wins
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); logf.Close(); close(p.done) }()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() || *printLogs {
			b, _ := os.ReadFile(logPath)
			t.Logf("%s's output:\n%s", name, tail(b, 8<<10))
		}
	})
	return p
}

// kill SIGKILLs the process and waits for it.
func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// startWorker starts examples/worker with env, running 2 × 2 jobs at
// once, and waits until its /health answers 200.
func startWorker(t *testing.T, bin, name string, env []string) *proc {
	t.Helper()
	return startWorkerN(t, bin, name, env, 2, 2)
}

// startWorkerN is startWorker with NUM_WORKERS=workers and
// WORKER_CONCURRENCY=each.
func startWorkerN(t *testing.T, bin, name string, env []string, workers, each int) *proc {
	t.Helper()
	port := testredis.FreePort(t)
	p := start(t, name, filepath.Join(bin, "worker"), nil,
		append(env, "NUM_WORKERS="+strconv.Itoa(workers), "WORKER_CONCURRENCY="+strconv.Itoa(each), "METRICS_PORT="+strconv.Itoa(port)))
	p.port = port
	(&client{base: "http://127.0.0.1:" + strconv.Itoa(port), hc: http.DefaultClient}).waitOK(t, "/health")
	return p
}

// busy reads the worker's dredge_workers_busy gauge: the jobs it runs.
func (p *proc) busy() (int, error) { return p.gauge("dredge_workers_busy") }

// gauge reads a gauge of the worker's /metrics.
func (p *proc) gauge(name string) (int, error) {
	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(p.port) + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return int(f), err
		}
	}
	return 0, fmt.Errorf("no %s in /metrics", name)
}

// job is one submission and what its result must say.
type job struct {
	op     string
	params string
	want   map[string]any // fields the result must have (with "success": true)
	id     string
}

// newJob returns job i of a mix of quick operations and a few short
// trainings; each result echoes something of its params, so that a result
// is known to be this job's.
func newJob(i int) job {
	switch {
	case i%20 == 0:
		// Long enough (some 45 ms at 0.75 ms an epoch) that the worker
		// killed in phase 1 still holds one when SIGKILL lands: at 2 epochs
		// the job was done by then in one CI run, and nothing was taken over.
		return job{op: "benchmark", params: `{"model_type":"siren","config":{"epochs":60}}`,
			want: map[string]any{"epochs": 60.0, "model_type": "siren"}}
	case i%3 == 0:
		n := 1 + i%8
		return job{op: "string_spectrum", params: fmt.Sprintf(`{"max_modes":%d}`, n),
			want: map[string]any{"max_modes": float64(n)}}
	case i%3 == 1:
		s := "fault " + strconv.Itoa(i)
		return job{op: "unified_inference", params: fmt.Sprintf(`{"dredge_insight":%q}`, s),
			want: map[string]any{"dredge_insight": s}}
	default:
		s := "insight " + strconv.Itoa(i)
		return job{op: "lift", params: fmt.Sprintf(`{"insight_text":%q}`, s),
			want: map[string]any{"text": s, "lifted": true}}
	}
}

// client talks to the service's job API.
type client struct {
	base string
	hc   *http.Client
}

func (c *client) waitOK(t *testing.T, path string) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		resp, err := c.hc.Get(c.base + path)
		if err != nil {
			last = err.Error()
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return
		}
		last = fmt.Sprintf("%d %s", resp.StatusCode, b)
	}
	t.Fatalf("%s%s not ready within 20s: %s", c.base, path, last)
}

type submitted struct {
	accepted []*job
	refused  int // 503s
}

// submitAll submits jobs from n goroutines and counts the accepted ones
// in count. A submission answered 503 is counted as refused and submitted
// again after its Retry-After; any other answer but 202 fails the test
// (and the job is left out of the accepted ones).
func (c *client) submitAll(t *testing.T, jobs []job, n int, count *atomic.Int64) submitted {
	t.Helper()
	var (
		next    atomic.Int64
		refused atomic.Int64
		wg      sync.WaitGroup
	)
	for range n {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(jobs) {
					return
				}
				j := &jobs[i]
				body := fmt.Sprintf(`{"operation":%q,"params":%s}`, j.op, j.params)
				for try := 0; ; try++ {
					code, resp, retry, err := c.post("/v1/jobs", body)
					if err == nil && code == http.StatusAccepted {
						var r struct {
							ID string `json:"job_id"`
						}
						if err := json.Unmarshal(resp, &r); err != nil || r.ID == "" {
							t.Errorf("submit %s: 202 without a job id: %s", j.op, resp)
							return
						}
						j.id = r.ID
						count.Add(1)
						break
					}
					if err != nil || code != http.StatusServiceUnavailable {
						t.Errorf("submit %s: want 202 or 503, got %d %s (%v)", j.op, code, resp, err)
						return
					}
					refused.Add(1)
					if try > 30 {
						t.Errorf("submit %s: still 503 after %d tries: %s", j.op, try, resp)
						return
					}
					time.Sleep(retry)
				}
			}
		})
	}
	wg.Wait()
	out := submitted{refused: int(refused.Load())}
	for i := range jobs {
		if jobs[i].id != "" {
			out.accepted = append(out.accepted, &jobs[i])
		}
	}
	return out
}

// submitInBackground runs submitAll with 8 clients in a goroutine and
// sends its outcome on the channel it returns.
func (c *client) submitInBackground(t *testing.T, jobs []job, count *atomic.Int64) <-chan submitted {
	out := make(chan submitted, 1)
	go func() { out <- c.submitAll(t, jobs, 8, count) }()
	return out
}

// waitAccepted waits until count reaches n or the submissions have ended.
func waitAccepted(count *atomic.Int64, n int, subs <-chan submitted) {
	for count.Load() < int64(n) && len(subs) == 0 {
		time.Sleep(time.Millisecond)
	}
}

// post posts body and returns the answer's status, body and Retry-After.
func (c *client) post(path, body string) (int, []byte, time.Duration, error) {
	resp, err := c.hc.Post(c.base+path, "application/json", strings.NewReader(body))
	if err != nil {
		return 0, nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	retry := time.Second
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
		retry = time.Duration(s) * time.Second
	}
	return resp.StatusCode, b, retry, err
}

// state is the part of GET /v1/jobs/{id} the test reads.
type state struct {
	Status   string          `json:"status"`
	Result   json.RawMessage `json:"result"`
	Error    string          `json:"error"`
	Code     string          `json:"code"`
	Attempts int             `json:"attempts"`
}

func (c *client) status(id string) (state, error) {
	resp, err := c.hc.Get(c.base + "/v1/jobs/" + id)
	if err != nil {
		return state{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return state{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return state{}, fmt.Errorf("GET /v1/jobs/%s: %d %s", id, resp.StatusCode, b)
	}
	var s state
	if err := json.Unmarshal(b, &s); err != nil {
		return state{}, fmt.Errorf("GET /v1/jobs/%s: %v: %s", id, err, b)
	}
	return s, nil
}

// waitFinal waits until every job is completed or failed, polling from 8
// goroutines, and fails the test after finalWithin. A job the service does
// not know fails the test at once (it was lost).
func (c *client) waitFinal(t *testing.T, phase string, jobs []*job) {
	t.Helper()
	deadline := time.Now().Add(finalWithin)
	left := jobs
	for len(left) > 0 {
		var (
			mu      sync.Mutex
			pending []*job
			wg      sync.WaitGroup
			lost    atomic.Int64
		)
		for w := range 8 {
			wg.Go(func() {
				for i := w; i < len(left); i += 8 {
					j := left[i]
					s, err := c.status(j.id)
					if err != nil && strings.Contains(err.Error(), ": 404 ") {
						if lost.Add(1) <= 5 {
							t.Errorf("%s: job %s (%s) lost: %v", phase, j.id, j.op, err)
						}
						continue
					}
					if err != nil || (s.Status != "completed" && s.Status != "failed") {
						mu.Lock()
						pending = append(pending, j)
						mu.Unlock()
					}
				}
			})
		}
		wg.Wait()
		if n := lost.Load(); n > 0 {
			t.Fatalf("%s: %d jobs lost", phase, n)
		}
		left = pending
		if len(left) > 0 && time.Now().After(deadline) {
			s, err := c.status(left[0].id)
			t.Fatalf("%s: %d of %d jobs not finished within %v; the first: %s %+v %v",
				phase, len(left), len(jobs), finalWithin, left[0].id, s, err)
		}
		if len(left) > 0 {
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// checkCompleted checks that every job is completed with its own
// successful result, and returns how many ran more than once.
func checkCompleted(t *testing.T, phase string, c *client, jobs []*job) (twice int) {
	t.Helper()
	bad := 0
	for _, j := range jobs {
		s, err := c.status(j.id)
		if err == nil {
			err = j.check(s)
		}
		if err != nil {
			if bad++; bad <= 5 {
				t.Errorf("%s: job %s (%s %s): %v", phase, j.id, j.op, j.params, err)
			}
			continue
		}
		if s.Attempts > 1 {
			twice++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d jobs not completed with their result", phase, bad, len(jobs))
	}
	return twice
}

// check checks that s is completed with a successful result of j.
func (j *job) check(s state) error {
	if s.Status != "completed" {
		return fmt.Errorf("status %s (%s: %s), want completed", s.Status, s.Code, s.Error)
	}
	var r map[string]any
	if err := json.Unmarshal(s.Result, &r); err != nil {
		return fmt.Errorf("result %s: %v", s.Result, err)
	}
	if r["success"] != true {
		return fmt.Errorf("result without success: %s", s.Result)
	}
	for k, v := range j.want {
		if r[k] != v {
			return fmt.Errorf("result's %s is %v, want %v: %s", k, r[k], v, tail(s.Result, 300))
		}
	}
	return nil
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return append([]byte("…"), b[len(b)-n:]...)
	}
	return bytes.TrimSpace(b)
}
