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

// Batched float kernels (dot8_amd64.s): rows weight rows (an even number)
// times the first K of eight activation rows xstride bytes apart; out gets
// [row][8].

//go:noescape
func dot1F32AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)

//go:noescape
func dot1F16AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)

//go:noescape
func dot1BF16AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)

//go:noescape
func dot2F32AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)

//go:noescape
func dot2F16AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)

//go:noescape
func dot2BF16AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)

//go:noescape
func dot3F32AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)

//go:noescape
func dot3F16AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)

//go:noescape
func dot3BF16AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)

//go:noescape
func dot4F32AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)

//go:noescape
func dot4F16AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)

//go:noescape
func dot4BF16AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)

//go:noescape
func dot5F32AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)

//go:noescape
func dot5F16AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)

//go:noescape
func dot5BF16AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)

//go:noescape
func dot6F32AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)

//go:noescape
func dot6F16AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)

//go:noescape
func dot6BF16AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)

//go:noescape
func dot7F32AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)

//go:noescape
func dot7F16AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)

//go:noescape
func dot7BF16AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)

//go:noescape
func dot8F32AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)

//go:noescape
func dot8F16AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)

//go:noescape
func dot8BF16AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)

//go:noescape
func gemmF32AVX512(panel, tile *float32, n int, out *float32)

// Float panel packers (gemmf_amd64.s): 8 rows × n elements into [i][8]
// float32; the panel needs room for n rounded up to 16.

//go:noescape
func packF32(w *byte, stride, n int, panel *float32)

//go:noescape
func packF16(w *byte, stride, n int, panel *float32)

//go:noescape
func packBF16(w *byte, stride, n int, panel *float32)

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

// One-activation pair kernels (dot8_amd64.s): DotRowsK's k = 1 order, with
// results stored straight to out[row]; rows is even.

//go:noescape
func dotPairF32AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)

//go:noescape
func dotPairF16AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)

//go:noescape
func dotPairBF16AVX512(w *byte, stride, rows, n int, x *float32, xstride int, out *float32)
