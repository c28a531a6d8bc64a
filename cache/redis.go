package cache

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"
)

// RedisConfig configures [NewRedis]. The zero value connects to
// 127.0.0.1:6379, database 0, with key prefix "dredge:cache:", a one-hour
// default TTL and a 200ms timeout per call.
type RedisConfig struct {
	// URL, when set, names the server and wins over Host, Port, DB,
	// Username and Password: redis://[user:password@]host:port/db,
	// rediss:// for TLS, unix:///path, and extra seed addresses of a
	// cluster as ?addr=host:port (see rueidis.ParseURL).
	URL string
	// Host and Port name the server; "" and 0 mean 127.0.0.1 and 6379.
	Host string
	Port int
	// DB selects the database. It must be 0 for Redis Cluster.
	DB       int
	Username string
	Password string

	// Prefix is put before every key, so that several caches (or other
	// users) can share a database; Clear removes only keys with it.
	// "" means "dredge:cache:".
	Prefix string
	// DefaultTTL is the TTL of a Set with ttl 0. 0 means [DefaultTTL]
	// (one hour); negative means no expiry.
	DefaultTTL time.Duration
	// Timeout bounds each call (each round trip for Clear). When it
	// passes, Get reports a miss with an error wrapping ErrUnavailable.
	// 0 means 200ms.
	Timeout time.Duration
	// DialTimeout bounds connecting. 0 means 1s.
	DialTimeout time.Duration
	// RetryInterval is how long calls skip Redis after a connection
	// failure or timeout, failing at once with ErrUnavailable, before the
	// next call tries again. 0 means 500ms.
	RetryInterval time.Duration
	// ClientCache, when positive, turns on rueidis client-side caching
	// (RESP3 CLIENT TRACKING): Get serves from process memory for up to
	// ClientCache, invalidated by the server when the key changes.
	// A process reads its own writes; writes by other processes are seen
	// when the server's invalidation arrives (about a round trip). A
	// server without RESP3 (Redis before 6) gets no client-side caching.
	ClientCache time.Duration
	// LazyConnect makes NewRedis succeed when the server is unreachable:
	// it then connects in the background (retrying with backoff up to 5s)
	// and calls fail with ErrUnavailable until it has. Without it NewRedis
	// fails when it cannot connect.
	LazyConnect bool

	// Logger receives failures, at most one record per LogInterval, and a
	// record when the server is reachable again. nil discards them.
	Logger *slog.Logger
	// LogInterval is the least time between two logged errors. 0 means 10s.
	LogInterval time.Duration
}

// DefaultRedisPrefix is the key prefix of a RedisConfig whose Prefix is "".
const DefaultRedisPrefix = "dredge:cache:"

// Redis is a cache on a Redis server or Redis Cluster through
// github.com/redis/rueidis. Concurrent calls are pipelined on shared
// connections (rueidis auto-pipelining).
//
// Faults: every call is bounded by RedisConfig.Timeout. A call that cannot
// reach the server returns an error wrapping [ErrUnavailable] (a Get counts
// as a miss), adds one to Stats.Errors, and logs (rate limited). For
// RedisConfig.RetryInterval after such a failure calls fail at once without
// trying the server; then they try again, and rueidis reconnects when the
// server is back. Nothing is disabled for good.
//
// All methods are safe for concurrent use.
type Redis struct {
	client     atomic.Pointer[rueidisClient] // nil until connected (LazyConnect)
	prefix     string
	pattern    string // prefix escaped for SCAN MATCH, plus "*"
	defaultTTL time.Duration
	timeout    time.Duration
	retry      time.Duration
	clientTTL  time.Duration
	addr       string
	log        *errLogger
	c          counters

	downUntil atomic.Int64 // unix nanoseconds until which calls skip the server
	failing   atomic.Bool  // the last call failed to reach the server
	closed    atomic.Bool
	closeOnce sync.Once
	stop      chan struct{}
	wg        sync.WaitGroup

	recent *recentWrites // nil without client-side caching
}

type rueidisClient struct{ rueidis.Client }

var _ Cache = (*Redis)(nil)

var errNotConnected = errors.New("not connected yet")

