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

func dot1F32AVX512(w *byte, stride, rows, n int, x *float32, xs int, out *float32) {
	panic("unreachable")
}
func dot1F16AVX512(w *byte, stride, rows, n int, x *float32, xs int, out *float32) {
	panic("unreachable")
}
func dot1BF16AVX512(w *byte, stride, rows, n int, x *float32, xs int, out *float32) {
	panic("unreachable")
}
func dot2F32AVX512(w *byte, stride, rows, n int, x *float32, xs int, out *float32) {
	panic("unreachable")
}
func dot2F16AVX512(w *byte, stride, rows, n int, x *float32, xs int, out *float32) {
	panic("unreachable")
}
func dot2BF16AVX512(w *byte, stride, rows, n int, x *float32, xs int, out *float32) {
	panic("unreachable")
}
func dot3F32AVX512(w *byte, stride, rows, n int, x *float32, xs int, out *float32) {
	panic("unreachable")
}
func dot3F16AVX512(w *byte, stride, rows, n int, x *float32, xs int, out *float32) {
	panic("unreachable")
}
func dot3BF16AVX512(w *byte, stride, rows, n int, x *float32, xs int, out *float32) {
	panic("unreachable")
}
func dot4F32AVX512(w *byte, stride, rows, n int, x *float32, xs int, out *float32) {
	panic("unreachable")
}
func dot4F16AVX512(w *byte, stride, rows, n int, x *float32, xs int, out *float32) {
	panic("unreachable")
}
func dot4BF16AVX512(w *byte, stride, rows, n int, x *float32, xs int, out *float32) {
	panic("unreachable")
}
func dot5F32AVX512(w *byte, stride, rows, n int, x *float32, xs int, out *float32) {
	panic("unreachable")
}
func dot5F16AVX512(w *byte, stride, rows, n int, x *float32, xs int, out *float32) {
	panic("unreachable")
}
func dot5BF16AVX512(w *byte, stride, rows, n int, x *float32, xs int, out *float32) {
	panic("unreachable")
}
func dot6F32AVX512(w *byte, stride, rows, n int, x *float32, xs int, out *float32) {
	panic("unreachable")
}
func dot6F16AVX512(w *byte, stride, rows, n int, x *float32, xs int, out *float32) {
	panic("unreachable")
}
func dot6BF16AVX512(w *byte, stride, rows, n int, x *float32, xs int, out *float32) {
	panic("unreachable")
}
func dot7F32AVX512(w *byte, stride, rows, n int, x *float32, xs int, out *float32) {
	panic("unreachable")
}
func dot7F16AVX512(w *byte, stride, rows, n int, x *float32, xs int, out *float32) {
	panic("unreachable")
}
func dot7BF16AVX512(w *byte, stride, rows, n int, x *float32, xs int, out *float32) {
	panic("unreachable")
}
func dot8F32AVX512(w *byte, stride, rows, n int, x *float32, xs int, out *float32) {
	panic("unreachable")
}
func dot8F16AVX512(w *byte, stride, rows, n int, x *float32, xs int, out *float32) {
	panic("unreachable")
}
func dot8BF16AVX512(w *byte, stride, rows, n int, x *float32, xs int, out *float32) {
	panic("unreachable")
}

func gemmF32AVX512(panel, tile *float32, n int, out *float32) { panic("unreachable") }

func packF32(w *byte, stride, n int, panel *float32)  { panic("unreachable") }
func packF16(w *byte, stride, n int, panel *float32)  { panic("unreachable") }
func packBF16(w *byte, stride, n int, panel *float32) { panic("unreachable") }

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

func dotPairF32AVX512(w *byte, stride, rows, n int, x *float32, xs int, out *float32) {
	panic("unreachable")
}
func dotPairF16AVX512(w *byte, stride, rows, n int, x *float32, xs int, out *float32) {
	panic("unreachable")
}
func dotPairBF16AVX512(w *byte, stride, rows, n int, x *float32, xs int, out *float32) {
	panic("unreachable")
}
