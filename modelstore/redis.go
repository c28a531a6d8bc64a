package modelstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	"github.com/dredge-cli/dredge/cache"
)

// RedisConfig configures [NewRedis]. The zero value connects to
// 127.0.0.1:6379 with the key prefix [DefaultRedisPrefix].
type RedisConfig struct {
	// Client, when set, is the connection the store uses; the store does
	// not close it. Otherwise the store connects with URL or Option.
	Client rueidis.Client
	// URL names the server: redis://[user:password@]host:port/db (see
	// rueidis.ParseURL). It wins over Option.
	URL string
	// Option is the connection's rueidis options where URL is empty
	// (cache.RedisConfig.ClientOption makes them from REDIS_HOST and
	// friends). An empty InitAddress means 127.0.0.1:6379.
	Option rueidis.ClientOption
	// Prefix starts every key; "" means [DefaultRedisPrefix]. The keys
	// of one prefix share a Redis Cluster hash slot: the prefix is their
	// hash tag, so that a model's record and the index of ids change in
	// one atomic script. It must not contain '{' or '}'.
	Prefix string
	// Timeout bounds each call. 0 means 5s (a model's values may be
	// megabytes).
	Timeout time.Duration
	// RetryInterval is how long calls fail at once with ErrUnavailable
	// after a failure to reach the server, before the next call tries
	// again. 0 means 500ms.
	RetryInterval time.Duration
}

// DefaultRedisPrefix is the key prefix of a RedisConfig whose Prefix is "".
const DefaultRedisPrefix = "dredge:models:"

// Redis is a store on a Redis server or Redis Cluster through
// github.com/redis/rueidis, shared by every node that uses the same server
// and prefix.
//
// # Keys
//
// With the prefix P: "{P}m:<id>" is a model's hash (type, config, values,
// version), "{P}ids" the set of the default tenant's stored ids and
// "{P}ids:<tenant>" a tenant's, "{P}n:<type>" the type's id counter
// (INCR; "{P}n:<tenant>/<type>" a tenant's). Create, Update and Delete are Lua scripts, each atomic;
// for Version see [Store.Version].
//
// # Faults
//
// Every call is bounded by RedisConfig.Timeout. A call that cannot reach
// the server returns an error wrapping [ErrUnavailable]; for
// RedisConfig.RetryInterval after that, calls fail at once, then try
// again. The store connects on first use when it is not given a client,
// so that it can be opened while the server is down.
//
// All methods are safe for concurrent use (rueidis pipelines concurrent
// calls on shared connections).
type Redis struct {
	own     bool // the store made the client and closes it
	opt     rueidis.ClientOption
	prefix  string // "{P}"
	timeout time.Duration
	retry   time.Duration

	mu        sync.Mutex // guards connecting
	client    atomic.Pointer[rueidisClient]
	downUntil atomic.Int64 // unix nanoseconds until which calls fail at once
	closed    atomic.Bool
	closeOnce sync.Once
}

type rueidisClient struct{ rueidis.Client }

var _ Store = (*Redis)(nil)

// NewRedis returns a store as cfg says. It does not connect: the first
// call does. A bad URL or prefix is an error wrapping ErrInvalidArgument.
func NewRedis(cfg RedisConfig) (*Redis, error) {
	prefix := cmp.Or(cfg.Prefix, DefaultRedisPrefix)
	if strings.ContainsAny(prefix, "{}") {
		return nil, fmt.Errorf("%w: redis prefix %q must not contain '{' or '}'", ErrInvalidArgument, prefix)
	}
	r := &Redis{
		prefix:  "{" + prefix + "}",
		timeout: cmp.Or(cfg.Timeout, 5*time.Second),
		retry:   cmp.Or(cfg.RetryInterval, 500*time.Millisecond),
	}
	if cfg.Client != nil {
		r.client.Store(&rueidisClient{cfg.Client})
		return r, nil
	}
	r.own, r.opt = true, cfg.Option
	if cfg.URL != "" {
		// The cache's reading of a URL: its error never repeats the URL,
		// which may hold a password.
		opt, err := cache.RedisConfig{URL: cfg.URL}.ClientOption()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidArgument, err)
		}
		r.opt = opt
	}
	if len(r.opt.InitAddress) == 0 {
		r.opt.InitAddress = []string{"127.0.0.1:6379"}
	}
	r.opt.Dialer.Timeout = cmp.Or(r.opt.Dialer.Timeout, time.Second)
	// A failed call is reported at once; the caller decides to retry.
	r.opt.DisableRetry = true
	r.opt.DisableCache = true
	return r, nil
}

func (r *Redis) key(suffix string) string { return r.prefix + suffix }

