package batch_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/adapters/batch"
	"github.com/dredge-cli/dredge/internal/testengine"
)

func newEngine(tb testing.TB, opts ...dredge.Option) *dredge.Engine {
	return testengine.New(tb, append([]dredge.Option{dredge.WithMonitor(nil)}, opts...)...)
}

// out is one result line, decoded.
type out struct {
	ID     string          `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  string          `json:"error"`
	Code   string          `json:"code"`
	Field  string          `json:"field"`
	Line   int64           `json:"line"`
}

// decode parses result lines, failing on anything that is not one.
func decode(t *testing.T, b []byte) []out {
	t.Helper()
	var outs []out
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var o out
		if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
			t.Fatalf("result line %q: %v", sc.Text(), err)
		}
		outs = append(outs, o)
	}
	return outs
}

func byID(t *testing.T, outs []out) map[string]out {
	t.Helper()
	m := make(map[string]out, len(outs))
	for _, o := range outs {
		if _, dup := m[o.ID]; dup {
			t.Fatalf("id %q written twice", o.ID)
		}
		m[o.ID] = o
	}
	return m
}

const spectrum = `"operation": "string_spectrum", "params": {"max_modes": 3}`

// want is what a task's result line must hold: ok, or the code, field,
// line and a fragment of the message.
type want struct {
	ok    bool
	code  string
	field string
	line  int64
	msg   string
}

func TestRun(t *testing.T) {
	for _, c := range []struct {
		name    string
		input   string
		maxLine int
		want    map[string]want
	}{
		{"good lines", `{"id": "a", ` + spectrum + `}
{"id": 2, ` + spectrum + `}
{` + spectrum + `}`, 0, map[string]want{"a": {ok: true}, "2": {ok: true}, "line-3": {ok: true}}},
		{"blank lines keep their numbers", "\n  \n{" + spectrum + "}\n\n", 0, map[string]want{"line-3": {ok: true}}},
		{"bad JSON", `{"id": "a", ` + spectrum + `}
{"id": "b", "operation": 
{` + spectrum + `}
`, 0, map[string]want{
			"a": {ok: true}, "line-3": {ok: true},
			"line-2": {code: "invalid_argument", line: 2, msg: "line 2: not a JSON task object"},
		}},
		{"missing operation", `{"id": "x", "params": {}}`, 0, map[string]want{
			"x": {code: "invalid_argument", field: "operation", line: 1, msg: `line 1: missing "operation"`},
		}},
		{"id neither string nor number", `{"id": [1], ` + spectrum + `}`, 0, map[string]want{
			"line-1": {code: "invalid_argument", field: "id", line: 1, msg: "line 1: "},
		}},
		{"not an object", `[1, 2]`, 0, map[string]want{
			"line-1": {code: "invalid_argument", line: 1, msg: "line 1: not a JSON task object"},
		}},
		{"line too long", `{"id": "a", ` + spectrum + `}
{"id": "long", "operation": "lift", "params": {"insight": "` + strings.Repeat("x", 200) + `"}}
{"id": "c", ` + spectrum + `}`, 100, map[string]want{
			"a": {ok: true}, "c": {ok: true},
			"line-2": {code: "invalid_argument", line: 2, msg: "line 2: longer than 100 bytes"},
		}},
		{"unknown operation", `{"id": "u", "operation": "no_such_op"}`, 0, map[string]want{
			"u": {code: "not_found", field: "operation", line: 1, msg: "no_such_op"},
		}},
		{"bad params", `{"id": "p", "operation": "string_spectrum", "params": {"max_modes": "three"}}`, 0, map[string]want{
			"p": {code: "invalid_argument", field: "max_modes", line: 1, msg: "max_modes"},
		}},
		{"empty input", ``, 0, map[string]want{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			sum, err := batch.Run(context.Background(), newEngine(t), strings.NewReader(c.input), &buf, batch.Options{Workers: 2, MaxLineBytes: c.maxLine})
			if err != nil {
				t.Fatal(err)
			}
			got := byID(t, decode(t, buf.Bytes()))
			if len(got) != len(c.want) {
				t.Fatalf("%d results, want %d:\n%s", len(got), len(c.want), buf.Bytes())
			}
			var ok int64
			for id, w := range c.want {
				g, found := got[id]
				switch {
				case !found:
					t.Errorf("no result for %q:\n%s", id, buf.Bytes())
				case w.ok:
					ok++
					if g.Result == nil || g.Error != "" {
						t.Errorf("%q: %+v, want a result", id, g)
					}
				case g.Code != w.code || g.Field != w.field || g.Line != w.line || !strings.Contains(g.Error, w.msg):
					t.Errorf("%q: %+v, want %+v", id, g, w)
				}
			}
			if sum.TotalTasks != int64(len(c.want)) || sum.Successful != ok || sum.Failed != int64(len(c.want))-ok {
				t.Errorf("summary %+v, want %d tasks, %d successful", sum, len(c.want), ok)
			}
		})
	}
}

// tasks returns n string_spectrum task lines with ids t0…t(n-1).
func tasks(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"id": "t%d", "operation": "string_spectrum", "params": {"max_modes": %d}}`+"\n", i, 1+i%7)
	}
	return b.String()
}

