//go:build amd64 && !purego

#include "textflag.h"

// Constants: ·vc holds each in 8 lanes (64 bytes); the order is the k*
// constants' in vecmath_amd64.go.
#define ABS ·vc+0(SB)
#define SIGN ·vc+64(SB)
#define FOURPI ·vc+128(SB)
#define HALF ·vc+192(SB)
#define ONE ·vc+256(SB)
#define LIMIT ·vc+320(SB)
#define MAGIC52 ·vc+384(SB)
#define PI4A ·vc+448(SB)
#define PI4B ·vc+512(SB)
#define PI4C ·vc+576(SB)
#define SIN0 ·vc+640(SB)
#define SIN1 ·vc+704(SB)
#define SIN2 ·vc+768(SB)
#define SIN3 ·vc+832(SB)
#define SIN4 ·vc+896(SB)
#define SIN5 ·vc+960(SB)
#define COS0 ·vc+1024(SB)
#define COS1 ·vc+1088(SB)
#define COS2 ·vc+1152(SB)
#define COS3 ·vc+1216(SB)
#define COS4 ·vc+1280(SB)
#define COS5 ·vc+1344(SB)
#define LOG2E ·vc+1408(SB)
#define LN2HI ·vc+1472(SB)
#define LN2LO ·vc+1536(SB)
#define EXPMAX ·vc+1600(SB)
#define EXPMIN ·vc+1664(SB)
#define RNDMAGIC ·vc+1728(SB)
#define BIAS52 ·vc+1792(SB)
#define EXP13 ·vc+1856(SB)
#define EXP12 ·vc+1920(SB)
#define EXP11 ·vc+1984(SB)
#define EXP10 ·vc+2048(SB)
#define EXP9 ·vc+2112(SB)
#define EXP8 ·vc+2176(SB)
#define EXP7 ·vc+2240(SB)
#define EXP6 ·vc+2304(SB)
#define EXP5 ·vc+2368(SB)
#define EXP4 ·vc+2432(SB)
#define EXP3 ·vc+2496(SB)
#define EXP2 ·vc+2560(SB)
#define EXP1 ·vc+2624(SB)
#define EXP0 ·vc+2688(SB)
#define TANHMAX ·vc+2752(SB)
#define TANHSMALL ·vc+2816(SB)
#define TANHP0 ·vc+2880(SB)
#define TANHP1 ·vc+2944(SB)
#define TANHP2 ·vc+3008(SB)
#define TANHQ0 ·vc+3072(SB)
#define TANHQ1 ·vc+3136(SB)
#define TANHQ2 ·vc+3200(SB)
#define INT1 ·vc+3264(SB)
#define NEGTWO ·vc+3328(SB)

// EXPPOLY sets P = e^r, r = X - n·ln2, and N's low bits to n, where n =
// round(X/ln2); X becomes r. F is scratch. (FMAs: 2 + 13, plus 1 mul, 2
// adds.) The reduction's first step is exact: n·ln2hi and X are multiples
// of 2⁻⁵³ whose difference is below ½.
#define EXPPOLY(X, N, F, P) \
	VMULPD       LOG2E, X, N;    \
	VADDPD       RNDMAGIC, N, N; \
	VSUBPD       RNDMAGIC, N, F; \
	VFNMADD231PD LN2HI, F, X;    \
	VFNMADD231PD LN2LO, F, X;    \
	VMOVUPD      EXP13, P;       \
	VFMADD213PD  EXP12, X, P;    \
	VFMADD213PD  EXP11, X, P;    \
	VFMADD213PD  EXP10, X, P;    \
	VFMADD213PD  EXP9, X, P;     \
	VFMADD213PD  EXP8, X, P;     \
	VFMADD213PD  EXP7, X, P;     \
	VFMADD213PD  EXP6, X, P;     \
	VFMADD213PD  EXP5, X, P;     \
	VFMADD213PD  EXP4, X, P;     \
	VFMADD213PD  EXP3, X, P;     \
	VFMADD213PD  EXP2, X, P;     \
	VFMADD213PD  EXP1, X, P;     \
	VFMADD213PD  EXP0, X, P

