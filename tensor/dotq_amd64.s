//go:build amd64 && !purego

#include "textflag.h"

// AVX-512 row kernels: each call computes out[r] = row r · activation for
// rows consecutive weight rows (stride bytes apart), so the per-row cost of
// a Go call is paid once per range.
//
// Quantized weights meet int8 activations (QAct, 32-element blocks). A
// weight block is widened to unsigned bytes u (Q8_0: w+128, Q4_0: the
// nibble, Q4_K: the nibble, Q6_K: the 6-bit value), VPDPBUSD sums u·q into
// 32-bit lanes, and each lane group is scaled in float by dw·dx of its
// block. The offset of u (128, 8, 32) or the K-quant minimum turns into a
// correction Σ dw·(dx·Σq) kept in a second accumulator, so the inner loop
// never handles it.

// PFD is how far ahead of the weights the row loops prefetch. Decode
// streams every weight once; with the prefetches the next rows' bytes are
// on their way while this one's products are computed, instead of memory
// time and compute time adding up.
#define PFD 4096

// HSUM leaves the sum of the 16 floats of Z0 in X0 (clobbers Y9/X9).
#define HSUM \
	VEXTRACTF64X4 $1, Z0, Y9; \
	VADDPS        Y9, Y0, Y0; \
	VEXTRACTF128  $1, Y0, X9; \
	VADDPS        X9, X0, X0; \
	VMOVHLPS      X0, X0, X9; \
	VADDPS        X9, X0, X0; \
	VMOVSHDUP     X0, X9; \
	VADDSS        X9, X0, X0

// Q8_0 and Q4_0 share one row loop: blocks go in groups of up to 16,
// whose fp16 scales one gather fetches (Z30 holds the block offsets);
// within a group, a 512-bit step handles two blocks (the PAIR macro widens
// their quants into Z6) and an odd last block takes a 256-bit step
// (SINGLE). Z5 holds the pair's scale index (block 2k in lanes 0-7, 2k+1
// in lanes 8-15), Z28 its step 2, Z27 the offset factor (-128 or -8).

// LEGACY_SETUP loads the constants of that loop: BLK is the block size in
// bytes, CORR the bits of the float offset factor.
#define LEGACY_SETUP(BLK, CORR) \
	MOVQ w+0(FP), R10; \
	MOVQ out+56(FP), R12; \
	VMOVDQU32    ·iota16(SB), Z29; \
	MOVL         $BLK, AX; \
	VPBROADCASTD AX, Z30; \
	VPMULLD      Z29, Z30, Z30; \
	VPSRLD       $3, Z29, Z29; \
	MOVL         $2, AX; \
	VPBROADCASTD AX, Z28; \
	MOVL         $CORR, AX; \
	VPBROADCASTD AX, Z27

// Q8_0: two blocks' 32 quants side by side, flipped to unsigned (w+128).
// Q8_0_W puts the blocks at byte OFF into Z (Y its lower half).
#define Q8_0_W(OFF, Z, Y, YT) \
	VMOVDQU      OFF+2(SI), Y; \
	VINSERTI64X4 $1, OFF+36(SI), Z, Z; \
	VPXORD       Z31, Z, Z

#define Q8_0_PAIR Q8_0_W(0, Z6, Y6, Y10)

#define Q8_0_SINGLE \
	VMOVDQU 2(SI), Y6; \
	VPXORD  Y31, Y6, Y6

// func dotQ8_0AVX512(w *byte, stride, rows, nb int, q *int8, d, m *float32, out *float32)
TEXT ·dotQ8_0AVX512(SB), NOSPLIT, $0-64
	LEGACY_SETUP(34, 0xc3000000)
	MOVL         $0x80808080, AX
	VPBROADCASTD AX, Z31
q8row:
	CMPQ rows+16(FP), $0
	JEQ  q8done
	MOVQ R10, SI
	MOVQ q+32(FP), DI
	MOVQ d+40(FP), R8
	MOVQ m+48(FP), R9
	MOVQ nb+24(FP), BX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z9, Z9, Z9
q8group:
	MOVQ BX, CX
	CMPQ CX, $16
	JLE  q8gsize
	MOVQ $16, CX