func TestRunOrder(t *testing.T) {
	const n = 5000
	for _, ordered := range []bool{true, false} {
		t.Run(fmt.Sprint("ordered=", ordered), func(t *testing.T) {
			var buf bytes.Buffer
			_, err := batch.Run(context.Background(), newEngine(t), strings.NewReader(tasks(n)), &buf, batch.Options{Workers: 4, Ordered: ordered})
			if err != nil {
				t.Fatal(err)
			}
			outs := decode(t, buf.Bytes())
			byID(t, outs)
			if len(outs) != n {
				t.Fatalf("%d results, want %d", len(outs), n)
			}
			inOrder := true
			for i, o := range outs {
				if o.ID != fmt.Sprint("t", i) {
					inOrder = false
				}
				if o.Result == nil {
					t.Fatalf("%+v", o)
				}
			}
			if ordered && !inOrder {
				t.Error("results not in the input's order")
			}
		})
	}
}

func TestRunFileResume(t *testing.T) {
	const n = 300
	input := tasks(n)
	lines := strings.SplitAfter(input, "\n")
	result := func(id string) string { return `{"id":"` + id + `","result":{"success":true}}` + "\n" }
	for _, c := range []struct {
		name     string
		existing string // the output file before the run
		skipped  int64
	}{
		{"no output yet", "", 0},
		{"some done", result("t0") + result("t7") + result("t299"), 3},
		{"torn last line", result("t0") + result("t1") + `{"id":"t2","res`, 2},
		{"torn line without an id yet", result("t5") + `{"i`, 1},
		{"all done", func() string {
			var b strings.Builder
			for i := range n {
				b.WriteString(result(fmt.Sprint("t", i)))
			}
			return b.String()
		}(), n},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			in, outPath := filepath.Join(dir, "tasks.jsonl"), filepath.Join(dir, "results.jsonl")
			if err := os.WriteFile(in, []byte(strings.Join(lines, "")), 0o644); err != nil {
				t.Fatal(err)
			}
			if c.existing != "" {
				if err := os.WriteFile(outPath, []byte(c.existing), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			sum, err := batch.RunFile(context.Background(), newEngine(t), in, outPath, batch.Options{Workers: 3})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Skipped != c.skipped || sum.TotalTasks != n-c.skipped {
				t.Errorf("skipped %d, ran %d; want %d, %d", sum.Skipped, sum.TotalTasks, c.skipped, n-c.skipped)
			}
			b, err := os.ReadFile(outPath)
			if err != nil {
				t.Fatal(err)
			}
			got := byID(t, decode(t, b))
			for i := range n {
				if _, ok := got[fmt.Sprint("t", i)]; !ok {
					t.Errorf("t%d missing", i)
				}
			}
			if len(got) != n {
				t.Errorf("%d ids, want %d", len(got), n)
			}
			// A second rerun has nothing left to do.
			sum, err = batch.RunFile(context.Background(), newEngine(t), in, outPath, batch.Options{})
			if err != nil || sum.TotalTasks != 0 || sum.Skipped != n {
				t.Errorf("rerun: %+v, %v", sum, err)
			}
		})
	}
}

func TestRunFileErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "tasks.jsonl")
	if err := os.WriteFile(good, []byte(tasks(3)), 0o644); err != nil {
		t.Fatal(err)
	}
	foreign := filepath.Join(dir, "foreign.jsonl")
	if err := os.WriteFile(foreign, []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, in, out string
		want          []string // fragments of the error
	}{
		{"missing input", filepath.Join(dir, "nope.jsonl"), filepath.Join(dir, "r1.jsonl"), []string{"batch: tasks", "nope.jsonl", "no such file"}},
		{"input is a directory", dir, filepath.Join(dir, "r2.jsonl"), []string{"batch: tasks", "is a directory"}},
		{"output in a missing directory", good, filepath.Join(dir, "missing", "r.jsonl"), []string{"batch: results", filepath.Join("missing", "r.jsonl"), "no such file"}},
		{"output is a directory", good, dir, []string{"batch: results", dir}},
		{"output not results", good, foreign, []string{"foreign.jsonl", "line 1: not a result line"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := batch.RunFile(context.Background(), newEngine(t), c.in, c.out, batch.Options{})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// failWriter fails every write.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestRunWriteError(t *testing.T) {
	_, err := batch.Run(context.Background(), newEngine(t), strings.NewReader(tasks(10)), failWriter{}, batch.Options{})
	if err == nil || !strings.Contains(err.Error(), "writing results") || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("error %v", err)
	}
}

func TestRunFailFast(t *testing.T) {
	for _, c := range []struct {
		name, bad string
		line      int64
		code      dredge.Code
	}{
		{"malformed line", `{"id": "bad", "operation": `, 4, dredge.CodeInvalidArgument},
		{"unknown operation", `{"id": "bad", "operation": "nope"}`, 4, dredge.CodeNotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			in, outPath := filepath.Join(dir, "tasks.jsonl"), filepath.Join(dir, "results.jsonl")
			lines := strings.SplitAfter(tasks(10), "\n")
			fixed := strings.Join(lines, "")
			lines[3] = c.bad + "\n"
			if err := os.WriteFile(in, []byte(strings.Join(lines, "")), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := batch.RunFile(context.Background(), newEngine(t), in, outPath, batch.Options{Workers: 1, Ordered: true, FailFast: true})
			var te *batch.TaskError
			if !errors.As(err, &te) || te.Line != c.line || te.Code != c.code {
				t.Fatalf("error %v, want a TaskError on line %d, %s", err, c.line, c.code)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("line %d", c.line)) {
				t.Errorf("error %q does not name the line", err)
			}
			b, _ := os.ReadFile(outPath)
			got := byID(t, decode(t, b))
			if len(got) != 3 {
				t.Errorf("%d results written before the failure, want 3:\n%s", len(got), b)
			}
			// Fixed, the rerun completes the batch.
			if err := os.WriteFile(in, []byte(fixed), 0o644); err != nil {
				t.Fatal(err)
			}
			sum, err := batch.RunFile(context.Background(), newEngine(t), in, outPath, batch.Options{FailFast: true})
			if err != nil || sum.Skipped != 3 || sum.Successful != 7 {
				t.Fatalf("rerun: %+v, %v", sum, err)
			}
		})
	}
}

// A cancelled run writes no results for the tasks it cut short.
func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var buf bytes.Buffer
	r := &cancelAfter{r: strings.NewReader(tasks(20000)), n: 200 << 10, cancel: cancel}
	_, err := batch.Run(ctx, newEngine(t), r, &buf, batch.Options{Workers: 4})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v", err)
	}
	for _, o := range decode(t, buf.Bytes()) {
		if o.Error != "" {
			t.Fatalf("a failed result was written: %+v", o)
		}
	}
}

