// Package kernels holds the activation-side numerical operations of the
// forward pass (RMSNorm, RoPE, softmax, SwiGLU, float dot products) and the
// matrix-times-activations driver that spreads weight rows over a worker pool.
package kernels

import "math"

// Dot is the float32 dot product of a and b[:len(a)].
func Dot(a, b []float32) float32 {
	b = b[:len(a)]
	if len(a) == 0 {
		return 0
	}
	return dotSIMD(a, b)
}

// dotGeneric is Dot in pure Go, for CPUs without the vector extensions.
func dotGeneric(a, b []float32) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// AXPY adds a*x to y.
func AXPY(a float32, x, y []float32) {
	y = y[:len(x)]
	if len(x) == 0 {
		return
	}
	axpySIMD(a, x, y)
}

func axpyGeneric(a float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += a * v
	}
}

// Add adds x to y element-wise.
func Add(y, x []float32) {
	y = y[:len(x)]
	if hasAsm && simd >= levelAVX512 && len(x) > 0 {
		addAVX512(&y[0], &x[0], len(x))
		return
	}
	for i, v := range x {
		y[i] += v
	}
}

// Scale multiplies x by s element-wise.
func Scale(x []float32, s float32) {
	if hasAsm && simd >= levelAVX512 && len(x) > 0 {
		scaleAVX512(&x[0], s, len(x))
		return
	}
	for i := range x {
		x[i] *= s
	}
}

// RMSNorm writes x / rms(x) * w into out. The sum of squares is accumulated
// in float64 so long rows lose no precision (with AVX-512 in eight float64
// lanes, whose different order moves the sum by about 1e-16).
func RMSNorm(out, x, w []float32, eps float32) {
	out = out[:len(x)]
	w = w[:len(x)]
	if hasAsm && simd >= levelAVX512 && len(x) > 0 {
		ss := sumSquaresAVX512(&x[0], len(x))
		scale := float32(1 / math.Sqrt(ss/float64(len(x))+float64(eps)))
		scaleMulAVX512(&out[0], &x[0], &w[0], scale, len(x))
		return
	}
	var ss float64
	for _, v := range x {
		ss += float64(v) * float64(v)
	}
	scale := float32(1 / math.Sqrt(ss/float64(len(x))+float64(eps)))
	for i, v := range x {
		out[i] = v * scale * w[i]
	}
}

// SwiGLU writes silu(gate) * up into gate. The vector version evaluates
// exp in float32 (a few ulps); the Go one in float64.
func SwiGLU(gate, up []float32) {
	up = up[:len(gate)]
	if len(gate) == 0 {
		return
	}
	swigluSIMD(gate, up)
}

func swigluGeneric(gate, up []float32) {
	up = up[:len(gate)]
	for i, g := range gate {
		gate[i] = float32(float64(g)/(1+math.Exp(-float64(g)))) * up[i]
	}
}

// Softmax normalises x in place. The vector version evaluates exp and the
// sum in float32 (relative error about 1e-7 per element plus the sum's
// rounding); the Go one in float64.
func Softmax(x []float32) {
	if len(x) == 0 {
		return
	}
	softmaxSIMD(x)
}

func softmaxGeneric(x []float32) {
	maxv := x[0]
	for _, v := range x[1:] {
		if v > maxv {
			maxv = v
		}
	}
	var sum float64
	for i, v := range x {
		e := math.Exp(float64(v - maxv))
		x[i] = float32(e)
		sum += e
	}
	inv := float32(1 / sum)
	for i := range x {
		x[i] *= inv
	}
}

// RoPEAngles expands one position's rotation (cos[i], sin[i] for the pair
// i of a head, headDim/2 of them) into the per-element factors RoPE
// takes: c[j] is the cosine of element j's pair, s[j] its sine with the
// sign of its term (-sin for the first element of a pair, +sin for the
// second). A forward pass expands each row's angles once for all layers.
func RoPEAngles(cos, sin []float32, interleaved bool, c, s []float32) {
	half := len(cos)
	for i := 0; i < half; i++ {
		a, b := 2*i, 2*i+1 // interleaved pairs (x[2i], x[2i+1])
		if !interleaved {
			a, b = i, i+half // pairs (x[i], x[i+half])
		}
		c[a], c[b] = cos[i], cos[i]
		s[a], s[b] = -sin[i], sin[i]
	}
}

// RoPE rotates each head of x (heads of headDim values) by the factors of
// RoPEAngles: x'[j] = x[j]·c[j] + x[partner(j)]·s[j], where an element's
// partner is the other element of its pair: adjacent (interleaved, the
// GGUF llama layout) or half a head away (Hugging Face's rotate_half).
// For the first element of a pair that is a·cos - b·sin, for the second
// b·cos + a·sin, with the same roundings as written out.
func RoPE(x []float32, headDim int, c, s []float32, interleaved bool) {
	heads := len(x) / headDim
	if hasAsm && simd >= levelAVX512 && headDim%32 == 0 && heads > 0 {
		ropeAVX512(&x[0], heads, headDim, &c[0], &s[0], interleaved)
		return
	}
	half := headDim / 2
	c, s = c[:headDim], s[:headDim]
	for h := 0; h+headDim <= len(x); h += headDim {
		v := x[h : h+headDim]
		for i := 0; i < half; i++ {
			a, b := 2*i, 2*i+1
			if !interleaved {
				a, b = i, i+half
			}
			va, vb := v[a], v[b]
			v[a] = va*c[a] + vb*s[a]
			v[b] = vb*c[b] + va*s[b]
		}
	}
}
