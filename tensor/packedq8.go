package tensor

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"
)

// Q8_0 weights have a packed copy too (on AVX-512 machines), for a VNNI
// kernel that does for integers what the float kernels of packed.go do:
// 16 rows per group, one row per 512-bit lane, so that a product needs no
// horizontal sums and has the same bits for any number of activation rows.
// Per group and 32-element block (576 bytes):
//
//   - 8 chunks of 64 bytes: chunk c holds, as dword j, row j's weights
//     4c..4c+3 biased to unsigned (w+128), for VPDPBUSD;
//   - the 16 rows' block scales as float32.
//
// Activation rows are quantized to int8 blocks (QAct, as for the row
// kernels) and laid out as 40-byte records per block: the 32 quants, the
// block scale as float32 and -128·Σq as int32, which cancels the weight
// bias when it starts the integer accumulator. Lossless drafting needs
// the batch invariance (its verify pass must reproduce single-row steps);
// the bundled Q8_0 model also decodes faster with it than with the row
// kernel, which scales every block of every (row, activation) pair.

const (
	q8GroupBlock = 576 // bytes per group and 32-element block
	// Q8RecordBytes is the size of one 32-element block of a Q8 record.
	Q8RecordBytes = 40
)

type packedQ8Kernel func(w *byte, gstride, blocks int, x *byte, xstride int, out *float32, ostride, units, mask int)

// PrepareQ8Record quantizes x (a multiple of 32 elements) into rec, the
// activation record MulPackedQ8 reads (len(x)/32 × Q8RecordBytes bytes);
// q is scratch.
func PrepareQ8Record(x []float32, rec []byte, q *QAct) {
	nb := len(x) / 32
	if len(rec) < nb*Q8RecordBytes {
		panic(fmt.Sprintf("tensor: PrepareQ8Record: %d bytes for %d blocks", len(rec), nb))
	}
	q.quantize(x)
	qs := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(q.Q))), len(q.Q)) // the int8 quants as bytes
	for b := 0; b < nb; b++ {
		r := rec[b*Q8RecordBytes : (b+1)*Q8RecordBytes]
		copy(r[:32], qs[32*b:])
		binary.LittleEndian.PutUint32(r[32:], math.Float32bits(q.D[b]))
		sum := int32(q.S[2*b]) + int32(q.S[2*b+1])
		binary.LittleEndian.PutUint32(r[36:], uint32(-128*sum))
	}
}

// q4GroupBlock is the bytes per group and block of the packed Q4_0 layout:
// four vectors of nibbles (dword j of vector t: row j's elements 8t..8t+3
// in the low nibbles, 8t+4..8t+7 in the high ones), then 16 float32 scales.
const q4GroupBlock = 320

func packQ4(m *Matrix) *packedPanel {
	return packBlocks(m, 18, q4GroupBlock, func(src, blk []byte, j int) {
		var q [32]byte // Q4_0: element i < 16 is the low nibble of byte i, i+16 the high one
		for i, v := range src[2:] {
			q[i], q[i+16] = v&15, v>>4
		}
		for t := 0; t < 4; t++ {
			for i := 0; i < 4; i++ {
				blk[64*t+4*j+i] = q[8*t+i] | q[8*t+4+i]<<4
			}
		}
		putScale(blk[256+4*j:], src)
	})
}

func packQ8(m *Matrix) *packedPanel {
	return packBlocks(m, 34, q8GroupBlock, func(src, blk []byte, j int) {
		for c := 0; c < 8; c++ {
			for i := 0; i < 4; i++ {
				blk[64*c+4*j+i] = src[2+4*c+i] ^ 0x80
			}
		}
		putScale(blk[512+4*j:], src)
	})
}

// packBlocks lays out the 32-element blocks (srcBytes each, fp16 scale
// first) of m's rows group by group: put writes row j's block src into the
// group's block blk (groupBlock bytes). Padding rows stay zero, with zero
// scales.
func packBlocks(m *Matrix, srcBytes, groupBlock int, put func(src, blk []byte, j int)) *packedPanel {
	nb := m.Cols / 32
	return newPanel(m, nb, groupBlock, func(p *packedPanel, g int) {
		dst := p.data[g*p.gstride : (g+1)*p.gstride]
		for j := 0; j < packGroupRows && g*packGroupRows+j < m.Rows; j++ {
			row := m.Row(g*packGroupRows + j)
			for b := 0; b < nb; b++ {
				put(row[b*srcBytes:(b+1)*srcBytes], dst[b*groupBlock:], j)
			}
		}
	})
}

// putScale stores a block's fp16 scale (its first two bytes) as float32.
func putScale(dst, block []byte) {
	d := F16ToF32(binary.LittleEndian.Uint16(block))
	binary.LittleEndian.PutUint32(dst, math.Float32bits(d))
}

// MulPackedQ8 is MulPacked for Q8_0 (and packed Q4_0, PackQ4) weights:
// activation row c is the Q8 record at x[c*xstride:] (PrepareQ8Record;
// xstride in bytes).
func (m *Matrix) MulPackedQ8(lo, hi int, x []byte, xstride, k int, out []float32, ostride int) {
	if hi <= lo {
		return
	}
	if !m.HasPackedQ8() {
		panic(fmt.Sprintf("tensor: MulPackedQ8 on %s at kernel level %v", m.Type, simd))
	}
	if m.Type == Q8_0 {
		m.Pack()
	}
	p := m.packed
	lastRow := m.checkPacked("MulPackedQ8", lo, hi, len(x), xstride, (m.Cols/32)*Q8RecordBytes, k, len(out), ostride)
	w, o := &p.data[2*lo*p.gstride], &out[lo*PackTileRows]
	kernel := packedQ8Kernels[k]
	if m.Type == Q4_0 {
		kernel = packedQ4Kernels[k]
	}
	if k <= 4 { // two groups (one tile) per unit
		mask := -1
		if valid := lastRow - (hi-1)*PackTileRows; valid < PackTileRows {
			mask = 1<<valid - 1
		}
		kernel(w, p.gstride, p.pairs, &x[0], xstride, o, 4*ostride, hi-lo, mask)
		return
	}
	// One group per unit: the last tile may have one group or a partial one.
	groups := (lastRow - lo*PackTileRows + packGroupRows - 1) / packGroupRows
	mask := 1<<(lastRow-(lo*PackTileRows+(groups-1)*packGroupRows)) - 1
	kernel(w, p.gstride, p.pairs, &x[0], xstride, o, 4*ostride, groups, mask)
}

// PackQ4 builds the packed copy of a Q4_0 matrix. Q4_0 files keep their
// row kernels (a packed copy would double their memory); the Q4_0 copies
// of a checkpoint made for drafting are packed with this.
func (m *Matrix) PackQ4() {
	if m.Type != Q4_0 || hostLevel < levelAVX512 {
		return
	}
	m.packOnce.Do(func() { m.packed = packQ4(m) })
}

// HasPackedQ8 reports whether MulPackedQ8 runs for m: a Q8_0 matrix, or a
// Q4_0 one packed by PackQ4, on a machine with the packed kernels.
func (m *Matrix) HasPackedQ8() bool {
	switch m.Type {
	case Q8_0:
		return HasPacked(Q8_0)
	case Q4_0:
		return simd >= levelAVX512 && m.packed != nil
	}
	return false
}
