// Package engine runs generation on a loaded model: KV cache slots, the
// per-step layer plan, sampling, stop conditions, streaming, and many
// sequences decoded together in one forward pass.
package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/d3-project/d3/depth"
	"github.com/d3-project/d3/model"
	"github.com/d3-project/d3/parallel"
	"github.com/d3-project/d3/sample"
)

// DefaultPrefillChunk is how many prompt tokens go through one forward pass.
const DefaultPrefillChunk = 256

// Engine owns a model and the worker pool its kernels run on.
type Engine struct {
	Model *model.Model
	Pool  *parallel.Pool
	// Ctx is the context size of each sequence (cache capacity).
	Ctx int

	autoMu sync.Mutex
	auto   map[autoKey]*autoStats

	// states recycles forward-pass states between calls: one sized for a
	// 1B model's prefill chunk holds about 26 MB of buffers, too much to
	// allocate (and collect) per request.
	states sync.Pool
}

// state returns a forward-pass state for batches of up to rows rows.
func (e *Engine) state(rows int) *model.State {
	if st, ok := e.states.Get().(*model.State); ok && st.MaxRows() >= rows {
		return st
	}
	return model.NewState(e.Model, e.Pool, rows)
}

// release hands st back for the next call; the caller must not use it (or
// logits it returned) afterwards.
func (e *Engine) release(st *model.State) {
	st.Hook = nil
	e.states.Put(st)
}

// autoKey identifies the generations whose auto-draft statistics are
// shared: the same base schedule (the candidate plans) and draft weights
// (their step times).
type autoKey struct {
	base    depth.Schedule
	weights DraftWeights
}

// autoStats returns the auto-draft statistics shared by every generation
// with the same base schedule and draft weights.
func (e *Engine) autoStats(base depth.Schedule, weights DraftWeights) (*autoStats, error) {
	e.autoMu.Lock()
	defer e.autoMu.Unlock()
	key := autoKey{base, weights}
	if s, ok := e.auto[key]; ok {
		return s, nil
	}
	s, err := newAutoStats(base, e.Model.Config.NumLayers)
	if err != nil {
		return nil, err
	}
	if e.auto == nil {
		e.auto = map[autoKey]*autoStats{}
	}
	e.auto[key] = s
	return s, nil
}

// New makes an engine using threads workers (<= 0: all CPUs) and a context of
// ctx positions (<= 0 or more than the model's: the model's context length).
func New(m *model.Model, threads, ctx int) *Engine {
	if ctx <= 0 || ctx > m.Config.ContextLen {
		ctx = m.Config.ContextLen
	}
	return &Engine{Model: m, Pool: parallel.New(threads), Ctx: ctx}
}

// Close stops the worker pool (the model stays open).
func (e *Engine) Close() { e.Pool.Close() }

// Options controls one generation.
type Options struct {
	MaxNew int // maximum generated tokens; <= 0 means until EOS or the context ends
	Sample sample.Params
	Stop   []string // stop strings: generation ends before the first occurrence
	// Planner gives the layer plan of each generated token; nil is full depth.
	Planner *depth.Planner
	// LayerPlans, when set, overrides Planner: element i is T_i's plan
	// (element 0 applies to the prompt's last position); steps beyond run
	// full depth.
	LayerPlans []depth.Plan
	// Propagate writes K/V for skipped layers (K/V mode "propagate").
	Propagate bool
	// IgnoreEOS keeps generating past end-of-generation tokens (benchmarks).
	IgnoreEOS bool
	// Draft enables lossless depth skipping (self-speculative decoding).
	Draft DraftPolicy
	// DraftBase supplies the core layers and drop order of static and auto
	// draft plans (zero value: depth.DefaultSchedule()).
	DraftBase depth.Schedule
}

// maxRows is the most batch rows one step of a sequence can need.
func (o *Options) maxRows() int {
	switch o.Draft.Kind {
	case DraftOff:
		return 1
	case DraftAuto:
		return max(o.Draft.length(), autoLengths[len(autoLengths)-1]) + 1
	}
	return o.Draft.length() + 1
}

// Result is what a generation produced.
type Result struct {
	PromptTokens []int
	Tokens       []int // generated ids, EOS excluded
	Text         string
	FinishReason string // "stop" or "length"
	Layers       []int  // layers run for each generated token (EOS included)
	PrefillTime  time.Duration
	DecodeTime   time.Duration
	// DecodeSteps counts the tokens emitted after T_0 (with drafting, a
	// verify pass can emit several).
	DecodeSteps int
	// FLOPs is the matmul work of the generation steps as run, FullFLOPs
	// the same steps at full depth.
	FLOPs, FullFLOPs float64
	// Draft reports lossless drafting (zero when off).
	Draft DraftStats
}

// DecodeTokensPerSecond is decode throughput (steps after T_0 per second of
// decode time); 0 when there were none.
func (r *Result) DecodeTokensPerSecond() float64 {
	if r.DecodeTime <= 0 || r.DecodeSteps == 0 {
		return 0
	}
	return float64(r.DecodeSteps) / r.DecodeTime.Seconds()
}

// MeanLayers is the mean number of layers per generated token (EOS included).
func (r *Result) MeanLayers() float64 {
	if len(r.Layers) == 0 {
		return 0
	}
	sum := 0
	for _, l := range r.Layers {
		sum += l
	}
	return float64(sum) / float64(len(r.Layers))
}

