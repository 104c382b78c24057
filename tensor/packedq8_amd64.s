//go:build amd64 && !purego

#include "textflag.h"
#include "packed_amd64.h"

// Packed Q8_0 kernels (see packedq8.go for the layouts): weight groups of
// 16 rows, one row per 512-bit lane, times up to eight activation rows
// prepared as Q8 records. Per 32-element block, VPDPBUSD adds four
// products at a time of each row's unsigned weights (w+128) with four
// activation bytes broadcast from the record, into an int32 accumulator
// that starts at the record's -128·Σq, so it ends at the exact integer
// dot product of the block; one FMA then adds it, scaled by the row's
// and the activation's block scales, to the row's float32 accumulator.
// Blocks are added in order, so an output has the same bits whatever the
// number of activation rows or groups computed with it.
//
// Registers: SI the current group's block (its second group at SI+R10),
// CX blocks left, DI/R13 activation records 0 and 4 (R8 = xstride, R9 =
// 3·xstride), DX/BX output rows 0 and 4 (R12 = ostride, R11 = 3·ostride),
// Z24/Z25 one 64-byte chunk of weights of the two groups, Z26/Z27 their
// 16 block scales, Z28/Z29 scratch, K2/K3 the store masks.
//
// Two-group kernels (1-4 activation rows): float accumulators Z0-Z3
// (group 0) and Z4-Z7 (group 1), integer ones Z8-Z11 and Z12-Z15.
// One-group kernels (5-8 rows): float Z0-Z7, integer Z8-Z15.

// A record is 40 bytes per block: 32 int8, the float32 scale at +32 and
// -128·Σq as int32 at +36.
#define RECORD 40

#define X0(o) o(DI)
#define X1(o) o(DI)(R8*1)
#define X2(o) o(DI)(R8*2)
#define X3(o) o(DI)(R9*1)
#define X4(o) o(R13)
#define X5(o) o(R13)(R8*1)
#define X6(o) o(R13)(R8*2)
#define X7(o) o(R13)(R9*1)

// Two groups.
#define INIT2(x, ia, ib) VPBROADCASTD x, ia; VMOVDQA32 ia, ib
#define INIT2_1 INIT2(X0(36), Z8, Z12)
#define INIT2_2 INIT2_1; INIT2(X1(36), Z9, Z13)
#define INIT2_3 INIT2_2; INIT2(X2(36), Z10, Z14)
#define INIT2_4 INIT2_3; INIT2(X3(36), Z11, Z15)

#define DP2(x, ia, ib) VPDPBUSD.BCST x, Z24, ia; VPDPBUSD.BCST x, Z25, ib
#define DP2_1(o) DP2(X0(o), Z8, Z12)
#define DP2_2(o) DP2_1(o); DP2(X1(o), Z9, Z13)
#define DP2_3(o) DP2_2(o); DP2(X2(o), Z10, Z14)
#define DP2_4(o) DP2_3(o); DP2(X3(o), Z11, Z15)

#define CHUNK2(wo, xo, DP) \
	VMOVDQU32 wo(SI), Z24; \
	VMOVDQU32 wo(SI)(R10*1), Z25; \
	DP(xo)

#define BODY8_2(DP) \
	CHUNK2(0, 0, DP); \
	CHUNK2(64, 4, DP); \
	CHUNK2(128, 8, DP); \
	CHUNK2(192, 12, DP); \
	CHUNK2(256, 16, DP); \
	CHUNK2(320, 20, DP); \
	CHUNK2(384, 24, DP); \
	CHUNK2(448, 28, DP)

#define FOLD2(x, ia, ib, fa, fb) \
	VCVTDQ2PS   ia, ia; \
	VMULPS.BCST x, Z26, Z28; \
	VFMADD231PS ia, Z28, fa; \
	VCVTDQ2PS   ib, ib; \
	VMULPS.BCST x, Z27, Z29; \
	VFMADD231PS ib, Z29, fb
