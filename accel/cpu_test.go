package accel_test

import (
	"testing"

	"github.com/dredge-cli/dredge/accel"
	"github.com/dredge-cli/dredge/accel/devicetest"
)

func TestCPUDevice(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  accel.CPUConfig
	}{
		{"default", accel.CPUConfig{}},
		{"workers=1", accel.CPUConfig{Workers: 1}},
		{"workers=3", accel.CPUConfig{Workers: 3}},
		{"portable", accel.CPUConfig{Portable: true}},
		{"portable workers=1", accel.CPUConfig{Workers: 1, Portable: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			devicetest.Run(t, func(*testing.T) accel.Device { return accel.NewCPU(c.cfg) })
		})
	}
}
