package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/dredge-cli/dredge"
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
	mux, h, err := newMux(eng, &mcp.HTTPOptions{})
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
