package workers_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/dredge-cli/dredge/workers"
	"github.com/dredge-cli/dredge/workers/queuetest"
)

func TestMemoryQueue(t *testing.T) {
	queuetest.Run(t, func(t *testing.T) workers.Queue {
		q := workers.NewMemory(workers.MemoryConfig{})
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
