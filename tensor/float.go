package tensor

import (
	"encoding/binary"
	"math"
)

// F16ToF32 converts an IEEE 754 half-precision value.
func F16ToF32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0 && mant == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: renormalise
		e := uint32(127 - 15 + 1)
		for mant&0x400 == 0 {
			mant <<= 1
			e--
		}
		mant &= 0x3ff
		return math.Float32frombits(sign | e<<23 | mant<<13)
	case exp == 0x1f:
		return math.Float32frombits(sign | 0xff<<23 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// F32ToF16 rounds to nearest even half precision.
func F32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23&0xff) - 127 + 15
	mant := b & 0x7fffff
	if b&0x7fffffff > 0x7f800000 { // NaN
		return sign | 0x7e00
	}
	if exp >= 0x1f {
		return sign | 0x7c00
	}
	if exp <= 0 {
		if exp < -10 {
			return sign
		}
		mant |= 0x800000
		shift := uint32(14 - exp)
		half := uint32(1) << (shift - 1)
		r := mant >> shift
		rem := mant & (1<<shift - 1)
		if rem > half || rem == half && r&1 == 1 {
			r++
		}
		return sign | uint16(r)
	}
	r := uint32(exp)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || rem == 0x1000 && r&1 == 1 {
		r++ // may carry into the exponent, which is the correct rounding
	}
	return sign | uint16(r)
}

// BF16ToF32 widens a bfloat16 value.
func BF16ToF32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// F32ToBF16 rounds to nearest even bfloat16.
func F32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x40
	}
	return uint16((b + 0x7fff + (b>>16)&1) >> 16)
}

func init() {
	rowKernels[F32] = rowKernel{
		dequant: func(src []byte, dst []float32) {
			for i := range dst {
				dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
			}
		},
		dot: func(src []byte, x []float32) float32 {
			var s float32
			for i, v := range x {
				s += math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:])) * v
			}
			return s
		},
	}
	rowKernels[F16] = rowKernel{
		dequant: func(src []byte, dst []float32) {
			for i := range dst {
				dst[i] = F16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
			}
		},
		dot: func(src []byte, x []float32) float32 {
			var s float32
			for i, v := range x {
				s += F16ToF32(binary.LittleEndian.Uint16(src[2*i:])) * v
			}
			return s
		},
	}
	rowKernels[BF16] = rowKernel{
		dequant: func(src []byte, dst []float32) {
			for i := range dst {
				dst[i] = BF16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
			}
		},
		dot: func(src []byte, x []float32) float32 {
			var s float32
			for i, v := range x {
				s += BF16ToF32(binary.LittleEndian.Uint16(src[2*i:])) * v
			}
			return s
		},
	}
}
