package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dredge-cli/dredge"
)

// reply is the JSON of an answer, as far as the tests read it.
type reply struct {
	Success bool   `json:"success"`
	Error   string `json:"error"`
	Code    string `json:"code"`
	Field   string `json:"field"`
	Status  string `json:"status"`
}

// do serves one request and returns the recorder.
func do(t testing.TB, h http.Handler, method, target string, body io.Reader, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, body)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func decodeReply(t testing.TB, w *httptest.ResponseRecorder) reply {
	t.Helper()
	var rep reply
	if err := json.Unmarshal(w.Body.Bytes(), &rep); err != nil {
		t.Fatalf("answer is not JSON (%v): %q", err, w.Body.String())
	}
	return rep
}

func TestRoutes(t *testing.T) {
	h := newTestHandler(t, Config{})
	sum := sha256.Sum256([]byte("strings vibrate"))
	tests := []struct {
		name, method, target, body string
		status                     int
		code                       string // "" for success
		contains                   string
		allow                      string
	}{
		{name: "index", method: "GET", target: "/", status: 200, contains: `"routes":["GET /",`},
		{name: "health", method: "GET", target: "/health", status: 200, contains: `{"status":"healthy","version":"` + dredge.Version + `"}`},
		{name: "health HEAD", method: "HEAD", target: "/health", status: 200},
		{name: "ready", method: "GET", target: "/ready", status: 200, contains: `"status":"ready"`},
		{name: "metrics", method: "GET", target: "/metrics", status: 200, contains: "# TYPE dredge_models_loaded gauge"},
		{name: "ops list", method: "GET", target: "/v1/ops", status: 200, contains: `"route":"POST /v1/ops/unified_inference"`},
		{name: "op", method: "POST", target: "/v1/ops/string_spectrum", body: `{"max_modes":3}`, status: 200,
			contains: `"energy_spectrum":[0.5,1,1.5]`},
		{name: "op empty body", method: "POST", target: "/v1/ops/string_parameters", status: 200, contains: `"coupling_constant":0.1`},
		{name: "op null body", method: "POST", target: "/v1/ops/string_spectrum", body: "null", status: 200},
		{name: "op unknown", method: "POST", target: "/v1/ops/nope", body: `{}`, status: 404, code: "not_found"},
		{name: "op bad field", method: "POST", target: "/v1/ops/string_spectrum", body: `{"max_modes":-1}`, status: 400, code: "invalid_argument",
			contains: `"field":"max_modes"`},
		{name: "op mistyped field", method: "POST", target: "/v1/ops/string_spectrum", body: `{"max_modes":"x"}`, status: 400, code: "invalid_argument"},
		{name: "op truncated JSON", method: "POST", target: "/v1/ops/unified_inference", body: `{"dredge_insight": "abc`, status: 400, code: "invalid_argument"},
		{name: "op array body", method: "POST", target: "/v1/ops/string_spectrum", body: `[1]`, status: 400, code: "invalid_argument"},
		{name: "op model not found", method: "POST", target: "/v1/ops/inference", body: `{"model_id":"siren_99","inputs":{"x":[0]}}`, status: 404, code: "not_found"},
		{name: "op GET", method: "GET", target: "/v1/ops/string_spectrum", status: 405, code: "invalid_argument", allow: "POST"},
		{name: "dataset", method: "GET", target: "/v1/datasets/quasimoto_4d", status: 200, contains: `"name":"grid_4d","n":8000,"axis":"x"`},
		{name: "dataset 1D", method: "GET", target: "/v1/datasets/quasimoto_1d", status: 200, contains: `"fixed":{"t":0}`},
		{name: "dataset of rows", method: "GET", target: "/v1/datasets/string_theory", status: 400, code: "invalid_argument", contains: `"field":"model_type"`},
		{name: "dataset unknown type", method: "GET", target: "/v1/datasets/nope", status: 404, code: "not_found", contains: `"field":"model_type"`},
		{name: "dataset POST", method: "POST", target: "/v1/datasets/quasimoto_1d", status: 405, code: "invalid_argument", allow: "GET, HEAD"},
		{name: "lift", method: "POST", target: "/lift", body: `{"insight_text":"strings vibrate"}`, status: 200,
			contains: `"id":"` + hex.EncodeToString(sum[:]) + `"`},
		{name: "lift missing text", method: "POST", target: "/lift", body: `{}`, status: 400, code: "invalid_argument", contains: `"field":"insight_text"`},
		{name: "lift GET", method: "GET", target: "/lift", status: 405, allow: "POST", code: "invalid_argument"},
		{name: "legacy", method: "POST", target: "/mcp", body: `{"operation":"lift","params":{"insight_text":"strings vibrate"}}`, status: 200,
			contains: `"id":"` + hex.EncodeToString(sum[:]) + `"`},
		{name: "legacy no params", method: "POST", target: "/mcp", body: `{"operation":"list_capabilities"}`, status: 200, contains: `"name":"DREDGE Quasimoto String Theory MCP Server"`},
		{name: "legacy unknown op", method: "POST", target: "/mcp", body: `{"operation":"nope"}`, status: 200, code: "not_found"},
		{name: "legacy missing op", method: "POST", target: "/mcp", body: `{"params":{}}`, status: 200, code: "invalid_argument", contains: `"field":"operation"`},
		{name: "legacy bad params", method: "POST", target: "/mcp", body: `{"operation":"string_spectrum","params":{"max_modes":0}}`, status: 200, code: "invalid_argument"},
		{name: "legacy truncated", method: "POST", target: "/mcp", body: `{"operation":"lift","par`, status: 400, code: "invalid_argument"},
		{name: "legacy empty", method: "POST", target: "/mcp", status: 400, code: "invalid_argument"},
		{name: "legacy array without MCP", method: "POST", target: "/mcp", body: `[{"jsonrpc":"2.0"}]`, status: 400, code: "invalid_argument"},
		{name: "legacy jsonrpc without MCP", method: "POST", target: "/mcp", body: `{"jsonrpc":"2.0","method":"ping","id":1}`, status: 200, code: "invalid_argument"},
		{name: "mcp GET without MCP", method: "GET", target: "/mcp", status: 405, allow: "POST", code: "invalid_argument"},
		{name: "health DELETE", method: "DELETE", target: "/health", status: 405, allow: "GET, HEAD", code: "invalid_argument"},
		{name: "index POST", method: "POST", target: "/", status: 405, allow: "GET, HEAD", code: "invalid_argument"},
		{name: "unknown path", method: "GET", target: "/nope", status: 404, code: "not_found"},
		{name: "ops trailing slash", method: "POST", target: "/v1/ops/", status: 404, code: "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			w := do(t, h, tt.method, tt.target, body)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if tt.method == "HEAD" {
				return
			}
			if ct := w.Header().Get("Content-Type"); tt.target != "/metrics" && ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if tt.allow != "" && w.Header().Get("Allow") != tt.allow {
				t.Errorf("Allow %q, want %q", w.Header().Get("Allow"), tt.allow)
			}
			if !strings.Contains(w.Body.String(), tt.contains) {
				t.Errorf("body %s does not contain %s", w.Body, tt.contains)
			}
			if tt.target == "/metrics" {
				return
			}
			rep := decodeReply(t, w)
			if tt.code != "" && (rep.Success || rep.Code != tt.code || rep.Error == "") {
				t.Errorf("answer %+v, want failure with code %s", rep, tt.code)
			}
			if tt.code == "" && tt.status == 200 && rep.Status == "" && !rep.Success {
				t.Errorf("answer %+v, want success", rep)
			}
		})
	}
}

