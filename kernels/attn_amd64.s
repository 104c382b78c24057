//go:build amd64 && !purego

#include "textflag.h"

// The probability-weighted sum of the values for one query of an
// attention head (AttentionHead in attn.go); hd is 16..128 in steps of 16.

// WCHUNK adds p (Z8) times value chunk I at BASE to accumulator ACC.
#define WCHUNK(I, BASE, ACC) VFMADD231PS I*64(BASE), Z8, ACC

// WSUM1 adds p·v for the value at BASE into the accumulators starting at
// ACC0 (hd/16 = BX chunks).
#define WSUM1(BASE, A0, A1, A2, A3, A4, A5, A6, A7, L) \
	WCHUNK(0, BASE, A0); \
	CMPQ BX, $1; \
	JEQ  L; \
	WCHUNK(1, BASE, A1); \
	CMPQ BX, $2; \
	JEQ  L; \
	WCHUNK(2, BASE, A2); \
	CMPQ BX, $3; \
	JEQ  L; \
	WCHUNK(3, BASE, A3); \
	CMPQ BX, $4; \
	JEQ  L; \
	WCHUNK(4, BASE, A4); \
	CMPQ BX, $5; \
	JEQ  L; \
	WCHUNK(5, BASE, A5); \
	CMPQ BX, $6; \
	JEQ  L; \
	WCHUNK(6, BASE, A6); \
	CMPQ BX, $7; \
	JEQ  L; \
	WCHUNK(7, BASE, A7); \
L:

// func wsumAVX512(p, v *float32, stride, count, hd int, out *float32)
// out = Σ_j p[j]·v[j*stride : j*stride+hd]; even and odd keys go to two
// sets of accumulators (Z0-Z7, Z10-Z17), so consecutive FMAs on one
// register are two keys apart.
TEXT ·wsumAVX512(SB), NOSPLIT, $0-48
	MOVQ p+0(FP), SI
	MOVQ v+8(FP), DI
	MOVQ stride+16(FP), DX
	SHLQ $2, DX
	MOVQ count+24(FP), CX
	MOVQ hd+32(FP), BX
	SHRQ $4, BX
	MOVQ out+40(FP), R8
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	LEAQ (DI)(DX*1), R9

wpair:
	CMPQ CX, $2
	JLT  wone
	VBROADCASTSS (SI), Z8
	WSUM1(DI, Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, w0)
	VBROADCASTSS 4(SI), Z8
	WSUM1(R9, Z10, Z11, Z12, Z13, Z14, Z15, Z16, Z17, w1)
	LEAQ (DI)(DX*2), DI
	LEAQ (R9)(DX*2), R9
	ADDQ $8, SI
	SUBQ $2, CX
	JMP  wpair

wone:
	TESTQ CX, CX
	JZ    wstore
	VBROADCASTSS (SI), Z8
	WSUM1(DI, Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, w2)

wstore:
	VADDPS  Z10, Z0, Z0
	VMOVUPS Z0, (R8)
	CMPQ    BX, $1
	JEQ     wdone
	VADDPS  Z11, Z1, Z1
	VMOVUPS Z1, 64(R8)
	CMPQ    BX, $2
	JEQ     wdone
	VADDPS  Z12, Z2, Z2
	VMOVUPS Z2, 128(R8)
	CMPQ    BX, $3
	JEQ     wdone
	VADDPS  Z13, Z3, Z3
	VMOVUPS Z3, 192(R8)
	CMPQ    BX, $4
	JEQ     wdone
	VADDPS  Z14, Z4, Z4
	VMOVUPS Z4, 256(R8)
	CMPQ    BX, $5
	JEQ     wdone
	VADDPS  Z15, Z5, Z5
	VMOVUPS Z5, 320(R8)
	CMPQ    BX, $6
	JEQ     wdone
	VADDPS  Z16, Z6, Z6
	VMOVUPS Z6, 384(R8)
	CMPQ    BX, $7
	JEQ     wdone
	VADDPS  Z17, Z7, Z7
	VMOVUPS Z7, 448(R8)

wdone:
	VZEROUPPER
	RET
