package cache_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dredge-cli/dredge/cache"
	"github.com/dredge-cli/dredge/cache/cachetest"
)

func newFile(t testing.TB, cfg cache.FileConfig) *cache.File {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	f, err := cache.NewFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestFile(t *testing.T) {
	cachetest.Run(t, func(t *testing.T) cache.Cache { return newFile(t, cache.FileConfig{}) })
}

var entryName = regexp.MustCompile(`^[0-9a-f]{64}\.entry$`)

// entryFiles lists the files in dir, failing on any that is not an entry.
func entryFiles(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		if !entryName.MatchString(de.Name()) || !de.Type().IsRegular() {
			t.Errorf("unexpected file %q in cache dir", de.Name())
		}
		names = append(names, de.Name())
	}
	return names
}

func TestFileNoPathTraversal(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "cache")
	f := newFile(t, cache.FileConfig{Dir: dir})
	defer f.Close()
	keys := []string{"../escape", "../../escape", "/tmp/escape", "sub/dir/key", `..\escape`, "\x00"}
	for _, k := range keys {
		if err := f.Set(t.Context(), k, []byte("v"), 0); err != nil {
			t.Fatalf("Set(%q): %v", k, err)
		}
	}
	if n := len(entryFiles(t, dir)); n != len(keys) {
		t.Errorf("%d entry files, want %d", n, len(keys))
	}
	des, _ := os.ReadDir(root)
	if len(des) != 1 {
		t.Errorf("files outside the cache dir: %v", des)
	}
}

func TestFileCorrupt(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(b []byte) []byte
	}{
		{"empty", func(b []byte) []byte { return nil }},
		{"garbage", func(b []byte) []byte { return []byte("this is not a cache entry at all, just text") }},
		{"truncated header", func(b []byte) []byte { return b[:10] }},
		{"truncated value", func(b []byte) []byte { return b[:len(b)-1] }},
		{"extra byte", func(b []byte) []byte { return append(b, 0) }},
		{"flipped value bit", func(b []byte) []byte { b[len(b)-1] ^= 1; return b }},
		{"flipped expiry bit", func(b []byte) []byte { b[5] ^= 1; return b }},
		{"huge length", func(b []byte) []byte { copy(b[16:24], "\xff\xff\xff\xff\xff\xff\xff\xff"); return b }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFile(t, cache.FileConfig{})
			defer f.Close()
			ctx := t.Context()
			if err := f.Set(ctx, "key", []byte("a value of some length"), 0); err != nil {
				t.Fatal(err)
			}
			names := entryFiles(t, f.Dir())
			if len(names) != 1 {
				t.Fatalf("%d files, want 1", len(names))
			}
			path := filepath.Join(f.Dir(), names[0])
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, tc.damage(b), 0o600); err != nil {
				t.Fatal(err)
			}
			if v, err := f.Get(ctx, "key"); !errors.Is(err, cache.ErrNotFound) {
				t.Fatalf("Get of damaged entry = %q, %v; want ErrNotFound", v, err)
			}
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("damaged entry not removed: %v", err)
			}
			if s, _ := f.Stats(ctx); s.Errors != 1 || s.Misses != 1 {
				t.Errorf("Stats = %+v, want 1 error, 1 miss", s)
			}
			// The key works again.
			if err := f.Set(ctx, "key", []byte("new"), 0); err != nil {
				t.Fatal(err)
			}
			if v, err := f.Get(ctx, "key"); err != nil || string(v) != "new" {
				t.Errorf("Get after rewrite = %q, %v", v, err)
			}
		})
	}
}

