package tensor

import "encoding/binary"

// The 32-element "legacy" block formats (ggml's Q4_0, Q4_1, Q5_0, Q5_1,
// Q8_0). Every block starts with an fp16 scale d (Q4_1/Q5_1 add an fp16
// offset m). 4-bit quants are packed two per byte: byte j holds element j in
// its low nibble and element j+16 in its high nibble. Q5 formats keep the
// fifth bit of element j in bit j of a little-endian uint32 qh.
//
// The kernels view each block and each 32-float slice of x as fixed-size
// arrays so the compiler can drop bounds checks from the inner loops, and use
// several accumulators so the float adds do not serialise.

func init() {
	rowKernels[Q4_0] = rowKernel{dequantQ4_0, dotQ4_0}
	rowKernels[Q4_1] = rowKernel{dequantQ4_1, dotQ4_1}
	rowKernels[Q5_0] = rowKernel{dequantQ5_0, dotQ5_0}
	rowKernels[Q5_1] = rowKernel{dequantQ5_1, dotQ5_1}
	rowKernels[Q8_0] = rowKernel{dequantQ8_0, dotQ8_0}
}

// Q4_0: d fp16, qs[16]; x = d * (q - 8).

func dequantQ4_0(src []byte, dst []float32) {
	for i := 0; i < len(dst)/32; i++ {
		b := (*[18]byte)(src[i*18:])
		y := (*[32]float32)(dst[i*32:])
		d := f16le(b[0:2])
		qs := (*[16]byte)(b[2:])
		yl, yh := (*[16]float32)(y[:16]), (*[16]float32)(y[16:])
		for j, q := range qs {
			v := &nibF8[q]
			yl[j] = d * v[0]
			yh[j] = d * v[1]
		}
	}
}

func dotQ4_0(src []byte, x []float32) float32 {
	var sum float32
	for i := 0; i < len(x)/32; i++ {
		b := (*[18]byte)(src[i*18:])
		qs := (*[16]byte)(b[2:])
		xl := (*[16]float32)(x[i*32:])
		xh := (*[16]float32)(x[i*32+16:])
		var a0, a1, a2, a3 float32
		for j := 0; j < 8; j++ {
			v0, v1 := &nibF8[qs[j]], &nibF8[qs[j+8]]
			a0 += v0[0] * xl[j]
			a1 += v0[1] * xh[j]
			a2 += v1[0] * xl[j+8]
			a3 += v1[1] * xh[j+8]
		}
		sum += f16le(b[0:2]) * ((a0 + a1) + (a2 + a3))
	}
	return sum
}

// Q4_1: d fp16, m fp16, qs[16]; x = d*q + m.

func dequantQ4_1(src []byte, dst []float32) {
	for i := 0; i < len(dst)/32; i++ {
		b := (*[20]byte)(src[i*20:])
		y := (*[32]float32)(dst[i*32:])
		d, m := f16le(b[0:2]), f16le(b[2:4])
		qs := (*[16]byte)(b[4:])
		for j := 0; j < 16; j++ {
			y[j] = d*float32(qs[j]&15) + m
			y[j+16] = d*float32(qs[j]>>4) + m
		}
	}
}

func dotQ4_1(src []byte, x []float32) float32 {
	var sum float32
	for i := 0; i < len(x)/32; i++ {
		b := (*[20]byte)(src[i*20:])
		qs := (*[16]byte)(b[4:])
		xl := (*[16]float32)(x[i*32:])
		xh := (*[16]float32)(x[i*32+16:])
		// sum(d*q + m)*x = d*sum(q*x) + m*sum(x)
		var a0, a1, s0, s1 float32
		for j := 0; j < 16; j++ {
			v := &nibF[qs[j]]
			a0 += v[0] * xl[j]
			a1 += v[1] * xh[j]
			s0 += xl[j]
			s1 += xh[j]
		}
		sum += f16le(b[0:2])*(a0+a1) + f16le(b[2:4])*(s0+s1)
	}
	return sum
}

// Q5_0: d fp16, qh uint32, qs[16]; x = d * (q - 16).