#define FOLD2_1 FOLD2(X0(32), Z8, Z12, Z0, Z4)
#define FOLD2_2 FOLD2_1; FOLD2(X1(32), Z9, Z13, Z1, Z5)
#define FOLD2_3 FOLD2_2; FOLD2(X2(32), Z10, Z14, Z2, Z6)
#define FOLD2_4 FOLD2_3; FOLD2(X3(32), Z11, Z15, Z3, Z7)

#define ST2_1 VMOVUPS Z0, K2, (DX); VMOVUPS Z4, K3, 64(DX)
#define ST2_2 ST2_1; VMOVUPS Z1, K2, (DX)(R12*1); VMOVUPS Z5, K3, 64(DX)(R12*1)
#define ST2_3 ST2_2; VMOVUPS Z2, K2, (DX)(R12*2); VMOVUPS Z6, K3, 64(DX)(R12*2)
#define ST2_4 ST2_3; VMOVUPS Z3, K2, (DX)(R11*1); VMOVUPS Z7, K3, 64(DX)(R11*1)

#define SCALES2 \
	VMOVUPS 512(SI), Z26; \
	VMOVUPS 512(SI)(R10*1), Z27
#define SCALES2_Q4 \
	VMOVUPS 256(SI), Z26; \
	VMOVUPS 256(SI)(R10*1), Z27

#define PF2G \
	PREFETCHT0 PFQ(SI); \
	PREFETCHT0 PFQ+64(SI); \
	PREFETCHT0 PFQ(SI)(R10*1); \
	PREFETCHT0 PFQ+64(SI)(R10*1)

// One group.
#define INIT1(x, ia) VPBROADCASTD x, ia
#define INIT1_5 INIT1(X0(36), Z8); INIT1(X1(36), Z9); INIT1(X2(36), Z10); INIT1(X3(36), Z11); INIT1(X4(36), Z12)
#define INIT1_6 INIT1_5; INIT1(X5(36), Z13)
#define INIT1_7 INIT1_6; INIT1(X6(36), Z14)
#define INIT1_8 INIT1_7; INIT1(X7(36), Z15)

#define DP1(x, ia) VPDPBUSD.BCST x, Z24, ia
#define DP1_5(o) DP1(X0(o), Z8); DP1(X1(o), Z9); DP1(X2(o), Z10); DP1(X3(o), Z11); DP1(X4(o), Z12)
#define DP1_6(o) DP1_5(o); DP1(X5(o), Z13)
#define DP1_7(o) DP1_6(o); DP1(X6(o), Z14)
#define DP1_8(o) DP1_7(o); DP1(X7(o), Z15)

#define CHUNK1(wo, xo, DP) \
	VMOVDQU32 wo(SI), Z24; \
	DP(xo)

#define BODY8_1(DP) \
	CHUNK1(0, 0, DP); \
	CHUNK1(64, 4, DP); \
	CHUNK1(128, 8, DP); \
	CHUNK1(192, 12, DP); \
	CHUNK1(256, 16, DP); \
	CHUNK1(320, 20, DP); \
	CHUNK1(384, 24, DP); \
	CHUNK1(448, 28, DP)

#define FOLD1(x, ia, fa) \
	VCVTDQ2PS   ia, ia; \
	VMULPS.BCST x, Z26, Z28; \
	VFMADD231PS ia, Z28, fa
#define FOLD1_5 FOLD1(X0(32), Z8, Z0); FOLD1(X1(32), Z9, Z1); FOLD1(X2(32), Z10, Z2); FOLD1(X3(32), Z11, Z3); FOLD1(X4(32), Z12, Z4)
#define FOLD1_6 FOLD1_5; FOLD1(X5(32), Z13, Z5)
#define FOLD1_7 FOLD1_6; FOLD1(X6(32), Z14, Z6)
#define FOLD1_8 FOLD1_7; FOLD1(X7(32), Z15, Z7)

