package tensor

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Quantize encodes src (a whole number of blocks of type t) into dst, which
// must be exactly t.RowBytes(len(src)) long. The block quantizers follow
// llama.cpp's reference (no importance matrix) rules, so files written with
// them decode the same way in llama.cpp and d3:
//
//   - Q8_0: d = amax/127, q = round(x/d).
//   - Q4_0: d = v/-8 with v the signed value of largest magnitude,
//     q = min(15, trunc(x/d + 8.5)).
//   - Q4_1, Q5_0, Q5_1: the analogous min/max rules.
//   - Q4_K, Q5_K: per 32-element sub-block a weighted least-squares search for
//     scale and min (weights |x| + rms of the sub-block, 21 or 16 trial
//     grids),
//     then both quantized to 6 bits against the block's largest.
//   - Q6_K: per 16-element sub-block a search over 19 trial scales around
//     amax/32 maximising the x²-weighted fit, then scales quantized to int8.
//
// The arithmetic is float32 in llama.cpp's order, with every product
// explicitly rounded (float32(...)) so no architecture fuses it into a
// multiply-add: the output is byte-identical to llama-quantize's (checked
// against llama.cpp-written files in gguf_cross_test.go).
func Quantize(t DType, src []float32, dst []byte) error {
	n, err := t.RowBytes(len(src))
	if err != nil {
		return err
	}
	if len(dst) != n {
		return fmt.Errorf("tensor: Quantize %s: %d elements need %d bytes, dst has %d", t, len(src), n, len(dst))
	}
	q, ok := quantizers[t]
	if !ok {
		return fmt.Errorf("tensor: Quantize: type %s has no quantizer", t)
	}
	bs, bb := t.BlockSize(), t.BlockBytes()
	if bs == 1 {
		q(src, dst) // float types convert a whole row at once
		return nil
	}
	for i := 0; i < len(src)/bs; i++ {
		q(src[i*bs:(i+1)*bs], dst[i*bb:(i+1)*bb])
	}
	return nil
}

// CanQuantize reports whether Quantize supports t.
func CanQuantize(t DType) bool { _, ok := quantizers[t]; return ok }

// quantizers encode one block (float types: a whole row).
var quantizers = map[DType]func(x []float32, y []byte){
	F32: func(x []float32, y []byte) {
		for i, v := range x {
			binary.LittleEndian.PutUint32(y[4*i:], math.Float32bits(v))
		}
	},
	F16: func(x []float32, y []byte) {
		for i, v := range x {
			binary.LittleEndian.PutUint16(y[2*i:], F32ToF16(v))
		}
	},
	BF16: func(x []float32, y []byte) {
		for i, v := range x {
			binary.LittleEndian.PutUint16(y[2*i:], F32ToBF16(v))
		}
	},
	Q8_0: quantizeQ8_0,
	Q4_0: quantizeQ4_0,
	Q4_1: quantizeQ4_1,
	Q5_0: quantizeQ5_0,
	Q5_1: quantizeQ5_1,
	Q4_K: quantizeQ4_K,
	Q5_K: quantizeQ5_K,
	Q6_K: quantizeQ6_K,
}

func putF16(b []byte, f float32) { binary.LittleEndian.PutUint16(b, F32ToF16(f)) }

// roundAway is C's roundf (halves away from zero), used by Q8_0.
func roundAway(f float32) int32 { return int32(math.Round(float64(f))) }

// nearestInt is ggml's nearest_int: round half to even, as the float
// magic-number trick it uses does.
func nearestInt(f float32) int32 { return int32(math.RoundToEven(float64(f))) }

func inv(d float32) float32 {
	if d == 0 {
		return 0
	}
	return 1 / d
}

func quantizeQ8_0(x []float32, y []byte) {
	var amax float32
	for _, v := range x {
		amax = max(amax, abs32(v))
	}
	d := amax / 127
	id := inv(d)
	putF16(y, d)
	for j, v := range x[:32] {
		y[2+j] = byte(int8(roundAway(v * id)))
	}
}

