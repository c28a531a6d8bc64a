//go:build unix

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"go/build"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var rssLines = flag.Int("rss-lines", 1_000_000, "lines of the batch whose peak RSS TestPeakRSS measures")

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// buildBatch builds this command (without -race) once per test binary.
func buildBatch(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			goTool = filepath.Join(build.Default.GOROOT, "bin", "go")
		}
		dir, err := os.MkdirTemp("", "batch-test")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "batch")
		cmd := exec.Command(goTool, "build", "-o", builtBin, "github.com/dredge-cli/dredge/examples/batch")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("building examples/batch: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builtBin != "" {
		os.RemoveAll(filepath.Dir(builtBin))
	}
	os.Exit(code)
}

// TestStdio runs tasks from stdin to stdout: the results on stdout, the
// summary on stderr; and the command's usage errors.
func TestStdio(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	bin := buildBatch(t)
	cmd := exec.Command(bin, "-in", "-", "-out", "-", "-ordered", "-json")
	cmd.Stdin = bytes.NewReader([]byte(`{"id": "a", "operation": "string_spectrum", "params": {"max_modes": 2}}
{"operation": "nope"}
`))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s", err, stderr.Bytes())
	}
	want := `{"id":"a","result":{"success":true,"dimensions":10,"max_modes":2,"energy_spectrum":[0.5,1],"cached":false}}` + "\n" +
		`{"id":"line-2","error":"operation: unknown operation \"nope\" (known: benchmark, get_cache_stats, get_metrics, get_parameters, inference, lift, list_capabilities, list_models, load_model, string_parameters, string_spectrum, unified_inference, unload_model)","code":"not_found","field":"operation","line":2}` + "\n"
	if stdout.String() != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout.Bytes(), want)
	}
	var sum struct {
		TotalTasks         int64 `json:"total_tasks"`
		Successful, Failed int64
	}
	if err := json.Unmarshal(stderr.Bytes(), &sum); err != nil || sum.TotalTasks != 2 || sum.Successful != 1 || sum.Failed != 1 {
		t.Errorf("summary on stderr %q: %+v, %v", stderr.Bytes(), sum, err)
	}

	// The same tasks as jobs of an in-process memory queue: the same output.
	cmd = exec.Command(bin, "-in", "-", "-out", "-", "-ordered", "-queue", "memory")
	cmd.Stdin = bytes.NewReader([]byte(`{"id": "a", "operation": "string_spectrum", "params": {"max_modes": 2}}
{"operation": "nope"}
`))
	stdout.Reset()
	stderr.Reset()
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("-queue memory: %v\n%s", err, stderr.Bytes())
	}
	if stdout.String() != want {
		t.Errorf("-queue memory: stdout:\n%s\nwant:\n%s", stdout.Bytes(), want)
	}

	for _, args := range [][]string{{}, {"-tasks", "10", "-in", "x.jsonl"}, {"-in", "x", "extra"}} {
		cmd := exec.Command(bin, args...)
		out, err := cmd.CombinedOutput()
		if ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus); err == nil || ws.ExitStatus() != 2 || !bytes.Contains(out, []byte("want either -tasks N or -in FILE")) {
			t.Errorf("%q: %v, %s", args, err, out)
		}
	}
	for _, args := range [][]string{{"-in", "x", "-queue", "kafka"}, {"-tasks", "10", "-queue", "memory"}} {
		cmd := exec.Command(bin, args...)
		out, err := cmd.CombinedOutput()
		if ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus); err == nil || ws.ExitStatus() != 2 || !bytes.Contains(out, []byte("-queue is memory or redis, with -in")) {
			t.Errorf("%q: %v, %s", args, err, out)
		}
	}
}

// writeTasks writes n task lines with ids t0…t(n-1); heavy ones are
// unified_inference (answers of about 4 KB), else string_spectrum and lift
// (answers under 200 bytes).
func writeTasks(t *testing.T, path string, n int, heavy bool) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for i := range n {
		switch {
		case heavy:
			fmt.Fprintf(w, `{"id":"t%d","operation":"unified_inference","params":{"dredge_insight":"insight %d","quasimoto_coords":[%g,0.2,0.3],"string_modes":[1,2,3]}}`+"\n", i, i, 0.1*float64(i%10))
		case i%2 == 0:
			fmt.Fprintf(w, `{"id":"t%d","operation":"string_spectrum","params":{"max_modes":%d}}`+"\n", i, 1+i%5)
		default:
			fmt.Fprintf(w, `{"id":"t%d","operation":"lift","params":{"insight_text":"insight %d"}}`+"\n", i, i)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// checkOnce checks that the results file holds every id t0…t(n-1)
// exactly once, each a success.
func checkOnce(t *testing.T, path string, n int) {
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
		// Each line must be {"id":"tN","result":{"success":true,…}}: checked
		// by its prefix, as decoding 400 MB of answers would be slow.
		b := sc.Bytes()
		digits, _ := bytes.CutPrefix(b, []byte(`{"id":"t`))
		end := bytes.IndexByte(digits, '"')
		i, err := strconv.Atoi(string(digits[:max(end, 0)]))
		if err != nil || i < 0 || i >= n || !bytes.HasSuffix(b, []byte("}}")) ||
			!bytes.HasPrefix(b, fmt.Appendf(nil, `{"id":"t%d","result":{"success":true`, i)) {
			t.Fatalf("line %d: %.200q", lines, b)
		}
		seen[i]++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for i, c := range seen {
		if c != 1 {
			t.Errorf("t%d written %d times", i, c)
		}
	}
	if lines != n {
		t.Errorf("%d lines, want %d", lines, n)
	}
}

// TestKillAndResume runs a 100,000-line batch, stops it once about half
// the results are written (SIGKILL; SIGTERM, which it handles), reruns it
// and expects every task exactly once, each a success: a task cut short
// by the stop is not written as a failure.
func TestKillAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command and runs 100,000 tasks")
	}
	bin := buildBatch(t)
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) { killAndResume(t, bin, sig) })
	}
}

