package kernels

import (
	"github.com/d3-project/d3/parallel"
	"github.com/d3-project/d3/tensor"
)

// Product is one weight matrix of a MatMuls call and where its results go:
// Out[r*OutStride : +W.Rows] for activation row r.
type Product struct {
	W         *tensor.Matrix
	Out       []float32
	OutStride int
}

// Workspace is what MatMul reuses from call to call: the activation rows
// prepared for the weight type (gathered and padded for the packed float
// kernels, quantized for the integer ones), and the arguments of the call
// in progress, which the worker functions read. The worker functions are
// bound once, so a call allocates nothing. A Workspace serves one caller
// at a time.
type Workspace struct {
	acts    []tensor.Act
	tiles   tensor.Tiles
	xk      []float32       // activation rows for the packed kernels, when in cannot be used as it is
	xq      []byte          // Q8 records of the activation rows (packed Q8_0 kernels)
	yk      []float32       // packed results for scattered output rows
	workers []workerScratch // indexed by the pool's worker number
	one     [1]Product

	prods    []Product
	start    []int // prods[i] covers work units [start[i], start[i+1])
	in       []float32
	inStride int
	rows     []int

	// The packed path's activation rows: x[c*xstride:] for batch row c
	// (float types) or Q8 records xq[c*qstride:] (Q8_0); direct means
	// outputs go straight to Out (rows are consecutive).
	x       []float32
	xstride int
	qstride int
	direct  bool

	path                          matPath
	prepareFn, runFn, prepareQ8Fn func(worker, lo, hi int)
	prepareTilesFn                func(worker, lo, hi int)
	packedGroups, packedBlock     int
}

type matPath int

const (
	pathRows   matPath = iota // single-row kernels, each activation row over an L1-sized block of weights
	pathGemm                  // integer matrix-matrix tiles
	pathPacked                // packed float kernels
)

// workerScratch is one worker's buffers for the matrix-matrix path.
type workerScratch struct {
	q     tensor.QAct
	panel []byte
}

// NewWorkspace returns an empty workspace; buffers grow on first use.
func NewWorkspace() *Workspace {
	ws := &Workspace{}
	ws.prepareFn = ws.prepare
	ws.runFn = ws.run
	ws.prepareQ8Fn = ws.prepareQ8
	ws.prepareTilesFn = ws.prepareTiles
	return ws
}

// Tuning: a task below minTaskBytes of weight traffic is not worth waking
// another worker for, and activation rows are prepared in parallel only
// when there are at least minParallelPrepare elements.
const (
	minTaskBytes       = 48 << 10
	minParallelPrepare = 1 << 16
	weightBlockBytes   = 24 << 10 // weight rows revisited per activation row stay in L1
	// The packed kernels take activation rows up to eight at a time; for
	// more, a worker's weight tiles are revisited in blocks this big, so
	// they come from L2 after the first group.
	packedBlockBytes = 256 << 10
	// From this many activation rows on, the integer types use their
	// matrix-matrix kernel (one pass over the weights for 16 rows at a
	// time). Fewer rows run one by one through the single-row kernel, so
	// each row's product has the bits of a single-row step: a drafting
	// round's verify pass (up to 8 drafts + 1) then reproduces plain
	// decoding exactly. Up to 6 rows this is also as fast as the tiles
	// (which pad to 16); at 9 it costs about 1.5x. (The float types'
	// packed kernels are batch-invariant at every size.)
	minGemmRows = 10
)

// MatMul computes out[r*outStride : +W.Rows] = W · in[r*inStride : +W.Cols]
// for every activation row r in rows. Each activation row is first put in
// the encoding W's kernels consume; then weight rows are split across the
// pool.
func MatMul(pool *parallel.Pool, w *tensor.Matrix, in []float32, inStride int, out []float32, outStride int, rows []int, ws *Workspace) {
	ws.one[0] = Product{W: w, Out: out, OutStride: outStride}
	MatMuls(pool, in, inStride, rows, ws, ws.one[:])
}