func abs32(f float32) float32 { return math.Float32frombits(math.Float32bits(f) &^ (1 << 31)) }

// signedAbsMax returns the value of largest magnitude (first one on ties).
func signedAbsMax(x []float32) float32 {
	var amax, m float32
	for _, v := range x {
		if a := abs32(v); a > amax {
			amax, m = a, v
		}
	}
	return m
}

func quantizeQ4_0(x []float32, y []byte) {
	d := signedAbsMax(x) / -8
	id := inv(d)
	putF16(y, d)
	for j := 0; j < 16; j++ {
		// int8 conversion truncates toward zero, like the C cast.
		lo := min(15, int32(float32(x[j]*id)+8.5))
		hi := min(15, int32(float32(x[j+16]*id)+8.5))
		y[2+j] = byte(lo) | byte(hi)<<4
	}
}

func minMax(x []float32) (lo, hi float32) {
	lo, hi = float32(math.MaxFloat32), -float32(math.MaxFloat32)
	for _, v := range x {
		lo, hi = min(lo, v), max(hi, v)
	}
	return
}

func quantizeQ4_1(x []float32, y []byte) {
	lo, hi := minMax(x)
	d := (hi - lo) / 15
	id := inv(d)
	putF16(y, d)
	putF16(y[2:], lo)
	for j := 0; j < 16; j++ {
		a := min(15, int32(float32((x[j]-lo)*id)+0.5))
		b := min(15, int32(float32((x[j+16]-lo)*id)+0.5))
		y[4+j] = byte(a) | byte(b)<<4
	}
}

func quantizeQ5_0(x []float32, y []byte) {
	d := signedAbsMax(x) / -16
	id := inv(d)
	putF16(y, d)
	var qh uint32
	for j := 0; j < 16; j++ {
		a := min(31, int32(float32(x[j]*id)+16.5))
		b := min(31, int32(float32(x[j+16]*id)+16.5))
		y[6+j] = byte(a&15) | byte(b&15)<<4
		qh |= uint32(a>>4&1)<<j | uint32(b>>4&1)<<(j+16)
	}
	binary.LittleEndian.PutUint32(y[2:], qh)
}

func quantizeQ5_1(x []float32, y []byte) {
	lo, hi := minMax(x)
	d := (hi - lo) / 31
	id := inv(d)
	putF16(y, d)
	putF16(y[2:], lo)
	var qh uint32
	for j := 0; j < 16; j++ {
		a := min(31, int32(float32((x[j]-lo)*id)+0.5))
		b := min(31, int32(float32((x[j+16]-lo)*id)+0.5))
		y[8+j] = byte(a&15) | byte(b&15)<<4
		qh |= uint32(a>>4&1)<<j | uint32(b>>4&1)<<(j+16)
	}
	binary.LittleEndian.PutUint32(y[4:], qh)
}

// fitScaleMin finds scale s and min m ≤ 0 so that x ≈ s*L + m with L in
// 0..nmax, minimising the weighted squared error. It starts from the plain
// min/max grid and tries nstep+1 rescaled grids, refitting s and m by
// weighted least squares on each candidate L (llama.cpp's make_qkx2_quants).
// It returns s and -m, leaving the chosen quants in L.
func fitScaleMin(nmax int32, x, w []float32, L, aux []uint8, rmin, rdelta float32, nstep int) (float32, float32) {
	lo, hi := x[0], x[0]
	sumW, sumX := w[0], w[0]*x[0]
	for i := 1; i < len(x); i++ {
		lo, hi = min(lo, x[i]), max(hi, x[i])
		sumW += w[i]
		sumX += float32(w[i] * x[i])
	}
	lo = min(lo, 0)
	if hi == lo {
		clear(L)
		return 0, -lo
	}
	fmax := float32(nmax)
	iscale := fmax / (hi - lo)
	scale := 1 / iscale
	var best float32
	for i, v := range x {
		l := clampI(nearestInt(iscale*(v-lo)), 0, nmax)
		L[i] = uint8(l)
		diff := float32(scale*float32(l)) + lo - v
		best += float32(w[i] * diff * diff)
	}
	for is := 0; is <= nstep; is++ {
		iscale := (rmin + float32(rdelta*float32(is)) + fmax) / (hi - lo)
		var sumL, sumL2, sumXL float32
		for i, v := range x {
			l := clampI(nearestInt(iscale*(v-lo)), 0, nmax)
			aux[i] = uint8(l)
			fl := float32(l)
			sumL += float32(w[i] * fl)
			sumL2 += float32(w[i] * fl * fl)
			sumXL += float32(w[i] * fl * v)
		}
		D := float32(sumW*sumL2) - float32(sumL*sumL)
		if D <= 0 {
			continue
		}
		s := (float32(sumW*sumXL) - float32(sumX*sumL)) / D
		m := (float32(sumL2*sumX) - float32(sumL*sumXL)) / D
		if m > 0 {
			m = 0
			s = sumXL / sumL2
		}
		var cur float32
		for i, v := range x {
			diff := float32(s*float32(aux[i])) + m - v
			cur += float32(w[i] * diff * diff)
		}
		if cur < best {
			copy(L, aux)
			best, scale, lo = cur, s, m
		}
	}
	return scale, -lo
}

