package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// levels lists the kernel levels this machine can run.
func levels() []level {
	var ls []level
	for l := levelGeneric; l <= hostLevel; l++ {
		ls = append(ls, l)
	}
	return ls
}

func withLevel(l level, f func()) {
	prev := setLevel(l)
	defer setLevel(prev)
	f()
}

var rowTypes = append([]DType{F32, F16, BF16}, quantTypes...)

// randomMatrix builds rows × cols random weights of type t with realistic
// scale spread.
func randomMatrix(rng *rand.Rand, t DType, rows, cols int) *Matrix {
	rb, err := t.RowBytes(cols)
	if err != nil {
		panic(err)
	}
	var data []byte
	if t.BlockSize() == 1 {
		data = make([]byte, rows*rb)
		for r := 0; r < rows; r++ {
			if err := Quantize(t, randomVec(rng, cols), data[r*rb:(r+1)*rb]); err != nil {
				panic(err)
			}
		}
	} else {
		data = randomBlocks(rng, t, rows*cols/t.BlockSize(), 1)
	}
	m, err := NewMatrix(t.String(), t, rows, cols, data)
	if err != nil {
		panic(err)
	}
	return m
}

// colsFor returns row lengths to test for t: odd element counts for the
// float types, odd block counts for the block types.
func colsFor(t DType) []int {
	if t.BlockSize() == 1 {
		return []int{1, 7, 15, 17, 33, 63, 65, 100, 255, 257, 1000, 2048 + 13}
	}
	if t.BlockSize() == 32 {
		return []int{32, 64, 96, 32 * 7, 32 * 15, 32 * 16, 32 * 17, 32 * 33, 32 * 67}
	}
	return []int{256, 256 * 3, 256 * 5, 256 * 9}
}

// activation returns what the kernels of t multiply with: x itself, or x
// quantized to int8 blocks and decoded again, plus, per element, the bound
// on |x - that| (half a quantization step).
func activation(t DType, x []float32) (used []float64, step []float64) {
	used, step = make([]float64, len(x)), make([]float64, len(x))
	for i, v := range x {
		used[i] = float64(v)
	}
	if t.ActFormat() != ActQ8 {
		return
	}
	var a Act
	withLevel(levelGeneric, func() { a.Prepare(t, x) })
	for i := range x {
		used[i] = float64(a.D[i/32]) * float64(a.Q[i])
		step[i] = float64(a.D[i/32]) / 2
	}
	return
}

// TestDotRowsMatchFloat64 checks every kernel (each level the machine
// runs, every type) against float64 dot products of the dequantized
// weights on random rows of odd sizes. Two bounds: against the activation
// the kernel really multiplies with (x, or x after int8 quantization) the
// only error is float32 rounding, a few ulps of Σ|w·x| per step; against
// the exact x the quantized types may add at most Σ|w|·d/2 (each int8
// activation is off by at most half its block's step d).
func TestDotRowsMatchFloat64(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 11))
	for _, typ := range rowTypes {
		for _, cols := range colsFor(typ) {
			const rows = 5
			m := randomMatrix(rng, typ, rows, cols)
			x := randomVec(rng, cols)
			// Spread the activations' magnitudes over blocks, as real
			// hidden states with outlier channels have.
			for i := range x {
				x[i] *= float32(math.Pow(4, float64(i%5)))
			}
			used, step := activation(typ, x)
			w := make([]float32, cols)
			for _, l := range levels() {
				out := make([]float32, rows+1)
				out[rows] = 42
				withLevel(l, func() {
					var a Act
					a.Prepare(typ, x)
					m.DotRows(0, rows, &a, out)
				})
				if out[rows] != 42 {
					t.Fatalf("%v %s cols=%d: wrote past the row range", l, typ, cols)
				}
				for r := 0; r < rows; r++ {
					m.DequantRow(r, w)
					var ref, exact, mag, qerr float64
					for i := range w {
						ref += float64(w[i]) * used[i]
						exact += float64(w[i]) * float64(x[i])
						mag += math.Abs(float64(w[i]) * used[i])
						qerr += math.Abs(float64(w[i])) * step[i]
					}
					// float32 accumulation in blocks and lanes: the
					// summation depth is far below cols, 4 ulps per
					// doubling is generous yet catches any wrong term.
					rounding := 4 * math.Log2(float64(cols)+2) * 0x1p-24 * mag
					got := float64(out[r])
					if e := math.Abs(got - ref); !(e <= rounding) {
						t.Errorf("%v %s cols=%d row %d: got %g, float64 %g of the used activation (err %.3g > %.3g)", l, typ, cols, r, got, ref, e, rounding)
					}
					if e := math.Abs(got - exact); !(e <= rounding+qerr*1.0001) {
						t.Errorf("%v %s cols=%d row %d: got %g, exact %g (err %.3g > %.3g)", l, typ, cols, r, got, exact, e, rounding+qerr)
					}
				}
			}
		}
	}
}

