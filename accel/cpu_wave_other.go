//go:build !amd64 || purego

package accel

// The 1D wave kernels run the generic code.
const hasWave1AVX2, hasWave1AVX512 = false, false

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

func wave1ArgsAVX2(*waveState[[1]float64], int, *[waveBlock]float64, *[waveBlock]float64, *float64) {
	panic("accel: no AVX-512 wave kernels")
}

func wave1SzAVX2(*waveState[[1]float64], int, *float64) { panic("accel: no AVX-512 wave kernels") }

func wave1OutAVX2(*waveState[[1]float64], int, *float64, *[waveBlock]float64) {
	panic("accel: no AVX-512 wave kernels")
}

func wave1SumsAVX2(int, *float64, *[waveBlock]float64, *[waveBlock]float64, *[waveBlock]float64, *float64) {
	panic("accel: no AVX-512 wave kernels")
}

func wavedArgs(*float64, int, int, *[5][waveBlock]float64, *[waveBlock]float64, *float64) {
	panic("accel: no AVX-512 wave kernels")
}

func wavedSz(*float64, int, int, *float64) { panic("accel: no AVX-512 wave kernels") }

func wavedOut(*float64, int, int, *float64, *[waveBlock]float64) {
	panic("accel: no AVX-512 wave kernels")
}

func wavedSums(int, int, *float64, *[5][waveBlock]float64, *[waveBlock]float64, *[waveBlock]float64, *float64) {
	panic("accel: no AVX-512 wave kernels")
}
