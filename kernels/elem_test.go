package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestElementwiseLevels: Add, Scale, RMSNorm and RoPE give the same bits at every
// kernel level (the assembly does the Go versions' float32 operations in
// the same order; RMSNorm's float64 sum of squares may move by 1e-16,
// which the test allows but which leaves the outputs equal here), for
// lengths with and without a partial last vector.
func TestElementwiseLevels(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	for _, n := range []int{1, 15, 16, 17, 256, 777} {
		x, y, w := randVec(rng, n), randVec(rng, n), randVec(rng, n)
		var adds, norms [][]float32
		for _, l := range levels() {
			withLevel(t, l, func() {
				a := slices.Clone(y)
				Add(a, x)
				adds = append(adds, a)
				sc := slices.Clone(x)
				Scale(sc, 0.37)
				for j := range sc {
					if sc[j] != x[j]*0.37 {
						t.Fatalf("n=%d level %v: Scale element %d = %g, want %g", n, l, j, sc[j], x[j]*0.37)
					}
				}
				o := make([]float32, n+1)
				o[n] = 42
				RMSNorm(o, x, w, 1e-5)
				if o[n] != 42 {
					t.Fatalf("RMSNorm wrote past its row")
				}
				norms = append(norms, o[:n])
			})
		}
		for i := range adds {
			for j := range adds[i] {
				if adds[i][j] != y[j]+x[j] {
					t.Fatalf("n=%d level %v: Add element %d = %g, want %g", n, levels()[i], j, adds[i][j], y[j]+x[j])
				}
			}
		}
		var ss float64
		for _, v := range x {
			ss += float64(v) * float64(v)
		}
		scale := 1 / math.Sqrt(ss/float64(n)+1e-5)
		for i, o := range norms {
			for j, v := range o {
				if want := float64(x[j]) * scale * float64(w[j]); math.Abs(float64(v)-want) > 1e-6*math.Abs(want) {
					t.Fatalf("n=%d level %v: RMSNorm element %d = %g, want %g", n, levels()[i], j, v, want)
				}
			}
			if !slices.Equal(o, norms[0]) {
				t.Errorf("n=%d: RMSNorm at level %v differs from the Go version", n, levels()[i])
			}
		}
	}
}

// TestRoPE checks both pair layouts against the rotation written out, at
// every level, for head sizes the assembly takes (multiples of 32) and
// ones it leaves to Go.
func TestRoPE(t *testing.T) {
	rng := rand.New(rand.NewPCG(63, 64))
	for _, hd := range []int{8, 32, 64, 96, 128} {
		for _, interleaved := range []bool{false, true} {
			const heads = 3
			half := hd / 2
			cos, sin := make([]float32, half), make([]float32, half)
			for i := range cos {
				s, c := math.Sincos(rng.Float64() * 7)
				cos[i], sin[i] = float32(c), float32(s)
			}
			x := randVec(rng, heads*hd)
			want := slices.Clone(x)
			for h := 0; h < heads; h++ {
				v := want[h*hd : (h+1)*hd]
				for i := 0; i < half; i++ {
					a, b := i, i+half
					if interleaved {
						a, b = 2*i, 2*i+1
					}
					va, vb := v[a], v[b]
					v[a] = va*cos[i] - vb*sin[i]
					v[b] = vb*cos[i] + va*sin[i]
				}
			}
			c, s := make([]float32, hd), make([]float32, hd)
			RoPEAngles(cos, sin, interleaved, c, s)
			for _, l := range levels() {
				got := slices.Clone(x)
				withLevel(t, l, func() { RoPE(got, hd, c, s, interleaved) })
				if !slices.Equal(got, want) {
					t.Errorf("hd=%d interleaved=%v level %v: RoPE differs from the rotation written out", hd, interleaved, l)
				}
			}
		}
	}
}
