package deploytest

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// exposition is what a /metrics text says: each family's type, and the
// label names each sample name carries.
type exposition struct {
	types  map[string]string          // family → counter, gauge, histogram…
	labels map[string]map[string]bool // sample name → its label names
}

var sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? `)
var labelName = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"`)

func parseExposition(text string) exposition {
	e := exposition{types: map[string]string{}, labels: map[string]map[string]bool{}}
	for line := range strings.Lines(text) {
		if f := strings.Fields(line); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			e.types[f[2]] = f[3]
			continue
		}
		m := sampleLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		set := e.labels[m[1]]
		if set == nil {
			set = map[string]bool{}
			e.labels[m[1]] = set
		}
		for _, l := range labelName.FindAllStringSubmatch(m[3], -1) {
			set[l[1]] = true
		}
	}
	return e
}

// Patterns of a minimal PromQL reading: enough to find the series a query
// names and the labels it matches or groups on, not to parse PromQL.
var (
	quoted   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	series   = regexp.MustCompile(`\b(?:dredge|go|process)_[a-zA-Z0-9_:]*|\btarget_info\b`)
	selector = regexp.MustCompile(`\b((?:dredge|go|process)_[a-zA-Z0-9_:]*|target_info)\s*\{([^}]*)\}`)
	matcher  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)`)
	grouping = regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`)
)

// targetLabels are the labels Prometheus adds to every series it scrapes
// (job, instance) or that histogram_quantile needs (le, on every bucket).
var targetLabels = map[string]bool{"job": true, "instance": true, "le": true}

// check returns a problem for each series q names that the exposition has
// not (histogram samples by their _bucket, _sum or _count name), and each
// label q matches or groups on that none of its series carries.
func (e exposition) check(q string) []string {
	var problems []string
	// Label values ("job_run", "$job") are not series.
	bare := quoted.ReplaceAllString(q, `""`)
	labels := map[string]bool{}
	for _, name := range slices.Compact(slices.Sorted(slices.Values(series.FindAllString(bare, -1)))) {
		set, ok := e.labels[name]
		if !ok || e.types[name] == "histogram" {
			problems = append(problems, fmt.Sprintf("series %s is not in /metrics%s", name, e.hint(name)))
			continue
		}
		for l := range set {
			labels[l] = true
		}
	}
	if len(problems) > 0 {
		return problems // the labels of a missing series tell nothing
	}
	for _, m := range selector.FindAllStringSubmatch(bare, -1) {
		for _, l := range matcher.FindAllStringSubmatch(m[2], -1) {
			if !targetLabels[l[1]] && !e.labels[m[1]][l[1]] {
				problems = append(problems, fmt.Sprintf("label %q is not on %s", l[1], m[1]))
			}
		}
	}
	for _, g := range grouping.FindAllStringSubmatch(bare, -1) {
		for _, l := range strings.Split(g[1], ",") {
			if l = strings.TrimSpace(l); l != "" && !targetLabels[l] && !labels[l] {
				problems = append(problems, fmt.Sprintf("label %q is not on any series of the query", l))
			}
		}
	}
	return problems
}

// hint says what a histogram's samples are called, for the common slip.
func (e exposition) hint(name string) string {
	if e.types[name] == "histogram" {
		return fmt.Sprintf(" (a histogram: query %[1]s_bucket, %[1]s_sum or %[1]s_count)", name)
	}
	return ""
}

// dashboardQueries returns the PromQL of a Grafana dashboard: each
// panel's targets (rows' panels too) and each query variable.
func dashboardQueries(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	type target struct {
		Expr string `json:"expr"`
	}
	type panel struct {
		Title   string   `json:"title"`
		Targets []target `json:"targets"`
		Panels  []panel  `json:"panels"`
	}
	var d struct {
		Title      string  `json:"title"`
		UID        string  `json:"uid"`
		Panels     []panel `json:"panels"`
		Templating struct {
			List []struct {
				Type  string          `json:"type"`
				Query json.RawMessage `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if d.Title == "" || d.UID == "" {
		t.Errorf("%s: title %q, uid %q: Grafana provisions a dashboard by its uid", path, d.Title, d.UID)
	}
	var out []string
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, tg := range p.Targets {
				if strings.TrimSpace(tg.Expr) == "" {
					t.Errorf("%s: panel %q has a target without expr", path, p.Title)
					continue
				}
				out = append(out, tg.Expr)
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		// A string, or {"query": "…"} in newer Grafana.
		var s string
		if json.Unmarshal(v.Query, &s) != nil {
			var o struct {
				Query string `json:"query"`
			}
			if err := json.Unmarshal(v.Query, &o); err != nil {
				t.Errorf("%s: variable query %s: %v", path, v.Query, err)
			}
			s = o.Query
		}
		out = append(out, s)
	}
	return out
}
