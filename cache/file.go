package cache

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// FileConfig configures [NewFile]. The zero value is a 1 GiB cache in
// os.UserCacheDir()/dredge (os.TempDir()/dredge-cache where there is no user
// cache directory) with a one-hour default TTL.
type FileConfig struct {
	// Dir holds the entries. It is created (mode 0700) when missing.
	// Several caches, in one process or several, may share it.
	Dir string
	// MaxBytes bounds the total size of the entry files: when a Set takes
	// the total over it, the oldest entries (by modification time) are
	// removed until the total is at most 90% of MaxBytes. 0 means 1 GiB;
	// negative means no bound.
	MaxBytes int64
	// DefaultTTL is the TTL of a Set with ttl 0. 0 means [DefaultTTL]
	// (one hour); negative means no expiry.
	DefaultTTL time.Duration
	// Sync makes Set fsync each entry before renaming it into place.
	// Without it a crash can leave a truncated entry, which Get detects
	// (checksum) and treats as a miss.
	Sync bool
	// Logger receives I/O errors and corrupt entries, at most one record
	// per LogInterval. nil discards them.
	Logger *slog.Logger
	// LogInterval is the least time between two logged errors. 0 means 10s.
	LogInterval time.Duration
}

// DefaultFileBytes is the size bound of a file cache whose
// FileConfig.MaxBytes is 0.
const DefaultFileBytes = 1 << 30

// File is a cache of one file per entry in a directory.
//
// An entry's file name is the SHA-256 of its key in hex plus ".entry", so a
// key cannot name a path outside the directory. A file holds a header (magic,
// expiry, lengths, CRC-32C checksum), the key and the value. Set writes a
// temporary file and renames it over the entry, so readers (in this process
// or another) see the old or the new entry, never a part. A file that is
// truncated, corrupt or expired is a miss and is removed.
//
// All methods are safe for concurrent use by multiple goroutines, and
// several processes may share one directory. Races between processes are
// benign: at worst an entry written concurrently with a removal is lost.
type File struct {
	dir        string
	maxBytes   int64
	defaultTTL time.Duration
	sync       bool
	log        *errLogger
	c          counters

	approx  atomic.Int64 // approximate bytes in dir; corrected by each scan
	evictMu sync.Mutex   // one eviction scan at a time in this process
	closed  atomic.Bool
}

var _ Cache = (*File)(nil)

const (
	fileExt       = ".entry"
	fileTmpPrefix = ".tmp-"
	fileMagic     = "DRC1"
	fileHeaderLen = 4 + 8 + 4 + 8 + 4 // magic, expiry, key length, value length, crc
	staleTmpAge   = 10 * time.Minute  // temporary files older than this are debris
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// DefaultFileDir returns the directory a zero FileConfig uses.
func DefaultFileDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "dredge")
	}
	return filepath.Join(os.TempDir(), "dredge-cache")
}

// NewFile creates the directory if needed and returns a cache on it. It
// scans the directory once to learn its size, evicting the oldest entries if
// it is over the bound.
func NewFile(cfg FileConfig) (*File, error) {
	dir := cfg.Dir
	if dir == "" {
		dir = DefaultFileDir()
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cache: file: %w", err)
	}
	maxBytes := cfg.MaxBytes
	if maxBytes == 0 {
		maxBytes = DefaultFileBytes
	}
	f := &File{
		dir:        dir,
		maxBytes:   maxBytes,
		defaultTTL: defaultTTL(cfg.DefaultTTL),
		sync:       cfg.Sync,
		log:        newErrLogger(cfg.Logger, cfg.LogInterval),
	}
	if _, err := f.scan(true); err != nil {
		return nil, fmt.Errorf("cache: file: %w", err)
	}
	return f, nil
}

// Dir returns the directory holding the entries.
func (f *File) Dir() string { return f.dir }

func (f *File) path(key string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(f.dir, hex.EncodeToString(sum[:])+fileExt)
}

