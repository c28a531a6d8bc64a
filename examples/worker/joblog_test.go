package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/dredge-cli/dredge/workers"
)

// TestJobLog checks the ledger lines: one "job started" per claim with
// its attempt, one "job ended" per outcome, "lost" for an outcome the
// queue refused.
func TestJobLog(t *testing.T) {
	var buf bytes.Buffer
	q := jobLog{Queue: workers.NewMemory(workers.MemoryConfig{}),
		log: slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	defer q.Close()
	ctx := t.Context()
	for range 2 {
		if _, err := q.Enqueue(ctx, "string_spectrum", json.RawMessage(`{"max_modes":2}`)); err != nil {
			t.Fatal(err)
		}
	}
	a, err := q.Claim(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Release(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		j, err := q.Claim(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Ack(ctx, j.ID, json.RawMessage(`{}`)); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Fail(ctx, a.ID, "internal", "again"); err == nil {
		t.Fatal("Fail of a finished job: no error")
	}
	var got []string
	for line := range strings.Lines(buf.String()) {
		var r struct{ Msg, Job, Outcome string }
		var attempt struct {
			Attempt int `json:"attempt"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		_ = json.Unmarshal([]byte(line), &attempt)
		who := "b"
		if r.Job == a.ID {
			who = "a"
		}
		got = append(got, strings.TrimSpace(strings.Join([]string{r.Msg, who, r.Outcome}, " ")))
		if r.Msg == "job started" && attempt.Attempt != 1 {
			t.Errorf("%s: attempt %d, want 1", line, attempt.Attempt)
		}
	}
	want := []string{"job started a", "job ended a handed back", "job started a", "job ended a completed",
		"job started b", "job ended b completed", "job ended a lost"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
