package testredis

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Bin is the redis-server binary the Debian package installs.
const Bin = "/usr/bin/redis-server"

// Server is a redis-server process the test owns.
type Server struct {
	t    testing.TB
	Port int
	cmd  *exec.Cmd
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start starts redis-server on port (0: a free one) and stops it when the
// test ends. It skips the test when the binary is missing.
func Start(t testing.TB, port int) *Server {
	t.Helper()
	if _, err := os.Stat(Bin); err != nil {
		t.Skipf("%s not found (apt-get install redis-server): %v", Bin, err)
	}
	if port == 0 {
		port = FreePort(t)
	}
	s := &Server{t: t, Port: port}
	s.Restart()
	t.Cleanup(s.Kill)
	return s
}

// URL returns the server's redis:// URL.
func (s *Server) URL() string { return "redis://127.0.0.1:" + strconv.Itoa(s.Port) + "/0" }

// Restart starts the server (again) on the same port and waits until it accepts connections.
func (s *Server) Restart() {
	s.t.Helper()
	s.cmd = exec.Command(Bin, "--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.t.TempDir(), "--loglevel", "warning")
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port))
	for deadline := time.Now().Add(5 * time.Second); ; {
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("redis-server on %s did not start", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill stops the server at once.
func (s *Server) Kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

// Signal sends sig to the server (SIGSTOP to freeze it, SIGCONT to resume).
func (s *Server) Signal(sig syscall.Signal) {
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatal(err)
	}
}
