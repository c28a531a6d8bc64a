package mcp

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// serveHTTP mounts NewHTTPHandler at /mcp of a test server.
func serveHTTP(t *testing.T, opts *HTTPOptions) *httptest.Server {
	t.Helper()
	ts, _ := serveWrapped(t, opts, nil)
	return ts
}

// serveWrapped is serveHTTP with the handler wrapped by wrap (nil: not
// wrapped); it also returns the handler.
func serveWrapped(t *testing.T, opts *HTTPOptions, wrap func(http.Handler) http.Handler) (*httptest.Server, *HTTPHandler) {
	t.Helper()
	h, err := NewHTTPHandler(newEngine(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	var handler http.Handler = h
	if wrap != nil {
		handler = wrap(h)
	}
	mux := http.NewServeMux()
	mux.Handle("/mcp", handler)
	ts := httptest.NewUnstartedServer(mux)
	ts.Config.RegisterOnShutdown(h.CloseSessions)
	ts.Start()
	t.Cleanup(func() {
		// Sessions whose clients never said goodbye (raw requests) end here.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := ts.Config.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		ts.Close()
	})
	return ts, h
}

// TestHTTPShutdown: with a client's event stream open, Shutdown returns
// promptly because CloseSessions ends the sessions.
func TestHTTPShutdown(t *testing.T) {
	h, err := NewHTTPHandler(newEngine(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(h)
	ts.Config.RegisterOnShutdown(h.CloseSessions)
	ts.Start()
	defer ts.Close()
	ctx := testContext(t)
	transport := &sdk.StreamableClientTransport{Endpoint: ts.URL, HTTPClient: ts.Client(), MaxRetries: -1}
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "test", Version: "1"}, nil).Connect(ctx, transport, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	if err := cs.Ping(ctx, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // let the client open its event stream
	start := time.Now()
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := ts.Config.Shutdown(sctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	// Without CloseSessions, Shutdown waits for the stream until sctx
	// expires and fails above. Under heavy load (CI runs every package's
	// tests at once) the client's best-effort session DELETE may be
	// answered late (the go-sdk bounds it at 5 s), hence the margin.
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("Shutdown took %v with an event stream open", d)
	}
}

func TestHTTPHandler(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts HTTPOptions
	}{
		{"sessions", HTTPOptions{}},
		{"stateless-json", HTTPOptions{Stateless: true, JSONResponse: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := serveHTTP(t, &tc.opts)
			ctx := testContext(t)
			transport := &sdk.StreamableClientTransport{Endpoint: ts.URL + "/mcp", HTTPClient: ts.Client(), MaxRetries: -1}
			cs, err := sdk.NewClient(&sdk.Implementation{Name: "test", Version: "1"}, nil).Connect(ctx, transport, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer cs.Close()
			tools, err := cs.ListTools(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(tools.Tools) < 11 {
				t.Errorf("%d tools, want every operation", len(tools.Tools))
			}
			res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "string_spectrum", Arguments: map[string]any{"max_modes": 3}})
			if err != nil || res.IsError {
				t.Fatalf("string_spectrum: %v %v", err, res)
			}
			got := decode(t, res.StructuredContent).(map[string]any)
			if spec := got["energy_spectrum"].([]any); len(spec) != 3 || spec[2] != 1.5 {
				t.Errorf("energy_spectrum %v, want [0.5 1 1.5]", spec)
			}
			res, err = cs.CallTool(ctx, &sdk.CallToolParams{Name: "lift", Arguments: map[string]any{}})
			if err != nil || !res.IsError || !strings.Contains(text(t, res), "insight_text") {
				t.Errorf("lift {}: %v %+v, want a tool error naming insight_text", err, res)
			}
			if _, err := cs.ReadResource(ctx, &sdk.ReadResourceParams{URI: CapabilitiesURI}); err != nil {
				t.Errorf("reading %s: %v", CapabilitiesURI, err)
			}
		})
	}
}

const initialize = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}`

// TestHTTPProtection checks the cross-origin and DNS-rebinding
// protections with raw requests.
func TestHTTPProtection(t *testing.T) {
	ts := serveHTTP(t, &HTTPOptions{AllowedOrigins: []string{"https://app.example.com"}})
	for _, tc := range []struct {
		name    string
		method  string
		headers map[string]string
		host    string
		want    int // 0: anything but 403
	}{
		{name: "no origin (not a browser)", method: "POST"},
		{name: "same origin", method: "POST", headers: map[string]string{"Origin": ts.URL}},
		{name: "allowed origin", method: "POST", headers: map[string]string{"Origin": "https://app.example.com"}},
		{name: "other origin", method: "POST", headers: map[string]string{"Origin": "https://evil.example.com"}, want: 403},
		{name: "null origin", method: "POST", headers: map[string]string{"Origin": "null"}, want: 403},
		{name: "cross-site fetch", method: "POST", headers: map[string]string{"Sec-Fetch-Site": "cross-site"}, want: 403},
		{name: "GET from other origin", method: "GET", headers: map[string]string{"Origin": "https://evil.example.com"}, want: 403},
		{name: "DELETE from other origin", method: "DELETE", headers: map[string]string{"Origin": "https://evil.example.com", "Mcp-Session-Id": "x"}, want: 403},
		{name: "GET without origin", method: "GET"},
		{name: "DNS rebinding (Host not localhost)", method: "POST", host: "evil.example.com", want: 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body *strings.Reader
			if tc.method == "POST" {
				body = strings.NewReader(initialize)
			} else {
				body = strings.NewReader("")
			}
			req, err := http.NewRequestWithContext(testContext(t), tc.method, ts.URL+"/mcp", body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			if tc.host != "" {
				req.Host = tc.host
			}
			resp, err := ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			switch {
			case tc.want != 0 && resp.StatusCode != tc.want:
				t.Errorf("status %d, want %d", resp.StatusCode, tc.want)
			case tc.want == 0 && resp.StatusCode == http.StatusForbidden:
				t.Errorf("status 403, want the request let through")
			case tc.want == 0 && tc.method == "POST" && resp.StatusCode != http.StatusOK:
				t.Errorf("initialize: status %d, want 200", resp.StatusCode)
			}
		})
	}
}

func TestHTTPBadAllowedOrigin(t *testing.T) {
	if _, err := NewHTTPHandler(newEngine(t), &HTTPOptions{AllowedOrigins: []string{"not an origin"}}); err == nil {
		t.Error("NewHTTPHandler accepted a malformed allowed origin")
	}
}