func isEntryName(name string) bool {
	h, ok := strings.CutSuffix(name, fileExt)
	if !ok || len(h) != 2*sha256.Size {
		return false
	}
	for i := range len(h) {
		if c := h[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func (f *File) check(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkKey(key); err != nil {
		return err
	}
	if f.closed.Load() {
		return ErrClosed
	}
	return nil
}

func (f *File) fail(op string, err error) error {
	f.c.errors.Add(1)
	f.log.log("cache: file "+op+" failed", err, slog.String("dir", f.dir))
	return fmt.Errorf("cache: file %s: %w", op, err)
}

// Get reads the entry file of key. A missing, expired, truncated or corrupt
// file is ErrNotFound; the last three are removed. Get is safe for
// concurrent use, also with other processes.
func (f *File) Get(ctx context.Context, key string) ([]byte, error) {
	if err := f.check(ctx, key); err != nil {
		return nil, err
	}
	p := f.path(key)
	data, err := os.ReadFile(p)
	if err != nil {
		f.c.misses.Add(1)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, ErrNotFound
		}
		return nil, f.fail("read", err)
	}
	k, v, exp, err := decodeEntry(data)
	switch {
	case err != nil:
		f.c.errors.Add(1)
		f.log.log("cache: file entry corrupt, removed", err, slog.String("path", p))
		_ = os.Remove(p)
	case exp != 0 && time.Now().UnixNano() >= exp:
		_ = os.Remove(p)
	case k != key: // a SHA-256 collision: not our entry
	default:
		f.c.hits.Add(1)
		return v, nil
	}
	f.c.misses.Add(1)
	return nil, ErrNotFound
}

// Set writes a temporary file in the directory and renames it over the
// entry file. It is safe for concurrent use, also with other processes;
// when two Sets race, one of the two values wins whole.
func (f *File) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := f.check(ctx, key); err != nil {
		return err
	}
	var exp int64 // 0: no expiry
	if ttl = effectiveTTL(ttl, f.defaultTTL); ttl > 0 {
		if now := time.Now().UnixNano(); int64(ttl) < math.MaxInt64-now {
			exp = now + int64(ttl)
		} // else beyond the year 2262: no expiry
	}
	data := encodeEntry(key, value, exp)
	if err := f.writeAtomic(f.path(key), data); err != nil {
		return f.fail("write", err)
	}
	if f.maxBytes > 0 && f.approx.Add(int64(len(data))) > f.maxBytes {
		if _, err := f.scan(true); err != nil {
			return f.fail("evict", err)
		}
	}
	return nil
}

func (f *File) writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(f.dir, fileTmpPrefix+"*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if err == nil && f.sync {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
	}
	return err
}

