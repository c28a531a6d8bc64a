package testredis

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Bin is the redis-server binary the Debian package installs.
const Bin = "/usr/bin/redis-server"

// Options configures [StartWith]. The zero value is a server on a free
// port without persistence.
type Options struct {
	// Port is the server's port (0: a free one).
	Port int
	// AppendOnly turns on append-only persistence with appendfsync always:
	// every write is on disk before Redis answers it, and the data survive
	// Kill and Restart (the data directory is kept across restarts).
	AppendOnly bool
	// Cluster starts the server with cluster mode enabled (see
	// [StartCluster], which makes a cluster of such servers).
	Cluster bool
}

// Server is a redis-server process the test owns.
type Server struct {
	t    testing.TB
	Port int
	// Dir is the server's data directory, the same across restarts.
	Dir  string
	opts Options
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

// Start starts redis-server on port (0: a free one), without persistence,
// and stops it when the test ends. It skips the test when the binary is
// missing.
func Start(t testing.TB, port int) *Server {
	t.Helper()
	return StartWith(t, Options{Port: port})
}

// StartWith starts redis-server as o says and stops it when the test ends.
// It skips the test when the binary is missing.
func StartWith(t testing.TB, o Options) *Server {
	t.Helper()
	if _, err := os.Stat(Bin); err != nil {
		t.Skipf("%s not found (apt-get install redis-server): %v", Bin, err)
	}
	if o.Port == 0 {
		o.Port = FreePort(t)
	}
	s := &Server{t: t, Port: o.Port, Dir: t.TempDir(), opts: o}
	s.Restart()
	t.Cleanup(s.Kill)
	return s
}

// URL returns the server's redis:// URL.
func (s *Server) URL() string { return "redis://127.0.0.1:" + strconv.Itoa(s.Port) + "/0" }

// Restart starts the server (again) on the same port and data directory
// and waits until it accepts connections. With Options.AppendOnly it then
// holds what it had accepted before it stopped.
func (s *Server) Restart() {
	s.t.Helper()
	args := []string{"--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1",
		"--save", "", "--dir", s.Dir, "--loglevel", "warning"}
	if s.opts.Cluster {
		args = append(args, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
	}
	if s.opts.AppendOnly {
		args = append(args, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		args = append(args, "--appendonly", "no")
	}
	s.cmd = exec.Command(Bin, args...)
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

// Kill stops the server at once (SIGKILL).
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

// StartCluster starts a Redis Cluster of n masters (no replicas) that
// share the hash slots, and returns its URL for rueidis: the first node,
// the others as ?addr= seeds. It skips the test when redis-server or
// redis-cli is missing.
func StartCluster(t testing.TB, n int) string {
	t.Helper()
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Skipf("redis-cli not found (apt-get install redis-server): %v", err)
	}
	var addrs []string
	for range n {
		s := StartWith(t, Options{Cluster: true})
		addrs = append(addrs, net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)))
	}
	args := append(append([]string{"--cluster", "create"}, addrs...), "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		ok := true
		for _, a := range addrs {
			h, p, _ := net.SplitHostPort(a)
			out, _ := exec.Command(cli, "-h", h, "-p", p, "cluster", "info").Output()
			ok = ok && strings.Contains(string(out), "cluster_state:ok")
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cluster on %v is not ok after 10s", addrs)
		}
	}
	u := "redis://" + addrs[0]
	for i, a := range addrs[1:] {
		sep := "&"
		if i == 0 {
			sep = "?"
		}
		u += sep + "addr=" + a
	}
	return u
}
