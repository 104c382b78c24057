package tensor

// The 256-element "K-quant" super-block formats (ggml's Q2_K..Q6_K).
//
// All five walk the block the same way: the 256 elements form two halves of
// 128; within half n the packed low bits live in a 32-byte slice (64 bytes
// for 4-bit types), and group j of 32 elements takes its bits from position
// 2j (2-bit quants) or from the low/high nibble (4-bit quants) of those
// bytes. Scales apply to sub-blocks of 16 (Q2_K, Q3_K, Q6_K) or 32 (Q4_K,
// Q5_K) consecutive elements.

func init() {
	rowKernels[Q2_K] = rowKernel{dequantQ2_K, dotQ2_K}
	rowKernels[Q3_K] = rowKernel{dequantQ3_K, dotQ3_K}
	rowKernels[Q4_K] = rowKernel{dequantQ4_K, dotQ4_K}
	rowKernels[Q5_K] = rowKernel{dequantQ5_K, dotQ5_K}
	rowKernels[Q6_K] = rowKernel{dequantQ6_K, dotQ6_K}
}

// Q2_K: scales[16], qs[64], d fp16, dmin fp16. Scale byte s of sub-block i
// holds a 4-bit scale (low nibble) and 4-bit min (high nibble);
// x = d*(s&15)*q - dmin*(s>>4), q 2-bit.

func dequantQ2_K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/256; i++ {
		b := (*[84]byte)(src[i*84:])
		y := (*[256]float32)(dst[i*256:])
		d, dmin := f16le(b[80:82]), f16le(b[82:84])
		sc := (*[16]byte)(b[0:])
		for n := 0; n < 2; n++ {
			q := (*[32]byte)(b[16+32*n:])
			for j := 0; j < 4; j++ {
				shift := uint(2 * j)
				is := 8*n + 2*j
				yy := (*[32]float32)(y[128*n+32*j:])
				dl, ml := d*float32(sc[is]&15), dmin*float32(sc[is]>>4)
				for l := 0; l < 16; l++ {
					yy[l] = dl*float32(q[l]>>shift&3) - ml
				}
				dl, ml = d*float32(sc[is+1]&15), dmin*float32(sc[is+1]>>4)
				for l := 16; l < 32; l++ {
					yy[l] = dl*float32(q[l]>>shift&3) - ml
				}
			}
		}
	}
}

func dotQ2_K(src []byte, x []float32) float32 {
	var sum float32
	for i := 0; i < len(x)/256; i++ {
		b := (*[84]byte)(src[i*84:])
		xb := (*[256]float32)(x[i*256:])
		sc := (*[16]byte)(b[0:])
		var qsum, msum float32
		for n := 0; n < 2; n++ {
			q := (*[32]byte)(b[16+32*n:])
			for j := 0; j < 4; j++ {
				is := 8*n + 2*j
				xx := (*[32]float32)(xb[128*n+32*j:])
				var a0, a1, s0, s1 float32
				for l := 0; l < 16; l++ {
					a0 += crumbF[q[l]][j] * xx[l]
					a1 += crumbF[q[l+16]][j] * xx[l+16]
					s0 += xx[l]
					s1 += xx[l+16]
				}
				qsum += float32(sc[is]&15)*a0 + float32(sc[is+1]&15)*a1
				msum += float32(sc[is]>>4)*s0 + float32(sc[is+1]>>4)*s1
			}
		}
		sum += f16le(b[80:82])*qsum - f16le(b[82:84])*msum
	}
	return sum
}

// Q3_K: hmask[32], qs[64], scales[12], d fp16. Sixteen 6-bit signed scales
// (stored +32): the low 4 bits of scale i are nibble i/8 of scales[i%8],
// the high 2 bits are bits 2*(i/4).. of scales[8+i%4]. The quant is
// (2 low bits | hmask bit << 2) - 4, the hmask bit for element 128n+32j+l
// being bit 4n+j of hmask[l].

