package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/d3-project/d3/parallel"
	"github.com/d3-project/d3/tensor"
)

func randMatrix(rng *rand.Rand, t tensor.DType, rows, cols int) *tensor.Matrix {
	rb, err := t.RowBytes(cols)
	if err != nil {
		panic(err)
	}
	data := make([]byte, rows*rb)
	for r := range rows {
		if err := tensor.Quantize(t, randVec(rng, cols), data[r*rb:(r+1)*rb]); err != nil {
			panic(err)
		}
	}
	m, err := tensor.NewMatrix(t.String(), t, rows, cols, data)
	if err != nil {
		panic(err)
	}
	return m
}

// used returns the activation the kernels of t multiply with: x, or x
// after int8 block quantization. (The quantization is the same for every
// integer type; Q8_0's keeps the elements in order, where Q4_0's may be
// permuted for its kernel.)
func used(t tensor.DType, x []float32) []float64 {
	var a tensor.Act
	if t.ActFormat() == tensor.ActQ8 {
		a.Prepare(tensor.Q8_0, x)
	} else {
		a.Prepare(t, x)
	}
	u := make([]float64, len(x))
	for i, v := range x {
		if a.Fmt == tensor.ActQ8 {
			u[i] = float64(a.D[i/32]) * float64(a.Q[i])
		} else {
			u[i] = float64(v)
		}
	}
	return u
}

// TestMatMul checks MatMul on every path (one row, a few rows, the
// matrix-matrix kernels for many rows; one and several workers) against
// float64 products, with scattered row lists, padded strides and weight
// shapes that do not divide into the kernels' panels and tiles.
func TestMatMul(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	types := []tensor.DType{tensor.F32, tensor.F16, tensor.BF16, tensor.Q8_0, tensor.Q4_0, tensor.Q4_K, tensor.Q6_K, tensor.Q5_K}
	for _, workers := range []int{1, 2, 3} {
		pool := parallel.New(workers)
		ws := NewWorkspace()
		for _, typ := range types {
			cols := 512 + 256 // whole K-quant super-blocks, odd 32-blocks (24)
			if typ.BlockSize() == 1 {
				cols = 777
			}
			m := randMatrix(rng, typ, 203, cols)
			w := make([][]float32, m.Rows)
			for j := range w {
				w[j] = make([]float32, cols)
				m.DequantRow(j, w[j])
			}
			for _, nrows := range []int{1, 2, 3, 9, 17, 40, 70} {
				const inStride, outStride = 800 + 256, 211
				total := 2*nrows + 1
				in := make([]float32, total*inStride)
				for i := range in {
					in[i] = float32(rng.NormFloat64())
				}
				out := make([]float32, total*outStride)
				rows := make([]int, nrows)
				for i := range rows {
					rows[i] = total - 1 - 2*i // descending, every other row
				}
				MatMul(pool, m, in, inStride, out, outStride, rows, ws)
				for _, r := range rows {
					x := used(typ, in[r*inStride:r*inStride+cols])
					for j := range m.Rows {
						var ref, mag float64
						for k, v := range w[j] {
							ref += float64(v) * x[k]
							mag += math.Abs(float64(v) * x[k])
						}
						got := float64(out[r*outStride+j])
						if e := math.Abs(got - ref); !(e <= 40*0x1p-24*mag) {
							t.Fatalf("workers=%d %s nrows=%d row %d out %d: got %g want %g (err %.3g, Σ|wx| %.3g)", workers, typ, nrows, r, j, got, ref, e, mag)
						}
					}
					for j := m.Rows; j < outStride; j++ {
						if out[r*outStride+j] != 0 {
							t.Fatalf("%s: wrote past the weight rows", typ)
						}
					}
				}
			}
		}
		pool.Close()
	}
}

