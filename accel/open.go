package accel

import (
	"fmt"
	"strings"
	"sync"
)

// Device kinds accepted by [Open].
const (
	KindAuto = "auto"
	KindCPU  = "cpu"
	KindCUDA = "cuda"
)

var (
	cudaMu     sync.Mutex
	cudaOpener func() (Device, error)
)

// RegisterCUDA installs the constructor of the CUDA device. The accel/cuda
// package calls it from its init function in builds with the cuda tag.
func RegisterCUDA(open func() (Device, error)) {
	cudaMu.Lock()
	defer cudaMu.Unlock()
	cudaOpener = open
}

// Open returns a device of the given kind: "cpu"; "cuda", which falls back
// to the CPU (with the reason in [Info.Reason] and a non-nil warning) when
// this build or machine has no CUDA; or "auto" (and ""), which picks CUDA
// when it is available and the CPU otherwise. An unknown kind is an error.
func Open(kind string) (dev Device, warning error, err error) {
	k := strings.ToLower(strings.TrimSpace(kind))
	cudaMu.Lock()
	opener := cudaOpener
	cudaMu.Unlock()
	switch k {
	case KindCPU:
		return NewCPU(CPUConfig{Reason: "DEVICE=cpu"}), nil, nil
	case KindAuto, "":
		if opener == nil {
			return NewCPU(CPUConfig{Reason: "DEVICE=auto: this build has no CUDA support (build with -tags cuda)"}), nil, nil
		}
		d, cerr := opener()
		if cerr != nil {
			return NewCPU(CPUConfig{Reason: "DEVICE=auto: no usable CUDA device: " + cerr.Error()}), nil, nil
		}
		return d, nil, nil
	case KindCUDA, "gpu":
		if opener == nil {
			reason := "DEVICE=cuda requested but this build has no CUDA support (build with -tags cuda); using the CPU"
			return NewCPU(CPUConfig{Reason: reason}), fmt.Errorf("%w: %s", ErrUnavailable, reason), nil
		}
		d, cerr := opener()
		if cerr != nil {
			reason := "DEVICE=cuda requested but no usable CUDA device: " + cerr.Error() + "; using the CPU"
			return NewCPU(CPUConfig{Reason: reason}), fmt.Errorf("%w: %s", ErrUnavailable, reason), nil
		}
		return d, nil, nil
	}
	return nil, nil, fmt.Errorf("DEVICE: unknown device %q (want auto, cpu or cuda)", kind)
}
