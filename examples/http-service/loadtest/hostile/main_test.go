package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/adapters/httpapi"
)

// TestRunShort runs both phases, small and short, against the real Engine
// behind the real handler in this process: the report must show every
// pattern answered, the service alive, the loaded models answering and no
// failure.
func TestRunShort(t *testing.T) {
	const timeout = time.Second
	eng, err := dredge.New(dredge.WithDeviceKind("cpu"), dredge.WithModelMemoryLimit(32<<20), dredge.WithTimeouts(timeout, timeout))
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	h, err := httpapi.New(eng, httpapi.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	if err := checkLoopback(srv.URL); err != nil {
		t.Fatal(err)
	}

	o := defaultOptions()
	o.url = srv.URL
	o.quiet, o.duration, o.requestTimeout = 300*time.Millisecond, 5*time.Second, timeout
	o.inferrers, o.trainers = 1, 1
	// The race detector makes large models and bodies dear: a 1536 × 2
	// model of one input (2.4M parameters) is over the work limit with
	// 120,000 rows of one value (0.6 MB) and under it, yet heavy, with 10.
	// One inferrer sends one of each in turn, the first over the limit.
	o.bigHidden, o.bigLayers, o.dims = 1536, 2, 1
	o.overRows, o.underRows = 120_000, 10
	o.hostilePause = 20 * time.Millisecond
	// Legal loads of 140,000 parameters (1.1 MiB) reach the 32 MiB budget
	// (18 MiB of it the inference model's) in a dozen.
	o.legalHidden, o.legalLayers = 256, 3
	// Oversize in its parameter count, yet cheap to refuse.
	o.oversizeHidden, o.oversizeLayers = 4096, 2
	o.epochs = 50_000

	start := time.Now()
	rep := run(context.Background(), o)
	t.Logf("run took %v", time.Since(start))
	var text bytes.Buffer
	rep.print(&text)
	t.Logf("report:\n%s", text.String())

	if !rep.Alive {
		t.Error("not alive")
	}
	if len(rep.Failures) != 0 {
		t.Errorf("failures: %q", rep.Failures)
	}
	if rep.RSS != nil {
		t.Error("an RSS report without a process")
	}
	if rep.Resources == nil || rep.Resources.ModelMemoryLimitBytes != 32<<20 {
		t.Errorf("resources at the end: %+v", rep.Resources)
	}
	if rep.ModelsChecked < 2 || rep.ModelsAnswering != rep.ModelsChecked {
		t.Errorf("models answering %d of %d, want all of at least 2 (the inference model and a legal load)", rep.ModelsAnswering, rep.ModelsChecked)
	}
	if len(rep.Phases) != 2 {
		t.Fatalf("phases: %+v", rep.Phases)
	}
	for _, p := range rep.Phases {
		for _, e := range p.Endpoints {
			if e.Count == 0 || e.P99Ms < e.P50Ms || e.MaxMs < e.P99Ms {
				t.Errorf("phase %s, %s: %+v", p.Name, e.Name, e)
			}
		}
	}
	got := map[string]patternRep{}
	for _, p := range rep.Patterns {
		got[p.Name] = p
	}
	// The cheap patterns are answered; the heavy ones may still be running
	// when a slow machine (the race detector, other test binaries) ends
	// the phase: they must have been sent, answered or cancelled.
	for _, name := range []string{patHealth, patUnified, patSetup, patOversize, patLegal, patOverLimit, patUnderLimit, patTraining, patProbe, patFinalModel, patAlive} {
		p := got[name]
		answered := 0
		for _, n := range p.Statuses {
			answered += n
		}
		switch name {
		case patOverLimit, patUnderLimit:
			// One inferrer sends them in turn: the first may take the phase.
		case patTraining:
			if answered == 0 && p.Cancelled == 0 {
				t.Errorf("pattern %s: never sent: %+v", name, p)
			}
		default:
			if answered == 0 {
				t.Errorf("pattern %s: no answer counted: %+v", name, p)
			}
		}
	}
	if inf := got[patOverLimit].Requests + got[patOverLimit].Cancelled + got[patUnderLimit].Requests + got[patUnderLimit].Cancelled; inf == 0 {
		t.Error("no inference was sent")
	}

	var js bytes.Buffer
	if err := json.NewEncoder(&js).Encode(rep); err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"alive", "phases", "patterns", "resources", "failures", "peak_resources"} {
		if _, ok := back[k]; !ok {
			t.Errorf("JSON report without %q", k)
		}
	}
	if !strings.Contains(text.String(), "alive: yes") || !strings.Contains(text.String(), "failures: none") {
		t.Error("the text report does not say alive: yes and failures: none")
	}
}

// A dead target is flagged: nothing answers, so the run fails and says so.
func TestRunDeadTarget(t *testing.T) {
	srv := httptest.NewServer(nil)
	url := srv.URL
	srv.Close()
	o := defaultOptions()
	o.url = url
	o.quiet, o.duration, o.requestTimeout = 50*time.Millisecond, 100*time.Millisecond, 100*time.Millisecond
	o.inferrers, o.trainers = 0, 0
	rep := run(context.Background(), o)
	if rep.Alive || len(rep.Failures) == 0 {
		t.Errorf("a dead target: alive %v, failures %q", rep.Alive, rep.Failures)
	}
}

func TestCheckLoopback(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1:3001", "http://localhost:3001/", "http://[::1]:3001", "http://127.1.2.3"} {
		if err := checkLoopback(u); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	for _, u := range []string{"http://10.0.0.1:3001", "http://example.com", "https://127.0.0.1", "http://0.0.0.0:3001", "::"} {
		if err := checkLoopback(u); err == nil {
			t.Errorf("%s: accepted", u)
		}
	}
}

func TestReadStatus(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc")
	}
	hwm, rss, err := readStatus(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if rss <= 0 || hwm < rss {
		t.Errorf("VmHWM %d, VmRSS %d", hwm, rss)
	}
}

func TestQuantile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i))
	}
	if q := quantile(d, 0.5); q != 50 {
		t.Errorf("p50 %d", q)
	}
	if q := quantile(d, 0.99); q != 99 {
		t.Errorf("p99 %d", q)
	}
	if q := quantile(d[:1], 0.99); q != 1 {
		t.Errorf("p99 of one %d", q)
	}
	if q := quantile(nil, 0.5); q != 0 {
		t.Errorf("p50 of none %d", q)
	}
}

func TestRowsBody(t *testing.T) {
	head := `{"model_id":"m","inputs":{"x":[[1.5,0,0,0,0,0,0,0,0,0]`
	var v struct {
		Inputs struct {
			X [][]float64 `json:"x"`
		} `json:"inputs"`
	}
	if err := json.Unmarshal(append([]byte(head), rowsBody(1000, 10)...), &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Inputs.X) != 1000 || len(v.Inputs.X[999]) != 10 {
		t.Errorf("%d rows, the last of %d values", len(v.Inputs.X), len(v.Inputs.X[len(v.Inputs.X)-1]))
	}
}
