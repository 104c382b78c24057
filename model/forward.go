package model

import (
	"fmt"
	"math"

	"github.com/d3-project/d3/depth"
	"github.com/d3-project/d3/kernels"
	"github.com/d3-project/d3/parallel"
)

// Batch is one forward pass: several token rows, each with its own position,
// cache and layer plan. Rows of the same sequence must come in increasing
// position order (a prefill chunk or a block of drafts to verify).
type Batch struct {
	Tokens []int
	Pos    []int
	Caches []*Cache
	// Plans[r] says which layers row r runs; a nil slice or nil entry runs
	// every layer. A skipped layer is the identity on the hidden state.
	Plans []depth.Plan
	// Propagate[r] makes layers that row r skips still write their K/V,
	// projected from the hidden state as it arrives (K/V mode "propagate").
	Propagate []bool
	// Logits[r] asks for row r's logits; nil asks for every row.
	Logits []bool
	// Draft[r] lets row r run on a draft copy of the weights
	// (Model.PrepareDraft; without it, on the model's): a lossless
	// drafting proposal, which the verify pass checks at full precision.
	Draft []DraftCopy
}

// LayerHook sees each layer's input and output hidden state for the rows
// that ran it (for analysis); it must not keep the slices.
type LayerHook func(layer, row int, in, out []float32)

// State holds every buffer one forward pass needs, sized once for a
// maximum number of rows, so the per-token path allocates nothing.
type State struct {
	m       *Model
	pool    *parallel.Pool
	maxRows int

	x, xb, q, k, v, att, gate, up []float32 // row-major activations
	cos, sin                      []float32 // maxRows × headDim/2: a row's rotation angles
	ropeC, ropeS                  []float32 // maxRows × headDim: the same expanded (kernels.RoPEAngles)
	logits                        []float32 // grows with the number of logit rows
	logitRow                      []int     // batch row -> index in logits, -1 if none
	scratch                       *kernels.Workspace
	prods                         [3]kernels.Product       // the fused products of a layer
	groups                        [numDraftCopies]rowGroup // a layer's rows by the weights they run on
	used                          []rowGroup               // the non-empty groups of the layer
	heads                         [numDraftCopies][]int    // logit rows by output matrix
	draft                         [numDraftCopies]*draftWeights
	layer                         *Layer // the layer in progress (its norms and biases)
	phase                         rowPhase
	phaseRows                     []int
	rowPhaseFn                    func(worker, lo, hi int)
	attn                          []attnScratch // per worker
	attnTasks                     []attnTask
	seqStart, seqRows             []int
	seqDone                       []bool
	attnBatch                     *Batch
	attnLayer                     int
	attnScale                     float32 // 1/√headDim, applied to the queries after RoPE
	attnFn                        func(worker, lo, hi int)
	run, write, need              []int // row lists of the current layer
	entry                         []int // row -> its cache entry index at this layer
	hookIn                        []float32

	Hook LayerHook
}

// NewState allocates buffers for batches of up to maxRows rows.
func NewState(m *Model, pool *parallel.Pool, maxRows int) *State {
	c := &m.Config
	w := pool.Workers()
	st := &State{m: m, pool: pool, maxRows: maxRows}
	st.x = make([]float32, maxRows*c.Hidden)
	st.xb = make([]float32, maxRows*max(c.Hidden, c.QDim()))
	st.q = make([]float32, maxRows*c.QDim())
	st.k = make([]float32, maxRows*c.KVDim())
	st.v = make([]float32, maxRows*c.KVDim())
	st.att = make([]float32, maxRows*c.QDim())
	st.gate = make([]float32, maxRows*c.Intermediate)
	st.up = make([]float32, maxRows*c.Intermediate)
	st.cos = make([]float32, maxRows*c.HeadDim/2)
	st.sin = make([]float32, maxRows*c.HeadDim/2)
	st.ropeC = make([]float32, maxRows*c.HeadDim)
	st.ropeS = make([]float32, maxRows*c.HeadDim)
	st.logitRow = make([]int, maxRows)
	st.scratch = kernels.NewWorkspace()
	st.attn = make([]attnScratch, w)
	st.seqDone = make([]bool, maxRows)
	st.attnFn = st.attnWorker
	st.attnScale = float32(1 / math.Sqrt(float64(c.HeadDim)))
	st.run = make([]int, 0, maxRows)
	st.write = make([]int, 0, maxRows)
	st.need = make([]int, 0, maxRows)
	st.entry = make([]int, maxRows)
	st.rowPhaseFn = st.rowPhase
	return st
}

