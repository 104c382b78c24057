//go:build amd64 && !purego

#include "textflag.h"

// Two weight rows times four activation rows (batched float products):
// each weight vector is widened once and used four times, each activation
// vector loaded once and used twice, with eight accumulators (Z0-Z7: row
// 0 × activations 0-3, row 1 × activations 0-3). Results go to out as
// [row][4] float32.
#define W4_F32(off, base, z) VMOVUPS off(base), z
#define W4_F16(off, base, z) VCVTPH2PS off(base), z
#define W4_BF16(off, base, z) VPMOVZXWD off(base), z; VPSLLD $16, z, z
#define W4Z_F32(base, z) VMOVUPS.Z (base), K1, z
#define W4Z_F16(base, z) VCVTPH2PS.Z (base), K1, z
#define W4Z_BF16(base, z) VPMOVZXWD.Z (base), K1, z; VPSLLD $16, z, z

#define HSUM4(Z, Y, X) \
	VEXTRACTF64X4 $1, Z, Y9; \
	VADDPS        Y9, Y, Y; \
	VEXTRACTF128  $1, Y, X9; \
	VADDPS        X9, X, X; \
	VMOVHLPS      X, X, X9; \
	VADDPS        X9, X, X; \
	VMOVSHDUP     X, X9; \
	VADDSS        X9, X, X

#define FMA8 \
	VFMADD231PS Z12, Z8, Z0; \
	VFMADD231PS Z13, Z8, Z1; \
	VFMADD231PS Z14, Z8, Z2; \
	VFMADD231PS Z15, Z8, Z3; \
	VFMADD231PS Z12, Z10, Z4; \
	VFMADD231PS Z13, Z10, Z5; \
	VFMADD231PS Z14, Z10, Z6; \
	VFMADD231PS Z15, Z10, Z7

// ROWS2X4(LOADW, LOADWZ, ESZ): rows is even; the two rows of a pair are
// at R10 and R10+stride.
#define ROWS2X4(LOADW, LOADWZ, ESZ) \
	MOVQ w+0(FP), R10; \
	MOVQ out+64(FP), R12; \
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
	MOVQ x0+32(FP), DI; \
	MOVQ x1+40(FP), R8; \
	MOVQ x2+48(FP), R9; \
	MOVQ x3+56(FP), R13; \
	XORQ BX, BX; \
	MOVQ n+24(FP), CX; \
	VPXORD Z0, Z0, Z0; \
	VPXORD Z1, Z1, Z1; \
	VPXORD Z2, Z2, Z2; \
	VPXORD Z3, Z3, Z3; \
	VPXORD Z4, Z4, Z4; \
	VPXORD Z5, Z5, Z5; \
	VPXORD Z6, Z6, Z6; \
	VPXORD Z7, Z7, Z7; \
loop: \
	CMPQ CX, $16; \
	JLT  tail; \
	LOADW(0, SI, Z8); \
	LOADW(0, R11, Z10); \
	VMOVUPS (DI)(BX*1), Z12; \
	VMOVUPS (R8)(BX*1), Z13; \
	VMOVUPS (R9)(BX*1), Z14; \
	VMOVUPS (R13)(BX*1), Z15; \
	FMA8; \
	ADDQ $(16*ESZ), SI; \
	ADDQ $(16*ESZ), R11; \
	ADDQ $64, BX; \
	SUBQ $16, CX; \
	JMP  loop; \
tail: \
	TESTQ CX, CX; \
	JZ    sum; \
	LOADWZ(SI, Z8); \
	LOADWZ(R11, Z10); \
	ADDQ BX, DI; \
	ADDQ BX, R8; \
	ADDQ BX, R9; \
	ADDQ BX, R13; \
	VMOVUPS.Z (DI), K1, Z12; \
	VMOVUPS.Z (R8), K1, Z13; \
	VMOVUPS.Z (R9), K1, Z14; \
	VMOVUPS.Z (R13), K1, Z15; \
	FMA8; \
sum: \
	HSUM4(Z0, Y0, X0); \
	HSUM4(Z1, Y1, X1); \
	HSUM4(Z2, Y2, X2); \
	HSUM4(Z3, Y3, X3); \
	HSUM4(Z4, Y4, X4); \
	HSUM4(Z5, Y5, X5); \
	HSUM4(Z6, Y6, X6); \
	HSUM4(Z7, Y7, X7); \
	VINSERTPS $0x10, X1, X0, X0; \
	VINSERTPS $0x20, X2, X0, X0; \
	VINSERTPS $0x30, X3, X0, X0; \
	VINSERTPS $0x10, X5, X4, X4; \
	VINSERTPS $0x20, X6, X4, X4; \
	VINSERTPS $0x30, X7, X4, X4; \
	VMOVUPS X0, (R12); \
	VMOVUPS X4, 16(R12); \
	ADDQ $32, R12; \
	MOVQ stride+8(FP), AX; \
	LEAQ (R10)(AX*2), R10; \
	SUBQ $2, rows+16(FP); \
	JMP  pair; \
done: \
	VZEROUPPER; \
	RET

// func dot4F32AVX512(w *byte, stride, rows, n int, x0, x1, x2, x3 *float32, out *float32)
TEXT ·dot4F32AVX512(SB), NOSPLIT, $0-72
	ROWS2X4(W4_F32, W4Z_F32, 4)

// func dot4F16AVX512(w *byte, stride, rows, n int, x0, x1, x2, x3 *float32, out *float32)
TEXT ·dot4F16AVX512(SB), NOSPLIT, $0-72
	ROWS2X4(W4_F16, W4Z_F16, 2)

// func dot4BF16AVX512(w *byte, stride, rows, n int, x0, x1, x2, x3 *float32, out *float32)
TEXT ·dot4BF16AVX512(SB), NOSPLIT, $0-72
	ROWS2X4(W4_BF16, W4Z_BF16, 2)
