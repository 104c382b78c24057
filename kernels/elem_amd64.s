//go:build amd64 && !purego

#include "textflag.h"

// Element-wise kernels of the forward pass, each the exact float32
// operations of its Go version (elem.go), 16 lanes at a time with a
// masked tail, so they give the same bits.

// TAILMASK sets K1 to the low CX bits.
#define TAILMASK \
	MOVL  $1, AX; \
	SHLL  CX, AX; \
	DECL  AX; \
	KMOVW AX, K1

// func addAVX512(y, x *float32, n int)
TEXT ·addAVX512(SB), NOSPLIT, $0-24
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
addloop:
	CMPQ CX, $16
	JLT  addtail
	VMOVUPS (DI), Z0
	VADDPS  (SI), Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  addloop
addtail:
	TESTQ CX, CX
	JZ    adddone
	TAILMASK
	VMOVUPS.Z (DI), K1, Z0
	VMOVUPS.Z (SI), K1, Z1
	VADDPS    Z1, Z0, Z0
	VMOVUPS   Z0, K1, (DI)
adddone:
	VZEROUPPER
	RET

// func sumSquaresAVX512(x *float32, n int) float64
// Σ x[i]² in float64: each float32 is widened exactly, so only the
// float64 additions round.
TEXT ·sumSquaresAVX512(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VXORPD Z0, Z0, Z0
	VXORPD Z1, Z1, Z1
ssloop:
	CMPQ CX, $16
	JLT  sstail
	VCVTPS2PD (SI), Z2
	VCVTPS2PD 32(SI), Z3
	VFMADD231PD Z2, Z2, Z0
	VFMADD231PD Z3, Z3, Z1
	ADDQ $64, SI
	SUBQ $16, CX
	JMP  ssloop
sstail:
	TESTQ CX, CX
	JZ    sssum
	TAILMASK
	VMOVUPS.Z (SI), K1, Z4
	VCVTPS2PD Y4, Z2
	VEXTRACTF64X4 $1, Z4, Y5
	VCVTPS2PD Y5, Z3
	VFMADD231PD Z2, Z2, Z0
	VFMADD231PD Z3, Z3, Z1
sssum:
	VADDPD Z1, Z0, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPD Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPD X1, X0, X0
	VPERMILPD $1, X0, X1
	VADDSD X1, X0, X0
	VZEROUPPER
	MOVSD X0, ret+16(FP)
	RET

// func scaleMulAVX512(out, x, w *float32, scale float32, n int)
// out[i] = x[i]·scale·w[i] (left to right, as in Go).
TEXT ·scaleMulAVX512(SB), NOSPLIT, $0-40
	MOVQ out+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ w+16(FP), DX
	VBROADCASTSS scale+24(FP), Z7
	MOVQ n+32(FP), CX
smloop:
	CMPQ CX, $16
	JLT  smtail
	VMULPS  (SI), Z7, Z0
	VMULPS  (DX), Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  smloop
smtail:
	TESTQ CX, CX
	JZ    smdone
	TAILMASK
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS.Z (DX), K1, Z1
	VMULPS    Z7, Z0, Z0
	VMULPS    Z1, Z0, Z0
	VMOVUPS   Z0, K1, (DI)
smdone:
	VZEROUPPER
	RET

// func ropeAVX512(x *float32, heads, hd int, c, s *float32, interleaved bool)
// Rotates each head of x by the row's angles, given as c (cos) and s
// (sin with the sign of its term) expanded to hd elements: x' = x·c +
// partner(x)·s, where the partner of an element is its pair neighbour
// (interleaved) or the element half a head away. hd is a multiple of 32.
TEXT ·ropeAVX512(SB), NOSPLIT, $0-41
	MOVQ x+0(FP), DI
	MOVQ heads+8(FP), R8
	MOVQ hd+16(FP), BX
	MOVQ c+24(FP), R9
	MOVQ s+32(FP), R10
	MOVB interleaved+40(FP), AX
	SHLQ $2, BX        // head bytes
	MOVQ BX, R11
	SHRQ $1, R11       // half a head
	TESTB AL, AL
	JNZ  ileave
hhead:
	TESTQ R8, R8
	JZ    rdone
	XORQ  CX, CX
hchunk:
	CMPQ CX, R11
	JGE  hnext
	// Chunk i of the first half and its partner i+half: both are
	// updated from the old values.
	VMOVUPS (DI)(CX*1), Z0
	LEAQ    (CX)(R11*1), DX
	VMOVUPS (DI)(DX*1), Z1
	VMULPS  (R9)(CX*1), Z0, Z2
	VMULPS  (R10)(CX*1), Z1, Z3
	VADDPS  Z3, Z2, Z2
	VMULPS  (R9)(DX*1), Z1, Z4
	VMULPS  (R10)(DX*1), Z0, Z5
	VADDPS  Z5, Z4, Z4
	VMOVUPS Z2, (DI)(CX*1)
	VMOVUPS Z4, (DI)(DX*1)
	ADDQ $64, CX
	JMP  hchunk
hnext:
	ADDQ BX, DI
	DECQ R8
	JMP  hhead
ileave:
	TESTQ R8, R8
	JZ    rdone
	XORQ  CX, CX
ichunk:
	CMPQ CX, BX
	JGE  inext
	VMOVUPS   (DI)(CX*1), Z0
	VPERMILPS $0xb1, Z0, Z1
	VMULPS    (R9)(CX*1), Z0, Z2
	VMULPS    (R10)(CX*1), Z1, Z3
	VADDPS    Z3, Z2, Z2
	VMOVUPS   Z2, (DI)(CX*1)
	ADDQ $64, CX
	JMP  ichunk
inext:
	ADDQ BX, DI
	DECQ R8
	JMP  ileave
rdone:
	VZEROUPPER
	RET

// func scaleAVX512(x *float32, s float32, n int)
TEXT ·scaleAVX512(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), DI
	VBROADCASTSS s+8(FP), Z7
	MOVQ n+16(FP), CX
scloop:
	CMPQ CX, $16
	JLT  sctail
	VMULPS  (DI), Z7, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  scloop
sctail:
	TESTQ CX, CX
	JZ    scdone
	TAILMASK
	VMOVUPS.Z (DI), K1, Z0
	VMULPS    Z7, Z0, Z0
	VMOVUPS   Z0, K1, (DI)
scdone:
	VZEROUPPER
	RET
