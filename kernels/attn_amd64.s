//go:build amd64 && !purego

#include "textflag.h"

// One query head's attention in three passes (Attention in attn.go runs
// the softmax between them): scores over the cached keys, then the
// probability-weighted sum of the values. hd is 16..128 in steps of 16; the
// query lives in Z16-Z23 for the whole pass.

// SCORES16 leaves in Z0-Z15 the partial products of the query with keys
// t = 0..15 of a block (key t at K_t, one 64-byte chunk per step).
#define KEY4(P, OP, A, B, C, D) \
	OP (P), Z24, A; \
	OP (P)(DX*1), Z24, B; \
	OP (P)(DX*2), Z24, C; \
	OP (P)(R9*1), Z24, D

#define KEYS16(OP) \
	KEY4(DI, OP, Z0, Z1, Z2, Z3); \
	KEY4(R10, OP, Z4, Z5, Z6, Z7); \
	KEY4(R11, OP, Z8, Z9, Z10, Z11); \
	KEY4(R12, OP, Z12, Z13, Z14, Z15)

// PAIRSUM, QUADSUM, LANESUM: the levels of a transposed reduction of 16
// vectors (Z0-Z15) to their 16 horizontal sums, in order, in Z12. Each
// sum depends only on its own vector's lanes, in a fixed tree, so a key's
// score has the same bits whichever block neighbours it has.
#define PAIRSUM(A, B, D) \
	VUNPCKLPS B, A, D; \
	VUNPCKHPS B, A, A; \
	VADDPS    A, D, D

#define QUADSUM(X, Y, D, T) \
	VUNPCKLPD Y, X, D; \
	VUNPCKHPD Y, X, T; \
	VADDPS    T, D, D

#define LANESUM(P, Q, D, T) \
	VSHUFF32X4 $0x88, Q, P, D; \
	VSHUFF32X4 $0xdd, Q, P, T; \
	VADDPS     T, D, D

#define REDUCE16 \
	PAIRSUM(Z0, Z1, Z16); \
	PAIRSUM(Z2, Z3, Z17); \
	PAIRSUM(Z4, Z5, Z18); \
	PAIRSUM(Z6, Z7, Z19); \
	PAIRSUM(Z8, Z9, Z20); \
	PAIRSUM(Z10, Z11, Z21); \
	PAIRSUM(Z12, Z13, Z22); \
	PAIRSUM(Z14, Z15, Z23); \
	QUADSUM(Z16, Z17, Z0, Z1); \
	QUADSUM(Z18, Z19, Z2, Z3); \
	QUADSUM(Z20, Z21, Z4, Z5); \
	QUADSUM(Z22, Z23, Z6, Z7); \
	LANESUM(Z0, Z2, Z8, Z9); \
	LANESUM(Z4, Z6, Z10, Z11); \
	LANESUM(Z8, Z10, Z12, Z13)

// ONESUM leaves in Z's element 0 the sum of its lanes in REDUCE16's tree
// ((e0+e2)+(e1+e3) within 128-bit lanes, then (L0+L1)+(L2+L3)): float
// addition commutes, so a key's score has the same bits in the tail as it
// would in a block.
#define ONESUM(Z, T) \
	VPERMILPS  $0x4e, Z, T; \
	VADDPS     T, Z, Z; \
	VPERMILPS  $0xb1, Z, T; \
	VADDPS     T, Z, Z; \
	VSHUFF32X4 $0xb1, Z, Z, T; \
	VADDPS     T, Z, Z; \
	VSHUFF32X4 $0x4e, Z, Z, T; \
	VADDPS     T, Z, Z

// func scoresAVX512(q, k *float32, stride, count, hd int, scale float32, scores *float32)
// scores[j] = scale · q·k[j*stride : j*stride+hd], sixteen keys at a
// time: each key's chunks are summed lane-wise, then one transposed
// reduction gives the block's 16 scores; the last count%16 keys go one
// by one.
TEXT ·scoresAVX512(SB), NOSPLIT, $0-56
	MOVQ q+0(FP), SI
	MOVQ k+8(FP), DI
	MOVQ stride+16(FP), DX
	SHLQ $2, DX
	LEAQ (DX)(DX*2), R9
	MOVQ count+24(FP), CX
	SHRQ $4, CX
	MOVQ hd+32(FP), BX
	SHRQ $4, BX
	VBROADCASTSS scale+40(FP), Z25
	MOVQ scores+48(FP), R8
block:
	TESTQ CX, CX
	JZ    sdone
	LEAQ (DI)(DX*4), R10
	LEAQ (R10)(DX*4), R11
	LEAQ (R11)(DX*4), R12
	MOVQ DI, R14
	MOVQ SI, AX
	VMOVUPS (AX), Z24
	KEYS16(VMULPS)
	MOVQ BX, R13
chunk:
	DECQ R13
	JZ   reduce
	ADDQ $64, AX
	ADDQ $64, DI
	ADDQ $64, R10
	ADDQ $64, R11
	ADDQ $64, R12
	VMOVUPS (AX), Z24
	KEYS16(VFMADD231PS)
	JMP  chunk
reduce:
	REDUCE16
	VMULPS  Z25, Z12, Z12
	VMOVUPS Z12, (R8)
	ADDQ    $64, R8
	LEAQ    (R14)(DX*8), DI // the next 16 keys
	LEAQ    (DI)(DX*8), DI
	DECQ    CX
	JMP     block
sdone:
	MOVQ count+24(FP), CX
	ANDQ $15, CX
	JZ   done
one:
	MOVQ    SI, AX
	MOVQ    DI, R14
	VMOVUPS (AX), Z24
	VMULPS  (R14), Z24, Z0
	MOVQ    BX, R13
onechunk:
	DECQ        R13
	JZ          onesum
	ADDQ        $64, AX
	ADDQ        $64, R14
	VMOVUPS     (AX), Z24
	VFMADD231PS (R14), Z24, Z0
	JMP         onechunk
onesum:
	ONESUM(Z0, Z1)
	VMULSS X25, X0, X0
	VMOVSS X0, (R8)
	ADDQ   $4, R8
	ADDQ   DX, DI
	DECQ   CX
	JNZ    one
done:
	VZEROUPPER
	RET

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
