//go:build amd64 && !purego

#include "textflag.h"

// Two weight rows times up to eight activation rows (the verify pass of a
// drafting round, or a short batch): each weight vector is widened once
// and used eight times, each activation vector loaded once and used twice,
// with sixteen accumulators (Z0-Z7: row 0 × activations 0-7, Z8-Z15: row
// 1). The activation rows lie xstride bytes apart. Results go to out as
// [row][8] float32.
#define W8_F32(off, base, z) VMOVUPS off(base), z
#define W8_F16(off, base, z) VCVTPH2PS off(base), z
#define W8_BF16(off, base, z) VPMOVZXWD off(base), z; VPSLLD $16, z, z
#define W8Z_F32(base, z) VMOVUPS.Z (base), K1, z
#define W8Z_F16(base, z) VCVTPH2PS.Z (base), K1, z
#define W8Z_BF16(base, z) VPMOVZXWD.Z (base), K1, z; VPSLLD $16, z, z

// FMA2(addr, a, b): one activation vector into both rows' accumulators.
#define FMA2(addr, a, b) \
	VMOVUPS     addr, Z18; \
	VFMADD231PS Z18, Z16, a; \
	VFMADD231PS Z18, Z17, b

#define FMA2Z(addr, a, b) \
	VMOVUPS.Z   addr, K1, Z18; \
	VFMADD231PS Z18, Z16, a; \
	VFMADD231PS Z18, Z17, b

// FMAK(F): the products of one step for the first K activation rows; DI
// and R13 point at activations 0 and 4, R8 = xstride, R9 = 3·xstride. The
// accumulators of rows K..7 stay zero, so a batch of K rows pays for K.
#define FMA1ROWS(F) F((DI), Z0, Z8)
#define FMA2ROWS(F) FMA1ROWS(F); F((DI)(R8*1), Z1, Z9)
#define FMA3ROWS(F) FMA2ROWS(F); F((DI)(R8*2), Z2, Z10)
#define FMA4ROWS(F) FMA3ROWS(F); F((DI)(R9*1), Z3, Z11)
#define FMA5ROWS(F) FMA4ROWS(F); F((R13), Z4, Z12)
#define FMA6ROWS(F) FMA5ROWS(F); F((R13)(R8*1), Z5, Z13)
#define FMA7ROWS(F) FMA6ROWS(F); F((R13)(R8*2), Z6, Z14)
#define FMA8ROWS(F) FMA7ROWS(F); F((R13)(R9*1), Z7, Z15)

// PAIRSUM(A, B, D, T): level one of the transposed reduction: per 128-bit
// lane D = [a0+a2, b0+b2, a1+a3, b1+b3].
#define PAIRSUM(A, B, D, T) \
	VUNPCKLPS B, A, D; \
	VUNPCKHPS B, A, T; \
	VADDPS    T, D, D

// QUADSUM(X, Y, D, T): level two: per 128-bit lane D = the lane's partial
// sums of the four vectors behind X and Y.
#define QUADSUM(X, Y, D, T) \
	VUNPCKLPD Y, X, D; \
	VUNPCKHPD Y, X, T; \
	VADDPS    T, D, D

// LANESUM(P, Q, D, T): levels three and four: fold 128-bit lanes so that D
// holds P's totals then Q's.
#define LANESUM(P, Q, D, T) \
	VSHUFF32X4 $0x88, Q, P, D; \
	VSHUFF32X4 $0xdd, Q, P, T; \
	VADDPS     T, D, D

// REDUCE16 stores the sums of Z0-Z15, in that order, to (R12): sixteen
// horizontal sums in one transposed reduction (45 instructions instead of
// 16 separate reductions of 8 each).
#define REDUCE16 \
	PAIRSUM(Z0, Z1, Z16, Z17); \
	PAIRSUM(Z2, Z3, Z18, Z19); \
	PAIRSUM(Z4, Z5, Z20, Z21); \
	PAIRSUM(Z6, Z7, Z22, Z23); \
	PAIRSUM(Z8, Z9, Z24, Z25); \
	PAIRSUM(Z10, Z11, Z26, Z27); \
	PAIRSUM(Z12, Z13, Z28, Z29); \
	PAIRSUM(Z14, Z15, Z30, Z31); \
	QUADSUM(Z16, Z18, Z0, Z1); \
	QUADSUM(Z20, Z22, Z2, Z3); \
	QUADSUM(Z24, Z26, Z4, Z5); \
	QUADSUM(Z28, Z30, Z6, Z7); \
	LANESUM(Z0, Z2, Z8, Z9); \
	LANESUM(Z4, Z6, Z10, Z11); \
	LANESUM(Z8, Z10, Z12, Z13); \
	VMOVUPS Z12, (R12)

