package kernels

import (
	"github.com/d3-project/d3/parallel"
	"github.com/d3-project/d3/tensor"
)

// Workspace is what MatMul reuses from call to call: the activation rows
// prepared (quantized, for the integer kernels) for the weight type, and
// the arguments of the call in progress, which the worker functions read.
// The worker functions are bound once, so a call allocates nothing. A
// Workspace serves one caller at a time.
type Workspace struct {
	acts    []tensor.Act
	tiles   tensor.Tiles
	workers []workerScratch // indexed by the pool's worker number

	w         *tensor.Matrix
	in, out   []float32
	inStride  int
	outStride int
	rows      []int

	prepareFn, multiplyFn     func(worker, lo, hi int)
	prepareTilesFn, mulTileFn func(worker, lo, hi int)
}

// workerScratch is one worker's buffers for the matrix-matrix path.
type workerScratch struct {
	q     tensor.QAct
	panel []byte
}

// NewWorkspace returns an empty workspace; buffers grow on first use.
func NewWorkspace() *Workspace {
	ws := &Workspace{}
	ws.prepareFn = ws.prepare
	ws.multiplyFn = ws.multiply
	ws.prepareTilesFn = ws.prepareTiles
	ws.mulTileFn = ws.mulTiles
	return ws
}

// Tuning: a task below minTaskBytes of weight traffic is not worth waking
// another worker for, and activation rows are prepared in parallel only
// when there are at least minParallelPrepare elements.
const (
	minTaskBytes       = 48 << 10
	minParallelPrepare = 1 << 16
	weightBlockBytes   = 24 << 10 // weight rows revisited per activation row stay in L1
	// From this many activation rows on, types with a matrix-matrix
	// kernel use it (one pass over the weights for 16 rows at a time).
	minGemmRows = 3
)

// MatMul computes out[r*outStride : +W.Rows] = W · in[r*inStride : +W.Cols]
// for every activation row r in rows. Each activation row is first put in
// the encoding W's kernels consume (float, or int8 blocks); then weight rows
// are split across the pool, and each worker takes its rows in blocks small
// enough to stay in L1 while every activation row passes over them.
func MatMul(pool *parallel.Pool, w *tensor.Matrix, in []float32, inStride int, out []float32, outStride int, rows []int, ws *Workspace) {
	n := len(rows)
	if n == 0 {
		return
	}
	if len(ws.acts) < n {
		ws.acts = append(ws.acts, make([]tensor.Act, n-len(ws.acts))...)
	}
	ws.w, ws.in, ws.out, ws.inStride, ws.outStride, ws.rows = w, in, out, inStride, outStride, rows
	if n >= minGemmRows && tensor.HasGemm(w.Type) {
		ws.gemm(pool)
		return
	}
	if n*w.Cols >= minParallelPrepare {
		pool.For(n, 1, ws.prepareFn)
	} else {
		ws.prepare(0, 0, n)
	}
	work := w.RowBytes * n // bytes of weight traffic per weight row, roughly
	pool.For(w.Rows, max(1, minTaskBytes/max(1, work)), ws.multiplyFn)
	ws.w, ws.in, ws.out, ws.rows = nil, nil, nil, nil
}

func (ws *Workspace) prepare(_, lo, hi int) {
	cols := ws.w.Cols
	for i := lo; i < hi; i++ {
		r := ws.rows[i]
		ws.acts[i].Prepare(ws.w.Type, ws.in[r*ws.inStride:r*ws.inStride+cols])
	}
}

func (ws *Workspace) multiply(_, lo, hi int) {
	w := ws.w
	block := hi - lo
	if len(ws.rows) > 1 {
		block = max(1, weightBlockBytes/w.RowBytes)
	}
	for b0 := lo; b0 < hi; b0 += block {
		b1 := min(hi, b0+block)
		for i, r := range ws.rows {
			o := ws.out[r*ws.outStride:]
			w.DotRows(b0, b1, &ws.acts[i], o[b0:b1])
		}
	}
}

// gemm is MatMul through the matrix-matrix kernels: the activation rows
// are quantized into tiles, then each worker multiplies its weight rows
// by all of them.
func (ws *Workspace) gemm(pool *parallel.Pool) {
	if len(ws.workers) < pool.Workers() {
		ws.workers = make([]workerScratch, pool.Workers())
	}
	n, w := len(ws.rows), ws.w
	ws.tiles.Reset(n, w.Cols)
	if n*w.Cols >= minParallelPrepare {
		pool.For(n, 1, ws.prepareTilesFn)
	} else {
		ws.prepareTiles(0, 0, n)
	}
	// Split at multiples of the kernels' 8-row panels.
	chunk := max(8, minTaskBytes/max(1, w.RowBytes*n))
	pool.For(w.Rows, (chunk+7)/8*8, ws.mulTileFn)
	ws.w, ws.in, ws.out, ws.rows = nil, nil, nil, nil
}

func (ws *Workspace) prepareTiles(worker, lo, hi int) {
	cols := ws.w.Cols
	for i := lo; i < hi; i++ {
		r := ws.rows[i]
		ws.tiles.SetRow(i, ws.in[r*ws.inStride:r*ws.inStride+cols], &ws.workers[worker].q)
	}
}

func (ws *Workspace) mulTiles(worker, lo, hi int) {
	ws.w.MulTiles(lo, hi, &ws.tiles, &ws.workers[worker].panel, ws.out, ws.outStride, ws.rows)
}
