package devicetest_test

import (
	"errors"
	"fmt"

	"github.com/dredge-cli/dredge/accel"
)

// An implementation's test calls devicetest.Run with a constructor:
//
//	func TestCPUDevice(t *testing.T) {
//		devicetest.Run(t, func(t *testing.T) accel.Device {
//			return accel.NewCPU(accel.CPUConfig{})
//		})
//	}
//
// This example walks through two rules the suite checks on every device:
// writes through a view reach the parent buffer, and a short buffer is an
// error, never a panic.
func Example() {
	dev := accel.NewCPU(accel.CPUConfig{})
	parent, _ := dev.Alloc(4)
	view, _ := dev.View(parent, 2, 2)
	_ = dev.Upload(view, []float64{7, 8})
	got := make([]float64, 4)
	_ = dev.Download(got, parent)
	fmt.Println("parent after writing the view:", got)

	out, _ := dev.Alloc(1) // MSE over 3 values needs 3-value buffers
	_, err := dev.MSE(out, out, 3, nil)
	fmt.Println("short buffer is ErrShape:", errors.Is(err, accel.ErrShape))
	// Output:
	// parent after writing the view: [0 0 7 8]
	// short buffer is ErrShape: true
}