// FLOPsRatio is FLOPs / FullFLOPs (1 at full depth).
func (r *Result) FLOPsRatio() float64 {
	if r.FullFLOPs == 0 {
		return 1
	}
	return r.FLOPs / r.FullFLOPs
}

// ErrPromptTooLong reports a prompt that does not fit the context.
var ErrPromptTooLong = errors.New("prompt does not fit in the context")

// Generate produces a continuation of prompt. onText, when set, receives the
// text as it is generated (never splitting a UTF-8 character and never
// emitting text that a stop string later removes); an error from it stops
// generation and is returned. ctx cancels between steps.
func (e *Engine) Generate(ctx context.Context, prompt []int, opt Options, onText func(string) error) (*Result, error) {
	st := e.state(max(DefaultPrefillChunk, opt.maxRows()))
	defer e.release(st)
	g, err := e.newGen(prompt, opt, model.NewCache(&e.Model.Config, e.Ctx))
	if err != nil {
		return nil, err
	}
	g.onText = onText
	if err := g.prefill(st); err != nil {
		return nil, err
	}
	b := newBatch(opt.maxRows())
	for !g.done {
		if err := ctx.Err(); err != nil {
			g.finish()
			return g.res, err
		}
		b.reset()
		g.fill(&b.Batch)
		t := time.Now()
		if err := st.Forward(&b.Batch); err != nil {
			return nil, fmt.Errorf("engine: step %d: %w", g.step, err)
		}
		if err := g.consume(st, 0, time.Since(t)); err != nil {
			return g.res, err
		}
	}
	return g.res, nil
}

// batch is a reusable model.Batch.
type batch struct{ model.Batch }

func newBatch(rows int) *batch {
	return &batch{model.Batch{Tokens: make([]int, 0, rows), Pos: make([]int, 0, rows), Caches: make([]*model.Cache, 0, rows),
		Plans: make([]depth.Plan, 0, rows), Propagate: make([]bool, 0, rows), Draft: make([]model.DraftCopy, 0, rows)}}
}

func (b *batch) reset() {
	b.Tokens, b.Pos, b.Caches, b.Plans, b.Propagate, b.Draft = b.Tokens[:0], b.Pos[:0], b.Caches[:0], b.Plans[:0], b.Propagate[:0], b.Draft[:0]
}

// GenerateBatch generates a continuation of every prompt with the same
// options, decoding up to rows sequences together in each forward pass
// (each with its own cache and its own layer plan). Results are in prompt
// order; the output of each equals what Generate would give.
func (e *Engine) GenerateBatch(ctx context.Context, prompts [][]int, opt Options, rows int) ([]*Result, error) {
	return e.GenerateEach(ctx, prompts, opt, rows, nil)
}

// GenerateEach is GenerateBatch that also calls done(i, result) as soon as
// prompt i finishes (continuous batching: its slot takes the next prompt at
// once), for callers that save results as they come. An error from done
// stops the run and is returned.
func (e *Engine) GenerateEach(ctx context.Context, prompts [][]int, opt Options, rows int, done func(i int, r *Result) error) ([]*Result, error) {
	if rows <= 0 {
		rows = 1
	}
	rows = min(rows, len(prompts))
	results := make([]*Result, len(prompts))
	if len(prompts) == 0 {
		return results, nil
	}
	prefillState := e.state(DefaultPrefillChunk)
	defer e.release(prefillState)
	st := e.state(rows * opt.maxRows())
	defer e.release(st)
	caches := make([]*model.Cache, rows)
	for i := range caches {
		caches[i] = model.NewCache(&e.Model.Config, e.Ctx)
	}
	slots := make([]*gen, rows)
	slotPrompt := make([]int, rows)
	first := make([]int, rows)
	next := 0
	b := newBatch(rows * opt.maxRows())
	active := make([]int, 0, rows)
	for {
		// Fill free slots with the next prompts.
		for s := range slots {
			for (slots[s] == nil || slots[s].done) && next < len(prompts) {
				caches[s].Reset()
				g, err := e.newGen(prompts[next], opt, caches[s])
				if err != nil {
					return nil, fmt.Errorf("engine: prompt %d: %w", next, err)
				}
				if err := g.prefill(prefillState); err != nil {
					return nil, fmt.Errorf("engine: prompt %d: %w", next, err)
				}
				slots[s], slotPrompt[s] = g, next
				results[next] = g.res
				if g.done && done != nil { // nothing to generate (the context is full)
					if err := done(next, g.res); err != nil {
						return results, err
					}
				}
				next++
			}
		}
		active = active[:0]
		for s, g := range slots {
			if g != nil && !g.done {
				active = append(active, s)
			}
		}
		if len(active) == 0 {
			return results, nil
		}
		if err := ctx.Err(); err != nil {
			return results, err
		}
		b.reset()
		for _, s := range active {
			first[s] = len(b.Tokens)
			slots[s].fill(&b.Batch)
		}
		t := time.Now()
		if err := st.Forward(&b.Batch); err != nil {
			return nil, fmt.Errorf("engine: %w", err)
		}
		dt := time.Since(t)
		for _, s := range active {
			if err := slots[s].consume(st, first[s], dt); err != nil {
				return nil, fmt.Errorf("engine: prompt %d: %w", slotPrompt[s], err)
			}
			if slots[s].done && done != nil {
				if err := done(slotPrompt[s], slots[s].res); err != nil {
					return results, err
				}
			}
		}
	}
}
