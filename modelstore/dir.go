package modelstore

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/dredge-cli/dredge/stringtheory"
)

// Dir is a store in a directory on local disk (MODEL_STORE_DIR): a node
// keeps its models across restarts, crashes included.
//
// # Layout
//
// models/<id>.model holds one model: a JSON header line (id, type, config,
// version, value count), the values as little-endian doubles, and a
// CRC-32 of all that. counters/<type> holds the n of the type's next id.
// A tenant's models and counters are in a folder of its own:
// models/<tenant>/<type>_<n>.model, counters/<tenant>/<type>.
// Every file is written whole to a temporary file in the same folder,
// synced, and renamed over the old one, and the folder is synced: a crash
// leaves the old file or the new one, never a part. A record whose
// checksum does not match is reported as [ErrUnavailable], never served.
//
// # Sharing
//
// One process uses a directory: its Dir values (however many) share one
// lock and the versions they have read. Processes must not share a
// directory (ids could repeat); several nodes share [Redis].
//
// All methods are safe for concurrent use; writes are serialised.
type Dir struct {
	st     *dirState
	closed atomic.Bool
}

var _ Store = (*Dir)(nil)

// dirState is the state of one directory, shared by its Dir values.
type dirState struct {
	root     string
	mu       sync.Mutex        // serialises writes (and counter reads)
	versions map[string]uint64 // versions known, of stored models; guarded by mu
}

var (
	dirsMu sync.Mutex
	dirs   = map[string]*dirState{} // by absolute path
)

const (
	modelsDir   = "models"
	countersDir = "counters"
	modelExt    = ".model"
	tmpPrefix   = ".tmp-"
)

// NewDir opens the store in the directory path, creating it (and its
// folders) when missing. Its first open in the process removes the
// temporary files a crash left behind.
func NewDir(path string) (*Dir, error) {
	if path == "" {
		return nil, fmt.Errorf("%w: MODEL_STORE_DIR: empty path", ErrInvalidArgument)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("%w: MODEL_STORE_DIR %q: %w", ErrInvalidArgument, path, err)
	}
	for _, sub := range []string{modelsDir, countersDir} {
		if err := os.MkdirAll(filepath.Join(abs, sub), 0o755); err != nil {
			return nil, fmt.Errorf("%w: MODEL_STORE_DIR: %w", ErrUnavailable, err)
		}
	}
	dirsMu.Lock()
	defer dirsMu.Unlock()
	st, ok := dirs[abs]
	if !ok {
		// The first open in this process: no Dir of it is writing, so the
		// temporary files are a crash's.
		if err := removeTemps(abs); err != nil {
			return nil, err
		}
		st = &dirState{root: abs, versions: make(map[string]uint64)}
		dirs[abs] = st
	}
	return &Dir{st: st}, nil
}

// removeTemps removes the temporary files in the store's folders.
func removeTemps(root string) error {
	for _, sub := range []string{modelsDir, countersDir} {
		d := filepath.Join(root, sub)
		ents, err := os.ReadDir(d)
		if err != nil {
			return fmt.Errorf("%w: MODEL_STORE_DIR: %w", ErrUnavailable, err)
		}
		for _, e := range ents {
			switch {
			case strings.HasPrefix(e.Name(), tmpPrefix):
				_ = os.Remove(filepath.Join(d, e.Name()))
			case e.IsDir(): // a tenant's folder
				sub, err := os.ReadDir(filepath.Join(d, e.Name()))
				if err != nil {
					return fmt.Errorf("%w: MODEL_STORE_DIR: %w", ErrUnavailable, err)
				}
				for _, f := range sub {
					if strings.HasPrefix(f.Name(), tmpPrefix) {
						_ = os.Remove(filepath.Join(d, e.Name(), f.Name()))
					}
				}
			}
		}
	}
	return nil
}

// Path returns the store's directory, absolute.
func (d *Dir) Path() string { return d.st.root }

func (d *Dir) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d.closed.Load() {
		return ErrClosed
	}
	return nil
}

// modelPath returns the file of a valid id (in its tenant's folder).
func (d *Dir) modelPath(id string) string {
	return filepath.Join(d.st.root, modelsDir, id+modelExt)
}

// folder makes the tenant's folder in sub (models or counters) where it is
// missing, durably, and returns it; the default tenant's is sub itself.
func (d *Dir) folder(sub, tenant string) (string, error) {
	top := filepath.Join(d.st.root, sub)
	if tenant == "" {
		return top, nil
	}
	dir := filepath.Join(top, tenant)
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", ioErr("folder of tenant "+tenant, err)
	}
	return dir, syncDir(top)
}

func ioErr(what string, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrUnavailable, what, err)
}

