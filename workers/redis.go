package workers

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/internal/throttle"
)

// RedisConfig configures [NewRedis]. Only Client is required; the zero
// values of the rest are the defaults (those of the environment variables
// that [ConfigFromEnv] reads, for the fields it reads).
type RedisConfig struct {
	// Client is the connection to Redis (a server or a Redis Cluster). The
	// queue does not close it: its owner does, after the queue's Close.
	Client rueidis.Client
	// Prefix names the queue: every key is "{Prefix}:…", one hash tag, so
	// that the queue's keys share a Redis Cluster slot and its scripts
	// run there. Queues with different prefixes are independent. "" means
	// "dredge:jobs".
	Prefix string
	// Group is the stream's consumer group (""; "workers"), Consumer this
	// queue's name in it ("": host name, process id and random digits).
	// Two live queues must never share a consumer name.
	Group, Consumer string
	// ClaimAfter is how long a running job may go without a heartbeat
	// before another consumer takes it over (0: 30s). Heartbeats must come
	// more often (PoolConfig.Heartbeat, one second by default).
	ClaimAfter time.Duration
	// MaxDeliveries is how many times a job is handed to a worker that
	// then stops holding it (its process died) before the job is failed
	// into the dead-letter stream with its history (0: 3).
	MaxDeliveries int
	// ResultTTL is how long a finished job's status and result are kept
	// (0: 24 hours).
	ResultTTL time.Duration
	// MaxPending bounds the pending jobs; Enqueue past it fails with
	// ErrFull (0: 1,000,000).
	MaxPending int
	// MaxTenantJobs bounds the queued (pending or running) jobs of each
	// tenant, the default tenant "" included (0: no bound); Enqueue past
	// it fails with a *TenantLimitError. The queue counts each tenant's
	// jobs whatever the bound, so that processes with different bounds
	// (or none: workers) keep one exact count.
	MaxTenantJobs int
	// Timeout bounds each call to Redis (0: 5s). A call that cannot reach
	// Redis fails with an error wrapping ErrUnavailable.
	Timeout time.Duration
	// Poll is the longest a waiting Claim blocks in Redis before it looks
	// at its context, at jobs whose claim lapsed and at jobs due for a
	// retry again (0: one second).
	Poll time.Duration
	// Retry is how jobs whose operation failed are retried. A job that
	// spent its retries goes to the dead-letter stream too.
	Retry RetryPolicy
}

// DeadLetterKey returns the key of the queue's dead-letter stream: one
// entry per job given up, after MaxDeliveries lost to dead workers or
// after its retries (a failure with a Retryable code on the last allowed
// delivery), with fields id, tenant, operation, params, attempts and
// history (one line per lost or failed delivery). The stream keeps about
// the last 100,000 entries (XADD MAXLEN ~).
func (cfg RedisConfig) DeadLetterKey() string { return redisKeys(cfg.Prefix).dead }

// Redis is a [Queue] on Redis Streams, shared by any number of processes:
// one stream of job ids read by one consumer group, a hash per job with its
// tenant, status, params, result and history, a counter of pending jobs
// and a hash of each tenant's queued (pending or running) jobs. Every
// change of a job's status is one Lua script, atomic on the server.
//
// A claimed job stays in the group's pending entries list, owned by the
// claiming consumer, until it is acknowledged, failed or canceled. Its
// heartbeats reset the entry's idle time; an entry idle longer than
// ClaimAfter (its worker died) is taken over by a later Claim (XAUTOCLAIM:
// each queue value looks once per ClaimAfter/4, at most a second, while
// its Claims run), which counts a lost delivery and notes the lapse in the
// job's history; past MaxDeliveries lost
// the job is failed (code internal) and copied to the dead-letter stream.
// A failed job to be retried waits in a sorted set until it is due; the
// next Claim anywhere then adds it to the stream again.
//
// The queue never trims the stream by length (XTRIM MAXLEN drops unread
// and unacknowledged entries alike): a finished job's entry is deleted
// (XDEL), so the stream holds only pending and running jobs, at most
// MaxPending plus those running. An index of the entries names the job of
// an entry deleted by someone else, which the lapse scan finds (below the
// stream's first entry, or reported deleted by XAUTOCLAIM): such a job is
// failed into the dead-letter stream, never silently lost.
// A released job goes on a list that claims take from first. Finished
// jobs expire after ResultTTL; pending and running jobs never expire.
//
// The claim script reads the hashes of the jobs it finds in the stream,
// keys it cannot declare beforehand; they share the queue's hash tag, so
// Redis and Redis Cluster run it (proxies that insist on declared keys do
// not).
//
// Concurrent Enqueue, Claim, Ack and Fail calls of one Redis value go to
// the server in batches: one script run for all the calls that arrived
// while the previous one ran (see examples/queuebench for the figures).
//
// Each job is delivered at least once: a worker whose claim lapsed while
// it still ran finds its Ack refused (ErrNotClaimed), so a job has one
// result even when it ran twice. With Redis persistence on (appendonly yes,
// appendfsync always) an enqueued job survives a restart of Redis.
type Redis struct {
	c         rueidis.Client
	ownClient bool // closed by Close (Open connected it)
	cfg       RedisConfig
	k         keys
	seq       atomic.Uint64  // claim tokens
	scans     throttle.Every // claims that look for lapsed claims
	closed    atomic.Bool
	// closing ends the blocking reads of waiting Claims at Close.
	closing context.Context
	close   context.CancelFunc

	enqueues batcher[*enqueueCall]
	claims   batcher[*claimCall]
	finishes batcher[*finishCall]

	mu   sync.Mutex
	held map[string]string // job id → claim token, for the jobs this queue's callers hold
}

var _ Queue = (*Redis)(nil)

// maxBatch bounds the calls of one script run (see batcher).
const maxBatch = 256

// ErrUnavailable wraps the failures to reach a shared queue's server.
var ErrUnavailable = errors.New("workers: queue unavailable")

