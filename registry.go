package dredge

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/dredge-cli/dredge/stringtheory"
)

// entry is one loaded model. mu guards model's parameters: readers
// (inference, get_parameters) hold it shared, writers (restore, training)
// exclusively.
type entry struct {
	id          string
	typ         string
	cfg         stringtheory.Config
	mu          sync.RWMutex
	model       stringtheory.Model
	fingerprint string // paramsFingerprint of the parameters: their version
	charge      int64  // bytes charged to the Engine's budget

	keysMu sync.Mutex
	keys   map[string]struct{} // result-cache keys of its inferences, for unload_model
}

// maxRememberedKeys bounds the inference keys a model remembers (about
// 100 bytes each). Results of inferences past it are not deleted when the
// model is unloaded; no request can reach them (ids are never reused) and
// they leave the cache with its TTL or its eviction.
const maxRememberedKeys = 1 << 14

// remember records a result-cache key of one of the model's inferences.
func (e *entry) remember(key string) {
	e.keysMu.Lock()
	defer e.keysMu.Unlock()
	if e.keys == nil {
		e.keys = make(map[string]struct{})
	}
	if len(e.keys) < maxRememberedKeys {
		e.keys[key] = struct{}{}
	}
}

// forget returns the remembered keys and forgets them.
func (e *entry) forget() []string {
	e.keysMu.Lock()
	defer e.keysMu.Unlock()
	keys := make([]string, 0, len(e.keys))
	for k := range e.keys {
		keys = append(keys, k)
	}
	e.keys = nil
	return keys
}

// changed records a change of the parameters; mu must be held for writing.
func (e *entry) changed() {
	e.fingerprint = paramsFingerprint(e.model.Values())
}

// registry holds the loaded models by id.
type registry struct {
	mu     sync.RWMutex
	byID   map[string]*entry
	counts map[string]int // per type, for ids <type>_<n>
	max    int
}

// add registers m, which is charged charge bytes (already reserved).
func (r *registry) add(typ string, cfg stringtheory.Config, m stringtheory.Model, charge int64) (*entry, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byID == nil {
		r.byID = make(map[string]*entry)
		r.counts = make(map[string]int)
	}
	if len(r.byID) >= r.max {
		return nil, &Error{Code: CodeUnavailable, Field: "model_type", Message: fmt.Sprintf("model_type: too many models loaded (limit %d)", r.max), Err: ErrUnavailable}
	}
	n := r.counts[typ]
	r.counts[typ] = n + 1
	e := &entry{id: typ + "_" + strconv.Itoa(n), typ: typ, cfg: cfg, model: m, fingerprint: paramsFingerprint(m.Values()), charge: charge}
	r.byID[e.id] = e
	return e, nil
}

func (r *registry) get(id string) (*entry, error) {
	if id == "" {
		return nil, invalid("model_id", "is required")
	}
	r.mu.RLock()
	e, ok := r.byID[id]
	r.mu.RUnlock()
	if !ok {
		return nil, notFound("model_id", "no model %q is loaded", truncate(id, 64))
	}
	return e, nil
}

// remove unregisters the model id and returns it.
func (r *registry) remove(id string) (*entry, error) {
	e, err := r.get(id)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byID[id] != e {
		return nil, notFound("model_id", "no model %q is loaded", truncate(id, 64))
	}
	delete(r.byID, id)
	return e, nil
}

func (r *registry) len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.byID)
}

func (r *registry) list() []*entry {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*entry, 0, len(r.byID))
	for _, e := range r.byID {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func modelTypeError(typ string) error {
	if typ == "" {
		return invalid("model_type", "is required (one of %s)", strings.Join(stringtheory.ModelTypes, ", "))
	}
	return notFound("model_type", "unknown model type %q (known: %s)", truncate(typ, 64), strings.Join(stringtheory.ModelTypes, ", "))
}