func TestFileExpiredIsRemoved(t *testing.T) {
	f := newFile(t, cache.FileConfig{})
	defer f.Close()
	if err := f.Set(t.Context(), "k", []byte("v"), time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	if _, err := f.Get(t.Context(), "k"); !errors.Is(err, cache.ErrNotFound) {
		t.Fatalf("Get = %v, want ErrNotFound", err)
	}
	if n := len(entryFiles(t, f.Dir())); n != 0 {
		t.Errorf("%d files after expiry, want 0", n)
	}
}

func TestFileEvictsOldest(t *testing.T) {
	const entry = 1000 // value bytes; the file adds a header and the key
	f := newFile(t, cache.FileConfig{MaxBytes: 10 * entry})
	defer f.Close()
	ctx := t.Context()
	base := time.Now().Add(-time.Hour)
	for i := range 30 {
		key := fmt.Sprint("k", i)
		if err := f.Set(ctx, key, make([]byte, entry), cache.NoExpiry); err != nil {
			t.Fatal(err)
		}
		// Give each entry a distinct age, so "oldest" is well defined
		// whatever the file system's timestamp resolution.
		for _, name := range entryFiles(t, f.Dir()) {
			p := filepath.Join(f.Dir(), name)
			if fi, _ := os.Stat(p); fi != nil && fi.ModTime().After(base.Add(time.Minute)) {
				mt := base.Add(time.Duration(i) * time.Second)
				if err := os.Chtimes(p, mt, mt); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	var total int64
	for _, name := range entryFiles(t, f.Dir()) {
		fi, err := os.Stat(filepath.Join(f.Dir(), name))
		if err == nil {
			total += fi.Size()
		}
	}
	if total > 10*entry {
		t.Errorf("entries hold %d bytes, bound is %d", total, 10*entry)
	}
	if _, err := f.Get(ctx, "k29"); err != nil {
		t.Errorf("newest entry evicted: %v", err)
	}
	if _, err := f.Get(ctx, "k0"); !errors.Is(err, cache.ErrNotFound) {
		t.Errorf("oldest entry kept: %v", err)
	}
}

func TestFileLeavesOtherFiles(t *testing.T) {
	dir := t.TempDir()
	other := filepath.Join(dir, "README")
	if err := os.WriteFile(other, []byte("not a cache entry"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := newFile(t, cache.FileConfig{Dir: dir})
	defer f.Close()
	if err := f.Set(t.Context(), "k", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Clear(t.Context()); err != nil {
		t.Fatal(err)
	}
	if s, _ := f.Stats(t.Context()); s.Entries != 0 {
		t.Errorf("Stats.Entries = %d after Clear, want 0", s.Entries)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("Clear removed a file that is not an entry: %v", err)
	}
}

// TestFileSharedDir runs two caches on one directory from many goroutines
// and a second process writing the same keys. Each value names its key, so
// a torn or foreign value shows.
func TestFileSharedDir(t *testing.T) {
	dir := t.TempDir()
	a := newFile(t, cache.FileConfig{Dir: dir})
	b := newFile(t, cache.FileConfig{Dir: dir})
	defer a.Close()
	defer b.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	for w := range 8 {
		c := []*cache.File{a, b}[w%2]
		wg.Go(func() {
			for i := range 300 {
				key := fmt.Sprint("shared-", i%10)
				if i%3 == 0 {
					v := fmt.Appendf(nil, "%s=%d/%s", key, w, strings.Repeat("x", i))
					if err := c.Set(t.Context(), key, v, 0); err != nil {
						errc <- err
						return
					}
					continue
				}
				v, err := c.Get(t.Context(), key)
				if err == nil && !bytes.HasPrefix(v, []byte(key+"=")) {
					errc <- fmt.Errorf("Get(%q) = %.40q", key, v)
					return
				}
				if err != nil && !errors.Is(err, cache.ErrNotFound) {
					errc <- err
					return
				}
			}
		})
	}
	wg.Wait()
	if err := cmd.Wait(); err != nil {
		t.Errorf("helper process: %v\n%s", err, out.Bytes())
	}
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	for _, c := range []*cache.File{a, b} {
		if s, _ := c.Stats(t.Context()); s.Errors != 0 {
			t.Errorf("Stats.Errors = %d, want 0", s.Errors)
		}
	}
	entryFiles(t, dir) // no temporary files left behind
}

const helperEnv = "DREDGE_CACHE_FILE_HELPER"

// helperMain runs the second process of TestFileSharedDir: it writes and
// reads the shared keys and exits non-zero on a bad value.
func helperMain() bool {
	dir := os.Getenv(helperEnv)
	if dir == "" {
		return false
	}
	f, err := cache.NewFile(cache.FileConfig{Dir: dir})
	if err != nil {
		fmt.Println(err)
		os.Exit(2)
	}
	ctx := context.Background()
	for i := range 500 {
		key := fmt.Sprint("shared-", i%10)
		if err := f.Set(ctx, key, fmt.Appendf(nil, "%s=helper/%d", key, i), 0); err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		if v, err := f.Get(ctx, key); err == nil && !bytes.HasPrefix(v, []byte(key+"=")) {
			fmt.Printf("Get(%q) = %q\n", key, v)
			os.Exit(1)
		} else if err != nil && !errors.Is(err, cache.ErrNotFound) {
			fmt.Println(err)
			os.Exit(1)
		}
	}
	os.Exit(0)
	return true
}

func BenchmarkFileGet(b *testing.B) {
	for _, size := range []int{128, 4096} {
		b.Run(fmt.Sprint(size, "B"), func(b *testing.B) {
			f := newFile(b, cache.FileConfig{})
			defer f.Close()
			ctx := b.Context()
			if err := f.Set(ctx, "spectrum/v1/key", make([]byte, size), 0); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.Get(ctx, "spectrum/v1/key"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkFileSet(b *testing.B) {
	f := newFile(b, cache.FileConfig{})
	defer f.Close()
	ctx := b.Context()
	v := make([]byte, 1024)
	b.ReportAllocs()
	for b.Loop() {
		if err := f.Set(ctx, "spectrum/v1/key", v, 0); err != nil {
			b.Fatal(err)
		}
	}
}
