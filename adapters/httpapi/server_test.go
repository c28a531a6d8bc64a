package httpapi

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRunGracefulShutdown cancels Run while a request is in flight: the
// request finishes with its answer, new connections are refused, and Run
// returns nil.
func TestRunGracefulShutdown(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		_, _ = io.WriteString(w, "finished")
	})
	addr, cancel, ran := startRun(t, h, 5*time.Second)

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	got := make(chan string, 1)
	go func() {
		res, err := client.Get("http://" + addr + "/")
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		got <- string(b)
	}()
	<-started
	cancel()
	// Shutdown closes the listener at once; Run waits for the request.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("still accepting connections after the context was cancelled")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-ran:
		t.Fatalf("Run returned %v with a request in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if s := <-got; s != "finished" {
		t.Fatalf("in-flight request got %q", s)
	}
	if err := <-ran; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// TestRunGraceExpires: a request that outlives the grace period is cut and
// Run reports the deadline.
func TestRunGraceExpires(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	addr, cancel, ran := startRun(t, h, 50*time.Millisecond)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if res, err := client.Get("http://" + addr + "/"); err == nil {
			res.Body.Close()
		}
	}()
	<-started
	cancel()
	if err := <-ran; !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Run = %v, want the grace deadline", err)
	}
	close(release)
	<-done
}

func TestRunListenError(t *testing.T) {
	err := Run(context.Background(), NewServer("127.0.0.1:-1", http.NotFoundHandler(), Config{}), nil, 0)
	if err == nil || !strings.Contains(err.Error(), "-1") {
		t.Errorf("Run on a bad address = %v", err)
	}
}

func TestNewServer(t *testing.T) {
	srv := NewServer(":0", http.NotFoundHandler(), Config{ReadHeaderTimeout: 3 * time.Second, Logger: newLogger(io.Discard)})
	if srv.ReadHeaderTimeout != 3*time.Second || srv.IdleTimeout != DefaultIdleTimeout ||
		srv.MaxHeaderBytes != DefaultMaxHeaderBytes || srv.WriteTimeout != 0 || srv.ErrorLog == nil {
		t.Errorf("server %+v", srv)
	}
}

// TestBodyReadTimeout: a client that stops sending its body gets 408 once
// BodyReadTimeout has passed, and the deadline does not outlive the body:
// a slow MCP handler after a quick body keeps its context.
func TestBodyReadTimeout(t *testing.T) {
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		time.Sleep(300 * time.Millisecond)
		if err := r.Context().Err(); err != nil {
			http.Error(w, "context: "+err.Error(), 500)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
	h := newTestHandler(t, Config{BodyReadTimeout: 100 * time.Millisecond, MCP: slow})
	addr, cancel, ran := startRun(t, h, time.Second)
	defer func() {
		cancel()
		if err := <-ran; err != nil {
			t.Error(err)
		}
	}()

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = io.WriteString(c, "POST /lift HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"insight")
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	reply, _ := io.ReadAll(c)
	if !strings.HasPrefix(string(reply), "HTTP/1.1 408") {
		t.Fatalf("trickled body: %q", reply)
	}

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	res, err := client.Post("http://"+addr+"/mcp", "application/json", strings.NewReader(`{"jsonrpc":"2.0","method":"ping","id":1}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("slow handler after a quick body: %d %s", res.StatusCode, b)
	}
}
