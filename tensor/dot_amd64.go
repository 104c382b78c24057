//go:build amd64 && !purego

package tensor

const hasAsm = true

// Row-range kernels in assembly: out[r] = row r · activation for rows rows
// starting at w, stride bytes apart. n is the row length in elements, nb
// in 32-element blocks, nsb in 256-element super-blocks.

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

// Matrix-matrix kernels (gemm_amd64.s): out[c*8+r] = panel row r ·
// tile row c over nb blocks.

//go:noescape
func gemmQ8AVX512(panel, tile *byte, nb int, out *float32)

//go:noescape
func gemmQ8MinAVX512(panel, tile *byte, nb int, out *float32)

//go:noescape
func gemmQ6AVX512(panel, tile *byte, nb int, out *float32)

// Panel packers (pack_amd64.s): one weight row into records 384 bytes apart.

//go:noescape
func packQ8_0(row *byte, nb int, rec *byte)

//go:noescape
func packQ4_0(row *byte, nb int, rec *byte)

//go:noescape
func packQ4_K(row *byte, nsb int, rec *byte)

//go:noescape
func packQ6_K(row *byte, nsb int, rec *byte)

// AVX2 row kernels (dot_avx2_amd64.s); the float ones take n a multiple of 8.

//go:noescape
func dotF32AVX2(w *byte, stride, rows, n int, x *float32, out *float32)

//go:noescape
func dotF16AVX2(w *byte, stride, rows, n int, x *float32, out *float32)

//go:noescape
func dotBF16AVX2(w *byte, stride, rows, n int, x *float32, out *float32)

//go:noescape
func dotQ8_0AVX2(w *byte, stride, rows, nb int, q *int8, d, m *float32, out *float32)

//go:noescape
func dotQ4_0AVX2(w *byte, stride, rows, nb int, q *int8, d, m *float32, out *float32)

//go:noescape
func dotQ4_KAVX2(w *byte, stride, rows, nsb int, q *int8, d, m *float32, out *float32)

//go:noescape
func dotQ6_KAVX2(w *byte, stride, rows, nsb int, q *int8, d, s *float32, out *float32)

//go:noescape
func sumWordsAVX2(p *byte, n int) uint64