type keys struct {
	stream, pending, dead, released, retry, entries string
	tenants                                         string // tenant → its queued jobs
	job, key                                        string // prefixes of the job hashes and of the idempotency keys
}

func redisKeys(prefix string) keys {
	t := "{" + cmp.Or(prefix, "dredge:jobs") + "}:"
	return keys{stream: t + "stream", pending: t + "pending", dead: t + "dead", released: t + "released", retry: t + "retry", entries: t + "entries",
		tenants: t + "tenants", job: t + "job:", key: t + "key:"}
}

// idempotencyKey is the suffix of the Redis key of tenant's idempotency
// key: the key itself for the default tenant (as before tenants, so that
// the keys of jobs enqueued then are still found), else "<length of
// tenant> <tenant>:<key>". A key never holds a space (ValidKey), so the
// two forms cannot meet, and the length makes the tenant part unambiguous
// whatever the tenant's name: no two tenants' keys collide.
func idempotencyKey(tenant, key string) string {
	if tenant == "" {
		return key
	}
	return strconv.Itoa(len(tenant)) + " " + tenant + ":" + key
}

// NewRedis returns the queue cfg names, creating its stream and consumer
// group when they do not exist. It fails when Redis cannot be reached.
func NewRedis(ctx context.Context, cfg RedisConfig) (*Redis, error) {
	if cfg.Client == nil {
		return nil, errors.New("workers: RedisConfig.Client is nil")
	}
	cfg.Group = cmp.Or(cfg.Group, "workers")
	if cfg.Consumer == "" {
		host, _ := os.Hostname()
		var b [4]byte
		_, _ = rand.Read(b[:])
		cfg.Consumer = fmt.Sprintf("%s-%d-%s", cmp.Or(host, "worker"), os.Getpid(), hex.EncodeToString(b[:]))
	}
	cfg.ClaimAfter = cmp.Or(cfg.ClaimAfter, 30*time.Second)
	cfg.MaxDeliveries = cmp.Or(cfg.MaxDeliveries, 3)
	cfg.ResultTTL = cmp.Or(cfg.ResultTTL, 24*time.Hour)
	cfg.MaxPending = cmp.Or(cfg.MaxPending, 1_000_000)
	cfg.Timeout = cmp.Or(cfg.Timeout, 5*time.Second)
	cfg.Poll = cmp.Or(cfg.Poll, time.Second)
	cfg.Retry = cfg.Retry.withDefaults()
	switch {
	case cfg.ClaimAfter < time.Millisecond, cfg.MaxDeliveries < 1, cfg.ResultTTL < time.Millisecond,
		cfg.MaxPending < 1, cfg.MaxTenantJobs < 0, cfg.Timeout < 0, cfg.Poll < time.Millisecond:
		return nil, fmt.Errorf("workers: RedisConfig out of range: %+v", cfg)
	}
	q := &Redis{c: cfg.Client, cfg: cfg, k: redisKeys(cfg.Prefix), held: make(map[string]string)}
	q.closing, q.close = context.WithCancel(context.Background())
	q.enqueues = batcher[*enqueueCall]{max: maxBatch, run: q.enqueueBatch}
	q.claims = batcher[*claimCall]{max: maxBatch, run: q.claimBatch}
	q.finishes = batcher[*finishCall]{max: maxBatch, run: q.finishBatch}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	if err := q.createGroup(ctx); err != nil {
		return nil, err
	}
	// Consumers are never removed by Redis: each process start would leave
	// one behind. Those of stopped processes go once they hold nothing.
	if err := q.reap(ctx, ""); err != nil {
		return nil, err
	}
	return q, nil
}

// reap deletes the group's consumers that hold no entry and have been idle
// longer than ClaimAfter (their entries, if they had any, were taken over),
// and the consumer self when it holds none.
func (q *Redis) reap(ctx context.Context, self string) error {
	ctx, cancel := context.WithTimeout(ctx, q.cfg.Timeout)
	defer cancel()
	if err := scriptReap.Exec(ctx, q.c, []string{q.k.stream}, []string{q.cfg.Group, ms(q.cfg.ClaimAfter), self}).Error(); err != nil {
		return q.wrap("remove idle consumers", err)
	}
	return nil
}

// createGroup creates the stream and its group unless they exist.
func (q *Redis) createGroup(ctx context.Context) error {
	err := q.c.Do(ctx, q.c.B().XgroupCreate().Key(q.k.stream).Group(q.cfg.Group).Id("0").Mkstream().Build()).Error()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return q.wrap("create the consumer group", err)
	}
	return nil
}

// wrap makes err, a failure of a call to Redis, an error of the queue.
func (q *Redis) wrap(what string, err error) error {
	if q.closed.Load() {
		return ErrClosed
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("workers: redis: %s: %w", what, err) // the caller went away
	}
	if _, ok := rueidis.IsRedisErr(err); ok {
		return fmt.Errorf("workers: redis: %s: %w", what, err)
	}
	return fmt.Errorf("workers: redis: %s: %w: %w", what, ErrUnavailable, err)
}

// exec runs a script, creating the group again when Redis has lost it (a
// restart without persistence) and retrying once.
func (q *Redis) exec(ctx context.Context, s *rueidis.Lua, what string, keys, args []string) (rueidis.RedisMessage, error) {
	if q.closed.Load() {
		return rueidis.RedisMessage{}, ErrClosed
	}
	ctx, cancel := context.WithTimeout(ctx, q.cfg.Timeout)
	defer cancel()
	res := s.Exec(ctx, q.c, keys, args)
	if err := res.Error(); err != nil && strings.HasPrefix(err.Error(), "NOGROUP") {
		if err := q.createGroup(ctx); err != nil {
			return rueidis.RedisMessage{}, err
		}
		res = s.Exec(ctx, q.c, keys, args)
	}
	msg, err := res.ToMessage()
	if err != nil && !rueidis.IsRedisNil(err) {
		return msg, q.wrap(what, err)
	}
	return msg, nil
}