#define ST1_5 VMOVUPS Z0, K2, (DX); VMOVUPS Z1, K2, (DX)(R12*1); VMOVUPS Z2, K2, (DX)(R12*2); VMOVUPS Z3, K2, (DX)(R11*1); VMOVUPS Z4, K2, (BX)
#define ST1_6 ST1_5; VMOVUPS Z5, K2, (BX)(R12*1)
#define ST1_7 ST1_6; VMOVUPS Z6, K2, (BX)(R12*2)
#define ST1_8 ST1_7; VMOVUPS Z7, K2, (BX)(R11*1)

#define SCALES1 VMOVUPS 512(SI), Z26
#define SCALES1_Q4 VMOVUPS 256(SI), Z26

#define PF1G \
	PREFETCHT0 PFQ(SI); \
	PREFETCHT0 PFQ+64(SI)

// Q4_0 (packedq8.go: packQ4): per group and block, four 64-byte vectors
// whose dword j holds row j's elements 8t..8t+3 in its low nibbles and
// 8t+4..8t+7 in its high ones (as stored, 0..15), then the 16 scales. The
// integer accumulator starts at -8·Σq (the record's -128·Σq shifted), which
// turns Σ q·x into Σ (q-8)·x.

#define NIB_MASK \
	MOVL $0x0f0f0f0f, AX; \
	VPBROADCASTD AX, Z30

// NIB2(wo, xo, DP): vector t of both groups split into nibbles, then the
// products of the low ones with activations xo..xo+3 and of the high ones
// with xo+4..xo+7.
#define NIB2(wo, xo, DP) \
	VMOVDQU32 wo(SI), Z22; \
	VMOVDQU32 wo(SI)(R10*1), Z23; \
	VPANDD    Z30, Z22, Z24; \
	VPANDD    Z30, Z23, Z25; \
	DP(xo); \
	VPSRLD    $4, Z22, Z22; \
	VPSRLD    $4, Z23, Z23; \
	VPANDD    Z30, Z22, Z24; \
	VPANDD    Z30, Z23, Z25; \
	DP(xo+4)

#define BODY4_2(DP) \
	NIB2(0, 0, DP); \
	NIB2(64, 8, DP); \
	NIB2(128, 16, DP); \
	NIB2(192, 24, DP)

#define NIB1(wo, xo, DP) \
	VMOVDQU32 wo(SI), Z22; \
	VPANDD    Z30, Z22, Z24; \
	DP(xo); \
	VPSRLD    $4, Z22, Z22; \
	VPANDD    Z30, Z22, Z24; \
	DP(xo+4)

#define BODY4_1(DP) \
	NIB1(0, 0, DP); \
	NIB1(64, 8, DP); \
	NIB1(128, 16, DP); \
	NIB1(192, 24, DP)

// The starting values: -8·Σq.
#define Q4INIT2(x, ia, ib) VPBROADCASTD x, ia; VPSRAD $4, ia, ia; VMOVDQA32 ia, ib
#define Q4INIT2_1 NIB_MASK; Q4INIT2(X0(36), Z8, Z12)
#define Q4INIT2_2 Q4INIT2_1; Q4INIT2(X1(36), Z9, Z13)
#define Q4INIT2_3 Q4INIT2_2; Q4INIT2(X2(36), Z10, Z14)
#define Q4INIT2_4 Q4INIT2_3; Q4INIT2(X3(36), Z11, Z15)

#define Q4INIT1(x, ia) VPBROADCASTD x, ia; VPSRAD $4, ia, ia
#define Q4INIT1_5 NIB_MASK; Q4INIT1(X0(36), Z8); Q4INIT1(X1(36), Z9); Q4INIT1(X2(36), Z10); Q4INIT1(X3(36), Z11); Q4INIT1(X4(36), Z12)
#define Q4INIT1_6 Q4INIT1_5; Q4INIT1(X5(36), Z13)
#define Q4INIT1_7 Q4INIT1_6; Q4INIT1(X6(36), Z14)
#define Q4INIT1_8 Q4INIT1_7; Q4INIT1(X7(36), Z15)

// NEXT2 skips the second group of a two-group unit; one-group units
// follow each other.
#define NEXT2 ADDQ R10, SI
#define NEXT1 ADDQ $0, SI

