package tensor

// Matrix-matrix products for the float types, arranged like the integer
// ones (gemm.go): 16 activation rows are transposed so that one 512-bit
// register holds element i of all 16, and 8 weight rows are decoded to
// float32 and interleaved so that their element i are adjacent; one
// VFMADD231PS with the weight broadcast from memory then does 16 of the
// 128 multiply-adds of a (weight row, activation row) tile per element.
//
//   - FTiles: per tile of 16 rows, cols × 16 float32 (element-major).
//   - Panel: per slice of the row, element-major [i][8] float32.

// FTiles holds activation rows packed for the float matrix-matrix kernel.
type FTiles struct {
	Rows, Cols int
	buf        []float32
}

// HasGemmF reports whether MulFTiles has a kernel for t on this machine.
func HasGemmF(t DType) bool {
	return simd >= levelAVX512 && (t == F32 || t == F16 || t == BF16)
}

// Reset sizes t for rows activation rows of cols elements, reusing its
// buffer; rows past the last one set stay zero.
func (t *FTiles) Reset(rows, cols int) {
	t.Rows, t.Cols = rows, cols
	t.buf = grow(t.buf, (rows+tileRows-1)/tileRows*cols*tileRows)
	clear(t.buf)
}

// SetRow stores x as row i.
func (t *FTiles) SetRow(i int, x []float32) {
	tile := t.buf[i/tileRows*t.Cols*tileRows:]
	c := i % tileRows
	for k, v := range x[:t.Cols] {
		tile[k*tileRows+c] = v
	}
}

// fSliceCols is the length of the row slices MulFTiles works in: a panel
// slice (8 rows) is 16 KB, a tile slice 32 KB.
var fSliceCols = 512

// MulFTiles computes, for the weight rows j in [lo, hi) and the activation
// rows i of a, out[outRows[i]*outStride + j] = row j · activation i.
// panel and row are per-caller scratch (grown as needed).
func (m *Matrix) MulFTiles(lo, hi int, a *FTiles, panel, row *[]float32, out []float32, outStride int, outRows []int) {
	cols := m.Cols
	kc := min(cols, fSliceCols)
	*panel = grow(*panel, (kc+15)/16*16*panelRows) // the packers write whole 16-element groups
	*row = grow(*row, kc)
	p, wrow := *panel, *row
	ntiles := (a.Rows + tileRows - 1) / tileRows
	tc := max(1, tileBytes/(kc*tileRows*4))
	var res [panelRows * tileRows]float32
	for k0 := 0; k0 < cols; k0 += kc {
		k1 := min(cols, k0+kc)
		for t0 := 0; t0 < ntiles; t0 += tc {
			t1 := min(ntiles, t0+tc)
			for j0 := lo; j0 < hi; j0 += panelRows {
				j1 := min(hi, j0+panelRows)
				m.packPanelF(j0, j1, k0, k1, p, wrow)
				for t := t0; t < t1; t++ {
					gemmF32AVX512(&p[0], &a.buf[(t*cols+k0)*tileRows], k1-k0, &res[0])
					for c := 0; c < tileRows && t*tileRows+c < a.Rows; c++ {
						o := out[outRows[t*tileRows+c]*outStride+j0 : outRows[t*tileRows+c]*outStride+j1]
						if r := res[c*panelRows : c*panelRows+len(o)]; k0 == 0 {
							copy(o, r)
						} else {
							for i, v := range r {
								o[i] += v
							}
						}
					}
				}
			}
		}
	}
}

// packPanelF decodes elements [k0, k1) of weight rows [lo, hi) (at most
// panelRows; missing rows are zero) into the panel layout [k][8].
func (m *Matrix) packPanelF(lo, hi, k0, k1 int, p, wrow []float32) {
	esz := m.Type.BlockBytes()
	if hi-lo == panelRows {
		w := &m.Data[lo*m.RowBytes+k0*esz]
		switch m.Type {
		case F32:
			packF32(w, m.RowBytes, k1-k0, &p[0])
		case F16:
			packF16(w, m.RowBytes, k1-k0, &p[0])
		case BF16:
			packBF16(w, m.RowBytes, k1-k0, &p[0])
		}
		return
	}
	clear(p)
	for r := lo; r < hi; r++ {
		DequantizeRow(m.Type, m.Row(r)[k0*esz:k1*esz], wrow[:k1-k0])
		for k, v := range wrow[:k1-k0] {
			p[k*panelRows+r-lo] = v
		}
	}
}