// MaxRows is the largest batch this state accepts.
func (st *State) MaxRows() int { return st.maxRows }

// Logits returns the logits of batch row r from the last Forward (nil if
// that row's logits were not requested). The slice is reused by the next call.
func (st *State) Logits(r int) []float32 {
	i := st.logitRow[r]
	if i < 0 {
		return nil
	}
	v := st.m.Config.VocabSize
	return st.logits[i*v : (i+1)*v]
}

func (b *Batch) validate(m *Model, maxRows int) error {
	n := len(b.Tokens)
	switch {
	case n == 0:
		return fmt.Errorf("empty batch")
	case n > maxRows:
		return fmt.Errorf("batch of %d rows exceeds the state's %d", n, maxRows)
	case len(b.Pos) != n || len(b.Caches) != n:
		return fmt.Errorf("batch has %d tokens, %d positions, %d caches", n, len(b.Pos), len(b.Caches))
	case b.Plans != nil && len(b.Plans) != n, b.Propagate != nil && len(b.Propagate) != n, b.Logits != nil && len(b.Logits) != n,
		b.Draft != nil && len(b.Draft) != n:
		return fmt.Errorf("batch plan, propagate, logits or draft list does not have %d rows", n)
	}
	L := m.Config.NumLayers
	for r := 0; r < n; r++ {
		if t := b.Tokens[r]; t < 0 || t >= m.Config.VocabSize {
			return fmt.Errorf("row %d: token id %d outside the vocabulary (size %d)", r, t, m.Config.VocabSize)
		}
		if b.Caches[r] == nil {
			return fmt.Errorf("row %d: no cache", r)
		}
		if b.Draft != nil && b.Draft[r] >= numDraftCopies {
			return fmt.Errorf("row %d: unknown draft weights %d", r, b.Draft[r])
		}
		if b.Plans != nil && b.Plans[r] != nil && len(b.Plans[r]) != L {
			return fmt.Errorf("row %d: plan covers %d layers, model has %d", r, len(b.Plans[r]), L)
		}
		c, pos := b.Caches[r], b.Pos[r]
		prev := c.next
		for p := r - 1; p >= 0; p-- {
			if b.Caches[p] == c {
				prev = b.Pos[p] + 1
				break
			}
		}
		if pos < prev {
			return fmt.Errorf("row %d: position %d is not after the sequence's previous position %d", r, pos, prev-1)
		}
		if pos >= c.capacity {
			return fmt.Errorf("row %d: position %d exceeds the context size %d", r, pos, c.capacity)
		}
	}
	return nil
}

