package modelstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/dredge-cli/dredge/internal/tenant"
	"github.com/dredge-cli/dredge/stringtheory"
)

// Model is a stored model: what a node needs to rebuild it and to tell
// whether its copy is current.
type Model struct {
	// ID is the model's id, "<model_type>_<n>" (see [Store.NewID]), or
	// "<tenant>/<model_type>_<n>" for a tenant's model (see [TenantID]).
	ID string
	// Type is the model type, one of [stringtheory.ModelTypes].
	Type string
	// Config is the model's configuration, defaults filled in
	// ([stringtheory.Plan.Config]); it never changes once stored.
	Config stringtheory.Config
	// Values is the model's flat vector, as [stringtheory.Model.Values]
	// gives it. [Store.List] leaves it nil.
	Values []float64
	// Version counts the stored vectors: 1 when created, one more on each
	// [Store.Update]. A reader whose copy has another version is stale.
	Version uint64
}

// Store is where an Engine's registry keeps its models, so that they
// outlive the process (a directory) or are shared by every node that uses
// the store (Redis). Implementations: [Memory], [Dir], [Redis]; package
// [github.com/dredge-cli/dredge/modelstore/storetest] is the suite every
// implementation passes.
//
// # Tenants
//
// Every model belongs to a tenant (see dredge.WithTenant). The default
// tenant's ids are "<type>_<n>"; tenant T's are "T/<type>_<n>" ([TenantID]),
// made by NewID("T/<type>"), which counts T's ids of the type apart from
// every other tenant's. [Store.List] lists one tenant's models. A store
// keeps each tenant's models apart on disk and in Redis, so that no id of
// one tenant names another's model.
//
// Every method is safe for concurrent use by multiple goroutines (and, for
// shared stores, by multiple processes); each is atomic: a reader sees a
// model's record either entirely before or entirely after a write, never a
// mix. Methods that do I/O stop when ctx is done. Failures to reach the
// store wrap [ErrUnavailable]; an unknown id is [ErrNotFound].
type Store interface {
	// NewID reserves a new id "<modelType>_<n>" for modelType, unique
	// among every caller of the store (every node that shares it), in
	// the past and future: n counts from 0 per type and is never
	// reused, not even after Delete. Concurrent callers get distinct ids.
	// A modelType "<tenant>/<type>" makes the tenant's ids, with counts of
	// their own.
	NewID(ctx context.Context, modelType string) (string, error)
	// Create stores m, which must carry an id from NewID, with version 1
	// and returns that version. Create copies m.Values; m.Version is
	// ignored. An id already stored is [ErrExists].
	Create(ctx context.Context, m *Model) (version uint64, err error)
	// Update replaces the values of the stored model id (type and config
	// stay) and returns its new version, one more than the last. Updates
	// of one id are serialised: two concurrent ones get distinct
	// versions and the later version holds the later values. An id not
	// stored (never created, or deleted) is [ErrNotFound]: an update never
	// brings a deleted model back. Update copies values.
	Update(ctx context.Context, id string, values []float64) (version uint64, err error)
	// Get returns the stored model id with its values and version, read
	// at one instant. The caller owns the result.
	Get(ctx context.Context, id string) (*Model, error)
	// Version returns the version of the stored model id: a cheap check
	// of whether a copy is current. On [Redis] it is one small round trip
	// (an HGET); on [Memory] a map lookup; on [Dir] a map lookup once the
	// process has read or written the model, and before that a read of
	// the model file's header.
	Version(ctx context.Context, id string) (uint64, error)
	// Delete removes the stored model id; its id is not handed out again.
	// An id not stored is [ErrNotFound].
	Delete(ctx context.Context, id string) error
	// List returns the stored models of tenant ("" the default tenant),
	// sorted by id, without their values (Values nil). Models created or
	// deleted while it runs may or may not be listed.
	List(ctx context.Context, tenant string) ([]Model, error)
	// Ping reports whether the store answers: nil, or an error wrapping
	// [ErrUnavailable] (or [ErrClosed]). The Engine's readiness asks it.
	Ping(ctx context.Context) error
	// Close releases the store's resources; the stored models stay.
	// Calls after Close fail with [ErrClosed]. Close is idempotent.
	Close() error
}