// NewID implements [Store]: the type's counter file is read and rewritten
// atomically. Where the counter is missing, n starts past the stored ids
// of the type.
func (d *Dir) NewID(ctx context.Context, modelType string) (string, error) {
	if err := checkType(modelType); err != nil {
		return "", err
	}
	if err := d.check(ctx); err != nil {
		return "", err
	}
	st := d.st
	st.mu.Lock()
	defer st.mu.Unlock()
	tenant, typ := SplitID(modelType)
	dir, err := d.folder(countersDir, tenant)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, typ)
	var n uint64
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if n, err = strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err != nil {
			return "", ioErr("counter "+modelType, err)
		}
	case errors.Is(err, fs.ErrNotExist):
		if n, err = d.nextFromModels(modelType); err != nil {
			return "", err
		}
	default:
		return "", ioErr("counter "+modelType, err)
	}
	if err := writeAtomic(path, []byte(strconv.FormatUint(n+1, 10)+"\n")); err != nil {
		return "", err
	}
	return FormatID(modelType, n), nil
}

// nextFromModels returns one more than the largest n of the type's stored
// ids ("<tenant>/<type>": of the tenant's).
func (d *Dir) nextFromModels(modelType string) (uint64, error) {
	tenant, typ := SplitID(modelType)
	ents, err := os.ReadDir(filepath.Join(d.st.root, modelsDir, tenant))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil // a tenant without models yet
	}
	if err != nil {
		return 0, ioErr("models", err)
	}
	var next uint64
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), modelExt)
		rest, ok2 := strings.CutPrefix(id, typ+"_")
		if !ok || !ok2 {
			continue
		}
		if n, err := strconv.ParseUint(rest, 10, 64); err == nil && n+1 > next {
			next = n + 1
		}
	}
	return next, nil
}

// header is a model file's first line.
type header struct {
	ID      string              `json:"id"`
	Type    string              `json:"type"`
	Config  stringtheory.Config `json:"config"`
	Version uint64              `json:"version"`
	Values  int                 `json:"values"`
}

// encodeModel makes a model file.
func encodeModel(m *Model) ([]byte, error) {
	h, err := json.Marshal(header{ID: m.ID, Type: m.Type, Config: m.Config, Version: m.Version, Values: len(m.Values)})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	b := make([]byte, 0, len(h)+1+8*len(m.Values)+4)
	b = append(append(b, h...), '\n')
	b = appendValues(b, m.Values)
	return binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b)), nil
}

// decodeModel reads a model file.
func decodeModel(id string, b []byte) (*Model, error) {
	damaged := func(why string) error {
		return fmt.Errorf("%w: model file %s is damaged: %s", ErrUnavailable, id+modelExt, why)
	}
	if len(b) < 4 {
		return nil, damaged("too short")
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return nil, damaged("checksum mismatch")
	}
	line, vals, ok := bytes.Cut(body, []byte{'\n'})
	if !ok {
		return nil, damaged("no header")
	}
	var h header
	if err := json.Unmarshal(line, &h); err != nil {
		return nil, damaged(err.Error())
	}
	if h.ID != id || len(vals) != 8*h.Values {
		return nil, damaged("header does not match")
	}
	v, err := decodeValues(vals)
	if err != nil {
		return nil, err
	}
	return &Model{ID: h.ID, Type: h.Type, Config: h.Config, Values: v, Version: h.Version}, nil
}

