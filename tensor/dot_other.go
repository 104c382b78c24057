//go:build !amd64 || purego

package tensor

const hasAsm = false

func quantizeQ8AVX512(x *float32, q *int8, d, m, s *float32, nb int) {
	panic("unreachable")
}

func dotF32AVX512(w *byte, stride, rows, n int, x *float32, out *float32)  { panic("unreachable") }
func dotF16AVX512(w *byte, stride, rows, n int, x *float32, out *float32)  { panic("unreachable") }
func dotBF16AVX512(w *byte, stride, rows, n int, x *float32, out *float32) { panic("unreachable") }
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
