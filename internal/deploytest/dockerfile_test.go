package deploytest

import (
	"bufio"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd, args string // cmd upper-cased
}

// stage is a FROM and the instructions under it.
type stage struct {
	name, image string
	body        []instruction
}

// parseDockerfile splits a Dockerfile into stages: enough of the format
// (comments, "\" continuations, FROM … AS name) for the checks below.
func parseDockerfile(t *testing.T, file string) []stage {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var stages []stage
	var cur strings.Builder
	flush := func() {
		line := strings.TrimSpace(cur.String())
		cur.Reset()
		if line == "" {
			return
		}
		cmd, args, _ := strings.Cut(line, " ")
		in := instruction{strings.ToUpper(cmd), strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			s := stage{image: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.name = f[2]
			}
			stages = append(stages, s)
			return
		}
		if len(stages) > 0 {
			stages[len(stages)-1].body = append(stages[len(stages)-1].body, in)
		}
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		if l, ok := strings.CutSuffix(line, "\\"); ok {
			cur.WriteString(l + " ")
			continue
		}
		cur.WriteString(line)
		flush()
	}
	flush()
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return stages
}

func (s stage) all(cmd string) []string {
	var out []string
	for _, in := range s.body {
		if in.cmd == cmd {
			out = append(out, in.args)
		}
	}
	return out
}

// goBuild finds the stage's go build command: the environment assigned
// before it and its arguments, shell words with '…' quoting undone.
func (s stage) goBuild(t *testing.T) (env, args []string) {
	t.Helper()
	for _, run := range s.all("RUN") {
		for _, cmd := range strings.Split(run, "&&") {
			words := shellWords(cmd)
			for i, w := range words {
				if w == "go" && i+1 < len(words) && words[i+1] == "build" {
					for _, e := range words[:i] {
						if strings.Contains(e, "=") && !strings.HasPrefix(e, "-") {
							env = append(env, e)
						}
					}
					return env, words[i+2:]
				}
			}
		}
	}
	t.Fatalf("stage %s: no go build", s.name)
	return nil, nil
}

var shellWord = regexp.MustCompile(`(?:[^\s']+|'[^']*')+`)

func shellWords(s string) []string {
	var out []string
	for _, w := range shellWord.FindAllString(s, -1) {
		out = append(out, strings.ReplaceAll(w, "'", ""))
	}
	return out
}

// binaries is what the image must hold: the three commands and the probe.
var binaries = []string{"http-service", "mcp-server", "worker", "healthcheck"}

// TestDockerfile checks the image's recipe where no engine can build it:
// the default target is the static CPU build on a non-root distroless
// image with a health check of binaries it holds; the cuda target builds
// with -tags cuda; and the CPU stage's go build command, run here, builds
// the binaries that the final stages copy.
func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t, deployPath("Dockerfile"))
	byName := map[string]stage{}
	for _, s := range stages {
		byName[s.name] = s
	}
	for _, name := range []string{"build", "build-cuda", "cuda", "cpu"} {
		if _, ok := byName[name]; !ok {
			t.Fatalf("no stage %q", name)
		}
	}
	if last := stages[len(stages)-1]; last.name != "cpu" {
		t.Errorf("the last stage, what a plain docker build gives, is %q, want cpu", last.name)
	}
	if img := byName["cpu"].image; !strings.HasPrefix(img, "gcr.io/distroless/static") || !strings.HasSuffix(img, ":nonroot") {
		t.Errorf("cpu stage on %s, want distroless/static :nonroot", img)
	}
	if img := byName["cuda"].image; !strings.HasPrefix(img, "nvidia/cuda:") || !strings.Contains(img, "runtime") {
		t.Errorf("cuda stage on %s, want an nvidia/cuda runtime image", img)
	}

	// The final stages: non-root, a health check on the probe, a command
	// the image holds.
	for _, name := range []string{"cpu", "cuda"} {
		s := byName[name]
		users := s.all("USER")
		if len(users) == 0 || strings.HasPrefix(users[len(users)-1], "0") || strings.HasPrefix(users[len(users)-1], "root") {
			t.Errorf("%s: USER %v: want a non-root user", name, users)
		}
		hc := s.all("HEALTHCHECK")
		if len(hc) != 1 || !strings.Contains(hc[0], `"/usr/local/bin/healthcheck"`) {
			t.Errorf("%s: HEALTHCHECK %v: want one, running /usr/local/bin/healthcheck", name, hc)
		}
		for _, port := range []string{"3001", "3002", "9090"} {
			if len(hc) == 1 && !strings.Contains(hc[0], "http://127.0.0.1:"+port+"/health") {
				t.Errorf("%s: the health check does not probe :%s/health", name, port)
			}
		}
		cmd := s.all("CMD")
		if len(cmd) != 1 || !slices.Contains(binaries, strings.Trim(cmd[0], `[]" `)) {
			t.Errorf("%s: CMD %v: want one of %v", name, cmd, binaries)
		}
		if copies := s.all("COPY"); !slices.ContainsFunc(copies, func(c string) bool {
			return strings.HasPrefix(c, "--from=build") && strings.Contains(c, "/out/ /usr/local/bin/")
		}) {
			t.Errorf("%s: COPY %v: want the build's /out/ into /usr/local/bin/", name, copies)
		}
	}

	env, args := byName["build"].goBuild(t)
	if !slices.Contains(env, "CGO_ENABLED=0") || !slices.Contains(args, "-trimpath") {
		t.Errorf("build: %v go build %v: want CGO_ENABLED=0 and -trimpath", env, args)
	}
	cudaEnv, cudaArgs := byName["build-cuda"].goBuild(t)
	if !slices.Contains(cudaEnv, "CGO_ENABLED=1") || !slices.Contains(cudaArgs, "cuda") || cudaArgs[slices.Index(cudaArgs, "cuda")-1] != "-tags" {
		t.Errorf("build-cuda: %v go build %v: want CGO_ENABLED=1 and -tags cuda", cudaEnv, cudaArgs)
	}

	// The CPU build, as the image runs it, into a temporary /out/.
	out := t.TempDir()
	built := runBuild(t, env, args, out)
	for _, b := range binaries {
		if !slices.Contains(built, b) {
			t.Errorf("the build made %v, no %s", built, b)
		}
	}
	checkDockerignore(t, append(packages(args), packages(cudaArgs)...))
}

