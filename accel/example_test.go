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

// A SIREN activation, y = sin(30·x), in a training step: on a device that
// is an ActivateSaver the forward pass keeps what the backward pass needs
// (here in x's buffer, not needed again), and the backward pass gives
// dx = dy·30·cos(30·x) from it.
func ExampleActivateSaver() {
	var dev accel.Device = accel.NewCPU(accel.CPUConfig{})
	saver, ok := dev.(accel.ActivateSaver)
	if !ok {
		log.Fatal("not an ActivateSaver") // use Activate and ActivateBackward
	}
	upload := func(v []float64) accel.Buffer {
		b, err := dev.Alloc(len(v))
		if err != nil {
			log.Fatal(err)
		}
		if err := dev.Upload(b, v); err != nil {
			log.Fatal(err)
		}
		return b
	}
	x := upload([]float64{0, 0.01, 0.05})
	y := upload(make([]float64, 3))
	dy := upload([]float64{1, 1, 1})
	if err := saver.ActivateSave(accel.Sine, 30, x, 3, y, x); err != nil {
		log.Fatal(err)
	}
	if err := saver.ActivateBackwardSaved(accel.Sine, 30, x, dy, 3, dy); err != nil {
		log.Fatal(err)
	}
	out := make([]float64, 3)
	if err := dev.Download(out, y); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("y  %.4f\n", out)
	if err := dev.Download(out, dy); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("dx %.4f\n", out)
	// Output:
	// y  [0.0000 0.2955 0.9975]
	// dx [30.0000 28.6601 2.1221]
}
