package tensor

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestMulTilesMatchFloat64 checks the matrix-matrix kernels against
// float64 products of the dequantized weights and the quantized
// activations they consume, with row counts that are not multiples of
// the panel (8) or tile (16) sizes, and a weight row range that starts
// inside the matrix.
func TestMulTilesMatchFloat64(t *testing.T) {
	if !HasGemm(Q8_0) {
		t.Skip("no matrix-matrix kernels on this machine")
	}
	rng := rand.New(rand.NewPCG(20, 21))
	// Small cache blocks, so slices of blocks and ranges of tiles both
	// take several passes (and panels are repacked).
	defer func(s, t int) { sliceBlocks, tileBytes = s, t }(sliceBlocks, tileBytes)
	sliceBlocks, tileBytes = 16, 16*tileBlock
	for _, typ := range []DType{Q8_0, Q4_0, Q4_K, Q6_K} {
		for _, cols := range colsFor(typ) {
			const wrows, arows, lo, hi = 29, 37, 3, 26
			m := randomMatrix(rng, typ, wrows, cols)
			xs := make([][]float32, arows)
			var tiles Tiles
			tiles.Reset(arows, cols)
			var q QAct
			outRows := make([]int, arows)
			for i := range xs {
				xs[i] = randomVec(rng, cols)
				for k := range xs[i] {
					xs[i][k] *= float32(math.Pow(4, float64((k+i)%5)))
				}
				tiles.SetRow(i, xs[i], &q)
				outRows[i] = arows - 1 - i // scattered output rows
			}
			const stride = wrows + 3
			out := make([]float32, arows*stride)
			for i := range out {
				out[i] = 42
			}
			var panel []byte
			m.MulTiles(lo, hi, &tiles, &panel, out, stride, outRows)
			w := make([]float32, cols)
			for j := 0; j < wrows; j++ {
				m.DequantRow(j, w)
				for i := range xs {
					got := out[outRows[i]*stride+j]
					if j < lo || j >= hi {
						if got != 42 {
							t.Fatalf("%s cols=%d: wrote weight row %d outside [%d, %d)", typ, cols, j, lo, hi)
						}
						continue
					}
					used, _ := activation(typ, xs[i])
					var ref, mag float64
					for k := range w {
						ref += float64(w[k]) * used[k]
						mag += math.Abs(float64(w[k]) * used[k])
					}
					bound := 4 * math.Log2(float64(cols)+2) * 0x1p-24 * mag
					if e := math.Abs(float64(got) - ref); !(e <= bound) {
						t.Errorf("%s cols=%d weight row %d act row %d: got %g, float64 %g (err %.3g > %.3g)", typ, cols, j, i, got, ref, e, bound)
					}
				}
			}
		}
	}
}

func BenchmarkMulTiles(b *testing.B) {
	if !HasGemm(Q8_0) {
		b.Skip("no matrix-matrix kernels on this machine")
	}
	rng := rand.New(rand.NewPCG(1, 1))
	const wrows, cols, arows = 256, 2048, 64
	for _, typ := range []DType{Q8_0, Q4_0, Q4_K, Q6_K} {
		m := randomMatrix(rng, typ, wrows, cols)
		var tiles Tiles
		tiles.Reset(arows, cols)
		var q QAct
		outRows := make([]int, arows)
		for i := range arows {
			tiles.SetRow(i, randomVec(rng, cols), &q)
			outRows[i] = i
		}
		out := make([]float32, arows*wrows)
		var panel []byte
		b.Run(fmt.Sprint(typ), func(b *testing.B) {
			b.SetBytes(int64(len(m.Data)))
			for b.Loop() {
				m.MulTiles(0, wrows, &tiles, &panel, out, wrows, outRows)
			}
			b.ReportMetric(2*float64(wrows*cols*arows)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// TestPackPanel: the assembly packers write the records the Go packer
// specifies, byte for byte, for full and partial panels.
func TestPackPanel(t *testing.T) {
	if !HasGemm(Q8_0) {
		t.Skip("no matrix-matrix kernels on this machine")
	}
	rng := rand.New(rand.NewPCG(22, 23))
	for _, typ := range []DType{Q8_0, Q4_0, Q4_K, Q6_K} {
		for _, cols := range colsFor(typ) {
			m := randomMatrix(rng, typ, 13, cols)
			size := cols / 32 * panelBlock
			for _, r := range [][2]int{{0, 8}, {8, 13}, {3, 4}} {
				want, got := make([]byte, size), make([]byte, size)
				for i := range got {
					got[i] = 0xa5 // stale panel contents must not survive
				}
				m.packPanelGeneric(r[0], r[1], want)
				m.packPanel(r[0], r[1], 0, cols/32, got)
				if !bytes.Equal(got, want) {
					i := 0
					for got[i] == want[i] {
						i++
					}
					t.Fatalf("%s cols=%d rows %v: packed panels differ first at byte %d (block %d, row %d, record byte %d)",
						typ, cols, r, i, i/panelBlock, i%panelBlock/recordSize, i%recordSize)
				}
			}
		}
	}
}