// TestQuantizeActSIMD: the assembly activation quantizer reproduces the Go
// one bit for bit (both round x/d to nearest even in float32).
func TestQuantizeActSIMD(t *testing.T) {
	if hostLevel < levelAVX512 {
		t.Skip("no AVX-512 on this machine")
	}
	rng := rand.New(rand.NewPCG(12, 13))
	for _, nb := range []int{1, 3, 8, 67} {
		x := randomVec(rng, 32*nb)
		for i := range x {
			x[i] *= float32(math.Pow(10, float64(i%7)-3))
		}
		if nb > 1 {
			clear(x[32:64]) // an all-zero block
		}
		var g, s QAct
		withLevel(levelGeneric, func() { g.quantize(x) })
		s.quantize(x)
		if !slices.Equal(g.Q, s.Q) || !slices.Equal(g.D, s.D) || !slices.Equal(g.M, s.M) || !slices.Equal(g.S, s.S) {
			t.Errorf("%d blocks: assembly quantization differs from Go", nb)
		}
		for b := 0; b < nb; b++ {
			var amax float32
			for _, v := range x[32*b : 32*b+32] {
				amax = max(amax, float32(math.Abs(float64(v))))
			}
			for i := 32 * b; i < 32*b+32; i++ {
				if e := math.Abs(float64(x[i]) - float64(s.D[b])*float64(s.Q[i])); e > float64(amax)/127/2*1.0001 {
					t.Fatalf("block %d element %d: %g quantized to %d×%g", b, i, x[i], s.Q[i], s.D[b])
				}
			}
		}
	}
}

// TestDotRowsDispatch proves the level switch selects the implementation:
// at each level DotRows must reproduce that level's kernel (pure Go with
// SIMD switched off) bit for bit. The levels sum in different orders, so
// on random data some rows differ in their last bits between any two of
// them, which the test requires, so it cannot pass by running one path.
func TestDotRowsDispatch(t *testing.T) {
	if hostLevel == levelGeneric {
		t.Skip("no SIMD on this machine: only the pure-Go path exists")
	}
	rng := rand.New(rand.NewPCG(14, 15))
	for _, typ := range []DType{F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K} {
		const rows, cols = 64, 512 + 256
		m := randomMatrix(rng, typ, rows, cols)
		x := randomVec(rng, cols)
		acts := map[level]*Act{}
		for _, l := range levels() {
			acts[l] = new(Act)
			withLevel(l, func() { acts[l].Prepare(typ, x) })
		}
		direct := map[level][]float32{levelGeneric: make([]float32, rows)}
		for r := range rows {
			if typ.ActFormat() == ActQ8 {
				direct[levelGeneric][r] = qDots[typ](m.Row(r), &acts[levelGeneric].QAct)
			} else {
				direct[levelGeneric][r] = rowKernels[typ].dot(m.Row(r), x)
			}
		}
		if hostLevel >= levelAVX2 {
			direct[levelAVX2] = make([]float32, rows)
			if !m.dotRowsAVX2(m.Data, rows, acts[levelAVX2], direct[levelAVX2]) {
				t.Fatalf("%s: no AVX2 kernel", typ)
			}
		}
		// The float types have no AVX-512 row kernel (MatMul takes their
		// packed kernels there), so DotRows runs the AVX2 one.
		if hostLevel >= levelAVX512 && typ.BlockSize() != 1 {
			direct[levelAVX512] = make([]float32, rows)
			if !m.dotRowsAVX512(m.Data, rows, acts[levelAVX512], direct[levelAVX512]) {
				t.Fatalf("%s: no AVX-512 kernel", typ)
			}
		}
		for l1, r1 := range direct {
			for l2, r2 := range direct {
				if l1 < l2 && slices.Equal(r1, r2) {
					t.Fatalf("%s: the %v and %v kernels agree on every row; the test cannot tell them apart", typ, l1, l2)
				}
			}
		}
		if hostLevel >= levelAVX512 && typ.BlockSize() == 1 {
			direct[levelAVX512] = direct[levelAVX2]
		}
		for l, want := range direct {
			got := make([]float32, rows)
			withLevel(l, func() { m.DotRows(0, rows, acts[l], got) })
			if !slices.Equal(got, want) {
				t.Errorf("%s at level %v: DotRows does not reproduce that level's kernel", typ, l)
			}
		}
	}
}

func BenchmarkDotRows(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	const rows, cols = 256, 2048
	for _, typ := range []DType{F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K} {
		m := randomMatrix(rng, typ, rows, cols)
		x := randomVec(rng, cols)
		out := make([]float32, rows)
		for _, l := range levels() {
			b.Run(fmt.Sprintf("%s/%v", typ, l), func(b *testing.B) {
				withLevel(l, func() {
					var a Act
					b.SetBytes(int64(len(m.Data)))
					for b.Loop() {
						a.Prepare(typ, x)
						m.DotRows(0, rows, &a, out)
					}
				})
			})
		}
	}
}
