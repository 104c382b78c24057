package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/d3-project/d3/tensor"
)

// attention64 is the float64 reference of one query's attention.
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

// keyPanel lays count keys (rows of stride floats, hd used) out as the
// panel AttentionHead reads.
func keyPanel(k []float32, stride, count, hd int) []float32 {
	p := make([]float32, tensor.PanelLen(count, hd))
	for j := 0; j < count; j++ {
		for d := 0; d < hd; d++ {
			p[tensor.PanelIndex(j, d, hd)] = k[j*stride+d]
		}
	}
	return p
}

// TestAttentionMatchesFloat64 covers every head size the assembly takes
// (16..128) and some it leaves to Go, position counts with partial tiles,
// a value stride wider than the head, and several queries of one head
// with their own counts (causal rows of a verify pass or a prefill).
func TestAttentionMatchesFloat64(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	for _, l := range levels() {
		withLevel(t, l, func() {
			for _, hd := range []int{16, 24, 32, 48, 64, 80, 96, 112, 128, 136} {
				for _, count := range []int{1, 2, 3, 17, 64, 301} {
					stride := 3*hd + 5
					k := randVec(rng, (count-1)*stride+hd)
					v := randVec(rng, (count-1)*stride+hd)
					kt := keyPanel(k, stride, count, hd)
					scale := float32(1 / math.Sqrt(float64(hd)))
					counts := []int{count, max(1, count-1), max(1, count/2)}
					if count > 10 { // more queries than one kernel call takes
						for c := count - 9; c < count; c++ {
							counts = append(counts, c)
						}
					}
					M := len(counts)
					q := randVec(rng, M*hd)
					qs := make([]float32, M*hd)
					for i, x := range q {
						qs[i] = x * scale
					}
					scores := make([]float32, M*count)
					out := make([]float32, M*hd+1)
					out[M*hd] = 42
					AttentionHead(qs, counts, hd, kt, v, stride, scores, out)
					if out[M*hd] != 42 {
						t.Fatalf("%v hd=%d count=%d: wrote past the outputs", l, hd, count)
					}
					for m, c := range counts {
						want := attention64(q[m*hd:(m+1)*hd], k, v, stride, c, scale)
						// Each output is a convex combination of values of
						// magnitude ~3: errors of a few float32 ulps of the
						// scores (exp) and of the sums.
						for i := range hd {
							if e := math.Abs(float64(out[m*hd+i]) - want[i]); e > 2e-5 {
								t.Fatalf("%v hd=%d count=%d query %d (%d keys): out[%d] = %g, want %g (err %.3g)", l, hd, count, m, c, i, out[m*hd+i], want[i], e)
							}
						}
					}
				}
			}
		})
	}
}

// TestAttentionHeadBatchInvariant: a query's output has the same bits
// alone as among others (a verify pass must reproduce single-row steps),
// and the level switch changes the path (the Go loop sums in another
// order, so some bits differ).
func TestAttentionHeadBatchInvariant(t *testing.T) {
	if !hasAsm || hostLevel < levelAVX512 {
		t.Skip("no AVX-512 on this machine: only the Go path exists")
	}
	rng := rand.New(rand.NewPCG(53, 54))
	const hd, count, stride = 64, 99, 256
	k, v := randVec(rng, count*stride), randVec(rng, count*stride)
	kt := keyPanel(k, stride, count, hd)
	counts := []int{count, 90, 95, 97, 98, 60, 99, 99, 42, 77, 80}
	qs := randVec(rng, len(counts)*hd)
	all := make([]float32, len(counts)*hd)
	AttentionHead(qs, counts, hd, kt, v, stride, make([]float32, len(counts)*count), all)
	for m, c := range counts {
		one := make([]float32, hd)
		AttentionHead(qs[m*hd:(m+1)*hd], []int{c}, hd, kt, v, stride, make([]float32, count), one)
		if !slices.Equal(one, all[m*hd:(m+1)*hd]) {
			t.Fatalf("query %d: output differs alone and among %d queries", m, len(counts))
		}
		var slow []float32
		withLevel(t, levelGeneric, func() {
			slow = make([]float32, hd)
			AttentionHead(qs[m*hd:(m+1)*hd], []int{c}, hd, kt, v, stride, make([]float32, count), slow)
		})
		if m == 0 && slices.Equal(slow, one) {
			t.Fatal("with AVX-512 on, AttentionHead still matches the Go loop bit for bit")
		}
	}
}

func BenchmarkAttention(b *testing.B) {
	rng := rand.New(rand.NewPCG(55, 56))
	for _, c := range [][3]int{{32, 20, 1}, {32, 64, 1}, {32, 64, 8}, {32, 256, 2}, {64, 256, 2}} {
		hd, count, M := c[0], c[1], c[2]
		const stride = 512
		k, v := randVec(rng, count*stride), randVec(rng, count*stride)
		kt := keyPanel(k, stride, count, hd)
		qs := randVec(rng, M*hd)
		counts := make([]int, M)
		for i := range counts {
			counts[i] = count - i
		}
		scores, out := make([]float32, M*count), make([]float32, M*hd)
		for _, l := range levels() {
			b.Run(fmt.Sprintf("hd=%d/count=%d/queries=%d/%v", hd, count, M, l), func(b *testing.B) {
				withLevel(b, l, func() {
					b.SetBytes(int64(2 * 4 * hd * count))
					for b.Loop() {
						AttentionHead(qs, counts, hd, kt, v, stride, scores, out)
					}
				})
			})
		}
	}
}
