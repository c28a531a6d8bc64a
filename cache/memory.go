package cache

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/ristretto/v2"
)

// MemoryConfig configures [NewMemory]. The zero value is a 64 MiB cache with
// a one-hour default TTL.
type MemoryConfig struct {
	// MaxBytes bounds the total cost of the entries: the sum of key and
	// value lengths plus a small per-entry overhead. 0 means 64 MiB.
	MaxBytes int64
	// NumCounters is the number of admission-frequency counters ristretto
	// keeps, ideally ten times the number of entries expected when full.
	// 0 means MaxBytes/100 (entries of about 1 KiB), at least 1000.
	NumCounters int64
	// DefaultTTL is the TTL of a Set with ttl 0. 0 means [DefaultTTL]
	// (one hour); negative means no expiry.
	DefaultTTL time.Duration
}

// DefaultMemoryBytes is the size bound of a memory cache whose
// MemoryConfig.MaxBytes is 0.
const DefaultMemoryBytes = 64 << 20

// Memory is an in-process cache on github.com/dgraph-io/ristretto/v2,
// bounded by cost (bytes) with TinyLFU admission and sampled-LFU eviction.
// When it is full, a new entry can be rejected by the admission policy in
// favour of entries used more often: Set still returns nil.
//
// All methods are safe for concurrent use.
type Memory struct {
	rc         *ristretto.Cache[string, memEntry]
	defaultTTL time.Duration
	c          counters
	pending    pending

	mu     sync.RWMutex // held for writing by Clear and Close
	closed atomic.Bool
}

// ristretto applies a Set of a new key later, on its own goroutine, and
// waiting for it (ristretto's Wait) costs a round trip through that
// goroutine, which under load costs more than the rest of a Set. So a
// Memory keeps the entries it has handed to ristretto in a small map that
// Get also looks in, and waits for ristretto only once every drainEvery
// Sets, after which the entries handed over before the wait are dropped
// from the map: ristretto has stored or rejected them by then.
type pending struct {
	mu      sync.RWMutex
	entries map[string]pendingEntry
	seq     uint64 // Sets so far
}

type pendingEntry struct {
	memEntry
	seq     uint64
	expires time.Time // zero: no expiry
}

// drainEvery is the number of Sets between two waits for ristretto.
const drainEvery = 256

// put records e, handed to ristretto, and returns its sequence number.
func (p *pending) put(e memEntry, expires time.Time) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seq++
	p.entries[e.key] = pendingEntry{memEntry: e, seq: p.seq, expires: expires}
	return p.seq
}

// get returns the pending entry of key, if any and not expired.
func (p *pending) get(key string) (memEntry, bool) {
	p.mu.RLock()
	e, ok := p.entries[key]
	p.mu.RUnlock()
	if !ok || (!e.expires.IsZero() && !time.Now().Before(e.expires)) {
		return memEntry{}, false
	}
	return e.memEntry, true
}

// has reports whether key has an entry ristretto may not have applied yet,
// expired or not.
func (p *pending) has(key string) bool {
	p.mu.RLock()
	_, ok := p.entries[key]
	p.mu.RUnlock()
	return ok
}

// last returns the sequence number of the latest entry recorded.
func (p *pending) last() uint64 {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.seq
}

func (p *pending) clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.entries)
}

// drop forgets key's entry.
func (p *pending) drop(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.entries, key)
}

// dropThrough forgets the entries recorded up to sequence number seq.
func (p *pending) dropThrough(seq uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, e := range p.entries {
		if e.seq <= seq {
			delete(p.entries, k)
		}
	}
}

type memEntry struct {
	key     string // checked on Get, so a 128-bit hash collision is a miss
	value   []byte
	decoded any // stored beside value by SetValue
}

// memEntryOverhead approximates the bytes an entry costs beyond its key and
// value (the entry, the slice header, ristretto's item).
const memEntryOverhead = 64

var (
	_ Cache      = (*Memory)(nil)
	_ ValueCache = (*Memory)(nil)
)

// NewMemory returns an empty memory cache. It fails only when ristretto
// rejects the configuration (a negative MaxBytes or NumCounters).
func NewMemory(cfg MemoryConfig) (*Memory, error) {
	if cfg.MaxBytes < 0 || cfg.NumCounters < 0 {
		return nil, fmt.Errorf("cache: memory: negative MaxBytes or NumCounters: %w", ErrInvalidArgument)
	}
	maxBytes := cfg.MaxBytes
	if maxBytes == 0 {
		maxBytes = DefaultMemoryBytes
	}
	counters := cfg.NumCounters
	if counters == 0 {
		counters = max(maxBytes/100, 1000)
	}
	rc, err := ristretto.NewCache(&ristretto.Config[string, memEntry]{
		NumCounters:        counters,
		MaxCost:            maxBytes,
		BufferItems:        64,
		IgnoreInternalCost: true, // the cost below already counts overhead
	})
	if err != nil {
		return nil, fmt.Errorf("cache: memory: %w", err)
	}
	return &Memory{
		rc:         rc,
		defaultTTL: defaultTTL(cfg.DefaultTTL),
		pending:    pending{entries: make(map[string]pendingEntry)},
	}, nil
}

