package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func silu64(g float64) float64 { return g / (1 + math.Exp(-g)) }

// TestSwiGLUMatchesFloat64 sweeps the gate densely over the range where
// exp matters (and past it, where silu is 0 or the identity) with odd
// lengths, on every level. Relative error stays within a few float32 ulps.
func TestSwiGLUMatchesFloat64(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	const n = 100003
	gate, up := make([]float32, n), make([]float32, n)
	for i := range gate {
		gate[i] = float32(-120 + 240*float64(i)/n)
		up[i] = float32(rng.NormFloat64())
	}
	gate[0], gate[1], gate[2] = 0, float32(math.Inf(-1)), float32(math.Inf(1))
	for _, l := range levels() {
		withLevel(t, l, func() {
			for _, cut := range []int{n, 17, 5} { // the masked tail alone, too
				g := slices.Clone(gate[:cut])
				SwiGLU(g, up)
				for i, v := range g {
					want := float32(silu64(float64(gate[i]))) * up[i]
					if math.IsInf(float64(gate[i]), 1) {
						want = float32(math.Inf(1)) * up[i]
						if v != want {
							t.Fatalf("%v: silu(+Inf)·%g = %g", l, up[i], v)
						}
						continue
					}
					// Below -88, exp(-g) overflows float32 and silu(g)
					// (|g|·e^g < 1e-36) flushes to 0: an absolute slack.
					if e := math.Abs(float64(v) - float64(want)); e > 4e-7*math.Abs(float64(want))+1e-35 {
						t.Fatalf("%v: SwiGLU(%g, %g) = %g, want %g (rel err %.3g)", l, gate[i], up[i], v, want, e/math.Abs(float64(want)))
					}
				}
			}
		})
	}
}

func TestSoftmaxMatchesFloat64(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	for _, l := range levels() {
		withLevel(t, l, func() {
			for _, n := range []int{1, 2, 15, 16, 17, 31, 100, 1001, 4099} {
				for _, spread := range []float64{0.1, 3, 30} {
					x := make([]float32, n+3)
					for i := range x {
						x[i] = float32(spread * rng.NormFloat64())
					}
					orig := slices.Clone(x)
					Softmax(x[:n])
					var maxv float64 = math.Inf(-1)
					for _, v := range orig[:n] {
						maxv = max(maxv, float64(v))
					}
					var sum float64
					for _, v := range orig[:n] {
						sum += math.Exp(float64(v) - maxv)
					}
					for i := range n {
						want := math.Exp(float64(orig[i])-maxv) / sum
						// exp to a few ulps, the float32 sum's rounding, and
						// x - max rounded to float32 (an absolute error of
						// half an ulp of the difference becomes exp's
						// relative error).
						bound := (1e-6+float64(n)*0x1p-24+(maxv-float64(orig[i]))*0x1p-24)*want + 0x1p-140 // subnormal results
						if e := math.Abs(float64(x[i]) - want); e > bound {
							t.Fatalf("%v n=%d spread %g: p[%d] = %g, want %g (rel err %.3g)", l, n, spread, i, x[i], want, e/want)
						}
					}
					if !slices.Equal(x[n:], orig[n:]) {
						t.Fatalf("%v n=%d: Softmax wrote past the slice", l, n)
					}
				}
			}
		})
	}
}

// TestExpDispatch: with vector code off, SwiGLU and Softmax reproduce the
// float64 Go versions bit for bit; with it on, they differ somewhere in
// the last bits (float32 exp), so the switch demonstrably changes paths.
func TestExpDispatch(t *testing.T) {
	if !hasAsm || hostLevel < levelAVX512 {
		t.Skip("no AVX-512 on this machine: only the Go path exists")
	}
	rng := rand.New(rand.NewPCG(45, 46))
	gate, up := randVec(rng, 999), randVec(rng, 999)
	want := slices.Clone(gate)
	swigluGeneric(want, up)
	sm := randVec(rng, 999)
	wantSm := slices.Clone(sm)
	softmaxGeneric(wantSm)
	run := func(l level) (g, s []float32) {
		g, s = slices.Clone(gate), slices.Clone(sm)
		withLevel(t, l, func() { SwiGLU(g, up); Softmax(s) })
		return
	}
	g, s := run(levelGeneric)
	if !slices.Equal(g, want) || !slices.Equal(s, wantSm) {
		t.Fatal("with SIMD off, SwiGLU/Softmax do not run the Go code")
	}
	g, s = run(levelAVX512)
	if slices.Equal(g, want) || slices.Equal(s, wantSm) {
		t.Fatal("with AVX-512 on, SwiGLU/Softmax still match the Go code bit for bit")
	}
}

func BenchmarkSwiGLU(b *testing.B) {
	rng := rand.New(rand.NewPCG(47, 48))
	gate, up := randVec(rng, 8192), randVec(rng, 8192)
	for _, l := range levels() {
		b.Run(l.String(), func(b *testing.B) {
			withLevel(b, l, func() {
				g := slices.Clone(gate)
				b.SetBytes(8 * 8192)
				for b.Loop() {
					copy(g, gate)
					SwiGLU(g, up)
				}
			})
		})
	}
}

func BenchmarkSoftmax(b *testing.B) {
	rng := rand.New(rand.NewPCG(49, 50))
	x := randVec(rng, 512)
	for _, l := range levels() {
		b.Run(l.String(), func(b *testing.B) {
			withLevel(b, l, func() {
				y := slices.Clone(x)
				b.SetBytes(4 * 512)
				for b.Loop() {
					copy(y, x)
					Softmax(y)
				}
			})
		})
	}
}