// NewRedis connects to Redis as cfg says. Without cfg.LazyConnect it fails,
// with an error wrapping ErrUnavailable, when the server cannot be reached
// within cfg.DialTimeout; with it, it returns at once and connects in the
// background. A bad cfg.URL is an error wrapping ErrInvalidArgument.
//
// When the server (or the first reachable seed address) is a Redis Cluster
// node, the client is a cluster client: keys are routed by hash slot and
// Clear scans every node.
func NewRedis(cfg RedisConfig) (*Redis, error) {
	opt, err := cfg.ClientOption()
	if err != nil {
		return nil, err
	}
	r := &Redis{
		prefix:     cmp.Or(cfg.Prefix, DefaultRedisPrefix),
		defaultTTL: defaultTTL(cfg.DefaultTTL),
		timeout:    cmp.Or(cfg.Timeout, 200*time.Millisecond),
		retry:      cmp.Or(cfg.RetryInterval, 500*time.Millisecond),
		clientTTL:  cfg.ClientCache,
		addr:       strings.Join(opt.InitAddress, ","),
		log:        newErrLogger(cfg.Logger, cfg.LogInterval),
		stop:       make(chan struct{}),
	}
	r.pattern = escapeGlob(r.prefix) + "*"
	if r.clientTTL > 0 {
		r.recent = &recentWrites{window: max(r.timeout, 250*time.Millisecond)}
	}
	client, err := r.newClient(&opt)
	if err == nil {
		r.client.Store(&rueidisClient{client})
		return r, nil
	}
	if !cfg.LazyConnect {
		return nil, fmt.Errorf("cache: redis connect %s: %w: %w", r.addr, ErrUnavailable, err)
	}
	r.log.log("cache: redis connect failed, retrying in background", err, slog.String("addr", r.addr))
	r.wg.Add(1)
	go r.connectLoop(opt)
	return r, nil
}

// ClientOption returns the rueidis options of the connection cfg names
// (URL, or Host, Port, DB, Username, Password, and DialTimeout), as
// NewRedis connects with them: retries off, client-side caching as
// ClientCache says. Other users of the same server (the model store)
// connect with it. A bad URL is an error wrapping ErrInvalidArgument that
// does not repeat the URL.
func (cfg RedisConfig) ClientOption() (rueidis.ClientOption, error) {
	var opt rueidis.ClientOption
	if cfg.URL != "" {
		var err error
		if opt, err = parseRedisURL(cfg.URL); err != nil {
			return opt, fmt.Errorf("cache: redis URL: %w: %w", ErrInvalidArgument, err)
		}
	} else {
		port := cmp.Or(cfg.Port, 6379)
		if port < 0 || port > 65535 || cfg.DB < 0 {
			return opt, fmt.Errorf("cache: redis: bad port %d or db %d: %w", cfg.Port, cfg.DB, ErrInvalidArgument)
		}
		opt.InitAddress = []string{net.JoinHostPort(cmp.Or(cfg.Host, "127.0.0.1"), strconv.Itoa(port))}
		opt.SelectDB = cfg.DB
		opt.Username = cfg.Username
		opt.Password = cfg.Password
	}
	opt.Dialer.Timeout = cmp.Or(cfg.DialTimeout, time.Second)
	// A cache call is cheap to lose: fail fast rather than retry, and let
	// the next call (after RetryInterval) reconnect.
	opt.DisableRetry = true
	opt.DisableCache = opt.DisableCache || cfg.ClientCache <= 0
	return opt, nil
}

// parseRedisURL is rueidis.ParseURL with an error that does not repeat the
// URL: a *url.Error would, password included.
func parseRedisURL(u string) (rueidis.ClientOption, error) {
	opt, err := rueidis.ParseURL(u)
	if ue, ok := errors.AsType[*url.Error](err); ok {
		err = ue.Err
	}
	return opt, err
}

// newClient connects; when the server cannot do client-side caching (no
// RESP3: Redis before 6), it logs that and connects without.
func (r *Redis) newClient(opt *rueidis.ClientOption) (rueidis.Client, error) {
	client, err := rueidis.NewClient(*opt)
	if err != nil && !opt.DisableCache && errors.Is(err, rueidis.ErrNoCache) {
		r.log.logger.Warn("cache: redis server cannot do client-side caching; ClientCache ignored", slog.String("addr", r.addr))
		opt.DisableCache = true
		r.clientTTL = 0 // Get reads it only after loading the client stored later
		r.recent = nil
		client, err = rueidis.NewClient(*opt)
	}
	return client, err
}

