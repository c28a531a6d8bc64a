package workers_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dredge-cli/dredge/workers"
	"github.com/dredge-cli/dredge/workers/queuetest"
)

func TestMemoryQueue(t *testing.T) {
	queuetest.Run(t, func(t *testing.T, opt queuetest.Options) workers.Queue {
		q := workers.NewMemory(workers.MemoryConfig{Retry: opt.Retry, MaxTenantJobs: opt.MaxTenantJobs})
		t.Cleanup(func() { _ = q.Close() })
		return q
	})
}

// TestMemoryBounds checks back-pressure (a full queue refuses jobs, it
// does not grow) and the bound on finished jobs kept.
func TestMemoryBounds(t *testing.T) {
	ctx := context.Background()
	q := workers.NewMemory(workers.MemoryConfig{MaxPending: 3, MaxFinished: 2})
	defer q.Close()
	var ids []string
	for range 3 {
		id, err := q.Enqueue(ctx, "lift", nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if _, err := q.Enqueue(ctx, "lift", nil); !errors.Is(err, workers.ErrFull) {
		t.Fatalf("Enqueue past MaxPending: %v, want ErrFull", err)
	}
	for range 3 {
		j, err := q.Claim(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Ack(ctx, j.ID, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := q.Status(ctx, ids[0]); !errors.Is(err, workers.ErrNotFound) {
		t.Errorf("the oldest of 3 finished jobs with MaxFinished 2: %v, want ErrNotFound", err)
	}
	for _, id := range ids[1:] {
		if s, err := q.Status(ctx, id); err != nil || s.Status != workers.Completed {
			t.Errorf("job %s: %+v, %v", id, s, err)
		}
	}
	// Room again once jobs are claimed.
	if _, err := q.Enqueue(ctx, "lift", nil); err != nil {
		t.Errorf("Enqueue after the queue drained: %v", err)
	}
}

func TestValidID(t *testing.T) {
	q := workers.NewMemory(workers.MemoryConfig{})
	defer q.Close()
	id, err := q.Enqueue(context.Background(), "lift", nil)
	if err != nil || !workers.ValidID(id) {
		t.Fatalf("Enqueue made %q (%v), which ValidID refuses", id, err)
	}
	for _, bad := range []string{"", "0123", id + "0", strings.ToUpper(id), id[:31] + "g", "../" + id[3:]} {
		if workers.ValidID(bad) {
			t.Errorf("ValidID(%q) = true", bad)
		}
	}
}

// BenchmarkMemoryQueue measures a job's trip through the in-process queue
// alone, enqueue, claim and ack, by parallel goroutines.
func BenchmarkMemoryQueue(b *testing.B) {
	ctx := context.Background()
	q := workers.NewMemory(workers.MemoryConfig{})
	defer q.Close()
	params := []byte(`{"dredge_insight":"job 1","quasimoto_coords":[0.5,0.25],"string_modes":[1,2,3]}`)
	result := []byte(`{"success":true}`)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := q.Enqueue(ctx, "unified_inference", params); err != nil {
				b.Fatal(err)
			}
			j, err := q.Claim(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if err := q.Ack(ctx, j.ID, result); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
}

// TestMemoryWakeNotLost: a Claim woken for a job just as its context ends
// passes the job on to another waiting Claim; none is left pending while
// claimers sleep.
func TestMemoryWakeNotLost(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	ctx := context.Background()
	q := workers.NewMemory(workers.MemoryConfig{})
	defer q.Close()
	var claimed atomic.Int64
	claim := func(ctx context.Context) error {
		j, err := q.Claim(ctx)
		if err != nil {
			return err
		}
		claimed.Add(1)
		return q.Ack(ctx, j.ID, nil)
	}
	stop, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { // waits first, then after each job
		for claim(stop) == nil {
		}
	})
	defer wg.Wait()
	defer cancel()
	for i := range 100 {
		// A second Claim waits after the first; its context ends, and
		// before it runs again (one P) the job wakes it, the last to wait:
		// it must hand the job to the first.
		short, cancelShort := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { _ = claim(short); close(done) }()
		time.Sleep(2 * time.Millisecond)
		cancelShort()
		if _, err := q.Enqueue(ctx, "lift", nil); err != nil {
			t.Fatal(err)
		}
		<-done
		for deadline := time.Now().Add(2 * time.Second); claimed.Load() <= int64(i) && time.Now().Before(deadline); {
			time.Sleep(100 * time.Microsecond)
		}
		if n, _ := q.Depth(ctx); claimed.Load() <= int64(i) {
			t.Fatalf("job %d: %d pending while a Claim waits", i, n)
		}
	}
}
