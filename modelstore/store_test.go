package modelstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dredge-cli/dredge/internal/testredis"
	"github.com/dredge-cli/dredge/modelstore"
	"github.com/dredge-cli/dredge/modelstore/storetest"
)

func TestMemory(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		New:    func(*testing.T) modelstore.Store { return modelstore.NewMemory() },
		Reopen: func(_ *testing.T, s modelstore.Store) modelstore.Store { return s },
	})
}

func TestDir(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		New: func(t *testing.T) modelstore.Store {
			d, err := modelstore.NewDir(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			return d
		},
		Reopen: func(t *testing.T, s modelstore.Store) modelstore.Store {
			d, err := modelstore.NewDir(s.(*modelstore.Dir).Path())
			if err != nil {
				t.Fatal(err)
			}
			return d
		},
		Durable: true,
	})
}

const redisSkip = "REDIS_URL not set: start redis-server (redis-server --port 6399 --save \"\" --daemonize yes) and set REDIS_URL=redis://127.0.0.1:6399/0 to run"

var prefixSeq atomic.Int64

// newRedis returns a store on REDIS_URL with a unique prefix whose keys
// are deleted when the test ends, or skips the test.
func newRedis(t *testing.T, prefix string) *modelstore.Redis {
	t.Helper()
	url := os.Getenv("REDIS_URL")
	if url == "" {
		t.Skip(redisSkip)
	}
	if prefix == "" {
		prefix = fmt.Sprintf("dredge-test:models:%d:%d:%d:", os.Getpid(), time.Now().UnixNano(), prefixSeq.Add(1))
		t.Cleanup(func() { deleteKeys(t, url, prefix) })
	}
	r, err := modelstore.NewRedis(modelstore.RedisConfig{URL: url, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// deleteKeys removes the keys of a prefix.
func deleteKeys(t *testing.T, url, prefix string) {
	testredis.DeleteKeysAt(t, url, "{"+prefix+"}*")
}

func TestRedis(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		New: func(t *testing.T) modelstore.Store { return newRedis(t, "") },
		Reopen: func(t *testing.T, s modelstore.Store) modelstore.Store {
			return newRedis(t, s.(*modelstore.Redis).Prefix())
		},
		Durable: true,
	})
}

// TestRedisDown checks that a server that does not answer is
// ErrUnavailable, at once on the calls that follow, and that the store
// opens while it is down.
func TestRedisDown(t *testing.T) {
	r, err := modelstore.NewRedis(modelstore.RedisConfig{URL: "redis://127.0.0.1:1/0", RetryInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	for i := range 2 {
		start := time.Now()
		_, err := r.Version(ctx, "quasimoto_1d_0")
		if !errors.Is(err, modelstore.ErrUnavailable) {
			t.Fatalf("call %d: Version with the server down = %v, want ErrUnavailable", i, err)
		}
		if i == 1 && time.Since(start) > 50*time.Millisecond {
			t.Fatalf("the second call tried the server again (%v) within RetryInterval", time.Since(start))
		}
	}
	if err := r.Ping(ctx); !errors.Is(err, modelstore.ErrUnavailable) {
		t.Fatalf("Ping with the server down = %v, want ErrUnavailable", err)
	}
}

func TestRedisConfig(t *testing.T) {
	for _, cfg := range []modelstore.RedisConfig{
		{Prefix: "a{b}"},
		{URL: "http://user:secret@host"},
	} {
		_, err := modelstore.NewRedis(cfg)
		if !errors.Is(err, modelstore.ErrInvalidArgument) {
			t.Errorf("NewRedis(%+v) = %v, want ErrInvalidArgument", cfg, err)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("the error repeats the password: %v", err)
		}
	}
}

// TestDirDamaged checks that a model file whose bytes were changed, or
// that was cut short, is reported as ErrUnavailable and never served.
func TestDirDamaged(t *testing.T) {
	dir := t.TempDir()
	d, err := modelstore.NewDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id, _ := d.NewID(ctx, "siren")
	if _, err := d.Create(ctx, &modelstore.Model{ID: id, Type: "siren", Values: []float64{1, 2, 3}}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "models", id+".model")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string][]byte{
		"flipped": append(append([]byte(nil), b[:len(b)-10]...), append([]byte{b[len(b)-10] ^ 1}, b[len(b)-9:]...)...),
		"cut":     b[:len(b)/2],
		"empty":   {},
	} {
		if err := os.WriteFile(path, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		if m, err := d.Get(ctx, id); !errors.Is(err, modelstore.ErrUnavailable) {
			t.Errorf("%s file: Get = %+v, %v; want ErrUnavailable", name, m, err)
		}
	}
}

// TestDirTemps checks that the first open of a directory in the process
// removes a crash's temporary files, and that a later open leaves them: a
// Dir already open may be about to rename one.
func TestDirTemps(t *testing.T) {
	dir := t.TempDir()
	tmp := filepath.Join(dir, "models", ".tmp-123")
	tenantTmp := filepath.Join(dir, "counters", "acme", ".tmp-456")
	for _, p := range []string{tmp, tenantTmp} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("half"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := modelstore.NewDir(dir); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{tmp, tenantTmp} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("temporary file %s left after the first open: %v", p, err)
		}
	}
	if err := os.WriteFile(tmp, []byte("being written"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := modelstore.NewDir(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp); err != nil {
		t.Fatalf("a second open removed a live temporary file: %v", err)
	}
}

// TestDirTenantLayout checks where a tenant's models lie: in a folder of
// their own, which the default tenant's list passes over.
func TestDirTenantLayout(t *testing.T) {
	dir := t.TempDir()
	s, err := modelstore.NewDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	// A tenant whose name looks like a model file.
	for _, tenant := range []string{"acme", "siren_0.model"} {
		id, err := s.NewID(ctx, tenant+"/siren")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Create(ctx, &modelstore.Model{ID: id, Type: "siren", Values: []float64{1}}); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{filepath.Join(dir, "models", tenant, "siren_0.model"), filepath.Join(dir, "counters", tenant, "siren")} {
			if _, err := os.Stat(p); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
		}
	}
	if l, err := s.List(ctx, ""); err != nil || len(l) != 0 {
		t.Fatalf("the default tenant's List = %v, %v; want none", l, err)
	}
}

// TestRedisCluster runs the suite on a Redis Cluster of three masters: a
// store's keys share its hash tag, so its scripts run on one node.
func TestRedisCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts a three-node Redis Cluster")
	}
	url := testredis.StartCluster(t, 3)
	open := func(t *testing.T, prefix string) *modelstore.Redis {
		r, err := modelstore.NewRedis(modelstore.RedisConfig{URL: url, Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	storetest.Run(t, storetest.Backend{
		New: func(t *testing.T) modelstore.Store {
			return open(t, fmt.Sprintf("dredge-cluster:models:%d:", prefixSeq.Add(1)))
		},
		Reopen: func(t *testing.T, s modelstore.Store) modelstore.Store {
			return open(t, s.(*modelstore.Redis).Prefix())
		},
		Durable: true,
	})
}