// Forward runs the batch through the model, appending K/V to each row's
// cache and computing the requested logits (read them with Logits).
func (st *State) Forward(b *Batch) error {
	m := st.m
	c := &m.Config
	if err := b.validate(m, st.maxRows); err != nil {
		return fmt.Errorf("forward: %w", err)
	}
	n := len(b.Tokens)
	for cp := range st.draft { // the draft copies this pass may use
		st.draft[cp] = nil
		if b.Draft != nil {
			st.draft[cp] = m.drafts.copies[cp].Load()
		}
	}
	H, Q, KV, I := c.Hidden, c.QDim(), c.KVDim(), c.Intermediate
	half, hd := c.HeadDim/2, c.HeadDim
	for r := 0; r < n; r++ {
		b.Caches[r].next = b.Pos[r] + 1
		m.Embed.DequantRow(b.Tokens[r], st.x[r*H:(r+1)*H])
		p := float64(b.Pos[r])
		for i, f := range m.invFreq {
			s, co := math.Sincos(p * f)
			st.cos[r*half+i], st.sin[r*half+i] = float32(co), float32(s)
		}
		kernels.RoPEAngles(st.cos[r*half:(r+1)*half], st.sin[r*half:(r+1)*half], c.RopeInterleaved, st.ropeC[r*hd:(r+1)*hd], st.ropeS[r*hd:(r+1)*hd])
	}
	for l := range m.Layers {
		L := &m.Layers[l]
		st.run, st.write = st.run[:0], st.write[:0]
		for r := 0; r < n; r++ {
			runs := b.Plans == nil || b.Plans[r] == nil || b.Plans[r][l]
			if runs {
				st.run = append(st.run, r)
			}
			if runs || b.Propagate != nil && b.Propagate[r] {
				st.write = append(st.write, r)
			}
		}
		if len(st.write) == 0 {
			continue
		}
		groups := st.weightGroups(b, l)
		if st.Hook != nil {
			st.hookIn = append(st.hookIn[:0], st.x[:n*H]...)
		}
		st.layer = L
		// Attention: norm, projections, RoPE, cache append.
		st.eachRow(st.write, phaseAttnNorm)
		for _, g := range groups {
			if len(g.run) == len(g.write) { // the same rows: one parallel loop for all three
				st.prods[0] = kernels.Product{W: g.L.Wq, Out: st.q, OutStride: Q}
				st.prods[1] = kernels.Product{W: g.L.Wk, Out: st.k, OutStride: KV}
				st.prods[2] = kernels.Product{W: g.L.Wv, Out: st.v, OutStride: KV}
				kernels.MatMuls(st.pool, st.xb, H, g.run, st.scratch, st.prods[:3])
			} else {
				kernels.MatMul(st.pool, g.L.Wk, st.xb, H, st.k, KV, g.write, st.scratch)
				kernels.MatMul(st.pool, g.L.Wv, st.xb, H, st.v, KV, g.write, st.scratch)
				kernels.MatMul(st.pool, g.L.Wq, st.xb, H, st.q, Q, g.run, st.scratch)
			}
		}
		if len(st.run) == len(st.write) {
			st.eachRow(st.run, phaseRoPE)
		} else {
			st.eachRow(st.write, phaseRoPEK)
			st.eachRow(st.run, phaseRoPEQ)
		}
		for _, r := range st.write { // in order: a sequence's entries must ascend
			st.entry[r] = b.Caches[r].append(l, b.Pos[r], st.k[r*KV:(r+1)*KV], st.v[r*KV:(r+1)*KV])
		}
		if len(st.run) == 0 {
			continue
		}
		st.attention(b, l)
		for _, g := range groups {
			kernels.MatMul(st.pool, g.L.Wo, st.att, Q, st.xb, H, g.run, st.scratch)
		}
		// Residual, then the feed-forward: norm, SwiGLU, down projection, residual.
		st.eachRow(st.run, phaseFFNNorm)
		for _, g := range groups {
			st.prods[0] = kernels.Product{W: g.L.Gate, Out: st.gate, OutStride: I}
			st.prods[1] = kernels.Product{W: g.L.Up, Out: st.up, OutStride: I}
			kernels.MatMuls(st.pool, st.xb, H, g.run, st.scratch, st.prods[:2])
		}
		st.eachRow(st.run, phaseSwiGLU)
		for _, g := range groups {
			kernels.MatMul(st.pool, g.L.Down, st.gate, I, st.xb, H, g.run, st.scratch)
		}
		st.eachRow(st.run, phaseResidual)
		if st.Hook != nil {
			for _, r := range st.run {
				st.Hook(l, r, st.hookIn[r*H:(r+1)*H], st.x[r*H:(r+1)*H])
			}
		}
	}
	// Final norm and LM head for the rows that want logits.
	st.need = st.need[:0]
	for r := 0; r < n; r++ {
		st.logitRow[r] = -1
		if b.Logits == nil || b.Logits[r] {
			st.logitRow[r] = len(st.need)
			st.need = append(st.need, r)
		}
	}
	for r := n; r < len(st.logitRow); r++ {
		st.logitRow[r] = -1
	}
	if len(st.need) == 0 {
		return nil
	}
	V := c.VocabSize
	if want := len(st.need) * V; len(st.logits) < want {
		st.logits = make([]float32, want)
	}
	for c := range st.heads {
		st.heads[c] = st.heads[c][:0]
	}
	for i, r := range st.need {
		// Compact the normed rows so logits come out densely packed.
		kernels.RMSNorm(st.xb[i*H:(i+1)*H], st.x[r*H:(r+1)*H], m.Norm, c.NormEps)
		cp := st.copyOf(b, r)
		st.heads[cp] = append(st.heads[cp], i)
	}
	for cp, rows := range st.heads {
		out := m.Output
		if cp != int(DraftModel) {
			if len(rows) == 0 {
				continue
			}
			out = st.draft[cp].output
		}
		kernels.MatMul(st.pool, out, st.xb, H, st.logits, V, rows, st.scratch)
	}
	return nil
}

// rowGroup is the rows of one layer that run on the same weights: the
// model's, or a draft copy's (Batch.Draft).
type rowGroup struct {
	L          *Layer
	run, write []int
}

