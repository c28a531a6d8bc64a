package httpapi

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/cache"
	"github.com/dredge-cli/dredge/internal/testengine"
)

// newTestEngine returns a CPU Engine closed when the test ends.
// newTestEngine returns a CPU Engine closed when the test ends.
var newTestEngine = testengine.New

// newTestHandler returns New's handler over a fresh Engine.
func newTestHandler(t testing.TB, cfg Config, opts ...dredge.Option) *handler {
	t.Helper()
	h, err := New(newTestEngine(t, opts...), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h.(*handler)
}

// startRun serves h through Run on a loopback port with the given grace.
// It returns the address, the cancel that starts the shutdown, and the
// channel that receives Run's result.
func startRun(t testing.TB, h http.Handler, grace time.Duration) (addr string, cancel context.CancelFunc, ran <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	result := make(chan error, 1)
	go func() { result <- Run(ctx, NewServer("", h, Config{}), ln, grace) }()
	return ln.Addr().String(), cancel, result
}

// newLogger returns a JSON logger writing to w at level Debug.
func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// fakeCache is a cache.Cache whose Get misses, or fails with err; it calls
// noDeadline, when set, for a Get whose context has no deadline.
type fakeCache struct {
	err        error
	noDeadline func()
}

var _ cache.Cache = (*fakeCache)(nil)

func (c *fakeCache) Get(ctx context.Context, key string) ([]byte, error) {
	if _, ok := ctx.Deadline(); !ok && c.noDeadline != nil {
		c.noDeadline()
	}
	if c.err != nil {
		return nil, c.err
	}
	return nil, cache.ErrNotFound
}
func (c *fakeCache) Set(context.Context, string, []byte, time.Duration) error { return c.err }
func (c *fakeCache) Delete(context.Context, string) error                     { return c.err }
func (c *fakeCache) Clear(context.Context) error                              { return c.err }
func (c *fakeCache) Stats(context.Context) (cache.Stats, error)               { return cache.Stats{}, c.err }
func (c *fakeCache) Close() error                                             { return nil }

// clock is a settable clock for the rate limiter.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// serve serves r and returns the answer.
func serve(h http.Handler, r *http.Request) *http.Response {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}
