// Package bench measures prefill and decode throughput the way llama-bench
// does (random prompt tokens, decode that never stops at EOS, a warm-up, then
// repetitions summarised as mean ± standard deviation), plus the speed-up of
// a depth-decay (D³) schedule measured against full depth.
package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/d3-project/d3/depth"
	"github.com/d3-project/d3/engine"
	"github.com/d3-project/d3/model"
	"github.com/d3-project/d3/parallel"
	"github.com/d3-project/d3/sample"
	"github.com/d3-project/d3/tensor"
)

// Config is one benchmark.
type Config struct {
	Prompt int // prompt tokens of the prefill test (0: skip)
	Gen    int // generated tokens of the decode test (0: skip)
	Reps   int // repetitions (>= 1)
	// NoWarmup skips the untimed warm-up run (which also faults the
	// memory-mapped weights in).
	NoWarmup bool
	Seed     uint64 // random prompt tokens
	// D³: when Planner or LayerPlans is set, decode is also run under that
	// schedule, alternating with full depth within each repetition.
	Planner    *depth.Planner
	LayerPlans []depth.Plan
	Propagate  bool
	// Draft, when on, decodes with lossless drafting (DraftBase gives the
	// core layers and order of its plans); the output stays full depth.
	Draft     engine.DraftPolicy
	DraftBase depth.Schedule
	// Progress, when set, is told about each finished run.
	Progress func(what string, rep int, tokensPerS float64)
}

// D3 reports whether the config runs a depth-decay schedule.
func (c *Config) D3() bool {
	return c.Planner != nil || c.LayerPlans != nil || c.Draft.Kind != engine.DraftOff
}

// Context is the context size the engine needs for c: the longest test plus
// one position.
func (c *Config) Context() int { return max(c.Prompt, c.Gen+1) + 1 }

// Stats summarises one measurement over the repetitions.
type Stats struct {
	Mean    float64   `json:"mean"`
	Stddev  float64   `json:"stddev"` // sample standard deviation (n-1), 0 for one sample
	Median  float64   `json:"median"`
	Min     float64   `json:"min"`
	Max     float64   `json:"max"`
	Samples []float64 `json:"samples"`
}

// Summarize computes Stats of samples.
func Summarize(samples []float64) Stats {
	s := Stats{Samples: append([]float64(nil), samples...)}
	n := len(samples)
	if n == 0 {
		return s
	}
	sorted := slices.Clone(samples)
	slices.Sort(sorted)
	s.Min, s.Max = sorted[0], sorted[n-1]
	if n%2 == 1 {
		s.Median = sorted[n/2]
	} else {
		s.Median = (sorted[n/2-1] + sorted[n/2]) / 2
	}
	for _, x := range samples {
		s.Mean += x
	}
	s.Mean /= float64(n)
	if n > 1 {
		var ss float64
		for _, x := range samples {
			ss += (x - s.Mean) * (x - s.Mean)
		}
		s.Stddev = math.Sqrt(ss / float64(n-1))
	}
	return s
}

// Report is the result of Run.
type Report struct {
	Prefill *Stats // prompt tokens per second; nil when skipped
	Decode  *Stats // generated tokens per second at full depth; nil when skipped
	// Under a D³ schedule (nil otherwise):
	D3Decode *Stats
	// MeanLayers is the mean layer count of the timed decode steps under the
	// schedule, LayerSpeedup the model's layers over it.
	MeanLayers, LayerSpeedup float64
	// MeasuredSpeedup is D3Decode.Mean / Decode.Mean; the median version
	// uses the medians.
	MeasuredSpeedup, MeasuredSpeedupMedian float64
	// WeightBytesSpeedup is the speed-up of a decoder bound by memory
	// bandwidth: weight bytes read by the timed steps at full depth over
	// those read under the schedule. The LM head and the core layers always
	// run, so it is below LayerSpeedup (Llama-3.2-1B's tied Q6_K head is
	// 28% of a Q4_0 step's bytes).
	WeightBytesSpeedup float64
	// Draft sums the drafting statistics of the timed drafted runs.
	Draft *engine.DraftStats

	// Memory roofline of the decode test (when it ran): a full-depth step
	// reads WeightBytesPerToken bytes of matrices; ReadBandwidth (GB/s) is
	// a plain read of those same bytes with the same threads, timed after
	// each decode repetition; DecodeBandwidthFraction is the median decode
	// rate times WeightBytesPerToken over the median read rate. It
	// compares engines across machines whose bandwidth differs (llama.cpp's
	// reference 1B Q4_0 decode reads 25 of the 52.8 GB/s its machine has).
	WeightBytesPerToken     float64
	ReadBandwidth           *Stats
	DecodeBandwidthFraction float64
}

