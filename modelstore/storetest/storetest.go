package storetest

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/dredge-cli/dredge/modelstore"
	"github.com/dredge-cli/dredge/stringtheory"
)

// Backend tells [Run] how to get stores of one implementation.
type Backend struct {
	// New returns a fresh, empty store. Run closes it when the subtest
	// ends (and checks that a second Close returns nil).
	New func(t *testing.T) modelstore.Store
	// Reopen returns another handle on the models of s: another node on
	// the same server, or the same directory opened again. For a store
	// that keeps its models only in its own memory it returns s itself.
	// Run closes the handle when the subtest ends.
	Reopen func(t *testing.T, s modelstore.Store) modelstore.Store
	// Durable reports a store whose models outlive Close: a handle
	// reopened after Close still has them.
	Durable bool
}

// Run runs the conformance suite against b's stores, one fresh store per
// subtest. Subtests run sequentially.
func Run(t *testing.T, b Backend) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, b Backend, s modelstore.Store)
	}{
		{"NewID", testNewID},
		{"NewIDConcurrent", testNewIDConcurrent},
		{"CreateGet", testCreateGet},
		{"Copies", testCopies},
		{"CreateExisting", testCreateExisting},
		{"CreateInvalid", testCreateInvalid},
		{"Unknown", testUnknown},
		{"Update", testUpdate},
		{"UpdateConcurrent", testUpdateConcurrent},
		{"Delete", testDelete},
		{"List", testList},
		{"Tenants", testTenants},
		{"SharedHandles", testSharedHandles},
		{"Durable", testDurable},
		{"CanceledContext", testCanceledContext},
		{"Close", testClose},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := b.New(t)
			if s == nil {
				t.Fatal("New returned nil")
			}
			t.Cleanup(func() { closeTwice(t, s) })
			tc.fn(t, b, s)
		})
	}
}

func closeTwice(t *testing.T, s modelstore.Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// A configuration with every field set, so that a field lost on the way
// shows.
var testConfig = stringtheory.Config{
	NWaves: 3, Dimensions: 4, HiddenSize: 5, NumLayers: 2, UseBatchNorm: true, Dim: 2,
	NumFields: 7, OutFeatures: 1, InputDim: 1, NumFeatures: 9, Sigma: 2.5, W0: 30, Seed: 1<<63 + 5,
}

// testValues are values a byte-level form could mangle.
var testValues = []float64{0, math.Copysign(0, -1), 1.5, -2.25e-300, math.MaxFloat64, math.SmallestNonzeroFloat64,
	math.Inf(1), math.Inf(-1), math.Pi}

const testType = "quasimoto_1d"

func newID(t *testing.T, s modelstore.Store, typ string) string {
	t.Helper()
	id, err := s.NewID(t.Context(), typ)
	if err != nil {
		t.Fatalf("NewID(%q): %v", typ, err)
	}
	return id
}

// create stores a new model of testType with values v and returns its id.
func create(t *testing.T, s modelstore.Store, v []float64) string {
	t.Helper()
	id := newID(t, s, testType)
	ver, err := s.Create(t.Context(), &modelstore.Model{ID: id, Type: testType, Config: testConfig, Values: v, Version: 99})
	if err != nil {
		t.Fatalf("Create(%s): %v", id, err)
	}
	if ver != 1 {
		t.Fatalf("Create(%s) = version %d, want 1", id, ver)
	}
	return id
}

func get(t *testing.T, s modelstore.Store, id string) *modelstore.Model {
	t.Helper()
	m, err := s.Get(t.Context(), id)
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	return m
}

// sameBits reports whether a and b hold the same doubles bit for bit.
func sameBits(a, b []float64) bool {
	return slices.EqualFunc(a, b, func(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) })
}

func wantVersion(t *testing.T, s modelstore.Store, id string, want uint64) {
	t.Helper()
	v, err := s.Version(t.Context(), id)
	if err != nil || v != want {
		t.Fatalf("Version(%s) = %d, %v; want %d", id, v, err, want)
	}
}