func killAndResume(t *testing.T, bin string, sig syscall.Signal) {
	const n = 100_000
	dir := t.TempDir()
	in, out := filepath.Join(dir, "tasks.jsonl"), filepath.Join(dir, "results.jsonl")
	writeTasks(t, in, n, true)

	cmd := exec.Command(bin, "-in", in, "-out", out, "-no-progress", "-workers", "1")
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	var firstErr bytes.Buffer
	cmd.Stderr = &firstErr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Follow the results as they are written, counting lines.
	lines := 0
	var f *os.File
	buf := make([]byte, 1<<20)
	deadline := time.Now().Add(60 * time.Second)
	// SIGKILL lands half-way. SIGTERM's clean stop lets 10,000–40,000 more
	// results reach the output here (61–91% of the batch at the rerun when
	// signalled half-way, and in 2 of 11 runs the batch finished first), so
	// it is signalled a quarter of the way.
	at := n / 2
	if sig != syscall.SIGKILL {
		at = n / 4
	}
	for lines < at {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("only %d lines after 60 s", lines)
		}
		if f == nil {
			var err error
			if f, err = os.Open(out); err != nil {
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
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if sig == syscall.SIGKILL && (!ws.Signaled() || ws.Signal() != sig) || sig != syscall.SIGKILL && ws.ExitStatus() != 1 {
		t.Fatalf("the first run was not stopped by %v (finished first?): %v", sig, err)
	}
	st, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	torn := false
	if b, err := os.ReadFile(out); err == nil && len(b) > 0 {
		torn = b[len(b)-1] != '\n'
	}
	if sig != syscall.SIGKILL && !bytes.Contains(firstErr.Bytes(), []byte("interrupted; rerun the same command to resume")) {
		t.Errorf("stderr after %v: %q", sig, firstErr.Bytes())
	}
	t.Logf("signalled after %d lines seen (%d bytes written, torn last line: %v)", lines, st.Size(), torn)

	rerun := exec.Command(bin, "-in", in, "-out", out, "-no-progress", "-json")
	var stdout, stderr bytes.Buffer
	rerun.Stdout, rerun.Stderr = &stdout, &stderr
	if err := rerun.Run(); err != nil {
		t.Fatalf("rerun: %v\n%s", err, stderr.Bytes())
	}
	var sum struct {
		TotalTasks int64 `json:"total_tasks"`
		Skipped    int64 `json:"skipped"`
		Resumed    int64 `json:"resumed"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil {
		t.Fatalf("summary %q: %v", stdout.Bytes(), err)
	}
	t.Logf("rerun: %d results resumed, %d tasks skipped, %d run", sum.Resumed, sum.Skipped, sum.TotalTasks)
	if sum.Skipped < int64(at) || sum.Skipped+sum.TotalTasks != n {
		t.Errorf("rerun skipped %d and ran %d of %d", sum.Skipped, sum.TotalTasks, n)
	}
	checkOnce(t, out, n)
}

// TestPeakRSS runs a 1,000,000-line batch (-rss-lines) in a child
// process with the default settings (the result cache on, every
// unified_inference answer distinct, so that the cache fills), then reruns it
// with every result already there, and reports each run's peak resident
// memory; both must stay under 100 MB.
func TestPeakRSS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command and runs a million tasks")
	}
	n := *rssLines
	bin := buildBatch(t)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "tasks.jsonl"), filepath.Join(dir, "results.jsonl")
	writeTasks(t, in, n, true) // every answer distinct: the cache fills and churns
	for _, run := range []string{"fresh", "all skipped"} {
		cmd := exec.Command(bin, "-in", in, "-out", out, "-no-progress", "-json")
		cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
			return strings.HasPrefix(kv, "CACHE_") || strings.HasPrefix(kv, "GOMEMLIMIT=") || strings.HasPrefix(kv, "GOGC=")
		}) // the defaults, result cache included
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// The child's VmHWM, read until it exits: the high-water mark of its
		// own memory (rusage's maxrss would count this process's memory,
		// which the child shares between fork and exec).
		status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var hwm int64
		var err error
	poll:
		for {
			if kb := vmHWM(status); kb > hwm {
				hwm = kb
			}
			select {
			case err = <-done:
				break poll
			case <-time.After(5 * time.Millisecond):
			}
		}
		if err != nil {
			t.Fatalf("%s: %v\n%s", run, err, stderr.Bytes())
		}
		if hwm == 0 {
			t.Skip("no /proc/PID/status VmHWM on this system")
		}
		rss := float64(hwm) * 1024 / 1e6
		t.Logf("%d lines, %s: peak RSS %.1f MB; %s", n, run, rss, bytes.TrimSpace(stdout.Bytes()))
		if rss >= 100 {
			t.Errorf("%s: peak RSS %.1f MB, want under 100", run, rss)
		}
	}
	checkOnce(t, out, n)
}

// vmHWM returns the VmHWM (peak resident set) in KiB of a /proc status
// file, 0 when it cannot.
func vmHWM(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	_, rest, ok := bytes.Cut(b, []byte("VmHWM:"))
	if !ok {
		return 0
	}
	var kb int64
	fmt.Sscan(string(rest), &kb)
	return kb
}