// Errors of the stores. Each error a Store returns wraps one of them or is
// the context's error.
var (
	// ErrNotFound reports an id that is not stored.
	ErrNotFound = errors.New("modelstore: model not found")
	// ErrExists reports a Create of an id already stored.
	ErrExists = errors.New("modelstore: model exists")
	// ErrUnavailable reports a store that cannot be reached or read
	// (Redis down, a disk error, a damaged record).
	ErrUnavailable = errors.New("modelstore: unavailable")
	// ErrInvalidArgument reports a malformed argument (an empty model
	// type, a record without an id).
	ErrInvalidArgument = errors.New("modelstore: invalid argument")
	// ErrClosed reports a call after Close.
	ErrClosed = errors.New("modelstore: closed")
)

// FormatID makes the id of the n-th model of a type: "<modelType>_<n>".
func FormatID(modelType string, n uint64) string {
	return modelType + "_" + strconv.FormatUint(n, 10)
}

// maxIDLen bounds an id (without its tenant): the longest model type and
// a 20-digit counter fit.
const maxIDLen = 128

// TenantID returns the stored id of tenant's model id: id itself for the
// default tenant "", "<tenant>/<id>" otherwise.
func TenantID(tenant, id string) string {
	if tenant == "" {
		return id
	}
	return tenant + "/" + id
}

// SplitID splits a stored id into its tenant and the tenant's own id; the
// inverse of [TenantID].
func SplitID(id string) (tenant, local string) {
	if i := strings.IndexByte(id, '/'); i >= 0 {
		return id[:i], id[i+1:]
	}
	return "", id
}

// validID reports whether id can name a stored model: an optional tenant
// and '/', then 1 to maxIDLen bytes of [a-z0-9_]. Stores use it before an
// id becomes a key or a file name; an id that is not valid is never stored.
func validID(id string) bool {
	t, local := SplitID(id)
	if len(local) < len(id) && !tenant.Valid(t) {
		return false
	}
	if local == "" || len(local) > maxIDLen {
		return false
	}
	for i := 0; i < len(local); i++ {
		if c := local[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// checkTenant checks a tenant handed to List.
func checkTenant(name string) error {
	if name != "" && !tenant.Valid(name) {
		return fmt.Errorf("%w: tenant %q: want 1 to %d of [A-Za-z0-9._-], starting with a letter or digit", ErrInvalidArgument, truncate(name), tenant.MaxLen)
	}
	return nil
}

// checkType checks a model type handed to NewID.
func checkType(modelType string) error {
	if !validID(modelType) {
		return fmt.Errorf("%w: model type %q: want [<tenant>/] and 1 to %d of [a-z0-9_]", ErrInvalidArgument, truncate(modelType), maxIDLen)
	}
	return nil
}

// checkModel checks a record handed to Create.
func checkModel(m *Model) error {
	if m == nil {
		return fmt.Errorf("%w: nil model", ErrInvalidArgument)
	}
	if !validID(m.ID) {
		return fmt.Errorf("%w: model id %q: want 1 to %d of [a-z0-9_]", ErrInvalidArgument, truncate(m.ID), maxIDLen)
	}
	if err := checkType(m.Type); err != nil {
		return err
	}
	if _, local := SplitID(m.ID); strings.Contains(m.Type, "/") || !strings.HasPrefix(local, m.Type+"_") {
		return fmt.Errorf("%w: model id %q is not one of type %q", ErrInvalidArgument, m.ID, m.Type)
	}
	return nil
}

func notFound(id string) error {
	return fmt.Errorf("%w: %q", ErrNotFound, truncate(id))
}

func truncate(s string) string {
	if len(s) <= 64 {
		return s
	}
	return s[:64] + "…"
}

// ParseID splits an id made by [FormatID] (or a tenant's, [TenantID])
// into the model type and n; ok is false for a string that is not such
// an id.
func ParseID(id string) (modelType string, n uint64, ok bool) {
	if !validID(id) {
		return "", 0, false
	}
	_, local := SplitID(id)
	i := strings.LastIndexByte(local, '_')
	if i <= 0 {
		return "", 0, false
	}
	n, err := strconv.ParseUint(local[i+1:], 10, 64)
	if err != nil {
		return "", 0, false
	}
	return local[:i], n, true
}