q8gsize:
	MOVL  $1, AX
	SHLL  CX, AX
	DECL  AX
	KMOVW AX, K1
	KMOVW AX, K2
	VPXORD     Z2, Z2, Z2
	VPGATHERDD (SI)(Z30*1), K2, Z2
	VPMOVDW    Z2, Y2
	VCVTPH2PS  Y2, Z2
	VMOVUPS.Z  (R8), K1, Z3
	VMULPS     Z2, Z3, Z3
	VMOVUPS.Z  (R9), K1, Z4
	VFMADD231PS Z4, Z2, Z1
	VMOVDQA32  Z29, Z5
	MOVQ CX, AX
q8quad:
	CMPQ AX, $4
	JLT  q8pair
	PREFETCHT0 PFD(SI)
	PREFETCHT0 PFD+64(SI)
	PREFETCHT0 PFD+128(SI)
	Q8_0_W(0, Z6, Y6, Y10)
	Q8_0_W(68, Z11, Y11, Y12)
	VPXORD      Z7, Z7, Z7
	VPXORD      Z13, Z13, Z13
	VPDPBUSD    (DI), Z6, Z7
	VPDPBUSD    64(DI), Z11, Z13
	VCVTDQ2PS   Z7, Z7
	VCVTDQ2PS   Z13, Z13
	VPADDD      Z28, Z5, Z14
	VPERMPS     Z3, Z5, Z8
	VPERMPS     Z3, Z14, Z15
	VFMADD231PS Z8, Z7, Z0
	VFMADD231PS Z15, Z13, Z9
	VPADDD      Z28, Z14, Z5
	ADDQ $136, SI
	ADDQ $128, DI
	SUBQ $4, AX
	JMP  q8quad
q8pair:
	CMPQ AX, $2
	JLT  q8single
	Q8_0_PAIR
	VPXORD      Z7, Z7, Z7
	VPDPBUSD    (DI), Z6, Z7
	VCVTDQ2PS   Z7, Z7
	VPERMPS     Z3, Z5, Z8
	VFMADD231PS Z8, Z7, Z0
	VPADDD      Z28, Z5, Z5
	ADDQ $68, SI
	ADDQ $64, DI
	SUBQ $2, AX
	JMP  q8pair
q8single:
	TESTQ AX, AX
	JZ    q8gdone
	Q8_0_SINGLE
	VPXORD      Z7, Z7, Z7
	VPDPBUSD    (DI), Y6, Y7
	VCVTDQ2PS   Z7, Z7
	VPERMPS     Z3, Z5, Z8
	VFMADD231PS Z8, Z7, Z0
	ADDQ $34, SI
	ADDQ $32, DI
q8gdone:
	LEAQ (R8)(CX*4), R8
	LEAQ (R9)(CX*4), R9
	SUBQ CX, BX
	JNZ  q8group
	VADDPS      Z9, Z0, Z0
	VFMADD231PS Z27, Z1, Z0
	HSUM
	MOVSS X0, (R12)
	ADDQ  $4, R12
	ADDQ  stride+8(FP), R10
	DECQ  rows+16(FP)
	JMP   q8row
q8done:
	VZEROUPPER
	RET

// Q4_0: the 16 bytes of a block hold elements 0-15 in their low nibbles
// and 16-31 in their high ones. Broadcasting them to both 128-bit halves
// and shifting the upper half's words right by 4 (Z26) puts all 32
// nibbles in element order, after masking with 0x0f (Z31).
#define Q4_0_W(OFF, Z, Y, YT) \
	VBROADCASTI32X4 OFF+2(SI), Y; \
	VBROADCASTI32X4 OFF+20(SI), YT; \
	VINSERTI64X4    $1, YT, Z, Z; \
	VPSRLVW         Z26, Z, Z; \
	VPANDD          Z31, Z, Z

#define Q4_0_PAIR Q4_0_W(0, Z6, Y6, Y10)

#define Q4_0_SINGLE \
	VBROADCASTI32X4 2(SI), Y6; \
	VPSRLVW         Y26, Y6, Y6; \
	VPANDD          Y31, Y6, Y6