func clampI(v, lo, hi int32) int32 { return max(lo, min(hi, v)) }

func quantizeQ4_K(x []float32, y []byte) {
	var Ls [256]uint8
	fitKBlock(x, y, 15, -1, 20, &Ls)
	q := y[16:144]
	for g := 0; g < 4; g++ {
		for l := 0; l < 32; l++ {
			q[32*g+l] = Ls[64*g+l] | Ls[64*g+32+l]<<4
		}
	}
}

func quantizeQ5_K(x []float32, y []byte) {
	var Ls [256]uint8
	fitKBlock(x, y, 31, -0.5, 15, &Ls)
	qh, q := y[16:48], y[48:176]
	clear(qh)
	for g := 0; g < 4; g++ {
		for l := 0; l < 32; l++ {
			lo, hi := Ls[64*g+l], Ls[64*g+32+l]
			q[32*g+l] = lo&15 | hi&15<<4
			qh[l] |= lo>>4<<(2*g) | hi>>4<<(2*g+1)
		}
	}
}

// fitKBlock chooses the fp16 d/dmin and the 6-bit scales and mins of a
// Q4_K/Q5_K block (same header layout) and the quants (0..nmax) of its 256
// elements, following llama.cpp's quantize_row_q4_K/q5_K reference: per
// 32-element sub-block a weighted scale/min fit (weights |x| + sub-block
// rms), then 6-bit quantization of scales and mins against their maxima,
// then requantization against the decoded values.
func fitKBlock(x []float32, y []byte, nmax int32, rmin float32, nstep int, Ls *[256]uint8) {
	var (
		aux          [32]uint8
		w            [32]float32
		scales, mins [8]float32
		maxS, maxM   float32
	)
	for j := 0; j < 8; j++ {
		xs := x[32*j : 32*j+32]
		var sum2 float32
		for _, v := range xs {
			sum2 += float32(v * v)
		}
		av := float32(math.Sqrt(float64(sum2 / 32)))
		for l, v := range xs {
			w[l] = av + abs32(v)
		}
		scales[j], mins[j] = fitScaleMin(nmax, xs, w[:], Ls[32*j:32*j+32], aux[:], rmin, 0.1, nstep)
		maxS, maxM = max(maxS, scales[j]), max(maxM, mins[j])
	}
	var invS, invM float32
	if maxS > 0 {
		invS = 63 / maxS
	}
	if maxM > 0 {
		invM = 63 / maxM
	}
	sc := y[4:16]
	clear(sc)
	for j := 0; j < 8; j++ {
		ls := uint8(min(63, nearestInt(invS*scales[j])))
		lm := uint8(min(63, nearestInt(invM*mins[j])))
		if j < 4 {
			sc[j], sc[j+4] = ls, lm
		} else {
			sc[j+4] = ls&15 | lm<<4
			sc[j-4] |= ls >> 4 << 6
			sc[j] |= lm >> 4 << 6
		}
	}
	putF16(y[0:], maxS/63)
	putF16(y[2:], maxM/63)
	d, dmin := f16le(y[0:2]), f16le(y[2:4])
	// Requantize against the scales as they will be decoded; a sub-block
	// whose scale decodes to zero keeps the quants of the search.
	s6, m6 := kScaleMin((*[12]byte)(sc))
	for j := 0; j < 8; j++ {
		ds := d * s6[j]
		if ds == 0 {
			continue
		}
		dm := dmin * m6[j]
		for i := 0; i < 32; i++ {
			Ls[32*j+i] = uint8(clampI(nearestInt((x[32*j+i]+dm)/ds), 0, nmax))
		}
	}
}