// MatMuls computes several products of the same activation rows (a
// layer's Q, K and V projections, or its gate and up projections) in one
// parallel loop, which hands work to the pool once instead of once per
// matrix. The matrices must have the same Cols; if their types differ
// (a quantized file may mix them) they run one after another.
func MatMuls(pool *parallel.Pool, in []float32, inStride int, rows []int, ws *Workspace, prods []Product) {
	n := len(rows)
	if n == 0 || len(prods) == 0 {
		return
	}
	w := prods[0].W
	for _, p := range prods[1:] {
		if p.W.Type != w.Type || p.W.Cols != w.Cols {
			for i := range prods {
				MatMuls(pool, in, inStride, rows, ws, prods[i:i+1])
			}
			return
		}
	}
	if len(ws.acts) < n {
		ws.acts = append(ws.acts, make([]tensor.Act, n-len(ws.acts))...)
	}
	if len(ws.workers) < pool.Workers() {
		ws.workers = make([]workerScratch, pool.Workers())
	}
	ws.prods, ws.in, ws.inStride, ws.rows = prods, in, inStride, rows
	switch {
	case tensor.HasPacked(w.Type) || w.HasPackedQ8():
		ws.path = pathPacked
		ws.preparePacked(pool)
	case n >= minGemmRows && tensor.HasGemm(w.Type):
		ws.path = pathGemm
		ws.tiles.Reset(n, w.Cols)
		if n*w.Cols >= minParallelPrepare {
			pool.For(n, 1, ws.prepareTilesFn)
		} else {
			ws.prepareTiles(0, 0, n)
		}
	default:
		ws.path = pathRows
		if n*w.Cols >= minParallelPrepare {
			pool.For(n, 1, ws.prepareFn)
		} else {
			ws.prepare(0, 0, n)
		}
	}
	// Work units: 32-row tiles (packed), 8-row panels (gemm) or rows.
	ws.start = append(ws.start[:0], 0)
	unitBytes := 0
	for _, p := range prods {
		units, b := ws.units(p.W)
		ws.start = append(ws.start, ws.start[len(ws.start)-1]+units)
		unitBytes = max(unitBytes, b)
	}
	total := ws.start[len(ws.start)-1]
	pool.For(total, max(1, minTaskBytes/max(1, unitBytes*n)), ws.runFn)
	ws.prods, ws.in, ws.rows, ws.x = nil, nil, nil, nil
}

// units is how many work units w splits into on the current path, and the
// weight bytes of one.
func (ws *Workspace) units(w *tensor.Matrix) (units, bytes int) {
	switch ws.path {
	case pathPacked:
		return w.PackedTiles(), tensor.PackTileRows * w.RowBytes
	case pathGemm:
		return (w.Rows + 7) / 8, 8 * w.RowBytes
	}
	return w.Rows, w.RowBytes
}

// run does work units [lo, hi) of every product they cover.
func (ws *Workspace) run(worker, lo, hi int) {
	for i, p := range ws.prods {
		a, b := max(lo, ws.start[i]), min(hi, ws.start[i+1])
		if a >= b {
			continue
		}
		a, b = a-ws.start[i], b-ws.start[i]
		switch ws.path {
		case pathPacked:
			ws.mulPacked(i, p, a, b)
		case pathGemm:
			p.W.MulTiles(8*a, min(8*b, p.W.Rows), &ws.tiles, &ws.workers[worker].panel, p.Out, p.OutStride, ws.rows)
		default:
			ws.mulRows(p, a, b)
		}
	}
}

func (ws *Workspace) prepare(_, lo, hi int) {
	w := ws.prods[0].W
	for i := lo; i < hi; i++ {
		r := ws.rows[i]
		ws.acts[i].Prepare(w.Type, ws.in[r*ws.inStride:r*ws.inStride+w.Cols])
	}
}

// mulRows runs weight rows [lo, hi) of p through the single-row kernel,
// every activation row over one L1-sized block of weight rows at a time.
func (ws *Workspace) mulRows(p Product, lo, hi int) {
	w := p.W
	block := hi - lo
	if len(ws.rows) > 1 {
		block = max(1, weightBlockBytes/w.RowBytes)
	}
	for b0 := lo; b0 < hi; b0 += block {
		b1 := min(hi, b0+block)
		for i, r := range ws.rows {
			o := p.Out[r*p.OutStride:]
			w.DotRows(b0, b1, &ws.acts[i], o[b0:b1])
		}
	}
}

