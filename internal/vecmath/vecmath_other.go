//go:build !amd64 || purego

package vecmath

// bestImpl is the fastest path this CPU runs: here only the portable one.
func bestImpl() implKind { return implGeneric }

// The vector kernels exist only on amd64; active is never anything but
// implGeneric here, so these are never called.

func sincosVec(implKind, []float64, []float64, []float64, float64, []float64, float64) {
	panic("vecmath: no vector path")
}
func mulScaledVec(implKind, []float64, []float64, []float64, float64) {
	panic("vecmath: no vector path")
}
func expVec(implKind, []float64, []float64)  { panic("vecmath: no vector path") }
func tanhVec(implKind, []float64, []float64) { panic("vecmath: no vector path") }
