package engine

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/d3-project/d3/depth"
	"github.com/d3-project/d3/model"
)

// DraftKind selects how drafts are made for lossless depth skipping.
type DraftKind int

const (
	DraftOff    DraftKind = iota // plain decoding
	DraftD3                      // each draft runs the D³ plan of its position
	DraftStatic                  // every draft runs the plan that keeps N layers
	DraftAuto                    // depth and length chosen online by measured cost
)

// DefaultDraftLength is the number of drafts verified per round.
const DefaultDraftLength = 4

// maxDraftLength bounds the drafts of one round.
const maxDraftLength = 16

// DraftPolicy configures self-speculative decoding: draft tokens with
// layers skipped, verify them in one full-depth batched pass, keep what the
// full model agrees with. The output equals plain decoding's (greedy) or
// has the same distribution (sampling).
type DraftPolicy struct {
	Kind    DraftKind
	Keep    int // layers a static draft runs
	Length  int // drafts per round (0: DefaultDraftLength)
	Weights DraftWeights
}

// DraftWeights selects the weights drafts run on.
type DraftWeights int

const (
	// DraftWeightsQ4 (the default): a Q4_0 copy of a float checkpoint's
	// matrices (model.Model.PrepareDraft), which a draft step reads in a
	// quarter of bf16's bytes; quantized checkpoints draft on their own
	// weights.
	DraftWeightsQ4 DraftWeights = iota
	// DraftWeightsQ8: a Q8_0 copy (half of bf16's bytes, drafts a little
	// closer to the model).
	DraftWeightsQ8
	// DraftWeightsModel: the model's own weights (no extra memory).
	DraftWeightsModel
)

func (w DraftWeights) copy() model.DraftCopy {
	switch w {
	case DraftWeightsModel:
		return model.DraftModel
	case DraftWeightsQ8:
		return model.DraftQ8
	}
	return model.DraftQ4
}

// ParseDraftPolicy reads "off", "d3", "static:N" or "auto", optionally
// followed by ",k=LEN" to set the draft length and ",weights=q8" or
// ",weights=model" to draft on a Q8_0 copy or the model's own weights
// instead of a Q4_0 copy.
func ParseDraftPolicy(s string) (DraftPolicy, error) {
	var p DraftPolicy
	name, opts, _ := strings.Cut(strings.TrimSpace(s), ",")
	for _, o := range strings.Split(opts, ",") {
		if o == "" {
			continue
		}
		k, v, ok := strings.Cut(o, "=")
		if ok && k == "weights" {
			switch v {
			case "q8":
				p.Weights = DraftWeightsQ8
			case "q4":
				p.Weights = DraftWeightsQ4
			case "model":
				p.Weights = DraftWeightsModel
			default:
				return p, fmt.Errorf("draft policy %q: option %q (want weights=q8, q4 or model)", s, o)
			}
			continue
		}
		n, err := strconv.Atoi(v)
		if !ok || k != "k" || err != nil || n < 1 || n > maxDraftLength {
			return p, fmt.Errorf("draft policy %q: option %q (want k=1..%d or weights=q8|q4|model)", s, o, maxDraftLength)
		}
		p.Length = n
	}
	switch {
	case name == "" || name == "off":
		p.Kind = DraftOff
	case name == "d3":
		p.Kind = DraftD3
	case name == "auto":
		p.Kind = DraftAuto
	case strings.HasPrefix(name, "static:"):
		n, err := strconv.Atoi(strings.TrimPrefix(name, "static:"))
		if err != nil || n < 1 {
			return p, fmt.Errorf("draft policy %q: static needs a positive layer count", s)
		}
		p.Kind, p.Keep = DraftStatic, n
	default:
		return p, fmt.Errorf("unknown draft policy %q (want off, d3, static:N or auto)", s)
	}
	return p, nil
}