// Four blocks at a time (q4quad) the 16 quant bytes of each go side by side
// in one register; masking with 0x0f gives the low nibbles (elements 0-15
// of each block) and with 0xf0 the high ones times 16, which the scale
// table Z24 = Z3/16 undoes. The activations of each whole group of four
// blocks are stored to match (see qact.permuteQ4): the four blocks' first
// 16 bytes, then their last 16. Leftover blocks take the pair path.
//
// func dotQ4_0AVX512(w *byte, stride, rows, nb int, q *int8, d, m *float32, out *float32)
TEXT ·dotQ4_0AVX512(SB), NOSPLIT, $0-64
	LEGACY_SETUP(18, 0xc1000000)
	MOVL         $0x0f0f0f0f, AX
	VPBROADCASTD AX, Z31
	VMOVDQU32    ·shiftQ4_0(SB), Z26
	// Quads: Z20 = block index per lane ([0]*4, [1]*4, [2]*4, [3]*4),
	// Z22 = pair minus quad indices, Z23 = 4, Z21 = 1/16, Z25 = 0xf0.
	VMOVDQU32    ·iota16(SB), Z20
	VPSRLD       $2, Z20, Z20
	VPSUBD       Z20, Z29, Z22
	MOVL         $4, AX
	VPBROADCASTD AX, Z23
	MOVL         $0x3d800000, AX
	VPBROADCASTD AX, Z21
	MOVL         $0xf0f0f0f0, AX
	VPBROADCASTD AX, Z25
q4row:
	CMPQ rows+16(FP), $0
	JEQ  q4done
	MOVQ R10, SI
	MOVQ q+32(FP), DI
	MOVQ d+40(FP), R8
	MOVQ m+48(FP), R9
	MOVQ nb+24(FP), BX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z9, Z9, Z9
q4group:
	MOVQ BX, CX
	CMPQ CX, $16
	JLE  q4gsize
	MOVQ $16, CX
q4gsize:
	MOVL  $1, AX
	SHLL  CX, AX
	DECL  AX
	KMOVW AX, K1
	KMOVW AX, K2
	VPXORD     Z2, Z2, Z2
	VPGATHERDD (SI)(Z30*1), K2, Z2
	VPMOVDW    Z2, Y2
	VCVTPH2PS  Y2, Z2
	VMOVUPS.Z  (R8), K1, Z3
	VMULPS     Z2, Z3, Z3
	VMOVUPS.Z  (R9), K1, Z4
	VFMADD231PS Z4, Z2, Z1
	VMULPS     Z21, Z3, Z24
	VMOVDQA32  Z20, Z5
	MOVQ CX, AX
q4quad:
	CMPQ AX, $4
	JLT  q4qdone
	PREFETCHT0 PFD(SI)
	PREFETCHT0 PFD+64(SI)
	VMOVDQU      2(SI), X6
	VINSERTI32X4 $1, 20(SI), Z6, Z6
	VINSERTI32X4 $2, 38(SI), Z6, Z6
	VINSERTI32X4 $3, 56(SI), Z6, Z6
	VPANDD       Z31, Z6, Z11
	VPANDD       Z25, Z6, Z6
	VPXORD       Z7, Z7, Z7
	VPXORD       Z13, Z13, Z13
	VPDPBUSD     (DI), Z11, Z7
	VPDPBUSD     64(DI), Z6, Z13
	VCVTDQ2PS    Z7, Z7
	VCVTDQ2PS    Z13, Z13
	VPERMPS      Z3, Z5, Z8
	VPERMPS      Z24, Z5, Z15
	VFMADD231PS  Z8, Z7, Z0
	VFMADD231PS  Z15, Z13, Z9
	VPADDD       Z23, Z5, Z5
	ADDQ $72, SI
	ADDQ $128, DI
	SUBQ $4, AX
	JMP  q4quad
q4qdone:
	VPADDD Z22, Z5, Z5 // on to pair indices (block 2k in lanes 0-7)
q4pair:
	CMPQ AX, $2
	JLT  q4single
	Q4_0_PAIR
	VPXORD      Z7, Z7, Z7
	VPDPBUSD    (DI), Z6, Z7
	VCVTDQ2PS   Z7, Z7
	VPERMPS     Z3, Z5, Z8
	VFMADD231PS Z8, Z7, Z0
	VPADDD      Z28, Z5, Z5
	ADDQ $36, SI
	ADDQ $64, DI
	SUBQ $2, AX
	JMP  q4pair
q4single:
	TESTQ AX, AX
	JZ    q4gdone
	Q4_0_SINGLE
	VPXORD      Z7, Z7, Z7
	VPDPBUSD    (DI), Y6, Y7
	VCVTDQ2PS   Z7, Z7
	VPERMPS     Z3, Z5, Z8
	VFMADD231PS Z8, Z7, Z0
	ADDQ $18, SI
	ADDQ $32, DI