// copyOf is the weights row r runs on (the model's when the batch asks for
// a copy that was not built).
func (st *State) copyOf(b *Batch, r int) DraftCopy {
	if b.Draft == nil || st.draft[b.Draft[r]] == nil {
		return DraftModel
	}
	return b.Draft[r]
}

// weightGroups splits layer l's rows (st.run, st.write) by the weights
// they use: one group in the usual case, more when drafts of one sequence
// share a pass with another's full-depth rows.
func (st *State) weightGroups(b *Batch, l int) []rowGroup {
	for c := range st.groups {
		g := &st.groups[c]
		g.run, g.write = g.run[:0], g.write[:0]
		g.L = &st.m.Layers[l]
		if c != int(DraftModel) && st.draft[c] != nil {
			g.L = &st.draft[c].layers[l]
		}
	}
	for _, r := range st.write {
		g := &st.groups[st.copyOf(b, r)]
		g.write = append(g.write, r)
	}
	for _, r := range st.run {
		g := &st.groups[st.copyOf(b, r)]
		g.run = append(g.run, r)
	}
	st.used = st.used[:0]
	for _, g := range st.groups {
		if len(g.write) > 0 {
			st.used = append(st.used, g)
		}
	}
	return st.used
}

// The per-row work between the matrix products, as phases that eachRow
// runs over a list of rows: in parallel for a prefill chunk, inline for a
// few rows (a verify pass), where a hand-off per phase costs more than it
// saves.
type rowPhase int

const (
	phaseAttnNorm rowPhase = iota // xb = norm(x), attention norm
	phaseRoPE                     // biases and RoPE of q and k
	phaseRoPEK                    // the same for k only (rows that write K/V but skip the layer)
	phaseRoPEQ                    // and for q only
	phaseFFNNorm                  // x += xb (attention output), xb = norm(x)
	phaseSwiGLU                   // gate = silu(gate)·up
	phaseResidual                 // x += xb (feed-forward output)
)

// minParallelRows is the batch size from which the row phases are split
// across the pool (below it a hand-off costs more than the work).
const minParallelRows = 8

func (st *State) eachRow(rows []int, p rowPhase) {
	st.phase, st.phaseRows = p, rows
	if len(rows) >= minParallelRows {
		st.pool.For(len(rows), 1, st.rowPhaseFn)
	} else {
		st.rowPhase(0, 0, len(rows))
	}
}

func (st *State) rowPhase(_, lo, hi int) {
	c := &st.m.Config
	L := st.layer
	H, Q, KV, I, hd := c.Hidden, c.QDim(), c.KVDim(), c.Intermediate, c.HeadDim
	for _, r := range st.phaseRows[lo:hi] {
		x, xb := st.x[r*H:(r+1)*H], st.xb[r*H:(r+1)*H]
		rc, rs := st.ropeC[r*hd:(r+1)*hd], st.ropeS[r*hd:(r+1)*hd]
		switch st.phase {
		case phaseAttnNorm:
			kernels.RMSNorm(xb, x, L.AttnNorm, c.NormEps)
		case phaseRoPE, phaseRoPEK, phaseRoPEQ:
			if st.phase != phaseRoPEQ {
				k, v := st.k[r*KV:(r+1)*KV], st.v[r*KV:(r+1)*KV]
				if L.Bk != nil {
					kernels.Add(k, L.Bk)
					kernels.Add(v, L.Bv)
				}
				kernels.RoPE(k, hd, rc, rs, c.RopeInterleaved)
			}
			if st.phase != phaseRoPEK {
				q := st.q[r*Q : (r+1)*Q]
				if L.Bq != nil {
					kernels.Add(q, L.Bq)
				}
				kernels.RoPE(q, hd, rc, rs, c.RopeInterleaved)
				kernels.Scale(q, st.attnScale) // the softmax scale, once per query
			}
		case phaseFFNNorm:
			kernels.Add(x, xb)
			kernels.RMSNorm(xb, x, L.FFNNorm, c.NormEps)
		case phaseSwiGLU:
			kernels.SwiGLU(st.gate[r*I:(r+1)*I], st.up[r*I:(r+1)*I])
		case phaseResidual:
			kernels.Add(x, xb)
		}
	}
}