func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }

// The scripts. Times are the server's (TIME), in microseconds since 1970.
// A job hash has the fields op, params, status, attempts, enqueued, msg
// (its stream entry), and as it runs started, token, consumer, history,
// then finished and result or code and error.
const luaNow = `
local function now()
  local t = redis.call('TIME')
  return t[1] .. string.format('%06d', t[2])
end
`

// luaEntries keeps the index of the stream's entries, a sorted set of
// "<entry id> <job id>" scored by the entry id's milliseconds: it names
// the job of an entry deleted from the stream by someone else (XTRIM,
// XDEL), which XAUTOCLAIM reports by entry id alone.
const luaEntries = `
local function entry(msg, id) return msg .. ' ' .. id end
local function parseEntry(e) return string.match(e, '^(%S+) (%S+)$') end
local function entryMs(msg) return string.match(msg, '^(%d+)') end

-- unlist deletes job id's entry msg from the stream, the group's pending
-- entries and the index.
local function unlist(stream, group, entries, msg, id)
  redis.call('XACK', stream, group, msg)
  redis.call('XDEL', stream, msg)
  redis.call('ZREM', entries, entry(msg, id))
end

-- final sets the fields of a job made final (status, finished, …) and
-- lets it expire after ttl ms, its params and claim token gone. It takes
-- the job off its tenant's count of queued jobs in the hash tenants
-- (tenant is the job's field: false for a job enqueued before tenants,
-- which was never counted); a tenant without queued jobs leaves the hash,
-- so that it holds only the tenants with jobs.
local function final(tenants, tenant, key, ttl, ...)
  redis.call('HSET', key, ...)
  redis.call('HDEL', key, 'params', 'token')
  redis.call('PEXPIRE', key, ttl)
  if tenant and redis.call('HINCRBY', tenants, tenant, -1) <= 0 then
    redis.call('HDEL', tenants, tenant)
  end
end

-- deadLetter copies a job given up to the dead-letter stream.
local function deadLetter(dead, id, tenant, op, params, attempts, hist)
  redis.call('XADD', dead, 'MAXLEN', '~', 100000, '*', 'id', id, 'tenant', tenant or '', 'operation', op, 'params', params, 'attempts', attempts, 'history', hist)
end
`

// enqueue: KEYS stream, pending, entries, tenants, then a job key per
// job; ARGV max pending, the idempotency keys' prefix, their TTL ms, the
// most queued jobs of a tenant (0: no bound), then id, op, params,
// idempotency key ("": none; else idempotencyKey's) and tenant per job. It
// answers per job its entry id, 0 when the queue is full, -1 when the
// job's tenant has as many queued jobs as it may, or "=" and the id of the
// job a key already names. (The idempotency keys are not declared: they
// share the tag.)
var scriptEnqueue = rueidis.NewLuaScript(luaNow + luaEntries + `
local max, pending, t = tonumber(ARGV[1]), tonumber(redis.call('GET', KEYS[2]) or '0'), now()
local most, out = tonumber(ARGV[4]), {}
for i = 5, #KEYS do
  local a = 5 + (i - 5) * 5
  local ikey, tenant = ARGV[a + 3], ARGV[a + 4]
  local prev = ikey ~= '' and redis.call('GET', ARGV[2] .. ikey)
  if prev then
    out[#out + 1] = '=' .. prev
  elseif pending >= max then
    out[#out + 1] = 0
  elseif most > 0 and tonumber(redis.call('HGET', KEYS[4], tenant) or '0') >= most then
    out[#out + 1] = -1
  else
    local msg = redis.call('XADD', KEYS[1], '*', 'id', ARGV[a])
    redis.call('ZADD', KEYS[3], entryMs(msg), entry(msg, ARGV[a]))
    redis.call('HSET', KEYS[i], 'op', ARGV[a + 1], 'params', ARGV[a + 2], 'status', 'pending', 'attempts', 0, 'enqueued', t, 'msg', msg, 'tenant', tenant)
    redis.call('HINCRBY', KEYS[4], tenant, 1)
    if ikey ~= '' then
      redis.call('SET', ARGV[2] .. ikey, ARGV[a], 'PX', ARGV[3])
    end
    pending = pending + 1
    out[#out + 1] = msg
  end
end
redis.call('SET', KEYS[2], pending)
return out
`)

