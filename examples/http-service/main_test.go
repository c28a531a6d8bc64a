//go:build unix

package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRunStopsOnSIGTERM starts the service, waits until it is healthy,
// sends the process SIGTERM and expects run to return nil.
func TestRunStopsOnSIGTERM(t *testing.T) {
	t.Setenv("LOG_LEVEL", "error")
	t.Setenv("CACHE_BACKEND", "memory")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ran := make(chan error, 1)
	go func() { ran <- run(addr) }()

	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := http.Get("http://" + addr + "/ready")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		select {
		case err := <-ran:
			t.Fatalf("run returned early: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the service did not become ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
	checkOneMCPPath(t, "http://"+addr+"/mcp")
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-ran:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop on SIGTERM")
	}
}

func TestRunBadLogLevel(t *testing.T) {
	t.Setenv("LOG_LEVEL", "loud")
	if err := run("127.0.0.1:0"); err == nil {
		t.Fatal("run accepted LOG_LEVEL=loud")
	}
}

func TestRunBadConfig(t *testing.T) {
	t.Setenv("AUTH_ENABLED", "true")
	t.Setenv("API_KEY", "")
	t.Setenv("API_KEYS_FILE", "")
	if err := run("127.0.0.1:0"); err == nil {
		t.Fatal("run accepted AUTH_ENABLED without a key")
	}
}

// checkOneMCPPath sends the original's {"operation", "params"} JSON and a
// real MCP initialize request to the same POST /mcp.
func checkOneMCPPath(t *testing.T, url string) {
	t.Helper()
	post := func(body string, hdr map[string]string) (*http.Response, string) {
		req, _ := http.NewRequest("POST", url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res, string(b)
	}
	res, body := post(`{"operation":"string_spectrum","params":{"max_modes":2}}`, nil)
	var legacy struct {
		Success bool      `json:"success"`
		Spec    []float64 `json:"energy_spectrum"`
	}
	if err := json.Unmarshal([]byte(body), &legacy); res.StatusCode != 200 || err != nil || !legacy.Success || len(legacy.Spec) != 2 {
		t.Fatalf("legacy /mcp: %d %s", res.StatusCode, body)
	}
	res, body = post(`{"operation":"string_spectrum","params":{"max_modes":0}}`, nil)
	if res.StatusCode != 200 || !strings.Contains(body, `"success":false`) || !strings.Contains(body, "max_modes") {
		t.Fatalf("legacy /mcp failure: %d %s", res.StatusCode, body)
	}
	res, body = post(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"test","version":"1"}}}`,
		map[string]string{"Accept": "application/json, text/event-stream"})
	if res.StatusCode != 200 || !strings.Contains(body, `"serverInfo"`) || res.Header.Get("Mcp-Session-Id") == "" {
		t.Fatalf("MCP initialize on /mcp: %d %v %s", res.StatusCode, res.Header, body)
	}
}
