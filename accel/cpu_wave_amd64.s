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

// The 3- and 5-axis kernels on AVX-512 (see waveDForward): d axes, f's
// fields sn, sm, cs, cm, sz, cz, env, then u for each axis (from R9+DX);
// x holds the d columns of 16 points; st is waveState[V] (stride
// 96+48·d: k at 48, v at 48+8·d, λ at 48+16·d).

// ARGSD adds the axis's terms of the group at O (x in X, t in T; k, v, λ,
// inv in Z4, Z6, Z8, Z7) to s, e, m in S, E, M and stores its u.
#define ARGSD(O, X, T, S, E, M) \
	VMULPD  Z4, X, Z10;   \
	VADDPD  Z10, S, S;    \
	VMULPD  Z8, X, Z10;   \
	VADDPD  Z10, M, M;    \
	VMULPD  Z6, T, Z11;   \
	VSUBPD  Z11, X, Z11;  \
	VMULPD  Z7, Z11, Z11; \
	VMOVUPD Z11, O(R14);  \
	VMULPD  Z11, Z11, Z12; \
	VADDPD  Z12, E, E

// SUMSD accumulates the group at O (t in T, r in R) into the sums of P,
// B·t, D, D·cm (Z8, Z9, Z11, Z12) and leaves B, D·sm, P, P·t in ZB, ZD,
// ZP, ZQ for the axes.
#define SUMSD(O, T, R, ZB, ZD, ZP, ZQ) \
	VMULPD      O(R9), R, Z24;         \
	VMULPD      O(DI)(DX*4), Z24, Z25; \
	VMOVUPD     O(DI)(DX*2), Z30;      \
	VMULPD      Z30, Z25, ZP;          \
	VADDPD      ZP, Z8, Z8;            \
	VMULPD      O(DI), Z25, ZB;        \
	VFMADD231PD T, ZB, Z9;             \
	VMULPD      Z30, Z24, Z31;         \
	VMULPD      O(R8)(DX*2), Z31, Z31; \
	VADDPD      Z31, Z11, Z11;         \
	VFMADD231PD O(R8), Z31, Z12;       \
	VMULPD      O(DI)(DX*1), Z31, ZD;  \
	VMULPD      T, ZP, ZQ

// REDUCEP stores the sum of ZA's lanes (low half YA) at P.
#define REDUCEP(ZA, YA, P) \
	VEXTRACTF64X4 $1, ZA, Y0; \
	VADDPD        Y0, YA, Y0; \
	VEXTRACTF128  $1, Y0, X1; \
	VADDPD        X1, X0, X0; \
	VPERMILPD     $1, X0, X1; \
	VADDSD        X1, X0, X0; \
	VMOVSD        X0, P

// func wavedArgs(st *float64, d, nw int, x *[5][16]float64, t *[16]float64, f *float64)
TEXT ·wavedArgs(SB), NOSPLIT, $0-48
	MOVQ   st+0(FP), SI
	MOVQ   d+8(FP), R13
	MOVQ   nw+16(FP), CX
	MOVQ   x+24(FP), AX
	MOVQ   t+32(FP), BX
	MOVQ   f+40(FP), DI
	FIELDS
	IMUL3Q $48, R13, R15
	ADDQ   $96, R15 // st stride
	SHLQ   $3, R13  // 8·d
	VMOVUPD 0(BX), Z2
	VMOVUPD 64(BX), Z3
	MOVQ    $0xBFE0000000000000, R10 // −0.5
	VPBROADCASTQ R10, Z9

argsdLoop:
	VBROADCASTSD 8(SI), Z5  // ω
	VBROADCASTSD 16(SI), Z7 // inv
	VPXORQ       Z16, Z16, Z16 // s
	VPXORQ       Z17, Z17, Z17
	VPXORQ       Z18, Z18, Z18 // e
	VPXORQ       Z19, Z19, Z19
	VPXORQ       Z20, Z20, Z20 // m
	VPXORQ       Z21, Z21, Z21
	LEAQ         48(SI), R12   // k of the axis
	MOVQ         AX, R11       // x of the axis
	LEAQ         (R9)(DX*1), R14 // u of the axis
	MOVQ         R13, R10
	SHRQ         $3, R10

argsdAxis:
	VBROADCASTSD (R12), Z4        // k
	VBROADCASTSD (R12)(R13*1), Z6 // v
	VBROADCASTSD (R12)(R13*2), Z8 // λ
	VMOVUPD      0(R11), Z0
	VMOVUPD      64(R11), Z1
	ARGSD(0, Z0, Z2, Z16, Z18, Z20)
	ARGSD(64, Z1, Z3, Z17, Z19, Z21)
	ADDQ         $8, R12
	ADDQ         $128, R11
	ADDQ         DX, R14
	DECQ         R10
	JNZ          argsdAxis
	VMULPD       Z5, Z2, Z10
	VSUBPD       Z10, Z16, Z16
	VMOVUPD      Z16, 0(DI)
	VMULPD       Z5, Z3, Z10
	VSUBPD       Z10, Z17, Z17
	VMOVUPD      Z17, 64(DI)
	VMOVUPD      Z20, 0(DI)(DX*1)
	VMOVUPD      Z21, 64(DI)(DX*1)
	VMULPD       Z9, Z18, Z18
	VMOVUPD      Z18, 0(R9)
	VMULPD       Z9, Z19, Z19
	VMOVUPD      Z19, 64(R9)
	ADDQ         R15, SI
	NEXT
	DECQ         CX
	JNZ          argsdLoop
	VZEROUPPER
	RET

