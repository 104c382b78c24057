//go:build amd64 && !purego

#include "textflag.h"
#include "transpose_amd64.h"

// Matrix-matrix kernels: one call multiplies a panel of 8 weight rows by a
// tile of 16 activation rows (layouts in gemm.go) over nb 32-element
// blocks and writes out[c*8+r] (activation row c, weight row r). Z0-Z7 accumulate the float results (row r of the panel, lane c
// = activation row c), Z8-Z15 the integer sum of the current block.

// INIT starts each row's block sum at the record's offset (OFF 40: I0,
// 44: I1), which cancels the +128 bias of the activations.
#define INIT(OFF) \
	VPBROADCASTD OFF(SI), Z8; \
	VPBROADCASTD OFF+48(SI), Z9; \
	VPBROADCASTD OFF+96(SI), Z10; \
	VPBROADCASTD OFF+144(SI), Z11; \
	VPBROADCASTD OFF+192(SI), Z12; \
	VPBROADCASTD OFF+240(SI), Z13; \
	VPBROADCASTD OFF+288(SI), Z14; \
	VPBROADCASTD OFF+336(SI), Z15

// STEP adds elements 4K..4K+3 of the block: the 16 activation rows' bytes
// (one load) times each weight row's 4 bytes (broadcast).
#define STEP(K) \
	VMOVDQU32     K*64(DI), Z16; \
	VPDPBUSD.BCST K*4(SI), Z16, Z8; \
	VPDPBUSD.BCST K*4+48(SI), Z16, Z9; \
	VPDPBUSD.BCST K*4+96(SI), Z16, Z10; \
	VPDPBUSD.BCST K*4+144(SI), Z16, Z11; \
	VPDPBUSD.BCST K*4+192(SI), Z16, Z12; \
	VPDPBUSD.BCST K*4+240(SI), Z16, Z13; \
	VPDPBUSD.BCST K*4+288(SI), Z16, Z14; \
	VPDPBUSD.BCST K*4+336(SI), Z16, Z15

// SCALE1 adds row R's block sum times D·dx (D at record offset DOFF,
// dx in Z17) to its accumulator.
#define SCALE1(R, ACC, F, DOFF) \
	VCVTDQ2PS       ACC, Z19; \
	VMULPS.BCST     R*48+DOFF(SI), Z17, Z20; \
	VFMADD231PS     Z20, Z19, F

// MIN1 subtracts row R's minimum M (record offset 36) times m = dx·Σq (Z18).
#define MIN1(R, F) \
	VFNMADD231PS.BCST R*48+36(SI), Z18, F

#define SCALE(DOFF) \
	SCALE1(0, Z8, Z0, DOFF); \
	SCALE1(1, Z9, Z1, DOFF); \
	SCALE1(2, Z10, Z2, DOFF); \
	SCALE1(3, Z11, Z3, DOFF); \
	SCALE1(4, Z12, Z4, DOFF); \
	SCALE1(5, Z13, Z5, DOFF); \
	SCALE1(6, Z14, Z6, DOFF); \
	SCALE1(7, Z15, Z7, DOFF)

#define MINS \
	MIN1(0, Z0); \
	MIN1(1, Z1); \
	MIN1(2, Z2); \
	MIN1(3, Z3); \
	MIN1(4, Z4); \
	MIN1(5, Z5); \
	MIN1(6, Z6); \
	MIN1(7, Z7)

#define PROLOGUE \
	MOVQ panel+0(FP), SI; \
	MOVQ tile+8(FP), DI; \
	MOVQ nb+16(FP), CX; \
	MOVQ out+24(FP), DX; \
	VPXORD Z0, Z0, Z0; \
	VPXORD Z1, Z1, Z1; \
	VPXORD Z2, Z2, Z2; \
	VPXORD Z3, Z3, Z3; \
	VPXORD Z4, Z4, Z4; \
	VPXORD Z5, Z5, Z5; \
	VPXORD Z6, Z6, Z6; \
	VPXORD Z7, Z7, Z7

// EPILOGUE stores the results transposed, out[c*8+r], so each activation
// row's 8 results are contiguous.
#define EPILOGUE \
	MOVQ      DX, DI; \
	VMOVDQU32 ·permLo(SB), Z30; \
	VMOVDQU32 ·permHi(SB), Z31; \
	TRANSPOSE_STORE; \
	VZEROUPPER; \
	RET

// func gemmQ8AVX512(panel, tile *byte, nb int, out *float32)
// Q8_0 and Q4_0: one scale per 32-element block.
TEXT ·gemmQ8AVX512(SB), NOSPLIT, $0-32
	PROLOGUE

blk:
	INIT(40)
	STEP(0)
	STEP(1)
	STEP(2)
	STEP(3)
	STEP(4)
	STEP(5)
	STEP(6)
	STEP(7)
	VMOVUPS 512(DI), Z17
	SCALE(32)
	ADDQ $384, SI
	ADDQ $640, DI
	DECQ CX
	JNZ  blk
	EPILOGUE

// func gemmQ8MinAVX512(panel, tile *byte, nb int, out *float32)
// Q4_K: a scale and a minimum per 32-element block.
TEXT ·gemmQ8MinAVX512(SB), NOSPLIT, $0-32
	PROLOGUE

blk:
	INIT(40)
	STEP(0)
	STEP(1)
	STEP(2)
	STEP(3)
	STEP(4)
	STEP(5)
	STEP(6)
	STEP(7)
	VMOVUPS 512(DI), Z17
	VMOVUPS 576(DI), Z18
	SCALE(32)
	MINS
	ADDQ $384, SI
	ADDQ $640, DI
	DECQ CX
	JNZ  blk
	EPILOGUE

// func gemmQ6AVX512(panel, tile *byte, nb int, out *float32)
// Q6_K: a scale per 16 elements, so each half block is summed and scaled
// on its own.
TEXT ·gemmQ6AVX512(SB), NOSPLIT, $0-32
	PROLOGUE

blk:
	VMOVUPS 512(DI), Z17
	INIT(40)
	STEP(0)
	STEP(1)
	STEP(2)
	STEP(3)
	SCALE(32)
	INIT(44)
	STEP(4)
	STEP(5)
	STEP(6)
	STEP(7)
	SCALE(36)
	ADDQ $384, SI
	ADDQ $640, DI
	DECQ CX
	JNZ  blk
	EPILOGUE