// attention computes each running row's attention output into st.att,
// over the entries its cache holds at layer l up to its own position.
// The work is split by sequence and KV head: one task takes the query
// heads sharing a KV head for a few rows of one sequence, so they read
// its keys and values together (kernels.AttentionHead).
func (st *State) attention(b *Batch, l int) {
	c := &st.m.Config
	group := c.NumHeads / c.NumKVHeads
	// Rows of one sequence, in batch order.
	st.seqStart = st.seqStart[:0]
	st.seqRows = st.seqRows[:0]
	for i, r := range st.run {
		if st.seqDone[i] {
			continue
		}
		st.seqStart = append(st.seqStart, len(st.seqRows))
		for j := i; j < len(st.run); j++ {
			if r2 := st.run[j]; !st.seqDone[j] && b.Caches[r2] == b.Caches[r] {
				st.seqRows = append(st.seqRows, r2)
				st.seqDone[j] = true
			}
		}
	}
	st.seqStart = append(st.seqStart, len(st.seqRows))
	clear(st.seqDone[:len(st.run)])
	rowsPerTask := max(1, attnQueries/group)
	st.attnTasks = st.attnTasks[:0]
	for s := 0; s+1 < len(st.seqStart); s++ {
		for h := 0; h < c.NumKVHeads; h++ {
			for r0 := st.seqStart[s]; r0 < st.seqStart[s+1]; r0 += rowsPerTask {
				st.attnTasks = append(st.attnTasks, attnTask{kvHead: h, lo: r0, hi: min(r0+rowsPerTask, st.seqStart[s+1])})
			}
		}
	}
	st.attnBatch, st.attnLayer = b, l
	st.pool.For(len(st.attnTasks), 1, st.attnFn)
}

// attnQueries is how many queries one attention task takes at most.
const attnQueries = 16

type attnTask struct {
	kvHead int
	lo, hi int // rows st.seqRows[lo:hi], all of one sequence
}

type attnScratch struct {
	qs, out, scores []float32
	counts          []int
}

func (st *State) attnWorker(worker, lo, hi int) {
	c := &st.m.Config
	Q, KV, hd := c.QDim(), c.KVDim(), c.HeadDim
	group := c.NumHeads / c.NumKVHeads
	sc := &st.attn[worker]
	for _, t := range st.attnTasks[lo:hi] {
		rows := st.seqRows[t.lo:t.hi]
		cache := st.attnBatch.Caches[rows[0]]
		lc := &cache.layers[st.attnLayer]
		M := len(rows) * group
		sc.qs, sc.out = growF(sc.qs, M*hd), growF(sc.out, M*hd)
		sc.counts = sc.counts[:0]
		n := 0
		for i, r := range rows {
			count := st.entry[r] + 1
			n = max(n, count)
			for g := 0; g < group; g++ {
				h := t.kvHead*group + g
				copy(sc.qs[(i*group+g)*hd:(i*group+g+1)*hd], st.q[r*Q+h*hd:r*Q+(h+1)*hd])
				sc.counts = append(sc.counts, count)
			}
		}
		sc.scores = growF(sc.scores, M*n)
		kernels.AttentionHead(sc.qs, sc.counts, hd, lc.kt[t.kvHead], lc.v[t.kvHead*hd:], KV, sc.scores, sc.out)
		for i, r := range rows {
			for g := 0; g < group; g++ {
				h := t.kvHead*group + g
				copy(st.att[r*Q+h*hd:r*Q+(h+1)*hd], sc.out[(i*group+g)*hd:(i*group+g+1)*hd])
			}
		}
	}
}

func growF(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n, max(n, 2*cap(s)))
	}
	return s[:n]
}

// AllLogits runs tokens from position 0 at full depth and returns the
// logits of every position (a debugging aid, like llama.cpp's logits dump).
func AllLogits(m *Model, pool *parallel.Pool, tokens []int) ([][]float32, error) {
	const chunk = 64
	st := NewState(m, pool, min(chunk, len(tokens)))
	cache := NewCache(&m.Config, len(tokens))
	out := make([][]float32, 0, len(tokens))
	for start := 0; start < len(tokens); start += chunk {
		n := min(chunk, len(tokens)-start)
		b := &Batch{Tokens: tokens[start : start+n], Pos: make([]int, n), Caches: make([]*Cache, n)}
		for i := range b.Pos {
			b.Pos[i], b.Caches[i] = start+i, cache
		}
		if err := st.Forward(b); err != nil {
			return nil, err
		}
		for i := 0; i < n; i++ {
			out = append(out, append([]float32(nil), st.Logits(i)...))
		}
	}
	return out, nil
}