func q3Scales(s *[12]byte) (out [16]float32) {
	for i := 0; i < 16; i++ {
		lo := s[i%8] >> (4 * uint(i/8)) & 15
		hi := s[8+i%4] >> (2 * uint(i/4)) & 3
		out[i] = float32(int32(lo|hi<<4) - 32)
	}
	return out
}

func dequantQ3_K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/256; i++ {
		b := (*[110]byte)(src[i*110:])
		y := (*[256]float32)(dst[i*256:])
		d := f16le(b[108:110])
		sc := q3Scales((*[12]byte)(b[96:]))
		hm := (*[32]byte)(b[0:])
		for n := 0; n < 2; n++ {
			q := (*[32]byte)(b[32+32*n:])
			for j := 0; j < 4; j++ {
				shift, hshift := uint(2*j), uint(4*n+j)
				is := 8*n + 2*j
				yy := (*[32]float32)(y[128*n+32*j:])
				dl := d * sc[is]
				for l := 0; l < 16; l++ {
					v := int32(q[l]>>shift&3|(hm[l]>>hshift&1)<<2) - 4
					yy[l] = dl * float32(v)
				}
				dl = d * sc[is+1]
				for l := 16; l < 32; l++ {
					v := int32(q[l]>>shift&3|(hm[l]>>hshift&1)<<2) - 4
					yy[l] = dl * float32(v)
				}
			}
		}
	}
}

func dotQ3_K(src []byte, x []float32) float32 {
	var sum float32
	for i := 0; i < len(x)/256; i++ {
		b := (*[110]byte)(src[i*110:])
		xb := (*[256]float32)(x[i*256:])
		sc := q3Scales((*[12]byte)(b[96:]))
		hm := (*[32]byte)(b[0:])
		var bsum float32
		for n := 0; n < 2; n++ {
			q := (*[32]byte)(b[32+32*n:])
			for j := 0; j < 4; j++ {
				hj := 4*n + j // bit of hmask
				is := 8*n + 2*j
				xx := (*[32]float32)(xb[128*n+32*j:])
				var a0, a1 float32
				for l := 0; l < 16; l++ {
					a0 += (crumbF[q[l]][j] + bitF16m4[hm[l]][hj]) * xx[l]
					a1 += (crumbF[q[l+16]][j] + bitF16m4[hm[l+16]][hj]) * xx[l+16]
				}
				bsum += sc[is]*a0 + sc[is+1]*a1
			}
		}
		sum += f16le(b[108:110]) * bsum
	}
	return sum
}

// kScaleMin unpacks the eight 6-bit scales and mins of a Q4_K/Q5_K block
// (ggml's get_scale_min_k4): sub-blocks 0..3 keep theirs in the low 6 bits
// of bytes 0..3 (scales) and 4..7 (mins); sub-blocks 4..7 keep the low 4
// bits in the nibbles of bytes 8..11 and the high 2 bits in the top bits of
// bytes 0..3 (scales) and 4..7 (mins).
func kScaleMin(s *[12]byte) (sc, mn [8]float32) {
	for j := 0; j < 4; j++ {
		sc[j] = float32(s[j] & 63)
		mn[j] = float32(s[j+4] & 63)
		sc[j+4] = float32(s[j+8]&15 | s[j]>>6<<4)
		mn[j+4] = float32(s[j+8]>>4 | s[j+4]>>6<<4)
	}
	return
}

// Q4_K: d fp16, dmin fp16, scales[12], qs[128]; element 64g+l (l<32) is the
// low nibble of qs[32g+l], element 64g+32+l its high nibble; sub-block
// k = element/32 gives x = d*sc[k]*q - dmin*mn[k].

