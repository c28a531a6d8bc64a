package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/adapters/httpapi"
	"github.com/dredge-cli/dredge/adapters/mcp"
)

// Over HTTP, GET / answers the capabilities, as the original's MCP server
// did, and /mcp stays the MCP transport.
func TestMuxIndex(t *testing.T) {
	eng, err := dredge.New(dredge.WithDeviceKind("cpu"))
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	mux, h, err := newMux(eng, httpapi.Config{}, &mcp.HTTPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.CloseSessions()

	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	var caps struct {
		Name     string `json:"name"`
		Features struct {
			DeviceInfo map[string]any `json:"device_info"`
		} `json:"features"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &caps); w.Code != 200 || err != nil || caps.Name != dredge.Name || caps.Features.DeviceInfo == nil {
		t.Errorf("GET /: %d %v: %s", w.Code, err, w.Body)
	}

	// The deployment's probe and scrape (deploy/compose.yaml).
	w = httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest("GET", "/health", nil))
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"status":"healthy"`) {
		t.Errorf("GET /health: %d: %s", w.Code, w.Body)
	}
	w = httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if w.Code != 200 || !strings.Contains(w.Body.String(), "dredge_models_loaded") {
		t.Errorf("GET /metrics: %d: %.300s", w.Code, w.Body)
	}

	w = httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest("GET", "/nope", nil))
	if w.Code != http.StatusNotFound {
		t.Errorf("GET /nope: %d", w.Code)
	}
	// An initialize without the Accept header the transport requires: the
	// MCP handler answers, not the index.
	w = httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest("POST", "/mcp", nil))
	if w.Code == 200 || w.Code == http.StatusNotFound {
		t.Errorf("POST /mcp: %d: %s", w.Code, w.Body)
	}
}

// With AUTH_ENABLED the transport and the index take the HTTP service's
// keys: none or a wrong one gets 401 with a Bearer challenge; a valid one
// reaches the handlers.
func TestMuxAuth(t *testing.T) {
	eng, err := dredge.New(dredge.WithDeviceKind("cpu"))
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	const key = "mcp-server-test-key"
	mux, h, err := newMux(eng, httpapi.Config{AuthEnabled: true, APIKeys: []string{key}}, &mcp.HTTPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.CloseSessions()
	for _, tc := range []struct {
		method, path, auth string
		want               int
	}{
		{"GET", "/", "", http.StatusUnauthorized},
		{"POST", "/mcp", "", http.StatusUnauthorized},
		{"GET", "/mcp", "", http.StatusUnauthorized},
		{"POST", "/mcp", "Bearer wrong", http.StatusUnauthorized},
		{"GET", "/", "Bearer " + key, http.StatusOK},
		// Probed and scraped as the service is: the probes without a key,
		// the metrics with one.
		{"GET", "/health", "", http.StatusOK},
		{"GET", "/ready", "", http.StatusOK},
		{"GET", "/metrics", "", http.StatusUnauthorized},
		{"GET", "/metrics", "Bearer " + key, http.StatusOK},
		// No Accept header: the transport's own 400, past authentication.
		{"POST", "/mcp", "Bearer " + key, http.StatusBadRequest},
	} {
		r := httptest.NewRequest(tc.method, tc.path, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
		r.Header.Set("Content-Type", "application/json")
		if tc.auth != "" {
			r.Header.Set("Authorization", tc.auth)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		if w.Code != tc.want {
			t.Errorf("%s %s (%q): %d, want %d: %s", tc.method, tc.path, tc.auth, w.Code, tc.want, w.Body)
		}
		if w.Code == http.StatusUnauthorized {
			if !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s %s: 401 without a Bearer challenge", tc.method, tc.path)
			}
			if strings.Contains(w.Body.String(), "wrong") {
				t.Errorf("%s %s: the 401 repeats the key: %s", tc.method, tc.path, w.Body)
			}
		}
	}
}
