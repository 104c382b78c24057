//go:build amd64 && !purego

#include "textflag.h"

// AVX2 row kernels (no AVX-512, no VNNI): the same arithmetic as the
// AVX-512 ones on 256-bit vectors. Without VPDPBUSD an integer block dot
// is VPMADDUBSW (unsigned × signed bytes, pairs summed to int16) followed
// by VPMADDWD with ones (pairs summed to int32). The int16 pairs cannot
// saturate for 4- and 6-bit weights (at most 2·63·127); Q8_0 keeps its
// weights signed and moves their sign onto the activation (VPSIGNB), so
// the unsigned operand is |w| ≤ 128 and a pair stays within 2·128·127.
// Each block sum is converted and scaled in float, one block (32
// elements) per register. Float kernels take n a multiple of 8 (the Go
// caller adds the rest).

// HSUM8 leaves the sum of the 8 floats of Y0 in X0 (clobbers X9).
// The row loops prefetch 4 KiB ahead of the weights, as the AVX-512
// kernels do (see PFD in dotq_amd64.s).

#define HSUM8 \
	VEXTRACTF128 $1, Y0, X9; \
	VADDPS       X9, X0, X0; \
	VMOVHLPS     X0, X0, X9; \
	VADDPS       X9, X0, X0; \
	VMOVSHDUP    X0, X9; \
	VADDSS       X9, X0, X0

#define F32_8(off, y) VMOVUPS off(SI), y
#define F16_8(off, y) VCVTPH2PS off(SI), y
#define BF16_8(off, y) VPMOVZXWD off(SI), y; VPSLLD $16, y, y

// ROWSF(LOAD, ESZ): four accumulators of 8 over 32 elements per step.
#define ROWSF(LOAD, ESZ) \
	MOVQ w+0(FP), R10; \
	MOVQ out+40(FP), R12; \
row: \
	CMPQ rows+16(FP), $0; \
	JEQ  done; \
	MOVQ R10, SI; \
	MOVQ x+32(FP), DI; \
	MOVQ n+24(FP), CX; \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y1, Y1, Y1; \
	VXORPS Y2, Y2, Y2; \
	VXORPS Y3, Y3, Y3; \
loop32: \
	CMPQ CX, $32; \
	JLT  loop8; \
	PREFETCHT0 4096(SI); \
	LOAD(0, Y4); \
	LOAD(8*ESZ, Y5); \
	LOAD(16*ESZ, Y6); \
	LOAD(24*ESZ, Y7); \
	VFMADD231PS (DI), Y4, Y0; \
	VFMADD231PS 32(DI), Y5, Y1; \
	VFMADD231PS 64(DI), Y6, Y2; \
	VFMADD231PS 96(DI), Y7, Y3; \
	ADDQ $(32*ESZ), SI; \
	ADDQ $128, DI; \
	SUBQ $32, CX; \
	JMP  loop32; \
loop8: \
	CMPQ CX, $8; \
	JLT  sum; \
	LOAD(0, Y4); \
	VFMADD231PS (DI), Y4, Y0; \
	ADDQ $(8*ESZ), SI; \
	ADDQ $32, DI; \
	SUBQ $8, CX; \
	JMP  loop8; \
sum: \
	VADDPS Y1, Y0, Y0; \
	VADDPS Y3, Y2, Y2; \
	VADDPS Y2, Y0, Y0; \
	HSUM8; \
	MOVSS X0, (R12); \
	ADDQ  $4, R12; \
	ADDQ  stride+8(FP), R10; \
	DECQ  rows+16(FP); \
	JMP   row; \
done: \
	VZEROUPPER; \
	RET

// SCALE_BLOCK: Y3 (int32 lanes of one block) times dw·dx, into ACC; dw is
// the fp16 at WOFF(SI), dx at DOFF(R8). Leaves dw (scalar) in X4.
#define SCALE_BLOCK(WOFF, DOFF, ACC) \
	VCVTDQ2PS    Y3, Y3; \
	VPBROADCASTW WOFF(SI), X4; \
	VCVTPH2PS    X4, Y4; \
	VBROADCASTSS DOFF(R8), Y5; \
	VMULPS       Y5, Y4, Y5; \
	VFMADD231PS  Y5, Y3, ACC