func dequantQ4_K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/256; i++ {
		b := (*[144]byte)(src[i*144:])
		y := (*[256]float32)(dst[i*256:])
		d, dmin := f16le(b[0:2]), f16le(b[2:4])
		sc, mn := kScaleMin((*[12]byte)(b[4:]))
		for g := 0; g < 4; g++ {
			q := (*[32]byte)(b[16+32*g:])
			yl := (*[32]float32)(y[64*g:])
			yh := (*[32]float32)(y[64*g+32:])
			d1, m1 := d*sc[2*g], dmin*mn[2*g]
			d2, m2 := d*sc[2*g+1], dmin*mn[2*g+1]
			for l, qb := range q {
				v := &nibF[qb]
				yl[l] = d1*v[0] - m1
				yh[l] = d2*v[1] - m2
			}
		}
	}
}

func dotQ4_K(src []byte, x []float32) float32 {
	var sum float32
	for i := 0; i < len(x)/256; i++ {
		b := (*[144]byte)(src[i*144:])
		xb := (*[256]float32)(x[i*256:])
		sc, mn := kScaleMin((*[12]byte)(b[4:]))
		var qsum, msum float32
		for g := 0; g < 4; g++ {
			q := (*[32]byte)(b[16+32*g:])
			xl := (*[32]float32)(xb[64*g:])
			xh := (*[32]float32)(xb[64*g+32:])
			var a0, a1, a2, a3, s0, s1 float32
			for l := 0; l < 16; l++ {
				v0, v1 := &nibF[q[l]], &nibF[q[l+16]]
				a0 += v0[0] * xl[l]
				a1 += v1[0] * xl[l+16]
				a2 += v0[1] * xh[l]
				a3 += v1[1] * xh[l+16]
				s0 += xl[l] + xl[l+16]
				s1 += xh[l] + xh[l+16]
			}
			qsum += sc[2*g]*(a0+a1) + sc[2*g+1]*(a2+a3)
			msum += mn[2*g]*s0 + mn[2*g+1]*s1
		}
		sum += f16le(b[0:2])*qsum - f16le(b[2:4])*msum
	}
	return sum
}

// Q5_K: d fp16, dmin fp16, scales[12], qh[32], qs[128]; as Q4_K with a fifth
// bit: element 64g+l takes bit 2g of qh[l], element 64g+32+l bit 2g+1.

func dequantQ5_K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/256; i++ {
		b := (*[176]byte)(src[i*176:])
		y := (*[256]float32)(dst[i*256:])
		d, dmin := f16le(b[0:2]), f16le(b[2:4])
		sc, mn := kScaleMin((*[12]byte)(b[4:]))
		qh := (*[32]byte)(b[16:])
		for g := 0; g < 4; g++ {
			q := (*[32]byte)(b[48+32*g:])
			yl := (*[32]float32)(y[64*g:])
			yh := (*[32]float32)(y[64*g+32:])
			d1, m1 := d*sc[2*g], dmin*mn[2*g]
			d2, m2 := d*sc[2*g+1], dmin*mn[2*g+1]
			s := uint(2 * g)
			for l := 0; l < 32; l++ {
				yl[l] = d1*float32(q[l]&15|(qh[l]>>s&1)<<4) - m1
				yh[l] = d2*float32(q[l]>>4|(qh[l]>>(s+1)&1)<<4) - m2
			}
		}
	}
}

func dotQ5_K(src []byte, x []float32) float32 {
	var sum float32
	for i := 0; i < len(x)/256; i++ {
		b := (*[176]byte)(src[i*176:])
		xb := (*[256]float32)(x[i*256:])
		sc, mn := kScaleMin((*[12]byte)(b[4:]))
		qh := (*[32]byte)(b[16:])
		var qsum, msum float32
		for g := 0; g < 4; g++ {
			q := (*[32]byte)(b[48+32*g:])
			xl := (*[32]float32)(xb[64*g:])
			xh := (*[32]float32)(xb[64*g+32:])
			s := uint(2 * g)
			var a0, a1, s0, s1 float32
			for l := 0; l < 32; l++ {
				v, h := &nibF[q[l]], &bitF16[qh[l]]
				a0 += (v[0] + h[s]) * xl[l]
				a1 += (v[1] + h[s+1]) * xh[l]
				s0 += xl[l]
				s1 += xh[l]
			}
			qsum += sc[2*g]*a0 + sc[2*g+1]*a1
			msum += mn[2*g]*s0 + mn[2*g+1]*s1
		}
		sum += f16le(b[0:2])*qsum - f16le(b[2:4])*msum
	}
	return sum
}