// EXPSCALE2 multiplies P by 2ⁿ (n in N's low 32 bits, as EXPPOLY leaves
// it) in two steps, 2^(n>>1) and 2^(n-n>>1), each a normal number for
// -1077 ≤ n ≤ 1025, so that the result overflows to +Inf and underflows
// to subnormals and zero as the exact product rounds. F is scratch.
#define EXPSCALE2(N, F, P) \
	VPSRAD  $1, N, F;     \
	VPSLLQ  $52, F, F;    \
	VPSLLQ  $52, N, N;    \
	VPSUBQ  F, N, N;      \
	VPADDQ  BIAS52, F, F; \
	VPADDQ  BIAS52, N, N; \
	VMULPD  F, P, P;      \
	VMULPD  N, P, P

// EXPSCALE1 multiplies P by 2ⁿ for -1022 ≤ n ≤ 1023.
#define EXPSCALE1(N, P) \
	VPSLLQ $52, N, N;    \
	VPADDQ BIAS52, N, N; \
	VMULPD N, P, P

// Loop registers of every kernel: DI, SI (outputs), DX (x), CX (bytes),
// BX (offset).

// func sincosAVX2(s, c, x *float64, n int, a float64, m *float64, b float64) (bad int)
//
// sin(a·x) into s and cos(a·x) into c (either may be nil), each times
// m[i]·b when m is not nil, by math.Sincos's algorithm (Cody–Waite
// reduction by π/4 in three parts, not fused, so that the reduced
// argument is math's to the bit; Cephes polynomials with FMA). Lanes with
// |a·x| ≥ 2²⁹, ±Inf or NaN get a·x in s and c, and make bad non-zero.
// FMA-unit ops per vector: 1 mul (a·x) + 4 mul + 3 mul + 3 sub
// (reduction) + 1 mul + 6 FMA (sin) + 2 mul + 7 FMA (cos) = 27, and 3 mul
// with m.
TEXT ·sincosAVX2(SB), NOSPLIT, $0-64
	MOVQ         s+0(FP), DI
	MOVQ         c+8(FP), SI
	MOVQ         x+16(FP), DX
	MOVQ         n+24(FP), CX
	VBROADCASTSD a+32(FP), Y14
	MOVQ         m+40(FP), R9
	VBROADCASTSD b+48(FP), Y15
	SHLQ         $3, CX
	XORQ         BX, BX
	XORQ         R8, R8

sincos2loop:
	CMPQ BX, CX
	JAE  sincos2done
	VMOVUPD   (DX)(BX*1), Y0
	VMULPD    Y14, Y0, Y0
	VANDPD    ABS, Y0, Y1
	VCMPPD    $5, LIMIT, Y1, Y2  // !(|x| < 2²⁹): big, Inf or NaN
	VMOVMSKPD Y2, AX
	ORQ       AX, R8

	// j = trunc(|x|·4/π), rounded up to even: y = 2k, k = ceil(j/2).
	VMULPD   FOURPI, Y1, Y3
	VROUNDPD $3, Y3, Y3
	VMULPD   HALF, Y3, Y3
	VROUNDPD $2, Y3, Y3
	VADDPD   Y3, Y3, Y4
	VADDPD   MAGIC52, Y3, Y3 // k in the low bits

	// z = ((|x| - y·π4a) - y·π4b) - y·π4c, as math.
	VMULPD PI4A, Y4, Y5
	VSUBPD Y5, Y1, Y1
	VMULPD PI4B, Y4, Y5
	VSUBPD Y5, Y1, Y1
	VMULPD PI4C, Y4, Y5
	VSUBPD Y5, Y1, Y1
	VMULPD Y1, Y1, Y4  // zz

	// s = z + z·zz·S(zz)
	VMOVUPD     SIN0, Y5
	VFMADD213PD SIN1, Y4, Y5
	VFMADD213PD SIN2, Y4, Y5
	VFMADD213PD SIN3, Y4, Y5
	VFMADD213PD SIN4, Y4, Y5
	VFMADD213PD SIN5, Y4, Y5
	VMULPD      Y4, Y1, Y6
	VFMADD213PD Y1, Y6, Y5

	// c = (1 - zz/2) + zz·zz·C(zz)
	VMOVUPD      COS0, Y7
	VFMADD213PD  COS1, Y4, Y7
	VFMADD213PD  COS2, Y4, Y7
	VFMADD213PD  COS3, Y4, Y7
	VFMADD213PD  COS4, Y4, Y7
	VFMADD213PD  COS5, Y4, Y7
	VMULPD       Y4, Y4, Y6
	VMOVUPD      ONE, Y8
	VFNMADD231PD HALF, Y4, Y8
	VFMADD213PD  Y8, Y6, Y7

	// Quadrant k&3: odd swaps s and c; k&2 flips both signs, k&1 cos's.
	VPSLLQ    $63, Y3, Y9 // k&1 in the sign bit
	VPSLLQ    $62, Y3, Y10
	VANDPD    SIGN, Y10, Y10 // k&2 in the sign bit
	VBLENDVPD Y9, Y7, Y5, Y11
	VBLENDVPD Y9, Y5, Y7, Y12
	VANDPD    SIGN, Y0, Y13
	VXORPD    Y10, Y13, Y13
	VXORPD    Y13, Y11, Y11
	VXORPD    Y10, Y9, Y9
	VXORPD    Y9, Y12, Y12

	TESTQ R9, R9
	JZ    sincos2nomul
	VMULPD (R9)(BX*1), Y15, Y13 // m·b
	VMULPD Y13, Y11, Y11
	VMULPD Y13, Y12, Y12

