//go:build cuda

package dredge

// In builds with the cuda tag, the CUDA device registers itself with
// accel.RegisterCUDA, so that DEVICE=auto picks the GPU when there is one
// and DEVICE=cuda uses it.
import _ "github.com/dredge-cli/dredge/accel/cuda"