// claim: KEYS stream, pending, dead, released, retry, entries, tenants;
// ARGV group, consumer, job key prefix, claim-after ms, max deliveries,
// result TTL ms, token prefix, scan ("1": look for lapsed claims), how
// many jobs at most, and optionally the entry id and job id of an entry
// delivered by a blocking read. It answers a list of {id, op, params, attempt, enqueued,
// token, tenant}.
var scriptClaim = rueidis.NewLuaScript(luaNow + luaEntries + `
local stream, counter, dead, released, retry, entries, tenants = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local group, consumer, jobp, maxd, ttl = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[5]), ARGV[6]
local want, out = tonumber(ARGV[9]), {}

local function drop(msg, id)
  unlist(stream, group, entries, msg, id)
end

-- lost fails the job of entry msg, deleted from the stream by someone
-- else, into the dead-letter stream: no worker would be given it again.
local function lost(msg, id)
  redis.call('ZREM', entries, entry(msg, id))
  redis.call('XACK', stream, group, msg)
  local key = jobp .. id
  local j = redis.call('HMGET', key, 'status', 'op', 'params', 'attempts', 'history', 'msg', 'tenant')
  if (j[1] ~= 'pending' and j[1] ~= 'running') or j[6] ~= msg then return end
  if j[1] == 'pending' then redis.call('DECR', counter) end
  local t = now()
  local hist = (j[5] or '') .. 'entry ' .. msg .. ' deleted from the stream outside the queue (XTRIM or XDEL), found at ' .. t .. '\n'
  deadLetter(dead, id, j[7], j[2], j[3], j[4], hist)
  final(tenants, j[7], key, ttl, 'status', 'failed', 'code', 'internal', 'finished', t, 'history', hist,
    'error', 'its stream entry was deleted outside the queue (XTRIM or XDEL): dead-lettered')
end

-- lostEntry is lost for an entry known by its id alone.
local function lostEntry(msg)
  local ms, prefix = entryMs(msg), msg .. ' '
  for _, e in ipairs(redis.call('ZRANGEBYSCORE', entries, ms, ms)) do
    if string.sub(e, 1, #prefix) == prefix then lost(msg, string.sub(e, #prefix + 1)) end
  end
end

-- job reads the job of entry msg: its key and fields, with the time
-- (nil when it is finished, canceled or gone: the entry is dropped). A
-- running job's worker stopped heartbeating: the delivery is lost, counted
-- apart from the retries of failed ones, and past MaxDeliveries lost the
-- job is dead-lettered (nil too).
local function job(msg, id)
  local key = jobp .. id
  local j = redis.call('HMGET', key, 'status', 'attempts', 'op', 'params', 'enqueued', 'consumer', 'history', 'lapses', 'tenant')
  local status, attempts = j[1], tonumber(j[2])
  if status ~= 'pending' and status ~= 'running' then
    drop(msg, id)
    return nil
  end
  local t = now()
  if status == 'running' then
    local lapses = tonumber(j[8] or '0') + 1
    local hist = (j[7] or '') .. 'delivery ' .. attempts .. ' to ' .. (j[6] or '?') .. ': claim lapsed at ' .. t .. '\n'
    if lapses >= maxd then
      deadLetter(dead, id, j[9], j[3], j[4], attempts, hist)
      final(tenants, j[9], key, ttl, 'status', 'failed', 'code', 'internal', 'finished', t, 'history', hist, 'lapses', lapses,
        'error', 'given up after ' .. lapses .. ' deliveries whose workers stopped holding the job (dead-lettered)')
      drop(msg, id)
      return nil
    end
    redis.call('HSET', key, 'history', hist, 'lapses', lapses)
  end
  return key, j, t
end

-- handBack makes the job of a lapsed entry this claim has no room for
-- pending on the released list, which the next claim anywhere takes from
-- first: a dead worker's jobs all run again at once, not one per scan.
local function handBack(msg, id)
  local key, j = job(msg, id)
  if not key then return end
  if j[1] == 'running' then
    redis.call('HSET', key, 'status', 'pending')
    redis.call('HDEL', key, 'started', 'token', 'consumer')
    redis.call('INCR', counter)
  end
  redis.call('RPUSH', released, entry(msg, id))
end

-- start makes the job of the delivered entry msg running under token and
-- returns it, or returns nil when there is nothing to run.
local function start(msg, id)
  local key, j, t = job(msg, id)
  if not key then return nil end
  local attempts = tonumber(j[2])
  if j[1] == 'pending' then
    redis.call('DECR', counter)
  end
  local token = ARGV[7] .. #out
  redis.call('HSET', key, 'status', 'running', 'attempts', attempts + 1, 'started', t, 'token', token, 'consumer', consumer)
  out[#out + 1] = {id, j[3], j[4], attempts + 1, j[5], token, j[9] or ''}
  return #out >= want
end

if ARGV[10] then
  start(ARGV[10], ARGV[11])
  return out
end
-- The jobs due for a retry join the stream's end.
for _, id in ipairs(redis.call('ZRANGEBYSCORE', retry, '-inf', now(), 'LIMIT', 0, 1000)) do
  redis.call('ZREM', retry, id)
  local key = jobp .. id
  if redis.call('HGET', key, 'status') == 'pending' then
    local msg = redis.call('XADD', stream, '*', 'id', id)
    redis.call('ZADD', entries, entryMs(msg), entry(msg, id))
    redis.call('HSET', key, 'msg', msg)
    redis.call('HDEL', key, 'retry_at')
  end
end
-- First the released entries, each "<entry id> <job id>": a pending job
-- whose entry its releaser still owns.
local rel = redis.call('LPOP', released)
while rel do
  local msg, id = parseEntry(rel)
  if redis.call('HGET', jobp .. id, 'status') == 'pending' then
    if #redis.call('XCLAIM', stream, group, consumer, 0, msg, 'JUSTID') == 0 then
      lost(msg, id) -- its entry was deleted
    elseif start(msg, id) then
      return out
    end
  end
  rel = redis.call('LPOP', released)
end
-- Then, now and then, the entries whose claim lapsed, oldest first (a scan
-- of the pending entries list: at every claim it cost two thirds of the
-- queue's throughput).
if ARGV[8] == '1' then
  -- Entries trimmed from the stream's head (XTRIM) while their jobs were
  -- pending or running: the index holds them below the first entry.
  local first = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)[1]
  local fms, fseq = '+inf', 0
  if first then
    fms, fseq = string.match(first[1], '^(%d+)-(%d+)')
  end
  for _, e in ipairs(redis.call('ZRANGEBYSCORE', entries, '-inf', fms, 'LIMIT', 0, 1000)) do
    local msg, id = parseEntry(e)
    local ms, seq = string.match(msg, '^(%d+)-(%d+)')
    if fms == '+inf' or tonumber(ms) < tonumber(fms) or (ms == fms and tonumber(seq) < tonumber(fseq)) then
      lost(msg, id)
    end
  end
  local cursor = '0-0'
  repeat
    local r = redis.call('XAUTOCLAIM', stream, group, consumer, ARGV[4], cursor, 'COUNT', 1)
    cursor = r[1]
    for _, e in ipairs(r[2]) do
      if not e[2] then
        lostEntry(e[1]) -- deleted (Redis 6.2)
      elseif #out < want then
        start(e[1], e[2][2])
      else
        handBack(e[1], e[2][2])
      end
    end
    for _, msg in ipairs(r[3] or {}) do
      lostEntry(msg) -- deleted (Redis 7)
    end
  until cursor == '0-0'
  if #out >= want then return out end
end
-- Then new entries.
for _ = 1, 64 do
  local r = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', want - #out, 'STREAMS', stream, '>')
  if not r then return out end
  for _, e in ipairs(r[1][2]) do
    if start(e[1], e[2][2]) then return out end
  end
end
return out
`)

