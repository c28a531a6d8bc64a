//go:build cuda

package cuda_test

import (
	"fmt"
	"log"

	"github.com/dredge-cli/dredge/accel"
	"github.com/dredge-cli/dredge/accel/cuda"
)

// Evaluate one 1D Quasimoto wave at three points on the GPU. (Not run by
// go test: its output depends on the machine having a GPU.)
func ExampleNew() {
	dev, err := cuda.New(cuda.Config{})
	if err != nil {
		log.Fatal(err) // wraps accel.ErrUnavailable without a usable GPU
	}
	defer dev.Close()
	fmt.Println(dev.Info().Name, dev.Info().ComputeCapability)

	f := accel.WaveFamily{Dim: 1, Waves: 1}
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
	params := upload([]float64{1, 2, 0.5, 0, 0, 1.5, 0.3, 1}) // A k ω v log σ φ ε λ
	inputs := upload([]float64{-0.5, 0, 0.5, 0, 0, 0})        // x column, then t
	out, err := dev.Alloc(3)
	if err != nil {
		log.Fatal(err)
	}
	if err := dev.WaveForward(f, params, inputs, 3, out); err != nil {
		log.Fatal(err)
	}
	psi := make([]float64, 3)
	if err := dev.Download(psi, out); err != nil { // waits for the kernel
		log.Fatal(err)
	}
	fmt.Printf("%.6f\n", psi)
}
