//go:build !amd64 || purego

package accel

// hasWave1AVX512 is false: the 1D wave kernels run the generic code.
const hasWave1AVX512 = false

func wave1Args(*waveState[[1]float64], int, *[waveBlock]float64, *[waveBlock]float64, *float64) {
	panic("accel: no AVX-512 wave kernels")
}

func wave1Sz(*waveState[[1]float64], int, *float64) { panic("accel: no AVX-512 wave kernels") }

func wave1Out(*waveState[[1]float64], int, *float64, *[waveBlock]float64) {
	panic("accel: no AVX-512 wave kernels")
}

func wave1Sums(int, *float64, *[waveBlock]float64, *[waveBlock]float64, *[waveBlock]float64, *float64) {
	panic("accel: no AVX-512 wave kernels")
}