// TestDockerfileCUDA runs the cuda stage's build here where the CUDA
// headers are installed (scripts/install-cuda.sh dev), so that a change
// that breaks the -tags cuda build of the three binaries shows without
// an engine.
func TestDockerfileCUDA(t *testing.T) {
	if _, err := os.Stat("/usr/include/cuda.h"); err != nil {
		t.Skip("no /usr/include/cuda.h: scripts/install-cuda.sh dev installs it")
	}
	if testing.Short() {
		t.Skip("-short: the cgo build takes a while")
	}
	env, args := parseStages(t)["build-cuda"].goBuild(t)
	built := runBuild(t, env, args, t.TempDir())
	for _, b := range binaries[:3] {
		if !slices.Contains(built, b) {
			t.Errorf("the cuda build made %v, no %s", built, b)
		}
	}
}

func parseStages(t *testing.T) map[string]stage {
	m := map[string]stage{}
	for _, s := range parseDockerfile(t, deployPath("Dockerfile")) {
		m[s.name] = s
	}
	return m
}

// runBuild runs go build with the Dockerfile's environment and arguments
// from the repository root, its -o directory replaced by out, and returns
// the names of the files it made.
func runBuild(t *testing.T, env, args []string, out string) []string {
	t.Helper()
	args = slices.Clone(args)
	i := slices.Index(args, "-o")
	if i < 0 || i+1 == len(args) || !strings.HasSuffix(args[i+1], "/") {
		t.Fatalf("go build %v: want -o DIR/, so that each package makes its binary", args)
	}
	args[i+1] = out + string(filepath.Separator)
	cmd := exec.Command("go", append([]string{"build"}, args...)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v go build %v: %v\n%s", env, args, err, b)
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// packages returns the package arguments of a go build command.
func packages(args []string) []string {
	var out []string
	for _, a := range args {
		if strings.HasPrefix(a, "./") {
			out = append(out, a)
		}
	}
	return out
}

// checkDockerignore checks that .dockerignore keeps every file the builds
// read: go.mod, go.sum and the files of each package of the module they
// depend on, embedded files included (the cuda kernels' fatbin).
func checkDockerignore(t *testing.T, pkgs []string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for line := range strings.Lines(string(b)) {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			if strings.HasPrefix(line, "!") {
				t.Fatalf(".dockerignore: %q: exceptions are beyond this check", line)
			}
			patterns = append(patterns, strings.TrimPrefix(path.Clean(line), "/"))
		}
	}
	cmd := exec.Command("go", append([]string{"list", "-deps", "-tags", "cuda", "-f",
		`{{if .Module}}{{if .Module.Main}}{{.Dir}}{{range .GoFiles}} {{.}}{{end}}{{range .CgoFiles}} {{.}}{{end}}{{range .EmbedFiles}} {{.}}{{end}}{{end}}{{end}}`}, pkgs...)...)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	files := []string{"go.mod", "go.sum"}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		dir, err := filepath.Rel(abs, f[0])
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range f[1:] {
			files = append(files, filepath.ToSlash(filepath.Join(dir, name)))
		}
	}
	if !slices.Contains(files, "accel/cuda/kernels/dredge.fatbin") {
		t.Errorf("go list: no accel/cuda/kernels/dredge.fatbin among %d files: the check misses embedded files", len(files))
	}
	for _, f := range files {
		for _, p := range patterns {
			if ignored(p, f) {
				t.Errorf(".dockerignore: %q leaves %s out of the build context", p, f)
			}
		}
	}
}

// ignored reports whether the .dockerignore pattern p (cleaned, without
// a leading /) excludes file: a match of file or of one of its parent
// directories, where a leading **/ matches any number of directories.
func ignored(p, file string) bool {
	parts := strings.Split(file, "/")
	for i := 1; i <= len(parts); i++ {
		prefix := strings.Join(parts[:i], "/")
		if ok, _ := path.Match(p, prefix); ok {
			return true
		}
		if rest, ok := strings.CutPrefix(p, "**/"); ok {
			for j := 0; j < i; j++ {
				if ok, _ := path.Match(rest, strings.Join(parts[j:i], "/")); ok {
					return true
				}
			}
		}
	}
	return false
}
