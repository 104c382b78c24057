package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// attention64 is the float64 reference of Attention.
func attention64(q, k, v []float32, stride, count int, scale float32) []float64 {
	hd := len(q)
	s := make([]float64, count)
	maxv := math.Inf(-1)
	for j := range s {
		for i := range hd {
			s[j] += float64(q[i]) * float64(k[j*stride+i])
		}
		s[j] *= float64(scale)
		maxv = max(maxv, s[j])
	}
	var sum float64
	for j := range s {
		s[j] = math.Exp(s[j] - maxv)
		sum += s[j]
	}
	out := make([]float64, hd)
	for j := range s {
		for i := range hd {
			out[i] += s[j] / sum * float64(v[j*stride+i])
		}
	}
	return out
}

// TestAttentionMatchesFloat64 covers every head size the assembly takes
// (16..128) and some it leaves to Go, odd position counts (the pairwise
// loops' single last key) and a stride wider than the head.
func TestAttentionMatchesFloat64(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	for _, l := range levels() {
		withLevel(t, l, func() {
			for _, hd := range []int{16, 24, 32, 48, 64, 80, 96, 112, 128, 136} {
				for _, count := range []int{1, 2, 3, 17, 64, 301} {
					stride := 3*hd + 5
					q := randVec(rng, hd)
					k := randVec(rng, (count-1)*stride+hd)
					v := randVec(rng, (count-1)*stride+hd)
					scale := float32(1 / math.Sqrt(float64(hd)))
					scores := make([]float32, count+1)
					out := make([]float32, hd+1)
					out[hd] = 42
					Attention(q, k, v, stride, count, scale, scores, out)
					want := attention64(q, k, v, stride, count, scale)
					if out[hd] != 42 {
						t.Fatalf("%v hd=%d count=%d: wrote past the head", l, hd, count)
					}
					// Each output is a convex combination of values of
					// magnitude ~3: errors of a few float32 ulps of the
					// scores (exp) and of the sums.
					for i := range hd {
						if e := math.Abs(float64(out[i]) - want[i]); e > 2e-5 {
							t.Fatalf("%v hd=%d count=%d: out[%d] = %g, want %g (err %.3g)", l, hd, count, i, out[i], want[i], e)
						}
					}
				}
			}
		})
	}
}

// TestAttentionDispatch: with vector code off Attention is the Go loop of
// Dot/Softmax/AXPY bit for bit; with AVX-512 it is not (other summation
// order), so the level switch is seen to change the path.
func TestAttentionDispatch(t *testing.T) {
	if !hasAsm || hostLevel < levelAVX512 {
		t.Skip("no AVX-512 on this machine: only the Go path exists")
	}
	rng := rand.New(rand.NewPCG(53, 54))
	const hd, count, stride = 64, 99, 256
	q, k, v := randVec(rng, hd), randVec(rng, count*stride), randVec(rng, count*stride)
	run := func(l level) []float32 {
		out, scores := make([]float32, hd), make([]float32, count)
		withLevel(t, l, func() { Attention(q, k, v, stride, count, 0.125, scores, out) })
		return out
	}
	loop := func() []float32 {
		out, scores := make([]float32, hd), make([]float32, count)
		withLevel(t, levelGeneric, func() {
			for j := range scores {
				scores[j] = dotGeneric(q, k[j*stride:j*stride+hd]) * 0.125
			}
			softmaxGeneric(scores)
			for j, p := range scores {
				axpyGeneric(p, v[j*stride:j*stride+hd], out)
			}
		})
		return out
	}
	if !slices.Equal(run(levelGeneric), loop()) {
		t.Fatal("with SIMD off, Attention is not the Go loop")
	}
	if slices.Equal(run(levelAVX512), loop()) {
		t.Fatal("with AVX-512 on, Attention still matches the Go loop bit for bit")
	}
}

func BenchmarkAttention(b *testing.B) {
	rng := rand.New(rand.NewPCG(55, 56))
	for _, c := range [][2]int{{32, 20}, {32, 64}, {32, 256}, {64, 256}} {
		hd, count := c[0], c[1]
		const stride = 512
		q, k, v := randVec(rng, hd), randVec(rng, count*stride), randVec(rng, count*stride)
		scores, out := make([]float32, count), make([]float32, hd)
		for _, l := range levels() {
			b.Run(fmt.Sprintf("hd=%d/count=%d/%v", hd, count, l), func(b *testing.B) {
				withLevel(b, l, func() {
					b.SetBytes(int64(2 * 4 * hd * count))
					for b.Loop() {
						Attention(q, k, v, stride, count, 0.125, scores, out)
					}
				})
			})
		}
	}
}
