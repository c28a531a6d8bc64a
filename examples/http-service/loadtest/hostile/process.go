package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// process is the service this program started.
type process struct {
	cmd     *exec.Cmd
	url     string
	logs    *tailBuffer
	done    chan struct{} // closed when the process has exited
	waitErr error         // cmd.Wait's result, once done is closed
}

// startServer starts the service binary at path on a free 127.0.0.1 port
// with o's budget and request timeout, and waits until /health answers 200.
// Its logs go to logw (when not nil) and to a tail kept in memory.
func startServer(ctx context.Context, path string, o options, logw io.Writer) (*process, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()

	p := &process{url: "http://" + addr, logs: &tailBuffer{max: 16 << 10}, done: make(chan struct{})}
	p.cmd = exec.Command(path, "-addr", addr)
	env := append(os.Environ(),
		"MODEL_MEMORY_LIMIT="+o.budget,
		"REQUEST_TIMEOUT="+strconv.FormatFloat(o.requestTimeout.Seconds(), 'f', -1, 64))
	if _, ok := os.LookupEnv("LOG_LEVEL"); !ok {
		env = append(env, "LOG_LEVEL=warn")
	}
	p.cmd.Env = env
	var out io.Writer = p.logs
	if logw != nil {
		out = io.MultiWriter(p.logs, logw)
	}
	p.cmd.Stdout, p.cmd.Stderr = out, out
	p.cmd.SysProcAttr = sysProcAttr()
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()

	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{Proxy: nil}}
	defer hc.CloseIdleConnections()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := hc.Get(p.url + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("%s exited before it was healthy: %v\n%s", path, p.waitErr, p.logs.tail())
		case <-ctx.Done():
			p.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("%s: /health did not answer 200 within 15 s\n%s", path, p.logs.tail())
		}
	}
}

// stop sends the service SIGTERM and waits for it to exit (killing it after
// 20 s), and says how it ended.
func (p *process) stop() *serverOutcome {
	start := time.Now()
	select {
	case <-p.done:
		return &serverOutcome{ExitAfterSIGTERM: fmt.Sprintf("had already exited: %v", p.waitErr)}
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		<-p.done
		return &serverOutcome{ExitAfterSIGTERM: fmt.Sprintf("SIGTERM: %v; exit: %v", err, p.waitErr)}
	}
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		return &serverOutcome{ExitAfterSIGTERM: "killed: not stopped 20 s after SIGTERM", StopSeconds: time.Since(start).Seconds()}
	}
	o := &serverOutcome{ExitAfterSIGTERM: "0", StopSeconds: time.Since(start).Round(time.Millisecond).Seconds()}
	if p.waitErr != nil {
		o.ExitAfterSIGTERM = p.waitErr.Error()
	}
	return o
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(b), nil
}

func (t *tailBuffer) tail() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
