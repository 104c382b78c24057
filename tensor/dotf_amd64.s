//go:build amd64 && !purego

#include "textflag.h"

// Float-weight row kernels: out[r] = row r · x for rows consecutive rows of
// F32, F16 or BF16 weights, with float32 activations and accumulation.
// WIDEN loads 16 (AVX-512) or 8 (AVX2) weights as float32: F16 through
// VCVTPH2PS, BF16 by zero-extending to 32 bits and shifting left 16.

#define HSUM512 \
	VADDPS        Z1, Z0, Z0; \
	VADDPS        Z3, Z2, Z2; \
	VADDPS        Z2, Z0, Z0; \
	VEXTRACTF64X4 $1, Z0, Y9; \
	VADDPS        Y9, Y0, Y0; \
	VEXTRACTF128  $1, Y0, X9; \
	VADDPS        X9, X0, X0; \
	VMOVHLPS      X0, X0, X9; \
	VADDPS        X9, X0, X0; \
	VMOVSHDUP     X0, X9; \
	VADDSS        X9, X0, X0

#define HSUM256 \
	VADDPS       Y1, Y0, Y0; \
	VADDPS       Y3, Y2, Y2; \
	VADDPS       Y2, Y0, Y0; \
	VEXTRACTF128 $1, Y0, X9; \
	VADDPS       X9, X0, X0; \
	VMOVHLPS     X0, X0, X9; \
	VADDPS       X9, X0, X0; \
	VMOVSHDUP    X0, X9; \
	VADDSS       X9, X0, X0

#define LOAD_F32_512(off, z) VMOVUPS off(SI), z
#define LOAD_F16_512(off, z) VCVTPH2PS off(SI), z
#define LOAD_BF16_512(off, z) VPMOVZXWD off(SI), z; VPSLLD $16, z, z

// Masked versions for the tail (lane mask in K1, result in Z4).
#define LOADZ_F32 VMOVUPS.Z (SI), K1, Z4
#define LOADZ_F16 VCVTPH2PS.Z (SI), K1, Z4
#define LOADZ_BF16 VPMOVZXWD.Z (SI), K1, Z4; VPSLLD $16, Z4, Z4

// ROWS512 is the row loop: 64 elements per step in four accumulators, then
// 16, then one masked step (masked-off lanes are neither read nor faulted).
// The 64-element steps prefetch 4 KiB ahead, as the quantized kernels do.
// ESZ is the weight element size in bytes.
#define ROWS512(LOAD, LOADZ, ESZ) \
	MOVQ w+0(FP), R10; \
	MOVQ out+40(FP), R12; \
row: \
	CMPQ rows+16(FP), $0; \
	JEQ  done; \
	MOVQ R10, SI; \
	MOVQ x+32(FP), DI; \
	MOVQ n+24(FP), CX; \
	VPXORD Z0, Z0, Z0; \
	VPXORD Z1, Z1, Z1; \
	VPXORD Z2, Z2, Z2; \
	VPXORD Z3, Z3, Z3; \
loop64: \
	CMPQ CX, $64; \
	JLT  loop16; \
	PREFETCHT0 4096(SI); \
	PREFETCHT0 4160(SI); \
	LOAD(0, Z4); \
	LOAD(16*ESZ, Z5); \
	LOAD(32*ESZ, Z6); \
	LOAD(48*ESZ, Z7); \
	VFMADD231PS (DI), Z4, Z0; \
	VFMADD231PS 64(DI), Z5, Z1; \
	VFMADD231PS 128(DI), Z6, Z2; \
	VFMADD231PS 192(DI), Z7, Z3; \
	ADDQ $(64*ESZ), SI; \
	ADDQ $256, DI; \
	SUBQ $64, CX; \
	JMP  loop64; \
loop16: \
	CMPQ CX, $16; \
	JLT  tail; \
	LOAD(0, Z4); \
	VFMADD231PS (DI), Z4, Z0; \
	ADDQ $(16*ESZ), SI; \
	ADDQ $64, DI; \
	SUBQ $16, CX; \
	JMP  loop16; \
tail: \
	TESTQ CX, CX; \
	JZ    sum; \
	MOVL  $1, AX; \
	SHLL  CX, AX; \
	DECL  AX; \
	KMOVW AX, K1; \
	LOADZ; \
	VMOVUPS.Z (DI), K1, Z5; \
	VFMADD231PS Z5, Z4, Z1; \
sum: \
	HSUM512; \
	MOVSS X0, (R12); \
	ADDQ  $4, R12; \
	ADDQ  stride+8(FP), R10; \
	DECQ  rows+16(FP); \
	JMP   row; \
done: \
	VZEROUPPER; \
	RET

// func dotF32AVX512(w *byte, stride, rows, n int, x *float32, out *float32)
TEXT ·dotF32AVX512(SB), NOSPLIT, $0-48
	ROWS512(LOAD_F32_512, LOADZ_F32, 4)

// func dotF16AVX512(w *byte, stride, rows, n int, x *float32, out *float32)
TEXT ·dotF16AVX512(SB), NOSPLIT, $0-48
	ROWS512(LOAD_F16_512, LOADZ_F16, 2)

// func dotBF16AVX512(w *byte, stride, rows, n int, x *float32, out *float32)
TEXT ·dotBF16AVX512(SB), NOSPLIT, $0-48
	ROWS512(LOAD_BF16_512, LOADZ_BF16, 2)