// Q8_0 block at byte OFF, activations at AOFF(DI).
#define Q8_0_BLOCK2(OFF, AOFF, DOFF, ACC) \
	VMOVDQU    OFF+2(SI), Y1; \
	VMOVDQU    AOFF(DI), Y2; \
	VPSIGNB    Y1, Y2, Y2; \
	VPABSB     Y1, Y1; \
	VPMADDUBSW Y2, Y1, Y3; \
	VPMADDWD   Y15, Y3, Y3; \
	SCALE_BLOCK(OFF, DOFF, ACC)

// Q4_0 block: the 16 bytes hold elements 0-15 (low nibbles) and 16-31
// (high); the offset 8 becomes X13 += dw·M (M = dx·Σq).
#define Q4_0_BLOCK2(OFF, AOFF, DOFF, ACC) \
	VMOVDQU     OFF+2(SI), X1; \
	VPSRLW      $4, X1, X2; \
	VINSERTI128 $1, X2, Y1, Y1; \
	VPAND       Y14, Y1, Y1; \
	VPMADDUBSW  AOFF(DI), Y1, Y3; \
	VPMADDWD    Y15, Y3, Y3; \
	SCALE_BLOCK(OFF, DOFF, ACC); \
	VFMADD231SS DOFF(R9), X4, X13

// LEGACY2(BLOCK, BLK, CORR): two blocks per step in two accumulators,
// then a single one; CORR (float32 bits) is the offset factor for X13.
#define LEGACY2(BLOCK, BLK, CORR) \
	MOVQ w+0(FP), R10; \
	MOVQ out+56(FP), R12; \
	MOVL $0x00010001, AX; \
	VMOVD AX, X15; \
	VPBROADCASTD X15, Y15; \
	MOVL $0x0f0f0f0f, AX; \
	VMOVD AX, X14; \
	VPBROADCASTD X14, Y14; \
row: \
	CMPQ rows+16(FP), $0; \
	JEQ  done; \
	MOVQ R10, SI; \
	MOVQ q+32(FP), DI; \
	MOVQ d+40(FP), R8; \
	MOVQ m+48(FP), R9; \
	MOVQ nb+24(FP), CX; \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y10, Y10, Y10; \
	VXORPS X13, X13, X13; \
loop2: \
	CMPQ CX, $2; \
	JLT  loop1; \
	PREFETCHT0 4096(SI); \
	BLOCK(0, 0, 0, Y0); \
	BLOCK(BLK, 32, 4, Y10); \
	ADDQ $(2*BLK), SI; \
	ADDQ $64, DI; \
	ADDQ $8, R8; \
	ADDQ $8, R9; \
	SUBQ $2, CX; \
	JMP  loop2; \
loop1: \
	TESTQ CX, CX; \
	JZ    sum; \
	BLOCK(0, 0, 0, Y0); \
sum: \
	VADDPS Y10, Y0, Y0; \
	HSUM8; \
	MOVL  $CORR, AX; \
	VMOVD AX, X1; \
	VFMADD231SS X1, X13, X0; \
	MOVSS X0, (R12); \
	ADDQ  $4, R12; \
	ADDQ  stride+8(FP), R10; \
	DECQ  rows+16(FP); \
	JMP   row; \
done: \
	VZEROUPPER; \
	RET

// Q4_K group g: 32 bytes at QOFF whose low nibbles are sub-block 2g and
// high nibbles 2g+1; the scale products d·sc_j·dx_j are on the stack.
#define Q4_K_HALF2(Y, AOFF, SOFF, ACC) \
	VPMADDUBSW   AOFF(DI), Y, Y3; \
	VPMADDWD     Y15, Y3, Y3; \
	VCVTDQ2PS    Y3, Y3; \
	VBROADCASTSS SOFF(SP), Y4; \
	VFMADD231PS  Y4, Y3, ACC

#define Q4_K_GROUP2(QOFF, AOFF, SOFF) \
	VMOVDQU QOFF(SI), Y5; \
	VPAND   Y14, Y5, Y1; \
	VPSRLW  $4, Y5, Y2; \
	VPAND   Y14, Y2, Y2; \
	Q4_K_HALF2(Y1, AOFF, SOFF, Y0); \
	Q4_K_HALF2(Y2, AOFF+32, SOFF+4, Y10)