q4gdone:
	LEAQ (R8)(CX*4), R8
	LEAQ (R9)(CX*4), R9
	SUBQ CX, BX
	JNZ  q4group
	VADDPS      Z9, Z0, Z0
	VFMADD231PS Z27, Z1, Z0
	HSUM
	MOVSS X0, (R12)
	ADDQ  $4, R12
	ADDQ  stride+8(FP), R10
	DECQ  rows+16(FP)
	JMP   q4row
q4done:
	VZEROUPPER
	RET

// Q4_K group g: 32 bytes whose low nibbles are sub-block 2g and high
// nibbles sub-block 2g+1; Z2 holds the eight scale products d·sc_j·dx_j and
// the lane index vector IDX picks the pair (2g, 2g+1) from it.
#define Q4_K_GROUP(QOFF, AOFF, IDX, ACC) \
	VBROADCASTI64X4 QOFF(SI), Z6; \
	VPSRLVW         Z26, Z6, Z6; \
	VPANDD          Z31, Z6, Z6; \
	VPXORD          Z7, Z7, Z7; \
	VPDPBUSD        AOFF(DI), Z6, Z7; \
	VCVTDQ2PS       Z7, Z7; \
	VPERMPS         Z2, IDX, Z8; \
	VFMADD231PS     Z8, Z7, ACC

// func dotQ4_KAVX512(w *byte, stride, rows, nsb int, q *int8, d, m *float32, out *float32)
TEXT ·dotQ4_KAVX512(SB), NOSPLIT, $0-64
	MOVQ w+0(FP), R10
	MOVQ out+56(FP), R12
	MOVL         $0x0f0f0f0f, AX
	VPBROADCASTD AX, Z31
	VMOVDQU32    ·shiftQ4_K(SB), Z26
	VMOVDQU32    ·iota16(SB), Z20
	VPSRLD       $3, Z20, Z20
	MOVL         $2, AX
	VPBROADCASTD AX, Z25
	VPADDD       Z25, Z20, Z21
	VPADDD       Z25, Z21, Z22
	VPADDD       Z25, Z22, Z23

k4row:
	CMPQ rows+16(FP), $0
	JEQ  k4done
	MOVQ R10, SI
	MOVQ q+32(FP), DI
	MOVQ d+40(FP), R8
	MOVQ m+48(FP), R9
	MOVQ nsb+24(FP), BX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11

k4sb:
	PREFETCHT0 PFD(SI)
	PREFETCHT0 PFD+64(SI)
	PREFETCHT0 PFD+128(SI)
	// Unpack the 6-bit scales and mins (see kScaleMin) four at a time
	// with 32-bit masks: AX gets sc[0..7], CX mn[0..7].
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
	VFMADD231PS  (R9), Y3, Y1
	Q4_K_GROUP(16, 0, Z20, Z0)
	Q4_K_GROUP(48, 64, Z21, Z9)
	Q4_K_GROUP(80, 128, Z22, Z10)
	Q4_K_GROUP(112, 192, Z23, Z11)
	ADDQ $144, SI
	ADDQ $256, DI
	ADDQ $32, R8
	ADDQ $32, R9
	DECQ BX
	JNZ  k4sb

	VADDPS Z9, Z0, Z0
	VADDPS Z11, Z10, Z10
	VADDPS Z10, Z0, Z0
	VSUBPS Z1, Z0, Z0
	HSUM
	MOVSS X0, (R12)
	ADDQ  $4, R12
	ADDQ  stride+8(FP), R10
	DECQ  rows+16(FP)
	JMP   k4row

k4done:
	VZEROUPPER
	RET

