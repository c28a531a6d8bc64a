package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandlerAnswersSize(t *testing.T) {
	for _, size := range []int{minSize, 4081} {
		srv := httptest.NewServer(newHandler(size))
		resp, err := http.Post(srv.URL+"/mcp", "application/json", strings.NewReader(`{"operation":"unified_inference"}`))
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK || len(body) != size || !json.Valid(body) {
			t.Errorf("size %d: status %d, %d bytes, valid JSON %v", size, resp.StatusCode, len(body), json.Valid(body))
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("size %d: Content-Type %q", size, ct)
		}
	}
}

func TestHandlerOnlyPOST(t *testing.T) {
	srv := httptest.NewServer(newHandler(minSize))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/mcp")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: status %d, want 405", resp.StatusCode)
	}
}