// Q6_K: E (32 six-bit values) times the activations at AOFF, scaled by
// the pair of 16-element sub-block scales picked by index vector IOFF.
#define Q6_K_PART2(E, AOFF, IOFF, ACC) \
	VPMADDUBSW  AOFF(DI), E, Y3; \
	VPMADDWD    Y15, Y3, Y3; \
	VCVTDQ2PS   Y3, Y3; \
	VMOVDQU     ·q6idx+IOFF(SB), Y4; \
	VPERMPS     Y6, Y4, Y5; \
	VFMADD231PS Y5, Y3, ACC

// Q6_K half h: ql (64 bytes at LOFF), qh (32 at HOFF); S6 (Y6) holds the
// eight scale products of this half's sub-blocks.
#define Q6_K_HALF2(LOFF, HOFF, AOFF) \
	VMOVDQU LOFF(SI), Y7; \
	VMOVDQU LOFF+32(SI), Y8; \
	VMOVDQU HOFF(SI), Y9; \
	VPSLLW  $4, Y9, Y1; \
	VPAND   Y12, Y1, Y1; \
	VPAND   Y14, Y7, Y2; \
	VPOR    Y2, Y1, Y1; \
	Q6_K_PART2(Y1, AOFF, 0, Y0); \
	VPSLLW  $2, Y9, Y1; \
	VPAND   Y12, Y1, Y1; \
	VPAND   Y14, Y8, Y2; \
	VPOR    Y2, Y1, Y1; \
	Q6_K_PART2(Y1, AOFF+32, 32, Y10); \
	VPAND   Y12, Y9, Y1; \
	VPSRLW  $4, Y7, Y2; \
	VPAND   Y14, Y2, Y2; \
	VPOR    Y2, Y1, Y1; \
	Q6_K_PART2(Y1, AOFF+64, 64, Y0); \
	VPSRLW  $2, Y9, Y1; \
	VPAND   Y12, Y1, Y1; \
	VPSRLW  $4, Y8, Y2; \
	VPAND   Y14, Y2, Y2; \
	VPOR    Y2, Y1, Y1; \
	Q6_K_PART2(Y1, AOFF+96, 96, Y10)

// func dotF32AVX2(w *byte, stride, rows, n int, x *float32, out *float32)
TEXT ·dotF32AVX2(SB), NOSPLIT, $0-48
	ROWSF(F32_8, 4)

// func dotF16AVX2(w *byte, stride, rows, n int, x *float32, out *float32)
TEXT ·dotF16AVX2(SB), NOSPLIT, $0-48
	ROWSF(F16_8, 2)

// func dotBF16AVX2(w *byte, stride, rows, n int, x *float32, out *float32)
TEXT ·dotBF16AVX2(SB), NOSPLIT, $0-48
	ROWSF(BF16_8, 2)

// func dotQ8_0AVX2(w *byte, stride, rows, nb int, q *int8, d, m *float32, out *float32)
TEXT ·dotQ8_0AVX2(SB), NOSPLIT, $0-64
	LEGACY2(Q8_0_BLOCK2, 34, 0)

// func dotQ4_0AVX2(w *byte, stride, rows, nb int, q *int8, d, m *float32, out *float32)
TEXT ·dotQ4_0AVX2(SB), NOSPLIT, $0-64
	LEGACY2(Q4_0_BLOCK2, 18, 0xc1000000)

// func dotQ4_KAVX2(w *byte, stride, rows, nsb int, q *int8, d, m *float32, out *float32)
TEXT ·dotQ4_KAVX2(SB), NOSPLIT, $32-64
	MOVQ w+0(FP), R10
	MOVQ out+56(FP), R12
	MOVL $0x00010001, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14

k4row:
	CMPQ rows+16(FP), $0
	JEQ  k4done
	MOVQ R10, SI
	MOVQ q+32(FP), DI
	MOVQ d+40(FP), R8
	MOVQ m+48(FP), R9
	MOVQ nsb+24(FP), BX
	VXORPS Y0, Y0, Y0
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