// fitScaleSym finds a scale s so that x ≈ s*L with L in -nmax..nmax-1,
// trying 19 grids around -nmax/v (v the signed extreme value) and keeping
// the one with the best x²-weighted least-squares fit (llama.cpp's
// make_qx_quants with rmse_type 1). L receives the quants offset by nmax.
func fitScaleSym(nmax int32, x []float32, L []uint8) float32 {
	m := signedAbsMax(x)
	if abs32(m) < 1e-15 {
		clear(L)
		return 0
	}
	fmax := float32(nmax)
	quant := func(iscale float32, store bool) (sumLX, sumL2 float32) {
		for i, v := range x {
			l := clampI(nearestInt(iscale*v), -nmax, nmax-1)
			if store {
				L[i] = uint8(l + nmax)
			}
			w := v * v
			fl := float32(l)
			sumLX += float32(w * v * fl)
			sumL2 += float32(w * fl * fl)
		}
		return
	}
	sumLX, sumL2 := quant(-fmax/m, true)
	var scale float32
	if sumL2 != 0 {
		scale = sumLX / sumL2
	}
	best := scale * sumLX
	for is := -9; is <= 9; is++ {
		if is == 0 {
			continue
		}
		iscale := -(fmax + 0.1*float32(is)) / m
		sumLX, sumL2 := quant(iscale, false)
		if sumL2 > 0 && sumLX*sumLX > best*sumL2 {
			quant(iscale, true)
			scale = sumLX / sumL2
			best = scale * sumLX
		}
	}
	return scale
}

func quantizeQ6_K(x []float32, y []byte) {
	var (
		L      [256]uint8
		scales [16]float32
		maxS   float32
		maxAbs float32
	)
	for ib := 0; ib < 16; ib++ {
		s := fitScaleSym(32, x[16*ib:16*ib+16], L[16*ib:16*ib+16])
		scales[ib] = s
		if a := abs32(s); a > maxAbs {
			maxAbs, maxS = a, s
		}
	}
	if maxAbs < 1e-15 {
		clear(y[:210])
		return
	}
	iscale := -128 / maxS
	putF16(y[208:], 1/iscale)
	d := f16le(y[208:210])
	sc := y[192:208]
	for ib := 0; ib < 16; ib++ {
		sc[ib] = byte(int8(min(127, nearestInt(iscale*scales[ib]))))
	}
	for j := 0; j < 16; j++ {
		ds := d * float32(int8(sc[j]))
		if ds == 0 {
			continue
		}
		for i := 0; i < 16; i++ {
			L[16*j+i] = uint8(clampI(nearestInt(x[16*j+i]/ds), -32, 31) + 32)
		}
	}
	for n := 0; n < 2; n++ {
		ql := y[64*n : 64*n+64]
		qh := y[128+32*n : 128+32*n+32]
		Ln := L[128*n:]
		for l := 0; l < 32; l++ {
			q1, q2, q3, q4 := Ln[l], Ln[l+32], Ln[l+64], Ln[l+96]
			ql[l] = q1&15 | q3&15<<4
			ql[l+32] = q2&15 | q4&15<<4
			qh[l] = q1>>4 | q2>>4<<2 | q3>>4<<4 | q4>>4<<6
		}
	}
}
