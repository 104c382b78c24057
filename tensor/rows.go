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

// dotRowsAVX512 runs the assembly kernel for m's type, if there is one.
func (m *Matrix) dotRowsAVX512(rows []byte, n int, a *Act, out []float32) bool {
	w, rb, o := &rows[0], m.RowBytes, &out[0]
	switch m.Type {
	case F32, F16, BF16:
		m.dotPairs(rows, n, a.F, out)
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

// HasDotK reports whether DotRowsK has a kernel for t on this machine.
func HasDotK(t DType) bool {
	return simd >= levelAVX512 && (t == F32 || t == F16 || t == BF16)
}

// MaxDotK is the most activation rows one DotRowsK call takes.
const MaxDotK = 8

// DotRowsK writes out[MaxDotK*(j-lo)+c] = row j · x[c*xstride : c*xstride+Cols]
// for the rows j in [lo, hi) and c < k <= MaxDotK (the float types of
// HasDotK): each weight row is decoded once for all k activation rows, so
// a short batch (a drafting round's verify pass) costs one pass over the
// weights and k products per weight, not k passes. x must span eight rows
// of xstride (the kernel forms all eight addresses, reading only k).
func (m *Matrix) DotRowsK(lo, hi int, x []float32, xstride, k int, out []float32) {
	n := hi - lo
	if n <= 0 {
		return
	}
	if lo < 0 || hi > m.Rows || !HasDotK(m.Type) || k < 1 || k > MaxDotK {
		panic(fmt.Sprintf("tensor: DotRowsK [%d, %d) of %d %s rows, k=%d", lo, hi, m.Rows, m.Type, k))
	}
	if xstride < m.Cols || len(x) < (MaxDotK-1)*xstride+m.Cols {
		panic("tensor: DotRowsK: x does not hold eight activation rows")
	}
	out = out[:MaxDotK*n]
	rb := m.RowBytes
	kernel := dotK(m.Type, k)
	if even := n &^ 1; even > 0 {
		kernel(&m.Data[lo*rb], rb, even, m.Cols, &x[0], 4*xstride, &out[0])
	}
	if n%2 == 1 {
		// The kernel takes rows in pairs: run the last row twice.
		var tmp [2 * MaxDotK]float32
		kernel(&m.Data[(hi-1)*rb], 0, 2, m.Cols, &x[0], 4*xstride, &tmp[0])
		copy(out[MaxDotK*(n-1):], tmp[:MaxDotK])
	}
}

// dotPairs is the one-activation kernel of the float types, in the
// summation order DotRowsK gives every activation row: a row's product is
// the same bits whether it is computed alone or in a batch (a drafting
// round's verify pass must reproduce single-row decoding exactly).
func (m *Matrix) dotPairs(rows []byte, n int, x []float32, out []float32) {
	kernel := dotPairF32AVX512
	switch m.Type {
	case F16:
		kernel = dotPairF16AVX512
	case BF16:
		kernel = dotPairBF16AVX512
	}
	rb := m.RowBytes
	if even := n &^ 1; even > 0 {
		kernel(&rows[0], rb, even, m.Cols, &x[0], 0, &out[0])
	}
	if n%2 == 1 {
		var tmp [2]float32
		kernel(&rows[(n-1)*rb], 0, 2, m.Cols, &x[0], 0, &tmp[0])
		out[n-1] = tmp[0]
	}
}

type dotKFunc func(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)

var dotKFuncs = [3][MaxDotK + 1]dotKFunc{
	{nil, dot1F32AVX512, dot2F32AVX512, dot3F32AVX512, dot4F32AVX512, dot5F32AVX512, dot6F32AVX512, dot7F32AVX512, dot8F32AVX512},
	{nil, dot1F16AVX512, dot2F16AVX512, dot3F16AVX512, dot4F16AVX512, dot5F16AVX512, dot6F16AVX512, dot7F16AVX512, dot8F16AVX512},
	{nil, dot1BF16AVX512, dot2BF16AVX512, dot3BF16AVX512, dot4BF16AVX512, dot5BF16AVX512, dot6BF16AVX512, dot7BF16AVX512, dot8BF16AVX512},
}

func dotK(t DType, k int) dotKFunc {
	switch t {
	case F32:
		return dotKFuncs[0][k]
	case F16:
		return dotKFuncs[1][k]
	}
	return dotKFuncs[2][k]
}
