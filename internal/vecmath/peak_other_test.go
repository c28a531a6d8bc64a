//go:build !amd64 || purego

package vecmath

// fmaPeak is 0: there is no vector path to measure against.
func fmaPeak() float64 { return 0 }
