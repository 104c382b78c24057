//go:build amd64 && !purego

#include "textflag.h"

// ISUM leaves the sum of the 16 int32 lanes of Z in lane 0 of X (T is a
// scratch register of the same number).
#define ISUM(Z, Y, X, TY, TX) \
	VEXTRACTI64X4 $1, Z, TY; \
	VPADDD        TY, Y, Y; \
	VEXTRACTI128  $1, Y, TX; \
	VPADDD        TX, X, X; \
	VPSHUFD       $0x4e, X, TX; \
	VPADDD        TX, X, X; \
	VPSHUFD       $0xb1, X, TX; \
	VPADDD        TX, X, X

// func quantizeQ8AVX512(x *float32, q *int8, d, m, s *float32, nb int)
//
// The same arithmetic as quantizeQ8Generic, bit for bit: amax over the
// block, d = amax/127, id = 127/amax (0 for an all-zero block), q =
// round-to-nearest-even(x·id) (VCVTPS2DQ under the default rounding mode).
TEXT ·quantizeQ8AVX512(SB), NOSPLIT, $0-48
	MOVQ x+0(FP), SI
	MOVQ q+8(FP), DI
	MOVQ d+16(FP), R8
	MOVQ m+24(FP), R9
	MOVQ s+32(FP), R10
	MOVQ nb+40(FP), CX
	MOVL $0x7fffffff, AX
	VPBROADCASTD AX, Z31
	MOVL $0x42fe0000, AX // 127.0
	VMOVD AX, X30

loop:
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	VPANDD  Z31, Z0, Z2
	VPANDD  Z31, Z1, Z3
	VMAXPS  Z3, Z2, Z2
	VEXTRACTF64X4 $1, Z2, Y3
	VMAXPS  Y3, Y2, Y2
	VEXTRACTF128 $1, Y2, X3
	VMAXPS  X3, X2, X2
	VMOVHLPS X2, X2, X3
	VMAXPS  X3, X2, X2
	VMOVSHDUP X2, X3
	VMAXSS  X3, X2, X2          // X2 = amax
	VDIVSS  X30, X2, X4         // d = amax/127
	VMOVSS  X4, (R8)
	VXORPS  X5, X5, X5
	VUCOMISS X5, X2
	JEQ     zero
	VDIVSS  X2, X30, X5         // id = 127/amax
zero:
	VBROADCASTSS X5, Z5
	VMULPS  Z5, Z0, Z0
	VMULPS  Z5, Z1, Z1
	VCVTPS2DQ Z0, Z0
	VCVTPS2DQ Z1, Z1
	VPMOVDB Z0, (DI)
	VPMOVDB Z1, 16(DI)
	ISUM(Z0, Y0, X0, Y6, X6)
	ISUM(Z1, Y1, X1, Y7, X7)
	VCVTDQ2PS X0, X2
	VCVTDQ2PS X1, X3
	VMOVSS  X2, (R10)
	VMOVSS  X3, 4(R10)
	VPADDD  X1, X0, X0
	VCVTDQ2PS X0, X0
	VMULSS  X4, X0, X0
	VMOVSS  X0, (R9)
	ADDQ $128, SI
	ADDQ $32, DI
	ADDQ $4, R8
	ADDQ $4, R9
	ADDQ $8, R10
	DECQ CX
	JNZ  loop
	VZEROUPPER
	RET
