// 8×16 float32 transpose for the integer matrix-matrix kernels'
// epilogues: Z0-Z7 hold 8 rows of 16 values;
// TRANSPOSE_STORE writes value i of all 8 rows as 32 contiguous bytes at
// DI + 32·i (clobbers Z0-Z17; needs ·permLo in Z30 and ·permHi in Z31).
// VUNPCKL/HPS pairs rows, VUNPCKL/HPD pairs the pairs, which leaves rows
// 0-3 and 4-7 of value 4L+k in 128-bit lane L of register k and k+4;
// VPERMT2PS then joins the two halves of each value.

// OUT2(U, V, K) writes element k, 4+k, 8+k and 12+k of the group.
#define OUT2(U, V, K) \
	VMOVAPS       U, Z16; \
	VPERMT2PS     V, Z30, Z16; \
	VPERMT2PS     V, Z31, U; \
	VMOVUPS       Y16, K*32(DI); \
	VEXTRACTF64X4 $1, Z16, (4+K)*32(DI); \
	VMOVUPS       U, Z17; \
	VMOVUPS       Y17, (8+K)*32(DI); \
	VEXTRACTF64X4 $1, Z17, (12+K)*32(DI)

#define TRANSPOSE_STORE \
	VUNPCKLPS Z1, Z0, Z8; \
	VUNPCKHPS Z1, Z0, Z9; \
	VUNPCKLPS Z3, Z2, Z10; \
	VUNPCKHPS Z3, Z2, Z11; \
	VUNPCKLPS Z5, Z4, Z12; \
	VUNPCKHPS Z5, Z4, Z13; \
	VUNPCKLPS Z7, Z6, Z14; \
	VUNPCKHPS Z7, Z6, Z15; \
	VUNPCKLPD Z10, Z8, Z0; \
	VUNPCKHPD Z10, Z8, Z1; \
	VUNPCKLPD Z11, Z9, Z2; \
	VUNPCKHPD Z11, Z9, Z3; \
	VUNPCKLPD Z14, Z12, Z4; \
	VUNPCKHPD Z14, Z12, Z5; \
	VUNPCKLPD Z15, Z13, Z6; \
	VUNPCKHPD Z15, Z13, Z7; \
	OUT2(Z0, Z4, 0); \
	OUT2(Z1, Z5, 1); \
	OUT2(Z2, Z6, 2); \
	OUT2(Z3, Z7, 3)