// Prefetch distance: PFQ bytes ahead within each group's stream (one
// block of 576 bytes is nine lines; two prefetches per block run ahead of
// it by about one line per 288 bytes, which the hardware prefetcher
// completes).
#define PFQ 4096

// PACKEDQ(G, NEXT, INIT, BODY, DP, SCALES, FOLD, STORE, PFG, GB): the
// kernel for G groups per unit (unit = 16·G rows); BODY(DP) multiplies one
// block of weights (GB bytes per group) into the integer accumulators, and
// NEXT moves SI from the end of the unit's first group to the next unit. Every unit but the last stores
// all outputs; the last uses mask (group 0 in the low 16 bits).
#define PACKEDQ(G, NEXT, INIT, BODY, DP, SCALES, FOLD, STORE, PFG, GB) \
	MOVQ w+0(FP), SI; \
	MOVQ gstride+8(FP), R10; \
	MOVQ xstride+32(FP), R8; \
	LEAQ (R8)(R8*2), R9; \
	MOVQ out+40(FP), DX; \
	MOVQ ostride+48(FP), R12; \
	LEAQ (R12)(R12*2), R11; \
unit: \
	UNIT_MASKS(units+56(FP), mask+64(FP), done); \
	MOVQ x+24(FP), DI; \
	LEAQ (DI)(R8*4), R13; \
	LEAQ (DX)(R12*4), BX; \
	MOVQ blocks+16(FP), CX; \
	ZERO8(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7); \
loop: \
	PFG; \
	INIT; \
	BODY(DP); \
	SCALES; \
	FOLD; \
	ADDQ $GB, SI; \
	ADDQ $RECORD, DI; \
	ADDQ $RECORD, R13; \
	DECQ CX; \
	JNZ  loop; \
	STORE; \
	NEXT; \
	ADDQ $(64*G), DX; \
	DECQ units+56(FP); \
	JMP  unit; \
done: \
	VZEROUPPER; \
	RET

// func packedQ8x1(w *byte, gstride, blocks int, x *byte, xstride int, out *float32, ostride, units, mask int)
TEXT ·packedQ8x1(SB), NOSPLIT, $0-72
	PACKEDQ(2, NEXT2, INIT2_1, BODY8_2, DP2_1, SCALES2, FOLD2_1, ST2_1, PF2G, 576)

// func packedQ8x2(w *byte, gstride, blocks int, x *byte, xstride int, out *float32, ostride, units, mask int)
TEXT ·packedQ8x2(SB), NOSPLIT, $0-72
	PACKEDQ(2, NEXT2, INIT2_2, BODY8_2, DP2_2, SCALES2, FOLD2_2, ST2_2, PF2G, 576)

// func packedQ8x3(w *byte, gstride, blocks int, x *byte, xstride int, out *float32, ostride, units, mask int)
TEXT ·packedQ8x3(SB), NOSPLIT, $0-72
	PACKEDQ(2, NEXT2, INIT2_3, BODY8_2, DP2_3, SCALES2, FOLD2_3, ST2_3, PF2G, 576)

// func packedQ8x4(w *byte, gstride, blocks int, x *byte, xstride int, out *float32, ostride, units, mask int)
TEXT ·packedQ8x4(SB), NOSPLIT, $0-72
	PACKEDQ(2, NEXT2, INIT2_4, BODY8_2, DP2_4, SCALES2, FOLD2_4, ST2_4, PF2G, 576)

// func packedQ8x5(w *byte, gstride, blocks int, x *byte, xstride int, out *float32, ostride, units, mask int)
TEXT ·packedQ8x5(SB), NOSPLIT, $0-72
	PACKEDQ(1, NEXT1, INIT1_5, BODY8_1, DP1_5, SCALES1, FOLD1_5, ST1_5, PF1G, 576)

