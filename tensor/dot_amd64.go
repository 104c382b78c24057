//go:build amd64 && !purego

package tensor

const hasAsm = true

// Row-range kernels in assembly: out[r] = row r · activation for rows rows
// starting at w, stride bytes apart. n is the row length in elements, nb
// in 32-element blocks, nsb in 256-element super-blocks.

//go:noescape
func dotF32AVX512(w *byte, stride, rows, n int, x *float32, out *float32)

//go:noescape
func dotF16AVX512(w *byte, stride, rows, n int, x *float32, out *float32)

//go:noescape
func dotBF16AVX512(w *byte, stride, rows, n int, x *float32, out *float32)

//go:noescape
func dotQ8_0AVX512(w *byte, stride, rows, nb int, q *int8, d, m *float32, out *float32)

//go:noescape
func dotQ4_0AVX512(w *byte, stride, rows, nb int, q *int8, d, m *float32, out *float32)

//go:noescape
func dotQ4_KAVX512(w *byte, stride, rows, nsb int, q *int8, d, m *float32, out *float32)

//go:noescape
func dotQ6_KAVX512(w *byte, stride, rows, nsb int, q *int8, d, s *float32, out *float32)

//go:noescape
func quantizeQ8AVX512(x *float32, q *int8, d, m, s *float32, nb int)
