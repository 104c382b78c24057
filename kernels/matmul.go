package kernels

import (
	"github.com/d3-project/d3/parallel"
	"github.com/d3-project/d3/tensor"
)

// MatMul computes out[r*outStride : +W.Rows] = W · in[r*inStride : +W.Cols]
// for every activation row r in rows. Weight rows are split across the pool.
// With one activation row each weight row is consumed by its dot kernel
// directly; with several, each weight row is decoded once into scratch (one
// slice of at least W.Cols floats per worker) and reused for every row.
func MatMul(pool *parallel.Pool, w *tensor.Matrix, in []float32, inStride int, out []float32, outStride int, rows []int, scratch [][]float32) {
	if len(rows) == 0 {
		return
	}
	cols := w.Cols
	const minChunk = 16
	if len(rows) == 1 {
		r := rows[0]
		x := in[r*inStride : r*inStride+cols]
		o := out[r*outStride : r*outStride+w.Rows]
		pool.For(w.Rows, minChunk, func(_, lo, hi int) {
			for j := lo; j < hi; j++ {
				o[j] = w.DotRow(j, x)
			}
		})
		return
	}
	pool.For(w.Rows, minChunk, func(worker, lo, hi int) {
		buf := scratch[worker][:cols]
		for j := lo; j < hi; j++ {
			w.DequantRow(j, buf)
			for _, r := range rows {
				out[r*outStride+j] = Dot(buf, in[r*inStride:r*inStride+cols])
			}
		}
	})
}
