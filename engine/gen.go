package engine

import (
	"fmt"
	"strings"
	"time"

	"github.com/d3-project/d3/depth"
	"github.com/d3-project/d3/model"
	"github.com/d3-project/d3/sample"
	"github.com/d3-project/d3/tokenizer"
)

// gen is one sequence's generation in progress: the step index, the token
// to feed next, its sampler, stop matcher and streaming decoder.
type gen struct {
	e       *Engine
	opt     Options
	cache   *model.Cache
	res     *Result
	sampler *sample.Sampler
	stops   *stopMatcher
	dec     *tokenizer.StreamDecoder
	text    strings.Builder
	history []int
	onText  func(string) error

	step  int // index i of the token T_i the next forward pass produces
	tok   int // input token of the next pass
	pos   int // its position
	plan  depth.Plan
	done  bool
	start time.Time
}

func (e *Engine) newGen(prompt []int, opt Options, cache *model.Cache) (*gen, error) {
	m := e.Model
	if m.Tokenizer == nil {
		return nil, fmt.Errorf("engine: model has no tokenizer")
	}
	if len(prompt) == 0 {
		return nil, fmt.Errorf("engine: empty prompt")
	}
	if len(prompt) > cache.Capacity() {
		return nil, fmt.Errorf("engine: %w: %d tokens, context is %d", ErrPromptTooLong, len(prompt), cache.Capacity())
	}
	if err := opt.Sample.Validate(); err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	g := &gen{
		e: e, opt: opt, cache: cache,
		res:     &Result{PromptTokens: append([]int(nil), prompt...), FinishReason: "length"},
		sampler: sample.New(opt.Sample, m.Config.VocabSize),
		stops:   newStopMatcher(opt.Stop),
		dec:     m.Tokenizer.NewStreamDecoder(),
		history: append(make([]int, 0, len(prompt)+max(opt.MaxNew, 0)+1), prompt...),
	}
	return g, nil
}

// prefill runs every prompt token but the last at full depth; the last
// one is the input of step 0, which produces T_0.
func (g *gen) prefill(st *model.State) error {
	g.start = time.Now()
	p := g.res.PromptTokens
	if err := prefill(st, g.cache, p[:len(p)-1], 0); err != nil {
		return fmt.Errorf("prefill: %w", err)
	}
	g.tok, g.pos = p[len(p)-1], len(p)-1
	g.checkLimits()
	return nil
}

// prefill runs tokens at positions start.. through st in chunks, without logits.
func prefill(st *model.State, cache *model.Cache, tokens []int, start int) error {
	n := st.MaxRows()
	b := &model.Batch{Tokens: make([]int, 0, n), Pos: make([]int, 0, n), Caches: make([]*model.Cache, 0, n), Logits: make([]bool, 0, n)}
	for i := 0; i < len(tokens); i += n {
		end := min(i+n, len(tokens))
		b.Tokens, b.Pos, b.Caches, b.Logits = b.Tokens[:0], b.Pos[:0], b.Caches[:0], b.Logits[:0]
		for j := i; j < end; j++ {
			b.Tokens = append(b.Tokens, tokens[j])
			b.Pos = append(b.Pos, start+j)
			b.Caches = append(b.Caches, cache)
			b.Logits = append(b.Logits, false)
		}
		if err := st.Forward(b); err != nil {
			return err
		}
	}
	return nil
}

// checkLimits ends generation when max tokens are reached or the prompt and
// the generated tokens fill the context.
func (g *gen) checkLimits() {
	if g.opt.MaxNew > 0 && g.step >= g.opt.MaxNew || g.pos+1 >= g.cache.Capacity() {
		g.finish()
	}
}

// planFor is the layer plan of step i (nil: full depth).
func (g *gen) planFor(i int) depth.Plan {
	if g.opt.LayerPlans != nil {
		if i < len(g.opt.LayerPlans) {
			return g.opt.LayerPlans[i]
		}
		return nil
	}
	if g.opt.Planner != nil {
		if p := g.opt.Planner.Plan(i); !p.IsFull() {
			return p
		}
	}
	return nil
}

// fillRow writes this sequence's next step into row r of b.
func (g *gen) fillRow(b *model.Batch, r int) {
	g.plan = g.planFor(g.step)
	b.Tokens[r], b.Pos[r], b.Caches[r] = g.tok, g.pos, g.cache
	b.Plans[r], b.Propagate[r] = g.plan, g.opt.Propagate
}

// accept takes the logits of the step just run, samples T_step and updates
// the result; it finishes the generation on EOS, a stop string or a limit.
func (g *gen) accept(logits []float32) error {
	m := g.e.Model
	next := g.sampler.Sample(logits, g.history)
	ran, full := stepFLOPs(&m.Config, g.cache, g.pos, g.plan, g.opt.Propagate)
	g.res.FLOPs += ran
	g.res.FullFLOPs += full
	if g.plan == nil {
		g.res.Layers = append(g.res.Layers, m.Config.NumLayers)
	} else {
		g.res.Layers = append(g.res.Layers, g.plan.Count())
	}
	now := time.Now()
	if g.step == 0 {
		g.res.PrefillTime = now.Sub(g.start)
	} else {
		g.res.DecodeSteps++
		g.res.DecodeTime += now.Sub(g.start)
	}
	g.start = now
	g.step++
	if !g.opt.IgnoreEOS && isEOS(m, next) {
		g.res.FinishReason = "stop"
		g.finish()
		return nil
	}
	g.res.Tokens = append(g.res.Tokens, next)
	g.history = append(g.history, next)
	if err := g.emit(g.dec.Push(next)); err != nil {
		g.finish()
		return err
	}
	if g.done {
		return nil
	}
	g.tok = next
	g.pos++
	g.checkLimits()
	return nil
}

// emit passes text through the stop matcher to the result and the callback.
func (g *gen) emit(piece string) error {
	out, hit := g.stops.push(piece)
	g.text.WriteString(out)
	if hit {
		g.res.FinishReason = "stop"
		g.done = true
		g.res.Text = g.text.String()
	}
	if g.onText != nil && out != "" {
		return g.onText(out)
	}
	return nil
}

// finish releases held-back text and seals the result.
func (g *gen) finish() {
	if g.done {
		return
	}
	if !g.stops.hit {
		if err := g.emit(g.dec.Flush()); err != nil {
			g.onText = nil
		}
		if !g.stops.hit {
			out := g.stops.flush()
			g.text.WriteString(out)
			if g.onText != nil && out != "" {
				_ = g.onText(out) // the generation is over; a late write error has nowhere to go
			}
		}
	}
	g.done = true
	g.res.Text = g.text.String()
}

func isEOS(m *model.Model, id int) bool {
	for _, e := range m.Config.EOS {
		if e == id {
			return true
		}
	}
	return false
}
