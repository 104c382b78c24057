package tensor

import (
	"encoding/binary"
	"math"
)

// Matrix-matrix products for the integer types (prefill and batches).
//
// The row kernels of dotq_amd64.s spend a float conversion and a scale
// multiply on every 32-element block of every (weight row, activation
// row) pair. Here a block of 16 activation rows is transposed so that one
// 512-bit register holds the same 4 elements of all 16 rows; VPDPBUSD
// with the weights' 4 bytes broadcast then adds one block's products for
// 16 rows at once, and only after 8 of them (32 elements) does the block
// sum go through the float scaling, once per 16 rows. A weight row is
// thus read as 32-bit broadcasts straight from a small repacked panel:
//
//   - Tiles: activations, 16 rows per tile; per 32-element block, 8 × 64
//     bytes (step k holds elements 4k..4k+3 of rows 0..15, biased by +128
//     to make them unsigned), then dx[16] and m[16] (float32).
//   - Panel: 8 weight rows; per block and row a 48-byte record: the 32
//     weights as signed int8, two float32 scales and two int32 offsets
//     (see panelRecord).
//
// The +128 bias of the activations adds 128·Σw to each integer block sum;
// the record's offset -128·Σw cancels it by being the accumulator's
// starting value.

const (
	tileRows   = 16
	panelRows  = 8
	tileBlock  = 640 // bytes per block of a tile
	panelBlock = panelRows * recordSize
	recordSize = 48
)

// Tiles holds activation rows packed for the matrix-matrix kernels.
type Tiles struct {
	Rows, Cols int
	buf        []byte
}

// HasGemm reports whether MulTiles has a kernel for t on this machine.
func HasGemm(t DType) bool {
	return simd >= levelAVX512 && t.ActFormat() == ActQ8
}

// Reset sizes t for rows activation rows of cols elements (a multiple of
// 32), reusing its buffer. Rows past the last one set stay zero.
func (t *Tiles) Reset(rows, cols int) {
	t.Rows, t.Cols = rows, cols
	n := (rows + tileRows - 1) / tileRows * (cols / 32) * tileBlock
	t.buf = grow(t.buf, n)
	clear(t.buf)
}

// SetRow quantizes x into row i (q is scratch for the row's QAct).
func (t *Tiles) SetRow(i int, x []float32, q *QAct) {
	q.quantize(x[:t.Cols])
	nb := t.Cols / 32
	tile := t.buf[i/tileRows*nb*tileBlock:]
	c := i % tileRows
	for b := 0; b < nb; b++ {
		blk := tile[b*tileBlock : (b+1)*tileBlock]
		src := q.Q[32*b : 32*b+32]
		for k := 0; k < 8; k++ {
			d := blk[64*k+4*c : 64*k+4*c+4]
			for j := range 4 {
				d[j] = byte(src[4*k+j]) ^ 0x80
			}
		}
		binary.LittleEndian.PutUint32(blk[512+4*c:], math.Float32bits(q.D[b]))
		binary.LittleEndian.PutUint32(blk[576+4*c:], math.Float32bits(q.M[b]))
	}
}

// A panel record for one 32-element block of one weight row:
//
//	[0:32]  weights w as int8
//	[32:36] D0: the scale of w (Q6_K: of its first 16)
//	[36:40] D1: Q4_K the minimum M, Q6_K the scale of the last 16
//	[40:44] I0: -128·Σw (Q6_K: over the first 16)
//	[44:48] I1: Q6_K -128·Σw over the last 16
//
// so the block's dot with an activation block (dx, q) is
// dx·D0·Σw·q - M·dx·Σq, or for Q6_K the two halves' D·dx·Σw·q.
type panelRecord [recordSize]byte

func (p *panelRecord) set(w *[32]int8, d0, d1 float32, split bool) {
	var s0, s1 int32
	for i, v := range w {
		p[i] = byte(v)
		if i < 16 || !split {
			s0 += int32(v)
		} else {
			s1 += int32(v)
		}
	}
	binary.LittleEndian.PutUint32(p[32:], math.Float32bits(d0))
	binary.LittleEndian.PutUint32(p[36:], math.Float32bits(d1))
	binary.LittleEndian.PutUint32(p[40:], uint32(-128*s0))
	binary.LittleEndian.PutUint32(p[44:], uint32(-128*s1))
}

// packPanel repacks blocks [b0, b1) of weight rows [lo, hi) (at most
// panelRows) into panel records; rows past hi are zero. For the K-quants
// b0 and b1 are multiples of 8 (whole super-blocks).
func (m *Matrix) packPanel(lo, hi, b0, b1 int, panel []byte) {
	nb := b1 - b0
	if hi-lo < panelRows {
		clear(panel[:nb*panelBlock])
	}
	for r := lo; r < hi; r++ {
		row, rec := m.Row(r), &panel[(r-lo)*recordSize]
		switch m.Type {
		case Q8_0:
			packQ8_0(&row[34*b0], nb, rec)
		case Q4_0:
			packQ4_0(&row[18*b0], nb, rec)
		case Q4_K:
			packQ4_K(&row[144*b0/8], nb/8, rec)
		case Q6_K:
			packQ6_K(&row[210*b0/8], nb/8, rec)
		default:
			panic("tensor: packPanel: no integer kernel for " + m.Type.String())
		}
	}
}

