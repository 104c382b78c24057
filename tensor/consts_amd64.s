//go:build amd64 && !purego

#include "textflag.h"

// Constant vectors shared by the kernels.

// ·iota16: the dwords 0..15.
// ·shiftQ4_0: word shift counts 0 (low) and 4 (high nibbles) per 128 bits.
// ·shiftQ4_K: the same per 256 bits.
// ·sllQ6_K, ·srlQ6_K: word shift counts that line up the high bits of Q6_K
// quants (see Q6_K_HALF).
// ·q6idx: VPERMPS indices [2k ×4, 2k+1 ×4] for k = 0..3 (AVX2 Q6_K: the
// scales of the two 16-element sub-blocks in 32 elements).
// ·q6dup: [0,0,1,1,2,2,3,3], [4,4,5,5,6,6,7,7] (each dx for two sub-blocks).
// ·permLo, ·permHi: VPERMT2PS indices joining 128-bit lanes 0-1 (2-3) of
// two registers alternately (the float panel transpose).

DATA ·iota16+0(SB)/4, $0x00000000
DATA ·iota16+4(SB)/4, $0x00000001
DATA ·iota16+8(SB)/4, $0x00000002
DATA ·iota16+12(SB)/4, $0x00000003
DATA ·iota16+16(SB)/4, $0x00000004
DATA ·iota16+20(SB)/4, $0x00000005
DATA ·iota16+24(SB)/4, $0x00000006
DATA ·iota16+28(SB)/4, $0x00000007
DATA ·iota16+32(SB)/4, $0x00000008
DATA ·iota16+36(SB)/4, $0x00000009
DATA ·iota16+40(SB)/4, $0x0000000a
DATA ·iota16+44(SB)/4, $0x0000000b
DATA ·iota16+48(SB)/4, $0x0000000c
DATA ·iota16+52(SB)/4, $0x0000000d
DATA ·iota16+56(SB)/4, $0x0000000e
DATA ·iota16+60(SB)/4, $0x0000000f
GLOBL ·iota16(SB), RODATA|NOPTR, $64

DATA ·shiftQ4_0+0(SB)/4, $0x00000000
DATA ·shiftQ4_0+4(SB)/4, $0x00000000
DATA ·shiftQ4_0+8(SB)/4, $0x00000000
DATA ·shiftQ4_0+12(SB)/4, $0x00000000
DATA ·shiftQ4_0+16(SB)/4, $0x00040004
DATA ·shiftQ4_0+20(SB)/4, $0x00040004
DATA ·shiftQ4_0+24(SB)/4, $0x00040004
DATA ·shiftQ4_0+28(SB)/4, $0x00040004
DATA ·shiftQ4_0+32(SB)/4, $0x00000000
DATA ·shiftQ4_0+36(SB)/4, $0x00000000
DATA ·shiftQ4_0+40(SB)/4, $0x00000000
DATA ·shiftQ4_0+44(SB)/4, $0x00000000
DATA ·shiftQ4_0+48(SB)/4, $0x00040004
DATA ·shiftQ4_0+52(SB)/4, $0x00040004
DATA ·shiftQ4_0+56(SB)/4, $0x00040004
DATA ·shiftQ4_0+60(SB)/4, $0x00040004
GLOBL ·shiftQ4_0(SB), RODATA|NOPTR, $64

DATA ·shiftQ4_K+0(SB)/4, $0x00000000
DATA ·shiftQ4_K+4(SB)/4, $0x00000000
DATA ·shiftQ4_K+8(SB)/4, $0x00000000
DATA ·shiftQ4_K+12(SB)/4, $0x00000000
DATA ·shiftQ4_K+16(SB)/4, $0x00000000
DATA ·shiftQ4_K+20(SB)/4, $0x00000000
DATA ·shiftQ4_K+24(SB)/4, $0x00000000
DATA ·shiftQ4_K+28(SB)/4, $0x00000000
DATA ·shiftQ4_K+32(SB)/4, $0x00040004
DATA ·shiftQ4_K+36(SB)/4, $0x00040004
DATA ·shiftQ4_K+40(SB)/4, $0x00040004
DATA ·shiftQ4_K+44(SB)/4, $0x00040004
DATA ·shiftQ4_K+48(SB)/4, $0x00040004
DATA ·shiftQ4_K+52(SB)/4, $0x00040004
DATA ·shiftQ4_K+56(SB)/4, $0x00040004
DATA ·shiftQ4_K+60(SB)/4, $0x00040004
GLOBL ·shiftQ4_K(SB), RODATA|NOPTR, $64

DATA ·sllQ6_K+0(SB)/4, $0x00040004
DATA ·sllQ6_K+4(SB)/4, $0x00040004
DATA ·sllQ6_K+8(SB)/4, $0x00040004
DATA ·sllQ6_K+12(SB)/4, $0x00040004
DATA ·sllQ6_K+16(SB)/4, $0x00040004
DATA ·sllQ6_K+20(SB)/4, $0x00040004
DATA ·sllQ6_K+24(SB)/4, $0x00040004
DATA ·sllQ6_K+28(SB)/4, $0x00040004
DATA ·sllQ6_K+32(SB)/4, $0x00020002
DATA ·sllQ6_K+36(SB)/4, $0x00020002
DATA ·sllQ6_K+40(SB)/4, $0x00020002
DATA ·sllQ6_K+44(SB)/4, $0x00020002
DATA ·sllQ6_K+48(SB)/4, $0x00020002
DATA ·sllQ6_K+52(SB)/4, $0x00020002
DATA ·sllQ6_K+56(SB)/4, $0x00020002
DATA ·sllQ6_K+60(SB)/4, $0x00020002
GLOBL ·sllQ6_K(SB), RODATA|NOPTR, $64

