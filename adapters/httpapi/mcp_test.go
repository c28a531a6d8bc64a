package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// fakeMCP stands in for the MCP Streamable HTTP handler: it answers 202
// with X-Fake-MCP and echoes the body it was given, flushing first.
type fakeMCP struct{ calls int }

func (f *fakeMCP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls++
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	if r.ContentLength >= 0 && r.ContentLength != int64(len(body)) {
		http.Error(w, "Content-Length does not match the body", 500)
		return
	}
	w.Header().Set("X-Fake-MCP", r.Method)
	w.WriteHeader(http.StatusAccepted)
	if err := http.NewResponseController(w).Flush(); err != nil {
		panic("the MCP handler cannot flush: " + err.Error())
	}
	_, _ = w.Write(body)
}

func TestMCPDispatch(t *testing.T) {
	legacy := `{"operation":"string_spectrum","params":{"max_modes":2}}`
	tests := []struct {
		name, method, body string
		hdr                []string
		toMCP              bool
		status             int
	}{
		{name: "GET stream", method: "GET", toMCP: true},
		{name: "DELETE session", method: "DELETE", hdr: []string{"Mcp-Session-Id", "abc"}, toMCP: true},
		{name: "DELETE without a session", method: "DELETE", toMCP: true},
		{name: "jsonrpc request", method: "POST", body: `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`, toMCP: true},
		{name: "jsonrpc member last", method: "POST", body: `{"id":1,"method":"tools/list","params":{"a":[{"b":"}"}]},"jsonrpc":"2.0"}`, toMCP: true},
		{name: "jsonrpc escaped key", method: "POST", body: `{"json\u0072pc":"2.0","method":"ping"}`, toMCP: true},
		{name: "jsonrpc batch", method: "POST", body: ` [{"jsonrpc":"2.0","method":"ping","id":1}]`, toMCP: true},
		{name: "session header with a legacy body", method: "POST", body: legacy, hdr: []string{"Mcp-Session-Id", "abc"}, toMCP: true},
		{name: "legacy envelope", method: "POST", body: legacy, status: 200},
		{name: "legacy with nested jsonrpc", method: "POST", body: `{"operation":"lift","params":{"insight_text":"x","jsonrpc":"2.0"}}`, status: 200},
		{name: "legacy with jsonrpc in a string", method: "POST", body: `{"operation":"lift","params":{"insight_text":"\"jsonrpc\":1"}}`, status: 200},
		{name: "malformed JSON-RPC", method: "POST", body: `{"jsonrpc":`, toMCP: true}, // the MCP handler reports parse errors
		{name: "malformed", method: "POST", body: `{"operation":"lift",`, status: 400},
		{name: "empty", method: "POST", status: 400},
		{name: "too large", method: "POST", body: `{"jsonrpc":"2.0","x":"` + strings.Repeat("y", 2000) + `"}`, status: 413},
	}
	for _, logged := range []bool{false, true} {
		f := &fakeMCP{}
		cfg := Config{MCP: f, MaxBodyBytes: 1024}
		if logged {
			cfg.Logger = newLogger(io.Discard) // the access log wraps the ResponseWriter
		}
		h := newTestHandler(t, cfg)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := f.calls
				w := do(t, h, tt.method, "/mcp", strings.NewReader(tt.body), tt.hdr...)
				if got := f.calls > before; got != tt.toMCP {
					t.Fatalf("to MCP = %v, want %v (status %d %s)", got, tt.toMCP, w.Code, w.Body)
				}
				if tt.toMCP {
					if w.Code != http.StatusAccepted || w.Header().Get("X-Fake-MCP") != tt.method || w.Body.String() != tt.body {
						t.Fatalf("MCP answer %d %q, want the body echoed", w.Code, w.Body)
					}
					if !w.Flushed {
						t.Error("the flush did not reach the connection")
					}
					return
				}
				if w.Code != tt.status {
					t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
				}
				if tt.status == 200 && !decodeReply(t, w).Success {
					t.Errorf("legacy answer %s", w.Body)
				}
			})
		}
	}
	h := newTestHandler(t, Config{MCP: &fakeMCP{}})
	if idx := do(t, h, "GET", "/", nil).Body.String(); !strings.Contains(idx, `"GET /mcp","POST /mcp","DELETE /mcp"`) {
		t.Errorf("index without the MCP routes: %s", idx)
	}
}

func TestMCPBehindAuth(t *testing.T) {
	f := &fakeMCP{}
	h := newTestHandler(t, Config{MCP: f, AuthEnabled: true, APIKeys: []string{keyA}})
	for _, method := range []string{"GET", "POST", "DELETE"} {
		w := do(t, h, method, "/mcp", strings.NewReader(`{"jsonrpc":"2.0","method":"ping","id":1}`))
		if w.Code != 401 || f.calls != 0 {
			t.Fatalf("%s /mcp without a key: %d, MCP calls %d", method, w.Code, f.calls)
		}
	}
	if w := do(t, h, "POST", "/mcp", strings.NewReader(`{"jsonrpc":"2.0","method":"ping","id":1}`), "Authorization", "Bearer "+keyA); w.Code != 202 {
		t.Fatalf("with a key: %d", w.Code)
	}
}