// Get returns a copy of the value under key or ErrNotFound. It is safe for
// concurrent use; it takes a read lock only, shared with Set and Delete.
func (m *Memory) Get(ctx context.Context, key string) ([]byte, error) {
	v, err := m.GetShared(ctx, key)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(v), nil
}

// GetShared is Get without the copy: the returned slice is the stored value
// itself and must not be modified.
func (m *Memory) GetShared(ctx context.Context, key string) ([]byte, error) {
	v, _, err := m.GetValue(ctx, key)
	return v, err
}

// GetValue is GetShared that also returns the value SetValue stored beside
// the bytes (nil for an entry stored by Set). It implements [ValueCache].
func (m *Memory) GetValue(ctx context.Context, key string) ([]byte, any, error) {
	if err := m.enter(ctx, key); err != nil {
		return nil, nil, err
	}
	defer m.mu.RUnlock()
	// pending first: an entry leaves it only after ristretto has stored
	// (or rejected) it, so a miss there is a lookup in ristretto's final
	// state. In the other order a concurrent settle could drop an entry
	// between the two lookups, and a Get right after its Set would miss.
	e, ok := m.pending.get(key)
	if !ok {
		e, ok = m.rc.Get(key)
	}
	if !ok || e.key != key {
		m.c.misses.Add(1)
		return nil, nil, ErrNotFound
	}
	m.c.hits.Add(1)
	return e.value, e.decoded, nil
}

// enter checks ctx and key and takes the read lock of a call on an open
// cache; when it returns nil the caller must release m.mu.RUnlock.
func (m *Memory) enter(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkKey(key); err != nil {
		return err
	}
	m.mu.RLock()
	if m.closed.Load() {
		m.mu.RUnlock()
		return ErrClosed
	}
	return nil
}

// Set stores a copy of value; the next Get sees it. It is safe for
// concurrent use; of concurrent Sets of one key, any may win.
func (m *Memory) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	v := make([]byte, len(value))
	copy(v, value)
	return m.SetValue(ctx, key, v, nil, ttl)
}

// SetValue is Set storing body itself, and value beside it: the caller
// hands both over and must not modify them afterwards. The cost counted is
// the key's and body's length. It implements [ValueCache].
func (m *Memory) SetValue(ctx context.Context, key string, body []byte, value any, ttl time.Duration) error {
	v := body
	if err := m.enter(ctx, key); err != nil {
		return err
	}
	defer m.mu.RUnlock()
	cost := int64(len(key)+len(v)) + memEntryOverhead
	ttl = effectiveTTL(ttl, m.defaultTTL)
	var expires time.Time
	if ttl > 0 {
		expires = time.Now().Add(ttl)
	}
	e := memEntry{key: key, value: v, decoded: value}
	if m.pending.has(key) {
		// ristretto keeps the first of two new entries of a key it has
		// not stored yet: let it store the earlier one, so that this Set
		// replaces it in place.
		m.settle()
	}
	if !m.rc.SetWithTTL(key, e, cost, ttl) {
		return nil // dropped (ristretto's buffer was full) or larger than the cache
	}
	// Recorded after ristretto has the entry: a wait that starts later
	// covers it, so dropping it then is safe.
	if m.pending.put(e, expires)%drainEvery == 0 {
		m.settle()
	}
	return nil
}

// settle waits until ristretto has applied every Set recorded so far and
// forgets their pending entries.
func (m *Memory) settle() {
	seq := m.pending.last()
	m.rc.Wait()
	m.pending.dropThrough(seq)
}

// Delete removes key. It is safe for concurrent use.
func (m *Memory) Delete(ctx context.Context, key string) error {
	if err := m.enter(ctx, key); err != nil {
		return err
	}
	defer m.mu.RUnlock()
	// A Set of key ristretto has not applied yet would be applied after
	// the delete takes effect, and undo it. Every such Set is pending.
	if m.pending.has(key) {
		m.settle()
	}
	m.rc.Del(key)
	m.pending.drop(key)
	return nil
}

// Clear removes every entry. It is safe for concurrent use; it excludes
// concurrent Set and Delete calls while it runs.
func (m *Memory) Clear(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed.Load() {
		return ErrClosed
	}
	m.rc.Clear()
	m.pending.clear()
	return nil
}

// Stats reports hits, misses and the number of entries (counted by a walk
// over the entries, which may include expired ones not yet cleaned up).
// It is safe for concurrent use.
func (m *Memory) Stats(ctx context.Context) (Stats, error) {
	if err := ctx.Err(); err != nil {
		return Stats{}, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed.Load() {
		return Stats{}, ErrClosed
	}
	m.settle()
	var n int64
	m.rc.IterValues(func(memEntry) bool { n++; return false })
	return m.c.stats(BackendMemory, n, m.defaultTTL), nil
}

// Close stops ristretto's goroutines and drops every entry. It is
// idempotent and safe for concurrent use.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed.Swap(true) {
		return nil
	}
	m.rc.Close()
	m.pending.clear()
	return nil
}
