package tensor

import (
	"fmt"
	"runtime"
	"sync"
	"unsafe"
)

// The float types (F32, F16, BF16) have a second, packed copy of their
// weights for the AVX-512 kernels, built once when the model loads. Rows
// are taken in groups of 16, one row per 512-bit lane, and each group
// stores its elements pair by pair:
//
//   - BF16: per pair p, 16 dwords: row j's elements 2p (low half) and 2p+1
//     (high half); 64 bytes.
//   - F16: per pair, the 16 rows' element 2p, then their element 2p+1; 64 bytes.
//   - F32: the same in float32; 128 bytes.
//
// Groups are padded with zero rows to whole tiles of two, and rows with a
// zero element to whole pairs. The kernel keeps one accumulator per
// (group, activation row) and adds element 0, 1, 2, ... into it with
// FMAs, so every output is the same sequential dot product whether it is
// computed for one activation row or among eight, in any tile split:
// products are batch-invariant at every batch size, which lossless
// drafting's verify pass relies on (it must reproduce single-row decoding
// bit for bit). Without horizontal sums or a result scatter, a short batch
// (the k+1 rows of a verify pass) costs little more than one row.

const (
	packGroupRows = 16
	// PackTileRows is the number of weight rows MulPacked takes per tile.
	PackTileRows = 2 * packGroupRows
	// MaxPackedK is the most activation rows one MulPacked call takes.
	MaxPackedK = 8
)

type packedKernel func(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)

// packedPanel is a matrix in the packed layout.
type packedPanel struct {
	data    []byte
	gstride int // bytes of one group
	pairs   int // element pairs (float types) or 32-element blocks (Q8_0) per row
	tiles   int
	mapped  bool // data is mapped outside the Go heap (Free unmaps it)
}

func packable(t DType) bool { return t == F32 || t == F16 || t == BF16 || t == Q8_0 }

// HasPacked reports whether t has packed kernels on this machine:
// MulPacked for the float types, MulPackedQ8 for Q8_0.
func HasPacked(t DType) bool { return simd >= levelAVX512 && packable(t) }

// pairBytes is the size of one pair of one group in the packed layout.
func pairBytes(t DType) int {
	if t == F32 {
		return 128
	}
	return 64
}

// PackedTiles is the number of 32-row tiles MulPacked splits m into.
func (m *Matrix) PackedTiles() int {
	return (m.Rows + PackTileRows - 1) / PackTileRows
}

// PackedCols is the row length MulPacked's activation rows must have: Cols
// rounded up to even, the extra element zero.
func (m *Matrix) PackedCols() int { return (m.Cols + 1) &^ 1 }

// Pack builds the packed copy of a float or Q8_0 matrix on a machine
// whose kernels use it (a no-op otherwise, or when it exists). It is safe
// to call from several goroutines; model loading packs every matrix up
// front, and the multiplications pack on first use otherwise.
func (m *Matrix) Pack() {
	if !packable(m.Type) || hostLevel < levelAVX512 {
		return
	}
	m.packOnce.Do(func() {
		if m.Type == Q8_0 {
			m.packed = packQ8(m)
		} else {
			m.packed = pack(m)
		}
	})
}

// Packed reports whether m has its packed copy (after Pack, on a machine
// whose kernels use it); the multiplications then no longer read Data.
func (m *Matrix) Packed() bool { return m.packed != nil }

// KernelBytes is the memory a product with m reads: the packed copy when
// there is one, else Data.
func (m *Matrix) KernelBytes() []byte {
	if simd >= levelAVX512 && m.packed != nil {
		return m.packed.data
	}
	return m.Data
}

func pack(m *Matrix) *packedPanel {
	return newPanel(m, (m.Cols+1)/2, pairBytes(m.Type), func(p *packedPanel, g int) { packGroup(m, p, g) })
}