func (r *Redis) connectLoop(opt rueidis.ClientOption) {
	defer r.wg.Done()
	delay := 100 * time.Millisecond
	for {
		t := time.NewTimer(delay)
		select {
		case <-r.stop:
			t.Stop()
			return
		case <-t.C:
		}
		client, err := r.newClient(&opt)
		if err == nil {
			r.client.Store(&rueidisClient{client})
			r.log.logger.Info("cache: redis connected", slog.String("addr", r.addr))
			return
		}
		r.log.log("cache: redis connect failed", err, slog.String("addr", r.addr))
		delay = min(2*delay, 5*time.Second)
	}
}

// begin checks the context, Close and the breaker and returns the client.
func (r *Redis) begin(ctx context.Context, op string) (rueidis.Client, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if r.closed.Load() {
		return nil, ErrClosed
	}
	box := r.client.Load()
	if box == nil {
		return nil, r.unavailable(op, errNotConnected)
	}
	if until := r.downUntil.Load(); until != 0 && time.Now().UnixNano() < until {
		return nil, r.unavailable(op, errSkipped)
	}
	return box.Client, nil
}

var errSkipped = errors.New("skipped: the server failed less than RetryInterval ago")

func (r *Redis) unavailable(op string, err error) error {
	r.c.errors.Add(1)
	r.log.log("cache: redis "+op+" failed", err, slog.String("addr", r.addr))
	return fmt.Errorf("cache: redis %s: %w: %w", op, ErrUnavailable, err)
}

// result classifies the error of a finished call.
func (r *Redis) result(ctx context.Context, op string, err error) error {
	if err == nil || rueidis.IsRedisNil(err) {
		if r.failing.CompareAndSwap(true, false) {
			r.log.logger.Info("cache: redis reachable again", slog.String("addr", r.addr))
		}
		if err != nil {
			return ErrNotFound
		}
		return nil
	}
	if ctx.Err() != nil { // the caller gave up: not the server's fault
		return ctx.Err()
	}
	if r.closed.Load() {
		return ErrClosed
	}
	if _, ok := rueidis.IsRedisErr(err); ok { // the server answered with an error
		r.c.errors.Add(1)
		r.log.log("cache: redis "+op+" failed", err, slog.String("addr", r.addr))
		return fmt.Errorf("cache: redis %s: %w", op, err)
	}
	r.failing.Store(true)
	r.downUntil.Store(time.Now().Add(r.retry).UnixNano())
	return r.unavailable(op, err)
}

// Get runs GET (through the client-side cache when RedisConfig.ClientCache
// is set). A miss is ErrNotFound; a failure is an error wrapping
// ErrUnavailable and also counts as a miss. Safe for concurrent use.
func (r *Redis) Get(ctx context.Context, key string) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	client, err := r.begin(ctx, "get")
	if err != nil {
		if !errors.Is(err, ErrClosed) && ctx.Err() == nil {
			r.c.misses.Add(1)
		}
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	var res rueidis.RedisResult
	if r.clientTTL > 0 && !r.recent.has(key) {
		res = client.DoCache(cctx, client.B().Get().Key(r.prefix+key).Cache(), r.clientTTL)
	} else {
		res = client.Do(cctx, client.B().Get().Key(r.prefix+key).Build())
	}
	s, err := res.ToString() // copied below: the client-side cache shares s
	if err = r.result(ctx, "get", err); err != nil {
		if ctx.Err() == nil && !errors.Is(err, ErrClosed) {
			r.c.misses.Add(1)
		}
		return nil, err
	}
	r.c.hits.Add(1)
	return []byte(s), nil
}

// Set runs SET with PX (milliseconds, rounded up). Safe for concurrent use.
func (r *Redis) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := checkKey(key); err != nil {
		return err
	}
	client, err := r.begin(ctx, "set")
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	// string(value) copies: the command may still be queued when a
	// timed-out Do returns and the caller reuses value.
	cmd := client.B().Set().Key(r.prefix + key).Value(string(value))
	var c rueidis.Completed
	if ttl = effectiveTTL(ttl, r.defaultTTL); ttl > 0 {
		c = cmd.PxMilliseconds(int64((ttl + time.Millisecond - 1) / time.Millisecond)).Build()
	} else {
		c = cmd.Build()
	}
	r.recent.add(key)
	return r.result(ctx, "set", client.Do(cctx, c).Error())
}