func testNewID(t *testing.T, _ Backend, s modelstore.Store) {
	for i, want := range []string{"string_theory_0", "string_theory_1", "string_theory_2"} {
		if got := newID(t, s, "string_theory"); got != want {
			t.Fatalf("NewID #%d = %q, want %q", i, got, want)
		}
	}
	if got := newID(t, s, "siren"); got != "siren_0" {
		t.Fatalf("first siren id = %q, want siren_0: counters are per type", got)
	}
	if got := newID(t, s, "string_theory"); got != "string_theory_3" {
		t.Fatalf("NewID after another type = %q, want string_theory_3", got)
	}
	for _, bad := range []string{"", "../x", "a b", "A", "x{y}"} {
		if _, err := s.NewID(t.Context(), bad); !errors.Is(err, modelstore.ErrInvalidArgument) {
			t.Errorf("NewID(%q) = %v, want ErrInvalidArgument", bad, err)
		}
	}
}

func testNewIDConcurrent(t *testing.T, b Backend, s modelstore.Store) {
	other := b.Reopen(t, s)
	if other != s {
		t.Cleanup(func() { closeTwice(t, other) })
	}
	const goroutines, each = 8, 25
	ids := make([][]string, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			h := s
			if g%2 == 1 {
				h = other // half of them through another handle: another node
			}
			for range each {
				id, err := h.NewID(context.Background(), testType)
				if err != nil {
					t.Errorf("NewID: %v", err)
					return
				}
				ids[g] = append(ids[g], id)
			}
		})
	}
	wg.Wait()
	seen := make(map[string]bool)
	for _, l := range ids {
		for _, id := range l {
			if seen[id] {
				t.Fatalf("id %s handed out twice", id)
			}
			seen[id] = true
		}
	}
	for n := range goroutines * each {
		if id := modelstore.FormatID(testType, uint64(n)); !seen[id] {
			t.Fatalf("id %s skipped: ids should count from 0 without gaps", id)
		}
	}
}

func testCreateGet(t *testing.T, _ Backend, s modelstore.Store) {
	id := create(t, s, testValues)
	m := get(t, s, id)
	if m.ID != id || m.Type != testType || m.Config != testConfig || m.Version != 1 {
		t.Fatalf("Get(%s) = %+v, want the created record at version 1", id, *m)
	}
	if !sameBits(m.Values, testValues) {
		t.Fatalf("Get(%s).Values = %v, want %v bit for bit", id, m.Values, testValues)
	}
	wantVersion(t, s, id, 1)
	// NaN and an empty vector survive too.
	nan := create(t, s, []float64{math.NaN()})
	if v := get(t, s, nan).Values; len(v) != 1 || !math.IsNaN(v[0]) {
		t.Fatalf("NaN stored as %v", v)
	}
	empty := create(t, s, nil)
	if v := get(t, s, empty).Values; len(v) != 0 {
		t.Fatalf("empty values stored as %v", v)
	}
}

func testCopies(t *testing.T, _ Backend, s modelstore.Store) {
	v := slices.Clone(testValues)
	id := create(t, s, v)
	v[2] = 42 // the caller's slice is its own after Create
	m := get(t, s, id)
	if !sameBits(m.Values, testValues) {
		t.Fatalf("Create kept the caller's slice: %v", m.Values)
	}
	m.Values[2] = 43 // and a Get's result is the caller's
	if !sameBits(get(t, s, id).Values, testValues) {
		t.Fatal("Get returned the store's own slice")
	}
	u := slices.Clone(testValues)
	if _, err := s.Update(t.Context(), id, u); err != nil {
		t.Fatal(err)
	}
	u[0] = 44
	if !sameBits(get(t, s, id).Values, testValues) {
		t.Fatal("Update kept the caller's slice")
	}
}