sincos2nomul:
	VBLENDVPD Y2, Y0, Y11, Y11
	VBLENDVPD Y2, Y0, Y12, Y12

	TESTQ DI, DI
	JZ    sincos2nosin
	VMOVUPD Y11, (DI)(BX*1)

sincos2nosin:
	TESTQ SI, SI
	JZ    sincos2nocos
	VMOVUPD Y12, (SI)(BX*1)

sincos2nocos:
	ADDQ $32, BX
	JMP  sincos2loop

sincos2done:
	VZEROUPPER
	MOVQ R8, bad+56(FP)
	RET

// func sincosAVX512(s, c, x *float64, n int, a float64, m *float64, b float64) (bad int)
//
// sincosAVX2 in 8 lanes.
TEXT ·sincosAVX512(SB), NOSPLIT, $0-64
	MOVQ         s+0(FP), DI
	MOVQ         c+8(FP), SI
	MOVQ         x+16(FP), DX
	MOVQ         n+24(FP), CX
	VBROADCASTSD a+32(FP), Z14
	MOVQ         m+40(FP), R9
	VBROADCASTSD b+48(FP), Z15
	SHLQ         $3, CX
	XORQ         BX, BX
	XORQ         R8, R8

sincos8loop:
	CMPQ BX, CX
	JAE  sincos8done
	VMOVUPD (DX)(BX*1), Z0
	VMULPD  Z14, Z0, Z0
	VPANDQ  ABS, Z0, Z1
	VCMPPD  $5, LIMIT, Z1, K1
	KMOVW   K1, AX
	ORQ     AX, R8

	VMULPD      FOURPI, Z1, Z3
	VRNDSCALEPD $3, Z3, Z3
	VMULPD      HALF, Z3, Z3
	VRNDSCALEPD $2, Z3, Z3
	VADDPD      Z3, Z3, Z4
	VADDPD      MAGIC52, Z3, Z3

	VMULPD PI4A, Z4, Z5
	VSUBPD Z5, Z1, Z1
	VMULPD PI4B, Z4, Z5
	VSUBPD Z5, Z1, Z1
	VMULPD PI4C, Z4, Z5
	VSUBPD Z5, Z1, Z1
	VMULPD Z1, Z1, Z4

	VMOVUPD     SIN0, Z5
	VFMADD213PD SIN1, Z4, Z5
	VFMADD213PD SIN2, Z4, Z5
	VFMADD213PD SIN3, Z4, Z5
	VFMADD213PD SIN4, Z4, Z5
	VFMADD213PD SIN5, Z4, Z5
	VMULPD      Z4, Z1, Z6
	VFMADD213PD Z1, Z6, Z5

	VMOVUPD      COS0, Z7
	VFMADD213PD  COS1, Z4, Z7
	VFMADD213PD  COS2, Z4, Z7
	VFMADD213PD  COS3, Z4, Z7
	VFMADD213PD  COS4, Z4, Z7
	VFMADD213PD  COS5, Z4, Z7
	VMULPD       Z4, Z4, Z6
	VMOVUPD      ONE, Z8
	VFNMADD231PD HALF, Z4, Z8
	VFMADD213PD  Z8, Z6, Z7

	VPTESTMQ  INT1, Z3, K2 // k&1
	VPSLLQ    $63, Z3, Z9
	VPSLLQ    $62, Z3, Z10
	VPANDQ    SIGN, Z10, Z10
	VBLENDMPD Z7, Z5, K2, Z11
	VBLENDMPD Z5, Z7, K2, Z12
	VPANDQ    SIGN, Z0, Z13
	VPXORQ    Z10, Z13, Z13
	VPXORQ    Z13, Z11, Z11
	VPXORQ    Z10, Z9, Z9
	VPXORQ    Z9, Z12, Z12

	TESTQ R9, R9
	JZ    sincos8nomul
	VMULPD (R9)(BX*1), Z15, Z13 // m·b
	VMULPD Z13, Z11, Z11
	VMULPD Z13, Z12, Z12