// Q6_K: ql[128], qh[64], scales[16] int8, d fp16. In half n (ql from 64n,
// qh from 32n), for l<32: element l is the low nibble of ql[l], element
// l+32 the low nibble of ql[l+32], l+64 the high nibble of ql[l], l+96 the
// high nibble of ql[l+32]; their top two bits are bits 0-1, 2-3, 4-5, 6-7 of
// qh[l]. x = d * scale[element/16] * (q - 32).

func dequantQ6_K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/256; i++ {
		b := (*[210]byte)(src[i*210:])
		y := (*[256]float32)(dst[i*256:])
		d := f16le(b[208:210])
		for n := 0; n < 2; n++ {
			ql := (*[64]byte)(b[64*n:])
			qh := (*[32]byte)(b[128+32*n:])
			sc := (*[8]byte)(b[192+8*n:])
			yy := (*[128]float32)(y[128*n:])
			for half := 0; half < 2; half++ {
				d1, d2 := d*float32(int8(sc[half])), d*float32(int8(sc[half+2]))
				d3, d4 := d*float32(int8(sc[half+4])), d*float32(int8(sc[half+6]))
				for l := 16 * half; l < 16*half+16; l++ {
					lo, hi, h := &nibF[ql[l]], &nibF[ql[l+32]], &crumb6F[qh[l]]
					yy[l] = d1 * (lo[0] + h[0])
					yy[l+32] = d2 * (hi[0] + h[1])
					yy[l+64] = d3 * (lo[1] + h[2])
					yy[l+96] = d4 * (hi[1] + h[3])
				}
			}
		}
	}
}

func dotQ6_K(src []byte, x []float32) float32 {
	var sum float32
	for i := 0; i < len(x)/256; i++ {
		b := (*[210]byte)(src[i*210:])
		xb := (*[256]float32)(x[i*256:])
		var bsum float32
		for n := 0; n < 2; n++ {
			ql := (*[64]byte)(b[64*n:])
			qh := (*[32]byte)(b[128+32*n:])
			sc := (*[8]byte)(b[192+8*n:])
			for half := 0; half < 2; half++ {
				// Sub-blocks of 16: the four values unpacked from one
				// (ql, qh) position share a scale within this half.
				o := 16 * half
				x1 := (*[16]float32)(xb[128*n+o:])
				x2 := (*[16]float32)(xb[128*n+o+32:])
				x3 := (*[16]float32)(xb[128*n+o+64:])
				x4 := (*[16]float32)(xb[128*n+o+96:])
				lo := (*[16]byte)(ql[o:])
				hi := (*[16]byte)(ql[o+32:])
				hb := (*[16]byte)(qh[o:])
				var a1, a2, a3, a4 float32
				for l := 0; l < 16; l++ {
					vl, vh, h := &nibF[lo[l]], &nibF[hi[l]], &crumb6F[hb[l]]
					a1 += (vl[0] + h[0]) * x1[l]
					a2 += (vh[0] + h[1]) * x2[l]
					a3 += (vl[1] + h[2]) * x3[l]
					a4 += (vh[1] + h[3]) * x4[l]
				}
				bsum += float32(int8(sc[half]))*a1 + float32(int8(sc[half+2]))*a2 +
					float32(int8(sc[half+4]))*a3 + float32(int8(sc[half+6]))*a4
			}
		}
		sum += f16le(b[208:210]) * bsum
	}
	return sum
}