// ONESUM(Z, T) leaves in Z's element 0 the sum of its 16 floats in the
// order REDUCE16 adds each vector's (within each 128-bit lane
// (e0+e2)+(e1+e3), then lanes (L0+L1)+(L2+L3)); float addition commutes,
// so the result is bit-identical to REDUCE16's for that vector.
#define ONESUM(Z, T) \
	VPERMILPS  $0x4e, Z, T; \
	VADDPS     T, Z, Z; \
	VPERMILPS  $0xb1, Z, T; \
	VADDPS     T, Z, Z; \
	VSHUFF32X4 $0xb1, Z, Z, T; \
	VADDPS     T, Z, Z; \
	VSHUFF32X4 $0x4e, Z, Z, T; \
	VADDPS     T, Z, Z

// PAIRSUM1 stores the two rows' sums of a single activation row (Z0, Z8)
// to (R12) and 4(R12).
#define PAIRSUM1 \
	ONESUM(Z0, Z16); \
	ONESUM(Z8, Z17); \
	VMOVSS X0, (R12); \
	VMOVSS X8, 4(R12)

// PF is how far ahead of the weight pointers the loop prefetches: with
// sixteen products per step the out-of-order window alone keeps too few
// misses in flight to stream the weights at memory speed.
#define PF 4096

// ROWS2X8(LOADW, LOADWZ, ESZ, FMAK, SUM, OSTEP): rows is even; SUM stores
// a pair's results and OSTEP is the bytes it stores; the two rows of a pair are
// at R10 and R10+stride.
#define ROWS2X8(LOADW, LOADWZ, ESZ, FMAK, SUM, OSTEP) \
	MOVQ w+0(FP), R10; \
	MOVQ out+48(FP), R12; \
	MOVQ xstride+40(FP), R8; \
	LEAQ (R8)(R8*2), R9; \
	MOVQ n+24(FP), AX; \
	ANDQ $15, AX; \
	MOVQ AX, CX; \
	MOVL $1, AX; \
	SHLL CX, AX; \
	DECL AX; \
	KMOVW AX, K1; \
pair: \
	CMPQ rows+16(FP), $0; \
	JLE  done; \
	MOVQ R10, SI; \
	MOVQ R10, R11; \
	ADDQ stride+8(FP), R11; \
	MOVQ x+32(FP), DI; \
	LEAQ (DI)(R8*4), R13; \
	MOVQ n+24(FP), CX; \
	VPXORD Z0, Z0, Z0; \
	VPXORD Z1, Z1, Z1; \
	VPXORD Z2, Z2, Z2; \
	VPXORD Z3, Z3, Z3; \
	VPXORD Z4, Z4, Z4; \
	VPXORD Z5, Z5, Z5; \
	VPXORD Z6, Z6, Z6; \
	VPXORD Z7, Z7, Z7; \
	VPXORD Z8, Z8, Z8; \
	VPXORD Z9, Z9, Z9; \
	VPXORD Z10, Z10, Z10; \
	VPXORD Z11, Z11, Z11; \
	VPXORD Z12, Z12, Z12; \
	VPXORD Z13, Z13, Z13; \
	VPXORD Z14, Z14, Z14; \
	VPXORD Z15, Z15, Z15; \
loop: \
	CMPQ CX, $16; \
	JLT  tail; \
	PREFETCHT0 PF(SI); \
	PREFETCHT0 PF(R11); \
	LOADW(0, SI, Z16); \
	LOADW(0, R11, Z17); \
	FMAK(FMA2); \
	ADDQ $(16*ESZ), SI; \
	ADDQ $(16*ESZ), R11; \
	ADDQ $64, DI; \
	ADDQ $64, R13; \
	SUBQ $16, CX; \
	JMP  loop; \
tail: \
	TESTQ CX, CX; \
	JZ    sum; \
	LOADWZ(SI, Z16); \
	LOADWZ(R11, Z17); \
	FMAK(FMA2Z); \
sum: \
	SUM; \
	ADDQ $OSTEP, R12; \
	MOVQ stride+8(FP), AX; \
	LEAQ (R10)(AX*2), R10; \
	SUBQ $2, rows+16(FP); \
	JMP  pair; \
done: \
	VZEROUPPER; \
	RET

// func dot1F32AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)
TEXT ·dot1F32AVX512(SB), NOSPLIT, $0-56
	ROWS2X8(W8_F32, W8Z_F32, 4, FMA1ROWS, REDUCE16, 64)

// func dot1F16AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)
TEXT ·dot1F16AVX512(SB), NOSPLIT, $0-56
	ROWS2X8(W8_F16, W8Z_F16, 2, FMA1ROWS, REDUCE16, 64)

// func dot1BF16AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)
TEXT ·dot1BF16AVX512(SB), NOSPLIT, $0-56
	ROWS2X8(W8_BF16, W8Z_BF16, 2, FMA1ROWS, REDUCE16, 64)

// func dot2F32AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)
TEXT ·dot2F32AVX512(SB), NOSPLIT, $0-56
	ROWS2X8(W8_F32, W8Z_F32, 4, FMA2ROWS, REDUCE16, 64)

// func dot2F16AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)
TEXT ·dot2F16AVX512(SB), NOSPLIT, $0-56
	ROWS2X8(W8_F16, W8Z_F16, 2, FMA2ROWS, REDUCE16, 64)