// The scripts below answer -1 for an unknown job and -2 for a job the
// token does not hold.

// heartbeat: KEYS stream, job; ARGV group, consumer, token, progress
// (JSON, or "" for none). 1: canceled.
var scriptHeartbeat = rueidis.NewLuaScript(`
local j = redis.call('HMGET', KEYS[2], 'status', 'token', 'msg')
if not j[1] then return -1 end
if j[1] == 'canceled' then return 1 end
if j[1] ~= 'running' or j[2] ~= ARGV[3] then return -2 end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, j[3], 'JUSTID')
if ARGV[4] ~= '' then redis.call('HSET', KEYS[2], 'progress', ARGV[4]) end
return 0
`)

// finish: KEYS stream, pending, retry, dead, entries, tenants, then a job
// key per job; ARGV group, result TTL ms, retries allowed, backoff and
// most backoff ms, then per job its id, token, status, and result
// (completed) or code, error, retryable ("1") and a jitter in [0, 1)
// (failed). It answers per job 0, -1 or -2. A retryable failure with retries left makes the job pending
// again, due after RetryPolicy.delay (computed here the same way).
var scriptFinish = rueidis.NewLuaScript(luaNow + luaEntries + `
local t, out = now(), {}
local maxr, base, most = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
for i = 7, #KEYS do
  local a, key = 6 + (i - 7) * 7, KEYS[i]
  local id, token, status = ARGV[a], ARGV[a + 1], ARGV[a + 2]
  local j = redis.call('HMGET', key, 'status', 'token', 'msg', 'failures', 'history', 'attempts', 'consumer', 'op', 'params', 'tenant')
  if not j[1] then
    out[#out + 1] = -1
  elseif j[1] ~= 'running' or j[2] ~= token then
    out[#out + 1] = -2
  else
    unlist(KEYS[1], ARGV[1], KEYS[5], j[3], id)
    out[#out + 1] = 0
    if status == 'completed' then
      final(KEYS[6], j[10], key, ARGV[2], 'status', 'completed', 'finished', t, 'result', ARGV[a + 3])
      redis.call('HDEL', key, 'code', 'error') -- an earlier delivery's
    else
      local code, err, retryable = ARGV[a + 3], ARGV[a + 4], ARGV[a + 5] == '1'
      local failures = tonumber(j[4] or '0')
      local hist = (j[5] or '') .. 'delivery ' .. j[6] .. ' to ' .. (j[7] or '?') .. ': failed at ' .. t .. ': ' .. code .. ': ' .. string.gsub(err, '\n', ' ') .. '\n'
      if retryable and failures < maxr then
        failures = failures + 1
        local wait = math.min(base * 2 ^ (failures - 1), most) * (1 + tonumber(ARGV[a + 6]) / 4)
        local due = string.format('%.0f', tonumber(t) + wait * 1000)
        redis.call('HSET', key, 'status', 'pending', 'failures', failures, 'code', code, 'error', err, 'history', hist, 'retry_at', due)
        redis.call('HDEL', key, 'token', 'started', 'consumer')
        redis.call('INCR', KEYS[2])
        redis.call('ZADD', KEYS[3], due, id)
      else
        if retryable then -- its retries spent
          deadLetter(KEYS[4], id, j[10], j[8], j[9], j[6], hist)
        end
        final(KEYS[6], j[10], key, ARGV[2], 'status', 'failed', 'finished', t, 'code', code, 'error', err, 'history', hist)
      end
    end
  end
end
return out
`)

// release: KEYS stream, pending, job, released; ARGV group, consumer,
// token, job id. The entry goes on the released list, which the next Claim
// anywhere takes from before any new entry.
var scriptRelease = rueidis.NewLuaScript(luaEntries + `
local j = redis.call('HMGET', KEYS[3], 'status', 'token', 'msg', 'attempts')
if not j[1] then return -1 end
if j[1] ~= 'running' or j[2] ~= ARGV[3] then return -2 end
redis.call('HSET', KEYS[3], 'status', 'pending', 'attempts', tonumber(j[4]) - 1)
redis.call('HDEL', KEYS[3], 'started', 'token', 'consumer')
redis.call('INCR', KEYS[2])
redis.call('RPUSH', KEYS[4], entry(j[3], ARGV[4]))
return 0
`)

// cancel: KEYS stream, pending, job, retry, entries, tenants; ARGV group,
// result TTL ms, job id, the caller's tenant. Another tenant's job is -1,
// as an unknown one.
var scriptCancel = rueidis.NewLuaScript(luaNow + luaEntries + `
local j = redis.call('HMGET', KEYS[3], 'status', 'msg', 'tenant')
if not j[1] or (j[3] or '') ~= ARGV[4] then return -1 end
if j[1] == 'pending' then
  redis.call('DECR', KEYS[2])
  redis.call('ZREM', KEYS[4], ARGV[3])
elseif j[1] ~= 'running' then
  return -2
end
final(KEYS[6], j[3], KEYS[3], ARGV[2], 'status', 'canceled', 'finished', now())
unlist(KEYS[1], ARGV[1], KEYS[5], j[2], ARGV[3])
return 0
`)

// status: KEYS job; ARGV the caller's tenant, then the fields to read. It
// answers the fields, or nil for a job that does not exist or is another
// tenant's: the same answer, and no field of the other's read (a large
// result would take longer). A job enqueued before tenants has no tenant
// field: the default tenant's.
var scriptStatus = rueidis.NewLuaScript(`
local j = redis.call('HMGET', KEYS[1], 'status', 'tenant')
if not j[1] or (j[2] or '') ~= ARGV[1] then return nil end
return redis.call('HMGET', KEYS[1], unpack(ARGV, 2))
`)

