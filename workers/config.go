package workers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/redis/rueidis"

	"github.com/dredge-cli/dredge/cache"
	"github.com/dredge-cli/dredge/internal/envvar"
)

// Config names a queue and the workers that run its jobs, as
// [ConfigFromEnv] reads them; [Open] opens the queue.
type Config struct {
	// Backend is "memory" (the default) or "redis".
	Backend string
	Memory  MemoryConfig
	// Redis configures a Redis queue. When its Client is nil, Open
	// connects with RedisClient, and the queue's Close closes the client.
	Redis       RedisConfig
	RedisClient rueidis.ClientOption
	// Workers × Concurrency jobs run at once in a process (NUM_WORKERS,
	// WORKER_CONCURRENCY); 0 workers: the process only enqueues.
	Workers, Concurrency int
}

// minClaimAfter is the least QUEUE_CLAIM_AFTER: two heartbeats.
const minClaimAfter = 2 * time.Second

// ConfigFromEnv reads the queue's and the workers' settings:
//
//	QUEUE_BACKEND         memory (default) or redis
//	QUEUE_PREFIX          redis: the queue's name, its keys' hash tag (dredge:jobs)
//	NUM_WORKERS           default GOMAXPROCS; 0: this process only enqueues (redis only)
//	WORKER_CONCURRENCY    jobs each worker runs at once (1)
//	QUEUE_MAX_PENDING     pending jobs before Enqueue fails with ErrFull (memory 10000, redis 1000000)
//	QUEUE_TENANT_MAX_JOBS queued (pending or running) jobs of each tenant, the default tenant
//	                      included, before Enqueue fails with a *TenantLimitError (0: no limit)
//	RESULT_TTL            seconds or a duration (24h): how long finished jobs are kept
//	QUEUE_CLAIM_AFTER     redis: a running job without a heartbeat for this long is taken over (30s; at least 2s)
//	QUEUE_MAX_DELIVERIES  redis: deliveries lost to dead workers before a job is dead-lettered (3)
//	QUEUE_MAX_RETRIES     retries of a job whose operation failed with a retryable code (3; 0: none)
//	QUEUE_RETRY_BACKOFF   seconds or a duration (1s): the wait before the first retry, doubled for each next
//
// With redis, REDIS_URL (or REDIS_HOST, REDIS_PORT, REDIS_DB,
// REDIS_PASSWORD) names the server, as for the cache. A malformed value is
// an error naming the variable.
func ConfigFromEnv() (Config, error) {
	return configFromEnv(os.LookupEnv)
}

func configFromEnv(lookup envvar.Lookup) (Config, error) {
	r := envvar.Reader{Lookup: lookup}
	const day, year = 24 * time.Hour, 365 * 24 * time.Hour
	c := Config{
		Backend:     r.Enum("QUEUE_BACKEND", "memory", "memory", "redis"),
		Workers:     r.Int("NUM_WORKERS", runtime.GOMAXPROCS(0), 0, 1<<12),
		Concurrency: r.Int("WORKER_CONCURRENCY", 1, 1, 1<<12),
	}
	maxPending := r.Int("QUEUE_MAX_PENDING", 0, 1, 1<<40)
	maxTenant := r.Int("QUEUE_TENANT_MAX_JOBS", 0, 0, 1<<40)
	ttl := r.Duration("RESULT_TTL", day, day, year)
	retry := RetryPolicy{
		Max:     r.Int("QUEUE_MAX_RETRIES", 3, 0, 1000),
		Backoff: r.Duration("QUEUE_RETRY_BACKOFF", time.Second, time.Second, day),
	}
	if retry.Max == 0 {
		retry.Max = -1 // none
	}
	c.Memory = MemoryConfig{MaxPending: maxPending, MaxTenantJobs: maxTenant, ResultTTL: ttl, Retry: retry}
	c.Redis = RedisConfig{
		Prefix:        r.String("QUEUE_PREFIX", ""),
		MaxPending:    maxPending,
		MaxTenantJobs: maxTenant,
		ResultTTL:     ttl,
		Retry:         retry,
		ClaimAfter:    r.Duration("QUEUE_CLAIM_AFTER", 30*time.Second, 30*time.Second, day),
		MaxDeliveries: r.Int("QUEUE_MAX_DELIVERIES", 3, 1, 1000),
	}
	if err := r.Err(); err != nil {
		return c, err
	}
	// Heartbeats come every second (PoolConfig.Heartbeat): a claim must
	// outlive a few of them, or running jobs are taken over.
	if c.Backend == "memory" && c.Workers == 0 {
		return c, errors.New("NUM_WORKERS=0 with QUEUE_BACKEND=memory: jobs would be accepted that nothing runs (use QUEUE_BACKEND=redis and examples/worker)")
	}
	if c.Redis.ClaimAfter < minClaimAfter {
		return c, fmt.Errorf("QUEUE_CLAIM_AFTER: must be at least %v (workers heartbeat every second), got %v", minClaimAfter, c.Redis.ClaimAfter)
	}
	// The connection, read whatever the backend (it connects nothing): a
	// worker process uses Redis without QUEUE_BACKEND.
	cc, err := cache.ConfigFromEnv()
	if err != nil {
		return c, err
	}
	if c.RedisClient, err = cc.Redis.ClientOption(); err != nil {
		return c, fmt.Errorf("REDIS_URL: %w", err)
	}
	return c, nil
}

// Open opens the queue cfg names. A Redis queue fails to open when Redis
// cannot be reached.
func Open(ctx context.Context, cfg Config) (Queue, error) {
	switch cfg.Backend {
	case "", "memory":
		return NewMemory(cfg.Memory), nil
	case "redis":
		rc := cfg.Redis
		if rc.Client != nil {
			return NewRedis(ctx, rc)
		}
		opt := cfg.RedisClient
		opt.DisableCache = true // the queue reads nothing twice
		client, err := rueidis.NewClient(opt)
		if err != nil {
			return nil, fmt.Errorf("workers: redis connect: %w: %w", ErrUnavailable, err)
		}
		rc.Client = client
		q, err := NewRedis(ctx, rc)
		if err != nil {
			client.Close()
			return nil, err
		}
		q.ownClient = true
		return q, nil
	}
	return nil, fmt.Errorf("workers: unknown queue backend %q (memory, redis)", cfg.Backend)
}
