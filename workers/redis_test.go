package workers_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/internal/testengine"
	"github.com/dredge-cli/dredge/internal/testredis"
	"github.com/dredge-cli/dredge/workers"
	"github.com/dredge-cli/dredge/workers/queuetest"
)

// redisClient connects to REDIS_URL or skips the test.
func redisClient(t *testing.T) rueidis.Client {
	t.Helper()
	c, _ := testredis.Client(t)
	return c
}

// redisConfig returns a config of a queue of its own on c, whose keys are
// deleted when the test ends.
func redisConfig(t *testing.T, c rueidis.Client) workers.RedisConfig {
	t.Helper()
	prefix := "dredge:test:" + strings.NewReplacer("/", ":", " ", "_").Replace(t.Name()) + ":" + time.Now().Format("150405.000000")
	t.Cleanup(func() { testredis.DeleteKeys(t, c, "{"+prefix+"}:*") })
	return workers.RedisConfig{Client: c, Prefix: prefix, Poll: 50 * time.Millisecond}
}

func openRedis(t *testing.T, cfg workers.RedisConfig) *workers.Redis {
	t.Helper()
	q, err := workers.NewRedis(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Close() })
	return q
}

func TestRedisQueue(t *testing.T) {
	c := redisClient(t)
	queuetest.Run(t, func(t *testing.T, opt queuetest.Options) workers.Queue {
		cfg := redisConfig(t, c)
		cfg.Retry, cfg.MaxTenantJobs = opt.Retry, opt.MaxTenantJobs
		return openRedis(t, cfg)
	})
}

// streamKey is the key of cfg's job stream.
func streamKey(cfg workers.RedisConfig) string {
	return strings.TrimSuffix(cfg.DeadLetterKey(), "dead") + "stream"
}

// deadLetters reads cfg's dead-letter stream.
func deadLetters(c rueidis.Client, cfg workers.RedisConfig) ([]rueidis.XRangeEntry, error) {
	return c.Do(context.Background(), c.B().Xrange().Key(cfg.DeadLetterKey()).Start("-").End("+").Build()).AsXRange()
}

func claimWithin(t *testing.T, q workers.Queue, d time.Duration) (*workers.Job, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return q.Claim(ctx)
}