// Delete removes the entry file of key. It is safe for concurrent use.
func (f *File) Delete(ctx context.Context, key string) error {
	if err := f.check(ctx, key); err != nil {
		return err
	}
	if err := os.Remove(f.path(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return f.fail("delete", err)
	}
	return nil
}

// Clear removes every entry file in the directory (other files are left
// alone). It is safe for concurrent use; entries that concurrent Sets write
// while it runs may survive.
func (f *File) Clear(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if f.closed.Load() {
		return ErrClosed
	}
	des, err := os.ReadDir(f.dir)
	if err != nil {
		return f.fail("clear", err)
	}
	var errs []error
	for _, de := range des {
		if !isEntryName(de.Name()) {
			continue
		}
		if err := os.Remove(filepath.Join(f.dir, de.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	f.approx.Store(0)
	if err := errors.Join(errs...); err != nil {
		return f.fail("clear", err)
	}
	return nil
}

// Stats counts the entry files in the directory (expired ones not yet
// removed included). It is safe for concurrent use.
func (f *File) Stats(ctx context.Context) (Stats, error) {
	if err := ctx.Err(); err != nil {
		return Stats{}, err
	}
	if f.closed.Load() {
		return Stats{}, ErrClosed
	}
	n, err := f.scan(false)
	if err != nil {
		return f.c.stats(BackendFile, -1, f.defaultTTL), f.fail("stats", err)
	}
	return f.c.stats(BackendFile, n, f.defaultTTL), nil
}

// Close marks the cache closed; the directory and its entries stay. It is
// idempotent and safe for concurrent use.
func (f *File) Close() error {
	f.closed.Store(true)
	return nil
}

type fileInfo struct {
	name string
	size int64
	mod  time.Time
}

// scan walks the directory, removes stale temporary files and returns the
// number of entries. With evict, it also corrects the size estimate and, if
// the entries are over the bound, removes the oldest down to 90% of it.
func (f *File) scan(evict bool) (int64, error) {
	if evict {
		if !f.evictMu.TryLock() {
			return -1, nil // another goroutine is scanning
		}
		defer f.evictMu.Unlock()
	}
	des, err := os.ReadDir(f.dir)
	if err != nil {
		return -1, err
	}
	var (
		entries []fileInfo
		total   int64
		now     = time.Now()
	)
	for _, de := range des {
		name := de.Name()
		tmp := strings.HasPrefix(name, fileTmpPrefix)
		if !tmp && !isEntryName(name) {
			continue
		}
		if !evict && !tmp {
			entries = append(entries, fileInfo{})
			continue
		}
		info, err := de.Info()
		if err != nil {
			continue // removed since ReadDir
		}
		if tmp {
			if now.Sub(info.ModTime()) > staleTmpAge {
				_ = os.Remove(filepath.Join(f.dir, name))
			}
			continue
		}
		entries = append(entries, fileInfo{name: name, size: info.Size(), mod: info.ModTime()})
		total += info.Size()
	}
	if !evict {
		return int64(len(entries)), nil
	}
	n := int64(len(entries))
	if f.maxBytes > 0 && total > f.maxBytes {
		slices.SortFunc(entries, func(a, b fileInfo) int { return a.mod.Compare(b.mod) })
		low := f.maxBytes / 10 * 9
		for _, e := range entries {
			if total <= low {
				break
			}
			if err := os.Remove(filepath.Join(f.dir, e.name)); err == nil || errors.Is(err, fs.ErrNotExist) {
				total -= e.size
				n--
			}
		}
	}
	f.approx.Store(total)
	return n, nil
}

func encodeEntry(key string, value []byte, exp int64) []byte {
	b := make([]byte, fileHeaderLen, fileHeaderLen+len(key)+len(value))
	copy(b, fileMagic)
	binary.BigEndian.PutUint64(b[4:], uint64(exp))
	binary.BigEndian.PutUint32(b[12:], uint32(len(key)))
	binary.BigEndian.PutUint64(b[16:], uint64(len(value)))
	b = append(b, key...)
	b = append(b, value...)
	crc := crc32.Update(0, crcTable, b[4:24])
	crc = crc32.Update(crc, crcTable, b[fileHeaderLen:])
	binary.BigEndian.PutUint32(b[24:], crc)
	return b
}

var errCorrupt = errors.New("corrupt entry")

// decodeEntry parses an entry file; the value aliases data.
func decodeEntry(data []byte) (key string, value []byte, exp int64, err error) {
	if len(data) < fileHeaderLen || string(data[:4]) != fileMagic {
		return "", nil, 0, errCorrupt
	}
	exp = int64(binary.BigEndian.Uint64(data[4:]))
	kl := uint64(binary.BigEndian.Uint32(data[12:]))
	vl := binary.BigEndian.Uint64(data[16:])
	if rest := uint64(len(data) - fileHeaderLen); kl > rest || vl != rest-kl {
		return "", nil, 0, errCorrupt
	}
	crc := crc32.Update(0, crcTable, data[4:24])
	crc = crc32.Update(crc, crcTable, data[fileHeaderLen:])
	if crc != binary.BigEndian.Uint32(data[24:]) {
		return "", nil, 0, errCorrupt
	}
	body := data[fileHeaderLen:]
	return string(body[:kl]), body[kl:], exp, nil
}