func TestIsJSONRPC(t *testing.T) {
	tests := []struct {
		body string
		want bool
	}{
		{`{"jsonrpc":"2.0"}`, true},
		{` {"id":1, "jsonrpc" : "2.0"}`, true},
		{`{"a":{"jsonrpc":1},"jsonrpc":1}`, true},
		{`{"a":"{\"jsonrpc\":1}","b":[1,2,{"c":"]"}],"jsonrpc":1}`, true},
		{`{"a":true,"b":null,"c":-1.5e3,"jsonrpc":1}`, true},
		{`{"json\u0072pc":1}`, true},
		{`{"jsonrpc":`, true},                                // malformed after the member: the MCP handler reports it
		{`[{"jsonrpc":"2.0","id":1,"method":"ping"}]`, true}, // a batch
		{` [ {"id":1,"jsonrpc":"2.0"}, {"jsonrpc":"2.0"}]`, true},
		{`[{"jsonrpc":`, true}, // the MCP handler reports the parse error
		{`[]`, false},          // not a request at all: the legacy route answers in JSON
		{`[1,2]`, false},
		{`[{"operation":"lift"}]`, false},
		{`[`, false},
		{`{"operation":"x","params":{"jsonrpc":"2.0"}}`, false},
		{`{"a":{"jsonrpc":1}}`, false},
		{`{"jsonrpcx":1}`, false},
		{`{"JSONRPC":1}`, false},
		{`{"json\"rpc":1}`, false},
		{`{"a" "jsonrpc":1}`, false},
		{`{"a":1 "jsonrpc":1}`, false},
		{`{"a":,"jsonrpc":1}`, false},
		{`{"a":"unterminated,"jsonrpc":1}`, false},
		{`{`, false},
		{``, false},
		{`"jsonrpc"`, false},
		{`null`, false},
	}
	for _, tt := range tests {
		if got := isJSONRPC([]byte(tt.body)); got != tt.want {
			t.Errorf("isJSONRPC(%s) = %v, want %v", tt.body, got, tt.want)
		}
	}
}

// jsonRPCReference is isJSONRPC for valid JSON, by encoding/json.
func jsonRPCReference(b []byte) bool {
	var v any
	if json.Unmarshal(b, &v) != nil {
		return false
	}
	if a, ok := v.([]any); ok {
		if len(a) == 0 {
			return false
		}
		v = a[0]
	}
	switch v := v.(type) {
	case map[string]any:
		_, ok := v["jsonrpc"]
		return ok
	}
	return false
}

// A JSON array that is no JSON-RPC batch gets the legacy route's JSON
// error, not the MCP transport's plain-text one.
func TestMCPArrayNotBatch(t *testing.T) {
	h := newTestHandler(t, Config{MCP: &fakeMCP{}})
	for _, body := range []string{`[1,2]`, `[]`, `[{"operation":"lift","params":{"insight_text":"x"}}]`} {
		w := do(t, h, "POST", "/mcp", strings.NewReader(body))
		var rep map[string]any
		if w.Code != http.StatusBadRequest || json.Unmarshal(w.Body.Bytes(), &rep) != nil || rep["code"] != "invalid_argument" {
			t.Errorf("POST /mcp %s: %d %s", body, w.Code, w.Body)
		}
	}
}

// FuzzBody sends arbitrary bodies to every route that decodes one and
// checks that none gets a 5xx or a non-JSON answer, that the legacy route
// answers 200 or 400 as documented, and that the MCP dispatch agrees with
// encoding/json on every valid JSON body.
func FuzzBody(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `null`, `[]`, `[1]`, `"x"`, `{"operation":"lift","params":{"insight_text":"hi"}}`,
		`{"operation":"string_spectrum","params":{"max_modes":3}}`, `{"operation":"nope"}`,
		`{"operation":"unified_inference","params":{"dredge_insight":"x","quasimoto_coords":[0.5,NaN]}}`,
		`{"operation":"string_spectrum","params":{"max_modes":1e309}}`, `{"jsonrpc":"2.0","id":1,"method":"ping"}`,
		`{"json\u0072pc":"2.0"}`, `{"a":{"jsonrpc":1}}`, `{"insight_text":"\ud800"}`, `{"max_modes":-1}`,
		`{"operation":"lift","par`, "{\"insight_text\":\"\xff\"}", `{"a":"\"","jsonrpc":0}`,
	} {
		f.Add([]byte(s))
	}
	plain := newTestHandler(f, Config{MaxBodyBytes: 4096})
	withMCP := newTestHandler(f, Config{MaxBodyBytes: 4096, MCP: &fakeMCP{}})
	f.Fuzz(func(t *testing.T, body []byte) {
		if json.Valid(body) {
			if got, want := isJSONRPC(body), jsonRPCReference(body); got != want {
				t.Fatalf("isJSONRPC(%q) = %v, encoding/json says %v", body, got, want)
			}
		}
		for _, target := range []string{"/mcp", "/lift", "/v1/ops/string_spectrum", "/v1/ops/unified_inference"} {
			w := do(t, plain, "POST", target, bytes.NewReader(body))
			if w.Code >= 500 {
				t.Fatalf("%s %q: status %d %s", target, body, w.Code, w.Body)
			}
			var rep map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &rep); err != nil {
				t.Fatalf("%s %q: answer is not JSON: %s", target, body, w.Body)
			}
			if (w.Code == 200) != (rep["success"] == true) && target != "/mcp" {
				t.Fatalf("%s %q: status %d with %s", target, body, w.Code, w.Body)
			}
			if target == "/mcp" && w.Code != 200 && w.Code != 400 && w.Code != 413 {
				t.Fatalf("legacy %q: status %d", body, w.Code)
			}
		}
		w := do(t, withMCP, "POST", "/mcp", bytes.NewReader(body))
		if isJSONRPC(body) && (w.Code != http.StatusAccepted || !bytes.Equal(w.Body.Bytes(), body)) {
			t.Fatalf("JSON-RPC %q did not reach the MCP handler intact: %d", body, w.Code)
		}
	})
}