// greedy is the cheapest sampler: decoding speed should not depend on it.
var greedy = sample.Params{Temperature: 0, TopP: 1, RepeatPenalty: 1}

// Run benchmarks e (whose context must hold cfg.Context() positions).
func Run(ctx context.Context, e *engine.Engine, cfg Config) (*Report, error) {
	if cfg.Prompt < 0 || cfg.Gen < 0 {
		return nil, fmt.Errorf("bench: prompt %d and gen %d tokens must not be negative", cfg.Prompt, cfg.Gen)
	}
	if cfg.Prompt == 0 && cfg.Gen == 0 {
		return nil, errors.New("bench: nothing to measure (prompt and gen are both 0)")
	}
	if cfg.Reps < 1 {
		return nil, fmt.Errorf("bench: repetitions %d must be at least 1", cfg.Reps)
	}
	if need := cfg.Context(); e.Ctx < need {
		return nil, fmt.Errorf("bench: the tests need a context of %d positions, the engine has %d", need, e.Ctx)
	}
	m := e.Model
	if m.Tokenizer == nil {
		return nil, errors.New("bench: the model has no tokenizer")
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0xbe7c4))
	// llama-bench's prompts: BOS when the model adds one, then random ids.
	prompt := func(n int) []int {
		p := make([]int, n)
		for i := range p {
			p[i] = rng.IntN(m.Config.VocabSize)
		}
		if m.Tokenizer.AddsBOS() && m.Config.BOS >= 0 {
			p[0] = m.Config.BOS
		}
		return p
	}
	full := engine.Options{Sample: greedy, IgnoreEOS: true}
	d3 := full
	d3.Planner, d3.LayerPlans, d3.Propagate = cfg.Planner, cfg.LayerPlans, cfg.Propagate
	d3.Draft, d3.DraftBase = cfg.Draft, cfg.DraftBase
	var drafts engine.DraftStats

	// prefillRun times a prompt of n tokens (the last one's step included,
	// as llama-bench's pp test computes the last position's logits).
	prefillRun := func(n int) (float64, error) {
		opt := full
		opt.MaxNew = 1
		res, err := e.Generate(ctx, prompt(n), opt, nil)
		if err != nil {
			return 0, fmt.Errorf("bench: prefill: %w", err)
		}
		return float64(n) / res.PrefillTime.Seconds(), nil
	}
	// decodeRun times n single-token steps after a one-token prompt (the
	// positions of llama-bench's tg test) and returns the layers per step.
	decodeRun := func(n int, opt engine.Options) (float64, []int, error) {
		opt.MaxNew = n + 1
		res, err := e.Generate(ctx, prompt(1), opt, nil)
		if err != nil {
			return 0, nil, fmt.Errorf("bench: decode: %w", err)
		}
		if opt.Draft.Kind != engine.DraftOff {
			drafts.Policy = res.Draft.Policy
			drafts.Rounds += res.Draft.Rounds
			drafts.Drafted += res.Draft.Drafted
			drafts.Accepted += res.Draft.Accepted
			drafts.DraftLayers += res.Draft.DraftLayers
			drafts.PlainSteps += res.Draft.PlainSteps
			drafts.AutoDepth, drafts.AutoLength = res.Draft.AutoDepth, res.Draft.AutoLength
		}
		if res.DecodeSteps != n {
			return 0, nil, fmt.Errorf("bench: decode ran %d steps, want %d", res.DecodeSteps, n)
		}
		return res.DecodeTokensPerSecond(), res.Layers[1:], nil
	}

	reader := newWeightReader(m)
	if !cfg.NoWarmup {
		if cfg.Prompt > 0 {
			if _, err := prefillRun(min(cfg.Prompt, 32)); err != nil {
				return nil, err
			}
		}
		if cfg.Gen > 0 {
			if _, _, err := decodeRun(min(cfg.Gen, 2), full); err != nil {
				return nil, err
			}
			reader.read(e.Pool)
		}
	}
	var pp, tg, tgD3, readGBs []float64
	var layerSum, layerSteps int
	for rep := range cfg.Reps {
		if cfg.Prompt > 0 {
			tps, err := prefillRun(cfg.Prompt)
			if err != nil {
				return nil, err
			}
			pp = append(pp, tps)
			cfg.report("prefill", rep, tps)
		}
		if cfg.Gen == 0 {
			continue
		}
		tps, _, err := decodeRun(cfg.Gen, full)
		if err != nil {
			return nil, err
		}
		tg = append(tg, tps)
		cfg.report("decode", rep, tps)
		readGBs = append(readGBs, reader.read(e.Pool))
		if cfg.D3() {
			tps, layers, err := decodeRun(cfg.Gen, d3)
			if err != nil {
				return nil, err
			}
			tgD3 = append(tgD3, tps)
			for _, l := range layers {
				layerSum += l
			}
			layerSteps += len(layers)
			cfg.report("decode-d3", rep, tps)
		}
	}
	r := &Report{}
	if len(pp) > 0 {
		s := Summarize(pp)
		r.Prefill = &s
	}
	if len(tg) > 0 {
		s := Summarize(tg)
		r.Decode = &s
		bw := Summarize(readGBs)
		r.ReadBandwidth = &bw
		r.WeightBytesPerToken = weightBytes(m, nil, false)
		r.DecodeBandwidthFraction = s.Median * r.WeightBytesPerToken / 1e9 / bw.Median
	}
	if len(tgD3) > 0 {
		s := Summarize(tgD3)
		r.D3Decode = &s
		r.MeanLayers = float64(layerSum) / float64(layerSteps)
		r.LayerSpeedup = float64(m.Config.NumLayers) / r.MeanLayers
		r.MeasuredSpeedup = s.Mean / r.Decode.Mean
		r.MeasuredSpeedupMedian = s.Median / r.Decode.Median
		var ran float64
		for i := 1; i <= cfg.Gen; i++ {
			ran += weightBytes(m, cfg.plan(i), cfg.Propagate)
		}
		r.WeightBytesSpeedup = float64(cfg.Gen) * r.WeightBytesPerToken / ran
		if cfg.Draft.Kind != engine.DraftOff {
			drafts.Finish()
			r.Draft = &drafts
		}
	}
	return r, nil
}