// reap: KEYS stream; ARGV group, idle ms, a consumer to remove whatever
// its idle time. Only consumers without pending entries are deleted
// (XGROUP DELCONSUMER would drop them).
var scriptReap = rueidis.NewLuaScript(`
local n = 0
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local f = {}
  for i = 1, #c, 2 do f[c[i]] = c[i + 1] end
  if f['pending'] == 0 and (f['name'] == ARGV[3] or f['idle'] > tonumber(ARGV[2])) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], f['name'])
    n = n + 1
  end
end
return n
`)

// Enqueue implements [Queue]. Concurrent enqueues go to Redis together,
// one script run for up to 256 of them.
func (q *Redis) Enqueue(ctx context.Context, op string, params json.RawMessage) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	id, _, err := q.enqueue(dredge.TenantOf(ctx), "", op, params)
	return id, err
}

// EnqueueOnce implements [Queue]. A key is remembered for ResultTTL from
// its job's enqueue; keys are per tenant.
func (q *Redis) EnqueueOnce(ctx context.Context, key, op string, params json.RawMessage) (string, bool, error) {
	if err := ctx.Err(); err != nil {
		return "", false, err
	}
	if !ValidKey(key) {
		return "", false, fmt.Errorf("%w: want 1 to 255 printable characters", ErrInvalidKey)
	}
	return q.enqueue(dredge.TenantOf(ctx), key, op, params)
}

func (q *Redis) enqueue(tenant, key, op string, params json.RawMessage) (string, bool, error) {
	if q.closed.Load() {
		return "", false, ErrClosed
	}
	if key != "" {
		key = idempotencyKey(tenant, key)
	}
	c := &enqueueCall{id: newID(), tenant: tenant, key: key, op: op, params: string(params)}
	if err := q.enqueues.do(c); err != nil {
		return "", false, err
	}
	if c.existing != "" {
		return c.existing, false, nil
	}
	return c.id, c.err == nil, c.err
}

type enqueueCall struct {
	id, tenant, key, op, params string // key as idempotencyKey makes it
	existing                    string // the job the key names already
	err                         error
}

func (q *Redis) enqueueBatch(calls []*enqueueCall) {
	keys := append(make([]string, 0, 4+len(calls)), q.k.stream, q.k.pending, q.k.entries, q.k.tenants)
	args := append(make([]string, 0, 4+5*len(calls)), strconv.Itoa(q.cfg.MaxPending), q.k.key, ms(q.cfg.ResultTTL), strconv.Itoa(q.cfg.MaxTenantJobs))
	for _, c := range calls {
		keys = append(keys, q.k.job+c.id)
		args = append(args, c.id, c.op, c.params, c.key, c.tenant)
	}
	out, err := q.execBatch(scriptEnqueue, "enqueue", keys, args, len(calls))
	for i, c := range calls {
		if c.err = err; err != nil {
			continue
		}
		if n, nerr := out[i].AsInt64(); nerr == nil && n == 0 {
			c.err = fmt.Errorf("%w: %d jobs pending", ErrFull, q.cfg.MaxPending)
		} else if nerr == nil && n == -1 {
			c.err = &TenantLimitError{Limit: q.cfg.MaxTenantJobs}
		} else if v, _ := out[i].ToString(); strings.HasPrefix(v, "=") {
			c.existing = v[1:]
		}
	}
}

// execBatch runs a batch's script, not bound to any one caller's context,
// and checks that it answered n values.
func (q *Redis) execBatch(s *rueidis.Lua, what string, keys, args []string, n int) ([]rueidis.RedisMessage, error) {
	res, err := q.exec(context.Background(), s, what, keys, args)
	if err != nil {
		return nil, err
	}
	out, err := res.ToArray()
	if err == nil && len(out) != n {
		err = fmt.Errorf("%d answers for %d calls", len(out), n)
	}
	if err != nil {
		return nil, q.wrap(what, err)
	}
	return out, nil
}

// Claim implements [Queue]. It first takes a released job, then (a few
// times per ClaimAfter) a job whose claim lapsed, then a new one; when
// there is none it waits in Redis (XREADGROUP BLOCK) for up to Poll at a
// time. Concurrent claims go to Redis together, one script run for up to
// 256 of them.
func (q *Redis) Claim(ctx context.Context) (*Job, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if q.closed.Load() {
			return nil, ErrClosed
		}
		c := &claimCall{}
		if err := q.claims.do(c); err != nil {
			return nil, err
		}
		if c.job != nil || c.err != nil {
			return c.job, c.err
		}
		j, err := q.wait(ctx)
		if j != nil || err != nil {
			return j, err
		}
	}
}

type claimCall struct {
	job *Job
	err error
}

func (q *Redis) claimBatch(calls []*claimCall) {
	jobs, err := q.claim(len(calls), "", "")
	for i, c := range calls {
		c.err = err
		if i < len(jobs) {
			c.job = jobs[i]
		}
	}
}