func testCreateExisting(t *testing.T, _ Backend, s modelstore.Store) {
	id := create(t, s, []float64{1})
	_, err := s.Create(t.Context(), &modelstore.Model{ID: id, Type: testType, Values: []float64{2}})
	if !errors.Is(err, modelstore.ErrExists) {
		t.Fatalf("second Create(%s) = %v, want ErrExists", id, err)
	}
	if m := get(t, s, id); m.Values[0] != 1 || m.Version != 1 {
		t.Fatalf("a refused Create changed the model: %+v", *m)
	}
}

func testCreateInvalid(t *testing.T, _ Backend, s modelstore.Store) {
	for _, m := range []*modelstore.Model{
		nil,
		{ID: "", Type: testType},
		{ID: "../etc/passwd", Type: testType},
		{ID: "quasimoto_1d_0", Type: ""},
		{ID: "siren_0", Type: testType},
	} {
		if _, err := s.Create(t.Context(), m); !errors.Is(err, modelstore.ErrInvalidArgument) {
			t.Errorf("Create(%+v) = %v, want ErrInvalidArgument", m, err)
		}
	}
	if l, err := s.List(t.Context(), ""); err != nil || len(l) != 0 {
		t.Fatalf("List after refused Creates = %v, %v; want none", l, err)
	}
}

func testUnknown(t *testing.T, _ Backend, s modelstore.Store) {
	ctx := t.Context()
	for _, id := range []string{"quasimoto_1d_0", "", "../x", "a{b}c", "nope*", string(make([]byte, 300))} {
		if _, err := s.Get(ctx, id); !errors.Is(err, modelstore.ErrNotFound) {
			t.Errorf("Get(%q) = %v, want ErrNotFound", id, err)
		}
		if _, err := s.Version(ctx, id); !errors.Is(err, modelstore.ErrNotFound) {
			t.Errorf("Version(%q) = %v, want ErrNotFound", id, err)
		}
		if _, err := s.Update(ctx, id, []float64{1}); !errors.Is(err, modelstore.ErrNotFound) {
			t.Errorf("Update(%q) = %v, want ErrNotFound", id, err)
		}
		if err := s.Delete(ctx, id); !errors.Is(err, modelstore.ErrNotFound) {
			t.Errorf("Delete(%q) = %v, want ErrNotFound", id, err)
		}
	}
}

func testUpdate(t *testing.T, _ Backend, s modelstore.Store) {
	id := create(t, s, []float64{1, 2})
	for want := uint64(2); want <= 4; want++ {
		v, err := s.Update(t.Context(), id, []float64{float64(want), -1})
		if err != nil || v != want {
			t.Fatalf("Update = %d, %v; want version %d", v, err, want)
		}
		wantVersion(t, s, id, want)
		m := get(t, s, id)
		if m.Version != want || !slices.Equal(m.Values, []float64{float64(want), -1}) {
			t.Fatalf("Get after Update = %+v, want version %d with the new values", *m, want)
		}
		if m.Type != testType || m.Config != testConfig {
			t.Fatalf("Update changed type or config: %+v", *m)
		}
	}
}

