//go:build amd64 && !purego

package kernels

const hasAsm = true

//go:noescape
func dotAVX512(a, b *float32, n int) float32

//go:noescape
func dotAVX2(a, b *float32, n int) float32

//go:noescape
func axpyAVX512(a float32, x, y *float32, n int)

//go:noescape
func axpyAVX2(a float32, x, y *float32, n int)

func dotSIMD(a, b []float32) float32 {
	switch simd {
	case levelAVX512:
		return dotAVX512(&a[0], &b[0], len(a))
	case levelAVX2:
		return dotAVX2(&a[0], &b[0], len(a))
	}
	return dotGeneric(a, b)
}

func axpySIMD(a float32, x, y []float32) {
	switch simd {
	case levelAVX512:
		axpyAVX512(a, &x[0], &y[0], len(x))
	case levelAVX2:
		axpyAVX2(a, &x[0], &y[0], len(x))
	default:
		axpyGeneric(a, x, y)
	}
}

//go:noescape
func swigluAVX512(gate, up *float32, n int)

//go:noescape
func softmaxAVX512(x *float32, n int)

func swigluSIMD(gate, up []float32) {
	if simd >= levelAVX512 {
		swigluAVX512(&gate[0], &up[0], len(gate))
		return
	}
	swigluGeneric(gate, up)
}

func softmaxSIMD(x []float32) {
	if simd >= levelAVX512 {
		softmaxAVX512(&x[0], len(x))
		return
	}
	softmaxGeneric(x)
}

//go:noescape
func wsumAVX512(p, v *float32, stride, count, hd int, out *float32)

// Element-wise kernels (elem_amd64.s).

//go:noescape
func addAVX512(y, x *float32, n int)

//go:noescape
func sumSquaresAVX512(x *float32, n int) float64

//go:noescape
func scaleMulAVX512(out, x, w *float32, scale float32, n int)

//go:noescape
func ropeAVX512(x *float32, heads, hd int, c, s *float32, interleaved bool)

//go:noescape
func scaleAVX512(x *float32, s float32, n int)
