package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestMulPacked checks the packed kernels against float64 products for
// every type and k, with row counts that leave partial tiles and groups,
// odd lengths (a zero-padded last pair), activation rows padded apart and
// tile ranges that start and stop inside the matrix; outputs past the
// range must stay untouched.
func TestMulPacked(t *testing.T) {
	if !HasPacked(F32) {
		t.Skip("no packed kernels on this machine (needs AVX-512)")
	}
	rng := rand.New(rand.NewPCG(41, 42))
	for _, typ := range []DType{F32, F16, BF16} {
		for _, shape := range [][2]int{{1, 1}, {5, 7}, {16, 16}, {33, 64}, {64, 255}, {75, 257}, {100, 1000}} {
			rows, cols := shape[0], shape[1]
			m := randomMatrix(rng, typ, rows, cols)
			pc := m.PackedCols()
			xstride := pc + 3
			x := randomVec(rng, MaxPackedK*xstride)
			for c := 0; c < MaxPackedK; c++ {
				clear(x[c*xstride+cols : (c+1)*xstride]) // the padding element must be zero or finite
			}
			want := make([][]float64, MaxPackedK)
			mags := make([][]float64, MaxPackedK)
			w := make([]float32, cols)
			for c := range want {
				want[c], mags[c] = make([]float64, rows), make([]float64, rows)
				for r := 0; r < rows; r++ {
					m.DequantRow(r, w)
					for i, v := range w {
						p := float64(v) * float64(x[c*xstride+i])
						want[c][r] += p
						mags[c][r] += math.Abs(p)
					}
				}
			}
			name := fmt.Sprintf("%s %dx%d", typ, rows, cols)
			forTileRanges(t, name, m.PackedTiles(), rows, rows+5, func(lo, hi, k int, out []float32) {
				m.MulPacked(lo, hi, x, xstride, k, out, rows+5)
			}, func(k, c, r int, got float32) {
				bound := 2 * float64(cols) * 0x1p-24 * mags[c][r]
				if e := math.Abs(float64(got) - want[c][r]); !(e <= bound) {
					t.Fatalf("%s k=%d: act %d row %d = %g, want %g (bound %g)", name, k, c, r, got, want[c][r], bound)
				}
			})
		}
	}
}

// forTileRanges runs mul for every k and for tile ranges that start and
// stop inside the matrix, on outputs ostride apart set to 42 beforehand:
// outputs outside the range and the k rows must keep 42, and check sees
// the others.
func forTileRanges(t *testing.T, name string, tiles, rows, ostride int, mul func(lo, hi, k int, out []float32), check func(k, c, r int, got float32)) {
	t.Helper()
	for k := 1; k <= MaxPackedK; k++ {
		for _, rg := range [][2]int{{0, tiles}, {tiles / 2, tiles}, {0, (tiles + 1) / 2}} {
			lo, hi := rg[0], rg[1]
			if hi <= lo {
				continue
			}
			out := make([]float32, MaxPackedK*ostride)
			for i := range out {
				out[i] = 42
			}
			mul(lo, hi, k, out)
			r0, r1 := lo*PackTileRows, min(hi*PackTileRows, rows)
			for c := 0; c < MaxPackedK; c++ {
				for r := 0; r < ostride; r++ {
					got := out[c*ostride+r]
					if c >= k || r < r0 || r >= r1 {
						if got != 42 {
							t.Fatalf("%s k=%d tiles [%d,%d): wrote act %d row %d", name, k, lo, hi, c, r)
						}
						continue
					}
					check(k, c, r, got)
				}
			}
		}
	}
}

