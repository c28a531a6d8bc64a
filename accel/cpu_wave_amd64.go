//go:build amd64 && !purego

package accel

import "golang.org/x/sys/cpu"

// hasWave1AVX2 and hasWave1AVX512 report whether the 1D wave kernels'
// AVX2 and AVX-512 loops (cpu_wave_amd64.s) can run; the CPU device takes
// them only where internal/vecmath runs the same path.
var (
	hasWave1AVX2   = cpu.X86.HasAVX2 && cpu.X86.HasFMA
	hasWave1AVX512 = hasWave1AVX2 && cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ
)

// The kernels of cpu_wave_amd64.s, over the nw ≥ 1 waves st and the
// scratch f of [wave1Forward]: wave1Args forms the arguments sn, sm, u and
// env (−½u²) of the 16 points x, t; wave1Sz sets sz = φ + ε·cm; wave1Out
// adds each wave's h·a·cs·env·sz to out; wave1Sums writes, per wave, the 8
// sums over the points (residuals r) that [wave1Grad] turns into the
// gradient. The AVX2 versions do the same in 4-lane vectors.

//go:noescape
func wave1Args(st *waveState[[1]float64], nw int, x, t *[waveBlock]float64, f *float64)

//go:noescape
func wave1Sz(st *waveState[[1]float64], nw int, f *float64)

//go:noescape
func wave1Out(st *waveState[[1]float64], nw int, f *float64, out *[waveBlock]float64)

//go:noescape
func wave1Sums(nw int, f *float64, x, t, r *[waveBlock]float64, sums *float64)

//go:noescape
func wave1ArgsAVX2(st *waveState[[1]float64], nw int, x, t *[waveBlock]float64, f *float64)

//go:noescape
func wave1SzAVX2(st *waveState[[1]float64], nw int, f *float64)

//go:noescape
func wave1OutAVX2(st *waveState[[1]float64], nw int, f *float64, out *[waveBlock]float64)

//go:noescape
func wave1SumsAVX2(nw int, f *float64, x, t, r *[waveBlock]float64, sums *float64)

// The 3- and 5-axis kernels on AVX-512 (see [waveDForward]): st points at
// the first wave's state (stride bytes apart), d is the number of axes.

//go:noescape
func wavedArgs(st *float64, d, nw int, x *[5][waveBlock]float64, t *[waveBlock]float64, f *float64)

//go:noescape
func wavedSz(st *float64, stride, nw int, f *float64)

//go:noescape
func wavedOut(st *float64, stride, nw int, f *float64, out *[waveBlock]float64)

//go:noescape
func wavedSums(d, nw int, f *float64, x *[5][waveBlock]float64, t, r *[waveBlock]float64, sums *float64)