// newPanel allocates m's packed copy, steps pairs or blocks of stepBytes
// per group, and has fill write each group g of it, split across the CPUs:
// packing reorders the whole matrix (2.5 GB for a 1B-parameter bf16
// model), and groups are independent.
func newPanel(m *Matrix, steps, stepBytes int, fill func(p *packedPanel, g int)) *packedPanel {
	p := &packedPanel{pairs: steps, tiles: m.PackedTiles(), gstride: steps * stepBytes}
	groups := 2 * p.tiles
	p.data, p.mapped = allocWeights(groups * p.gstride)
	workers := min(runtime.GOMAXPROCS(0), groups)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for g := w; g < groups; g += workers {
				fill(p, g)
			}
		}(w)
	}
	wg.Wait()
	return p
}

// packGroup writes group g (rows 16g..16g+15) of m into p.
func packGroup(m *Matrix, p *packedPanel, g int) {
	dst := p.data[g*p.gstride : (g+1)*p.gstride]
	esz := m.Type.BlockBytes() // bytes per element of the float types
	for j := 0; j < packGroupRows; j++ {
		r := g*packGroupRows + j
		if r >= m.Rows {
			return // padding rows stay zero
		}
		src := m.Row(r)
		switch m.Type {
		case BF16:
			for i := 0; i+1 < m.Cols; i += 2 {
				copy(dst[(i/2)*64+4*j:][:4], src[2*i:2*i+4])
			}
			if m.Cols%2 == 1 {
				copy(dst[(m.Cols/2)*64+4*j:][:2], src[2*(m.Cols-1):])
			}
		default: // F16, F32: element 2p at lane j, element 2p+1 one vector later
			for i := 0; i < m.Cols; i++ {
				off := (i/2)*2*packGroupRows*esz + (i%2)*packGroupRows*esz + j*esz
				copy(dst[off:off+esz], src[i*esz:(i+1)*esz])
			}
		}
	}
}

// MulPacked computes, for the tiles t in [lo, hi) and activation rows c < k,
// out[c*ostride + r] = row r · x[c*xstride : c*xstride+PackedCols()] for
// the weight rows r of those tiles (32 per tile; the last tile stops at
// Rows). Activation rows must hold PackedCols elements (for an odd Cols
// the last one must be zero or finite: it meets zero weights).
func (m *Matrix) MulPacked(lo, hi int, x []float32, xstride, k int, out []float32, ostride int) {
	if hi <= lo {
		return
	}
	if !HasPacked(m.Type) || m.Type == Q8_0 {
		panic(fmt.Sprintf("tensor: MulPacked on %s at kernel level %v", m.Type, simd))
	}
	m.Pack()
	p := m.packed
	lastRow := m.checkPacked("MulPacked", lo, hi, len(x), xstride, m.PackedCols(), k, len(out), ostride)
	mask := -1
	if valid := lastRow - (hi-1)*PackTileRows; valid < PackTileRows {
		mask = 1<<valid - 1
	}
	kernel := packedKernels[packedIndex(m.Type)][k]
	kernel(&p.data[2*lo*p.gstride], p.gstride, p.pairs, &x[0], 4*xstride, &out[lo*PackTileRows], 4*ostride, hi-lo, mask)
}

// checkPacked validates a packed product of tiles [lo, hi) with k
// activation rows of need elements (or bytes) xstride apart in x (xlen)
// and outputs ostride apart in out (outlen), and returns one past the last
// output row.
func (m *Matrix) checkPacked(op string, lo, hi, xlen, xstride, need, k, outlen, ostride int) int {
	lastRow := min(hi*PackTileRows, m.Rows)
	switch {
	case m.packed == nil:
		panic(fmt.Sprintf("tensor: %s on %q after Free (its model was closed)", op, m.Name))
	case lo < 0 || hi > m.packed.tiles || k < 1 || k > MaxPackedK:
		panic(fmt.Sprintf("tensor: %s tiles [%d, %d) of %d, k=%d", op, lo, hi, m.packed.tiles, k))
	case xstride < need || xlen < (k-1)*xstride+need:
		panic(fmt.Sprintf("tensor: %s: %d activations for %d rows of %d (stride %d)", op, xlen, k, need, xstride))
	case ostride < lastRow-lo*PackTileRows || outlen < (k-1)*ostride+lastRow:
		panic(fmt.Sprintf("tensor: %s: output of %d for %d rows up to %d (stride %d)", op, outlen, k, lastRow, ostride))
	}
	return lastRow
}