// cancelAfter cancels once n bytes were read.
type cancelAfter struct {
	r      *strings.Reader
	n      int
	cancel func()
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	if c.n -= k; c.n <= 0 {
		c.cancel()
	}
	return k, err
}

func TestRunProgress(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "tasks.jsonl")
	if err := os.WriteFile(in, []byte(tasks(3000)), 0o644); err != nil {
		t.Fatal(err)
	}
	var bar bytes.Buffer
	sum, err := batch.RunFile(context.Background(), newEngine(t), in, filepath.Join(dir, "r.jsonl"), batch.Options{Progress: &bar})
	if err != nil || sum.Successful != 3000 {
		t.Fatalf("%+v, %v", sum, err)
	}
	if !strings.Contains(bar.String(), "3000/3000") {
		t.Errorf("progress %q", bar.String())
	}
}

// FuzzRun feeds arbitrary input: every non-blank line gets exactly one
// result line, and nothing panics.
func FuzzRun(f *testing.F) {
	f.Add([]byte(tasks(3)))
	f.Add([]byte("{\"id\": \"\\u00e9\\n\", \"operation\": \"lift\", \"params\": {\"insight\": \"x\"}}\n\n[]\nnull\n{\"id\": 1e3}"))
	eng := newEngine(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		var buf bytes.Buffer
		sum, err := batch.Run(context.Background(), eng, bytes.NewReader(in), &buf, batch.Options{Workers: 2, MaxLineBytes: 512})
		if err != nil {
			t.Fatal(err)
		}
		outs := decode(t, buf.Bytes())
		if int64(len(outs)) != sum.TotalTasks {
			t.Fatalf("%d results for %d tasks", len(outs), sum.TotalTasks)
		}
		var want int64
		for l := range bytes.SplitSeq(in, []byte{'\n'}) {
			if len(bytes.TrimSpace(l)) > 0 {
				want++
			}
		}
		if sum.TotalTasks != want {
			t.Fatalf("%d tasks for %d non-blank lines", sum.TotalTasks, want)
		}
	})
}

// An output holding an id twice is reported: ids must be unique to resume.
func TestRunFileDuplicateIDs(t *testing.T) {
	dir := t.TempDir()
	in, outPath := filepath.Join(dir, "tasks.jsonl"), filepath.Join(dir, "results.jsonl")
	if err := os.WriteFile(in, []byte(tasks(5)), 0o644); err != nil {
		t.Fatal(err)
	}
	line := `{"id":"t1","result":{"success":true}}` + "\n"
	if err := os.WriteFile(outPath, []byte(line+line), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := batch.RunFile(context.Background(), newEngine(t), in, outPath, batch.Options{})
	if err != nil || sum.DuplicateIDs != 1 || sum.Resumed != 2 || sum.Skipped != 1 || sum.TotalTasks != 4 {
		t.Fatalf("%+v, %v", sum, err)
	}
}

// An empty file is a batch of no tasks.
func TestRunFileEmpty(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "tasks.jsonl")
	if err := os.WriteFile(in, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := batch.RunFile(context.Background(), newEngine(t), in, filepath.Join(dir, "r.jsonl"), batch.Options{})
	if err != nil || sum.TotalTasks != 0 || sum.Skipped != 0 {
		t.Fatalf("%+v, %v", sum, err)
	}
}