k4sb:
	PREFETCHT0 4096(SI)
	PREFETCHT0 4160(SI)
	PREFETCHT0 4224(SI)
	// Scales and minimums as in dotQ4_KAVX512.
	MOVL 4(SI), AX
	MOVL 8(SI), CX
	MOVL 12(SI), DX
	MOVL AX, R11
	ANDL $0x3f3f3f3f, R11
	SHRL $2, AX
	ANDL $0x30303030, AX
	MOVL DX, R13
	ANDL $0x0f0f0f0f, R13
	ORL  R13, AX
	SHLQ $32, AX
	ORQ  R11, AX
	MOVL CX, R11
	ANDL $0x3f3f3f3f, R11
	SHRL $2, CX
	ANDL $0x30303030, CX
	SHRL $4, DX
	ANDL $0x0f0f0f0f, DX
	ORL  DX, CX
	SHLQ $32, CX
	ORQ  R11, CX
	VMOVQ        AX, X2
	VPMOVZXBD    X2, Y2
	VCVTDQ2PS    Y2, Y2
	VMOVQ        CX, X3
	VPMOVZXBD    X3, Y3
	VCVTDQ2PS    Y3, Y3
	VPBROADCASTW (SI), X4
	VCVTPH2PS    X4, Y4
	VPBROADCASTW 2(SI), X5
	VCVTPH2PS    X5, Y5
	VMULPS       Y4, Y2, Y2
	VMULPS       Y5, Y3, Y3
	VMULPS       (R8), Y2, Y2
	VFMADD231PS  (R9), Y3, Y11
	VMOVUPS      Y2, (SP)
	Q4_K_GROUP2(16, 0, 0)
	Q4_K_GROUP2(48, 64, 8)
	Q4_K_GROUP2(80, 128, 16)
	Q4_K_GROUP2(112, 192, 24)
	ADDQ $144, SI
	ADDQ $256, DI
	ADDQ $32, R8
	ADDQ $32, R9
	DECQ BX
	JNZ  k4sb

	VADDPS Y10, Y0, Y0
	VSUBPS Y11, Y0, Y0
	HSUM8
	MOVSS X0, (R12)
	ADDQ  $4, R12
	ADDQ  stride+8(FP), R10
	DECQ  rows+16(FP)
	JMP   k4row

k4done:
	VZEROUPPER
	RET

// func dotQ6_KAVX2(w *byte, stride, rows, nsb int, q *int8, d, s *float32, out *float32)
TEXT ·dotQ6_KAVX2(SB), NOSPLIT, $0-64
	MOVQ w+0(FP), R10
	MOVQ out+56(FP), R12
	MOVL $0x00010001, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14
	MOVL $0x30303030, AX
	VMOVD AX, X12
	VPBROADCASTD X12, Y12

k6row:
	CMPQ rows+16(FP), $0
	JEQ  k6done
	MOVQ R10, SI
	MOVQ q+32(FP), DI
	MOVQ d+40(FP), R8
	MOVQ s+48(FP), R9
	MOVQ nsb+24(FP), BX
	VXORPS Y0, Y0, Y0
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

k6sb:
	PREFETCHT0 4096(SI)
	PREFETCHT0 4160(SI)
	PREFETCHT0 4224(SI)
	PREFETCHT0 4288(SI)
	// Y6 = d·sc_a·dx_(a/2) for the 8 sub-blocks a of a half; the -32
	// offset becomes Y11 += Y6·S.
	VPBROADCASTW 208(SI), X4
	VCVTPH2PS    X4, Y13
	VPMOVSXBD    192(SI), Y6
	VCVTDQ2PS    Y6, Y6
	VMULPS       Y13, Y6, Y6
	VMOVDQU      ·q6dup(SB), Y4
	VPERMPS      (R8), Y4, Y5
	VMULPS       Y5, Y6, Y6
	VFMADD231PS  (R9), Y6, Y11
	Q6_K_HALF2(0, 128, 0)
	VPMOVSXBD    200(SI), Y6
	VCVTDQ2PS    Y6, Y6
	VMULPS       Y13, Y6, Y6
	VMOVDQU      ·q6dup+32(SB), Y4
	VPERMPS      (R8), Y4, Y5
	VMULPS       Y5, Y6, Y6
	VFMADD231PS  32(R9), Y6, Y11
	Q6_K_HALF2(64, 160, 128)
	ADDQ $210, SI
	ADDQ $256, DI
	ADDQ $32, R8
	ADDQ $64, R9
	DECQ BX
	JNZ  k6sb

	VADDPS Y10, Y0, Y0
	MOVL $0xc2000000, AX // -32
	VMOVD AX, X1
	VBROADCASTSS X1, Y1
	VFMADD231PS Y1, Y11, Y0
	HSUM8
	MOVSS X0, (R12)
	ADDQ  $4, R12
	ADDQ  stride+8(FP), R10
	DECQ  rows+16(FP)
	JMP   k6row

k6done:
	VZEROUPPER
	RET
