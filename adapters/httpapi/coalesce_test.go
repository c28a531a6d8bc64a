package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// countingConn counts the writes that reach a connection.
type countingConn struct {
	net.Conn
	mu     sync.Mutex
	writes []int // the size of each write
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writes = append(c.writes, len(p))
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *countingConn) sizes() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int(nil), c.writes...)
}

// countingListener wraps accepted connections in countingConns.
type countingListener struct {
	net.Listener
	conns chan *countingConn
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	cc := &countingConn{Conn: c}
	l.conns <- cc
	return cc, nil
}

// recordConn is a net.Conn that records writes and serves no reads.
type recordConn struct {
	net.Conn // nil: only the methods below may be called
	writes   [][]byte
	closed   bool
}

func (c *recordConn) Write(p []byte) (int, error) {
	c.writes = append(c.writes, bytes.Clone(p))
	return len(p), nil
}
func (c *recordConn) Read(p []byte) (int, error) { return 0, io.EOF }
func (c *recordConn) Close() error               { c.closed = true; return nil }

func TestCoalescingConn(t *testing.T) {
	rc := &recordConn{}
	c := &coalescingConn{Conn: rc}
	write := func(s string) {
		t.Helper()
		if n, err := c.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	want := func(ws ...string) {
		t.Helper()
		var got []string
		for _, w := range rc.writes {
			got = append(got, string(w))
		}
		if fmt.Sprint(got) != fmt.Sprint(ws) {
			t.Fatalf("writes %q, want %q", got, ws)
		}
	}

	write("a") // not holding: straight through
	want("a")
	c.hold()
	write("b")
	write("c")
	want("a")
	if err := c.flush(); err != nil {
		t.Fatal(err)
	}
	want("a", "bc")
	write("d") // flush ended the hold
	want("a", "bc", "d")

	c.hold()
	write("e")
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("Read: %v", err)
	}
	want("a", "bc", "d") // reads do not end a hold
	if err := c.flush(); err != nil {
		t.Fatal(err)
	}
	want("a", "bc", "d", "e")

	c.hold()
	write("f")
	big := strings.Repeat("g", maxHeldAnswer)
	write(big) // over the bound: what is held goes first, then the rest
	want("a", "bc", "d", "e", "f", big)

	c.hold()
	write("h")
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	c.hold()
	write("i")
	if err := c.Close(); err != nil || !rc.closed {
		t.Fatalf("Close: %v, closed %v", err, rc.closed)
	}
	want("a", "bc", "d", "e", "f", big, "h", "i")
}

// unifiedRequest is a legacy /mcp request whose answer is over 4 KiB.
const unifiedRequest = `{"operation":"unified_inference","params":{"dredge_insight":"one write","quasimoto_coords":[0.5],"string_modes":[1,2,3]}}`

// TestRunWritesAnswersOnce serves five unified_inference answers (each over
// net/http's 4 KiB connection buffer) on one keep-alive connection and
// counts the writes that reach it: one per answer through Run, at least two
// through plain http.Server.Serve.
func TestRunWritesAnswersOnce(t *testing.T) {
	cfg := Config{ReadHeaderTimeout: time.Minute, IdleTimeout: time.Minute, BodyReadTimeout: time.Minute}
	h := newTestHandler(t, cfg)
	for _, tc := range []struct {
		name      string
		run       bool
		maxWrites int
	}{
		{"Run", true, 1},
		{"Serve", false, 2}, // the baseline: shows the test sees the difference
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			cl := countingListener{Listener: ln, conns: make(chan *countingConn, 1)}
			srv := NewServer("", h, cfg)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			if tc.run {
				go func() { done <- Run(ctx, srv, cl, time.Second) }()
			} else {
				go func() { done <- srv.Serve(cl) }()
			}
			defer func() {
				cancel()
				if !tc.run {
					_ = srv.Close()
				}
				<-done
			}()

			client := &http.Client{Transport: &http.Transport{}}
			defer client.CloseIdleConnections()
			const requests = 5
			for i := range requests {
				res, err := client.Post("http://"+ln.Addr().String()+"/mcp", "application/json", strings.NewReader(unifiedRequest))
				if err != nil {
					t.Fatal(err)
				}
				body, err := io.ReadAll(res.Body)
				res.Body.Close()
				if err != nil || res.StatusCode != 200 || !json.Valid(body) || len(body) < coalesceAbove {
					t.Fatalf("request %d: status %d, %d bytes, %v", i, res.StatusCode, len(body), err)
				}
			}
			conn := <-cl.conns
			sizes := conn.sizes()
			if tc.run && len(sizes) != requests {
				t.Errorf("writes %v: want one per answer", sizes)
			}
			if !tc.run && len(sizes) < tc.maxWrites*requests {
				t.Errorf("writes %v: want %d per answer without Run", sizes, tc.maxWrites)
			}
			t.Logf("%d writes for %d requests", len(sizes), requests)
		})
	}
}

// TestRunStreamsAfterHeldAnswer pipelines a held answer and a streaming
// answer on one connection: the stream's first event must reach the client
// while its handler is still running.
func TestRunStreamsAfterHeldAnswer(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 8000)
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		writeResult(w, r, http.StatusOK, big)
	})
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		<-release
		_, _ = io.WriteString(w, "data: last\n\n")
	})
	addr, cancel, done := startRun(t, mux, time.Second)
	defer func() { cancel(); <-done }()

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Both requests in one write: net/http reads the second while it
	// answers the first.
	if _, err := io.WriteString(conn, "GET /big HTTP/1.1\r\nHost: x\r\n\r\nGET /stream HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(res.Body)
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("first answer: %d bytes, %v", len(got), err)
	}
	res, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("stream headers: %v (held behind the first answer?)", err)
	}
	line, err := bufio.NewReader(res.Body).ReadString('\n')
	if err != nil || line != "data: first\n" {
		t.Fatalf("first event %q, %v", line, err)
	}
	close(release)
}
