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

// gen is one sequence's generation in progress. It is a small state
// machine driven by the decoding loops (Generate, GenerateBatch, the
// Scheduler): fill appends the rows of its next forward pass to a batch
// (one row for a plain or draft step, k+1 rows to verify k drafts), consume
// reads their logits back.
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

	step  int // index i of the next token T_i to emit
	tok   int // input token of the next pass (its output is T_step)
	pos   int // its position
	plan  depth.Plan
	done  bool
	start time.Time

	// Drafting state (Options.Draft).
	phase      phase
	drafts     []int       // tokens drafted this round
	draftProbs [][]float32 // their draft distributions (sampling only)
	k          int         // drafts wanted this round
	draftPlan  depth.Plan  // static or auto depth plan (nil: per-position D³)
	auto       *autoChoice
	probs      []float32 // scratch distribution
	residual   []float32
}

type phase int

const (
	phasePlain phase = iota
	phaseDraft
	phaseVerify
)

func (e *Engine) newGen(prompt []int, opt Options, cache *model.Cache) (*gen, error) {
	m := e.Model
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
		history: append(make([]int, 0, len(prompt)+max(opt.MaxNew, 0)+1), prompt...),
	}
	// Without a tokenizer (a checkpoint run on token ids) there is no text.
	if m.Tokenizer != nil {
		g.dec = m.Tokenizer.NewStreamDecoder()
		// The text continues the prompt, so a SentencePiece word boundary
		// at its start is a real space (as llama.cpp prints it).
		g.dec.KeepLeadingSpace()
	}
	if opt.Draft.Kind != DraftOff {
		if err := g.setupDraft(); err != nil {
			return nil, fmt.Errorf("engine: %w", err)
		}
	}
	return g, nil
}

// prefill runs the prompt at full depth. The last prompt token is the
// input of step 0, which produces T_0: when that step runs at full depth
// (always, unless a layer plan says otherwise) it goes in the prefill's
// last pass, whose logits are then consumed as step 0's, which saves a
// pass over the weights per request.
func (g *gen) prefill(st *model.State) error {
	g.start = time.Now()
	p := g.res.PromptTokens
	fold := g.planFor(0) == nil
	n := len(p) - 1
	if fold {
		n = len(p)
	}
	row, err := prefill(st, g.cache, p[:n], 0, fold)
	if err != nil {
		return fmt.Errorf("prefill: %w", err)
	}
	g.tok, g.pos = p[len(p)-1], len(p)-1
	g.checkLimits()
	if g.done {
		return nil
	}
	if fold {
		g.phase, g.plan = phasePlain, nil
		return g.consume(st, row, 0)
	}
	if g.opt.Draft.Kind != DraftOff {
		g.planRound()
	}
	return nil
}

// prefill runs tokens at positions start.. through st in chunks. With
// last, the final token's logits are computed and its row in st's last
// pass is returned.
func prefill(st *model.State, cache *model.Cache, tokens []int, start int, last bool) (int, error) {
	n := st.MaxRows()
	b := &model.Batch{Tokens: make([]int, 0, n), Pos: make([]int, 0, n), Caches: make([]*model.Cache, 0, n), Logits: make([]bool, 0, n)}
	row := -1
	for i := 0; i < len(tokens); i += n {
		end := min(i+n, len(tokens))
		b.Tokens, b.Pos, b.Caches, b.Logits = b.Tokens[:0], b.Pos[:0], b.Caches[:0], b.Logits[:0]
		for j := i; j < end; j++ {
			b.Tokens = append(b.Tokens, tokens[j])
			b.Pos = append(b.Pos, start+j)
			b.Caches = append(b.Caches, cache)
			b.Logits = append(b.Logits, last && j == len(tokens)-1)
		}
		if err := st.Forward(b); err != nil {
			return -1, err
		}
		row = end - 1 - i
	}
	return row, nil
}

// checkLimits ends generation when max tokens are reached or the prompt and
// the generated tokens fill the context.
func (g *gen) checkLimits() {
	if g.opt.MaxNew > 0 && g.step >= g.opt.MaxNew || g.pos+1 >= g.cache.Capacity() {
		g.finish()
	}
}

// remaining is how many more tokens may be emitted.
func (g *gen) remaining() int {
	r := g.cache.Capacity() - 1 - g.pos
	if g.opt.MaxNew > 0 {
		r = min(r, g.opt.MaxNew-g.step)
	}
	return r
}

// planFor is the D³ layer plan of step i (nil: full depth).
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

// rows is the number of batch rows the next forward pass needs.
func (g *gen) rows() int {
	if g.phase == phaseVerify {
		return g.k + 1
	}
	return 1
}

