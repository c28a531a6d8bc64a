// dredge.cu is the single translation unit compiled into dredge.fatbin by
// `go generate ./accel/cuda/` (see ../doc.go for the nvcc command): one
// module holding every kernel of the CUDA device.
#include "common.cuh"
#include "waves.cu"
#include "interference.cu"
#include "dense.cu"
