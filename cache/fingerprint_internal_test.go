package cache

import (
	"math"
	"testing"
)

func TestFingerprintRefusesNaN(t *testing.T) {
	var e encoder
	if err := e.encode(struct{ Coords []float64 }{[]float64{math.NaN()}}); err == nil {
		t.Error("NaN coordinate: no error")
	}
}
