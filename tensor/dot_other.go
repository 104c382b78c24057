//go:build !amd64 || purego

package tensor

const hasAsm = false

func quantizeQ8AVX512(x *float32, q *int8, d, m, s *float32, nb int) {
	panic("unreachable")
}

func dotQ8_0AVX512(w *byte, stride, rows, nb int, q *int8, d, m *float32, out *float32) {
	panic("unreachable")
}
func dotQ4_0AVX512(w *byte, stride, rows, nb int, q *int8, d, m *float32, out *float32) {
	panic("unreachable")
}
func dotQ4_KAVX512(w *byte, stride, rows, nsb int, q *int8, d, m *float32, out *float32) {
	panic("unreachable")
}
func dotQ6_KAVX512(w *byte, stride, rows, nsb int, q *int8, d, s *float32, out *float32) {
	panic("unreachable")
}

func gemmQ8AVX512(panel, tile *byte, nb int, out *float32)    { panic("unreachable") }
func gemmQ8MinAVX512(panel, tile *byte, nb int, out *float32) { panic("unreachable") }
func gemmQ6AVX512(panel, tile *byte, nb int, out *float32)    { panic("unreachable") }

func packQ8_0(row *byte, nb int, rec *byte)  { panic("unreachable") }
func packQ4_0(row *byte, nb int, rec *byte)  { panic("unreachable") }
func packQ4_K(row *byte, nsb int, rec *byte) { panic("unreachable") }
func packQ6_K(row *byte, nsb int, rec *byte) { panic("unreachable") }

func dotF32AVX2(w *byte, stride, rows, n int, x *float32, out *float32)  { panic("unreachable") }
func dotF16AVX2(w *byte, stride, rows, n int, x *float32, out *float32)  { panic("unreachable") }
func dotBF16AVX2(w *byte, stride, rows, n int, x *float32, out *float32) { panic("unreachable") }
func dotQ8_0AVX2(w *byte, stride, rows, nb int, q *int8, d, m *float32, out *float32) {
	panic("unreachable")
}
func dotQ4_0AVX2(w *byte, stride, rows, nb int, q *int8, d, m *float32, out *float32) {
	panic("unreachable")
}
func dotQ4_KAVX2(w *byte, stride, rows, nsb int, q *int8, d, m *float32, out *float32) {
	panic("unreachable")
}
func dotQ6_KAVX2(w *byte, stride, rows, nsb int, q *int8, d, s *float32, out *float32) {
	panic("unreachable")
}

func sumWordsAVX2(p *byte, n int) uint64 { panic("unreachable") }