// claim runs the claim script for up to n jobs: for msg "", on the queue's
// released, lapsed and new entries, else on the entry msg of job id that a
// blocking read delivered.
func (q *Redis) claim(n int, msg, id string) ([]*Job, error) {
	token := q.cfg.Consumer + ":" + strconv.FormatUint(q.seq.Add(1), 10) + ":"
	args := []string{q.cfg.Group, q.cfg.Consumer, q.k.job, ms(q.cfg.ClaimAfter), strconv.Itoa(q.cfg.MaxDeliveries),
		ms(q.cfg.ResultTTL), token, "0", strconv.Itoa(n)}
	if msg == "" {
		args[7] = q.scanDue() // a claim of a delivered entry does not scan
	} else {
		args = append(args, msg, id)
	}
	res, err := q.exec(context.Background(), scriptClaim, "claim", []string{q.k.stream, q.k.pending, q.k.dead, q.k.released, q.k.retry, q.k.entries, q.k.tenants}, args)
	if err != nil {
		return nil, err
	}
	list, err := res.ToArray()
	if err != nil || len(list) > n {
		return nil, q.wrap("claim", fmt.Errorf("unexpected reply %v", res))
	}
	jobs, tokens := make([]*Job, len(list)), make([]string, len(list))
	for i, e := range list {
		f, err := e.ToArray()
		if err != nil || len(f) != 7 {
			return nil, q.wrap("claim", fmt.Errorf("unexpected reply %v", res))
		}
		j := &Job{}
		j.ID, _ = f[0].ToString()
		j.Operation, _ = f[1].ToString()
		params, _ := f[2].ToString()
		attempt, _ := f[3].AsInt64()
		enq, _ := f[4].AsInt64()
		tokens[i], _ = f[5].ToString()
		j.Tenant, _ = f[6].ToString()
		j.Params, j.Attempt, j.Enqueued = json.RawMessage(params), int(attempt), time.UnixMicro(enq)
		jobs[i] = j
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, j := range jobs {
		q.held[j.ID] = tokens[i]
	}
	return jobs, nil
}

// scanDue reports ("1" or "0") whether this claim is to look for claims
// that lapsed: one claim of this queue in each ClaimAfter/4 (at most a
// second), so that a lapsed job waits at most that long past ClaimAfter.
func (q *Redis) scanDue() string {
	if q.scans.Due(min(q.cfg.ClaimAfter/4, time.Second)) {
		return "1"
	}
	return "0"
}

// wait blocks in Redis for a new entry, for at most Poll or until ctx's
// deadline, and claims the entry it gets. The read itself is not bound to
// ctx (an abandoned read could take an entry that nobody then starts);
// when ctx has ended by the time an entry comes, the entry is handed back.
// Close does end the read: an entry it delivered then waits ClaimAfter to
// be taken over (it counts no delivery).
func (q *Redis) wait(ctx context.Context) (*Job, error) {
	block := q.cfg.Poll
	if dl, ok := ctx.Deadline(); ok {
		block = min(block, time.Until(dl))
	}
	if block < time.Millisecond {
		return nil, ctx.Err() // at the deadline: Claim returns ctx's error
	}
	rctx, cancel := context.WithTimeout(q.closing, block+q.cfg.Timeout)
	defer cancel()
	cmd := q.c.B().Xreadgroup().Group(q.cfg.Group, q.cfg.Consumer).Count(1).Block(block.Milliseconds()).
		Streams().Key(q.k.stream).Id(">").Build()
	res, err := q.c.Do(rctx, cmd).AsXRead()
	if rueidis.IsRedisNil(err) {
		return nil, nil
	}
	if err != nil {
		if strings.HasPrefix(err.Error(), "NOGROUP") {
			return nil, q.createGroup(ctx)
		}
		if ctx.Err() != nil && !q.closed.Load() {
			return nil, ctx.Err()
		}
		err = q.wrap("wait for a job", err)
		if !q.closed.Load() {
			// Not a spin: the next call waits again, or fails at once.
			time.Sleep(min(block, 100*time.Millisecond))
		}
		return nil, err
	}
	entries := res[q.k.stream]
	if len(entries) == 0 {
		return nil, nil
	}
	e := entries[0]
	if ctx.Err() != nil {
		q.handBack(e.ID, e.FieldValues["id"])
		return nil, ctx.Err()
	}
	// Not cut short by ctx: a delivered entry is started or left pending.
	jobs, err := q.claim(1, e.ID, e.FieldValues["id"])
	if len(jobs) == 0 {
		return nil, err
	}
	return jobs[0], nil
}

// handBack puts an entry delivered to this consumer but not started (its
// job pending) on the released list, for the next claim anywhere.
func (q *Redis) handBack(msg, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), q.cfg.Timeout)
	defer cancel()
	_ = q.c.Do(ctx, q.c.B().Rpush().Key(q.k.released).Element(msg+" "+id).Build()).Error() // "<entry> <job>", as luaEntries writes it; else it is taken over after ClaimAfter
}

// token returns the claim token this queue holds for job id ("" if none).
func (q *Redis) token(id string) string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.held[id]
}

// answer is a script's integer answer.
func (q *Redis) answer(res rueidis.RedisMessage, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	n, err := res.AsInt64()
	if err != nil {
		return 0, q.wrap("unexpected reply", err)
	}
	return n, nil
}

// outcome maps a script's -1/-2 answer to an error, and forgets the job's
// claim once it is over (done: the script finished, released or refused
// it).
func (q *Redis) outcome(n int64, err error, id string, done bool) (int64, error) {
	if err != nil {
		return 0, err
	}
	if done || n < 0 {
		q.mu.Lock()
		delete(q.held, id)
		q.mu.Unlock()
	}
	switch n {
	case -1:
		return n, fmt.Errorf("%w: %q", ErrNotFound, id)
	case -2:
		return n, fmt.Errorf("%w: job %s", ErrNotClaimed, id)
	}
	return n, nil
}

// Heartbeat implements [Queue]: it resets the idle time of the job's
// entry, so that no other consumer takes it over, and stores the progress
// in the job's hash.
func (q *Redis) Heartbeat(ctx context.Context, id string, progress *dredge.Progress) (bool, error) {
	var p []byte
	if progress != nil {
		p, _ = json.Marshal(progress) // ints and a string: never fails
	}
	res, err := q.exec(ctx, scriptHeartbeat, "heartbeat", []string{q.k.stream, q.k.job + id}, []string{q.cfg.Group, q.cfg.Consumer, q.token(id), string(p)})
	n, err := q.answer(res, err)
	n, err = q.outcome(n, err, id, false)
	return n == 1, err
}

// Ack implements [Queue].
func (q *Redis) Ack(ctx context.Context, id string, result json.RawMessage) error {
	return q.finish(&finishCall{id: id, status: string(Completed), a: string(result)})
}

