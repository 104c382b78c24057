//go:build amd64 && !purego

#include "textflag.h"

// Panel packing for the matrix-matrix kernels: each function turns one
// weight row of nb 32-element blocks into panel records (see gemm.go), one
// per block, 384 bytes apart (a panel's 8 rows interleave by block). The
// block sums come from VPSADBW on the unsigned form of the quants.

// SUMB leaves in AX the sum of the 32 unsigned bytes of Y (Y13 must be
// zero; clobbers Y1, X2).
#define SUMB(Y) \
	VPSADBW      Y13, Y, Y1; \
	VEXTRACTI128 $1, Y1, X2; \
	VPADDQ       X2, X1, X1; \
	VPSHUFD      $0x4e, X1, X2; \
	VPADDQ       X2, X1, X1; \
	VMOVD        X1, AX

// HALFSUMS leaves in AX and BX the sums of the first and last 16 unsigned
// bytes of Y (Y13 zero; clobbers Y1, X2).
#define HALFSUMS(Y) \
	VPSADBW      Y13, Y, Y1; \
	VEXTRACTI128 $1, Y1, X2; \
	VPSHUFD      $0x4e, X1, X3; \
	VPADDQ       X3, X1, X1; \
	VPSHUFD      $0x4e, X2, X3; \
	VPADDQ       X3, X2, X2; \
	VMOVD        X1, AX; \
	VMOVD        X2, BX

// func packQ8_0(row *byte, nb int, rec *byte)
TEXT ·packQ8_0(SB), NOSPLIT, $0-24
	MOVQ row+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ rec+16(FP), DI
	VPXOR Y13, Y13, Y13
	MOVL $0x80808080, AX
	VMOVD AX, X12
	VPBROADCASTD X12, Y12

q8:
	VMOVDQU 2(SI), Y0
	VMOVDQU Y0, (DI)
	VPXOR   Y12, Y0, Y4
	SUMB(Y4)
	// Σw = Σ(w+128) - 4096, I0 = -128·Σw
	SHLL $7, AX
	NEGL AX
	ADDL $524288, AX
	MOVL AX, 40(DI)
	VPBROADCASTW (SI), X3
	VCVTPH2PS X3, X3
	VMOVSS X3, 32(DI)
	MOVL $0, 36(DI)
	MOVL $0, 44(DI)
	ADDQ $34, SI
	ADDQ $384, DI
	DECQ CX
	JNZ  q8
	VZEROUPPER
	RET

// func packQ4_0(row *byte, nb int, rec *byte)
TEXT ·packQ4_0(SB), NOSPLIT, $0-24
	MOVQ row+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ rec+16(FP), DI
	VPXOR Y13, Y13, Y13
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14
	MOVL $0x08080808, AX
	VMOVD AX, X12
	VPBROADCASTD X12, Y12
	VMOVDQU ·shiftQ4_0(SB), Y11

q4:
	VBROADCASTI128 2(SI), Y0
	VPSRLVW Y11, Y0, Y0
	VPAND   Y14, Y0, Y0
	SUMB(Y0)
	VPSUBB  Y12, Y0, Y0
	VMOVDQU Y0, (DI)
	// Σw = Σn - 256, I0 = -128·Σw
	SHLL $7, AX
	NEGL AX
	ADDL $32768, AX
	MOVL AX, 40(DI)
	VPBROADCASTW (SI), X3
	VCVTPH2PS X3, X3
	VMOVSS X3, 32(DI)
	MOVL $0, 36(DI)
	MOVL $0, 44(DI)
	ADDQ $18, SI
	ADDQ $384, DI
	DECQ CX
	JNZ  q4
	VZEROUPPER
	RET

// Q4_K group: the 32 bytes at QOFF give record 2g (low nibbles) and 2g+1
// (high nibbles), at DI and DI+384; the records' D and M come from the
// scatter below.
#define Q4_K_GROUP(QOFF) \
	VMOVDQU QOFF(SI), Y5; \
	VPAND   Y14, Y5, Y0; \
	VMOVDQU Y0, (DI); \
	SUMB(Y0); \
	SHLL    $7, AX; \
	NEGL    AX; \
	MOVL    AX, 40(DI); \
	MOVL    $0, 44(DI); \
	VPSRLW  $4, Y5, Y0; \
	VPAND   Y14, Y0, Y0; \
	VMOVDQU Y0, 384(DI); \
	SUMB(Y0); \
	SHLL    $7, AX; \
	NEGL    AX; \
	MOVL    AX, 424(DI); \
	MOVL    $0, 428(DI); \
	ADDQ    $768, DI

// func packQ4_K(row *byte, nsb int, rec *byte)
TEXT ·packQ4_K(SB), NOSPLIT, $0-24
	MOVQ row+0(FP), SI
	MOVQ nsb+8(FP), CX
	MOVQ rec+16(FP), DI
	VPXOR Y13, Y13, Y13
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14
	// Scatter offsets 384·j for the 8 records of a super-block.
	VMOVDQU ·iota16(SB), Y11
	MOVL $384, AX
	VMOVD AX, X10
	VPBROADCASTD X10, Y10
	VPMULLD Y10, Y11, Y11

