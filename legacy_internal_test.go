package dredge

import (
	"testing"

	"github.com/dredge-cli/dredge/stringtheory"
)

// unified_inference answers the coordinates under the original's name,
// quasimoto_coordinates, beside quasimoto_coords; the hand-written encoder
// writes what encoding/json writes.
func TestUnifiedAppendJSONLegacyCoordinates(t *testing.T) {
	r := &UnifiedResult{Success: true}
	r.UnifiedResult, _ = stringtheory.DefaultVibration.UnifiedInference("x", []float64{0.25, -3}, []int{2})
	r.QuasimotoCoordinates = r.Coords
	type plain UnifiedResult
	checkAppend(t, r, (*plain)(r))
}
