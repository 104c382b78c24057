package tensor

import "encoding/binary"

// Lookup tables that turn packed quant bytes straight into float32 values:
// an L1-resident load is cheaper in pure Go than masking, shifting and an
// int→float conversion per element.
var (
	nibF     [256][2]float32 // low, high nibble
	nibF8    [256][2]float32 // low, high nibble, minus 8 (Q4_0)
	int8F    [256]float32    // byte as int8 (Q8_0)
	crumbF   [256][4]float32 // the four 2-bit fields, low first
	crumb6F  [256][4]float32 // 16 × each 2-bit field − 32 (Q6_K high bits)
	bitF16   [256][8]float32 // 16 × each bit (Q5 high bits)
	bitF16m4 [256][8]float32 // 4 × each bit − 4 (Q3_K high bit, its −4 folded in)
)

func init() {
	for b := 0; b < 256; b++ {
		lo, hi := float32(b&15), float32(b>>4)
		nibF[b] = [2]float32{lo, hi}
		nibF8[b] = [2]float32{lo - 8, hi - 8}
		int8F[b] = float32(int8(b))
		for k := 0; k < 4; k++ {
			c := float32(b >> (2 * k) & 3)
			crumbF[b][k] = c
			crumb6F[b][k] = 16*c - 32
		}
		for k := 0; k < 8; k++ {
			bit := float32(b >> k & 1)
			bitF16[b][k] = 16 * bit
			bitF16m4[b][k] = 4*bit - 4
		}
	}
}

// f16le decodes a little-endian fp16 field (block scales) through a table:
// a call to F16ToF32 cannot be inlined, and the few distinct scale values
// of a model keep the hot part of the table small.
func f16le(b []byte) float32 { return f16Tab[binary.LittleEndian.Uint16(b)] }

var f16Tab = func() *[1 << 16]float32 {
	t := new([1 << 16]float32)
	for h := range t {
		t[h] = F16ToF32(uint16(h))
	}
	return t
}()
