//go:build !amd64 || purego

package kernels

const hasAsm = false

func dotSIMD(a, b []float32) float32 { return dotGeneric(a, b) }

func axpySIMD(a float32, x, y []float32) { axpyGeneric(a, x, y) }

func swigluSIMD(gate, up []float32) { swigluGeneric(gate, up) }

func softmaxSIMD(x []float32) { softmaxGeneric(x) }

// The assembly kernels exist only on amd64; the tests reach them only when
// hasAsm is true.
func dotAVX512(a, b *float32, n int) float32 { panic("unreachable") }
func dotAVX2(a, b *float32, n int) float32   { panic("unreachable") }

func wsumAVX512(p, v *float32, stride, count, hd int, out *float32) { panic("unreachable") }
func softmaxAVX512(x *float32, n int)                               { panic("unreachable") }

func addAVX512(y, x *float32, n int)                              { panic("unreachable") }
func sumSquaresAVX512(x *float32, n int) float64                  { panic("unreachable") }
func scaleMulAVX512(out, x, w *float32, scale float32, n int)     { panic("unreachable") }
func ropeAVX512(x *float32, heads, hd int, c, s *float32, i bool) { panic("unreachable") }
func scaleAVX512(x *float32, s float32, n int)                    { panic("unreachable") }