// Fail implements [Queue]. The job's history in Redis gets a line for the
// failure.
func (q *Redis) Fail(ctx context.Context, id string, code dredge.Code, message string) error {
	c := &finishCall{id: id, status: string(Failed), a: string(code), b: message, retryable: "0", jitter: "0"}
	if Retryable(code) {
		c.retryable, c.jitter = "1", strconv.FormatFloat(mrand.Float64(), 'f', 4, 64)
	}
	return q.finish(c)
}

func (q *Redis) finish(c *finishCall) error {
	if q.closed.Load() {
		return ErrClosed
	}
	id := c.id
	c.token = q.token(id)
	if err := q.finishes.do(c); err != nil {
		return err
	}
	_, err := q.outcome(c.n, c.err, id, true)
	return err
}

type finishCall struct {
	id, token, status, a, b string
	retryable, jitter       string // of a failure
	n                       int64  // the script's answer
	err                     error
}

// finishBatch finishes jobs together: one script run for up to 256
// acknowledgements and failures.
func (q *Redis) finishBatch(calls []*finishCall) {
	keys := append(make([]string, 0, 6+len(calls)), q.k.stream, q.k.pending, q.k.retry, q.k.dead, q.k.entries, q.k.tenants)
	r := q.cfg.Retry
	args := append(make([]string, 0, 5+7*len(calls)), q.cfg.Group, ms(q.cfg.ResultTTL), strconv.Itoa(r.Max), ms(r.Backoff), ms(r.MaxBackoff))
	for _, c := range calls {
		keys = append(keys, q.k.job+c.id)
		args = append(args, c.id, c.token, c.status, c.a, c.b, c.retryable, c.jitter)
	}
	out, err := q.execBatch(scriptFinish, "finish jobs", keys, args, len(calls))
	for i, c := range calls {
		if c.err = err; err == nil {
			c.n, c.err = out[i].AsInt64()
		}
	}
}

// Release implements [Queue].
func (q *Redis) Release(ctx context.Context, id string) error {
	res, err := q.exec(ctx, scriptRelease, "release a job", []string{q.k.stream, q.k.pending, q.k.job + id, q.k.released},
		[]string{q.cfg.Group, q.cfg.Consumer, q.token(id), id})
	n, err := q.answer(res, err)
	_, err = q.outcome(n, err, id, true)
	return err
}

// Cancel implements [Queue].
func (q *Redis) Cancel(ctx context.Context, id string) error {
	res, err := q.exec(ctx, scriptCancel, "cancel a job", []string{q.k.stream, q.k.pending, q.k.job + id, q.k.retry, q.k.entries, q.k.tenants},
		[]string{q.cfg.Group, ms(q.cfg.ResultTTL), id, dredge.TenantOf(ctx)})
	// Not outcome: its -1 forgets this queue's claim of the job, and a
	// job unknown to the caller may be another tenant's, running here.
	switch n, err := q.answer(res, err); {
	case err != nil:
		return err
	case n == -1:
		return fmt.Errorf("%w: %q", ErrNotFound, id)
	case n == -2:
		return fmt.Errorf("%w: job %s is finished", ErrNotClaimed, id)
	}
	return nil
}

// statusFields are the job fields Status reads, in scriptStatus's ARGV.
var statusFields = []string{"", "op", "status", "attempts", "enqueued", "started", "finished", "result", "code", "error", "progress", "retry_at"}

// Status implements [Queue].
func (q *Redis) Status(ctx context.Context, id string) (State, error) {
	args := slices.Clone(statusFields)
	args[0] = dredge.TenantOf(ctx)
	res, err := q.exec(ctx, scriptStatus, "status", []string{q.k.job + id}, args)
	if err != nil {
		return State{}, err
	}
	if res.IsNil() {
		return State{}, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	f, err := res.ToArray()
	if err != nil {
		return State{}, q.wrap("status", err)
	}
	str := func(i int) string { s, _ := f[i].ToString(); return s }
	micros := func(i int) time.Time {
		n, err := strconv.ParseInt(str(i), 10, 64)
		if err != nil {
			return time.Time{}
		}
		return time.UnixMicro(n)
	}
	if len(f) != 11 || f[1].IsNil() {
		return State{}, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	attempts, _ := strconv.Atoi(str(2))
	st := State{ID: id, Operation: str(0), Status: Status(str(1)), Attempts: attempts,
		Enqueued: micros(3), Started: micros(4), Finished: micros(5), Code: dredge.Code(str(7)), Error: str(8), RetryAt: micros(10)}
	if r := str(6); r != "" {
		st.Result = json.RawMessage(r)
	}
	if p := str(9); p != "" {
		st.Progress = new(dredge.Progress)
		if err := json.Unmarshal([]byte(p), st.Progress); err != nil {
			st.Progress = nil // not this version's: no progress rather than a failed status
		}
	}
	return st, nil
}

// Depth implements [Queue]: the jobs pending, released ones included.
func (q *Redis) Depth(ctx context.Context) (int, error) {
	if q.closed.Load() {
		return 0, ErrClosed
	}
	ctx, cancel := context.WithTimeout(ctx, q.cfg.Timeout)
	defer cancel()
	n, err := q.c.Do(ctx, q.c.B().Get().Key(q.k.pending).Build()).AsInt64()
	if rueidis.IsRedisNil(err) {
		return 0, nil
	}
	if err != nil {
		return 0, q.wrap("depth", err)
	}
	return int(n), nil
}

// Close implements [Queue]: later calls fail with ErrClosed and waiting
// Claims return it. It does not close RedisConfig.Client (a queue made by
// Open closes the client Open connected).
func (q *Redis) Close() error {
	if !q.closed.Swap(true) {
		q.close()
		// This consumer goes, unless it still holds entries (they are
		// taken over after ClaimAfter, and it goes at a later start).
		_ = q.reap(context.Background(), q.cfg.Consumer) // best effort
		if q.ownClient {
			q.c.Close()
		}
	}
	return nil
}
