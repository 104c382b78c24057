// Macros shared by the packed kernels (packed_amd64.s, packedq8_amd64.s).

// ZERO8(A..H) clears eight vector registers (zeroing idioms: no execution
// unit is used).
#define ZERO8(A, B, C, D, E, F, G, H) \
	VPXORD A, A, A; \
	VPXORD B, B, B; \
	VPXORD C, C, C; \
	VPXORD D, D, D; \
	VPXORD E, E, E; \
	VPXORD F, F, F; \
	VPXORD G, G, G; \
	VPXORD H, H, H

// UNIT_MASKS(UNITS, MASK, DONE): at the top of the loop over a kernel's
// units (tiles or groups): jump to DONE when UNITS (a memory operand) is
// zero; else set the store masks K2 (group 0) and K3 (group 1) to all
// ones, or to MASK for the last unit.
#define UNIT_MASKS(UNITS, MASK, DONE) \
	CMPQ UNITS, $0; \
	JLE  DONE; \
	MOVL $-1, AX; \
	CMPQ UNITS, $1; \
	JNE  masks; \
	MOVQ MASK, AX; \
masks: \
	KMOVW AX, K2; \
	SHRL  $16, AX; \
	KMOVW AX, K3
