package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// levels returns the feature levels this machine can run, widest last.
func levels() []level {
	var ls []level
	for l := levelGeneric; l <= hostLevel; l++ {
		ls = append(ls, l)
	}
	return ls
}

// withLevel runs f with the kernels restricted to l.
func withLevel(t testing.TB, l level, f func()) {
	prev := setLevel(l)
	defer setLevel(prev)
	f()
}

func randVec(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

func dot64(a, b []float32) (dot, abs float64) {
	for i := range a {
		p := float64(a[i]) * float64(b[i])
		dot += p
		abs += math.Abs(p)
	}
	return
}

// Odd sizes on purpose: every remainder of the 8-, 16-, 32- and 64-wide
// loops, plus sizes of the real models.
var vecSizes = []int{1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 63, 64, 65, 100, 127, 129, 255, 256, 257, 768, 1001, 2048 + 13}

func TestDotMatchesFloat64(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, l := range levels() {
		withLevel(t, l, func() {
			for _, n := range vecSizes {
				a, b := randVec(rng, n), randVec(rng, n+5) // b may be longer
				want, abs := dot64(a, b[:n])
				got := Dot(a, b)
				// float32 accumulation: each of the n products and sums
				// rounds once, relative to the sum of magnitudes.
				if e := math.Abs(float64(got) - want); e > 2*float64(n)*0x1p-24*abs+1e-30 {
					t.Errorf("%v n=%d: Dot=%g, want %g (err %g, bound %g)", l, n, got, want, e, 2*float64(n)*0x1p-24*abs)
				}
			}
		})
	}
}

func TestAXPYMatchesFloat64(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, l := range levels() {
		withLevel(t, l, func() {
			for _, n := range vecSizes {
				a := float32(rng.NormFloat64())
				x, y := randVec(rng, n), randVec(rng, n+3)
				orig := append([]float32(nil), y...)
				AXPY(a, x, y)
				for i := range n {
					want := float64(orig[i]) + float64(a)*float64(x[i])
					// One rounding (FMA) or two (multiply, add).
					bound := 2 * 0x1p-24 * (math.Abs(float64(orig[i])) + math.Abs(float64(a)*float64(x[i])))
					if e := math.Abs(float64(y[i]) - want); e > bound {
						t.Fatalf("%v n=%d i=%d: got %g want %g", l, n, i, y[i], want)
					}
				}
				for i := n; i < len(y); i++ {
					if y[i] != orig[i] {
						t.Fatalf("%v n=%d: AXPY wrote past len(x) at %d", l, n, i)
					}
				}
			}
		})
	}
}

// cancelling builds a vector whose float32 dot product with ones depends on
// the order of the additions: huge values that cancel, interleaved with
// small ones, so a 4-accumulator scalar loop, an 8-lane and a 16-lane
// vector loop all round differently.
func cancelling(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		switch i % 3 {
		case 0:
			v[i] = 1 << 24
		case 1:
			v[i] = 1 + float32(i%7)/8
		case 2:
			v[i] = -(1 << 24)
		}
	}
	return v
}

// TestDispatchTakesSelectedPath proves that setLevel really switches the
// implementation: on an input whose rounding differs between the paths,
// Dot must reproduce the selected path's result bit for bit.
func TestDispatchTakesSelectedPath(t *testing.T) {
	n := 301
	a, ones := cancelling(n), make([]float32, n)
	for i := range ones {
		ones[i] = 1
	}
	results := map[level]float32{levelGeneric: dotGeneric(a, ones)}
	if hasAsm && hostLevel >= levelAVX2 {
		results[levelAVX2] = dotAVX2(&a[0], &ones[0], n)
	}
	if hasAsm && hostLevel >= levelAVX512 {
		results[levelAVX512] = dotAVX512(&a[0], &ones[0], n)
	}
	for l1, r1 := range results {
		for l2, r2 := range results {
			if l1 < l2 && r1 == r2 {
				t.Fatalf("test input does not separate %v and %v (both %g)", l1, l2, r1)
			}
		}
	}
	for _, l := range levels() {
		withLevel(t, l, func() {
			if got := Dot(a, ones); got != results[l] {
				t.Errorf("level %v: Dot = %g, the %v kernel gives %g", l, got, l, results[l])
			}
		})
	}
	if len(results) == 1 {
		t.Log("no SIMD level on this machine; only the pure-Go path was checked")
	}
}

func BenchmarkDot(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{64, 256, 2048} {
		x, y := randVec(rng, n), randVec(rng, n)
		for _, l := range levels() {
			b.Run(fmt.Sprintf("%v/n=%d", l, n), func(b *testing.B) {
				withLevel(b, l, func() {
					b.SetBytes(int64(8 * n))
					var s float32
					for b.Loop() {
						s += Dot(x, y)
					}
					sink = s
					b.ReportMetric(2*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			})
		}
	}
}

func BenchmarkAXPY(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{32, 256, 2048} {
		x, y := randVec(rng, n), randVec(rng, n)
		for _, l := range levels() {
			b.Run(fmt.Sprintf("%v/n=%d", l, n), func(b *testing.B) {
				withLevel(b, l, func() {
					b.SetBytes(int64(12 * n))
					for b.Loop() {
						AXPY(1e-3, x, y)
					}
				})
			})
		}
	}
}

var sink float32