// appendRow adds one row to b, running on the given weights.
func appendRow(b *model.Batch, tok, pos int, cache *model.Cache, plan depth.Plan, propagate bool, draft model.DraftCopy) {
	b.Tokens = append(b.Tokens, tok)
	b.Pos = append(b.Pos, pos)
	b.Caches = append(b.Caches, cache)
	b.Plans = append(b.Plans, plan)
	b.Propagate = append(b.Propagate, propagate)
	b.Draft = append(b.Draft, draft)
}

// fill appends this sequence's rows for the next forward pass to b.
func (g *gen) fill(b *model.Batch) {
	switch g.phase {
	case phasePlain:
		if g.opt.Draft.Kind != DraftOff {
			g.plan = nil // drafting decodes the full model's output
		} else {
			g.plan = g.planFor(g.step)
		}
		appendRow(b, g.tok, g.pos, g.cache, g.plan, g.opt.Propagate, model.DraftModel)
	case phaseDraft:
		j := len(g.drafts)
		in := g.tok
		if j > 0 {
			in = g.drafts[j-1]
		}
		g.plan = g.draftPlanAt(g.step + j)
		appendRow(b, in, g.pos+j, g.cache, g.plan, g.opt.Propagate, g.opt.Draft.Weights.copy())
	case phaseVerify:
		// The drafts' reduced-depth entries are replaced by full-depth ones.
		g.cache.Truncate(g.pos)
		appendRow(b, g.tok, g.pos, g.cache, nil, false, model.DraftModel)
		for j, d := range g.drafts {
			appendRow(b, d, g.pos+1+j, g.cache, nil, false, model.DraftModel)
		}
	}
}

// consume takes the logits of the rows fill added (starting at batch row
// r0 of st) after a forward pass that took dt.
func (g *gen) consume(st *model.State, r0 int, dt time.Duration) error {
	switch g.phase {
	case phasePlain:
		if g.auto != nil && dt > 0 { // a step folded into the prefill has no time of its own
			g.auto.observePlain(dt)
		}
		ran, full := stepFLOPs(&g.e.Model.Config, g.cache, g.pos, g.plan, g.opt.Propagate)
		g.res.FLOPs += ran
		g.res.FullFLOPs += full
		g.res.Draft.PlainSteps++
		next := g.sampler.Sample(st.Logits(r0), g.history)
		if err := g.emit(next, g.layers(g.plan)); err != nil || g.done {
			return err
		}
		g.tok = next
		g.pos++
		g.checkLimits()
		if !g.done && g.opt.Draft.Kind != DraftOff {
			g.planRound()
		}
		return nil
	case phaseDraft:
		if g.auto != nil {
			g.auto.observeDraft(dt)
		}
		ran, _ := stepFLOPs(&g.e.Model.Config, g.cache, g.pos+len(g.drafts), g.plan, g.opt.Propagate)
		g.res.FLOPs += ran
		g.res.Draft.DraftLayers += g.layers(g.plan)
		logits := st.Logits(r0)
		hist := append(g.history, g.drafts...)
		var d int
		if g.sampler.Greedy() {
			d = g.sampler.Sample(logits, hist)
		} else {
			p := g.draftProbs[len(g.drafts)]
			g.sampler.Probs(logits, hist, p)
			d = g.sampler.Draw(p)
		}
		g.drafts = append(g.drafts, d)
		if len(g.drafts) == g.k {
			g.phase = phaseVerify
		}
		return nil
	case phaseVerify:
		if g.auto != nil {
			g.auto.observeVerify(g.k, dt)
		}
		return g.verify(st, r0)
	}
	return nil
}