// func wavedSz(st *float64, stride, nw int, f *float64)
TEXT ·wavedSz(SB), NOSPLIT, $0-32
	MOVQ st+0(FP), SI
	MOVQ stride+8(FP), R15
	MOVQ nw+16(FP), CX
	MOVQ f+24(FP), DI
	FIELDS

szdLoop:
	VBROADCASTSD 24(SI), Z4 // φ
	VBROADCASTSD 32(SI), Z5 // ε
	VMULPD       0(R8), Z5, Z0
	VADDPD       Z0, Z4, Z0
	VMOVUPD      Z0, 0(DI)(DX*4)
	VMULPD       64(R8), Z5, Z1
	VADDPD       Z1, Z4, Z1
	VMOVUPD      Z1, 64(DI)(DX*4)
	ADDQ         R15, SI
	NEXT
	DECQ         CX
	JNZ          szdLoop
	VZEROUPPER
	RET

// func wavedOut(st *float64, stride, nw int, f *float64, out *[16]float64)
TEXT ·wavedOut(SB), NOSPLIT, $0-40
	MOVQ st+0(FP), SI
	MOVQ stride+8(FP), R15
	MOVQ nw+16(FP), CX
	MOVQ f+24(FP), DI
	MOVQ out+32(FP), AX
	FIELDS
	VMOVUPD 0(AX), Z0
	VMOVUPD 64(AX), Z1

outdLoop:
	VBROADCASTSD 0(SI), Z4  // a
	VBROADCASTSD 40(SI), Z5 // h
	OUT(0, Z0)
	OUT(64, Z1)
	ADDQ R15, SI
	NEXT
	DECQ CX
	JNZ  outdLoop
	VMOVUPD Z0, 0(AX)
	VMOVUPD Z1, 64(AX)
	VZEROUPPER
	RET

// func wavedSums(d, nw int, f *float64, x *[5][16]float64, t, r *[16]float64, sums *float64)
//
// Per wave, into 5+3·d sums: P, B·t, D, D·cm, P·Σu², then per axis B·x,
// D·sm·x, P·t·u (see SUMS).
TEXT ·wavedSums(SB), NOSPLIT, $0-56
	MOVQ d+0(FP), R13
	MOVQ nw+8(FP), CX
	MOVQ f+16(FP), DI
	MOVQ x+24(FP), AX
	MOVQ t+32(FP), BX
	MOVQ r+40(FP), SI
	MOVQ sums+48(FP), R10
	FIELDS
	VMOVUPD 0(BX), Z26
	VMOVUPD 64(BX), Z27
	VMOVUPD 0(SI), Z28
	VMOVUPD 64(SI), Z29
	IMUL3Q  $24, R13, SI
	ADDQ    $40, SI // sums stride

sumsdLoop:
	VPXORQ Z8, Z8, Z8
	VPXORQ Z9, Z9, Z9
	VPXORQ Z11, Z11, Z11
	VPXORQ Z12, Z12, Z12
	VPXORQ Z15, Z15, Z15
	SUMSD(0, Z26, Z28, Z16, Z17, Z18, Z19)
	SUMSD(64, Z27, Z29, Z20, Z21, Z22, Z23)
	MOVQ AX, R11
	LEAQ (R9)(DX*1), R14
	LEAQ 40(R10), R12
	MOVQ R13, R15

sumsdAxis:
	VMULPD      0(R11), Z16, Z10
	VFMADD231PD 64(R11), Z20, Z10
	VMULPD      0(R11), Z17, Z13
	VFMADD231PD 64(R11), Z21, Z13
	VMULPD      0(R14), Z19, Z14
	VFMADD231PD 64(R14), Z23, Z14
	VMULPD      0(R14), Z18, Z24
	VFMADD231PD 0(R14), Z24, Z15
	VMULPD      64(R14), Z22, Z24
	VFMADD231PD 64(R14), Z24, Z15
	REDUCEP(Z10, Y10, 0(R12))
	REDUCEP(Z13, Y13, 8(R12))
	REDUCEP(Z14, Y14, 16(R12))
	ADDQ        $128, R11
	ADDQ        DX, R14
	ADDQ        $24, R12
	DECQ        R15
	JNZ         sumsdAxis
	REDUCEP(Z8, Y8, 0(R10))
	REDUCEP(Z9, Y9, 8(R10))
	REDUCEP(Z11, Y11, 16(R10))
	REDUCEP(Z12, Y12, 24(R10))
	REDUCEP(Z15, Y15, 32(R10))
	ADDQ SI, R10
	NEXT
	DECQ CX
	JNZ  sumsdLoop
	VZEROUPPER
	RET
