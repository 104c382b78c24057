//go:build amd64 && !purego

#include "textflag.h"

// exp(x) for 16 float32 lanes: n = round(x·log2 e), r = x - n·ln 2 (ln 2
// split in a part exact in float32 and a remainder, so r carries no
// rounding of n·ln 2), e^r from its Taylor polynomial to r^7 (|r| ≤ ln2/2:
// truncation error under 1.2e-8 relative), then VSCALEFPS multiplies by
// 2^n, which also yields 0 and +Inf past the float32 range.
//
// EXPSETUP loads the constants into Z20-Z29: log2 e; ln 2 split into
// 0.693359375 and the rest; then 1, 1/2, 1/6, ... 1/5040. EXP computes
// X = exp(X) with Z18 and Z19 as scratch.
#define EXPSETUP \
	MOVL $0x3fb8aa3b, AX; VPBROADCASTD AX, Z20; \
	MOVL $0x3f318000, AX; VPBROADCASTD AX, Z21; \
	MOVL $0xb95e8083, AX; VPBROADCASTD AX, Z22; \
	MOVL $0x3f800000, AX; VPBROADCASTD AX, Z23; \
	MOVL $0x3f000000, AX; VPBROADCASTD AX, Z24; \
	MOVL $0x3e2aaaab, AX; VPBROADCASTD AX, Z25; \
	MOVL $0x3d2aaaab, AX; VPBROADCASTD AX, Z26; \
	MOVL $0x3c088889, AX; VPBROADCASTD AX, Z27; \
	MOVL $0x3ab60b61, AX; VPBROADCASTD AX, Z28; \
	MOVL $0x39500d01, AX; VPBROADCASTD AX, Z29

#define EXP(X) \
	VMULPS        Z20, X, Z18; \
	VRNDSCALEPS   $0, Z18, Z18; \
	VFNMADD231PS  Z21, Z18, X; \
	VFNMADD231PS  Z22, Z18, X; \
	VMOVAPS       Z29, Z19; \
	VFMADD213PS   Z28, X, Z19; \
	VFMADD213PS   Z27, X, Z19; \
	VFMADD213PS   Z26, X, Z19; \
	VFMADD213PS   Z25, X, Z19; \
	VFMADD213PS   Z24, X, Z19; \
	VFMADD213PS   Z23, X, Z19; \
	VFMADD213PS   Z23, X, Z19; \
	VSCALEFPS     Z18, Z19, X

// func swigluAVX512(gate, up *float32, n int)
// gate[i] = gate[i] / (1 + exp(-gate[i])) * up[i]; the last n%16 lanes go
// through a masked step.
TEXT ·swigluAVX512(SB), NOSPLIT, $0-24
	MOVQ gate+0(FP), SI
	MOVQ up+8(FP), DI
	MOVQ n+16(FP), CX
	EXPSETUP
	MOVL $0x80000000, AX
	VPBROADCASTD AX, Z30

sloop:
	CMPQ CX, $16
	JLT  stail
	VMOVUPS (SI), Z0
	VPXORD  Z30, Z0, Z1 // -g
	EXP(Z1)
	VADDPS  Z23, Z1, Z1
	VDIVPS  Z1, Z0, Z0
	VMULPS  (DI), Z0, Z0
	VMOVUPS Z0, (SI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  sloop

stail:
	TESTQ CX, CX
	JZ    sdone
	MOVL  $1, AX
	SHLL  CX, AX
	DECL  AX
	KMOVW AX, K1
	VMOVUPS.Z (SI), K1, Z0
	VPXORD  Z30, Z0, Z1
	EXP(Z1)
	VADDPS  Z23, Z1, Z1
	VDIVPS  Z1, Z0, Z0
	VMOVUPS.Z (DI), K1, Z2
	VMULPS  Z2, Z0, Z0
	VMOVUPS Z0, K1, (SI)

sdone:
	VZEROUPPER
	RET

// func softmaxAVX512(x *float32, n int)
// Three passes: the maximum, exp(x - max) stored and summed, the scaling
// by 1/sum. n > 0.
TEXT ·softmaxAVX512(SB), NOSPLIT, $0-16
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	EXPSETUP
	MOVQ  CX, R8
	ANDQ  $15, CX
	MOVL  $1, AX
	SHLL  CX, AX
	DECL  AX
	KMOVW AX, K1 // tail mask
	MOVQ  R8, CX

	// Pass 1: the maximum. -Inf fills the masked-off lanes.
	MOVL $0xff800000, AX
	VPBROADCASTD AX, Z2
	MOVQ SI, DI
	MOVQ CX, DX
mloop:
	CMPQ DX, $16
	JLT  mtail
	VMAXPS (DI), Z2, Z2
	ADDQ $64, DI
	SUBQ $16, DX
	JMP  mloop
mtail:
	TESTQ DX, DX
	JZ    mreduce
	VMOVAPS Z2, Z3
	VMOVUPS (DI), K1, Z3 // lanes past the end keep the running maximum
	VMAXPS  Z3, Z2, Z2
mreduce:
	VEXTRACTF64X4 $1, Z2, Y3
	VMAXPS        Y3, Y2, Y2
	VEXTRACTF128  $1, Y2, X3
	VMAXPS        X3, X2, X2
	VMOVHLPS      X2, X2, X3
	VMAXPS        X3, X2, X2
	VMOVSHDUP     X2, X3
	VMAXSS        X3, X2, X2
	VBROADCASTSS  X2, Z2

	// Pass 2: x = exp(x - max), summed in Z4.
	VPXORD Z4, Z4, Z4
	MOVQ SI, DI
	MOVQ CX, DX
eloop:
	CMPQ DX, $16
	JLT  etail
	VMOVUPS (DI), Z0
	VSUBPS  Z2, Z0, Z0
	EXP(Z0)
	VADDPS  Z0, Z4, Z4
	VMOVUPS Z0, (DI)
	ADDQ $64, DI
	SUBQ $16, DX
	JMP  eloop
etail:
	TESTQ DX, DX
	JZ    ereduce
	VMOVUPS.Z (DI), K1, Z0
	VSUBPS    Z2, Z0, Z0
	EXP(Z0)
	VADDPS    Z0, Z4, K1, Z4
	VMOVUPS   Z0, K1, (DI)
ereduce:
	VEXTRACTF64X4 $1, Z4, Y3
	VADDPS        Y3, Y4, Y4
	VEXTRACTF128  $1, Y4, X3
	VADDPS        X3, X4, X4
	VMOVHLPS      X4, X4, X3
	VADDPS        X3, X4, X4
	VMOVSHDUP     X4, X3
	VADDSS        X3, X4, X4
	VDIVSS        X4, X23, X4
	VBROADCASTSS  X4, Z4

	// Pass 3: scale.
	MOVQ SI, DI
	MOVQ CX, DX
ploop:
	CMPQ DX, $16
	JLT  ptail
	VMULPS  (DI), Z4, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, DI
	SUBQ $16, DX
	JMP  ploop
ptail:
	TESTQ DX, DX
	JZ    pdone
	VMOVUPS.Z (DI), K1, Z0
	VMULPS    Z4, Z0, Z0
	VMOVUPS   Z0, K1, (DI)
pdone:
	VZEROUPPER
	RET