func dequantQ5_0(src []byte, dst []float32) {
	for i := 0; i < len(dst)/32; i++ {
		b := (*[22]byte)(src[i*22:])
		y := (*[32]float32)(dst[i*32:])
		d := f16le(b[0:2])
		qh := binary.LittleEndian.Uint32(b[2:6])
		qs := (*[16]byte)(b[6:])
		for j := 0; j < 16; j++ {
			lo := uint32(qs[j]&15) | (qh>>j&1)<<4
			hi := uint32(qs[j]>>4) | (qh>>(j+16)&1)<<4
			y[j] = d * float32(int32(lo)-16)
			y[j+16] = d * float32(int32(hi)-16)
		}
	}
}

func dotQ5_0(src []byte, x []float32) float32 {
	var sum float32
	for i := 0; i < len(x)/32; i++ {
		b := (*[22]byte)(src[i*22:])
		a := dot5((*[4]byte)(b[2:6]), (*[16]byte)(b[6:]), (*[32]float32)(x[i*32:]))
		var s float32
		for _, v := range x[i*32 : i*32+32] {
			s += v
		}
		// The quants are stored +16: sum((q-16)x) = sum(qx) - 16 sum(x).
		sum += f16le(b[0:2]) * (a - 16*s)
	}
	return sum
}

// Q5_1: d fp16, m fp16, qh uint32, qs[16]; x = d*q + m.

func dequantQ5_1(src []byte, dst []float32) {
	for i := 0; i < len(dst)/32; i++ {
		b := (*[24]byte)(src[i*24:])
		y := (*[32]float32)(dst[i*32:])
		d, m := f16le(b[0:2]), f16le(b[2:4])
		qh := binary.LittleEndian.Uint32(b[4:8])
		qs := (*[16]byte)(b[8:])
		for j := 0; j < 16; j++ {
			lo := uint32(qs[j]&15) | (qh>>j&1)<<4
			hi := uint32(qs[j]>>4) | (qh>>(j+16)&1)<<4
			y[j] = d*float32(lo) + m
			y[j+16] = d*float32(hi) + m
		}
	}
}

func dotQ5_1(src []byte, x []float32) float32 {
	var sum float32
	for i := 0; i < len(x)/32; i++ {
		b := (*[24]byte)(src[i*24:])
		a := dot5((*[4]byte)(b[4:8]), (*[16]byte)(b[8:]), (*[32]float32)(x[i*32:]))
		var s float32
		for _, v := range x[i*32 : i*32+32] {
			s += v
		}
		sum += f16le(b[0:2])*a + f16le(b[2:4])*s
	}
	return sum
}

// dot5 is sum(q*x) over one block of unsigned 5-bit quants: low nibbles in
// qs (element j low, j+16 high), fifth bits in the 4 bytes of qh (bit j of
// the little-endian word for element j).
func dot5(qh *[4]byte, qs *[16]byte, x *[32]float32) float32 {
	var a0, a1 float32
	for g := 0; g < 2; g++ {
		hl, hh := &bitF16[qh[g]], &bitF16[qh[g+2]]
		q := (*[8]byte)(qs[8*g:])
		xl := (*[8]float32)(x[8*g:])
		xh := (*[8]float32)(x[8*g+16:])
		for k := 0; k < 8; k++ {
			v := &nibF[q[k]]
			a0 += (v[0] + hl[k]) * xl[k]
			a1 += (v[1] + hh[k]) * xh[k]
		}
	}
	return a0 + a1
}

// Q8_0: d fp16, qs[32] int8; x = d * q.

func dequantQ8_0(src []byte, dst []float32) {
	for i := 0; i < len(dst)/32; i++ {
		b := (*[34]byte)(src[i*34:])
		y := (*[32]float32)(dst[i*32:])
		d := f16le(b[0:2])
		qs := (*[32]byte)(b[2:])
		for j, q := range qs {
			y[j] = d * int8F[q]
		}
	}
}

func dotQ8_0(src []byte, x []float32) float32 {
	var sum float32
	for i := 0; i < len(x)/32; i++ {
		b := (*[34]byte)(src[i*34:])
		qs := (*[32]byte)(b[2:])
		xb := (*[32]float32)(x[i*32:])
		var a0, a1, a2, a3 float32
		for j := 0; j < 8; j++ {
			a0 += int8F[qs[j]] * xb[j]
			a1 += int8F[qs[j+8]] * xb[j+8]
			a2 += int8F[qs[j+16]] * xb[j+16]
			a3 += int8F[qs[j+24]] * xb[j+24]
		}
		sum += f16le(b[0:2]) * ((a0 + a1) + (a2 + a3))
	}
	return sum
}