// plan is the layer plan of generated token T_i, as the engine picks it
// (nil: full depth).
func (c *Config) plan(i int) depth.Plan {
	if c.LayerPlans != nil {
		if i < len(c.LayerPlans) {
			return c.LayerPlans[i]
		}
		return nil
	}
	if c.Planner != nil {
		return c.Planner.Plan(i)
	}
	return nil
}

// stepMatrices lists the matrices one decode step reads under plan: the LM
// head, the layers that run, and the K/V projections of skipped layers when
// they propagate.
func stepMatrices(m *model.Model, plan depth.Plan, propagate bool) []*tensor.Matrix {
	ms := []*tensor.Matrix{m.Output}
	for l := range m.Layers {
		L := &m.Layers[l]
		switch {
		case plan == nil || plan.Runs(l):
			ms = append(ms, L.Wq, L.Wk, L.Wv, L.Wo, L.Gate, L.Up, L.Down)
		case propagate:
			ms = append(ms, L.Wk, L.Wv)
		}
	}
	return slices.DeleteFunc(ms, func(x *tensor.Matrix) bool { return x == nil })
}

// weightBytes is the matrix bytes one decode step reads under plan.
func weightBytes(m *model.Model, plan depth.Plan, propagate bool) float64 {
	var b float64
	for _, x := range stepMatrices(m, plan, propagate) {
		b += float64(len(x.KernelBytes()))
	}
	return b
}

// weightReader times a plain read of the bytes a full-depth decode step
// reads, split across the pool like the matrix products are.
type weightReader struct {
	chunks [][]byte
	bytes  float64
	sums   []uint64 // one per worker, so the reads are not optimised away
	readFn func(worker, lo, hi int)
}

func newWeightReader(m *model.Model) *weightReader {
	const chunk = 1 << 20
	r := &weightReader{}
	for _, x := range stepMatrices(m, nil, false) {
		data := x.KernelBytes()
		for d := data; len(d) > 0; {
			n := min(chunk, len(d))
			r.chunks = append(r.chunks, d[:n])
			d = d[n:]
		}
		r.bytes += float64(len(data))
	}
	r.readFn = func(worker, lo, hi int) {
		for _, c := range r.chunks[lo:hi] {
			r.sums[worker] += tensor.SumWords(c)
		}
	}
	return r
}

// read streams the weights once and returns the rate in GB/s.
func (r *weightReader) read(pool *parallel.Pool) float64 {
	if len(r.sums) < pool.Workers() {
		r.sums = make([]uint64, pool.Workers())
	}
	start := time.Now()
	pool.For(len(r.chunks), 1, r.readFn)
	return r.bytes / time.Since(start).Seconds() / 1e9
}

func (c *Config) report(what string, rep int, tps float64) {
	if c.Progress != nil {
		c.Progress(what, rep, tps)
	}
}
