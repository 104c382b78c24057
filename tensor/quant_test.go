package tensor

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

var quantTypes = []DType{Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K}

// halfFields lists the byte offsets of each block's fp16 fields, so random
// blocks can carry sane scales instead of random NaNs and infinities.
var halfFields = map[DType][]int{
	Q4_0: {0}, Q4_1: {0, 2}, Q5_0: {0}, Q5_1: {0, 2}, Q8_0: {0},
	Q2_K: {80, 82}, Q3_K: {108}, Q4_K: {0, 2}, Q5_K: {0, 2}, Q6_K: {208},
}

// randomBlocks fills n blocks of t with random bytes and random moderate
// fp16 scales (either sign, 10^-decades..1).
func randomBlocks(rng *rand.Rand, t DType, n int, decades float64) []byte {
	b := make([]byte, n*t.BlockBytes())
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	for i := 0; i < n; i++ {
		for _, off := range halfFields[t] {
			v := float32(math.Pow(10, -decades*rng.Float64()))
			if rng.IntN(2) == 0 {
				v = -v
			}
			binary.LittleEndian.PutUint16(b[i*t.BlockBytes()+off:], F32ToF16(v))
		}
	}
	return b
}

func randomVec(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

// TestDotMatchesDequant checks every type's dot kernel against a float64
// dot product over its own dequantized row, on several rows of an odd
// number of blocks.
func TestDotMatchesDequant(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, typ := range append([]DType{F32, F16, BF16}, quantTypes...) {
		t.Run(typ.String(), func(t *testing.T) {
			for _, blocks := range []int{1, 3, 7} {
				n := blocks * max(typ.BlockSize(), 32)
				for row := 0; row < 4; row++ {
					var src []byte
					if typ.BlockSize() == 1 {
						src = make([]byte, n*typ.BlockBytes())
						if err := Quantize(typ, randomVec(rng, n), src); err != nil {
							t.Fatal(err)
						}
					} else {
						src = randomBlocks(rng, typ, blocks, 3)
					}
					x := randomVec(rng, n)
					deq := make([]float32, n)
					DequantizeRow(typ, src, deq)
					var ref, mag float64
					for i := range x {
						p := float64(deq[i]) * float64(x[i])
						ref += p
						mag += math.Abs(p)
					}
					got := float64(DotRow(typ, src, x))
					if d := math.Abs(got - ref); d > 2e-6*mag || math.IsNaN(got) {
						t.Errorf("%d blocks row %d: dot %g, dequant·x %g (|diff| %g, Σ|terms| %g)", blocks, row, got, ref, d, mag)
					}
				}
			}
		})
	}
}

// The hand-built block tests below state each layout element by element
// (which byte and bit holds element e), independently of the kernels' loop
// structure, encode random logical values that way and check the decoder
// returns the documented formula.

func checkDecoded(t *testing.T, typ DType, blk []byte, want []float64) {
	t.Helper()
	got := make([]float32, len(want))
	DequantizeRow(typ, blk, got)
	bad := 0
	for e := range want {
		if math.Abs(float64(got[e])-want[e]) > 1e-6*(1+math.Abs(want[e])) {
			if bad < 5 {
				t.Errorf("%s element %d: got %g, want %g", typ, e, got[e], want[e])
			}
			bad++
		}
	}
	x := randomVec(rand.New(rand.NewPCG(7, 7)), len(want))
	var ref, mag float64
	for e := range want {
		ref += want[e] * float64(x[e])
		mag += math.Abs(want[e] * float64(x[e]))
	}
	if d := math.Abs(float64(DotRow(typ, blk, x)) - ref); d > 2e-6*mag {
		t.Errorf("%s dot: off by %g (Σ|terms| %g)", typ, d, mag)
	}
}

func setBits(b []byte, byteIdx int, shift uint, v int) { b[byteIdx] |= byte(v) << shift }

func putHalf(b []byte, off int, v float32) float64 {
	binary.LittleEndian.PutUint16(b[off:], F32ToF16(v))
	return float64(F16ToF32(F32ToF16(v)))
}

func TestLegacyLayouts(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 20; trial++ {
		q := make([]int, 32)
		// Q4_0: element e is nibble e/16 of qs[e%16]; x = d*(q-8).
		blk := make([]byte, 18)
		d := putHalf(blk, 0, float32(rng.NormFloat64()))
		want := make([]float64, 32)
		for e := range q {
			q[e] = rng.IntN(16)
			setBits(blk, 2+e%16, uint(4*(e/16)), q[e])
			want[e] = d * float64(q[e]-8)
		}
		checkDecoded(t, Q4_0, blk, want)

		// Q4_1: x = d*q + m.
		blk = make([]byte, 20)
		d = putHalf(blk, 0, float32(rng.NormFloat64()))
		m := putHalf(blk, 2, float32(rng.NormFloat64()))
		for e := range q {
			setBits(blk, 4+e%16, uint(4*(e/16)), q[e])
			want[e] = d*float64(q[e]) + m
		}
		checkDecoded(t, Q4_1, blk, want)

		// Q5_0: fifth bit of element e is bit e of the little-endian qh.
		blk = make([]byte, 22)
		d = putHalf(blk, 0, float32(rng.NormFloat64()))
		for e := range q {
			q[e] = rng.IntN(32)
			setBits(blk, 6+e%16, uint(4*(e/16)), q[e]&15)
			setBits(blk, 2+e/8, uint(e%8), q[e]>>4)
			want[e] = d * float64(q[e]-16)
		}
		checkDecoded(t, Q5_0, blk, want)

		// Q5_1: as Q5_0 with an offset, x = d*q + m.
		blk = make([]byte, 24)
		d = putHalf(blk, 0, float32(rng.NormFloat64()))
		m = putHalf(blk, 2, float32(rng.NormFloat64()))
		for e := range q {
			setBits(blk, 8+e%16, uint(4*(e/16)), q[e]&15)
			setBits(blk, 4+e/8, uint(e%8), q[e]>>4)
			want[e] = d*float64(q[e]) + m
		}
		checkDecoded(t, Q5_1, blk, want)

		// Q8_0: int8 quants.
		blk = make([]byte, 34)
		d = putHalf(blk, 0, float32(rng.NormFloat64()))
		for e := range q {
			v := rng.IntN(256) - 128
			blk[2+e] = byte(int8(v))
			want[e] = d * float64(v)
		}
		checkDecoded(t, Q8_0, blk, want)
	}
}

// q3ScaleBits places 6-bit value v as scale i of a Q3_K block, written as
// ggml's four cases.
func q3ScaleBits(s []byte, i, v int) {
	lo, hi := byte(v&15), byte(v>>4)
	switch {
	case i < 4:
		s[i] |= lo
		s[i+8] |= hi
	case i < 8:
		s[i] |= lo
		s[i+4] |= hi << 2
	case i < 12:
		s[i-8] |= lo << 4
		s[i] |= hi << 4
	default:
		s[i-8] |= lo << 4
		s[i-4] |= hi << 6
	}
}

// k4ScaleBits places the 6-bit scale sc and min m of sub-block j of a
// Q4_K/Q5_K block (the inverse of ggml's get_scale_min_k4).
func k4ScaleBits(s []byte, j, sc, m int) {
	if j < 4 {
		s[j] |= byte(sc)
		s[j+4] |= byte(m)
		return
	}
	s[j+4] |= byte(sc&15) | byte(m&15)<<4
	s[j-4] |= byte(sc>>4) << 6
	s[j] |= byte(m>>4) << 6
}

func TestKLayouts(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	want := make([]float64, 256)
	for trial := 0; trial < 10; trial++ {
		// Q2_K: element e: n=e/128, j=(e%128)/32, l=e%32; 2 bits at shift 2j
		// of qs[32n+l]; scale byte e/16 = scale | min<<4;
		// x = d*scale*q - dmin*min.
		blk := make([]byte, 84)
		d := putHalf(blk, 80, float32(rng.NormFloat64()))
		dmin := putHalf(blk, 82, float32(rng.NormFloat64()))
		var sc, mn [16]int
		for i := range sc {
			sc[i], mn[i] = rng.IntN(16), rng.IntN(16)
			blk[i] = byte(sc[i] | mn[i]<<4)
		}
		for e := range want {
			n, j, l := e/128, e%128/32, e%32
			q := rng.IntN(4)
			setBits(blk, 16+32*n+l, uint(2*j), q)
			want[e] = d*float64(sc[e/16]*q) - dmin*float64(mn[e/16])
		}
		checkDecoded(t, Q2_K, blk, want)

		// Q3_K: low 2 bits as Q2_K (qs at 32), high bit at bit 4n+j of
		// hmask[l]; x = d*(scale-32)*(q-4).
		blk = make([]byte, 110)
		d = putHalf(blk, 108, float32(rng.NormFloat64()))
		for i := range sc {
			sc[i] = rng.IntN(64)
			q3ScaleBits(blk[96:108], i, sc[i])
		}
		for e := range want {
			n, j, l := e/128, e%128/32, e%32
			q := rng.IntN(8)
			setBits(blk, 32+32*n+l, uint(2*j), q&3)
			setBits(blk, l, uint(4*n+j), q>>2)
			want[e] = d * float64((sc[e/16]-32)*(q-4))
		}
		checkDecoded(t, Q3_K, blk, want)

		// Q4_K / Q5_K: element e: g=e/64, nibble (e%64)/32 of qs[32g+e%32];
		// Q5_K's fifth bit is bit e/32 of qh[e%32]; sub-block e/32.
		for _, five := range []bool{false, true} {
			typ, size, qoff := Q4_K, 144, 16
			if five {
				typ, size, qoff = Q5_K, 176, 48
			}
			blk = make([]byte, size)
			d = putHalf(blk, 0, float32(rng.NormFloat64()))
			dmin = putHalf(blk, 2, float32(rng.NormFloat64()))
			for j := 0; j < 8; j++ {
				sc[j], mn[j] = rng.IntN(64), rng.IntN(64)
				k4ScaleBits(blk[4:16], j, sc[j], mn[j])
			}
			for e := range want {
				q := rng.IntN(16)
				if five {
					q = rng.IntN(32)
					setBits(blk, 16+e%32, uint(e/32), q>>4)
				}
				setBits(blk, qoff+32*(e/64)+e%32, uint(4*(e%64/32)), q&15)
				want[e] = d*float64(sc[e/32]*q) - dmin*float64(mn[e/32])
			}
			checkDecoded(t, typ, blk, want)
		}

		// Q6_K: element e: n=e/128, k=(e%128)/32, l=e%32; low 4 bits are
		// nibble k/2 of ql[64n + 32(k%2) + l], high 2 bits at shift 2k of
		// qh[32n+l]; int8 scale e/16; x = d*scale*(q-32).
		blk = make([]byte, 210)
		d = putHalf(blk, 208, float32(rng.NormFloat64()))
		for i := range sc {
			sc[i] = rng.IntN(256) - 128
			blk[192+i] = byte(int8(sc[i]))
		}
		for e := range want {
			n, k, l := e/128, e%128/32, e%32
			q := rng.IntN(64)
			setBits(blk, 64*n+32*(k%2)+l, uint(4*(k/2)), q&15)
			setBits(blk, 128+32*n+l, uint(2*k), q>>4)
			want[e] = d * float64(sc[e/16]*(q-32))
		}
		checkDecoded(t, Q6_K, blk, want)
	}
}

// TestQuantizeRoundTrip bounds the relative RMS error of quantize →
// dequantize on Gaussian rows, and checks degenerate blocks.
func TestQuantizeRoundTrip(t *testing.T) {
	bounds := map[DType]float64{
		F32: 0, F16: 5e-4, BF16: 3e-3,
		Q8_0: 0.01, Q4_0: 0.11, Q4_1: 0.10, Q5_0: 0.055, Q5_1: 0.05,
		Q4_K: 0.09, Q5_K: 0.045, Q6_K: 0.025,
	}
	rng := rand.New(rand.NewPCG(8, 9))
	for typ, bound := range bounds {
		t.Run(typ.String(), func(t *testing.T) {
			n := 5 * 256
			src := randomVec(rng, 3*n)
			for i := range src[n : 2*n] {
				src[n+i] *= 1e-3 // a row of small values: scales must follow
			}
			src[2*n+5] = 8 // an outlier
			rb, _ := typ.RowBytes(n)
			dst := make([]byte, rb)
			back := make([]float32, n)
			for r := 0; r < 3; r++ {
				row := src[r*n : (r+1)*n]
				if err := Quantize(typ, row, dst); err != nil {
					t.Fatal(err)
				}
				DequantizeRow(typ, dst, back)
				var num, den float64
				for i, v := range row {
					e := float64(back[i] - v)
					num += e * e
					den += float64(v) * float64(v)
				}
				rel := math.Sqrt(num / den)
				t.Logf("row %d: relative RMS error %.4f", r, rel)
				if !(rel <= bound) {
					t.Errorf("row %d: relative RMS error %.4f > %.4f", r, rel, bound)
				}
			}
			// All-zero and constant blocks must decode to themselves (or
			// within the bound) without NaNs.
			for _, c := range []float32{0, 0.5, -3} {
				row := make([]float32, n)
				for i := range row {
					row[i] = c
				}
				if err := Quantize(typ, row, dst); err != nil {
					t.Fatal(err)
				}
				DequantizeRow(typ, dst, back)
				for i, v := range back {
					if math.IsNaN(float64(v)) || math.Abs(float64(v-c)) > 0.1*math.Abs(float64(c))+1e-6 {
						t.Fatalf("constant %g: element %d decodes to %g", c, i, v)
					}
				}
			}
		})
	}
}

func TestQuantizeErrors(t *testing.T) {
	if err := Quantize(Q4_0, make([]float32, 33), make([]byte, 36)); err == nil {
		t.Error("partial block accepted")
	}
	if err := Quantize(Q4_0, make([]float32, 32), make([]byte, 17)); err == nil {
		t.Error("short dst accepted")
	}
	if err := Quantize(Q2_K, make([]float32, 256), make([]byte, 84)); err == nil {
		t.Error("Q2_K quantizer should not exist")
	}
	for _, typ := range []DType{F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K} {
		if !CanQuantize(typ) {
			t.Errorf("%s: no quantizer", typ)
		}
	}
}

// Q8_0 and Q4_0 quantizers against hand-computed blocks following the
// documented rules.
func TestQuantizeRules(t *testing.T) {
	x := make([]float32, 32)
	for i := range x {
		x[i] = float32(i) - 10 // max |x| is 21 at i = 31
	}
	y := make([]byte, 34)
	if err := Quantize(Q8_0, x, y); err != nil {
		t.Fatal(err)
	}
	d := float32(21) / 127
	if got := binary.LittleEndian.Uint16(y); got != F32ToF16(d) {
		t.Errorf("Q8_0 d = %#x, want %#x", got, F32ToF16(d))
	}
	for i, v := range x {
		if want := int8(math.Round(float64(v * (1 / d)))); int8(y[2+i]) != want {
			t.Errorf("Q8_0 q[%d] = %d, want %d", i, int8(y[2+i]), want)
		}
	}
	// Q4_0: the extreme value 21 maps to q = 0 (d = -21/8), so the range
	// is asymmetric: -10 maps to trunc(-10/d + 8.5) = 12.
	y = y[:18]
	if err := Quantize(Q4_0, x, y); err != nil {
		t.Fatal(err)
	}
	if got := F16ToF32(binary.LittleEndian.Uint16(y)); got != F16ToF32(F32ToF16(-21.0/8)) {
		t.Errorf("Q4_0 d = %g", got)
	}
	if q31 := y[2+15] >> 4; q31 != 0 {
		t.Errorf("Q4_0 q[31] = %d, want 0", q31)
	}
	if q0 := y[2] & 15; q0 != 12 {
		t.Errorf("Q4_0 q[0] = %d, want 12", q0)
	}
}

func BenchmarkDot(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	const n = 2048
	for _, typ := range append([]DType{F32, F16, BF16}, quantTypes...) {
		b.Run(typ.String(), func(b *testing.B) {
			rb, _ := typ.RowBytes(n)
			var src []byte
			if typ.BlockSize() == 1 {
				src = make([]byte, rb)
				_ = Quantize(typ, randomVec(rng, n), src)
			} else {
				// Real weights' block scales span about one decade.
				src = randomBlocks(rng, typ, n/typ.BlockSize(), 1)
			}
			x := randomVec(rng, n)
			b.SetBytes(int64(rb))
			var s float32
			for b.Loop() {
				s += DotRow(typ, src, x)
			}
			sink = s
		})
	}
}

func BenchmarkQuantize(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	x := randomVec(rng, 4096)
	for _, typ := range []DType{Q8_0, Q4_0, Q4_K, Q5_K, Q6_K} {
		b.Run(typ.String(), func(b *testing.B) {
			rb, _ := typ.RowBytes(len(x))
			dst := make([]byte, rb)
			b.SetBytes(int64(4 * len(x)))
			for b.Loop() {
				_ = Quantize(typ, x, dst)
			}
		})
	}
}

func BenchmarkDequant(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	const n = 2048
	dst := make([]float32, n)
	for _, typ := range quantTypes {
		b.Run(typ.String(), func(b *testing.B) {
			src := randomBlocks(rng, typ, n/typ.BlockSize(), 1)
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				DequantizeRow(typ, src, dst)
			}
		})
	}
}

var sink float32
