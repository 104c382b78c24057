//go:build amd64 && !purego

#include "textflag.h"
#include "packed_amd64.h"

// Packed float kernels (see packed.go for the layout): tiles of 32 weight
// rows, two groups of 16 with one row per 512-bit lane, times the first K
// of up to eight activation rows xstride bytes apart. Per pair of elements
// each group's weights are decoded once into an even and an odd vector,
// and every activation element is broadcast from memory into the FMA, so
// the 16 outputs of a group for one activation row build up in one
// register in plain sequential order (element 0, 1, 2, ...) and are stored
// as they are: no horizontal sums, and the same bits for any K.
//
// Registers: SI the tile's group 0 (group 1 at SI+R10), CX pairs left,
// DI/R13 activation rows 0 and 4 at the current pair (R8 = xstride, R9 =
// 3·xstride), DX/BX output rows 0 and 4 (R12 = ostride, R11 = 3·ostride),
// Z0-Z7 group 0's and Z8-Z15 group 1's accumulators for rows 0-7, Z16-Z19
// the decoded weights, Z31 the BF16 high-half mask, K2/K3 the store masks
// of the two groups.

// Weight loaders: group 0's pair into Z16 (even) and Z17 (odd), group 1's
// into Z18 and Z19. A BF16 pair is one dword per row: the low half is
// the even element, so shifting it up gives its float32 and masking off
// the low half gives the odd element's.
#define LW_BF16 \
	VPSLLD $16, (SI), Z16; \
	VPANDD (SI), Z31, Z17; \
	VPSLLD $16, (SI)(R10*1), Z18; \
	VPANDD (SI)(R10*1), Z31, Z19

#define LW_F16 \
	VCVTPH2PS (SI), Z16; \
	VCVTPH2PS 32(SI), Z17; \
	VCVTPH2PS (SI)(R10*1), Z18; \
	VCVTPH2PS 32(SI)(R10*1), Z19

#define LW_F32 \
	VMOVUPS (SI), Z16; \
	VMOVUPS 64(SI), Z17; \
	VMOVUPS (SI)(R10*1), Z18; \
	VMOVUPS 64(SI)(R10*1), Z19

// PF_64 / PF_128 prefetch the weights PF bytes ahead of both groups, one
// line per 64 bytes a pair step consumes (the out-of-order window alone
// keeps too few misses in flight to stream from memory at full speed).
#define PF 4096
#define PF2 4160
#define PF_64 \
	PREFETCHT0 PF(SI); \
	PREFETCHT0 PF(SI)(R10*1)
#define PF_128 \
	PF_64; \
	PREFETCHT0 PF2(SI); \
	PREFETCHT0 PF2(SI)(R10*1)

// FE/FO(addr, a, b): one activation element (the pair's even or odd one)
// times both groups' weights into accumulators a (group 0) and b (group 1).
#define FE(addr, a, b) \
	VBROADCASTSS addr, Z20; \
	VFMADD231PS Z20, Z16, a; \
	VFMADD231PS Z20, Z18, b

#define FO(addr, a, b) \
	VBROADCASTSS addr, Z21; \
	VFMADD231PS Z21, Z17, a; \
	VFMADD231PS Z21, Z19, b

// ROWSk(F, o): F for activation rows 0..k-1 at byte offset o of the pair.
#define ROWS1(F, o) F(o(DI), Z0, Z8)
#define ROWS2(F, o) ROWS1(F, o); F(o(DI)(R8*1), Z1, Z9)
#define ROWS3(F, o) ROWS2(F, o); F(o(DI)(R8*2), Z2, Z10)
#define ROWS4(F, o) ROWS3(F, o); F(o(DI)(R9*1), Z3, Z11)
#define ROWS5(F, o) ROWS4(F, o); F(o(R13), Z4, Z12)
#define ROWS6(F, o) ROWS5(F, o); F(o(R13)(R8*1), Z5, Z13)
#define ROWS7(F, o) ROWS6(F, o); F(o(R13)(R8*2), Z6, Z14)
#define ROWS8(F, o) ROWS7(F, o); F(o(R13)(R9*1), Z7, Z15)

// STk: the tile's 32 outputs of activation rows 0..k-1, masked.
#define ST(a, b, addr, addr64) \
	VMOVUPS a, K2, addr; \
	VMOVUPS b, K3, addr64

#define ST1 ST(Z0, Z8, (DX), 64(DX))
#define ST2 ST1; ST(Z1, Z9, (DX)(R12*1), 64(DX)(R12*1))
#define ST3 ST2; ST(Z2, Z10, (DX)(R12*2), 64(DX)(R12*2))
#define ST4 ST3; ST(Z3, Z11, (DX)(R11*1), 64(DX)(R11*1))
#define ST5 ST4; ST(Z4, Z12, (BX), 64(BX))
#define ST6 ST5; ST(Z5, Z13, (BX)(R12*1), 64(BX)(R12*1))
#define ST7 ST6; ST(Z6, Z14, (BX)(R12*2), 64(BX)(R12*2))
#define ST8 ST7; ST(Z7, Z15, (BX)(R11*1), 64(BX)(R11*1))

// PACKED(LW, PFW, WSTEP, ROWS, STORE): the whole kernel. WSTEP is the
// bytes of one pair of one group. Every tile but the last stores all 32
// outputs; the last one uses mask (group 0 in the low 16 bits).
#define PACKED(LW, PFW, WSTEP, ROWS, STORE) \
	MOVQ w+0(FP), SI; \
	MOVQ gstride+8(FP), R10; \
	MOVQ xstride+32(FP), R8; \
	LEAQ (R8)(R8*2), R9; \
	MOVQ out+40(FP), DX; \
	MOVQ ostride+48(FP), R12; \
	LEAQ (R12)(R12*2), R11; \
	MOVL $0xffff0000, AX; \
	VPBROADCASTD AX, Z31; \
