package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dredge-cli/dredge"
)

// sseEvent is one Server-Sent Event.
type sseEvent struct{ name, data string }

// readEvents reads the events of an event stream until it ends, or until
// stop returns true for one.
func readEvents(t *testing.T, r io.Reader, stop func(sseEvent) bool) []sseEvent {
	t.Helper()
	var (
		events []sseEvent
		cur    sseEvent
		data   []string
	)
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			cur.data = strings.Join(data, "\n")
			events = append(events, cur)
			if stop != nil && stop(cur) {
				return events
			}
			cur, data = sseEvent{}, nil
		case strings.HasPrefix(line, "event: "):
			cur.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = append(data, strings.TrimPrefix(line, "data: "))
		default:
			t.Fatalf("not an event stream line: %q", line)
		}
	}
	if cur.name != "" || data != nil {
		t.Fatalf("the stream ends inside an event: %+v %q", cur, data)
	}
	return events
}

// postEvents POSTs body to the operation asking for an event stream.
func postEvents(ctx context.Context, t *testing.T, url, key, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// TestOperationEvents: benchmark asked for an event stream sends its epochs
// and losses as they come, then its answer; an operation that fails sends
// its error as the result; authentication still answers before any stream.
func TestOperationEvents(t *testing.T) {
	srv := httptest.NewServer(newTestHandler(t, Config{AuthEnabled: true, APIKeys: []string{"k"}}))
	defer srv.Close()
	ctx := context.Background()

	resp := postEvents(ctx, t, srv.URL+"/v1/ops/benchmark", "k",
		`{"model_type":"quasimoto_ensemble","config":{"n_waves":4,"epochs":300}}`)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("%d %s, want 200 text/event-stream", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	events := readEvents(t, resp.Body, nil)
	if len(events) < 3 {
		t.Fatalf("%d events, want progress events and a result: %+v", len(events), events)
	}
	var last dredge.Progress
	for i, ev := range events[:len(events)-1] {
		var p dredge.Progress
		if err := json.Unmarshal([]byte(ev.data), &p); ev.name != "progress" || err != nil {
			t.Fatalf("event %d: %+v (%v), want progress", i, ev, err)
		}
		if p.Total != 300 || p.Done <= last.Done || p.Loss == nil || !(*p.Loss > 0) || !strings.Contains(p.Message, "loss") {
			t.Fatalf("progress %d: %+v after %+v", i, p, last)
		}
		last = p
	}
	if last.Done != 300 {
		t.Errorf("last progress at epoch %d of 300", last.Done)
	}
	res := events[len(events)-1]
	var out dredge.BenchmarkResult
	if err := json.Unmarshal([]byte(res.data), &out); res.name != "result" || err != nil || !out.Success || out.Epochs != 300 {
		t.Fatalf("last event %+v (%v), want benchmark's result", res, err)
	}
	if !(out.FinalLoss < out.InitialLoss) {
		t.Errorf("loss %g → %g, want it to fall", out.InitialLoss, out.FinalLoss)
	}

	// A failure is the result event, with its code and field.
	resp = postEvents(ctx, t, srv.URL+"/v1/ops/benchmark", "k", `{"model_type":"quasimoto_1d","config":{"epochs":-1}}`)
	events = readEvents(t, resp.Body, nil)
	if len(events) != 1 || events[0].name != "result" {
		t.Fatalf("events %+v, want one result", events)
	}
	var rep reply
	if err := json.Unmarshal([]byte(events[0].data), &rep); err != nil || rep.Success || rep.Code != "invalid_argument" || rep.Field != "config.epochs" {
		t.Errorf("result %s, want invalid_argument naming config.epochs", events[0].data)
	}
	// Any operation streams: one that reports no progress has its result only.
	resp = postEvents(ctx, t, srv.URL+"/v1/ops/string_spectrum", "k", `{"max_modes":3}`)
	if events = readEvents(t, resp.Body, nil); len(events) != 1 || !strings.Contains(events[0].data, `"energy_spectrum":[0.5,1,1.5]`) {
		t.Errorf("string_spectrum events %+v", events)
	}

	resp = postEvents(ctx, t, srv.URL+"/v1/ops/benchmark", "", `{"model_type":"quasimoto_1d"}`)
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != 401 || !strings.Contains(string(b), `"code":"unauthenticated"`) {
		t.Errorf("without a key: %d %s, want 401 as JSON", resp.StatusCode, b)
	}
}

// TestOperationEventsClientGone: a client that goes away mid-stream stops
// the training, which gives back its turn.
func TestOperationEventsClientGone(t *testing.T) {
	h := newTestHandler(t, Config{})
	srv := httptest.NewServer(h)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	resp := postEvents(ctx, t, srv.URL+"/v1/ops/benchmark", "", `{"model_type":"quasimoto_ensemble","config":{"epochs":100000}}`)
	events := readEvents(t, resp.Body, func(ev sseEvent) bool { return ev.name == "progress" })
	if len(events) != 1 || events[0].name != "progress" {
		t.Fatalf("events %+v, want a progress event", events)
	}
	heavy := func() int {
		body, _ := h.eng.CallJSON(context.Background(), "list_capabilities", nil)
		var caps struct{ Resources dredge.Resources }
		if err := json.Unmarshal(body, &caps); err != nil {
			t.Fatal(err)
		}
		return caps.Resources.HeavyCalls
	}
	if n := heavy(); n != 1 {
		t.Fatalf("%d heavy calls while training, want 1", n)
	}
	cancel()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if heavy() == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the training still runs 10 s after its client went away")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestWantsEvents(t *testing.T) {
	for accept, want := range map[string]bool{
		"":                                    false,
		"application/json":                    false,
		"text/event-stream":                   true,
		"application/json, text/event-stream": true,
		"text/event-stream; q=0.9":            true,
		"text/*":                              false,
	} {
		r := httptest.NewRequest("POST", "/v1/ops/benchmark", nil)
		if accept != "" {
			r.Header.Set("Accept", accept)
		}
		if got := wantsEvents(r); got != want {
			t.Errorf("Accept %q: %v, want %v", accept, got, want)
		}
	}
}