sincos8nomul:
	VBLENDMPD Z0, Z11, K1, Z11
	VBLENDMPD Z0, Z12, K1, Z12

	TESTQ DI, DI
	JZ    sincos8nosin
	VMOVUPD Z11, (DI)(BX*1)

sincos8nosin:
	TESTQ SI, SI
	JZ    sincos8nocos
	VMOVUPD Z12, (SI)(BX*1)

sincos8nocos:
	ADDQ $64, BX
	JMP  sincos8loop

sincos8done:
	VZEROUPPER
	MOVQ R8, bad+56(FP)
	RET

// func expAVX2(dst, x *float64, n int)
//
// x is clamped to [-746, 710] (NaN passes), then EXPPOLY and EXPSCALE2.
// FMA-unit ops per vector: 2 (clamp) + 18 + 2 = 22.
TEXT ·expAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), DX
	MOVQ n+16(FP), CX
	SHLQ $3, CX
	XORQ BX, BX
	VMOVUPD EXPMIN, Y14
	VMOVUPD EXPMAX, Y15

exp2loop:
	CMPQ BX, CX
	JAE  exp2done
	VMOVUPD (DX)(BX*1), Y0
	VMAXPD  Y0, Y14, Y0 // NaN x is the second source: it passes
	VMINPD  Y0, Y15, Y0
	EXPPOLY(Y0, Y1, Y2, Y3)
	EXPSCALE2(Y1, Y2, Y3)
	VMOVUPD Y3, (DI)(BX*1)
	ADDQ    $32, BX
	JMP     exp2loop

exp2done:
	VZEROUPPER
	RET

// func expAVX512(dst, x *float64, n int)
TEXT ·expAVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), DX
	MOVQ n+16(FP), CX
	SHLQ $3, CX
	XORQ BX, BX
	VMOVUPD EXPMIN, Z14
	VMOVUPD EXPMAX, Z15

exp8loop:
	CMPQ BX, CX
	JAE  exp8done
	VMOVUPD (DX)(BX*1), Z0
	VMAXPD  Z0, Z14, Z0
	VMINPD  Z0, Z15, Z0
	EXPPOLY(Z0, Z1, Z2, Z3)
	EXPSCALE2(Z1, Z2, Z3)
	VMOVUPD Z3, (DI)(BX*1)
	ADDQ    $64, BX
	JMP     exp8loop

exp8done:
	VZEROUPPER
	RET

// func tanhAVX2(dst, x *float64, n int)
//
// As math.Tanh: a = min(|x|, 22); a < 0.625: a + a·z·P(z)/Q(z), z = a²
// (Cephes); else 1 - 2/(e^(2a)+1); with x's sign. Both are computed and
// blended before the one division. FMA-unit ops per vector: 1 (2a) + 18
// (EXPPOLY) + 1 (scale) + 1 (e+1) + 1 (z) + 2 (P) + 3 (Q) + 2 (a·z·P) +
// 1 (sum) = 30, and a division.
TEXT ·tanhAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), DX
	MOVQ n+16(FP), CX
	SHLQ $3, CX
	XORQ BX, BX
	VMOVUPD TANHMAX, Y15