// read reads and checks the model file of id.
func (d *Dir) read(id string) (*Model, error) {
	if !validID(id) {
		return nil, notFound(id)
	}
	b, err := os.ReadFile(d.modelPath(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, ioErr("model "+id, err)
	}
	return decodeModel(id, b)
}

// readHeader reads the header line of the model file of id.
func (d *Dir) readHeader(id string) (*header, error) {
	f, err := os.Open(d.modelPath(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, ioErr("model "+id, err)
	}
	defer f.Close()
	line, err := bufio.NewReaderSize(f, 4096).ReadSlice('\n')
	if err != nil {
		return nil, ioErr("model "+id, err)
	}
	var h header
	if err := json.Unmarshal(line, &h); err != nil || h.ID != id {
		return nil, fmt.Errorf("%w: model file %s is damaged", ErrUnavailable, id+modelExt)
	}
	return &h, nil
}

// Create implements [Store].
func (d *Dir) Create(ctx context.Context, m *Model) (uint64, error) {
	if err := checkModel(m); err != nil {
		return 0, err
	}
	if err := d.check(ctx); err != nil {
		return 0, err
	}
	b, err := encodeModel(&Model{ID: m.ID, Type: m.Type, Config: m.Config, Values: m.Values, Version: 1})
	if err != nil {
		return 0, err
	}
	st := d.st
	st.mu.Lock()
	defer st.mu.Unlock()
	tenant, _ := SplitID(m.ID)
	if _, err := d.folder(modelsDir, tenant); err != nil {
		return 0, err
	}
	path := d.modelPath(m.ID)
	if _, err := os.Stat(path); err == nil {
		return 0, ErrExists
	} else if !errors.Is(err, fs.ErrNotExist) {
		return 0, ioErr("model "+m.ID, err)
	}
	if err := writeAtomic(path, b); err != nil {
		// The file may be written (only the folder's sync failed): the
		// next Version reads it.
		delete(st.versions, m.ID)
		return 0, err
	}
	st.versions[m.ID] = 1
	return 1, nil
}

// Update implements [Store]: the model's file is rewritten whole.
func (d *Dir) Update(ctx context.Context, id string, values []float64) (uint64, error) {
	if err := d.check(ctx); err != nil {
		return 0, err
	}
	st := d.st
	st.mu.Lock()
	defer st.mu.Unlock()
	var h *header
	var err error
	if !validID(id) {
		return 0, notFound(id)
	}
	if h, err = d.readHeader(id); err != nil {
		return 0, err
	}
	m := &Model{ID: id, Type: h.Type, Config: h.Config, Values: values, Version: h.Version + 1}
	b, err := encodeModel(m)
	if err != nil {
		return 0, err
	}
	if err := writeAtomic(d.modelPath(id), b); err != nil {
		// The new file may be in place (only the folder's sync failed):
		// the next Version reads it.
		delete(st.versions, id)
		return 0, err
	}
	st.versions[id] = m.Version
	return m.Version, nil
}

// Get implements [Store].
func (d *Dir) Get(ctx context.Context, id string) (*Model, error) {
	if err := d.check(ctx); err != nil {
		return nil, err
	}
	return d.read(id)
}

// Version implements [Store]: from memory once this process has read or
// written the model, otherwise from its file's header.
func (d *Dir) Version(ctx context.Context, id string) (uint64, error) {
	if err := d.check(ctx); err != nil {
		return 0, err
	}
	st := d.st
	st.mu.Lock()
	defer st.mu.Unlock()
	if v, ok := st.versions[id]; ok {
		return v, nil
	}
	if !validID(id) {
		return 0, notFound(id)
	}
	h, err := d.readHeader(id)
	if err != nil {
		return 0, err
	}
	st.versions[id] = h.Version
	return h.Version, nil
}

// Delete implements [Store].
func (d *Dir) Delete(ctx context.Context, id string) error {
	if err := d.check(ctx); err != nil {
		return err
	}
	if !validID(id) {
		return notFound(id)
	}
	st := d.st
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.versions, id)
	path := d.modelPath(id)
	err := os.Remove(path)
	if errors.Is(err, fs.ErrNotExist) {
		return notFound(id)
	}
	if err != nil {
		return ioErr("model "+id, err)
	}
	return syncDir(filepath.Dir(path))
}

// List implements [Store]: it reads the header of each model file in the
// tenant's folder.
func (d *Dir) List(ctx context.Context, tenant string) ([]Model, error) {
	if err := d.check(ctx); err != nil {
		return nil, err
	}
	if err := checkTenant(tenant); err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(filepath.Join(d.st.root, modelsDir, tenant))
	if errors.Is(err, fs.ErrNotExist) && tenant != "" {
		return []Model{}, nil
	}
	if err != nil {
		return nil, ioErr("models", err)
	}
	out := make([]Model, 0, len(ents))
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), modelExt)
		id = TenantID(tenant, id)
		if !ok || e.IsDir() || !validID(id) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h, err := d.readHeader(id)
		if errors.Is(err, ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, Model{ID: h.ID, Type: h.Type, Config: h.Config, Version: h.Version})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Ping implements [Store]: the models folder can be read.
func (d *Dir) Ping(ctx context.Context) error {
	if err := d.check(ctx); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(d.st.root, modelsDir)); err != nil {
		return ioErr("models", err)
	}
	return nil
}

// Close implements [Store]. The files stay.
func (d *Dir) Close() error {
	d.closed.Store(true)
	return nil
}

// writeAtomic replaces path with b: a temporary file in the same folder,
// synced, renamed over path, and the folder synced.
func writeAtomic(path string, b []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return ioErr("write", err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(b); err != nil {
		return ioErr("write", err)
	}
	if err = f.Sync(); err != nil {
		return ioErr("sync", err)
	}
	if err = f.Close(); err != nil {
		return ioErr("close", err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return ioErr("rename", err)
	}
	return syncDir(dir)
}

// syncDir makes a rename or removal in dir durable. Windows cannot sync a
// folder (and its renames are durable with the file). It is a variable so
// that a test can make it fail.
var syncDir = func(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	f, err := os.Open(dir)
	if err != nil {
		return ioErr("sync folder", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return ioErr("sync folder", err)
	}
	return nil
}