func (p DraftPolicy) String() string {
	var s string
	switch p.Kind {
	case DraftOff:
		return "off"
	case DraftD3:
		s = "d3"
	case DraftStatic:
		s = "static:" + strconv.Itoa(p.Keep)
	case DraftAuto:
		s = "auto"
	}
	if p.Length > 0 {
		s += ",k=" + strconv.Itoa(p.Length)
	}
	switch p.Weights {
	case DraftWeightsModel:
		s += ",weights=model"
	case DraftWeightsQ8:
		s += ",weights=q8"
	}
	return s
}

func (p DraftPolicy) length() int {
	if p.Length > 0 {
		return p.Length
	}
	return DefaultDraftLength
}

// DraftStats reports what drafting did in one generation.
type DraftStats struct {
	Policy      string  `json:"policy"`
	Rounds      int     `json:"rounds"`
	Drafted     int     `json:"drafted"`
	Accepted    int     `json:"accepted"`
	DraftLayers int     `json:"draft_layers"` // layers run by all drafts together
	PlainSteps  int     `json:"plain_steps"`  // steps decoded without drafting (auto backoff, limits)
	AutoDepth   int     `json:"auto_depth,omitempty"`
	AutoLength  int     `json:"auto_length,omitempty"`
	Acceptance  float64 `json:"acceptance_rate"`
	PerRound    float64 `json:"tokens_per_round"`
	MeanDraftL  float64 `json:"mean_draft_layers"`
}

// Finish computes the derived rates from the counts (after summing).
func (d *DraftStats) Finish() { d.finish() }

func (d *DraftStats) finish() {
	if d.Drafted > 0 {
		d.Acceptance = float64(d.Accepted) / float64(d.Drafted)
		d.MeanDraftL = float64(d.DraftLayers) / float64(d.Drafted)
	}
	if d.Rounds > 0 {
		// Each round emits its accepted drafts plus the full model's token.
		d.PerRound = float64(d.Accepted+d.Rounds) / float64(d.Rounds)
	}
}

// staticPlan is the plan a D³ schedule keeping n layers runs (core and
// order from s).
func staticPlan(s depth.Schedule, numLayers, n int) (depth.Plan, error) {
	s.Alpha, s.Start, s.Keep, s.MinLayers = 1, 0, n, 0
	if n >= numLayers {
		return depth.Full(numLayers), nil
	}
	p, err := depth.NewPlanner(s, numLayers)
	if err != nil {
		return nil, err
	}
	return p.Plan(1), nil
}

// setupDraft prepares the draft plans and buffers of one generation.
func (g *gen) setupDraft() error {
	m := g.e.Model
	L := m.Config.NumLayers
	base := g.opt.DraftBase
	if base.Alpha == 0 {
		base = depth.DefaultSchedule()
	}
	switch g.opt.Draft.Kind {
	case DraftStatic:
		if g.opt.Draft.Keep < base.CoreHead+base.CoreTail || g.opt.Draft.Keep > L {
			return fmt.Errorf("draft static:%d: want between the %d core layers and %d", g.opt.Draft.Keep, base.CoreHead+base.CoreTail, L)
		}
		p, err := staticPlan(base, L, g.opt.Draft.Keep)
		if err != nil {
			return err
		}
		g.draftPlan = p
	case DraftAuto:
		s, err := g.e.autoStats(base, g.opt.Draft.Weights)
		if err != nil {
			return err
		}
		g.auto = newAutoChoice(s, L)
	}
	if _, err := m.PrepareDraft(g.opt.Draft.Weights.copy()); err != nil {
		return err
	}
	if !g.sampler.Greedy() {
		n := max(g.opt.Draft.length(), autoLengths[len(autoLengths)-1])
		V := m.Config.VocabSize
		g.draftProbs = make([][]float32, n)
		for i := range g.draftProbs {
			g.draftProbs[i] = make([]float32, V)
		}
		g.probs = make([]float32, V)
		g.residual = make([]float32, V)
	}
	g.drafts = make([]int, 0, max(g.opt.Draft.length(), autoLengths[len(autoLengths)-1]))
	return nil
}
