package golden

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the golden directory: $DREDGE_GOLDEN_DIR, or ../shared/golden
// next to the repository root found by walking up to go.mod.
func Dir() (string, error) {
	if d := os.Getenv("DREDGE_GOLDEN_DIR"); d != "" {
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "..", "shared", "golden"), nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("golden: no go.mod above " + wd)
		}
	}
}

// Load decodes the named file of the golden directory into v. When
// DREDGE_GOLDEN_DIR is unset and the default directory is missing the test
// is skipped; with DREDGE_GOLDEN_DIR set a missing file fails the test.
func Load(t testing.TB, name string, v any) {
	t.Helper()
	dir, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		if os.Getenv("DREDGE_GOLDEN_DIR") == "" && errors.Is(err, os.ErrNotExist) {
			t.Skipf("golden vectors not found at %s: set DREDGE_GOLDEN_DIR", dir)
		}
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("golden %s: %v", name, err)
	}
}

// Tolerances of the reference's README: 1e-9 relative with 1e-12 absolute
// for forward values, 1e-6 relative for training trajectories.
const (
	ForwardRel  = 1e-9
	ForwardAbs  = 1e-12
	TrainingRel = 1e-6
)

// Close reports whether got is within rel relative or abs absolute of want.
func Close(got, want, rel, abs float64) bool {
	if math.IsNaN(got) || math.IsNaN(want) {
		return false
	}
	d := math.Abs(got - want)
	return d <= abs || d <= rel*math.Abs(want)
}

// CheckSlice fails t for every element of got not close to want.
func CheckSlice(t testing.TB, what string, got, want []float64, rel, abs float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %d values, want %d", what, len(got), len(want))
		return
	}
	bad := 0
	for i := range want {
		if !Close(got[i], want[i], rel, abs) {
			if bad < 5 {
				t.Errorf("%s[%d] = %.17g, want %.17g (rel err %.3g)", what, i, got[i], want[i], math.Abs(got[i]-want[i])/math.Abs(want[i]))
			}
			bad++
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d values out of tolerance in all", what, bad)
	}
}

// Fmt formats a case label.
func Fmt(format string, args ...any) string { return fmt.Sprintf(format, args...) }