// func dot2BF16AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)
TEXT ·dot2BF16AVX512(SB), NOSPLIT, $0-56
	ROWS2X8(W8_BF16, W8Z_BF16, 2, FMA2ROWS, REDUCE16, 64)

// func dot3F32AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)
TEXT ·dot3F32AVX512(SB), NOSPLIT, $0-56
	ROWS2X8(W8_F32, W8Z_F32, 4, FMA3ROWS, REDUCE16, 64)

// func dot3F16AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)
TEXT ·dot3F16AVX512(SB), NOSPLIT, $0-56
	ROWS2X8(W8_F16, W8Z_F16, 2, FMA3ROWS, REDUCE16, 64)

// func dot3BF16AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)
TEXT ·dot3BF16AVX512(SB), NOSPLIT, $0-56
	ROWS2X8(W8_BF16, W8Z_BF16, 2, FMA3ROWS, REDUCE16, 64)

// func dot4F32AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)
TEXT ·dot4F32AVX512(SB), NOSPLIT, $0-56
	ROWS2X8(W8_F32, W8Z_F32, 4, FMA4ROWS, REDUCE16, 64)

// func dot4F16AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)
TEXT ·dot4F16AVX512(SB), NOSPLIT, $0-56
	ROWS2X8(W8_F16, W8Z_F16, 2, FMA4ROWS, REDUCE16, 64)

// func dot4BF16AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)
TEXT ·dot4BF16AVX512(SB), NOSPLIT, $0-56
	ROWS2X8(W8_BF16, W8Z_BF16, 2, FMA4ROWS, REDUCE16, 64)

// func dot5F32AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)
TEXT ·dot5F32AVX512(SB), NOSPLIT, $0-56
	ROWS2X8(W8_F32, W8Z_F32, 4, FMA5ROWS, REDUCE16, 64)

// func dot5F16AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)
TEXT ·dot5F16AVX512(SB), NOSPLIT, $0-56
	ROWS2X8(W8_F16, W8Z_F16, 2, FMA5ROWS, REDUCE16, 64)

// func dot5BF16AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)
TEXT ·dot5BF16AVX512(SB), NOSPLIT, $0-56
	ROWS2X8(W8_BF16, W8Z_BF16, 2, FMA5ROWS, REDUCE16, 64)

// func dot6F32AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)
TEXT ·dot6F32AVX512(SB), NOSPLIT, $0-56
	ROWS2X8(W8_F32, W8Z_F32, 4, FMA6ROWS, REDUCE16, 64)

// func dot6F16AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)
TEXT ·dot6F16AVX512(SB), NOSPLIT, $0-56
	ROWS2X8(W8_F16, W8Z_F16, 2, FMA6ROWS, REDUCE16, 64)

// func dot6BF16AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)
TEXT ·dot6BF16AVX512(SB), NOSPLIT, $0-56
	ROWS2X8(W8_BF16, W8Z_BF16, 2, FMA6ROWS, REDUCE16, 64)

// func dot7F32AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)
TEXT ·dot7F32AVX512(SB), NOSPLIT, $0-56
	ROWS2X8(W8_F32, W8Z_F32, 4, FMA7ROWS, REDUCE16, 64)

// func dot7F16AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)
TEXT ·dot7F16AVX512(SB), NOSPLIT, $0-56
	ROWS2X8(W8_F16, W8Z_F16, 2, FMA7ROWS, REDUCE16, 64)

// func dot7BF16AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)
TEXT ·dot7BF16AVX512(SB), NOSPLIT, $0-56
	ROWS2X8(W8_BF16, W8Z_BF16, 2, FMA7ROWS, REDUCE16, 64)

// func dot8F32AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)
TEXT ·dot8F32AVX512(SB), NOSPLIT, $0-56
	ROWS2X8(W8_F32, W8Z_F32, 4, FMA8ROWS, REDUCE16, 64)

// func dot8F16AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)
TEXT ·dot8F16AVX512(SB), NOSPLIT, $0-56
	ROWS2X8(W8_F16, W8Z_F16, 2, FMA8ROWS, REDUCE16, 64)

// func dot8BF16AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)
TEXT ·dot8BF16AVX512(SB), NOSPLIT, $0-56
	ROWS2X8(W8_BF16, W8Z_BF16, 2, FMA8ROWS, REDUCE16, 64)

// Single activation row, results straight to out[row]: the same products
// and summation order as dot1 (lane 0 of DotRowsK), so one-row and
// batched products agree bit for bit.

// func dotPairF32AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)
TEXT ·dotPairF32AVX512(SB), NOSPLIT, $0-56
	ROWS2X8(W8_F32, W8Z_F32, 4, FMA1ROWS, PAIRSUM1, 8)

// func dotPairF16AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)
TEXT ·dotPairF16AVX512(SB), NOSPLIT, $0-56
	ROWS2X8(W8_F16, W8Z_F16, 2, FMA1ROWS, PAIRSUM1, 8)

// func dotPairBF16AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)
TEXT ·dotPairBF16AVX512(SB), NOSPLIT, $0-56
	ROWS2X8(W8_BF16, W8Z_BF16, 2, FMA1ROWS, PAIRSUM1, 8)