k4:
	// Scales and minimums as in dotQ4_KAVX512.
	MOVL 4(SI), AX
	MOVL 8(SI), BX
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
	MOVL BX, R11
	ANDL $0x3f3f3f3f, R11
	SHRL $2, BX
	ANDL $0x30303030, BX
	SHRL $4, DX
	ANDL $0x0f0f0f0f, DX
	ORL  DX, BX
	SHLQ $32, BX
	ORQ  R11, BX
	VMOVQ        AX, X6
	VPMOVZXBD    X6, Y6
	VCVTDQ2PS    Y6, Y6
	VMOVQ        BX, X7
	VPMOVZXBD    X7, Y7
	VCVTDQ2PS    Y7, Y7
	VPBROADCASTW (SI), X8
	VCVTPH2PS    X8, Y8
	VPBROADCASTW 2(SI), X9
	VCVTPH2PS    X9, Y9
	VMULPS       Y8, Y6, Y6
	VMULPS       Y9, Y7, Y7
	MOVL         $0xff, AX
	KMOVW        AX, K1
	VSCATTERDPS  Y6, K1, 32(DI)(Y11*1)
	KMOVW        AX, K1
	VSCATTERDPS  Y7, K1, 36(DI)(Y11*1)
	Q4_K_GROUP(16)
	Q4_K_GROUP(48)
	Q4_K_GROUP(80)
	Q4_K_GROUP(112)
	ADDQ $144, SI
	DECQ CX
	JNZ  k4
	VZEROUPPER
	RET

// Q6_K: Z20/Z21 hold 64 elements as unsigned 6-bit values (see
// Q6_K_HALF in dotq_amd64.s); RECORDS6 turns them into two records.
#define RECORDS6(Z, Y) \
	VPSUBB        Z14, Z, Z0; \
	VMOVDQU       Y0, (DI); \
	VEXTRACTI64X4 $1, Z0, 384(DI); \
	HALFSUMS(Y); \
	SHLL          $7, AX; \
	NEGL          AX; \
	ADDL          $65536, AX; \
	MOVL          AX, 40(DI); \
	SHLL          $7, BX; \
	NEGL          BX; \
	ADDL          $65536, BX; \
	MOVL          BX, 44(DI); \
	VEXTRACTI64X4 $1, Z, Y4; \
	HALFSUMS(Y4); \
	SHLL          $7, AX; \
	NEGL          AX; \
	ADDL          $65536, AX; \
	MOVL          AX, 424(DI); \
	SHLL          $7, BX; \
	NEGL          BX; \
	ADDL          $65536, BX; \
	MOVL          BX, 428(DI); \
	ADDQ          $768, DI

#define Q6_K_UNPACK(LOFF, HOFF) \
	VMOVDQU64       LOFF(SI), Z10; \
	VBROADCASTI64X4 HOFF(SI), Z11; \
	VPSLLVW         Z29, Z11, Z20; \
	VPANDD          Z30, Z20, Z20; \
	VPTERNLOGD      $0xf8, Z31, Z10, Z20; \
	VPSRLVW         Z28, Z11, Z21; \
	VPANDD          Z30, Z21, Z21; \
	VPSRLW          $4, Z10, Z10; \
	VPTERNLOGD      $0xf8, Z31, Z10, Z21

// func packQ6_K(row *byte, nsb int, rec *byte)
TEXT ·packQ6_K(SB), NOSPLIT, $0-24
	MOVQ row+0(FP), SI
	MOVQ nsb+8(FP), CX
	MOVQ rec+16(FP), DI
	VPXOR Y13, Y13, Y13
	MOVL         $0x0f0f0f0f, AX
	VPBROADCASTD AX, Z31
	MOVL         $0x30303030, AX
	VPBROADCASTD AX, Z30
	MOVL         $0x20202020, AX
	VPBROADCASTD AX, Z14
	VMOVDQU32    ·sllQ6_K(SB), Z29
	VMOVDQU32    ·srlQ6_K(SB), Z28
	// Scatter offsets: scale a goes to record a/2 at 32 + 4·(a%2).
	VMOVDQU32    ·iota16(SB), Z27
	VPSRLD       $1, Z27, Z26
	MOVL         $384, AX
	VPBROADCASTD AX, Z25
	VPMULLD      Z25, Z26, Z26
	MOVL         $1, AX
	VPBROADCASTD AX, Z25
	VPANDD       Z25, Z27, Z27
	VPSLLD       $2, Z27, Z27
	VPADDD       Z27, Z26, Z26

k6:
	VPMOVSXBD    192(SI), Z6
	VCVTDQ2PS    Z6, Z6
	VPBROADCASTW 208(SI), Y7
	VCVTPH2PS    Y7, Z7
	VMULPS       Z7, Z6, Z6
	KXNORW       K1, K1, K1
	VSCATTERDPS  Z6, K1, 32(DI)(Z26*1)
	Q6_K_UNPACK(0, 128)
	RECORDS6(Z20, Y20)
	RECORDS6(Z21, Y21)
	Q6_K_UNPACK(64, 160)
	RECORDS6(Z20, Y20)
	RECORDS6(Z21, Y21)
	ADDQ $210, SI
	DECQ CX
	JNZ  k6
	VZEROUPPER
	RET
