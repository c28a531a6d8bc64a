package accel_test

import (
	"fmt"
	"log"

	"github.com/dredge-cli/dredge/accel"
)

// A single 1D Quasimoto wave, ψ = A·cos(k·x − ω·t)·exp(−½((x − v·t)/σ)²)·
// sin(φ + ε·cos(λ·x)), evaluated on the device at three points.
func ExampleCPU_WaveForward() {
	dev := accel.NewCPU(accel.CPUConfig{})
	f := accel.WaveFamily{Dim: 1, Waves: 1}

	//                 A  k  omega v  log_sigma phi  epsilon lmbda
	params := []float64{2, 1, 0, 0, 0, 1.5, 0, 0}
	// Inputs by column: x, then t.
	inputs := []float64{
		0, 0.5, 1, // x
		0, 0, 0, // t
	}
	n := 3

	pb, err := dev.Alloc(f.NumParams())
	if err != nil {
		log.Fatal(err)
	}
	defer dev.Free(pb)
	ib, err := dev.Alloc(len(inputs))
	if err != nil {
		log.Fatal(err)
	}
	defer dev.Free(ib)
	out, err := dev.Alloc(n)
	if err != nil {
		log.Fatal(err)
	}
	defer dev.Free(out)

	if err := dev.Upload(pb, params); err != nil {
		log.Fatal(err)
	}
	if err := dev.Upload(ib, inputs); err != nil {
		log.Fatal(err)
	}
	if err := dev.WaveForward(f, pb, ib, n, out); err != nil {
		log.Fatal(err)
	}
	psi := make([]float64, n)
	if err := dev.Download(psi, out); err != nil {
		log.Fatal(err)
	}
	for i, x := range inputs[:n] {
		fmt.Printf("ψ(%.1f) = %.6f\n", x, psi[i])
	}
	// Output:
	// ψ(0.0) = 1.994990
	// ψ(0.5) = 1.545048
	// ψ(1.0) = 0.653778
}

func ExampleOpen() {
	dev, warning, err := accel.Open("cpu")
	if err != nil {
		log.Fatal(err)
	}
	info := dev.Info()
	fmt.Println(info.Kind, warning == nil)
	fmt.Println(info.Reason)
	// Output:
	// cpu true
	// DEVICE=cpu
}
