//go:build amd64 && !purego

#include "textflag.h"

// The 1D wave kernels' per-wave loops on AVX-512 (see cpu_wave_amd64.go).
// f holds 8 fields of nw×16 values (sn, sm, cs, cm, sz, cz, env, u; wave
// j's 16 lanes at 16·j); DX is a field's stride in bytes (nw·128) and the
// waves' lanes are addressed from DI (sn, sm, cs, sz), R8 (cm, cz) and R9
// (env, u). waveState[[1]float64]: a 0, omega 8, inv 16, phi 24, eps 32,
// h 40, k 48, v 56, lm 64; 144 bytes.

#define FIELDS \
	MOVQ CX, DX;                \
	SHLQ $7, DX;                \
	LEAQ (DI)(DX*2), R8;        \
	ADDQ DX, R8;                \
	LEAQ (R8)(DX*2), R9;        \
	ADDQ DX, R9

#define NEXT \
	ADDQ $128, DI; \
	ADDQ $128, R8; \
	ADDQ $128, R9

// ARGS forms one 8-lane group at offset O: x in X, t in T.
#define ARGS(O, X, T) \
	VMULPD Z4, X, Z10;           \
	VMULPD Z5, T, Z11;           \
	VSUBPD Z11, Z10, Z10;        \
	VMOVUPD Z10, O(DI);          \
	VMULPD Z8, X, Z12;           \
	VMOVUPD Z12, O(DI)(DX*1);    \
	VMULPD Z6, T, Z13;           \
	VSUBPD Z13, X, Z13;          \
	VMULPD Z7, Z13, Z13;         \
	VMOVUPD Z13, O(R9)(DX*1);    \
	VMULPD Z13, Z13, Z14;        \
	VMULPD Z9, Z14, Z14;         \
	VMOVUPD Z14, O(R9)

// func wave1Args(st *waveState[[1]float64], nw int, x, t *[16]float64, f *float64)
TEXT ·wave1Args(SB), NOSPLIT, $0-40
	MOVQ st+0(FP), SI
	MOVQ nw+8(FP), CX
	MOVQ x+16(FP), AX
	MOVQ t+24(FP), BX
	MOVQ f+32(FP), DI
	FIELDS
	VMOVUPD 0(AX), Z0
	VMOVUPD 64(AX), Z1
	VMOVUPD 0(BX), Z2
	VMOVUPD 64(BX), Z3
	MOVQ    $0xBFE0000000000000, AX // −0.5
	VPBROADCASTQ AX, Z9

argsLoop:
	VBROADCASTSD 48(SI), Z4 // k
	VBROADCASTSD 8(SI), Z5  // ω
	VBROADCASTSD 56(SI), Z6 // v
	VBROADCASTSD 16(SI), Z7 // inv
	VBROADCASTSD 64(SI), Z8 // λ
	ARGS(0, Z0, Z2)
	ARGS(64, Z1, Z3)
	ADDQ $144, SI
	NEXT
	DECQ CX
	JNZ  argsLoop
	VZEROUPPER
	RET

// func wave1Sz(st *waveState[[1]float64], nw int, f *float64)
TEXT ·wave1Sz(SB), NOSPLIT, $0-24
	MOVQ st+0(FP), SI
	MOVQ nw+8(FP), CX
	MOVQ f+16(FP), DI
	FIELDS

szLoop:
	VBROADCASTSD 24(SI), Z4 // φ
	VBROADCASTSD 32(SI), Z5 // ε
	VMULPD       0(R8), Z5, Z0
	VADDPD       Z0, Z4, Z0
	VMOVUPD      Z0, 0(DI)(DX*4)
	VMULPD       64(R8), Z5, Z1
	VADDPD       Z1, Z4, Z1
	VMOVUPD      Z1, 64(DI)(DX*4)
	ADDQ         $144, SI
	NEXT
	DECQ         CX
	JNZ          szLoop
	VZEROUPPER
	RET

// OUT adds h·(a·cs·env·sz) of the group at O to acc.
#define OUT(O, ACC) \
	VMULPD O(DI)(DX*2), Z4, Z10; \
	VMULPD O(R9), Z10, Z10;      \
	VMULPD O(DI)(DX*4), Z10, Z10; \
	VMULPD Z10, Z5, Z10;         \
	VADDPD Z10, ACC, ACC