func testUpdateConcurrent(t *testing.T, b Backend, s modelstore.Store) {
	other := b.Reopen(t, s)
	if other != s {
		t.Cleanup(func() { closeTwice(t, other) })
	}
	const n = 64
	id := create(t, s, make([]float64, n))
	const writers, each = 6, 10
	versions := make(chan uint64, writers*each)
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			h := s
			if g%2 == 1 {
				h = other
			}
			for i := range each {
				v := make([]float64, n)
				for j := range v {
					v[j] = float64(g*1000 + i)
				}
				ver, err := h.Update(context.Background(), id, v)
				if err != nil {
					t.Errorf("Update: %v", err)
					return
				}
				versions <- ver
			}
		})
	}
	// Readers meanwhile never see a torn vector.
	stop := make(chan struct{})
	var rg sync.WaitGroup
	for range 2 {
		rg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				m, err := other.Get(context.Background(), id)
				if err != nil {
					t.Errorf("Get: %v", err)
					return
				}
				for _, x := range m.Values {
					if x != m.Values[0] {
						t.Errorf("torn read at version %d: %v", m.Version, m.Values)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	rg.Wait()
	close(versions)
	seen := make(map[uint64]bool)
	for v := range versions {
		if seen[v] {
			t.Fatalf("two updates got version %d", v)
		}
		seen[v] = true
	}
	wantVersion(t, s, id, 1+writers*each)
}

func testDelete(t *testing.T, _ Backend, s modelstore.Store) {
	id := create(t, s, []float64{1})
	keep := create(t, s, []float64{2})
	if err := s.Delete(t.Context(), id); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Get(t.Context(), id); !errors.Is(err, modelstore.ErrNotFound) {
		t.Fatalf("Get after Delete = %v, want ErrNotFound", err)
	}
	if _, err := s.Version(t.Context(), id); !errors.Is(err, modelstore.ErrNotFound) {
		t.Fatalf("Version after Delete = %v, want ErrNotFound", err)
	}
	if err := s.Delete(t.Context(), id); !errors.Is(err, modelstore.ErrNotFound) {
		t.Fatalf("second Delete = %v, want ErrNotFound", err)
	}
	// An update never brings a deleted model back.
	if _, err := s.Update(t.Context(), id, []float64{3}); !errors.Is(err, modelstore.ErrNotFound) {
		t.Fatalf("Update after Delete = %v, want ErrNotFound", err)
	}
	if _, err := s.Get(t.Context(), id); !errors.Is(err, modelstore.ErrNotFound) {
		t.Fatalf("Get after Update of a deleted model = %v, want ErrNotFound", err)
	}
	// Its id is not handed out again.
	if next := newID(t, s, testType); next == id {
		t.Fatalf("NewID after Delete reused %s", id)
	}
	if m := get(t, s, keep); m.Values[0] != 2 {
		t.Fatalf("Delete touched another model: %+v", *m)
	}
}

func testList(t *testing.T, _ Backend, s modelstore.Store) {
	if l, err := s.List(t.Context(), ""); err != nil || len(l) != 0 {
		t.Fatalf("List of an empty store = %v, %v", l, err)
	}
	var ids []string
	for i := range 12 {
		ids = append(ids, create(t, s, []float64{float64(i)}))
	}
	sid := newID(t, s, "siren")
	if _, err := s.Create(t.Context(), &modelstore.Model{ID: sid, Type: "siren", Config: stringtheory.Config{HiddenSize: 8}, Values: []float64{1}}); err != nil {
		t.Fatal(err)
	}
	ids = append(ids, sid)
	if _, err := s.Update(t.Context(), ids[3], []float64{7}); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(t.Context(), ids[5]); err != nil {
		t.Fatal(err)
	}
	ids = slices.Delete(ids, 5, 6)
	slices.Sort(ids)
	l, err := s.List(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range l {
		got = append(got, m.ID)
		if m.Values != nil {
			t.Errorf("List returned the values of %s", m.ID)
		}
		want := uint64(1)
		if m.ID == modelstore.FormatID(testType, 3) {
			want = 2
		}
		if m.Version != want {
			t.Errorf("List: %s at version %d, want %d", m.ID, m.Version, want)
		}
		switch m.Type {
		case testType:
			if m.Config != testConfig {
				t.Errorf("List: %s config %+v", m.ID, m.Config)
			}
		case "siren":
			if m.Config.HiddenSize != 8 {
				t.Errorf("List: %s config %+v", m.ID, m.Config)
			}
		default:
			t.Errorf("List: %s of type %q", m.ID, m.Type)
		}
	}
	if !slices.Equal(got, ids) {
		t.Fatalf("List = %v, want %v (sorted by id)", got, ids)
	}
}

// testTenants checks that each tenant's models are apart: ids counted per
// tenant, lists per tenant, and no id of one tenant reaching another's
// model, on this handle and on another.
func testTenants(t *testing.T, b Backend, s modelstore.Store) {
	ctx := t.Context()
	def := create(t, s, []float64{1}) // the default tenant's quasimoto_1d_0
	mk := func(tenant string, v float64) string {
		t.Helper()
		id := newID(t, s, tenant+"/"+testType)
		if want := modelstore.TenantID(tenant, modelstore.FormatID(testType, 0)); id != want {
			t.Fatalf("NewID(%s/%s) = %q, want %q (counted per tenant)", tenant, testType, id, want)
		}
		if _, err := s.Create(ctx, &modelstore.Model{ID: id, Type: testType, Config: testConfig, Values: []float64{v}}); err != nil {
			t.Fatalf("Create(%s): %v", id, err)
		}
		return id
	}
	a, z := mk("acme", 2), mk("Zeta-2.b_", 3)
	if tn, local := modelstore.SplitID(a); tn != "acme" || local != def {
		t.Fatalf("SplitID(%q) = %q, %q", a, tn, local)
	}
	if typ, n, ok := modelstore.ParseID(a); !ok || typ != testType || n != 0 {
		t.Fatalf("ParseID(%q) = %q, %d, %v", a, typ, n, ok)
	}
	other := b.Reopen(t, s)
	if other != s {
		t.Cleanup(func() { closeTwice(t, other) })
	}
	for _, h := range []modelstore.Store{s, other} {
		for id, want := range map[string]float64{def: 1, a: 2, z: 3} {
			if m, err := h.Get(ctx, id); err != nil || m.ID != id || m.Values[0] != want {
				t.Fatalf("Get(%s) = %+v, %v; want values [%v]", id, m, err, want)
			}
		}
		for tenant, want := range map[string][]string{"": {def}, "acme": {a}, "Zeta-2.b_": {z}, "nobody": nil} {
			l, err := h.List(ctx, tenant)
			if err != nil {
				t.Fatalf("List(%q): %v", tenant, err)
			}
			var got []string
			for _, m := range l {
				got = append(got, m.ID)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("List(%q) = %v, want %v", tenant, got, want)
			}
		}
	}
	if _, err := s.List(ctx, "../x"); !errors.Is(err, modelstore.ErrInvalidArgument) {
		t.Fatalf("List of a malformed tenant: %v, want ErrInvalidArgument", err)
	}
	// Ids that are no tenant's own are not found, whatever their form.
	for _, id := range []string{"nobody/" + def, "acme/acme/" + def, "../" + def, "./" + def, "/" + def, "acme/", "acme/../" + def} {
		if _, err := s.Get(ctx, id); !errors.Is(err, modelstore.ErrNotFound) {
			t.Errorf("Get(%q): %v, want ErrNotFound", id, err)
		}
		if _, err := s.Version(ctx, id); !errors.Is(err, modelstore.ErrNotFound) {
			t.Errorf("Version(%q): %v, want ErrNotFound", id, err)
		}
		if _, err := s.Update(ctx, id, []float64{9}); !errors.Is(err, modelstore.ErrNotFound) {
			t.Errorf("Update(%q): %v, want ErrNotFound", id, err)
		}
		if err := s.Delete(ctx, id); !errors.Is(err, modelstore.ErrNotFound) {
			t.Errorf("Delete(%q): %v, want ErrNotFound", id, err)
		}
	}
	if _, err := s.NewID(ctx, "../"+testType); !errors.Is(err, modelstore.ErrInvalidArgument) {
		t.Errorf("NewID of a malformed tenant: %v, want ErrInvalidArgument", err)
	}
	// A tenant's model goes alone.
	if _, err := s.Update(ctx, a, []float64{5}); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, a); err != nil {
		t.Fatal(err)
	}
	wantVersion(t, s, def, 1)
	wantVersion(t, s, z, 1)
	if l, err := s.List(ctx, "acme"); err != nil || len(l) != 0 {
		t.Fatalf("List(acme) after Delete = %v, %v", l, err)
	}
	if id := newID(t, s, "acme/"+testType); id != "acme/"+modelstore.FormatID(testType, 1) {
		t.Fatalf("NewID after Delete = %q: a tenant's ids are not reused", id)
	}
}

func testSharedHandles(t *testing.T, b Backend, s modelstore.Store) {
	other := b.Reopen(t, s)
	if other != s {
		t.Cleanup(func() { closeTwice(t, other) })
	}
	id := create(t, s, []float64{1, 2, 3})
	if m := get(t, other, id); !slices.Equal(m.Values, []float64{1, 2, 3}) || m.Version != 1 {
		t.Fatalf("the other handle reads %+v", *m)
	}
	if _, err := other.Update(t.Context(), id, []float64{4, 5, 6}); err != nil {
		t.Fatal(err)
	}
	wantVersion(t, s, id, 2)
	if m := get(t, s, id); !slices.Equal(m.Values, []float64{4, 5, 6}) {
		t.Fatalf("an update through the other handle is not seen: %v", m.Values)
	}
	if next := newID(t, other, testType); next == id {
		t.Fatalf("the other handle's NewID repeated %s", id)
	}
	if err := other.Delete(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Version(t.Context(), id); !errors.Is(err, modelstore.ErrNotFound) {
		t.Fatalf("a delete through the other handle is not seen: %v", err)
	}
}

func testDurable(t *testing.T, b Backend, s modelstore.Store) {
	if !b.Durable {
		t.Skip("the store keeps its models only while it is open")
	}
	id := create(t, s, testValues)
	if _, err := s.Update(t.Context(), id, []float64{8, 9}); err != nil {
		t.Fatal(err)
	}
	next := newID(t, s, testType)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	r := b.Reopen(t, s)
	t.Cleanup(func() { closeTwice(t, r) })
	m := get(t, r, id)
	if m.Version != 2 || !slices.Equal(m.Values, []float64{8, 9}) || m.Config != testConfig {
		t.Fatalf("after reopening: %+v, want version 2 with [8 9]", *m)
	}
	if again := newID(t, r, testType); again == next || again == id {
		t.Fatalf("after reopening NewID = %s, repeating an id handed out before", again)
	}
}

func testCanceledContext(t *testing.T, _ Backend, s modelstore.Store) {
	id := create(t, s, []float64{1})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for name, err := range map[string]error{
		"NewID":  second(s.NewID(ctx, testType)),
		"Create": second(s.Create(ctx, &modelstore.Model{ID: modelstore.FormatID(testType, 999), Type: testType})),
		"Update": second(s.Update(ctx, id, []float64{2})),
		"Get":    second(s.Get(ctx, id)),
		"Ver":    second(s.Version(ctx, id)),
		"Delete": s.Delete(ctx, id),
		"List":   second(s.List(ctx, "")),
		"Ping":   s.Ping(ctx),
	} {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a canceled context = %v, want context.Canceled", name, err)
		}
	}
	if m := get(t, s, id); m.Version != 1 {
		t.Fatalf("a canceled call changed the model: %+v", *m)
	}
}

func second[T any](_ T, err error) error { return err }

func testClose(t *testing.T, _ Backend, s modelstore.Store) {
	id := create(t, s, []float64{1})
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping of an open store: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for name, err := range map[string]error{
		"NewID":  second(s.NewID(ctx, testType)),
		"Create": second(s.Create(ctx, &modelstore.Model{ID: modelstore.FormatID(testType, 999), Type: testType})),
		"Update": second(s.Update(ctx, id, []float64{2})),
		"Get":    second(s.Get(ctx, id)),
		"Ver":    second(s.Version(ctx, id)),
		"Delete": s.Delete(ctx, id),
		"List":   second(s.List(ctx, "")),
		"Ping":   s.Ping(ctx),
	} {
		if !errors.Is(err, modelstore.ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
}
