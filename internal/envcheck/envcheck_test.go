package envcheck_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/constant"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

const envvarPath = "github.com/dredge-cli/dredge/internal/envvar"

// TestEnvExample compares the variables the code reads with those
// .env.example lists, both ways.
func TestEnvExample(t *testing.T) {
	m := loadModule(t)
	found := scan(m.fset, m.pkgs)
	for _, u := range found.unresolved {
		t.Errorf("%s: reads an environment variable whose name is not a constant: name it with a literal or a constant so that .env.example can list it", u)
	}

	path := filepath.Join(m.root, ".env.example")
	listed, problems, err := parseEnvExample(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf(".env.example:%s", p)
	}
	for _, name := range slices.Sorted(maps.Keys(found.names)) {
		if _, ok := listed[name]; !ok {
			t.Errorf("%s is read by the code (%s) but missing from .env.example: add it with its default and one line of explanation",
				name, relPos(m.root, found.names[name][0]))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(listed)) {
		if _, ok := found.names[name]; !ok {
			t.Errorf(".env.example:%d: %s is listed but no code reads it: remove it (or, if a test helper reads it, it is not configuration)", listed[name], name)
		}
	}
	if !t.Failed() {
		t.Logf("%d variables, read in %d places, all listed", len(found.names), found.reads)
	}
}

// TestScan checks the scanner's rules on a package of its own, type-checked
// with the module's (the envvar.Reader methods become forwarders only by
// scanning envvar's source).
func TestScan(t *testing.T) {
	m := loadModule(t)
	const src = `package fake

import (
	"os"

	"github.com/dredge-cli/dredge/internal/envvar"
)

const portVar = "FAKE_PORT"

type name string

func read(lookup envvar.Lookup) {
	r := envvar.Reader{Lookup: lookup}
	_ = r.Int(portVar, 1, 0, 10)
	_ = (&r).Bool("FAKE_BOOL", false)
	_ = r.Seconds(string(name("FAKE_CONVERTED")), 0, 0, 1)
	_, _ = lookup("FAKE_LOOKUP")
	_, _ = r.Lookup("FAKE_FIELD")
	_ = os.Getenv("FAKE_" + "GETENV")
	_ = envOr("FAKE_FORWARDED", "x")
	get := func(n string) string { return os.Getenv(n) }
	_ = get("FAKE_LITERAL")
	_ = os.Setenv("FAKE_SET", "written, not read")
	_ = r.Err()
	_ = envOr2("FAKE_TWICE")
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func envOr2(name string) string { return envOr(name, "") }

func computed(names []string) {
	for _, n := range names {
		_ = os.Getenv(n) // computed
	}
}
`
	const helper = `package fake

import (
	"os"
	"testing"
)

func knob(t *testing.T) string { return os.Getenv("FAKE_TEST_KNOB") }
`
	var files []*ast.File
	for i, s := range []string{src, helper} {
		f, err := parser.ParseFile(m.fset, fmt.Sprintf("fake%d.go", i), s, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	fake, err := check(m.fset, m.imp, "example.com/fake", files)
	if err != nil {
		t.Fatal(err)
	}
	found := scan(m.fset, append(slices.Clone(m.pkgs), fake))
	var got []string
	for name, at := range found.names {
		if strings.HasPrefix(at[0].Filename, "fake") {
			got = append(got, name)
		}
	}
	slices.Sort(got)
	want := []string{"FAKE_BOOL", "FAKE_CONVERTED", "FAKE_FIELD", "FAKE_FORWARDED", "FAKE_GETENV", "FAKE_LITERAL", "FAKE_LOOKUP", "FAKE_PORT", "FAKE_TWICE"}
	if !slices.Equal(got, want) {
		t.Errorf("found %v\nwant  %v", got, want)
	}
	var unresolved []string
	for _, u := range found.unresolved {
		if strings.HasPrefix(u, "fake") {
			unresolved = append(unresolved, u)
		}
	}
	line := 1 + strings.Count(src[:strings.Index(src, "// computed")], "\n")
	if at := fmt.Sprintf("fake0.go:%d:", line); len(unresolved) != 1 || !strings.HasPrefix(unresolved[0], at) {
		t.Errorf("unresolved reads %v, want the one in computed (%s)", unresolved, at)
	}
}

// TestParseEnvExample checks the file's format rules.
func TestParseEnvExample(t *testing.T) {
	const text = `# A header.

# The first one.
# A=1
# The second, set.
B=
C=3
# Again.
# A=2
#NOT_AN_ENTRY=x
`
	path := filepath.Join(t.TempDir(), ".env.example")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	listed, problems, err := parseEnvExample(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int{"A": 4, "B": 6, "C": 7}; !maps.Equal(listed, want) {
		t.Errorf("listed %v, want %v", listed, want)
	}
	want := []string{
		"7: C has no line of explanation above it",
		"9: A is listed twice (first on line 4)",
	}
	if !slices.Equal(problems, want) {
		t.Errorf("problems %q\nwant     %q", problems, want)
	}
}

// entry is a line that lists a variable: NAME=value, or "# NAME=value"
// for one left at its default. Anything else starting with # is prose.
var entry = regexp.MustCompile(`^(?:# )?([A-Z][A-Z0-9_]*)=`)

// parseEnvExample returns the variables the file lists with their line
// numbers, and what breaks its rules: each entry has a line of explanation
// right above it (prose, not another entry), and no variable is listed
// twice.
func parseEnvExample(path string) (map[string]int, []string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	listed := map[string]int{}
	var problems []string
	prose := false // the previous line is a comment that is not an entry
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		m := entry.FindStringSubmatch(line)
		if m == nil {
			prose = strings.HasPrefix(line, "#")
			continue
		}
		name := m[1]
		if !prose {
			problems = append(problems, fmt.Sprintf("%d: %s has no line of explanation above it", n, name))
		}
		if first, dup := listed[name]; dup {
			problems = append(problems, fmt.Sprintf("%d: %s is listed twice (first on line %d)", n, name, first))
		} else {
			listed[name] = n
		}
		prose = false
	}
	return listed, problems, sc.Err()
}

// module is the main module's packages, type-checked from source.
type module struct {
	root string
	fset *token.FileSet
	imp  types.Importer
	pkgs []*pkg
}

type pkg struct {
	files []*ast.File // the files to scan: those that do not import "testing"
	info  *types.Info
}

var loadOnce = sync.OnceValues(load)

// loadModule returns the module, loaded once for all the tests. Without
// the go command, which builds the export data of the dependencies, the
// tests skip, and fail under CI.
func loadModule(t *testing.T) *module {
	t.Helper()
	m, err := loadOnce()
	if errors.Is(err, exec.ErrNotFound) && os.Getenv("CI") == "" {
		t.Skip("the go command is not on PATH:", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func load() (*module, error) {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return nil, fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	cmd := exec.Command("go", "list", "-export", "-deps", "-json=ImportPath,Dir,GoFiles,Export,Module,DepOnly", "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list -export: %w\n%s", err, stderr.Bytes())
	}
	type listed struct {
		ImportPath, Dir, Export string
		GoFiles                 []string
		Module                  *struct{ Main bool }
		DepOnly                 bool
	}
	exports := map[string]string{}
	var ours []listed
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var p listed
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
		exports[p.ImportPath] = p.Export
		if !p.DepOnly && p.Module != nil && p.Module.Main {
			ours = append(ours, p)
		}
	}
	m := &module{root: root, fset: token.NewFileSet()}
	m.imp = importer.ForCompiler(m.fset, "gc", func(path string) (io.ReadCloser, error) {
		if f := exports[path]; f != "" {
			return os.Open(f)
		}
		return nil, fmt.Errorf("no export data for %q", path)
	})
	for _, p := range ours {
		var files []*ast.File
		for _, name := range p.GoFiles {
			f, err := parser.ParseFile(m.fset, filepath.Join(p.Dir, name), nil, parser.SkipObjectResolution)
			if err != nil {
				return nil, err
			}
			files = append(files, f)
		}
		checked, err := check(m.fset, m.imp, p.ImportPath, files)
		if err != nil {
			return nil, err
		}
		m.pkgs = append(m.pkgs, checked)
	}
	return m, nil
}

// check type-checks one package and keeps the files to scan.
func check(fset *token.FileSet, imp types.Importer, path string, files []*ast.File) (*pkg, error) {
	info := &types.Info{
		Types:      map[ast.Expr]types.TypeAndValue{},
		Defs:       map[*ast.Ident]types.Object{},
		Uses:       map[*ast.Ident]types.Object{},
		Selections: map[*ast.SelectorExpr]*types.Selection{},
	}
	conf := types.Config{Importer: imp, Sizes: types.SizesFor("gc", runtime.GOARCH)}
	if _, err := conf.Check(path, fset, files, info); err != nil {
		return nil, fmt.Errorf("type-checking %s: %w", path, err)
	}
	p := &pkg{info: info}
	for _, f := range files {
		if !importsTesting(f) {
			p.files = append(p.files, f)
		}
	}
	return p, nil
}

func importsTesting(f *ast.File) bool {
	for _, s := range f.Imports {
		if s.Path.Value == `"testing"` {
			return true
		}
	}
	return false
}

// found is what scan finds.
type found struct {
	names      map[string][]token.Position // each variable and where it is read
	reads      int
	unresolved []string // "file:line:col: call" of reads whose name is not a constant
}

// scan finds the reads in pkgs. A read is a call of a reading function with
// a constant as its name argument. The reading functions are os.Getenv,
// os.LookupEnv, any value of type envvar.Lookup, and the forwarders: a
// function (or a local variable holding a function literal) that passes its
// i-th parameter on as the name of a read is itself a reading function with
// its name at i. Forwarders are found across packages by their full names,
// so the passes repeat until no new one turns up.
func scan(fset *token.FileSet, pkgs []*pkg) found {
	fw := forwarders{}
	for {
		before := fw.count()
		for _, p := range pkgs {
			walk(fset, p, fw, nil)
		}
		if fw.count() == before {
			break
		}
	}
	res := found{names: map[string][]token.Position{}}
	for _, p := range pkgs {
		walk(fset, p, fw, &res)
	}
	return res
}

// forwarders maps a reading function's key to the positions of its name
// parameter.
type forwarders map[string][]int

func (fw forwarders) count() (n int) {
	for _, v := range fw {
		n += len(v)
	}
	return n
}

func (fw forwarders) add(key string, i int) {
	if !slices.Contains(fw[key], i) {
		fw[key] = append(fw[key], i)
	}
}

// key names a function the same way whether it came from source or from
// export data: its full name. A local variable holding a function literal is
// named by its position, which only its own package sees.
func key(fset *token.FileSet, obj types.Object) string {
	switch obj := obj.(type) {
	case *types.Func:
		return obj.Origin().FullName()
	case *types.Var:
		if _, ok := obj.Type().Underlying().(*types.Signature); ok && !obj.IsField() {
			return fset.Position(obj.Pos()).String() + " " + obj.Name()
		}
	}
	return ""
}

// walk visits every call in p's files. Collecting (res != nil), it records
// the constant names of reads and the reads it cannot resolve; otherwise it
// only adds the forwarders it finds.
func walk(fset *token.FileSet, p *pkg, fw forwarders, res *found) {
	info := p.info
	for _, f := range p.files {
		// owners is the stack of enclosing functions: the object naming
		// each (nil for an anonymous literal) and its signature.
		type owner struct {
			obj types.Object
			sig *types.Signature
		}
		var owners []owner
		// assigned maps a function literal to the variable it initialises.
		assigned := map[*ast.FuncLit]types.Object{}
		var visit func(n ast.Node) bool
		visit = func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncDecl:
				obj := info.Defs[n.Name]
				owners = append(owners, owner{obj, obj.Type().(*types.Signature)})
				if n.Body != nil {
					ast.Inspect(n.Body, visit)
				}
				owners = owners[:len(owners)-1]
				return false
			case *ast.FuncLit:
				owners = append(owners, owner{assigned[n], info.TypeOf(n).(*types.Signature)})
				ast.Inspect(n.Body, visit)
				owners = owners[:len(owners)-1]
				return false
			case *ast.AssignStmt:
				for i, rhs := range n.Rhs {
					if lit, ok := ast.Unparen(rhs).(*ast.FuncLit); ok && len(n.Lhs) == len(n.Rhs) {
						if id, ok := n.Lhs[i].(*ast.Ident); ok {
							assigned[lit] = objectOf(info, id)
						}
					}
				}
			case *ast.ValueSpec:
				for i, v := range n.Values {
					if lit, ok := ast.Unparen(v).(*ast.FuncLit); ok && len(n.Names) == len(n.Values) {
						assigned[lit] = info.Defs[n.Names[i]]
					}
				}
			case *ast.CallExpr:
				for _, i := range nameArgs(fset, info, n, fw) {
					if i >= len(n.Args) {
						continue
					}
					arg := n.Args[i]
					if tv := info.Types[arg]; tv.Value != nil && tv.Value.Kind() == constant.String {
						if res != nil {
							name := constant.StringVal(tv.Value)
							res.names[name] = append(res.names[name], fset.Position(arg.Pos()))
							res.reads++
						}
						continue
					}
					// A parameter of the enclosing function passed on: that
					// function reads too.
					if id, ok := ast.Unparen(arg).(*ast.Ident); ok && len(owners) > 0 {
						top := owners[len(owners)-1]
						if pi := paramIndex(top.sig, info.Uses[id]); pi >= 0 && top.obj != nil {
							if k := key(fset, top.obj); k != "" {
								fw.add(k, pi)
								continue
							}
						}
					}
					if res != nil {
						res.unresolved = append(res.unresolved, fmt.Sprintf("%s: %s", fset.Position(n.Pos()), types.ExprString(n)))
					}
				}
			}
			return true
		}
		ast.Inspect(f, visit)
	}
}

func objectOf(info *types.Info, id *ast.Ident) types.Object {
	if obj := info.Defs[id]; obj != nil {
		return obj
	}
	return info.Uses[id]
}

func paramIndex(sig *types.Signature, obj types.Object) int {
	if obj == nil {
		return -1
	}
	for i := range sig.Params().Len() {
		if sig.Params().At(i) == obj {
			return i
		}
	}
	return -1
}

// nameArgs returns the positions of the name arguments of call if it calls
// a reading function, else nil.
func nameArgs(fset *token.FileSet, info *types.Info, call *ast.CallExpr, fw forwarders) []int {
	fun := ast.Unparen(call.Fun)
	if tv, ok := info.Types[fun]; ok && tv.IsType() {
		return nil // a conversion
	}
	if named, ok := types.Unalias(info.TypeOf(fun)).(*types.Named); ok {
		if obj := named.Obj(); obj.Pkg() != nil && obj.Pkg().Path() == envvarPath && obj.Name() == "Lookup" {
			return []int{0}
		}
	}
	var obj types.Object
	switch fun := fun.(type) {
	case *ast.Ident:
		obj = info.Uses[fun]
	case *ast.SelectorExpr:
		if sel := info.Selections[fun]; sel != nil {
			if sel.Kind() != types.MethodVal {
				return nil // a field holding a function: only envvar.Lookup, above, counts
			}
			obj = sel.Obj()
		} else {
			obj = info.Uses[fun.Sel]
		}
	case *ast.IndexExpr: // an explicitly instantiated generic function
		if id, ok := fun.X.(*ast.Ident); ok {
			obj = info.Uses[id]
		}
	}
	if fn, ok := obj.(*types.Func); ok && fn.Pkg() != nil && fn.Pkg().Path() == "os" && (fn.Name() == "Getenv" || fn.Name() == "LookupEnv") {
		return []int{0}
	}
	if obj == nil {
		return nil
	}
	return fw[key(fset, obj)]
}

func relPos(root string, p token.Position) string {
	if rel, err := filepath.Rel(root, p.Filename); err == nil {
		p.Filename = rel
	}
	return p.String()
}