// preparePacked readies the activation rows the packed kernels read: for
// Q8_0, their Q8 records; for the float types, in itself when the rows
// are consecutive and their length even, else a gathered copy padded with
// a zero to whole pairs.
func (ws *Workspace) preparePacked(pool *parallel.Pool) {
	w := ws.prods[0].W
	n, cols, pc := len(ws.rows), w.Cols, w.PackedCols()
	ws.direct = true
	for i, r := range ws.rows {
		ws.direct = ws.direct && r == ws.rows[0]+i
	}
	switch {
	case w.Type.ActFormat() == tensor.ActQ8: // Q8_0, or a packed Q4_0 draft copy
		ws.qstride = cols / 32 * tensor.Q8RecordBytes
		if cap(ws.xq) < n*ws.qstride {
			ws.xq = make([]byte, n*ws.qstride)
		}
		ws.xq = ws.xq[:n*ws.qstride]
		if n*cols >= minParallelPrepare {
			pool.For(n, 1, ws.prepareQ8Fn)
		} else {
			ws.prepareQ8(0, 0, n)
		}
	case ws.direct && cols == pc:
		ws.x, ws.xstride = ws.in[ws.rows[0]*ws.inStride:], ws.inStride
	default:
		ws.xk = grow(ws.xk, n*pc)
		for i, r := range ws.rows {
			copy(ws.xk[i*pc:i*pc+cols], ws.in[r*ws.inStride:r*ws.inStride+cols])
			if pc > cols {
				ws.xk[i*pc+cols] = 0
			}
		}
		ws.x, ws.xstride = ws.xk, pc
	}
	if !ws.direct {
		size := 0
		for _, p := range ws.prods {
			size += n * p.W.Rows
		}
		ws.yk = grow(ws.yk, size)
	}
	// Activation rows go in groups of at most eight, as even as possible.
	ws.packedGroups = (n + tensor.MaxPackedK - 1) / tensor.MaxPackedK
	ws.packedBlock = max(1, packedBlockBytes/(tensor.PackTileRows*w.RowBytes))
}

// mulPacked runs tiles [lo, hi) of product i (p) for every activation row.
func (ws *Workspace) mulPacked(i int, p Product, lo, hi int) {
	n, w := len(ws.rows), p.W
	out, ostride := p.Out, p.OutStride
	if ws.direct {
		out = out[ws.rows[0]*ostride:]
	} else {
		off := 0
		for _, q := range ws.prods[:i] {
			off += n * q.W.Rows
		}
		out, ostride = ws.yk[off:off+n*w.Rows], w.Rows
	}
	for b0 := lo; b0 < hi; b0 += ws.packedBlock {
		b1 := min(hi, b0+ws.packedBlock)
		c0 := 0
		for g := 0; g < ws.packedGroups; g++ {
			k := (n - c0) / (ws.packedGroups - g)
			if w.Type.ActFormat() == tensor.ActQ8 {
				w.MulPackedQ8(b0, b1, ws.xq[c0*ws.qstride:], ws.qstride, k, out[c0*ostride:], ostride)
			} else {
				w.MulPacked(b0, b1, ws.x[c0*ws.xstride:], ws.xstride, k, out[c0*ostride:], ostride)
			}
			c0 += k
		}
	}
	if !ws.direct {
		r0, r1 := lo*tensor.PackTileRows, min(hi*tensor.PackTileRows, w.Rows)
		for c, r := range ws.rows {
			copy(p.Out[r*p.OutStride+r0:r*p.OutStride+r1], out[c*ostride+r0:c*ostride+r1])
		}
	}
}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

func (ws *Workspace) prepareQ8(worker, lo, hi int) {
	w := ws.prods[0].W
	for i := lo; i < hi; i++ {
		r := ws.rows[i]
		tensor.PrepareQ8Record(ws.in[r*ws.inStride:r*ws.inStride+w.Cols], ws.xq[i*ws.qstride:(i+1)*ws.qstride], &ws.workers[worker].q)
	}
}

func (ws *Workspace) prepareTiles(worker, lo, hi int) {
	w := ws.prods[0].W
	for i := lo; i < hi; i++ {
		r := ws.rows[i]
		ws.tiles.SetRow(i, ws.in[r*ws.inStride:r*ws.inStride+w.Cols], &ws.workers[worker].q)
	}
}
