//go:build !amd64 || purego

package vecmath

// PeakFMARate is 0: there is no vector path to measure against.
func PeakFMARate() float64 { return 0 }

func fmaPeak() float64 { return 0 }