// TestRedisClaimLapses: a job whose worker stops heartbeating is taken
// over by another consumer, and the first worker's Ack is refused: one
// result.
func TestRedisClaimLapses(t *testing.T) {
	c := redisClient(t)
	cfg := redisConfig(t, c)
	cfg.ClaimAfter = 200 * time.Millisecond
	a, b := openRedis(t, cfg), openRedis(t, cfg)
	ctx := context.Background()
	id, err := a.Enqueue(ctx, "lift", json.RawMessage(`{"insight_text":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	if j, err := claimWithin(t, a, time.Second); err != nil || j.ID != id || j.Attempt != 1 {
		t.Fatalf("a claimed %+v, %v", j, err)
	}
	start := time.Now()
	j, err := claimWithin(t, b, 5*time.Second)
	if err != nil || j.ID != id || j.Attempt != 2 || string(j.Params) != `{"insight_text":"x"}` {
		t.Fatalf("b claimed %+v, %v; want the lapsed job, attempt 2", j, err)
	}
	if waited := time.Since(start); waited < 150*time.Millisecond {
		t.Errorf("taken over after %v, before ClaimAfter", waited)
	}
	if err := a.Ack(ctx, id, json.RawMessage(`{"from":"a"}`)); !errors.Is(err, workers.ErrNotClaimed) {
		t.Errorf("Ack of the lapsed claim: %v, want ErrNotClaimed", err)
	}
	if _, err := a.Heartbeat(ctx, id, nil); !errors.Is(err, workers.ErrNotClaimed) {
		t.Errorf("Heartbeat of the lapsed claim: %v, want ErrNotClaimed", err)
	}
	if err := b.Ack(ctx, id, json.RawMessage(`{"from":"b"}`)); err != nil {
		t.Fatal(err)
	}
	st, err := a.Status(ctx, id)
	if err != nil || st.Status != workers.Completed || string(st.Result) != `{"from":"b"}` || st.Attempts != 2 {
		t.Errorf("status %+v, %v", st, err)
	}
}

// TestRedisManyLapsedAtOnce: the jobs of a worker that died holding many
// all run again as soon as their claims lapse, not one per lapse scan:
// the scan hands those its claim has no room for to every claim.
func TestRedisManyLapsedAtOnce(t *testing.T) {
	c := redisClient(t)
	cfg := redisConfig(t, c)
	cfg.ClaimAfter = time.Second // a scan every 250 ms; the jobs taken over do not lapse again meanwhile
	ctx := context.Background()
	q := openRedis(t, cfg)
	const n = 20
	for i := range n {
		if _, err := q.Enqueue(ctx, "lift", json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))); err != nil {
			t.Fatal(err)
		}
	}
	dying := openRedis(t, cfg)
	for range n {
		if _, err := claimWithin(t, dying, time.Second); err != nil {
			t.Fatal(err)
		}
	}
	j, err := claimWithin(t, q, 5*time.Second) // the first after the lapse
	if err != nil || j.Attempt != 2 {
		t.Fatalf("first takeover: %+v, %v", j, err)
	}
	first := time.Now()
	for i := 1; i < n; i++ {
		if j, err := claimWithin(t, q, time.Second); err != nil || j.Attempt != 2 {
			t.Fatalf("takeover %d: %+v, %v", i+1, j, err)
		}
	}
	if took := time.Since(first); took > 250*time.Millisecond {
		t.Errorf("the other %d lapsed jobs took %v to be claimed after the first (one per scan would take %v)", n-1, took, (n-1)*cfg.ClaimAfter/4)
	}
	if d, err := q.Depth(ctx); err != nil || d != 0 {
		t.Errorf("Depth = %d, %v", d, err)
	}
}

// TestRedisHeartbeatKeepsClaim: a slow job that heartbeats is never taken
// from its live worker.
func TestRedisHeartbeatKeepsClaim(t *testing.T) {
	c := redisClient(t)
	cfg := redisConfig(t, c)
	cfg.ClaimAfter = 200 * time.Millisecond
	a, b := openRedis(t, cfg), openRedis(t, cfg)
	ctx := context.Background()
	id, err := a.Enqueue(ctx, "lift", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := claimWithin(t, a, time.Second); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	beats := make(chan error, 1)
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				beats <- nil
				return
			case <-tick.C:
				if canceled, err := a.Heartbeat(ctx, id, nil); err != nil || canceled {
					beats <- errors.Join(err, errors.New("canceled"))
					return
				}
			}
		}
	}()
	if j, err := claimWithin(t, b, 800*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("b claimed %+v, %v while a heartbeats", j, err)
	}
	close(stop)
	if err := <-beats; err != nil {
		t.Fatal(err)
	}
	if err := a.Ack(ctx, id, json.RawMessage(`{}`)); err != nil {
		t.Errorf("Ack after heartbeats: %v", err)
	}
}

// TestRedisDeadLetter: after MaxDeliveries lost deliveries the job is
// failed, with its history, into the dead-letter stream.
func TestRedisDeadLetter(t *testing.T) {
	c := redisClient(t)
	cfg := redisConfig(t, c)
	cfg.ClaimAfter = 100 * time.Millisecond
	cfg.MaxDeliveries = 2
	ctx := context.Background()
	q := openRedis(t, cfg)
	id, err := q.Enqueue(ctx, "benchmark", json.RawMessage(`{"model_type":"quasimoto"}`))
	if err != nil {
		t.Fatal(err)
	}
	for attempt := 1; attempt <= 2; attempt++ {
		// Each delivery goes to a consumer that then dies.
		dying := openRedis(t, cfg)
		if j, err := claimWithin(t, dying, 2*time.Second); err != nil || j.ID != id || j.Attempt != attempt {
			t.Fatalf("delivery %d: %+v, %v", attempt, j, err)
		}
		_ = dying.Close()
	}
	time.Sleep(150 * time.Millisecond)
	if j, err := claimWithin(t, q, 300*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("claimed %+v, %v after the last delivery; want nothing", j, err)
	}
	st, err := q.Status(ctx, id)
	if err != nil || st.Status != workers.Failed || st.Code != dredge.CodeInternal || !strings.Contains(st.Error, "2 deliveries") {
		t.Fatalf("status %+v, %v", st, err)
	}
	dead, err := deadLetters(c, cfg)
	if err != nil || len(dead) != 1 {
		t.Fatalf("dead letters %+v, %v", dead, err)
	}
	f := dead[0].FieldValues
	if f["id"] != id || f["operation"] != "benchmark" || f["params"] != `{"model_type":"quasimoto"}` || f["attempts"] != "2" ||
		strings.Count(f["history"], "claim lapsed") != 2 {
		t.Errorf("dead letter %+v", f)
	}
	if n, err := q.Depth(ctx); err != nil || n != 0 {
		t.Errorf("Depth = %d, %v", n, err)
	}
}

// TestRedisRetriesDeadLetter: a job that always fails with a retryable
// code is delivered exactly Max + 1 times, each retry after a longer wait,
// and then lands in the dead-letter stream with one history line per
// failure.
func TestRedisRetriesDeadLetter(t *testing.T) {
	c := redisClient(t)
	cfg := redisConfig(t, c)
	cfg.Retry = workers.RetryPolicy{Max: 3, Backoff: 100 * time.Millisecond}
	q := openRedis(t, cfg)
	ctx := context.Background()
	id, err := q.Enqueue(ctx, "train", json.RawMessage(`{"epochs":3}`))
	if err != nil {
		t.Fatal(err)
	}
	var gaps []time.Duration
	var failed time.Time
	for delivery := 1; ; delivery++ {
		j, err := claimWithin(t, q, 1500*time.Millisecond)
		if errors.Is(err, context.DeadlineExceeded) {
			if delivery != 5 {
				t.Fatalf("%d deliveries, want Max + 1 = 4", delivery-1)
			}
			break
		}
		if err != nil || j.ID != id || j.Attempt != delivery {
			t.Fatalf("delivery %d: %+v, %v", delivery, j, err)
		}
		if delivery > 1 {
			gaps = append(gaps, time.Since(failed))
		}
		failed = time.Now()
		if err := q.Fail(ctx, id, dredge.CodeUnavailable, fmt.Sprintf("device lost\n(try %d)", delivery)); err != nil {
			t.Fatal(err)
		}
	}
	// 100, 200, 400 ms, each up to a quarter more.
	for i, g := range gaps {
		if want := 100 * time.Millisecond << i; g < want || g > want*5/4+time.Second {
			t.Errorf("retry %d came %v after its failure, want %v to %v", i+1, g, want, want*5/4)
		}
	}
	st, err := q.Status(ctx, id)
	if err != nil || st.Status != workers.Failed || st.Code != dredge.CodeUnavailable || st.Error != "device lost\n(try 4)" || st.Attempts != 4 {
		t.Fatalf("status %+v, %v", st, err)
	}
	dead, err := deadLetters(c, cfg)
	if err != nil || len(dead) != 1 {
		t.Fatalf("dead letters %+v, %v", dead, err)
	}
	f := dead[0].FieldValues
	lines := strings.Split(strings.TrimSuffix(f["history"], "\n"), "\n")
	if f["id"] != id || f["operation"] != "train" || f["params"] != `{"epochs":3}` || f["attempts"] != "4" || len(lines) != 4 {
		t.Fatalf("dead letter %+v", f)
	}
	for i, l := range lines {
		if want := fmt.Sprintf("delivery %d to ", i+1); !strings.HasPrefix(l, want) || !strings.HasSuffix(l, fmt.Sprintf("unavailable: device lost (try %d)", i+1)) {
			t.Errorf("history line %d: %q", i+1, l)
		}
	}
	if n, err := q.Depth(ctx); err != nil || n != 0 {
		t.Errorf("Depth = %d, %v", n, err)
	}
}

// TestRedisCrashSpendsNoRetry: a job allowed no retries survives its
// worker's death: the lost delivery is counted apart from retries.
func TestRedisCrashSpendsNoRetry(t *testing.T) {
	c := redisClient(t)
	cfg := redisConfig(t, c)
	cfg.ClaimAfter = 200 * time.Millisecond
	cfg.Retry = workers.RetryPolicy{Max: -1}
	q := openRedis(t, cfg)
	ctx := context.Background()
	id, err := q.Enqueue(ctx, "lift", nil)
	if err != nil {
		t.Fatal(err)
	}
	dying := openRedis(t, cfg)
	if j, err := claimWithin(t, dying, 2*time.Second); err != nil || j.ID != id {
		t.Fatalf("first delivery: %+v, %v", j, err)
	}
	// It dies: no heartbeat, no Close.
	j, err := claimWithin(t, q, 5*time.Second)
	if err != nil || j.ID != id || j.Attempt != 2 {
		t.Fatalf("after the crash: %+v, %v; want the job again, attempt 2", j, err)
	}
	if err := q.Ack(ctx, id, json.RawMessage(`{"ok":true}`)); err != nil {
		t.Fatal(err)
	}
	if st, err := q.Status(ctx, id); err != nil || st.Status != workers.Completed {
		t.Errorf("status %+v, %v", st, err)
	}
}

// TestRedisTrimmedEntries: entries deleted from the job stream by someone
// else (XTRIM MAXLEN drops unread and unacknowledged entries alike) lose no
// job: those of delivered jobs, which XAUTOCLAIM reports by entry id only,
// and those of jobs never delivered, found below the stream's first entry,
// all go to the dead-letter stream, failed.
func TestRedisTrimmedEntries(t *testing.T) {
	c := redisClient(t)
	cfg := redisConfig(t, c)
	cfg.ClaimAfter = 200 * time.Millisecond
	ctx := context.Background()
	q := openRedis(t, cfg)
	var ids []string
	for i := range 6 {
		id, err := q.Enqueue(ctx, "lift", json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	dying := openRedis(t, cfg) // claims three, then stops heartbeating
	for range 3 {
		if _, err := claimWithin(t, dying, time.Second); err != nil {
			t.Fatal(err)
		}
	}
	stream := streamKey(cfg)
	if err := c.Do(ctx, c.B().Xtrim().Key(stream).Maxlen().Threshold("0").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	if j, err := claimWithin(t, q, time.Second); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("claimed %+v, %v from a trimmed stream", j, err)
	}
	for _, id := range ids {
		st, err := q.Status(ctx, id)
		if err != nil || st.Status != workers.Failed || st.Code != dredge.CodeInternal || !strings.Contains(st.Error, "deleted outside the queue") {
			t.Errorf("job %s after the trim: %+v, %v", id, st, err)
		}
	}
	dead, err := deadLetters(c, cfg)
	if err != nil || len(dead) != len(ids) {
		t.Fatalf("%d dead letters (%v), want %d", len(dead), err, len(ids))
	}
	for _, d := range dead {
		if !slices.Contains(ids, d.FieldValues["id"]) || !strings.Contains(d.FieldValues["history"], "deleted from the stream") {
			t.Errorf("dead letter %+v", d.FieldValues)
		}
	}
	if n, err := q.Depth(ctx); err != nil || n != 0 {
		t.Errorf("Depth = %d, %v; want 0", n, err)
	}
}

// TestRedisStreamBounded: with producers five times faster than the
// consumers, the job stream holds only pending and running jobs (finished
// entries are deleted one by one, never trimmed by length), back-pressure
// refuses jobs past MaxPending, and every accepted job completes.
func TestRedisStreamBounded(t *testing.T) {
	c := redisClient(t)
	cfg := redisConfig(t, c)
	cfg.MaxPending = 500
	ctx := context.Background()
	q := openRedis(t, cfg)
	stream := streamKey(cfg)
	const workTime = 2 * time.Millisecond // a consumer's job; producers enqueue 5× as fast
	var mu sync.Mutex
	accepted, refused := map[string]bool{}, 0
	deadline := time.Now().Add(2 * time.Second)
	var wg sync.WaitGroup
	for range 2 { // producers
		wg.Go(func() {
			for time.Now().Before(deadline) {
				id, err := q.Enqueue(ctx, "lift", json.RawMessage(`{}`))
				mu.Lock()
				if errors.Is(err, workers.ErrFull) {
					refused++
				} else if err != nil {
					t.Error(err)
				} else {
					accepted[id] = true
				}
				mu.Unlock()
				time.Sleep(workTime / 5)
			}
		})
	}
	var done sync.Map
	stop := make(chan struct{})
	var consumers sync.WaitGroup
	for range 2 {
		consumers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				j, err := claimWithin(t, q, 100*time.Millisecond)
				if err != nil {
					continue
				}
				time.Sleep(workTime)
				if err := q.Ack(ctx, j.ID, json.RawMessage(`{}`)); err != nil {
					t.Error(err)
				}
				done.Store(j.ID, true)
			}
		})
	}
	for time.Now().Before(deadline) {
		n, err := c.Do(ctx, c.B().Xlen().Key(stream).Build()).AsInt64()
		if err != nil {
			t.Fatal(err)
		}
		if n > int64(cfg.MaxPending)+2 { // pending, and at most two running
			t.Errorf("the stream holds %d entries with at most %d pending and 2 running", n, cfg.MaxPending)
		}
		time.Sleep(50 * time.Millisecond)
	}
	wg.Wait()
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if n, _ := q.Depth(ctx); n == 0 {
			break
		}
	}
	time.Sleep(100 * time.Millisecond) // the last running ones
	close(stop)
	consumers.Wait()
	if refused == 0 {
		t.Errorf("producers 5× faster than consumers were never refused (%d accepted)", len(accepted))
	}
	for id := range accepted {
		if _, ok := done.Load(id); !ok {
			st, err := q.Status(ctx, id)
			t.Errorf("accepted job %s never completed: %+v, %v", id, st, err)
		}
	}
	if n, err := c.Do(ctx, c.B().Xlen().Key(stream).Build()).AsInt64(); err != nil || n != 0 {
		t.Errorf("the stream holds %d entries (%v) once every job finished", n, err)
	}
	t.Logf("%d jobs accepted and completed, %d refused by back-pressure", len(accepted), refused)
}

// TestRedisLimits: back-pressure, and results that expire.
func TestRedisLimits(t *testing.T) {
	c := redisClient(t)
	cfg := redisConfig(t, c)
	cfg.MaxPending = 2
	cfg.ResultTTL = 100 * time.Millisecond
	q := openRedis(t, cfg)
	ctx := context.Background()
	for range 2 {
		if _, err := q.Enqueue(ctx, "lift", nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := q.Enqueue(ctx, "lift", nil); !errors.Is(err, workers.ErrFull) {
		t.Fatalf("Enqueue past MaxPending: %v, want ErrFull", err)
	}
	j, err := claimWithin(t, q, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Enqueue(ctx, "lift", nil); err != nil {
		t.Fatalf("Enqueue after a claim made room: %v", err)
	}
	if err := q.Ack(ctx, j.ID, json.RawMessage(`{}`)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(250 * time.Millisecond)
	if _, err := q.Status(ctx, j.ID); !errors.Is(err, workers.ErrNotFound) {
		t.Errorf("Status past ResultTTL: %v, want ErrNotFound", err)
	}
}

// TestRedisKeysOneSlot: every key of a queue carries the same hash tag, so
// that its scripts run on Redis Cluster.
func TestRedisKeysOneSlot(t *testing.T) {
	c := redisClient(t)
	cfg := redisConfig(t, c)
	q := openRedis(t, cfg)
	ctx := context.Background()
	id, err := q.Enqueue(ctx, "lift", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := claimWithin(t, q, time.Second); err != nil {
		t.Fatal(err)
	}
	if err := q.Fail(ctx, id, dredge.CodeInvalidArgument, "insight_text: is required"); err != nil {
		t.Fatal(err)
	}
	keys, err := c.Do(ctx, c.B().Keys().Pattern("*"+cfg.Prefix+"*").Build()).AsStrSlice()
	if err != nil || len(keys) < 3 {
		t.Fatalf("keys %v, %v", keys, err)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, "{"+cfg.Prefix+"}:") || strings.Count(k, "{") != 1 {
			t.Errorf("key %q outside the queue's hash tag", k)
		}
	}
}

// TestRedisUnavailable: with Redis down, calls fail with ErrUnavailable
// (HTTP 503), and work again once it is back.
func TestRedisUnavailable(t *testing.T) {
	srv := testredis.Start(t, 0)
	c := testredis.ClientAt(t, srv.URL())
	q := openRedis(t, workers.RedisConfig{Client: c, Timeout: 300 * time.Millisecond, Poll: 50 * time.Millisecond})
	ctx := context.Background()
	if _, err := q.Enqueue(ctx, "lift", nil); err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	if _, err := q.Enqueue(ctx, "lift", nil); !errors.Is(err, workers.ErrUnavailable) {
		t.Errorf("Enqueue with Redis down: %v, want ErrUnavailable", err)
	}
	if _, err := claimWithin(t, q, time.Second); !errors.Is(err, workers.ErrUnavailable) && !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Claim with Redis down: %v", err)
	}
	srv.Restart() // empty: no persistence; the group is created again
	var id string
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if id, err = q.Enqueue(ctx, "lift", nil); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("Enqueue after Redis is back: %v", err)
	}
	// A connection broken by the restart may fail one more call.
	j, err := claimWithin(t, q, 2*time.Second)
	if errors.Is(err, workers.ErrUnavailable) {
		j, err = claimWithin(t, q, 2*time.Second)
	}
	if err != nil || j.ID != id {
		t.Fatalf("Claim after Redis is back: %+v, %v", j, err)
	}
}

// TestRedisQueueCluster runs the suite on a Redis Cluster of three
// masters: every script's keys share the queue's hash tag, so each runs on
// the node that holds the slot (else Redis answers CROSSSLOT).
func TestRedisQueueCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts a three-node Redis Cluster")
	}
	c := testredis.ClientAt(t, testredis.StartCluster(t, 3))
	if c.Mode() != rueidis.ClientModeCluster {
		t.Fatalf("client mode %v, want a cluster client", c.Mode())
	}
	n := 0
	queuetest.Run(t, func(t *testing.T, opt queuetest.Options) workers.Queue {
		n++ // queues of their own, on slots spread over the nodes
		return openRedis(t, workers.RedisConfig{Client: c, Prefix: "dredge:cluster:" + strconv.Itoa(n), Poll: 50 * time.Millisecond,
			Retry: opt.Retry, MaxTenantJobs: opt.MaxTenantJobs})
	})
}

// consumers lists the names of the queue's consumers.
func consumers(t *testing.T, c rueidis.Client, cfg workers.RedisConfig) []string {
	t.Helper()
	stream := streamKey(cfg)
	list, err := c.Do(context.Background(), c.B().XinfoConsumers().Key(stream).Group("workers").Build()).ToArray()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range list {
		m, err := e.AsMap()
		if err != nil {
			t.Fatal(err)
		}
		v := m["name"]
		name, _ := v.ToString()
		names = append(names, name)
	}
	return names
}

// pendingOf returns the group's consumers' counts of pending entries.
func pendingOf(t *testing.T, c rueidis.Client, cfg workers.RedisConfig) map[string]int64 {
	t.Helper()
	list, err := c.Do(context.Background(), c.B().XinfoConsumers().Key(streamKey(cfg)).Group("workers").Build()).ToArray()
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]int64, len(list))
	for _, e := range list {
		m, err := e.AsMap()
		if err != nil {
			t.Fatal(err)
		}
		nv, pv := m["name"], m["pending"]
		name, _ := nv.ToString()
		out[name], _ = pv.AsInt64()
	}
	return out
}

// TestRedisConsumersReaped: a queue closed cleanly removes its consumer;
// one whose process died goes at a later start, once its entries were
// taken over and it has been idle past ClaimAfter. Redis never removes
// consumers by itself: without this, each worker restart leaves one.
func TestRedisConsumersReaped(t *testing.T) {
	c := redisClient(t)
	cfg := redisConfig(t, c)
	cfg.ClaimAfter = 200 * time.Millisecond
	ctx := context.Background()
	for i := range 5 {
		cfg.Consumer = "clean-" + strconv.Itoa(i)
		q := openRedis(t, cfg)
		id, err := q.Enqueue(ctx, "lift", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := claimWithin(t, q, time.Second); err != nil { // a delivery makes the consumer
			t.Fatal(err)
		}
		if err := q.Ack(ctx, id, json.RawMessage(`{}`)); err != nil {
			t.Fatal(err)
		}
		if names := consumers(t, c, cfg); !slices.Contains(names, cfg.Consumer) {
			t.Fatalf("consumers while %s runs: %v", cfg.Consumer, names)
		}
		_ = q.Close()
	}
	if names := consumers(t, c, cfg); len(names) != 0 {
		t.Fatalf("consumers after clean closes: %v", names)
	}
	cfg.Consumer = "crashed"
	dead := openRedis(t, cfg)
	id, err := dead.Enqueue(ctx, "lift", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := claimWithin(t, dead, time.Second); err != nil {
		t.Fatal(err)
	}
	// "crashed" holds the job and stops; "live" takes it over.
	cfg.Consumer = "live"
	live := openRedis(t, cfg)
	if j, err := claimWithin(t, live, 5*time.Second); err != nil || j.ID != id {
		t.Fatalf("take-over: %+v, %v", j, err)
	}
	time.Sleep(300 * time.Millisecond) // "crashed" idle past ClaimAfter
	cfg.Consumer = "restarted"
	openRedis(t, cfg)
	names := consumers(t, c, cfg)
	if slices.Contains(names, "crashed") || !slices.Contains(names, "live") {
		t.Errorf("consumers after a restart: %v; want the crashed one gone, the live one kept", names)
	}
	// A consumer holding a job is kept even by its own Close.
	_ = live.Close()
	if names := consumers(t, c, cfg); !slices.Contains(names, "live") {
		t.Errorf("consumers after closing one that holds a job: %v", names)
	}
}

// TestRedisShutdownHandsBack: a pool shutting down hands a job still
// running past its grace period back to the Redis queue, without spending
// a delivery, and another pool runs it at once (the released list, not the
// claim timeout).
func TestRedisShutdownHandsBack(t *testing.T) {
	c := redisClient(t)
	cfg := redisConfig(t, c)
	ctx := context.Background()
	q := openRedis(t, cfg)
	eng := testengine.New(t, dredge.WithTimeouts(-1, -1))
	first := workers.NewPool(eng, q, workers.PoolConfig{Concurrency: 1})
	first.Start()
	id, err := q.Enqueue(ctx, "benchmark", json.RawMessage(longTraining))
	if err != nil {
		t.Fatal(err)
	}
	wait(t, q, id, workers.Running)
	sctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if err := first.Shutdown(sctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown past its grace: %v", err)
	}
	handedBack := time.Now()
	if st, err := q.Status(ctx, id); err != nil || st.Status != workers.Pending || st.Attempts != 0 {
		t.Fatalf("after Shutdown: %+v, %v; want pending, no attempt spent", st, err)
	}
	other := openRedis(t, cfg)
	if j, err := claimWithin(t, other, time.Second); err != nil || j.ID != id || j.Attempt != 1 {
		t.Fatalf("claim after the hand-back: %+v, %v", j, err)
	}
	if d := time.Since(handedBack); d > time.Second {
		t.Errorf("claimed %v after the hand-back, want within 1s", d)
	}
	_ = other.Cancel(ctx, id)
}

// TestRedisLongJobNotStolen: a job running more than ten times ClaimAfter
// under a pool (which heartbeats it) is never taken by another pool
// waiting on the same queue.
func TestRedisLongJobNotStolen(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs a job for 2.5s")
	}
	c := redisClient(t)
	cfg := redisConfig(t, c)
	cfg.ClaimAfter = 200 * time.Millisecond
	ctx := context.Background()
	q := openRedis(t, cfg)
	holder := testengine.New(t, dredge.WithTimeouts(-1, -1))
	a := workers.NewPool(holder, q, workers.PoolConfig{Concurrency: 1, Heartbeat: 50 * time.Millisecond})
	a.Start()
	defer a.Shutdown(ctx)
	id, err := q.Enqueue(ctx, "benchmark", json.RawMessage(longTraining))
	if err != nil {
		t.Fatal(err)
	}
	wait(t, q, id, workers.Running)
	waiting := testengine.New(t, dredge.WithTimeouts(-1, -1))
	b := workers.NewPool(waiting, openRedis(t, cfg), workers.PoolConfig{Concurrency: 2, Heartbeat: 50 * time.Millisecond})
	b.Start()
	defer b.Shutdown(ctx)
	time.Sleep(2500 * time.Millisecond) // 12.5 × ClaimAfter
	st, err := q.Status(ctx, id)
	if err != nil || st.Status != workers.Running || st.Attempts != 1 {
		t.Errorf("the long job after 12.5 × ClaimAfter: %+v, %v; want running, attempt 1", st, err)
	}
	if n := waiting.Monitor().Snapshot().Counters["dredge_job_claims_total"]; n != 0 {
		t.Errorf("the waiting pool claimed %v jobs, want 0", n)
	}
	if err := q.Cancel(ctx, id); err != nil {
		t.Fatal(err)
	}
}

// TestRedisFrozen: Redis stopped with SIGSTOP for 10 s and then resumed:
// the pool's workers pick up the jobs enqueued meanwhile within a second
// of Redis answering again, with nothing lost.
func TestRedisFrozen(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: freezes redis-server for 10s")
	}
	srv := testredis.Start(t, 0)
	c := testredis.ClientAt(t, srv.URL())
	ctx := context.Background()
	q := openRedis(t, workers.RedisConfig{Client: c, Timeout: 500 * time.Millisecond, Poll: 100 * time.Millisecond})
	eng := testengine.New(t)
	p := workers.NewPool(eng, q, workers.PoolConfig{Concurrency: 2, Heartbeat: 100 * time.Millisecond})
	p.Start()
	defer p.Shutdown(ctx)
	before, err := q.Enqueue(ctx, "lift", json.RawMessage(`{"insight_text":"before"}`))
	if err != nil {
		t.Fatal(err)
	}
	wait(t, q, before, workers.Completed)

	srv.Signal(syscall.SIGSTOP)
	time.Sleep(10 * time.Second)
	// A producer with its own connection enqueues as Redis wakes up.
	enq := make(chan string, 1)
	go func() {
		opt, _ := rueidis.ParseURL(srv.URL())
		pc, err := rueidis.NewClient(opt)
		if err != nil {
			t.Error(err)
			close(enq)
			return
		}
		defer pc.Close()
		pq, err := workers.NewRedis(ctx, workers.RedisConfig{Client: pc, Timeout: 20 * time.Second})
		if err != nil {
			t.Error(err)
			close(enq)
			return
		}
		defer pq.Close()
		id, err := pq.Enqueue(ctx, "lift", json.RawMessage(`{"insight_text":"after"}`))
		if err != nil {
			t.Error(err)
		}
		enq <- id
	}()
	time.Sleep(50 * time.Millisecond)
	srv.Signal(syscall.SIGCONT)
	resumed := time.Now()
	id := <-enq
	if id == "" {
		t.Fatal("no job enqueued after the freeze")
	}
	for {
		st, err := q.Status(ctx, id)
		if err == nil && st.Status == workers.Completed {
			break
		}
		if time.Since(resumed) > time.Second {
			t.Fatalf("the job enqueued as Redis resumed is %+v (%v) 1s later; want completed", st, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("completed %v after Redis resumed", time.Since(resumed).Round(time.Millisecond))
}

// TestRedisTenantCounts: the count of each tenant's queued jobs in Redis
// follows the ways to end that only the Redis queue has: an entry deleted
// from the stream outside the queue, a claim lapsed past MaxDeliveries,
// and retries spent (each dead-lettered, with the job's tenant). Once
// every job has ended the hash of counts is gone, and the tenant has room
// for exactly MaxTenantJobs again. An idempotency key's Redis key names
// its tenant.
func TestRedisTenantCounts(t *testing.T) {
	c := redisClient(t)
	cfg := redisConfig(t, c)
	cfg.ClaimAfter = 100 * time.Millisecond
	cfg.MaxDeliveries = 1
	cfg.MaxTenantJobs = 2
	cfg.Retry = workers.RetryPolicy{Max: -1}
	ctx := context.Background()
	acme := dredge.WithTenant(ctx, "acme")
	q := openRedis(t, cfg)
	tag := strings.TrimSuffix(cfg.DeadLetterKey(), "dead")
	counts := func(want map[string]string, when string) {
		t.Helper()
		got, err := c.Do(ctx, c.B().Hgetall().Key(tag+"tenants").Build()).AsStrMap()
		if err != nil || !maps.Equal(got, want) {
			t.Fatalf("%s: counts %v, %v; want %v", when, got, err, want)
		}
	}
	enqueue := func(ctx context.Context) string {
		t.Helper()
		id, err := q.Enqueue(ctx, "lift", json.RawMessage(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	failed := func(id, why string) {
		t.Helper()
		if st, err := q.Status(acme, id); err != nil || st.Status != workers.Failed || !strings.Contains(st.Error, why) {
			t.Fatalf("job %s: %+v, %v; want failed, %q", id, st, err, why)
		}
	}

	// Deleted from the stream before any delivery.
	lost := enqueue(acme)
	enqueue(ctx)
	counts(map[string]string{"acme": "1", "": "1"}, "two tenants' jobs")
	msg, err := c.Do(ctx, c.B().Hget().Key(tag+"job:"+lost).Field("msg").Build()).ToString()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Do(ctx, c.B().Xdel().Key(tag+"stream").Id(msg).Build()).Error(); err != nil {
		t.Fatal(err)
	}
	j, err := claimWithin(t, q, time.Second) // the default tenant's; its scan finds the lost entry
	if err != nil || j.Tenant != "" {
		t.Fatalf("claimed %+v, %v; want the default tenant's job", j, err)
	}
	if err := q.Ack(ctx, j.ID, json.RawMessage(`{}`)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(cfg.ClaimAfter / 2) // past the next scan
	if j, err := claimWithin(t, q, 200*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("claimed %+v, %v; want nothing", j, err)
	}
	failed(lost, "deleted outside the queue")
	counts(map[string]string{}, "the lost job failed, the other completed")

	// A claim lapsed past MaxDeliveries.
	lapsed := enqueue(acme)
	dying := openRedis(t, cfg)
	if j, err := claimWithin(t, dying, time.Second); err != nil || j.ID != lapsed || j.Tenant != "acme" {
		t.Fatalf("claimed %+v, %v; want %s of acme", j, err, lapsed)
	}
	_ = dying.Close()
	counts(map[string]string{"acme": "1"}, "acme's job running")
	time.Sleep(cfg.ClaimAfter + 50*time.Millisecond)
	if j, err := claimWithin(t, q, 300*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("claimed %+v, %v; want nothing", j, err)
	}
	failed(lapsed, "deliveries")
	counts(map[string]string{}, "the lapsed job dead-lettered")

	// Retries spent (none allowed).
	retried := enqueue(acme)
	if j, err := claimWithin(t, q, time.Second); err != nil || j.ID != retried {
		t.Fatalf("claimed %+v, %v; want %s", j, err, retried)
	}
	if err := q.Fail(ctx, retried, dredge.CodeUnavailable, "down"); err != nil {
		t.Fatal(err)
	}
	failed(retried, "down")
	if n, err := c.Do(ctx, c.B().Exists().Key(tag+"tenants").Build()).AsInt64(); err != nil || n != 0 {
		t.Errorf("the hash of counts exists (%d, %v) with no job queued", n, err)
	}
	dead, err := deadLetters(c, cfg)
	if err != nil || len(dead) != 3 {
		t.Fatalf("dead letters %+v, %v; want 3", dead, err)
	}
	for _, d := range dead {
		if d.FieldValues["tenant"] != "acme" {
			t.Errorf("dead letter %+v, want tenant acme", d.FieldValues)
		}
	}

	if _, _, err := q.EnqueueOnce(acme, "order-42", "lift", nil); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Do(ctx, c.B().Exists().Key(tag+"key:4 acme:order-42").Build()).AsInt64(); err != nil || n != 1 {
		t.Errorf("acme's key order-42: EXISTS %d, %v; want its tenant in its Redis key", n, err)
	}
	enqueue(acme)
	if _, err := q.Enqueue(acme, "lift", nil); !errors.As(err, new(*workers.TenantLimitError)) {
		t.Errorf("a third job of acme: %v, want a TenantLimitError", err)
	}
	counts(map[string]string{"acme": "2"}, "acme at its limit")
}