// verify accepts the longest prefix of drafts the full model agrees with
// (speculative sampling's rule when sampling), emits the full model's own
// token after it, and rolls the cache back to the accepted tokens.
func (g *gen) verify(st *model.State, r0 int) error {
	cfg := &g.e.Model.Config
	L := cfg.NumLayers
	accepted := 0
	var next int
	// Every row of the verify pass ran at full depth; each emitted token
	// counts once toward the plain-decoding equivalent (FullFLOPs).
	for j := 0; j <= g.k; j++ {
		ran, _ := stepFLOPs(cfg, g.cache, g.pos+j, nil, false)
		g.res.FLOPs += ran
	}
	for j := 0; j <= g.k; j++ {
		_, full := stepFLOPs(cfg, g.cache, g.pos+j, nil, false)
		g.res.FullFLOPs += full
		logits := st.Logits(r0 + j)
		hist := g.history // includes the drafts accepted so far (emitted below)
		if j == g.k {
			next = g.sampler.Sample(logits, hist) // bonus token after all drafts
			break
		}
		d := g.drafts[j]
		if g.sampler.Greedy() {
			full := g.sampler.Sample(logits, hist)
			if full != d {
				next = full
				break
			}
		} else {
			g.sampler.Probs(logits, hist, g.probs)
			q := g.draftProbs[j]
			if u := g.sampler.Uniform(); float64(q[d]) <= 0 || u >= float64(g.probs[d])/float64(q[d]) {
				// Rejected: resample from the normalised positive part of p − q.
				for i, p := range g.probs {
					g.residual[i] = max(p-q[i], 0)
				}
				if next = g.sampler.Draw(g.residual); next < 0 {
					next = g.sampler.Draw(g.probs)
				}
				break
			}
		}
		accepted++
		if err := g.emit(d, L); err != nil || g.done {
			g.countRound(accepted)
			return err
		}
	}
	g.countRound(accepted)
	if err := g.emit(next, L); err != nil || g.done {
		return err
	}
	// Entries for positions pos..pos+accepted hold full-depth K/V of the
	// accepted inputs; the rest belong to rejected drafts.
	g.pos += accepted + 1
	g.cache.Truncate(g.pos)
	g.tok = next
	g.checkLimits()
	if !g.done {
		g.planRound()
	}
	return nil
}

func (g *gen) countRound(accepted int) {
	g.res.Draft.Rounds++
	g.res.Draft.Drafted += g.k
	g.res.Draft.Accepted += accepted
	if g.auto != nil {
		g.auto.observeRound(g.k, accepted)
	}
	g.res.Draft.finish()
}

// planRound decides the next round: k drafts, or a plain step when drafting
// is not worth it (auto) or the limits leave no room.
func (g *gen) planRound() {
	g.drafts = g.drafts[:0]
	k := g.opt.Draft.length()
	if g.auto != nil {
		var depthPlan depth.Plan
		depthPlan, k = g.auto.next()
		g.draftPlan = depthPlan
	}
	k = min(k, g.remaining()-1)
	if k < 1 || g.draftPlan == nil && g.opt.Draft.Kind != DraftD3 {
		g.phase = phasePlain
		return
	}
	g.k = k
	g.phase = phaseDraft
}

// draftPlanAt is the plan a draft for generated index i runs.
func (g *gen) draftPlanAt(i int) depth.Plan {
	if g.draftPlan != nil {
		return g.draftPlan
	}
	return g.planFor(i)
}

func (g *gen) layers(plan depth.Plan) int {
	if plan == nil {
		return g.e.Model.Config.NumLayers
	}
	return plan.Count()
}

// emit records generated token T_step (layers: the depth it was produced
// at), handling EOS, stop strings, streaming and limits.
func (g *gen) emit(tok, layers int) error {
	m := g.e.Model
	now := time.Now()
	if g.step == 0 {
		g.res.PrefillTime = now.Sub(g.start)
	} else {
		g.res.DecodeSteps++
		g.res.DecodeTime += now.Sub(g.start)
	}
	g.start = now
	g.step++
	g.res.Layers = append(g.res.Layers, layers)
	if !g.opt.IgnoreEOS && isEOS(m, tok) {
		g.res.FinishReason = "stop"
		g.finish()
		return nil
	}
	g.res.Tokens = append(g.res.Tokens, tok)
	g.history = append(g.history, tok)
	if g.dec != nil {
		if err := g.push(g.dec.Push(tok)); err != nil {
			g.finish()
			return err
		}
	}
	if !g.done && g.opt.MaxNew > 0 && g.step >= g.opt.MaxNew {
		g.finish()
	}
	return nil
}

// push passes text through the stop matcher to the result and the callback.
func (g *gen) push(piece string) error {
	out, hit := g.stops.push(piece)
	g.text.WriteString(out)
	if hit {
		g.res.FinishReason = "stop"
		g.done = true
		g.sealResult()
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
	if !g.stops.hit && g.dec != nil {
		if err := g.push(g.dec.Flush()); err != nil {
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
	g.sealResult()
}

func (g *gen) sealResult() {
	g.res.Text = g.text.String()
	if g.opt.Draft.Kind != DraftOff {
		g.res.Draft.Policy = g.opt.Draft.String()
		if g.auto != nil {
			g.res.Draft.AutoDepth, g.res.Draft.AutoLength = g.auto.settled()
		}
		g.res.Draft.finish()
	}
}

func isEOS(m *model.Model, id int) bool {
	for _, e := range m.Config.EOS {
		if e == id {
			return true
		}
	}
	return false
}
