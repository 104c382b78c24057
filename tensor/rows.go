package tensor

import "fmt"

// qDots are the pure-Go dot products of quantized rows with QAct
// activations, for the types whose ActFormat is ActQ8.
var qDots = map[DType]func(src []byte, a *QAct) float32{
	Q8_0: dotQ8_0Q8,
	Q4_0: dotQ4_0Q8,
	Q4_K: dotQ4_KQ8,
	Q6_K: dotQ6_KQ8,
}

// DotRows writes out[j-lo] = row j · a for the rows j in [lo, hi). a must
// have been prepared for m.Type and hold m.Cols elements.
func (m *Matrix) DotRows(lo, hi int, a *Act, out []float32) {
	if hi <= lo {
		return
	}
	if lo < 0 || hi > m.Rows {
		panic(fmt.Sprintf("tensor: DotRows [%d, %d) outside %d rows", lo, hi, m.Rows))
	}
	out = out[:hi-lo]
	if a.Fmt != m.Type.ActFormat() || len(a.F) < m.Cols {
		panic(fmt.Sprintf("tensor: DotRows on %s: activation of %d elements prepared as format %d", m.Type, len(a.F), a.Fmt))
	}
	if a.q4Perm != (m.Type == Q4_0 && simd >= levelAVX512) {
		panic("tensor: DotRows: activation prepared at another kernel level")
	}
	rows := m.Data[lo*m.RowBytes : hi*m.RowBytes]
	if simd >= levelAVX512 && m.dotRowsAVX512(rows, hi-lo, a, out) {
		return
	}
	if simd >= levelAVX2 && m.dotRowsAVX2(rows, hi-lo, a, out) {
		return
	}
	if a.Fmt == ActQ8 {
		dot := qDots[m.Type]
		for j := range out {
			out[j] = dot(rows[j*m.RowBytes:(j+1)*m.RowBytes], &a.QAct)
		}
		return
	}
	dot := rowKernels[m.Type].dot
	x := a.F[:m.Cols]
	for j := range out {
		out[j] = dot(rows[j*m.RowBytes:(j+1)*m.RowBytes], x)
	}
}

// dotRowsAVX512 runs the assembly kernel for m's type, if there is one
// (the float types have their packed kernels instead, MulPacked).
func (m *Matrix) dotRowsAVX512(rows []byte, n int, a *Act, out []float32) bool {
	w, rb, o := &rows[0], m.RowBytes, &out[0]
	switch m.Type {
	case Q8_0:
		dotQ8_0AVX512(w, rb, n, m.Cols/32, &a.Q[0], &a.D[0], &a.M[0], o)
	case Q4_0:
		dotQ4_0AVX512(w, rb, n, m.Cols/32, &a.Q[0], &a.D[0], &a.M[0], o)
	case Q4_K:
		dotQ4_KAVX512(w, rb, n, m.Cols/256, &a.Q[0], &a.D[0], &a.M[0], o)
	case Q6_K:
		dotQ6_KAVX512(w, rb, n, m.Cols/256, &a.Q[0], &a.D[0], &a.S[0], o)
	default:
		return false
	}
	return true
}

// dotRowsAVX2 runs the AVX2 kernel for m's type, if there is one. The
// float kernels stop at a multiple of 8 elements; the rest is added here.
func (m *Matrix) dotRowsAVX2(rows []byte, n int, a *Act, out []float32) bool {
	w, rb, o := &rows[0], m.RowBytes, &out[0]
	switch m.Type {
	case F32, F16, BF16:
		n8 := m.Cols &^ 7
		if n8 > 0 {
			switch m.Type {
			case F32:
				dotF32AVX2(w, rb, n, n8, &a.F[0], o)
			case F16:
				dotF16AVX2(w, rb, n, n8, &a.F[0], o)
			case BF16:
				dotBF16AVX2(w, rb, n, n8, &a.F[0], o)
			}
		} else {
			clear(out[:n])
		}
		if n8 < m.Cols {
			esz, dot := m.Type.BlockBytes(), rowKernels[m.Type].dot
			for j := range out[:n] {
				out[j] += dot(rows[j*rb+n8*esz:(j+1)*rb], a.F[n8:m.Cols])
			}
		}
	case Q8_0:
		dotQ8_0AVX2(w, rb, n, m.Cols/32, &a.Q[0], &a.D[0], &a.M[0], o)
	case Q4_0:
		dotQ4_0AVX2(w, rb, n, m.Cols/32, &a.Q[0], &a.D[0], &a.M[0], o)
	case Q4_K:
		dotQ4_KAVX2(w, rb, n, m.Cols/256, &a.Q[0], &a.D[0], &a.M[0], o)
	case Q6_K:
		dotQ6_KAVX2(w, rb, n, m.Cols/256, &a.Q[0], &a.D[0], &a.S[0], o)
	default:
		return false
	}
	return true
}
