package modelstore

import (
	"context"
	"slices"
	"sort"
	"sync"
)

// Memory is a store in the process's memory. Several Engines of one
// process that are given the same *Memory share their models as nodes
// sharing Redis do; nothing outlives the process. Close closes it for all
// of them: the models stay (see [Memory.Close]) but no call reaches them
// again. The zero value is an empty store ready to use; a Memory must not
// be copied after first use.
//
// Its methods are safe for concurrent use and never block on I/O.
type Memory struct {
	mu     sync.RWMutex
	models map[string]*Model
	next   map[string]uint64 // per type: the n of its next id
	closed bool
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty memory store.
func NewMemory() *Memory { return &Memory{} }

func (s *Memory) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed {
		return ErrClosed
	}
	return nil
}

// NewID implements [Store].
func (s *Memory) NewID(ctx context.Context, modelType string) (string, error) {
	if err := checkType(modelType); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return "", err
	}
	if s.next == nil {
		s.next = make(map[string]uint64)
	}
	n := s.next[modelType]
	s.next[modelType] = n + 1
	return FormatID(modelType, n), nil
}

// Create implements [Store].
func (s *Memory) Create(ctx context.Context, m *Model) (uint64, error) {
	if err := checkModel(m); err != nil {
		return 0, err
	}
	c := &Model{ID: m.ID, Type: m.Type, Config: m.Config, Values: slices.Clone(m.Values), Version: 1}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	if _, ok := s.models[m.ID]; ok {
		return 0, ErrExists
	}
	if s.models == nil {
		s.models = make(map[string]*Model)
	}
	s.models[m.ID] = c
	return 1, nil
}

// Update implements [Store].
func (s *Memory) Update(ctx context.Context, id string, values []float64) (uint64, error) {
	v := slices.Clone(values)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	m, ok := s.models[id]
	if !ok {
		return 0, notFound(id)
	}
	// A new record: a Get that returned the old one shares nothing with it.
	c := *m
	c.Values, c.Version = v, m.Version+1
	s.models[id] = &c
	return c.Version, nil
}

// Get implements [Store].
func (s *Memory) Get(ctx context.Context, id string) (*Model, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	m, ok := s.models[id]
	if !ok {
		return nil, notFound(id)
	}
	c := *m
	c.Values = slices.Clone(m.Values)
	return &c, nil
}

// Version implements [Store].
func (s *Memory) Version(ctx context.Context, id string) (uint64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	m, ok := s.models[id]
	if !ok {
		return 0, notFound(id)
	}
	return m.Version, nil
}

// Delete implements [Store].
func (s *Memory) Delete(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return err
	}
	if _, ok := s.models[id]; !ok {
		return notFound(id)
	}
	delete(s.models, id)
	return nil
}

// List implements [Store].
func (s *Memory) List(ctx context.Context, tenant string) ([]Model, error) {
	if err := checkTenant(tenant); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	out := make([]Model, 0)
	for id, m := range s.models {
		if t, _ := SplitID(id); t != tenant {
			continue
		}
		c := *m
		c.Values = nil
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Ping implements [Store]: a memory store answers until it is closed.
func (s *Memory) Ping(ctx context.Context) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.check(ctx)
}

// Close implements [Store]: later calls, through any pointer to s, fail
// with [ErrClosed]. The models stay in memory, unreachable, until s is
// garbage.
func (s *Memory) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}
