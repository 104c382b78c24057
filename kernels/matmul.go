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
	ftiles  tensor.FTiles
	xk      []float32       // activation rows side by side for DotRowsK
	workers []workerScratch // indexed by the pool's worker number

	w         *tensor.Matrix
	in, out   []float32
	inStride  int
	outStride int
	rows      []int

	prepareFn, multiplyFn       func(worker, lo, hi int)
	prepareTilesFn, mulTileFn   func(worker, lo, hi int)
	prepareFTilesFn, mulFTileFn func(worker, lo, hi int)
}

// workerScratch is one worker's buffers for the matrix-matrix path.
type workerScratch struct {
	q     tensor.QAct
	panel []byte
	outK  []float32 // DotRowsK results of one weight block

	fpanel, frow []float32 // MulFTiles
}

// NewWorkspace returns an empty workspace; buffers grow on first use.
func NewWorkspace() *Workspace {
	ws := &Workspace{}
	ws.prepareFn = ws.prepare
	ws.multiplyFn = ws.multiply
	ws.prepareTilesFn = ws.prepareTiles
	ws.mulTileFn = ws.mulTiles
	ws.prepareFTilesFn = ws.prepareFTiles
	ws.mulFTileFn = ws.mulFTiles
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
	// Fewer rows run one by one through the single-row kernel, so each
	// row's product has the bits of a single-row step: a drafting round's
	// verify pass (up to 8 drafts + 1) then reproduces plain decoding
	// exactly. Up to 6 rows this is also as fast as the tiles (which pad
	// to 16); at 9 it costs about 1.5x.
	minGemmRows = 10
	// The float types go through DotRowsK below this many rows (their
	// matrix-matrix kernel pads to 16 and repacks every weight row it
	// touches, which a few rows do not pay back).
	minGemmFRows = 64
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
	if len(ws.workers) < pool.Workers() {
		ws.workers = make([]workerScratch, pool.Workers())
	}
	ws.w, ws.in, ws.out, ws.inStride, ws.outStride, ws.rows = w, in, out, inStride, outStride, rows
	if n >= minGemmRows && tensor.HasGemm(w.Type) {
		ws.gemm(pool)
		return
	}
	if n >= minGemmFRows && tensor.HasGemmF(w.Type) {
		ws.gemmF(pool)
		return
	}
	if n > 1 && tensor.HasDotK(w.Type) {
		ws.gatherXK()
	} else if n*w.Cols >= minParallelPrepare {
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

func (ws *Workspace) multiply(worker, lo, hi int) {
	w := ws.w
	block := hi - lo
	if len(ws.rows) > 1 {
		block = max(1, weightBlockBytes/w.RowBytes)
	}
	batched := len(ws.rows) > 1 && tensor.HasDotK(w.Type)
	for b0 := lo; b0 < hi; b0 += block {
		b1 := min(hi, b0+block)
		if batched {
			ws.multiplyK(worker, b0, b1)
			continue
		}
		for i, r := range ws.rows {
			o := ws.out[r*ws.outStride:]
			w.DotRows(b0, b1, &ws.acts[i], o[b0:b1])
		}
	}
}

// gatherXK copies the activation rows side by side for DotRowsK, with room
// for a whole last group of MaxDotK rows.
func (ws *Workspace) gatherXK() {
	cols, n := ws.w.Cols, len(ws.rows)
	ws.xk = grow(ws.xk, (n+tensor.MaxDotK-1)/tensor.MaxDotK*tensor.MaxDotK*cols)
	for i, r := range ws.rows {
		copy(ws.xk[i*cols:(i+1)*cols], ws.in[r*ws.inStride:r*ws.inStride+cols])
	}
}

// multiplyK runs weight rows [lo, hi) against the activation rows (in
// ws.xk) up to MaxDotK at a time.
func (ws *Workspace) multiplyK(worker, lo, hi int) {
	const K = tensor.MaxDotK
	sc := &ws.workers[worker]
	sc.outK = grow(sc.outK, K*(hi-lo))
	cols, n := ws.w.Cols, len(ws.rows)
	for i0 := 0; i0 < n; i0 += K {
		k := min(K, n-i0)
		ws.w.DotRowsK(lo, hi, ws.xk[i0*cols:(i0+K)*cols], cols, k, sc.outK)
		for c := 0; c < k; c++ {
			base := ws.rows[i0+c] * ws.outStride
			o, res := ws.out[base+lo:base+hi], sc.outK[c:]
			for j := range o {
				o[j] = res[K*j]
			}
		}
	}
}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// gemm is MatMul through the matrix-matrix kernels: the activation rows
// are quantized into tiles, then each worker multiplies its weight rows
// by all of them.
func (ws *Workspace) gemm(pool *parallel.Pool) {
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

// gemmF is gemm for the float types.
func (ws *Workspace) gemmF(pool *parallel.Pool) {
	n, w := len(ws.rows), ws.w
	ws.ftiles.Reset(n, w.Cols)
	if n*w.Cols >= minParallelPrepare {
		pool.For(n, 1, ws.prepareFTilesFn)
	} else {
		ws.prepareFTiles(0, 0, n)
	}
	chunk := max(8, minTaskBytes/max(1, w.RowBytes*n))
	pool.For(w.Rows, (chunk+7)/8*8, ws.mulFTileFn)
	ws.w, ws.in, ws.out, ws.rows = nil, nil, nil, nil
}

func (ws *Workspace) prepareFTiles(_, lo, hi int) {
	cols := ws.w.Cols
	for i := lo; i < hi; i++ {
		r := ws.rows[i]
		ws.ftiles.SetRow(i, ws.in[r*ws.inStride:r*ws.inStride+cols])
	}
}

func (ws *Workspace) mulFTiles(worker, lo, hi int) {
	sc := &ws.workers[worker]
	ws.w.MulFTiles(lo, hi, &ws.ftiles, &sc.fpanel, &sc.frow, ws.out, ws.outStride, ws.rows)
}