tanh2loop:
	CMPQ BX, CX
	JAE  tanh2done
	VMOVUPD (DX)(BX*1), Y0
	VANDPD  ABS, Y0, Y1
	VMINPD  Y1, Y15, Y1          // NaN passes
	VCMPPD  $5, TANHSMALL, Y1, Y2 // !(a < 0.625): large, or NaN
	VADDPD  Y1, Y1, Y3
	EXPPOLY(Y3, Y5, Y6, Y4)
	EXPSCALE1(Y5, Y4)
	VADDPD  ONE, Y4, Y4 // e+1

	VMULPD      Y1, Y1, Y6 // z
	VMOVUPD     TANHP0, Y7
	VFMADD213PD TANHP1, Y6, Y7
	VFMADD213PD TANHP2, Y6, Y7
	VADDPD      TANHQ0, Y6, Y8
	VFMADD213PD TANHQ1, Y6, Y8
	VFMADD213PD TANHQ2, Y6, Y8
	VMULPD      Y6, Y1, Y9
	VMULPD      Y7, Y9, Y9 // a·z·P

	VBLENDVPD Y2, NEGTWO, Y9, Y5 // numerator
	VBLENDVPD Y2, Y4, Y8, Y4     // denominator
	VBLENDVPD Y2, ONE, Y1, Y6    // addend
	VDIVPD    Y4, Y5, Y5
	VADDPD    Y6, Y5, Y5
	VANDPD    SIGN, Y0, Y6
	VORPD     Y6, Y5, Y5
	VMOVUPD   Y5, (DI)(BX*1)
	ADDQ      $32, BX
	JMP       tanh2loop

tanh2done:
	VZEROUPPER
	RET

// func tanhAVX512(dst, x *float64, n int)
TEXT ·tanhAVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), DX
	MOVQ n+16(FP), CX
	SHLQ $3, CX
	XORQ BX, BX
	VMOVUPD TANHMAX, Z15

tanh8loop:
	CMPQ BX, CX
	JAE  tanh8done
	VMOVUPD (DX)(BX*1), Z0
	VPANDQ  ABS, Z0, Z1
	VMINPD  Z1, Z15, Z1
	VCMPPD  $5, TANHSMALL, Z1, K1
	VADDPD  Z1, Z1, Z3
	EXPPOLY(Z3, Z5, Z6, Z4)
	EXPSCALE1(Z5, Z4)
	VADDPD  ONE, Z4, Z4

	VMULPD      Z1, Z1, Z6
	VMOVUPD     TANHP0, Z7
	VFMADD213PD TANHP1, Z6, Z7
	VFMADD213PD TANHP2, Z6, Z7
	VADDPD      TANHQ0, Z6, Z8
	VFMADD213PD TANHQ1, Z6, Z8
	VFMADD213PD TANHQ2, Z6, Z8
	VMULPD      Z6, Z1, Z9
	VMULPD      Z7, Z9, Z9

	VBLENDMPD NEGTWO, Z9, K1, Z5
	VBLENDMPD Z4, Z8, K1, Z4
	VBLENDMPD ONE, Z1, K1, Z6
	VDIVPD    Z4, Z5, Z5
	VADDPD    Z6, Z5, Z5
	VPANDQ    SIGN, Z0, Z6
	VPORQ     Z6, Z5, Z5
	VMOVUPD   Z5, (DI)(BX*1)
	ADDQ      $64, BX
	JMP       tanh8loop

tanh8done:
	VZEROUPPER
	RET

// func fmaPeakAVX2(n int)
TEXT ·fmaPeakAVX2(SB), NOSPLIT, $0-8
	MOVQ   n+0(FP), CX
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	VXORPD Y4, Y4, Y4
	VXORPD Y5, Y5, Y5
	VXORPD Y6, Y6, Y6
	VXORPD Y7, Y7, Y7
	VXORPD Y8, Y8, Y8
	VXORPD Y9, Y9, Y9
	VXORPD Y10, Y10, Y10
	VXORPD Y11, Y11, Y11
	VXORPD Y12, Y12, Y12
	VXORPD Y13, Y13, Y13

