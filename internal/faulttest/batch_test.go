//go:build unix

package faulttest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/dredge-cli/dredge/internal/testredis"
)

// TestBatchThroughRedis runs examples/batch with -queue redis against two
// examples/worker processes: a batch of a few thousand lines ends with
// every task exactly once in the output, each with its own result. Then
// a second batch is SIGKILLed half-way and rerun: still every task
// exactly once.
func TestBatchThroughRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds and runs examples/batch, two workers and redis-server")
	}
	bin := buildBinaries(t, "./examples/batch", "./examples/worker")
	srv := testredis.Start(t, 0)
	env := []string{"REDIS_URL=" + srv.URL(), "QUEUE_PREFIX=dredge:batchtest", "LOG_LEVEL=warn"}
	startWorker(t, bin, "worker-a", env)
	startWorker(t, bin, "worker-b", env)
	dir := t.TempDir()

	const n = 4000
	in, out := filepath.Join(dir, "tasks.jsonl"), filepath.Join(dir, "results.jsonl")
	writeBatchTasks(t, in, unifiedTasks, n, "first")
	t0 := time.Now()
	sum := runBatch(t, bin, env, in, out)
	t.Logf("%d tasks through Redis and two workers in %v: %s", n, time.Since(t0).Round(time.Millisecond), sum)
	checkBatchOnce(t, out, unifiedTasks, n, "first")

	// Killed half-way, then rerun.
	in2, out2 := filepath.Join(dir, "tasks2.jsonl"), filepath.Join(dir, "results2.jsonl")
	writeBatchTasks(t, in2, unifiedTasks, n, "second")
	cmd := exec.Command(filepath.Join(bin, "batch"), "-in", in2, "-out", out2, "-queue", "redis", "-no-progress", "-workers", "16")
	cmd.Env = append(os.Environ(), env...)
	var firstErr bytes.Buffer
	cmd.Stderr = &firstErr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := followLines(t, cmd, out2, n/2)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if ws, _ := cmd.ProcessState.Sys().(interface{ Signaled() bool }); ws == nil || !ws.Signaled() {
		t.Fatalf("the first run was not killed (finished first?): %s\n%s", cmd.ProcessState, firstErr.Bytes())
	}
	t.Logf("SIGKILLed after %d result lines seen", lines)
	sum = runBatch(t, bin, env, in2, out2)
	t.Logf("rerun: %s", sum)
	checkBatchOnce(t, out2, unifiedTasks, n, "second")
}

// taskMix is the tasks of a batch: task i's JSONL line (its id t<i>,
// tag in its params), and whether a result is task i's.
type taskMix struct {
	line  func(i int, tag string) string
	check func(i int, tag string, result map[string]any) bool
}

// echoTasks are tasks of op whose param param is "<tag> insight <i>",
// which the result echoes as its field field, so that a result is known
// to be its task's (and no batch's tasks are in the workers' caches from
// an earlier one).
func echoTasks(op, param, field string) taskMix {
	return taskMix{
		line: func(i int, tag string) string {
			return fmt.Sprintf(`{"id":"t%d","operation":%q,"params":{%q:"%s insight %d"}}`, i, op, param, tag, i)
		},
		check: func(i int, tag string, r map[string]any) bool {
			return r["success"] == true && r[field] == fmt.Sprint(tag, " insight ", i)
		},
	}
}

var (
	// unifiedTasks's results are about 4 KB, so that a batch's output is
	// flushed every few dozen lines.
	unifiedTasks = echoTasks("unified_inference", "dredge_insight", "dredge_insight")
	// liftTasks's are about 200 bytes, for batches of 100,000 tasks.
	liftTasks = echoTasks("lift", "insight_text", "text")
)

// writeBatchTasks writes tasks 0…n-1 of mix.
func writeBatchTasks(t *testing.T, path string, mix taskMix, n int, tag string) {
	t.Helper()
	var b bytes.Buffer
	for i := range n {
		b.WriteString(mix.line(i, tag) + "\n")
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// runBatch runs the batch to its end and returns its summary line.
func runBatch(t *testing.T, bin string, env []string, in, out string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, "batch"), "-in", in, "-out", out, "-queue", "redis", "-no-progress", "-timeout", "30s", "-json")
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("batch: %v\n%s", err, stderr.Bytes())
	}
	return string(bytes.TrimSpace(stdout.Bytes()))
}

// followLines waits until the file at path holds at least want lines (or
// the process ends, or a minute passes) and returns the count seen.
func followLines(t *testing.T, cmd *exec.Cmd, path string, want int) int {
	t.Helper()
	lines := 0
	var f *os.File
	buf := make([]byte, 1<<20)
	for deadline := time.Now().Add(time.Minute); lines < want; {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("only %d lines after a minute", lines)
		}
		if f == nil {
			var err error
			if f, err = os.Open(path); err != nil {
				time.Sleep(time.Millisecond)
				continue
			}
			defer f.Close()
		}
		k, err := f.Read(buf)
		lines += bytes.Count(buf[:k], []byte{'\n'})
		if err == io.EOF {
			time.Sleep(200 * time.Microsecond)
		}
	}
	return lines
}

// checkBatchOnce checks that the results file holds every id t0…t(n-1)
// of tasks of mix exactly once, each with its own task's result.
func checkBatchOnce(t *testing.T, path string, mix taskMix, n int, tag string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := make([]int, n)
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	lines := 0
	for sc.Scan() {
		lines++
		var r struct {
			ID     string         `json:"id"`
			Result map[string]any `json:"result"`
			Error  string         `json:"error"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %d: %v: %q", lines, err, sc.Bytes())
		}
		i, err := strconv.Atoi(r.ID[min(1, len(r.ID)):])
		if err != nil || i < 0 || i >= n || !mix.check(i, tag, r.Result) {
			t.Fatalf("line %d: %q", lines, sc.Bytes())
		}
		seen[i]++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	missing, twice := 0, 0
	for _, c := range seen {
		switch {
		case c == 0:
			missing++
		case c > 1:
			twice++
		}
	}
	if lines != n || missing > 0 || twice > 0 {
		t.Errorf("%d lines for %d tasks: %d tasks missing, %d written more than once", lines, n, missing, twice)
	}
}
