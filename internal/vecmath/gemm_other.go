//go:build !amd64 || purego

package vecmath

// gemmVecFits is never asked: active is implGeneric here.
func gemmVecFits(m, n, k int) bool { return false }

func gemmVec(implKind, bool, bool, int, int, int, float64, []float64, int, []float64, int, float64, []float64, int) {
	panic("vecmath: no vector path")
}