// Q6_K half h (128 elements): ql holds the low nibbles (bytes 0-31:
// elements 0-31 low, 64-95 high; bytes 32-63: 32-63 low, 96-127 high),
// qh the top two bits (bits 0-1, 2-3, 4-5, 6-7 for elements l, l+32,
// l+64, l+96). Shifting qh's words by Z29 (left 4 | left 2) or Z28
// (right 0 | right 2) and masking with 0x30 (Z30) lines the two bits up
// above the nibble; VPTERNLOGD $0xf8 computes A | (B & 0x0f).
#define Q6_K_HALF(LOFF, HOFF, AOFF, IDX1, IDX2, ACC1, ACC2) \
	VMOVDQU64       LOFF(SI), Z10; \
	VBROADCASTI64X4 HOFF(SI), Z11; \
	VPSLLVW         Z29, Z11, Z12; \
	VPANDD          Z30, Z12, Z12; \
	VPTERNLOGD      $0xf8, Z31, Z10, Z12; \
	VPXORD          Z7, Z7, Z7; \
	VPDPBUSD        AOFF(DI), Z12, Z7; \
	VCVTDQ2PS       Z7, Z7; \
	VPERMPS         Z2, IDX1, Z8; \
	VFMADD231PS     Z8, Z7, ACC1; \
	VPSRLVW         Z28, Z11, Z13; \
	VPANDD          Z30, Z13, Z13; \
	VPSRLW          $4, Z10, Z10; \
	VPTERNLOGD      $0xf8, Z31, Z10, Z13; \
	VPXORD          Z7, Z7, Z7; \
	VPDPBUSD        AOFF+64(DI), Z13, Z7; \
	VCVTDQ2PS       Z7, Z7; \
	VPERMPS         Z2, IDX2, Z8; \
	VFMADD231PS     Z8, Z7, ACC2

// func dotQ6_KAVX512(w *byte, stride, rows, nsb int, q *int8, d, s *float32, out *float32)
TEXT ·dotQ6_KAVX512(SB), NOSPLIT, $0-64
	MOVQ w+0(FP), R10
	MOVQ out+56(FP), R12
	MOVL         $0x0f0f0f0f, AX
	VPBROADCASTD AX, Z31
	MOVL         $0x30303030, AX
	VPBROADCASTD AX, Z30
	VMOVDQU32    ·sllQ6_K(SB), Z29
	VMOVDQU32    ·srlQ6_K(SB), Z28
	MOVL         $0xc2000000, AX // -32.0
	VPBROADCASTD AX, Z27
	VMOVDQU32    ·iota16(SB), Z24
	VPSRLD       $2, Z24, Z20
	MOVL         $4, AX
	VPBROADCASTD AX, Z25
	VPADDD       Z25, Z20, Z21
	VPADDD       Z25, Z21, Z22
	VPADDD       Z25, Z22, Z23
	VPSRLD       $1, Z24, Z24

k6row:
	CMPQ rows+16(FP), $0
	JEQ  k6done
	MOVQ R10, SI
	MOVQ q+32(FP), DI
	MOVQ d+40(FP), R8
	MOVQ s+48(FP), R9
	MOVQ nsb+24(FP), BX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	VPXORD Z16, Z16, Z16

k6sb:
	PREFETCHT0 PFD(SI)
	PREFETCHT0 PFD+64(SI)
	PREFETCHT0 PFD+128(SI)
	PREFETCHT0 PFD+192(SI)
	// Z2 = d·sc_a·dx_(a/2) for the 16 sub-blocks a; the -32 offset of the
	// quants becomes Z1 += Z2·S (S: activation sums per 16 elements).
	VPMOVSXBD    192(SI), Z2
	VCVTDQ2PS    Z2, Z2
	VPBROADCASTW 208(SI), Y4
	VCVTPH2PS    Y4, Z4
	VMULPS       Z4, Z2, Z2
	VMOVUPS      (R8), Y5
	VPERMPS      Z5, Z24, Z5
	VMULPS       Z5, Z2, Z2
	VFMADD231PS  (R9), Z2, Z1
	Q6_K_HALF(0, 128, 0, Z20, Z21, Z0, Z14)
	Q6_K_HALF(64, 160, 128, Z22, Z23, Z15, Z16)
	ADDQ $210, SI
	ADDQ $256, DI
	ADDQ $32, R8
	ADDQ $64, R9
	DECQ BX
	JNZ  k6sb

	VADDPS      Z14, Z0, Z0
	VADDPS      Z16, Z15, Z15
	VADDPS      Z15, Z0, Z0
	VFMADD231PS Z27, Z1, Z0
	HSUM
	MOVSS X0, (R12)
	ADDQ  $4, R12
	ADDQ  stride+8(FP), R10
	DECQ  rows+16(FP)
	JMP   k6row

k6done:
	VZEROUPPER
	RET
