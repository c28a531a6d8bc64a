//go:build unix

package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dredge-cli/dredge/internal/testredis"
)

// TestRunStopsOnSIGTERM starts the service, waits until it is healthy,
// runs a job, sends the process SIGTERM and expects run to return nil.
func TestRunStopsOnSIGTERM(t *testing.T) {
	t.Setenv("LOG_LEVEL", "error")
	t.Setenv("CACHE_BACKEND", "memory")
	runUntilSIGTERM(t)
}

// TestRunRedisQueue is TestRunStopsOnSIGTERM with its jobs on Redis.
func TestRunRedisQueue(t *testing.T) {
	url := os.Getenv("REDIS_URL")
	if url == "" {
		t.Skip("REDIS_URL not set: start redis-server and set REDIS_URL=redis://127.0.0.1:6379/0 to run the service on a Redis queue")
	}
	t.Setenv("LOG_LEVEL", "error")
	t.Setenv("CACHE_BACKEND", "memory")
	t.Setenv("QUEUE_BACKEND", "redis")
	prefix := "dredge:test:http-service:" + strconv.FormatInt(time.Now().UnixNano(), 36)
	t.Setenv("QUEUE_PREFIX", prefix)
	runUntilSIGTERM(t)
	// The queue's keys, left for other processes, are this test's to remove.
	c := testredis.ClientAt(t, url)
	ctx := context.Background()
	keys, err := c.Do(ctx, c.B().Keys().Pattern("{"+prefix+"}:*").Build()).AsStrSlice()
	if err != nil || len(keys) < 2 {
		t.Fatalf("the queue's keys: %v, %v", keys, err)
	}
	if err := c.Do(ctx, c.B().Del().Key(keys...).Build()).Error(); err != nil {
		t.Fatal(err)
	}
}

func runUntilSIGTERM(t *testing.T) {
	addr, ran := startService(t)
	checkOneMCPPath(t, "http://"+addr+"/mcp")
	checkJob(t, "http://"+addr)
	stopService(t, ran)
}

// startService runs the service on a loopback port until it is ready. It
// returns the address and the channel that receives run's result.
func startService(t *testing.T) (string, <-chan error) {
	t.Helper()
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
	return addr, ran
}

// stopService sends the process SIGTERM and expects run to return nil.
func stopService(t *testing.T, ran <-chan error) {
	t.Helper()
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

// TestRunReloadsKeysOnSIGHUP rewrites API_KEYS_FILE without key A and
// sends SIGHUP: A is refused from then on and the new key B accepted; a
// file that does not parse keeps B.
func TestRunReloadsKeysOnSIGHUP(t *testing.T) {
	const keyA, keyB = "key-A-1f3c", "key-B-9d2e"
	path := filepath.Join(t.TempDir(), "keys")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("acme " + keyA + "\n")
	t.Setenv("LOG_LEVEL", "error")
	t.Setenv("CACHE_BACKEND", "memory")
	t.Setenv("AUTH_ENABLED", "true")
	t.Setenv("API_KEY", "")
	t.Setenv("API_KEYS_FILE", path)
	addr, ran := startService(t)
	status := func(key string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+addr+"/v1/ops", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	// hangup sends SIGHUP and waits until key answers want.
	hangup := func(key string, want int) {
		t.Helper()
		if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(5 * time.Second); status(key) != want; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("after SIGHUP: %d, want %d", status(key), want)
			}
		}
	}
	if a, b := status(keyA), status(keyB); a != 200 || b != 401 {
		t.Fatalf("before SIGHUP: key A %d, key B %d", a, b)
	}
	// A training admitted with key A (a few seconds of epochs) runs on
	// through A's revocation and answers.
	type answer struct {
		code int
		body string
		at   time.Time
	}
	inFlight := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest("POST", "http://"+addr+"/v1/ops/benchmark", strings.NewReader(`{"model_type":"siren","config":{"hidden_size":4,"epochs":8000}}`))
		req.Header.Set("Authorization", "Bearer "+keyA)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			inFlight <- answer{body: err.Error(), at: time.Now()}
			return
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		inFlight <- answer{res.StatusCode, string(b), time.Now()}
	}()
	time.Sleep(300 * time.Millisecond) // admitted and training
	write("# A revoked\nbeta " + keyB + "\n")
	hangup(keyA, 401)
	revoked := time.Now()
	if b := status(keyB); b != 200 {
		t.Errorf("after SIGHUP: key B %d", b)
	}
	if a := <-inFlight; a.code != 200 || !strings.Contains(a.body, `"epochs":8000`) {
		t.Errorf("the training admitted with key A before its revocation: %d %s, want it to finish", a.code, a.body)
	} else if a.at.Before(revoked) {
		t.Errorf("the training ended %v before key A was revoked: the test needs a longer one", revoked.Sub(a.at))
	}
	// A file that does not parse leaves B as it was; a later good one wins.
	write("beta/x " + keyB + "\n")
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if b := status(keyB); b != 200 {
		t.Errorf("after a failed reload: key B %d", b)
	}
	write("acme " + keyA + "\n")
	hangup(keyB, 401)
	stopService(t, ran)
}

func TestRunBadLogLevel(t *testing.T) {
	t.Setenv("LOG_LEVEL", "loud")
	if err := run("127.0.0.1:0"); err == nil {
		t.Fatal("run accepted LOG_LEVEL=loud")
	}
}

// checkJob submits a job and polls it until it completes.
func checkJob(t *testing.T, base string) {
	t.Helper()
	res, err := http.Post(base+"/v1/jobs", "application/json", strings.NewReader(`{"operation":"string_spectrum","params":{"max_modes":2}}`))
	if err != nil {
		t.Fatal(err)
	}
	var sub struct {
		ID string `json:"job_id"`
	}
	err = json.NewDecoder(res.Body).Decode(&sub)
	res.Body.Close()
	if res.StatusCode != 202 || err != nil || sub.ID == "" {
		t.Fatalf("POST /v1/jobs: %d %v", res.StatusCode, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := http.Get(base + "/v1/jobs/" + sub.ID)
		if err != nil {
			t.Fatal(err)
		}
		var st struct {
			Status string `json:"status"`
			Result struct {
				Spec []float64 `json:"energy_spectrum"`
			} `json:"result"`
		}
		err = json.NewDecoder(res.Body).Decode(&st)
		res.Body.Close()
		if res.StatusCode != 200 || err != nil {
			t.Fatalf("GET /v1/jobs/%s: %d %v", sub.ID, res.StatusCode, err)
		}
		if st.Status == "completed" && len(st.Result.Spec) == 2 {
			return
		}
		if st.Status != "pending" && st.Status != "running" || time.Now().After(deadline) {
			t.Fatalf("job %s: %+v", sub.ID, st)
		}
		time.Sleep(10 * time.Millisecond)
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

func TestRunRefusesMemoryQueueWithoutWorkers(t *testing.T) {
	t.Setenv("LOG_LEVEL", "error")
	t.Setenv("CACHE_BACKEND", "memory")
	t.Setenv("NUM_WORKERS", "0")
	if err := run("127.0.0.1:0"); err == nil || !strings.Contains(err.Error(), "NUM_WORKERS=0") {
		t.Fatalf("run with NUM_WORKERS=0 on the memory queue: %v", err)
	}
}