// TestMulPackedBatchInvariant: an output has the same bits whatever the
// number of activation rows computed with it and whatever its position
// among them.
func TestMulPackedBatchInvariant(t *testing.T) {
	if !HasPacked(F32) {
		t.Skip("no packed kernels on this machine (needs AVX-512)")
	}
	rng := rand.New(rand.NewPCG(43, 44))
	for _, typ := range []DType{F32, F16, BF16} {
		const rows, cols = 70, 333
		m := randomMatrix(rng, typ, rows, cols)
		pc := m.PackedCols()
		x := randomVec(rng, MaxPackedK*pc)
		for c := 0; c < MaxPackedK; c++ {
			x[c*pc+cols] = 0
		}
		single := make([]float32, MaxPackedK*rows)
		for c := 0; c < MaxPackedK; c++ {
			m.MulPacked(0, m.PackedTiles(), x[c*pc:], pc, 1, single[c*rows:], rows)
		}
		for k := 2; k <= MaxPackedK; k++ {
			for c0 := 0; c0+k <= MaxPackedK; c0 += 3 {
				out := make([]float32, k*rows)
				for tl := 0; tl < m.PackedTiles(); tl++ { // one tile at a time
					m.MulPacked(tl, tl+1, x[c0*pc:], pc, k, out, rows)
				}
				for c := 0; c < k; c++ {
					for r := 0; r < rows; r++ {
						if a, b := out[c*rows+r], single[(c0+c)*rows+r]; math.Float32bits(a) != math.Float32bits(b) {
							t.Fatalf("%s k=%d: act %d row %d is %g in a batch, %g alone", typ, k, c0+c, r, a, b)
						}
					}
				}
			}
		}
	}
}

