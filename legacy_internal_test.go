package dredge

import (
	"encoding/json"
	"testing"

	"github.com/dredge-cli/dredge/accel"
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

// features.device_info carries the original's device fields beside ours.
func TestDeviceInfoLegacyFields(t *testing.T) {
	for _, tt := range []struct {
		info accel.Info
		want string
	}{
		{accel.Info{Kind: "cpu", Name: "linux/amd64 CPU", Workers: 2},
			`{"kind":"cpu","name":"linux/amd64 CPU","workers":2,"optimal_device":"cpu","cpu_available":true,"cuda_available":false,"mps_available":false}`},
		{accel.Info{Kind: "cuda", Name: "NVIDIA H100", Workers: 132, ComputeCapability: "9.0"},
			`{"kind":"cuda","name":"NVIDIA H100","workers":132,"compute_capability":"9.0","optimal_device":"cuda","cpu_available":true,` +
				`"cuda_available":true,"mps_available":false,"cuda_device_count":1,"cuda_device_name":"NVIDIA H100"}`},
	} {
		b, err := json.Marshal(deviceInfo(tt.info))
		if err != nil || string(b) != tt.want {
			t.Errorf("device_info of %+v:\n got %s\nwant %s", tt.info, b, tt.want)
		}
	}
}