// TestMatMulAllocs: after the first call has sized the workspace, a
// matrix product allocates nothing in this package.
func TestMatMulAllocs(t *testing.T) {
	pool := parallel.New(1)
	defer pool.Close()
	rng := rand.New(rand.NewPCG(33, 34))
	for _, typ := range []tensor.DType{tensor.Q8_0, tensor.BF16} {
		for _, n := range []int{1, 20} {
			m := randMatrix(rng, typ, 64, 256)
			in := randVec(rng, n*256)
			out := make([]float32, n*64)
			rows := make([]int, n)
			for i := range rows {
				rows[i] = i
			}
			ws := NewWorkspace()
			MatMul(pool, m, in, 256, out, 64, rows, ws)
			if a := testing.AllocsPerRun(20, func() { MatMul(pool, m, in, 256, out, 64, rows, ws) }); a != 0 {
				t.Errorf("%s, %d rows: %v allocations per MatMul", typ, n, a)
			}
		}
	}
}

// BenchmarkMatMul: a Llama-3.2-1B-shaped projection (2048 → 2048) for one
// row (decode) and 64 rows (prefill), on two workers.
func BenchmarkMatMul(b *testing.B) {
	rng := rand.New(rand.NewPCG(35, 36))
	pool := parallel.New(2)
	defer pool.Close()
	const rowsW, cols = 2048, 2048
	for _, typ := range []tensor.DType{tensor.F32, tensor.F16, tensor.BF16, tensor.Q8_0, tensor.Q4_0, tensor.Q4_K, tensor.Q6_K} {
		m := randMatrix(rng, typ, rowsW, cols)
		for _, n := range []int{1, 64} {
			in := randVec(rng, n*cols)
			out := make([]float32, n*rowsW)
			rows := make([]int, n)
			for i := range rows {
				rows[i] = i
			}
			ws := NewWorkspace()
			b.Run(fmt.Sprintf("%s/rows=%d", typ, n), func(b *testing.B) {
				b.SetBytes(int64(len(m.Data)))
				for b.Loop() {
					MatMul(pool, m, in, cols, out, rowsW, rows, ws)
				}
				b.ReportMetric(2*float64(rowsW*cols*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// TestMatMulBatchInvariant: a row's product is the same bits whether it is
// computed alone or in a batch (float types: any batch; quantized: below
// the matrix-matrix kernels' threshold, up to 9 rows), with the rows
// scattered (gathered and scattered back) or consecutive (read and written
// in place).
// Lossless drafting relies on it: the verify pass of k+1 rows must
// reproduce single-row decoding exactly, not to rounding.
func TestMatMulBatchInvariant(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	pool := parallel.New(2)
	defer pool.Close()
	const rowsW, maxN = 75, 100
	for _, typ := range []tensor.DType{tensor.F32, tensor.F16, tensor.BF16, tensor.Q8_0, tensor.Q4_0, tensor.Q4_K, tensor.Q6_K} {
		cols, limit := 519, maxN
		if typ.BlockSize() > 1 {
			cols, limit = 768, minGemmRows-1
		}
		m := randMatrix(rng, typ, rowsW, cols)
		in := randVec(rng, maxN*cols)
		ws := NewWorkspace()
		single := make([]float32, maxN*rowsW)
		for r := 0; r < maxN; r++ {
			MatMul(pool, m, in, cols, single, rowsW, []int{r}, ws)
		}
		for _, n := range []int{2, 3, 5, 8, 9, 17, 40, 64, 65, maxN} {
			if n > limit {
				break
			}
			for _, descending := range []bool{true, false} {
				rows := make([]int, n)
				for i := range rows {
					rows[i] = maxN - n + i
					if descending { // batch order differs from row order
						rows[i] = maxN - 1 - i
					}
				}
				out := make([]float32, maxN*rowsW)
				MatMul(pool, m, in, cols, out, rowsW, rows, ws)
				for _, r := range rows {
					for j := 0; j < rowsW; j++ {
						if a, b := out[r*rowsW+j], single[r*rowsW+j]; math.Float32bits(a) != math.Float32bits(b) {
							t.Fatalf("%s, %d rows: row %d output %d is %g batched, %g alone", typ, n, r, j, a, b)
						}
					}
				}
			}
		}
	}
}