// idsKey is the key of the set of a tenant's stored ids.
func (r *Redis) idsKey(tenant string) string {
	if tenant == "" {
		return r.key("ids")
	}
	return r.key("ids:" + tenant)
}

// idsKeyOf is the key of the set that holds id.
func (r *Redis) idsKeyOf(id string) string {
	tenant, _ := SplitID(id)
	return r.idsKey(tenant)
}

// Prefix returns the key prefix (without the hash tag's braces).
func (r *Redis) Prefix() string { return r.prefix[1 : len(r.prefix)-1] }

var errSkipped = errors.New("skipped: the server failed less than RetryInterval ago")

// begin checks the context, Close and the breaker, and returns the
// client, connecting when there is none yet.
func (r *Redis) begin(ctx context.Context) (rueidis.Client, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if r.closed.Load() {
		return nil, ErrClosed
	}
	if until := r.downUntil.Load(); until != 0 && time.Now().UnixNano() < until {
		return nil, fmt.Errorf("%w: redis: %w", ErrUnavailable, errSkipped)
	}
	if box := r.client.Load(); box != nil {
		return box.Client, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if box := r.client.Load(); box != nil {
		return box.Client, nil
	}
	if r.closed.Load() {
		return nil, ErrClosed
	}
	c, err := rueidis.NewClient(r.opt)
	if err != nil {
		r.downUntil.Store(time.Now().Add(r.retry).UnixNano())
		return nil, fmt.Errorf("%w: redis connect %s: %w", ErrUnavailable, strings.Join(r.opt.InitAddress, ","), err)
	}
	r.client.Store(&rueidisClient{c})
	return c, nil
}

// result classifies the error of a finished call; a nil reply is
// ErrNotFound for id.
func (r *Redis) result(ctx context.Context, op, id string, err error) error {
	switch {
	case err == nil:
		return nil
	case rueidis.IsRedisNil(err):
		return notFound(id)
	case ctx.Err() != nil:
		return ctx.Err()
	case r.closed.Load():
		return ErrClosed
	}
	if _, ok := rueidis.IsRedisErr(err); !ok { // not an answer: the server is not reachable
		r.downUntil.Store(time.Now().Add(r.retry).UnixNano())
	}
	return fmt.Errorf("%w: redis %s: %w", ErrUnavailable, op, err)
}

// NewID implements [Store]: INCR of the type's counter.
func (r *Redis) NewID(ctx context.Context, modelType string) (string, error) {
	if err := checkType(modelType); err != nil {
		return "", err
	}
	c, err := r.begin(ctx)
	if err != nil {
		return "", err
	}
	cctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	n, err := c.Do(cctx, c.B().Incr().Key(r.key("n:"+modelType)).Build()).AsInt64()
	if err = r.result(ctx, "incr", "", err); err != nil {
		return "", err
	}
	return FormatID(modelType, uint64(n-1)), nil
}

var (
	createScript = rueidis.NewLuaScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'type', ARGV[1], 'config', ARGV[2], 'values', ARGV[3], 'version', 1)
redis.call('SADD', KEYS[2], ARGV[4])
return 1`)
	updateScript = rueidis.NewLuaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
redis.call('HSET', KEYS[1], 'values', ARGV[1])
return redis.call('HINCRBY', KEYS[1], 'version', 1)`)
	deleteScript = rueidis.NewLuaScript(`
redis.call('SREM', KEYS[2], ARGV[1])
return redis.call('DEL', KEYS[1])`)
)

// Create implements [Store].
func (r *Redis) Create(ctx context.Context, m *Model) (uint64, error) {
	if err := checkModel(m); err != nil {
		return 0, err
	}
	cfg, err := encodeConfig(m.Config)
	if err != nil {
		return 0, err
	}
	c, err := r.begin(ctx)
	if err != nil {
		return 0, err
	}
	cctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	vals := string(appendValues(make([]byte, 0, 8*len(m.Values)), m.Values))
	ok, err := createScript.Exec(cctx, c, []string{r.key("m:" + m.ID), r.idsKeyOf(m.ID)}, []string{m.Type, string(cfg), vals, m.ID}).AsInt64()
	if err = r.result(ctx, "create", m.ID, err); err != nil {
		return 0, err
	}
	if ok == 0 {
		return 0, ErrExists
	}
	return 1, nil
}

// Update implements [Store].
func (r *Redis) Update(ctx context.Context, id string, values []float64) (uint64, error) {
	if !validID(id) {
		return 0, notFound(id)
	}
	c, err := r.begin(ctx)
	if err != nil {
		return 0, err
	}
	cctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	vals := string(appendValues(make([]byte, 0, 8*len(values)), values))
	v, err := updateScript.Exec(cctx, c, []string{r.key("m:" + id)}, []string{vals}).AsInt64()
	if err = r.result(ctx, "update", id, err); err != nil {
		return 0, err
	}
	if v < 0 {
		return 0, notFound(id)
	}
	return uint64(v), nil
}