// Delete runs UNLINK. Safe for concurrent use.
func (r *Redis) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	client, err := r.begin(ctx, "delete")
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	r.recent.add(key)
	return r.result(ctx, "delete", client.Do(cctx, client.B().Unlink().Key(r.prefix+key).Build()).Error())
}

// Clear removes the keys with this cache's prefix: on every node (every
// master and replica of a cluster) it runs SCAN MATCH prefix* and UNLINKs
// what it finds, one pipelined UNLINK per key so that a cluster routes each
// to its slot. Each round trip is bounded by the timeout; Clear stops at the
// first failure. Keys written concurrently may survive. Safe for concurrent
// use.
func (r *Redis) Clear(ctx context.Context) error {
	client, err := r.begin(ctx, "clear")
	if err != nil {
		return err
	}
	r.recent.addAll()
	for _, node := range client.Nodes() {
		if err := r.clearNode(ctx, client, node); err != nil {
			return r.result(ctx, "clear", err)
		}
	}
	return r.result(ctx, "clear", nil)
}

func (r *Redis) clearNode(ctx context.Context, client, node rueidis.Client) error {
	var cursor uint64
	for {
		cctx, cancel := context.WithTimeout(ctx, r.timeout)
		e, err := node.Do(cctx, node.B().Scan().Cursor(cursor).Match(r.pattern).Count(1000).Build()).AsScanEntry()
		if err == nil && len(e.Elements) > 0 {
			cmds := make(rueidis.Commands, len(e.Elements))
			for i, k := range e.Elements {
				cmds[i] = client.B().Unlink().Key(k).Build()
			}
			for _, res := range client.DoMulti(cctx, cmds...) {
				if err = res.Error(); err != nil {
					break
				}
			}
		}
		cancel()
		if err != nil {
			return err
		}
		if cursor = e.Cursor; cursor == 0 {
			return nil
		}
	}
}

// recentWrites remembers the keys this process wrote in the last window.
// With client-side caching, Get reads them from the server rather than
// from the local cache, whose invalidation (a push from the server, maybe
// on another connection) can arrive after the write returns: a process
// reads its own writes. Writes by other processes become visible when the
// invalidation arrives, typically within a round trip.
type recentWrites struct {
	window time.Duration
	mu     sync.Mutex
	keys   map[string]int64 // key -> unix nanoseconds when it stops being recent
	all    int64            // Clear: every key is recent until then
}

func (w *recentWrites) add(key string) {
	if w == nil {
		return
	}
	now := time.Now().UnixNano()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.keys == nil {
		w.keys = make(map[string]int64)
	}
	if len(w.keys) >= 1024 {
		for k, until := range w.keys {
			if until <= now {
				delete(w.keys, k)
			}
		}
	}
	w.keys[key] = now + int64(w.window)
}

func (w *recentWrites) addAll() {
	if w == nil {
		return
	}
	w.mu.Lock()
	w.all = time.Now().UnixNano() + int64(w.window)
	w.mu.Unlock()
}

func (w *recentWrites) has(key string) bool {
	now := time.Now().UnixNano()
	w.mu.Lock()
	defer w.mu.Unlock()
	until, ok := w.keys[key]
	return now < w.all || ok && now < until
}

// escapeGlob escapes the characters special to Redis glob patterns.
func escapeGlob(s string) string {
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune(`\*?[]^`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Stats reports the counters of this Redis value; it does no I/O, and
// Entries is -1 (counting prefixed keys would need a full SCAN). Safe for
// concurrent use.
func (r *Redis) Stats(ctx context.Context) (Stats, error) {
	if err := ctx.Err(); err != nil {
		return Stats{}, err
	}
	return r.c.stats(BackendRedis, -1, r.defaultTTL), nil
}

// Close stops a background connect and closes the client, waiting for
// calls in flight. It is idempotent and safe for concurrent use.
func (r *Redis) Close() error {
	r.closeOnce.Do(func() {
		r.closed.Store(true)
		close(r.stop)
		r.wg.Wait()
		if box := r.client.Load(); box != nil {
			box.Close()
		}
	})
	return nil
}
