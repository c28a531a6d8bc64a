package dredge

import "github.com/dredge-cli/dredge/accel"

// DeviceInfo is list_capabilities' features.device_info: the Engine's
// device ([accel.Info]: kind, name, workers, …) and the fields the
// original reported about the compute devices, so that its clients keep
// working.
type DeviceInfo struct {
	accel.Info
	// OptimalDevice is the device kind the Engine runs on ("cpu", "cuda").
	OptimalDevice string `json:"optimal_device"`
	// CPUAvailable is always true.
	CPUAvailable bool `json:"cpu_available"`
	// CUDAAvailable reports whether the Engine runs on a CUDA device (not
	// whether the machine has one it does not use).
	CUDAAvailable bool `json:"cuda_available"`
	// MPSAvailable is always false: there is no Apple Metal device.
	MPSAvailable bool `json:"mps_available"`
	// CUDADeviceCount (1) and CUDADeviceName (the GPU's name) are set when
	// the Engine runs on CUDA.
	CUDADeviceCount int    `json:"cuda_device_count,omitempty"`
	CUDADeviceName  string `json:"cuda_device_name,omitempty"`
}

// deviceInfo describes the device of info for list_capabilities.
func deviceInfo(info accel.Info) DeviceInfo {
	d := DeviceInfo{Info: info, OptimalDevice: info.Kind, CPUAvailable: true, CUDAAvailable: info.Kind == accel.KindCUDA}
	if d.CUDAAvailable {
		d.CUDADeviceCount, d.CUDADeviceName = 1, info.Name
	}
	return d
}

// ModelDeviceInfo is a string_theory load_model answer's device_info, as the
// original reported it for the model: its device and shape.
type ModelDeviceInfo struct {
	Device        string `json:"device"`
	CUDAAvailable bool   `json:"cuda_available"`
	MPSAvailable  bool   `json:"mps_available"`
	NumLayers     int    `json:"num_layers"`
	UseBatchNorm  bool   `json:"use_batch_norm"`
}