// func wave1Out(st *waveState[[1]float64], nw int, f *float64, out *[16]float64)
TEXT ·wave1Out(SB), NOSPLIT, $0-32
	MOVQ st+0(FP), SI
	MOVQ nw+8(FP), CX
	MOVQ f+16(FP), DI
	MOVQ out+24(FP), AX
	FIELDS
	VMOVUPD 0(AX), Z0
	VMOVUPD 64(AX), Z1

outLoop:
	VBROADCASTSD 0(SI), Z4  // a
	VBROADCASTSD 40(SI), Z5 // h
	OUT(0, Z0)
	OUT(64, Z1)
	ADDQ $144, SI
	NEXT
	DECQ CX
	JNZ  outLoop
	VMOVUPD Z0, 0(AX)
	VMOVUPD Z1, 64(AX)
	VZEROUPPER
	RET

// SUMS accumulates the group at O (x in X, t in T, r in R) into Z8–Z15:
// with R = r·env, A = R·sz, P = A·cs, B = A·sn, D = R·cs·cz the sums of
// P, B·t, B·x, D, D·cm, D·sm·x, P·u·t, P·u·u.
#define SUMS(O, X, T, R) \
	VMULPD      O(R9), R, Z16;          \
	VMULPD      O(DI)(DX*4), Z16, Z17;  \
	VMOVUPD     O(DI)(DX*2), Z18;       \
	VMULPD      Z18, Z17, Z19;          \
	VADDPD      Z19, Z8, Z8;            \
	VMULPD      O(DI), Z17, Z20;        \
	VFMADD231PD T, Z20, Z9;             \
	VFMADD231PD X, Z20, Z10;            \
	VMULPD      Z18, Z16, Z21;          \
	VMULPD      O(R8)(DX*2), Z21, Z21;  \
	VADDPD      Z21, Z11, Z11;          \
	VFMADD231PD O(R8), Z21, Z12;        \
	VMULPD      O(DI)(DX*1), Z21, Z22;  \
	VFMADD231PD X, Z22, Z13;            \
	VMULPD      O(R9)(DX*1), Z19, Z23;  \
	VFMADD231PD T, Z23, Z14;            \
	VFMADD231PD O(R9)(DX*1), Z23, Z15

// REDUCE stores the sum of ZA's lanes (low half YA) at O(R10).
#define REDUCE(ZA, YA, O) \
	VEXTRACTF64X4 $1, ZA, Y0; \
	VADDPD        Y0, YA, Y0; \
	VEXTRACTF128  $1, Y0, X1; \
	VADDPD        X1, X0, X0; \
	VPERMILPD     $1, X0, X1; \
	VADDSD        X1, X0, X0; \
	VMOVSD        X0, O(R10)

// func wave1Sums(nw int, f *float64, x, t, r *[16]float64, sums *float64)
TEXT ·wave1Sums(SB), NOSPLIT, $0-48
	MOVQ nw+0(FP), CX
	MOVQ f+8(FP), DI
	MOVQ x+16(FP), AX
	MOVQ t+24(FP), BX
	MOVQ r+32(FP), SI
	MOVQ sums+40(FP), R10
	FIELDS
	VMOVUPD 0(AX), Z26
	VMOVUPD 64(AX), Z27
	VMOVUPD 0(BX), Z28
	VMOVUPD 64(BX), Z29
	VMOVUPD 0(SI), Z30
	VMOVUPD 64(SI), Z31

sumsLoop:
	VPXORQ Z8, Z8, Z8
	VPXORQ Z9, Z9, Z9
	VPXORQ Z10, Z10, Z10
	VPXORQ Z11, Z11, Z11
	VPXORQ Z12, Z12, Z12
	VPXORQ Z13, Z13, Z13
	VPXORQ Z14, Z14, Z14
	VPXORQ Z15, Z15, Z15
	SUMS(0, Z26, Z28, Z30)
	SUMS(64, Z27, Z29, Z31)
	REDUCE(Z8, Y8, 0)
	REDUCE(Z9, Y9, 8)
	REDUCE(Z10, Y10, 16)
	REDUCE(Z11, Y11, 24)
	REDUCE(Z12, Y12, 32)
	REDUCE(Z13, Y13, 40)
	REDUCE(Z14, Y14, 48)
	REDUCE(Z15, Y15, 56)
	ADDQ $64, R10
	NEXT
	DECQ CX
	JNZ  sumsLoop
	VZEROUPPER
	RET