func packedIndex(t DType) int {
	switch t {
	case F32:
		return 0
	case F16:
		return 1
	}
	return 2
}

// PanelIndex is where element (r, c) of a rows × cols float32 matrix sits
// in the packed F32 layout MulPanelF32 reads: rows in blocks of 16, each
// block stored column by column ([c][16]), blocks in order. (For an even
// cols this is exactly the F32 layout of Pack: a pair's two elements are
// consecutive 16-float vectors.) A panel holds whole tiles of 32 rows.
func PanelIndex(r, c, cols int) int {
	return (r/packGroupRows)*cols*packGroupRows + c*packGroupRows + r%packGroupRows
}

// PanelLen is the float32 length of a panel of rows × cols (whole tiles).
func PanelLen(rows, cols int) int {
	return (rows + PackTileRows - 1) / PackTileRows * PackTileRows * cols
}

// MulPanelF32 is MulPacked for a float32 panel built with PanelIndex (cols
// even; padding rows finite, zero for a fresh panel): out[c*ostride + r] =
// row r · x[c*xstride : c*xstride+cols] for r < rows and c < k. The keys of
// an attention head are kept so (model.Cache), which makes a query's
// scores against 16 keys one FMA per dimension, in sequential order.
func MulPanelF32(panel []float32, rows, cols int, x []float32, xstride, k int, out []float32, ostride int) {
	if rows <= 0 {
		return
	}
	tiles := (rows + PackTileRows - 1) / PackTileRows
	switch {
	case simd < levelAVX512:
		panic(fmt.Sprintf("tensor: MulPanelF32 at kernel level %v", simd))
	case cols <= 0 || cols%2 != 0 || len(panel) < PanelLen(rows, cols):
		panic(fmt.Sprintf("tensor: MulPanelF32: panel of %d for %d×%d", len(panel), rows, cols))
	case k < 1 || k > MaxPackedK || xstride < cols || len(x) < (k-1)*xstride+cols:
		panic(fmt.Sprintf("tensor: MulPanelF32: %d activations for %d rows of %d (stride %d)", len(x), k, cols, xstride))
	case ostride < rows || len(out) < (k-1)*ostride+rows:
		panic(fmt.Sprintf("tensor: MulPanelF32: output of %d for %d rows of %d (stride %d)", len(out), k, rows, ostride))
	}
	mask := -1
	if valid := rows - (tiles-1)*PackTileRows; valid < PackTileRows {
		mask = 1<<valid - 1
	}
	gstride := cols * packGroupRows * 4
	w := (*byte)(unsafe.Pointer(&panel[0]))
	packedKernels[packedIndex(F32)][k](w, gstride, cols/2, &x[0], 4*xstride, &out[0], 4*ostride, tiles, mask)
}

// Free releases the packed copy (mapped outside the Go heap) and, for a
// matrix made with NewWeightMatrix, its rows. m must not be used after.
func (m *Matrix) Free() {
	if m.packed != nil && m.packed.mapped {
		freeWeights(m.packed.data)
	}
	m.packed = nil
	if m.ownMapped {
		freeWeights(m.Data)
	}
	m.Data, m.ownMapped = nil, false
}

// NewWeightMatrix is NewMatrix for rows the caller fills: the bytes are
// allocated outside the Go heap (as packed copies are) and freed by Free.
// It returns the matrix and its Data.
func NewWeightMatrix(name string, t DType, rows, cols int) (*Matrix, error) {
	rb, err := t.RowBytes(cols)
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", name, err)
	}
	if rows <= 0 || rb <= 0 {
		return nil, fmt.Errorf("tensor %q: bad shape %d×%d", name, rows, cols)
	}
	data, mapped := allocWeights(rows * rb)
	m, err := NewMatrix(name, t, rows, cols, data)
	if err != nil {
		if mapped {
			freeWeights(data)
		}
		return nil, err
	}
	m.ownMapped = mapped
	return m, nil
}
