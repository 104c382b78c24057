//go:build amd64 && !purego

#include "textflag.h"

// func sumWordsAVX2(p *byte, n int) uint64
//
// The sum of the n/8 little-endian 64-bit words at p (n a multiple of 128),
// four independent 256-bit accumulators so the loads, not the adds, set
// the pace, and prefetches as far ahead as the weight kernels' (PFD): a
// pure read stream for measuring memory bandwidth.
TEXT ·sumWordsAVX2(SB), NOSPLIT, $0-24
	MOVQ   p+0(FP), SI
	MOVQ   n+8(FP), CX
	VPXOR  Y0, Y0, Y0
	VPXOR  Y1, Y1, Y1
	VPXOR  Y2, Y2, Y2
	VPXOR  Y3, Y3, Y3
loop:
	CMPQ   CX, $128
	JLT    done
	PREFETCHT0 4096(SI)
	PREFETCHT0 4160(SI)
	VPADDQ (SI), Y0, Y0
	VPADDQ 32(SI), Y1, Y1
	VPADDQ 64(SI), Y2, Y2
	VPADDQ 96(SI), Y3, Y3
	ADDQ   $128, SI
	SUBQ   $128, CX
	JMP    loop
done:
	VPADDQ       Y1, Y0, Y0
	VPADDQ       Y3, Y2, Y2
	VPADDQ       Y2, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDQ       X1, X0, X0
	VPSRLDQ      $8, X0, X1
	VPADDQ       X1, X0, X0
	MOVQ         X0, AX
	MOVQ         AX, ret+16(FP)
	VZEROUPPER
	RET