// func packedQ8x6(w *byte, gstride, blocks int, x *byte, xstride int, out *float32, ostride, units, mask int)
TEXT ·packedQ8x6(SB), NOSPLIT, $0-72
	PACKEDQ(1, NEXT1, INIT1_6, BODY8_1, DP1_6, SCALES1, FOLD1_6, ST1_6, PF1G, 576)

// func packedQ8x7(w *byte, gstride, blocks int, x *byte, xstride int, out *float32, ostride, units, mask int)
TEXT ·packedQ8x7(SB), NOSPLIT, $0-72
	PACKEDQ(1, NEXT1, INIT1_7, BODY8_1, DP1_7, SCALES1, FOLD1_7, ST1_7, PF1G, 576)

// func packedQ8x8(w *byte, gstride, blocks int, x *byte, xstride int, out *float32, ostride, units, mask int)
TEXT ·packedQ8x8(SB), NOSPLIT, $0-72
	PACKEDQ(1, NEXT1, INIT1_8, BODY8_1, DP1_8, SCALES1, FOLD1_8, ST1_8, PF1G, 576)

// func packedQ4x1(w *byte, gstride, blocks int, x *byte, xstride int, out *float32, ostride, units, mask int)
TEXT ·packedQ4x1(SB), NOSPLIT, $0-72
	PACKEDQ(2, NEXT2, Q4INIT2_1, BODY4_2, DP2_1, SCALES2_Q4, FOLD2_1, ST2_1, PF2G, 320)

// func packedQ4x2(w *byte, gstride, blocks int, x *byte, xstride int, out *float32, ostride, units, mask int)
TEXT ·packedQ4x2(SB), NOSPLIT, $0-72
	PACKEDQ(2, NEXT2, Q4INIT2_2, BODY4_2, DP2_2, SCALES2_Q4, FOLD2_2, ST2_2, PF2G, 320)

// func packedQ4x3(w *byte, gstride, blocks int, x *byte, xstride int, out *float32, ostride, units, mask int)
TEXT ·packedQ4x3(SB), NOSPLIT, $0-72
	PACKEDQ(2, NEXT2, Q4INIT2_3, BODY4_2, DP2_3, SCALES2_Q4, FOLD2_3, ST2_3, PF2G, 320)

// func packedQ4x4(w *byte, gstride, blocks int, x *byte, xstride int, out *float32, ostride, units, mask int)
TEXT ·packedQ4x4(SB), NOSPLIT, $0-72
	PACKEDQ(2, NEXT2, Q4INIT2_4, BODY4_2, DP2_4, SCALES2_Q4, FOLD2_4, ST2_4, PF2G, 320)

// func packedQ4x5(w *byte, gstride, blocks int, x *byte, xstride int, out *float32, ostride, units, mask int)
TEXT ·packedQ4x5(SB), NOSPLIT, $0-72
	PACKEDQ(1, NEXT1, Q4INIT1_5, BODY4_1, DP1_5, SCALES1_Q4, FOLD1_5, ST1_5, PF1G, 320)

// func packedQ4x6(w *byte, gstride, blocks int, x *byte, xstride int, out *float32, ostride, units, mask int)
TEXT ·packedQ4x6(SB), NOSPLIT, $0-72
	PACKEDQ(1, NEXT1, Q4INIT1_6, BODY4_1, DP1_6, SCALES1_Q4, FOLD1_6, ST1_6, PF1G, 320)

// func packedQ4x7(w *byte, gstride, blocks int, x *byte, xstride int, out *float32, ostride, units, mask int)
TEXT ·packedQ4x7(SB), NOSPLIT, $0-72
	PACKEDQ(1, NEXT1, Q4INIT1_7, BODY4_1, DP1_7, SCALES1_Q4, FOLD1_7, ST1_7, PF1G, 320)

// func packedQ4x8(w *byte, gstride, blocks int, x *byte, xstride int, out *float32, ostride, units, mask int)
TEXT ·packedQ4x8(SB), NOSPLIT, $0-72
	PACKEDQ(1, NEXT1, Q4INIT1_8, BODY4_1, DP1_8, SCALES1_Q4, FOLD1_8, ST1_8, PF1G, 320)
