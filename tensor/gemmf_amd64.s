//go:build amd64 && !purego

#include "textflag.h"
#include "transpose_amd64.h"

// Float panel packing: 8 rows (stride bytes apart) × n elements, widened
// to float32 and transposed 16 elements at a time into [i][8]. The 8×16
// transpose: VUNPCKL/HPS pairs rows, VUNPCKL/HPD pairs the pairs, which
// leaves rows 0-3 (Ua) and 4-7 (Ub) of element 4L+k in 128-bit lane L of
// register k; VPERMT2PS then joins the two halves of each element.
// The last n%16 elements load through a mask (zeros) and the whole
// 16-element group is written, so the panel needs room for n rounded up.
#define PF_F32(off, z) VMOVUPS off, z
#define PF_F16(off, z) VCVTPH2PS off, z
#define PF_BF16(off, z) VPMOVZXWD off, z; VPSLLD $16, z, z
#define PFZ_F32(off, z) VMOVUPS.Z off, K1, z
#define PFZ_F16(off, z) VCVTPH2PS.Z off, K1, z
#define PFZ_BF16(off, z) VPMOVZXWD.Z off, K1, z; VPSLLD $16, z, z

#define LOAD8(L) \
	L((SI), Z0); \
	L((SI)(DX*1), Z1); \
	L((SI)(DX*2), Z2); \
	L((SI)(R9*1), Z3); \
	L((R10), Z4); \
	L((R10)(DX*1), Z5); \
	L((R10)(DX*2), Z6); \
	L((R10)(R9*1), Z7)

#define PACKF(L, LZ, ESZ) \
	MOVQ w+0(FP), SI; \
	MOVQ stride+8(FP), DX; \
	MOVQ n+16(FP), CX; \
	MOVQ panel+24(FP), DI; \
	LEAQ (DX)(DX*2), R9; \
	LEAQ (SI)(DX*4), R10; \
	VMOVDQU32 ·permLo(SB), Z30; \
	VMOVDQU32 ·permHi(SB), Z31; \
loop: \
	CMPQ CX, $16; \
	JLT  tail; \
	LOAD8(L); \
	TRANSPOSE_STORE; \
	ADDQ $(16*ESZ), SI; \
	ADDQ $(16*ESZ), R10; \
	ADDQ $512, DI; \
	SUBQ $16, CX; \
	JMP  loop; \
tail: \
	TESTQ CX, CX; \
	JZ    done; \
	MOVL  $1, AX; \
	SHLL  CX, AX; \
	DECL  AX; \
	KMOVW AX, K1; \
	LOAD8(LZ); \
	TRANSPOSE_STORE; \
done: \
	VZEROUPPER; \
	RET


// FSTEP: element I of the slice: the 16 activation rows' values (one load)
// times each of the 8 weight rows' value (broadcast), into Z0-Z7.
#define FSTEP(I) \
	VMOVUPS         I*64(DI), Z16; \
	VFMADD231PS.BCST I*32(SI), Z16, Z0; \
	VFMADD231PS.BCST I*32+4(SI), Z16, Z1; \
	VFMADD231PS.BCST I*32+8(SI), Z16, Z2; \
	VFMADD231PS.BCST I*32+12(SI), Z16, Z3; \
	VFMADD231PS.BCST I*32+16(SI), Z16, Z4; \
	VFMADD231PS.BCST I*32+20(SI), Z16, Z5; \
	VFMADD231PS.BCST I*32+24(SI), Z16, Z6; \
	VFMADD231PS.BCST I*32+28(SI), Z16, Z7

// func gemmF32AVX512(panel, tile *float32, n int, out *float32)
// out[c*8+r] = Σ_i panel[i*8+r]·tile[i*16+c] over n elements.
TEXT ·gemmF32AVX512(SB), NOSPLIT, $0-32
	MOVQ panel+0(FP), SI
	MOVQ tile+8(FP), DI
	MOVQ n+16(FP), CX
	MOVQ out+24(FP), DX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7

loop4:
	CMPQ CX, $4
	JLT  loop1
	FSTEP(0)
	FSTEP(1)
	FSTEP(2)
	FSTEP(3)
	ADDQ $128, SI
	ADDQ $256, DI
	SUBQ $4, CX
	JMP  loop4

loop1:
	TESTQ CX, CX
	JZ    done
	FSTEP(0)
	ADDQ $32, SI
	ADDQ $64, DI
	DECQ CX
	JMP  loop1

done:
	MOVQ      DX, DI
	VMOVDQU32 ·permLo(SB), Z30
	VMOVDQU32 ·permHi(SB), Z31
	TRANSPOSE_STORE
	VZEROUPPER
	RET

// func packF32(w *byte, stride, n int, panel *float32)
TEXT ·packF32(SB), NOSPLIT, $0-32
	PACKF(PF_F32, PFZ_F32, 4)

// func packF16(w *byte, stride, n int, panel *float32)
TEXT ·packF16(SB), NOSPLIT, $0-32
	PACKF(PF_F16, PFZ_F16, 2)

// func packBF16(w *byte, stride, n int, panel *float32)
TEXT ·packBF16(SB), NOSPLIT, $0-32
	PACKF(PF_BF16, PFZ_BF16, 2)