// packPanelGeneric is packPanel in Go: the specification the assembly
// packers are tested against.
func (m *Matrix) packPanelGeneric(lo, hi int, panel []byte) {
	nb := m.Cols / 32
	clear(panel[:nb*panelBlock])
	var w [32]int8
	for r := lo; r < hi; r++ {
		row := m.Row(r)
		rec := func(b int) *panelRecord {
			return (*panelRecord)(panel[(b*panelRows+r-lo)*recordSize:])
		}
		switch m.Type {
		case Q8_0:
			for b := 0; b < nb; b++ {
				blk := row[34*b : 34*b+34]
				for i := range w {
					w[i] = int8(blk[2+i])
				}
				rec(b).set(&w, f16le(blk), 0, false)
			}
		case Q4_0:
			for b := 0; b < nb; b++ {
				blk := row[18*b : 18*b+18]
				for i := 0; i < 16; i++ {
					w[i] = int8(blk[2+i]&15) - 8
					w[i+16] = int8(blk[2+i]>>4) - 8
				}
				rec(b).set(&w, f16le(blk), 0, false)
			}
		case Q4_K:
			for sb := 0; sb < nb/8; sb++ {
				blk := row[144*sb : 144*sb+144]
				d, dmin := f16le(blk[0:2]), f16le(blk[2:4])
				sc, mn := kScaleMin((*[12]byte)(blk[4:]))
				for g := 0; g < 4; g++ {
					q := blk[16+32*g : 48+32*g]
					for i, v := range q {
						w[i] = int8(v & 15)
					}
					rec(8*sb+2*g).set(&w, d*sc[2*g], dmin*mn[2*g], false)
					for i, v := range q {
						w[i] = int8(v >> 4)
					}
					rec(8*sb+2*g+1).set(&w, d*sc[2*g+1], dmin*mn[2*g+1], false)
				}
			}
		case Q6_K:
			for sb := 0; sb < nb/8; sb++ {
				blk := row[210*sb : 210*sb+210]
				d := f16le(blk[208:210])
				var n [256]int8
				for h := 0; h < 2; h++ {
					ql, qh := blk[64*h:64*h+64], blk[128+32*h:160+32*h]
					e := n[128*h : 128*h+128]
					for l := 0; l < 32; l++ {
						e[l] = int8(ql[l]&15|(qh[l]&3)<<4) - 32
						e[l+32] = int8(ql[l+32]&15|(qh[l]>>2&3)<<4) - 32
						e[l+64] = int8(ql[l]>>4|(qh[l]>>4&3)<<4) - 32
						e[l+96] = int8(ql[l+32]>>4|(qh[l]>>6)<<4) - 32
					}
				}
				for j := 0; j < 8; j++ {
					copy(w[:], n[32*j:32*j+32])
					s0, s1 := float32(int8(blk[192+2*j])), float32(int8(blk[193+2*j]))
					rec(8*sb+j).set(&w, d*s0, d*s1, true)
				}
			}
		default:
			panic("tensor: packPanel: no integer kernel for " + m.Type.String())
		}
	}
}

// Cache blocking of MulTiles: the activations are taken in slices of
// sliceBlocks blocks (2048 elements) and as many tiles as fit in about
// tileBytes, so the tiles stay in L2 and a weight panel (24 KB per slice)
// in L1 while each is reused; a panel is repacked once per tile range.
// (variables so the tests can make them small enough to exercise).
var (
	sliceBlocks = 64
	tileBytes   = 1 << 20
)

// MulTiles computes, for the weight rows j in [lo, hi) and the activation
// rows i of a, out[outRows[i]*outStride + j] = row j · activation i.
// panel is per-caller scratch (grown as needed).
func (m *Matrix) MulTiles(lo, hi int, a *Tiles, panel *[]byte, out []float32, outStride int, outRows []int) {
	nb := m.Cols / 32
	kc := min(nb, sliceBlocks)
	*panel = grow(*panel, kc*panelBlock)
	p := *panel
	ntiles := (a.Rows + tileRows - 1) / tileRows
	tc := max(1, tileBytes/(kc*tileBlock))
	var res [panelRows * tileRows]float32
	for b0 := 0; b0 < nb; b0 += kc {
		b1 := min(nb, b0+kc)
		for t0 := 0; t0 < ntiles; t0 += tc {
			t1 := min(ntiles, t0+tc)
			for j0 := lo; j0 < hi; j0 += panelRows {
				j1 := min(hi, j0+panelRows)
				m.packPanel(j0, j1, b0, b1, p)
				for t := t0; t < t1; t++ {
					// Direct calls (not a func value), so res stays on
					// the stack: the kernels are declared noescape.
					switch tile := &a.buf[(t*nb+b0)*tileBlock]; m.Type {
					case Q4_K:
						gemmQ8MinAVX512(&p[0], tile, b1-b0, &res[0])
					case Q6_K:
						gemmQ6AVX512(&p[0], tile, b1-b0, &res[0])
					default:
						gemmQ8AVX512(&p[0], tile, b1-b0, &res[0])
					}
					for c := 0; c < tileRows && t*tileRows+c < a.Rows; c++ {
						o := out[outRows[t*tileRows+c]*outStride+j0 : outRows[t*tileRows+c]*outStride+j1]
						if r := res[c*panelRows : c*panelRows+len(o)]; b0 == 0 {
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