func TestBodyTooLarge(t *testing.T) {
	h := newTestHandler(t, Config{})
	big := bytes.Repeat([]byte("a"), 20<<20)
	for _, target := range []string{"/v1/ops/lift", "/lift", "/mcp"} {
		for _, chunked := range []bool{false, true} {
			r := httptest.NewRequest("POST", target, bytes.NewReader(big))
			if chunked {
				r.ContentLength = -1 // read until the limit trips
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusRequestEntityTooLarge {
				t.Fatalf("%s chunked=%v: status %d, want 413", target, chunked, w.Code)
			}
			if rep := decodeReply(t, w); rep.Code != "invalid_argument" || rep.Field != "body" {
				t.Errorf("%s: %+v", target, rep)
			}
		}
	}
	// Exactly the limit passes the adapter (and is the Engine's to judge).
	h = newTestHandler(t, Config{MaxBodyBytes: 64})
	body := `{"insight_text":"` + strings.Repeat("x", 64-len(`{"insight_text":""}`)) + `"}`
	if w := do(t, h, "POST", "/lift", strings.NewReader(body)); w.Code != 200 {
		t.Errorf("body of exactly MaxBodyBytes: status %d %s", w.Code, w.Body)
	}
	if w := do(t, h, "POST", "/lift", strings.NewReader(body+" ")); w.Code != 413 {
		t.Errorf("body of MaxBodyBytes+1: status %d", w.Code)
	}
}

func TestReady(t *testing.T) {
	// Readiness is the Engine's: it asks the cache backend for a probe
	// key, under a deadline, and a miss is ready.
	backend := &fakeCache{noDeadline: func() { t.Error("readiness check without a deadline") }}
	eng := newTestEngine(t, dredge.WithCache(backend))
	h, err := New(eng, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if w := do(t, h, "GET", "/ready", nil); w.Code != 200 {
		t.Fatalf("ready: %d %s", w.Code, w.Body)
	}
	backend.err = errors.New("redis: connection refused 10.0.0.7:6379")
	w := do(t, h, "GET", "/ready", nil)
	if w.Code != http.StatusServiceUnavailable || decodeReply(t, w).Code != "unavailable" {
		t.Fatalf("not ready: %d %s", w.Code, w.Body)
	}
	if strings.Contains(w.Body.String(), "10.0.0.7") {
		t.Error("the readiness answer leaks the dependency's address")
	}
	if w := do(t, h, "GET", "/health", nil); w.Code != 200 {
		t.Errorf("health while not ready: %d", w.Code)
	}

	// It fails once the Engine is closed, and so do operations.
	backend.err = nil
	h2, _ := New(eng, Config{})
	_ = eng.Close()
	if w := do(t, h2, "GET", "/ready", nil); w.Code != http.StatusServiceUnavailable {
		t.Errorf("ready after Close: %d", w.Code)
	}
	w = do(t, h2, "POST", "/v1/ops/string_spectrum", nil)
	if w.Code != http.StatusServiceUnavailable || decodeReply(t, w).Code != "unavailable" {
		t.Errorf("operation after Close: %d %s", w.Code, w.Body)
	}
	if w := do(t, h2, "POST", "/mcp", strings.NewReader(`{"operation":"string_spectrum"}`)); w.Code != 200 || decodeReply(t, w).Code != "unavailable" {
		t.Errorf("legacy after Close: %d %s", w.Code, w.Body)
	}
}

func TestMetricsOff(t *testing.T) {
	h := newTestHandler(t, Config{}, dredge.WithMonitor(nil))
	w := do(t, h, "GET", "/metrics", nil)
	if w.Code != 404 || decodeReply(t, w).Code != "not_found" {
		t.Fatalf("metrics off: %d %s", w.Code, w.Body)
	}
}

func TestRequestTimeout(t *testing.T) {
	// The deadline is the Engine's (REQUEST_TIMEOUT, LONG_REQUEST_TIMEOUT).
	h := newTestHandler(t, Config{}, dredge.WithTimeouts(time.Nanosecond, time.Nanosecond))
	w := do(t, h, "POST", "/v1/ops/benchmark", strings.NewReader(`{"model_type":"quasimoto_1d","config":{"epochs":1000}}`))
	if w.Code != http.StatusServiceUnavailable || decodeReply(t, w).Code != "unavailable" {
		t.Fatalf("operation past its deadline: %d %s", w.Code, w.Body)
	}
}

func TestNewErrors(t *testing.T) {
	eng := newTestEngine(t)
	for _, tt := range []struct {
		cfg  Config
		name string
	}{
		{Config{AuthEnabled: true}, "APIKeys"},
		{Config{AuthEnabled: true, APIKeys: []string{""}}, "APIKeys"},
		{Config{RateLimitRequests: -1}, "RateLimitRequests"},
		{Config{RateLimitWindow: -time.Second}, "RateLimitWindow"},
		{Config{MaxBodyBytes: -1}, "MaxBodyBytes"},
	} {
		_, err := New(eng, tt.cfg)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Name != tt.name || !errors.Is(err, dredge.ErrInvalidArgument) {
			t.Errorf("New(%+v) = %v, want a ConfigError naming %s", tt.cfg, err, tt.name)
		}
	}
	if _, err := New(nil, Config{}); err == nil {
		t.Error("New(nil) succeeded")
	}
}

func TestPanicIsInternal(t *testing.T) {
	var logs bytes.Buffer
	h := newTestHandler(t, Config{Logger: newLogger(&logs)})
	h.mux.HandleFunc("GET /boom", func(http.ResponseWriter, *http.Request) { panic("bug") })
	w := do(t, h, "GET", "/boom", nil)
	if w.Code != 500 || decodeReply(t, w).Code != "internal" {
		t.Fatalf("panic: %d %s", w.Code, w.Body)
	}
	if !strings.Contains(logs.String(), "handler panicked") {
		t.Errorf("panic not logged: %s", logs.String())
	}
}
