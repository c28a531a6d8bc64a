package pipeline

import (
	"encoding/json"
	"strconv"

	"github.com/dredge-cli/dredge"
)

// Insights are the original load test's five insights.
var Insights = []string{
	"Digital memory must be human-reachable",
	"Quantum coherence in neural networks",
	"String vibrations encode information",
	"Unified field theory emergence",
	"Spacetime curvature affects computation",
}

// LoadTest is the original's load-test task generator as a [Source]: n
// unified_inference tasks, task i with insight i mod 5, coordinates
// [0.1·(i mod 10), 0.2·(i mod 5), 0.3·(i mod 3)] and modes
// [1 + i mod 3, 2 + i mod 2, 3]; with Repeats every fifth task (i > 0,
// i mod 5 = 0) repeats task i/5, as the original's generate_test_tasks
// does. The 30 distinct tasks are built once, so yielding one costs no
// allocation. Task IDs are the original's ("task_0007",
// "task_0010_repeat") when IDs is set.
type LoadTest struct {
	N       int
	Repeats bool
	IDs     bool

	i       int
	unified []dredge.UnifiedParams // nil until the first Next
	params  [][]byte
}

// base returns the task that task i is (itself, or the one it repeats).
func (g *LoadTest) base(i int) int {
	for g.Repeats && i > 0 && i%5 == 0 {
		i /= 5
	}
	return i
}

func (g *LoadTest) prepare() {
	g.unified = make([]dredge.UnifiedParams, 30)
	g.params = make([][]byte, 30)
	for k := range 30 {
		coords := dredge.Floats{0.1 * float64(k%10), 0.2 * float64(k%5), 0.3 * float64(k%3)}
		modes := dredge.Ints{1 + k%3, 2 + k%2, 3}
		g.unified[k] = dredge.UnifiedParams{Insight: Insights[k%5], Coords: &coords, Modes: &modes}
		g.params[k], _ = json.Marshal(&g.unified[k])
	}
}

// Next implements [Source].
func (g *LoadTest) Next(t *Task) (bool, error) {
	if g.unified == nil {
		g.prepare()
	}
	if g.i >= g.N {
		return false, nil
	}
	i := g.i
	g.i++
	b := g.base(i)
	k := b % 30
	*t = Task{Operation: "unified_inference", Params: g.params[k], Unified: &g.unified[k]}
	if g.IDs {
		t.ID = "task_" + pad4(i)
		if b != i {
			t.ID += "_repeat"
		}
	}
	return true, nil
}

// pad4 formats i as Python's f"{i:04d}".
func pad4(i int) string {
	s := strconv.Itoa(i)
	for len(s) < 4 {
		s = "0" + s
	}
	return s
}