func BenchmarkMulPacked(b *testing.B) {
	if !HasPacked(F32) {
		b.Skip("no packed kernels on this machine")
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for _, typ := range []DType{BF16, F16, F32} {
		for _, sh := range [][2]int{{768, 256}, {256, 768}, {4096, 256}} {
			m := randomMatrix(rng, typ, sh[0], sh[1])
			m.Pack()
			x := randomVec(rng, MaxPackedK*sh[1])
			out := make([]float32, MaxPackedK*sh[0])
			for _, k := range []int{1, 2, 5, 8} {
				b.Run(fmt.Sprintf("%s/%dx%d/k=%d", typ, sh[0], sh[1], k), func(b *testing.B) {
					for b.Loop() {
						m.MulPacked(0, m.PackedTiles(), x, sh[1], k, out, sh[0])
					}
					b.ReportMetric(float64(sh[0]*sh[1]*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
				})
			}
		}
	}
}

// TestMulPackedQ8 checks the packed Q8_0 kernels against float64 products
// of the dequantized weights and the quantized activations, for every k,
// partial tiles and groups, and tile ranges inside the matrix; outputs
// outside the range stay untouched, and every output has the bits it has
// when computed alone.
func TestMulPackedQ8(t *testing.T) {
	if !HasPacked(Q8_0) {
		t.Skip("no packed kernels on this machine (needs AVX-512)")
	}
	rng := rand.New(rand.NewPCG(45, 46))
	for _, c := range []struct {
		typ  DType
		rows int
		cols int
	}{{Q8_0, 1, 32}, {Q8_0, 5, 64}, {Q8_0, 16, 96}, {Q8_0, 17, 256}, {Q8_0, 33, 512}, {Q8_0, 75, 768},
		{Q4_0, 1, 32}, {Q4_0, 17, 96}, {Q4_0, 75, 768}} {
		rows, cols := c.rows, c.cols
		m := randomMatrix(rng, c.typ, rows, cols)
		m.PackQ4()
		nb := cols / 32
		xstride := nb*Q8RecordBytes + 8
		x := make([]byte, MaxPackedK*xstride)
		want := make([][]float64, MaxPackedK)
		mags := make([][]float64, MaxPackedK)
		w := make([]float32, cols)
		var q QAct
		for c := 0; c < MaxPackedK; c++ {
			xf := randomVec(rng, cols)
			PrepareQ8Record(xf, x[c*xstride:], &q)
			want[c], mags[c] = make([]float64, rows), make([]float64, rows)
			for r := 0; r < rows; r++ {
				m.DequantRow(r, w)
				for i, v := range w {
					p := float64(v) * float64(q.D[i/32]) * float64(q.Q[i])
					want[c][r] += p
					mags[c][r] += math.Abs(p)
				}
			}
		}
		tiles := m.PackedTiles()
		ostride := rows + 5
		single := make([]float32, MaxPackedK*ostride)
		for c := 0; c < MaxPackedK; c++ {
			m.MulPackedQ8(0, tiles, x[c*xstride:], xstride, 1, single[c*ostride:], ostride)
		}
		name := fmt.Sprintf("%s %dx%d", m.Type, rows, cols)
		forTileRanges(t, name, tiles, rows, ostride, func(lo, hi, k int, out []float32) {
			m.MulPackedQ8(lo, hi, x, xstride, k, out, ostride)
		}, func(k, c, r int, got float32) {
			bound := 4 * float64(nb) * 0x1p-24 * mags[c][r]
			if e := math.Abs(float64(got) - want[c][r]); !(e <= bound) {
				t.Fatalf("%s k=%d: act %d row %d = %g, want %g (bound %g)", name, k, c, r, got, want[c][r], bound)
			}
			if s := single[c*ostride+r]; math.Float32bits(s) != math.Float32bits(got) {
				t.Fatalf("%s k=%d: act %d row %d is %g among %d rows, %g alone", name, k, c, r, got, k, s)
			}
		})
	}
}

func BenchmarkMulPackedQ8(b *testing.B) {
	if !HasPacked(Q8_0) {
		b.Skip("no packed kernels on this machine")
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for _, sh := range [][2]int{{768, 256}, {256, 768}, {4096, 256}} {
		m := randomMatrix(rng, Q8_0, sh[0], sh[1])
		m.Pack()
		rec := sh[1] / 32 * Q8RecordBytes
		x := make([]byte, MaxPackedK*rec)
		var q QAct
		for c := 0; c < MaxPackedK; c++ {
			PrepareQ8Record(randomVec(rng, sh[1]), x[c*rec:], &q)
		}
		out := make([]float32, MaxPackedK*sh[0])
		for _, k := range []int{1, 2, 5, 8} {
			b.Run(fmt.Sprintf("%dx%d/k=%d", sh[0], sh[1], k), func(b *testing.B) {
				for b.Loop() {
					m.MulPackedQ8(0, m.PackedTiles(), x, rec, k, out, sh[0])
				}
				b.ReportMetric(float64(sh[0]*sh[1]*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
			})
		}
	}
}

// TestMulPanelF32: a panel built element by element with PanelIndex gives
// the products of the rows it holds, for row counts with partial tiles.
func TestMulPanelF32(t *testing.T) {
	if !HasPacked(F32) {
		t.Skip("no packed kernels on this machine (needs AVX-512)")
	}
	rng := rand.New(rand.NewPCG(47, 48))
	for _, rows := range []int{1, 15, 16, 17, 32, 33, 70} {
		const cols = 32
		w := randomVec(rng, rows*cols)
		panel := make([]float32, PanelLen(rows, cols))
		for r := 0; r < rows; r++ {
			for c := 0; c < cols; c++ {
				panel[PanelIndex(r, c, cols)] = w[r*cols+c]
			}
		}
		for k := 1; k <= MaxPackedK; k++ {
			x := randomVec(rng, k*cols)
			out := make([]float32, k*(rows+1))
			for i := range out {
				out[i] = 42
			}
			MulPanelF32(panel, rows, cols, x, cols, k, out, rows+1)
			for c := 0; c < k; c++ {
				if out[c*(rows+1)+rows] != 42 {
					t.Fatalf("rows=%d k=%d: wrote past row %d", rows, k, rows)
				}
				for r := 0; r < rows; r++ {
					var want float32
					for i := 0; i < cols; i++ {
						want = float32(math.FMA(float64(w[r*cols+i]), float64(x[c*cols+i]), float64(want)))
					}
					if got := out[c*(rows+1)+r]; math.Abs(float64(got-want)) > 1e-5*(1+math.Abs(float64(want))) {
						t.Fatalf("rows=%d k=%d: act %d row %d = %g, want %g", rows, k, c, r, got, want)
					}
				}
			}
		}
	}
}
