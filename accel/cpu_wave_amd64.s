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

// The AVX2 kernels: the same, in 4 groups of 4 lanes, the points, times
// and residuals taken from memory.

// ARGS4 forms the group at O: x at O(AX), t at O(BX); constants in Y4–Y9.
#define ARGS4(O) \
	VMULPD  O(AX), Y4, Y10;      \
	VMULPD  O(BX), Y5, Y11;      \
	VSUBPD  Y11, Y10, Y10;       \
	VMOVUPD Y10, O(DI);          \
	VMULPD  O(AX), Y8, Y12;      \
	VMOVUPD Y12, O(DI)(DX*1);    \
	VMULPD  O(BX), Y6, Y13;      \
	VMOVUPD O(AX), Y14;          \
	VSUBPD  Y13, Y14, Y13;       \
	VMULPD  Y7, Y13, Y13;        \
	VMOVUPD Y13, O(R9)(DX*1);    \
	VMULPD  Y13, Y13, Y14;       \
	VMULPD  Y9, Y14, Y14;        \
	VMOVUPD Y14, O(R9)

// func wave1ArgsAVX2(st *waveState[[1]float64], nw int, x, t *[16]float64, f *float64)
TEXT ·wave1ArgsAVX2(SB), NOSPLIT, $0-40
	MOVQ st+0(FP), SI
	MOVQ nw+8(FP), CX
	MOVQ x+16(FP), AX
	MOVQ t+24(FP), BX
	MOVQ f+32(FP), DI
	FIELDS
	MOVQ         $0xBFE0000000000000, R10 // −0.5
	MOVQ         R10, X9
	VBROADCASTSD X9, Y9

args4Loop:
	VBROADCASTSD 48(SI), Y4 // k
	VBROADCASTSD 8(SI), Y5  // ω
	VBROADCASTSD 56(SI), Y6 // v
	VBROADCASTSD 16(SI), Y7 // inv
	VBROADCASTSD 64(SI), Y8 // λ
	ARGS4(0)
	ARGS4(32)
	ARGS4(64)
	ARGS4(96)
	ADDQ $144, SI
	NEXT
	DECQ CX
	JNZ  args4Loop
	VZEROUPPER
	RET

#define SZ4(O) \
	VMULPD  O(R8), Y5, Y0;     \
	VADDPD  Y0, Y4, Y0;        \
	VMOVUPD Y0, O(DI)(DX*4)

// func wave1SzAVX2(st *waveState[[1]float64], nw int, f *float64)
TEXT ·wave1SzAVX2(SB), NOSPLIT, $0-24
	MOVQ st+0(FP), SI
	MOVQ nw+8(FP), CX
	MOVQ f+16(FP), DI
	FIELDS

sz4Loop:
	VBROADCASTSD 24(SI), Y4 // φ
	VBROADCASTSD 32(SI), Y5 // ε
	SZ4(0)
	SZ4(32)
	SZ4(64)
	SZ4(96)
	ADDQ         $144, SI
	NEXT
	DECQ         CX
	JNZ          sz4Loop
	VZEROUPPER
	RET

#define OUT4(O, ACC) \
	VMULPD O(DI)(DX*2), Y4, Y10;  \
	VMULPD O(R9), Y10, Y10;       \
	VMULPD O(DI)(DX*4), Y10, Y10; \
	VMULPD Y10, Y5, Y10;          \
	VADDPD Y10, ACC, ACC

// func wave1OutAVX2(st *waveState[[1]float64], nw int, f *float64, out *[16]float64)
TEXT ·wave1OutAVX2(SB), NOSPLIT, $0-32
	MOVQ st+0(FP), SI
	MOVQ nw+8(FP), CX
	MOVQ f+16(FP), DI
	MOVQ out+24(FP), AX
	FIELDS
	VMOVUPD 0(AX), Y0
	VMOVUPD 32(AX), Y1
	VMOVUPD 64(AX), Y2
	VMOVUPD 96(AX), Y3

out4Loop:
	VBROADCASTSD 0(SI), Y4  // a
	VBROADCASTSD 40(SI), Y5 // h
	OUT4(0, Y0)
	OUT4(32, Y1)
	OUT4(64, Y2)
	OUT4(96, Y3)
	ADDQ $144, SI
	NEXT
	DECQ CX
	JNZ  out4Loop
	VMOVUPD Y0, 0(AX)
	VMOVUPD Y1, 32(AX)
	VMOVUPD Y2, 64(AX)
	VMOVUPD Y3, 96(AX)
	VZEROUPPER
	RET

// SUMS4 is SUMS on the group at O: x at O(AX), t at O(BX), r at O(SI).
#define SUMS4(O) \
	VMOVUPD     O(SI), Y0;              \
	VMULPD      O(R9), Y0, Y0;          \
	VMULPD      O(DI)(DX*4), Y0, Y1;    \
	VMOVUPD     O(DI)(DX*2), Y2;        \
	VMULPD      Y2, Y1, Y3;             \
	VADDPD      Y3, Y8, Y8;             \
	VMULPD      O(DI), Y1, Y4;          \
	VFMADD231PD O(BX), Y4, Y9;          \
	VFMADD231PD O(AX), Y4, Y10;         \
	VMULPD      Y2, Y0, Y5;             \
	VMULPD      O(R8)(DX*2), Y5, Y5;    \
	VADDPD      Y5, Y11, Y11;           \
	VFMADD231PD O(R8), Y5, Y12;         \
	VMULPD      O(DI)(DX*1), Y5, Y6;    \
	VFMADD231PD O(AX), Y6, Y13;         \
	VMULPD      O(R9)(DX*1), Y3, Y7;    \
	VFMADD231PD O(BX), Y7, Y14;         \
	VFMADD231PD O(R9)(DX*1), Y7, Y15

#define REDUCE4(YA, XA, O) \
	VEXTRACTF128 $1, YA, X0; \
	VADDPD       X0, XA, X0; \
	VPERMILPD    $1, X0, X1; \
	VADDSD       X1, X0, X0; \
	VMOVSD       X0, O(R10)

// func wave1SumsAVX2(nw int, f *float64, x, t, r *[16]float64, sums *float64)
TEXT ·wave1SumsAVX2(SB), NOSPLIT, $0-48
	MOVQ nw+0(FP), CX
	MOVQ f+8(FP), DI
	MOVQ x+16(FP), AX
	MOVQ t+24(FP), BX
	MOVQ r+32(FP), SI
	MOVQ sums+40(FP), R10
	FIELDS

sums4Loop:
	VXORPD Y8, Y8, Y8
	VXORPD Y9, Y9, Y9
	VXORPD Y10, Y10, Y10
	VXORPD Y11, Y11, Y11
	VXORPD Y12, Y12, Y12
	VXORPD Y13, Y13, Y13
	VXORPD Y14, Y14, Y14
	VXORPD Y15, Y15, Y15
	SUMS4(0)
	SUMS4(32)
	SUMS4(64)
	SUMS4(96)
	REDUCE4(Y8, X8, 0)
	REDUCE4(Y9, X9, 8)
	REDUCE4(Y10, X10, 16)
	REDUCE4(Y11, X11, 24)
	REDUCE4(Y12, X12, 32)
	REDUCE4(Y13, X13, 40)
	REDUCE4(Y14, X14, 48)
	REDUCE4(Y15, X15, 56)
	ADDQ $64, R10
	NEXT
	DECQ CX
	JNZ  sums4Loop
	VZEROUPPER
	RET
