package modelstore

import (
	"context"
	"errors"
	"testing"
)

// TestDirSyncFails makes the folder's sync fail after a write's rename:
// the new file is in place, and Version must report its version, not the
// one remembered from before.
func TestDirSyncFails(t *testing.T) {
	d, err := NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id, err := d.NewID(ctx, "siren")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Create(ctx, &Model{ID: id, Type: "siren", Values: []float64{1}}); err != nil {
		t.Fatal(err)
	}
	if v, err := d.Version(ctx, id); err != nil || v != 1 {
		t.Fatalf("Version = %d, %v; want 1", v, err)
	}
	failing := errors.New("sync failed")
	sync := syncDir
	syncDir = func(string) error { return failing }
	_, err = d.Update(ctx, id, []float64{2})
	syncDir = sync
	if !errors.Is(err, failing) {
		t.Fatalf("Update = %v, want the sync's error", err)
	}
	m, err := d.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := d.Version(ctx, id); err != nil || v != m.Version {
		t.Fatalf("Version = %d, %v; the stored file has version %d", v, err, m.Version)
	}
}

// TestMemoryCloseKeeps checks that Close keeps the models, as Store.Close
// promises, and fails later calls.
func TestMemoryCloseKeeps(t *testing.T) {
	s := NewMemory()
	ctx := context.Background()
	id, _ := s.NewID(ctx, "siren")
	if _, err := s.Create(ctx, &Model{ID: id, Type: "siren", Values: []float64{1}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, id); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get after Close = %v, want ErrClosed", err)
	}
	if len(s.models) != 1 {
		t.Fatalf("%d models after Close, want 1", len(s.models))
	}
}
