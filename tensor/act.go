package tensor

import "math"

// Activations meet the weights in one of two encodings. Float weights (and
// the quantized types without an integer kernel) take the float32 row as
// it is. Q8_0, Q4_0, Q4_K and Q6_K weights take the row quantized once per
// matrix product to int8 in 32-element blocks, so their dot products run
// on integers (VPDPBUSD) and only each block's sum is scaled in float.
// This is llama.cpp's pairing (Q8_0 activations for Q4_0/Q8_0 weights)
// with one refinement: the K-quants use the same 32-element blocks instead
// of Q8_K's 256, and every block scale is a float32 rather than fp16, so
// the activation error stays at one int8 rounding of a block's range.

// ActFormat is the activation encoding a weight type's dot kernel consumes.
type ActFormat int

const (
	ActF32 ActFormat = iota // float32 as given
	ActQ8                   // int8, 32-element blocks (QAct)
)

// ActFormat reports which activation encoding the kernels of t consume.
func (t DType) ActFormat() ActFormat {
	switch t {
	case Q8_0, Q4_0, Q4_K, Q6_K:
		return ActQ8
	}
	return ActF32
}

// QAct is an activation row quantized to int8 blocks of 32: element i is
// D[i/32]*Q[i]. M[b] = D[b]·ΣQ over block b and S[h] = ΣQ over the 16
// elements of half-block h are kept for the weight types whose quants
// carry an offset or a minimum (their correction is a scaled sum of x).
type QAct struct {
	Q    []int8
	D, M []float32
	S    []float32
}

// Act is one activation row prepared for the dot kernels of a weight type.
type Act struct {
	F   []float32 // the float row
	Fmt ActFormat
	QAct
	// q4Perm: Q has the AVX-512 Q4_0 kernel's order (see permuteQ4).
	q4Perm bool
}

// Prepare readies x for dot products with rows of type t, reusing a's
// buffers (nothing is allocated once they have grown to the row size).
// x must stay unchanged while a is in use.
func (a *Act) Prepare(t DType, x []float32) {
	a.F = x
	a.Fmt = t.ActFormat()
	a.q4Perm = false
	if a.Fmt == ActQ8 {
		a.QAct.quantize(x)
		if t == Q4_0 && simd >= levelAVX512 {
			a.QAct.permuteQ4()
			a.q4Perm = true
		}
	}
}

// permuteQ4 reorders each whole group of four 32-element blocks from
// b0[0:16] b0[16:32] b1[0:16] ... to b0[0:16] b1[0:16] b2[0:16] b3[0:16]
// b0[16:32] ... b3[16:32], the order in which the AVX-512 Q4_0 kernel
// lays out four blocks' low and high nibbles. Scales and sums keep their
// block order; the blocks past the last whole group stay as they are.
func (a *QAct) permuteQ4() {
	for g := 0; g+128 <= len(a.Q); g += 128 {
		u := (*[128]int8)(a.Q[g:])
		t := *u
		for b := 0; b < 4; b++ {
			copy(u[16*b:16*b+16], t[32*b:32*b+16])
			copy(u[64+16*b:64+16*b+16], t[32*b+16:32*b+32])
		}
	}
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// quantize encodes x (a whole number of 32-element blocks) with
// d = max|x|/127 and q = round(x/d), ties to even.
func (a *QAct) quantize(x []float32) {
	n := len(x)
	nb := n / 32
	a.Q = grow(a.Q, n)
	a.D = grow(a.D, nb)
	a.M = grow(a.M, nb)
	a.S = grow(a.S, 2*nb)
	if simd >= levelAVX512 && nb > 0 {
		quantizeQ8AVX512(&x[0], &a.Q[0], &a.D[0], &a.M[0], &a.S[0], nb)
		return
	}
	quantizeQ8Generic(x, a)
}

func quantizeQ8Generic(x []float32, a *QAct) {
	for b := 0; b < len(x)/32; b++ {
		xb := (*[32]float32)(x[32*b:])
		qb := (*[32]int8)(a.Q[32*b:])
		var amax float32
		for _, v := range xb {
			amax = max(amax, abs32(v))
		}
		d := amax / 127
		var id float32
		if amax > 0 {
			id = 127 / amax
		}
		var s0, s1 int32
		for i, v := range xb {
			q := int32(math.RoundToEven(float64(v * id)))
			qb[i] = int8(q)
			if i < 16 {
				s0 += q
			} else {
				s1 += q
			}
		}
		a.D[b] = d
		a.M[b] = d * float32(s0+s1)
		a.S[2*b], a.S[2*b+1] = float32(s0), float32(s1)
	}
}
