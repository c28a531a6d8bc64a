package workers_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/dredge-cli/dredge/internal/testredis"
	"github.com/dredge-cli/dredge/workers"
)

// The tests in this file check that the Redis queue's state on the server
// stays bounded: consumers do not pile up as workers restart, and the keys
// and memory of finished jobs go once their results expire. They run at a
// reduced size by default; QUEUE_SOAK=1 runs them at full size (1,000
// restarts, 1,000,000 jobs: a few minutes, so give go test -timeout 30m):
//
//	REDIS_URL=redis://127.0.0.1:6379/0 go test -run 'TestRedisConsumersBounded|TestRedisStateReturns' -v ./workers/
//	QUEUE_SOAK=1 REDIS_URL=redis://127.0.0.1:6379/0 go test -timeout 30m -run 'TestRedisConsumersBounded|TestRedisStateReturns' -v ./workers/

// soakSize returns full when QUEUE_SOAK is set (to anything but "" or
// "0"), else ci.
func soakSize(ci, full int) int {
	if v := os.Getenv("QUEUE_SOAK"); v != "" && v != "0" {
		return full
	}
	return ci
}

// TestRedisConsumersBounded: 1,000 worker restarts (200 without
// QUEUE_SOAK) on a queue that three live workers keep claiming from leave
// at most live + K consumers in the group, and every job completes.
//
// Each restart opens a queue under a fresh consumer name, as a new worker
// process does, and claims two jobs. In the first half of the restarts it
// then, in turn,
//   - acknowledges them and closes (a clean stop): its consumer must be
//     gone at once;
//   - stops without Close, still holding them (SIGKILL);
//   - closes while still holding them (a shutdown cut short).
//
// In the second half every restart stops without Close (a crash loop), so
// that only the starts remove consumers: a Close also removes the idle
// consumers that hold nothing, not only its own.
//
// The jobs a restart stopped holding lapse and are taken over by other
// consumers after ClaimAfter; its consumer is then removed by the next
// start. A consumer is never deleted while it holds entries (XGROUP
// DELCONSUMER would drop them), and a worker that stopped cannot be told
// from a slow live one before ClaimAfter. So the consumers at any moment
// are the live ones, the restart just made, and those that stopped holding
// jobs within the last few ClaimAfters: K counts the latter. At every
// restart the test checks that no consumer is left that stopped holding
// jobs both more than window = 5 × ClaimAfter and more than maxK = window /
// period = 20 restarts ago (restarts come at most one per period; on a
// slow machine they come slower, and a start is what removes consumers),
// and so that there are at most live + 1 + maxK. Once the restarts stop
// and a window has passed, one more start leaves only live consumers
// (K = 0), and their Close leaves none.
//
// A live worker with nothing to do is a consumer that holds nothing and
// whose idle time grows (Redis 7.0 refreshes it only when a read delivers
// entries, or at a claim): a start removes it too, harmlessly, and its
// next delivery makes it again. So "live" is an upper bound.
func TestRedisConsumersBounded(t *testing.T) {
	c := redisClient(t)
	cfg := redisConfig(t, c)
	const (
		claimAfter = 100 * time.Millisecond
		nLive      = 3
		period     = 25 * time.Millisecond // a restart at most every period
		window     = 5 * claimAfter
		maxK       = int(window / period)
		work       = 5 * time.Millisecond // each live worker's job
	)
	cfg.ClaimAfter = claimAfter
	cfg.MaxDeliveries = 1000 // a job taken by several crashing restarts in a row still completes
	restarts := soakSize(200, 1000)
	ctx := context.Background()
	start := time.Now()

	var ids []string // every job enqueued
	enqueue := func(q *workers.Redis, n int) {
		for range n {
			id, err := q.Enqueue(ctx, "lift", json.RawMessage(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
	}

	// The live workers: claim, work, acknowledge, until stopped. An Ack
	// refused because the claim lapsed meanwhile (a slow machine) is not a
	// failure: the job completes elsewhere, which the end checks.
	liveCtx, stopLive := context.WithCancel(ctx)
	var wg sync.WaitGroup
	live := make([]*workers.Redis, nLive)
	for i := range live {
		lc := cfg
		lc.Consumer = "live-" + strconv.Itoa(i)
		live[i] = openRedis(t, lc)
		wg.Go(func() {
			q := live[i]
			for {
				j, err := q.Claim(liveCtx)
				if liveCtx.Err() != nil {
					if j != nil {
						_ = q.Release(ctx, j.ID)
					}
					return
				}
				if err != nil {
					t.Errorf("live claim: %v", err)
					return
				}
				time.Sleep(work)
				if err := q.Ack(ctx, j.ID, json.RawMessage(`{"ok":true}`)); err != nil && !errors.Is(err, workers.ErrNotClaimed) {
					t.Errorf("live ack: %v", err)
					return
				}
			}
		})
	}
	defer func() {
		stopLive()
		wg.Wait()
	}()

	type stop struct {
		at      time.Time
		restart int
	}
	stopped := map[string]stop{} // the consumers that stopped holding jobs
	maxSeen, maxK0 := 0, 0
	for i := range restarts {
		next := time.Now().Add(period)
		if n, err := live[0].Depth(ctx); err != nil {
			t.Fatal(err)
		} else if n < 32 {
			enqueue(live[0], 32-n) // a backlog, so that the restart finds jobs
		}
		rc := cfg
		rc.Consumer = "restart-" + strconv.Itoa(i)
		q, err := workers.NewRedis(ctx, rc)
		if err != nil {
			t.Fatal(err)
		}
		var held []string
		for range 2 {
			j, err := claimWithin(t, q, 2*time.Second)
			if err != nil {
				t.Fatalf("restart %d: claim: %v", i, err)
			}
			held = append(held, j.ID)
		}
		kind := i % 3
		if i >= restarts/2 {
			kind = 1 // a crash loop: only the starts remove consumers
		}
		switch kind {
		case 0: // a clean stop
			for _, id := range held {
				if err := q.Ack(ctx, id, json.RawMessage(`{"ok":true}`)); err != nil && !errors.Is(err, workers.ErrNotClaimed) {
					t.Fatal(err)
				}
			}
			_ = q.Close()
		case 1: // killed: no Close
		case 2: // closed while holding its jobs
			_ = q.Close()
		}
		if kind != 0 || pendingOf(t, c, cfg)[rc.Consumer] > 0 {
			// A clean stop still owns the entries of the lapsed jobs its
			// claim took over and handed back for want of room (they wait
			// in the released list, first in line): it goes at a later
			// start, as a stopped consumer does.
			stopped[rc.Consumer] = stop{time.Now(), i}
		}

		names := consumers(t, c, cfg)
		maxSeen = max(maxSeen, len(names))
		k := 0
		for _, name := range names {
			if strings.HasPrefix(name, "live-") || name == rc.Consumer && kind != 0 {
				continue
			}
			st, ok := stopped[name]
			switch {
			case !ok:
				t.Fatalf("restart %d: consumer %s, closed cleanly holding nothing, is still there", i, name)
			case time.Since(st.at) > window && i-st.restart >= maxK:
				t.Fatalf("restart %d: consumer %s stopped holding jobs %v and %d restarts ago and is still there (window %v); consumers: %v",
					i, name, time.Since(st.at).Round(time.Millisecond), i-st.restart, window, names)
			}
			k++
		}
		maxK0 = max(maxK0, k)
		if len(names) > nLive+1+maxK {
			t.Fatalf("restart %d: %d consumers, more than %d live + 1 + K %d = %d", i, len(names), nLive, maxK, nLive+1+maxK)
		}
		time.Sleep(time.Until(next))
	}
	elapsed := time.Since(start)
	afterRestarts := len(consumers(t, c, cfg))

	// Every job completes, the lapsed ones taken over by the live workers.
	deadline := time.Now().Add(30 * time.Second)
	for _, id := range ids {
		for {
			st, err := live[0].Status(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if st.Status == workers.Completed {
				break
			}
			if st.Status.Final() || time.Now().After(deadline) {
				t.Fatalf("job %s: %+v; want completed", id, st)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	// A window later, one more start leaves only the live consumers.
	time.Sleep(window)
	rc := cfg
	rc.Consumer = "last"
	if q, err := workers.NewRedis(ctx, rc); err != nil {
		t.Fatal(err)
	} else {
		_ = q.Close()
	}
	quiet := consumers(t, c, cfg)
	if slices.ContainsFunc(quiet, func(n string) bool { return !strings.HasPrefix(n, "live-") }) {
		t.Errorf("consumers once the restarts stopped and a start ran: %v; want live ones only", quiet)
	}
	stopLive()
	wg.Wait()
	for _, q := range live {
		_ = q.Close()
	}
	if names := consumers(t, c, cfg); len(names) != 0 {
		t.Errorf("consumers after the live workers closed: %v; want none", names)
	}
	t.Logf("%d restarts in %v (one per %v at most, ClaimAfter %v), %d jobs completed: at most %d consumers after a restart (%d live + the new one + K, K ≤ %d allowed, at most %d seen); %d after the last restart, %d (live ones) once quiet, 0 once closed",
		restarts, elapsed.Round(time.Millisecond), period, cfg.ClaimAfter, len(ids), maxSeen, nLive, maxK, maxK0, afterRestarts, len(quiet))
}

// TestRedisStateReturns: after 1,000,000 jobs (50,000 without QUEUE_SOAK)
// run through a queue on a redis-server of its own, DBSIZE and INFO
// memory's used_memory come back within 5% of their values before, once
// the results and the idempotency keys have expired. ResultTTL is 2 s, or
// 20 s with QUEUE_SOAK, so that a few hundred thousand results are kept at
// once: Redis's tables grow, and must shrink back.
//
// The baseline is taken after a first 1,000 jobs have run and expired:
// they make the state that is created once, not per job (the pending
// counter, the worker's consumer, the scripts in the script cache, the
// connections). The slow log is emptied before each measurement: it keeps
// 128 entries (slowlog-max-len) whatever the number of jobs, and the
// queue's batched scripts land in it on a busy machine. Redis expires keys
// in the background, by sampling them in each 100 ms cycle, so the test
// waits for DBSIZE to come back, for up to ResultTTL + 30 s + a second per
// 20,000 jobs.
func TestRedisStateReturns(t *testing.T) {
	srv := testredis.Start(t, 0)
	c := testredis.ClientAt(t, srv.URL())
	ctx := context.Background()
	jobs := soakSize(50_000, 1_000_000)
	ttl := time.Duration(soakSize(2, 20)) * time.Second
	cfg := workers.RedisConfig{Client: c, Prefix: "dredge:state", ResultTTL: ttl, MaxPending: 10_000_000}
	q, err := workers.NewRedis(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	created := measure(t, c)

	runJobs(t, q, 1000)
	for deadline := time.Now().Add(ttl + 20*time.Second); countKeys(t, c, "{dredge:state}:job:*")+countKeys(t, c, "{dredge:state}:key:*") > 0; {
		if time.Now().After(deadline) {
			t.Fatalf("the first 1,000 jobs' keys have not expired after %v", ttl+20*time.Second)
		}
		time.Sleep(100 * time.Millisecond)
	}
	before := settle(t, c, measure(t, c).keys, 0)
	start := time.Now()
	runJobs(t, q, jobs)
	ran := time.Since(start)
	peak := measure(t, c)
	after := settle(t, c, before.keys, ttl+30*time.Second+time.Duration(jobs/20_000)*time.Second)
	expired := time.Since(start) - ran

	for _, k := range []string{"{dredge:state}:job:*", "{dredge:state}:key:*"} {
		if n := countKeys(t, c, k); n != 0 {
			t.Errorf("%d keys %s left once the results expired", n, k)
		}
	}
	within := func(what string, b, a int64) {
		if d := a - b; 100*d > 5*b || 100*d < -5*b {
			t.Errorf("%s: %d before, %d after %d jobs (%+.2f%%); want within 5%%", what, b, a, jobs, 100*float64(d)/float64(b))
		}
	}
	within("DBSIZE", before.keys, after.keys)
	within("used_memory", before.mem, after.mem)
	t.Logf("%d jobs in %v (%.0f/s), every fourth with an idempotency key: DBSIZE %d after NewRedis, %d before, %d at the end of the run, %d after (%v later); used_memory %d before, %d at the end of the run, %d after (%+.2f%%)",
		jobs, ran.Round(time.Millisecond), float64(jobs)/ran.Seconds(), created.keys, before.keys, peak.keys, after.keys, expired.Round(time.Millisecond),
		before.mem, peak.mem, after.mem, 100*float64(after.mem-before.mem)/float64(before.mem))
}

// runJobs runs n jobs through q: enqueued (every fourth with an
// idempotency key, which a second EnqueueOnce must find), claimed and
// acknowledged with a small result, 10,000 at a time by 128 goroutines.
// Every claim finds a job pending, so none waits in a blocking read.
func runJobs(t *testing.T, q *workers.Redis, n int) {
	t.Helper()
	ctx := context.Background()
	const goroutines, chunk = 128, 10_000
	each := func(m int, f func(i int) error) {
		var wg sync.WaitGroup
		errs := make(chan error, goroutines)
		for g := range goroutines {
			wg.Go(func() {
				for i := g; i < m; i += goroutines {
					if err := f(i); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	run := time.Now().UnixNano()
	for done := 0; done < n; done += chunk {
		m := min(chunk, n-done)
		each(m, func(i int) error {
			if i%4 != 0 {
				_, err := q.Enqueue(ctx, "lift", json.RawMessage(`{}`))
				return err
			}
			key := fmt.Sprintf("soak-%d-%d", run, done+i)
			id, added, err := q.EnqueueOnce(ctx, key, "lift", json.RawMessage(`{}`))
			if err != nil || !added {
				return fmt.Errorf("EnqueueOnce %s: %s, %v, %v", key, id, added, err)
			}
			if i%400 == 0 {
				again, added, err := q.EnqueueOnce(ctx, key, "lift", json.RawMessage(`{}`))
				if err != nil || added || again != id {
					return fmt.Errorf("EnqueueOnce %s again: %s, %v, %v; want %s, false", key, again, added, err, id)
				}
			}
			return nil
		})
		each(m, func(int) error {
			j, err := q.Claim(ctx)
			if err != nil {
				return err
			}
			return q.Ack(ctx, j.ID, json.RawMessage(`{"ok":true}`))
		})
	}
}

// serverState is what the memory test measures.
type serverState struct{ keys, mem int64 }

// measure reads DBSIZE and INFO memory's used_memory, after emptying the
// slow log.
func measure(t *testing.T, c rueidis.Client) serverState {
	t.Helper()
	ctx := context.Background()
	if err := c.Do(ctx, c.B().SlowlogReset().Build()).Error(); err != nil {
		t.Fatal(err)
	}
	keys, err := c.Do(ctx, c.B().Dbsize().Build()).AsInt64()
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Do(ctx, c.B().Info().Section("memory").Build()).ToString()
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			mem, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return serverState{keys, mem}
		}
	}
	t.Fatalf("no used_memory in INFO memory:\n%s", info)
	return serverState{}
}

// settle waits until DBSIZE is down to keys (the jobs' keys have expired),
// for up to limit, then a few more seconds for Redis to shrink its hash
// tables and free idle clients' buffers, and measures.
func settle(t *testing.T, c rueidis.Client, keys int64, limit time.Duration) serverState {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		s := measure(t, c)
		if s.keys <= keys {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("DBSIZE %d after %v, want %d: keys that do not expire", s.keys, limit, keys)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(3 * time.Second)
	return measure(t, c)
}

// countKeys counts the keys that match pattern (SCAN).
func countKeys(t *testing.T, c rueidis.Client, pattern string) int {
	t.Helper()
	n := 0
	for cursor := uint64(0); ; {
		e, err := c.Do(context.Background(), c.B().Scan().Cursor(cursor).Match(pattern).Count(1000).Build()).AsScanEntry()
		if err != nil {
			t.Fatal(err)
		}
		n += len(e.Elements)
		if cursor = e.Cursor; cursor == 0 {
			return n
		}
	}
}
