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
	for i, v := range x {
		y[i] += v
	}
}

// RMSNorm writes x / rms(x) * w into out. The sum of squares is accumulated
// in float64 so long rows lose no precision.
func RMSNorm(out, x, w []float32, eps float32) {
	var ss float64
	for _, v := range x {
		ss += float64(v) * float64(v)
	}
	scale := float32(1 / math.Sqrt(ss/float64(len(x))+float64(eps)))
	out = out[:len(x)]
	w = w[:len(x)]
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

// RoPE rotates each head of x (heads of headDim values) by the angles whose
// cosines and sines are given per dimension pair. interleaved selects pairs
// (2i, 2i+1); otherwise pairs are (i, i+headDim/2) as in Hugging Face.
func RoPE(x []float32, headDim int, cos, sin []float32, interleaved bool) {
	half := headDim / 2
	for h := 0; h+headDim <= len(x); h += headDim {
		v := x[h : h+headDim]
		if interleaved {
			for i := 0; i < half; i++ {
				a, b := v[2*i], v[2*i+1]
				v[2*i] = a*cos[i] - b*sin[i]
				v[2*i+1] = b*cos[i] + a*sin[i]
			}
		} else {
			for i := 0; i < half; i++ {
				a, b := v[i], v[i+half]
				v[i] = a*cos[i] - b*sin[i]
				v[i+half] = b*cos[i] + a*sin[i]
			}
		}
	}
}