DATA ·srlQ6_K+0(SB)/4, $0x00000000
DATA ·srlQ6_K+4(SB)/4, $0x00000000
DATA ·srlQ6_K+8(SB)/4, $0x00000000
DATA ·srlQ6_K+12(SB)/4, $0x00000000
DATA ·srlQ6_K+16(SB)/4, $0x00000000
DATA ·srlQ6_K+20(SB)/4, $0x00000000
DATA ·srlQ6_K+24(SB)/4, $0x00000000
DATA ·srlQ6_K+28(SB)/4, $0x00000000
DATA ·srlQ6_K+32(SB)/4, $0x00020002
DATA ·srlQ6_K+36(SB)/4, $0x00020002
DATA ·srlQ6_K+40(SB)/4, $0x00020002
DATA ·srlQ6_K+44(SB)/4, $0x00020002
DATA ·srlQ6_K+48(SB)/4, $0x00020002
DATA ·srlQ6_K+52(SB)/4, $0x00020002
DATA ·srlQ6_K+56(SB)/4, $0x00020002
DATA ·srlQ6_K+60(SB)/4, $0x00020002
GLOBL ·srlQ6_K(SB), RODATA|NOPTR, $64

DATA ·permLo+0(SB)/4, $0
DATA ·permLo+4(SB)/4, $1
DATA ·permLo+8(SB)/4, $2
DATA ·permLo+12(SB)/4, $3
DATA ·permLo+16(SB)/4, $16
DATA ·permLo+20(SB)/4, $17
DATA ·permLo+24(SB)/4, $18
DATA ·permLo+28(SB)/4, $19
DATA ·permLo+32(SB)/4, $4
DATA ·permLo+36(SB)/4, $5
DATA ·permLo+40(SB)/4, $6
DATA ·permLo+44(SB)/4, $7
DATA ·permLo+48(SB)/4, $20
DATA ·permLo+52(SB)/4, $21
DATA ·permLo+56(SB)/4, $22
DATA ·permLo+60(SB)/4, $23
GLOBL ·permLo(SB), RODATA|NOPTR, $64

DATA ·permHi+0(SB)/4, $8
DATA ·permHi+4(SB)/4, $9
DATA ·permHi+8(SB)/4, $10
DATA ·permHi+12(SB)/4, $11
DATA ·permHi+16(SB)/4, $24
DATA ·permHi+20(SB)/4, $25
DATA ·permHi+24(SB)/4, $26
DATA ·permHi+28(SB)/4, $27
DATA ·permHi+32(SB)/4, $12
DATA ·permHi+36(SB)/4, $13
DATA ·permHi+40(SB)/4, $14
DATA ·permHi+44(SB)/4, $15
DATA ·permHi+48(SB)/4, $28
DATA ·permHi+52(SB)/4, $29
DATA ·permHi+56(SB)/4, $30
DATA ·permHi+60(SB)/4, $31
GLOBL ·permHi(SB), RODATA|NOPTR, $64

DATA ·q6idx+0(SB)/4, $0
DATA ·q6idx+4(SB)/4, $0
DATA ·q6idx+8(SB)/4, $0
DATA ·q6idx+12(SB)/4, $0
DATA ·q6idx+16(SB)/4, $1
DATA ·q6idx+20(SB)/4, $1
DATA ·q6idx+24(SB)/4, $1
DATA ·q6idx+28(SB)/4, $1
DATA ·q6idx+32(SB)/4, $2
DATA ·q6idx+36(SB)/4, $2
DATA ·q6idx+40(SB)/4, $2
DATA ·q6idx+44(SB)/4, $2
DATA ·q6idx+48(SB)/4, $3
DATA ·q6idx+52(SB)/4, $3
DATA ·q6idx+56(SB)/4, $3
DATA ·q6idx+60(SB)/4, $3
DATA ·q6idx+64(SB)/4, $4
DATA ·q6idx+68(SB)/4, $4
DATA ·q6idx+72(SB)/4, $4
DATA ·q6idx+76(SB)/4, $4
DATA ·q6idx+80(SB)/4, $5
DATA ·q6idx+84(SB)/4, $5
DATA ·q6idx+88(SB)/4, $5
DATA ·q6idx+92(SB)/4, $5
DATA ·q6idx+96(SB)/4, $6
DATA ·q6idx+100(SB)/4, $6
DATA ·q6idx+104(SB)/4, $6
DATA ·q6idx+108(SB)/4, $6
DATA ·q6idx+112(SB)/4, $7
DATA ·q6idx+116(SB)/4, $7
DATA ·q6idx+120(SB)/4, $7
DATA ·q6idx+124(SB)/4, $7
GLOBL ·q6idx(SB), RODATA|NOPTR, $128

DATA ·q6dup+0(SB)/4, $0
DATA ·q6dup+4(SB)/4, $0
DATA ·q6dup+8(SB)/4, $1
DATA ·q6dup+12(SB)/4, $1
DATA ·q6dup+16(SB)/4, $2
DATA ·q6dup+20(SB)/4, $2
DATA ·q6dup+24(SB)/4, $3
DATA ·q6dup+28(SB)/4, $3
DATA ·q6dup+32(SB)/4, $4
DATA ·q6dup+36(SB)/4, $4
DATA ·q6dup+40(SB)/4, $5
DATA ·q6dup+44(SB)/4, $5
DATA ·q6dup+48(SB)/4, $6
DATA ·q6dup+52(SB)/4, $6
DATA ·q6dup+56(SB)/4, $7
DATA ·q6dup+60(SB)/4, $7
GLOBL ·q6dup(SB), RODATA|NOPTR, $64
