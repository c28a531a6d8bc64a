package mcp

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/dredge-cli/dredge"
)

// GET / of the original's MCP server answered its capabilities; tests of
// its clients read name, capabilities and features.device_info.
func TestIndexHandler(t *testing.T) {
	eng := newEngine(t)
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", NewIndexHandler(eng))

	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET /: %d %q: %s", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	var caps struct {
		Success      bool   `json:"success"`
		Name         string `json:"name"`
		Version      string `json:"version"`
		Protocol     string `json:"protocol"`
		Capabilities struct {
			Models     []string `json:"models"`
			Operations []string `json:"operations"`
		} `json:"capabilities"`
		Features struct {
			DeviceInfo map[string]any `json:"device_info"`
		} `json:"features"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &caps); err != nil {
		t.Fatal(err)
	}
	if !caps.Success || caps.Name != dredge.Name || caps.Version != dredge.Version || caps.Protocol == "" ||
		len(caps.Capabilities.Models) == 0 || len(caps.Capabilities.Operations) != len(dredge.Operations()) ||
		caps.Features.DeviceInfo["kind"] != "cpu" {
		t.Errorf("GET /: %s", w.Body)
	}

	w = httptest.NewRecorder()
	NewIndexHandler(eng).ServeHTTP(w, httptest.NewRequest("POST", "/", nil))
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /: %d, Allow %q", w.Code, w.Header().Get("Allow"))
	}

	_ = eng.Close()
	w = httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("GET / on a closed Engine: %d %s", w.Code, w.Body)
	}
}