// Get implements [Store]: one HMGET.
func (r *Redis) Get(ctx context.Context, id string) (*Model, error) {
	if !validID(id) {
		return nil, notFound(id)
	}
	c, err := r.begin(ctx)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	f, err := c.Do(cctx, c.B().Hmget().Key(r.key("m:"+id)).Field("type", "config", "version", "values").Build()).ToArray()
	if err = r.result(ctx, "get", id, err); err != nil {
		return nil, err
	}
	m, err := r.record(id, f)
	if err != nil {
		return nil, err
	}
	b, err := f[3].AsBytes()
	if err != nil {
		return nil, r.damaged(id, err)
	}
	if m.Values, err = decodeValues(b); err != nil {
		return nil, err
	}
	return m, nil
}

// record decodes the type, config and version of an HMGET reply.
func (r *Redis) record(id string, f []rueidis.RedisMessage) (*Model, error) {
	if len(f) < 3 || f[0].IsNil() {
		return nil, notFound(id)
	}
	typ, err := f[0].ToString()
	if err != nil {
		return nil, r.damaged(id, err)
	}
	cb, err := f[1].AsBytes()
	if err != nil {
		return nil, r.damaged(id, err)
	}
	cfg, err := decodeConfig(cb)
	if err != nil {
		return nil, err
	}
	v, err := f[2].AsUint64()
	if err != nil {
		return nil, r.damaged(id, err)
	}
	return &Model{ID: id, Type: typ, Config: cfg, Version: v}, nil
}

func (r *Redis) damaged(id string, err error) error {
	return fmt.Errorf("%w: redis record of %q is damaged: %w", ErrUnavailable, id, err)
}

// Version implements [Store]: one HGET.
func (r *Redis) Version(ctx context.Context, id string) (uint64, error) {
	if !validID(id) {
		return 0, notFound(id)
	}
	c, err := r.begin(ctx)
	if err != nil {
		return 0, err
	}
	cctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	s, err := c.Do(cctx, c.B().Hget().Key(r.key("m:"+id)).Field("version").Build()).ToString()
	if err = r.result(ctx, "version", id, err); err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, r.damaged(id, err)
	}
	return v, nil
}

// Delete implements [Store].
func (r *Redis) Delete(ctx context.Context, id string) error {
	if !validID(id) {
		return notFound(id)
	}
	c, err := r.begin(ctx)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	n, err := deleteScript.Exec(cctx, c, []string{r.key("m:" + id), r.idsKeyOf(id)}, []string{id}).AsInt64()
	if err = r.result(ctx, "delete", id, err); err != nil {
		return err
	}
	if n == 0 {
		return notFound(id)
	}
	return nil
}

// List implements [Store]: SMEMBERS of the tenant's index, then one
// pipelined HMGET per id.
func (r *Redis) List(ctx context.Context, tenant string) ([]Model, error) {
	if err := checkTenant(tenant); err != nil {
		return nil, err
	}
	c, err := r.begin(ctx)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	ids, err := c.Do(cctx, c.B().Smembers().Key(r.idsKey(tenant)).Build()).AsStrSlice()
	if err = r.result(ctx, "list", "", err); err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return []Model{}, nil
	}
	sort.Strings(ids)
	cmds := make(rueidis.Commands, len(ids))
	for i, id := range ids {
		cmds[i] = c.B().Hmget().Key(r.key("m:"+id)).Field("type", "config", "version").Build()
	}
	out := make([]Model, 0, len(ids))
	for i, res := range c.DoMulti(cctx, cmds...) {
		f, err := res.ToArray()
		if err = r.result(ctx, "list", ids[i], err); err != nil {
			return nil, err
		}
		m, err := r.record(ids[i], f)
		if errors.Is(err, ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, *m)
	}
	return out, nil
}

// Ping implements [Store]: one PING.
func (r *Redis) Ping(ctx context.Context) error {
	c, err := r.begin(ctx)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	return r.result(ctx, "ping", "", c.Do(cctx, c.B().Ping().Build()).Error())
}

// Close implements [Store]: it closes the connection the store made (not
// one it was given). The stored models stay.
func (r *Redis) Close() error {
	r.closeOnce.Do(func() {
		r.closed.Store(true)
		r.mu.Lock()
		defer r.mu.Unlock()
		if box := r.client.Load(); box != nil && r.own {
			box.Close()
		}
	})
	return nil
}