tile: \
	UNIT_MASKS(tiles+56(FP), mask+64(FP), done); \
	MOVQ x+24(FP), DI; \
	LEAQ (DI)(R8*4), R13; \
	LEAQ (DX)(R12*4), BX; \
	MOVQ pairs+16(FP), CX; \
	ZERO8(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7); \
	ZERO8(Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15); \
loop: \
	PFW; \
	LW; \
	ROWS(FE, 0); \
	ROWS(FO, 4); \
	ADDQ $WSTEP, SI; \
	ADDQ $8, DI; \
	ADDQ $8, R13; \
	DECQ CX; \
	JNZ  loop; \
	STORE; \
	ADDQ R10, SI; \
	ADDQ $128, DX; \
	DECQ tiles+56(FP); \
	JMP  tile; \
done: \
	VZEROUPPER; \
	RET

// func packedBF16x1(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)
TEXT ·packedBF16x1(SB), NOSPLIT, $0-72
	PACKED(LW_BF16, PF_64, 64, ROWS1, ST1)

// func packedBF16x2(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)
TEXT ·packedBF16x2(SB), NOSPLIT, $0-72
	PACKED(LW_BF16, PF_64, 64, ROWS2, ST2)

// func packedBF16x3(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)
TEXT ·packedBF16x3(SB), NOSPLIT, $0-72
	PACKED(LW_BF16, PF_64, 64, ROWS3, ST3)

// func packedBF16x4(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)
TEXT ·packedBF16x4(SB), NOSPLIT, $0-72
	PACKED(LW_BF16, PF_64, 64, ROWS4, ST4)

// func packedBF16x5(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)
TEXT ·packedBF16x5(SB), NOSPLIT, $0-72
	PACKED(LW_BF16, PF_64, 64, ROWS5, ST5)

// func packedBF16x6(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)
TEXT ·packedBF16x6(SB), NOSPLIT, $0-72
	PACKED(LW_BF16, PF_64, 64, ROWS6, ST6)

// func packedBF16x7(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)
TEXT ·packedBF16x7(SB), NOSPLIT, $0-72
	PACKED(LW_BF16, PF_64, 64, ROWS7, ST7)

// func packedBF16x8(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)
TEXT ·packedBF16x8(SB), NOSPLIT, $0-72
	PACKED(LW_BF16, PF_64, 64, ROWS8, ST8)

// func packedF16x1(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)
TEXT ·packedF16x1(SB), NOSPLIT, $0-72
	PACKED(LW_F16, PF_64, 64, ROWS1, ST1)

// func packedF16x2(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)
TEXT ·packedF16x2(SB), NOSPLIT, $0-72
	PACKED(LW_F16, PF_64, 64, ROWS2, ST2)

// func packedF16x3(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)
TEXT ·packedF16x3(SB), NOSPLIT, $0-72
	PACKED(LW_F16, PF_64, 64, ROWS3, ST3)

// func packedF16x4(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)
TEXT ·packedF16x4(SB), NOSPLIT, $0-72
	PACKED(LW_F16, PF_64, 64, ROWS4, ST4)

// func packedF16x5(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)
TEXT ·packedF16x5(SB), NOSPLIT, $0-72
	PACKED(LW_F16, PF_64, 64, ROWS5, ST5)

// func packedF16x6(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)
TEXT ·packedF16x6(SB), NOSPLIT, $0-72
	PACKED(LW_F16, PF_64, 64, ROWS6, ST6)

// func packedF16x7(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)
TEXT ·packedF16x7(SB), NOSPLIT, $0-72
	PACKED(LW_F16, PF_64, 64, ROWS7, ST7)

// func packedF16x8(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)
TEXT ·packedF16x8(SB), NOSPLIT, $0-72
	PACKED(LW_F16, PF_64, 64, ROWS8, ST8)

// func packedF32x1(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)
TEXT ·packedF32x1(SB), NOSPLIT, $0-72
	PACKED(LW_F32, PF_128, 128, ROWS1, ST1)

// func packedF32x2(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)
TEXT ·packedF32x2(SB), NOSPLIT, $0-72
	PACKED(LW_F32, PF_128, 128, ROWS2, ST2)

// func packedF32x3(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)
TEXT ·packedF32x3(SB), NOSPLIT, $0-72
	PACKED(LW_F32, PF_128, 128, ROWS3, ST3)

// func packedF32x4(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)
TEXT ·packedF32x4(SB), NOSPLIT, $0-72
	PACKED(LW_F32, PF_128, 128, ROWS4, ST4)

// func packedF32x5(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)
TEXT ·packedF32x5(SB), NOSPLIT, $0-72
	PACKED(LW_F32, PF_128, 128, ROWS5, ST5)

// func packedF32x6(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)
TEXT ·packedF32x6(SB), NOSPLIT, $0-72
	PACKED(LW_F32, PF_128, 128, ROWS6, ST6)

// func packedF32x7(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)
TEXT ·packedF32x7(SB), NOSPLIT, $0-72
	PACKED(LW_F32, PF_128, 128, ROWS7, ST7)

// func packedF32x8(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)
TEXT ·packedF32x8(SB), NOSPLIT, $0-72
	PACKED(LW_F32, PF_128, 128, ROWS8, ST8)