peak2loop:
	VFMADD231PD Y12, Y13, Y0
	VFMADD231PD Y12, Y13, Y1
	VFMADD231PD Y12, Y13, Y2
	VFMADD231PD Y12, Y13, Y3
	VFMADD231PD Y12, Y13, Y4
	VFMADD231PD Y12, Y13, Y5
	VFMADD231PD Y12, Y13, Y6
	VFMADD231PD Y12, Y13, Y7
	VFMADD231PD Y12, Y13, Y8
	VFMADD231PD Y12, Y13, Y9
	VFMADD231PD Y12, Y13, Y10
	VFMADD231PD Y12, Y13, Y11
	DECQ        CX
	JNZ         peak2loop
	VZEROUPPER
	RET

// func fmaPeakAVX512(n int)
TEXT ·fmaPeakAVX512(SB), NOSPLIT, $0-8
	MOVQ   n+0(FP), CX
	VPXORQ Z0, Z0, Z0
	VPXORQ Z1, Z1, Z1
	VPXORQ Z2, Z2, Z2
	VPXORQ Z3, Z3, Z3
	VPXORQ Z4, Z4, Z4
	VPXORQ Z5, Z5, Z5
	VPXORQ Z6, Z6, Z6
	VPXORQ Z7, Z7, Z7
	VPXORQ Z8, Z8, Z8
	VPXORQ Z9, Z9, Z9
	VPXORQ Z10, Z10, Z10
	VPXORQ Z11, Z11, Z11
	VPXORQ Z12, Z12, Z12
	VPXORQ Z13, Z13, Z13

peak8loop:
	VFMADD231PD Z12, Z13, Z0
	VFMADD231PD Z12, Z13, Z1
	VFMADD231PD Z12, Z13, Z2
	VFMADD231PD Z12, Z13, Z3
	VFMADD231PD Z12, Z13, Z4
	VFMADD231PD Z12, Z13, Z5
	VFMADD231PD Z12, Z13, Z6
	VFMADD231PD Z12, Z13, Z7
	VFMADD231PD Z12, Z13, Z8
	VFMADD231PD Z12, Z13, Z9
	VFMADD231PD Z12, Z13, Z10
	VFMADD231PD Z12, Z13, Z11
	DECQ        CX
	JNZ         peak8loop
	VZEROUPPER
	RET

// func mulScaledAVX2(dst, x, y *float64, n int, a float64)
//
// dst = x·(y·a), two roundings as in Go, 4 lanes at a time.
TEXT ·mulScaledAVX2(SB), NOSPLIT, $0-40
	MOVQ         dst+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         y+16(FP), DX
	MOVQ         n+24(FP), CX
	VBROADCASTSD a+32(FP), Y15
	SHLQ         $3, CX
	XORQ         BX, BX

mul2loop:
	CMPQ    BX, CX
	JAE     mul2done
	VMULPD  (DX)(BX*1), Y15, Y0
	VMULPD  (SI)(BX*1), Y0, Y0
	VMOVUPD Y0, (DI)(BX*1)
	ADDQ    $32, BX
	JMP     mul2loop

mul2done:
	VZEROUPPER
	RET

// func mulScaledAVX512(dst, x, y *float64, n int, a float64)
TEXT ·mulScaledAVX512(SB), NOSPLIT, $0-40
	MOVQ         dst+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         y+16(FP), DX
	MOVQ         n+24(FP), CX
	VBROADCASTSD a+32(FP), Z15
	SHLQ         $3, CX
	XORQ         BX, BX

mul8loop:
	CMPQ    BX, CX
	JAE     mul8done
	VMULPD  (DX)(BX*1), Z15, Z0
	VMULPD  (SI)(BX*1), Z0, Z0
	VMOVUPD Z0, (DI)(BX*1)
	ADDQ    $64, BX
	JMP     mul8loop

mul8done:
	VZEROUPPER
	RET
