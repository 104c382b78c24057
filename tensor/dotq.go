package tensor

// Pure-Go dot products of quantized weight rows with QAct activations. The
// integer parts are exact (int32 sums of int8 products); only block sums
// are scaled in float, as in the assembly kernels, so the two paths differ
// by float rounding order alone.

// dotQ8_0Q8 is Σ_b dw_b·dx_b·Σ w·q over 34-byte Q8_0 blocks.
func dotQ8_0Q8(src []byte, a *QAct) float32 {
	var sum float32
	for b := range len(src) / 34 {
		w := (*[34]byte)(src[34*b:])
		q := (*[32]int8)(a.Q[32*b:])
		var s0, s1, s2, s3 int32
		for i := 0; i < 8; i++ {
			s0 += int32(int8(w[2+i])) * int32(q[i])
			s1 += int32(int8(w[10+i])) * int32(q[8+i])
			s2 += int32(int8(w[18+i])) * int32(q[16+i])
			s3 += int32(int8(w[26+i])) * int32(q[24+i])
		}
		sum += f16le(w[0:2]) * a.D[b] * float32((s0+s1)+(s2+s3))
	}
	return sum
}

// dotQ4_0Q8: element j of a block is the low nibble of byte j (j < 16) or
// the high nibble of byte j-16, minus 8. Σ (n-8)·q = Σ n·q - 8·Σq.
func dotQ4_0Q8(src []byte, a *QAct) float32 {
	var sum float32
	for b := range len(src) / 18 {
		w := (*[18]byte)(src[18*b:])
		q := (*[32]int8)(a.Q[32*b:])
		var s0, s1 int32
		for i := 0; i < 16; i++ {
			s0 += int32(w[2+i]&15) * int32(q[i])
			s1 += int32(w[2+i]>>4) * int32(q[16+i])
		}
		qs := int32(a.S[2*b] + a.S[2*b+1])
		sum += f16le(w[0:2]) * a.D[b] * float32(s0+s1-8*qs)
	}
	return sum
}

// dotQ4_KQ8: per 32-element sub-block j, x = d·sc_j·n - dmin·mn_j, so the
// dot is d·Σ_j sc_j·dx_j·Σ n·q - dmin·Σ_j mn_j·M_j.
func dotQ4_KQ8(src []byte, a *QAct) float32 {
	var sum float32
	for sb := range len(src) / 144 {
		w := (*[144]byte)(src[144*sb:])
		sc, mn := kScaleMin((*[12]byte)(w[4:]))
		var qsum, msum float32
		for g := 0; g < 4; g++ {
			qs := (*[32]byte)(w[16+32*g:])
			j := 8*sb + 2*g // activation block of the low nibbles
			ql := (*[32]int8)(a.Q[32*j:])
			qh := (*[32]int8)(a.Q[32*j+32:])
			var s0, s1 int32
			for l, v := range qs {
				s0 += int32(v&15) * int32(ql[l])
				s1 += int32(v>>4) * int32(qh[l])
			}
			qsum += sc[2*g]*a.D[j]*float32(s0) + sc[2*g+1]*a.D[j+1]*float32(s1)
			msum += mn[2*g]*a.M[j] + mn[2*g+1]*a.M[j+1]
		}
		sum += f16le(w[0:2])*qsum - f16le(w[2:4])*msum
	}
	return sum
}

// dotQ6_KQ8: 16-element sub-blocks a with int8 scales, quants n-32 where n
// has 6 bits (see dequantQ6_K for where they live):
// d·Σ_a sc_a·dx_(a/2)·(Σ n·q - 32·S_a).
func dotQ6_KQ8(src []byte, a *QAct) float32 {
	var sum float32
	for sb := range len(src) / 210 {
		w := (*[210]byte)(src[210*sb:])
		var bsum float32
		for h := 0; h < 2; h++ {
			ql := (*[64]byte)(w[64*h:])
			qh := (*[32]byte)(w[128+32*h:])
			sc := (*[8]byte)(w[192+8*h:])
			base := 256*sb + 128*h // first element of this half
			q := (*[128]int8)(a.Q[base:])
			// s[k] sums the 16-element sub-block k of this half (k = 0..7).
			var s [8]int32
			for l := 0; l < 32; l++ {
				n0 := int32(ql[l]&15 | (qh[l]&3)<<4)
				n1 := int32(ql[l+32]&15 | (qh[l]>>2&3)<<4)
				n2 := int32(ql[l]>>4 | (qh[l]>>4&3)<<4)
				n3 := int32(ql[l+32]>>4 | (qh[l]>>6)<<4)
				k := l / 16
				s[k] += n0 * int32(q[l])
				s[k+2] += n1 * int32(q[l+32])
				s[k+4] += n2 * int32(q[l+64])
				s[k+6] += n3 * int32(q[l+96])
			}
			for k := 0; k < 8; k++ {
				hb := base/16 + k // global 16-element sub-block index
				v := s[k] - 32*int32(a.S[hb])
				bsum += float32(int8(sc[k])) * a.D[hb/2] * float32(v)
			}
		}
		sum += f16le(w[208:210]) * bsum
	}
	return sum
}
