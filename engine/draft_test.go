package engine

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/d3-project/d3/defaultmodel"
	"github.com/d3-project/d3/internal/testutil"
	"github.com/d3-project/d3/model"
	"github.com/d3-project/d3/sample"
)

var greedyParams = sample.Params{Temperature: 0, TopP: 1, RepeatPenalty: 1}

func loadBundled(t *testing.T) *Engine {
	t.Helper()
	m, err := model.LoadGGUFBytes(defaultmodel.Name, defaultmodel.GGUF)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	e := New(m, 2, 0)
	t.Cleanup(e.Close)
	return e
}

func TestParseDraftPolicy(t *testing.T) {
	for _, c := range []struct {
		in   string
		want DraftPolicy
	}{
		{"off", DraftPolicy{}}, {"", DraftPolicy{}}, {"d3", DraftPolicy{Kind: DraftD3}},
		{"static:8", DraftPolicy{Kind: DraftStatic, Keep: 8}}, {"auto", DraftPolicy{Kind: DraftAuto}},
		{"static:6,k=3", DraftPolicy{Kind: DraftStatic, Keep: 6, Length: 3}},
		{"auto,weights=q8", DraftPolicy{Kind: DraftAuto, Weights: DraftWeightsQ8}},
		{"static:6,weights=model,k=2", DraftPolicy{Kind: DraftStatic, Keep: 6, Length: 2, Weights: DraftWeightsModel}},
		{"d3,weights=q4", DraftPolicy{Kind: DraftD3}},
	} {
		got, err := ParseDraftPolicy(c.in)
		if err != nil || got != c.want {
			t.Errorf("%q: got %+v, %v", c.in, got, err)
		}
		// String gives back a policy that parses to the same.
		if again, err := ParseDraftPolicy(got.String()); err != nil || again != got {
			t.Errorf("%q: String %q parses to %+v, %v", c.in, got.String(), again, err)
		}
	}
	for _, bad := range []string{"static", "static:0", "static:x", "fast", "auto,k=0", "auto,k=99", "auto,q=2", "auto,weights=q2", "auto,weights="} {
		if _, err := ParseDraftPolicy(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

var arithQuestions = []string{
	"Ivy buys 11 trays of crayons. Each of the trays holds 17 crayons. She uses 51 of them. How many crayons are left?",
	"Tara has 52 apples. Jack has 3 times as many apples as Tara, but loses 134 of them. How many apples does Jack have?",
	"Maya reads 9 pages every hour and reads for 2 hours each day. How many pages does Maya read in 3 days?",
}

// Greedy drafting with every policy reproduces plain greedy decoding.
func TestDraftGreedyIdentical(t *testing.T) {
	e := loadBundled(t)
	var prompts [][]int
	for _, q := range arithQuestions {
		prompts = append(prompts, e.Model.Tokenizer.Encode("Question: "+q+"\nAnswer:", true))
	}
	plain, err := e.GenerateBatch(context.Background(), prompts, Options{MaxNew: 80, Sample: greedyParams}, 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, pol := range []string{"static:4", "static:8,k=3", "static:12", "d3", "auto"} {
		p, _ := ParseDraftPolicy(pol)
		opt := Options{MaxNew: 80, Sample: greedyParams, Draft: p}
		if p.Kind == DraftD3 {
			opt.Planner = mustPlanner(t, 0.9, 16)
		}
		for i, pr := range prompts {
			r, err := e.Generate(context.Background(), pr, opt, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(r.Tokens, plain[i].Tokens) || r.Text != plain[i].Text {
				t.Errorf("%s prompt %d: drafting changed the output:\n%q\nplain:\n%q", pol, i, r.Text, plain[i].Text)
			}
			// Drafting trades extra FLOPs (drafts + k+1 verify rows per
			// round) for fewer sequential steps.
			d := r.Draft
			bound := 1 + float64(d.Drafted+d.Rounds)/float64(len(r.Layers))
			if fr := r.FLOPsRatio(); d.Rounds > 0 && (fr <= 1 || fr > bound) {
				t.Errorf("%s prompt %d: FLOPs ratio %.2f outside (1, %.2f]", pol, i, fr, bound)
			}
			if d.Rounds == 0 && pol != "auto" || d.Accepted > d.Drafted {
				t.Errorf("%s: implausible stats %+v", pol, d)
			}
		}
		// Batched drafting (rows of several sequences, verify blocks of k+1).
		rs, err := e.GenerateBatch(context.Background(), prompts, opt, 3)
		if err != nil {
			t.Fatal(err)
		}
		for i := range rs {
			if !slices.Equal(rs[i].Tokens, plain[i].Tokens) {
				t.Errorf("%s prompt %d: batched drafting changed the output", pol, i)
			}
		}
	}
}

// The golden tiny checkpoints (no tokenizer): drafting reproduces the
// reference full-depth greedy ids.
func TestDraftGoldenTiny(t *testing.T) {
	for _, name := range []string{"tiny-llama", "tiny-llama3", "tiny-qwen2"} {
		dir := testutil.Shared(t, "golden", "tiny", name)
		m, err := model.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		e := New(m, 2, 64)
		prompt, want := goldenFull(t, dir)
		L := m.Config.NumLayers
		for _, pol := range []DraftPolicy{{Kind: DraftStatic, Keep: L - 2}, {Kind: DraftStatic, Keep: L - 1, Length: 6}, {Kind: DraftAuto}} {
			r, err := e.Generate(context.Background(), prompt, Options{MaxNew: len(want), Sample: greedyParams, Draft: pol, IgnoreEOS: true}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(r.Tokens, want) {
				t.Errorf("%s %s: got %v, want %v", name, pol, r.Tokens, want)
			}
		}
		e.Close()
		m.Close()
	}
}

// Sampling with drafts keeps the full model's distribution: T_0 (drafted,
// then accepted or resampled) over many seeds follows the exact full-depth
// next-token distribution (chi-square goodness of fit, fixed seeds,
// significance 0.001).
func TestDraftSamplingDistribution(t *testing.T) {
	dir := testutil.Shared(t, "golden", "tiny", "tiny-llama")
	m, err := model.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	e := New(m, 1, 64)
	defer e.Close()
	prompt, _ := goldenFull(t, dir)
	params := sample.Params{Temperature: 1.5, TopP: 1, RepeatPenalty: 1}
	logits, err := model.AllLogits(m, e.Pool, prompt)
	if err != nil {
		t.Fatal(err)
	}
	probs := make([]float32, m.Config.VocabSize)
	sample.New(params, m.Config.VocabSize).Probs(logits[len(logits)-1], prompt, probs)
	// A shallow draft disagrees often, so both branches of the rule run.
	opt := Options{MaxNew: 1, Sample: params, Draft: DraftPolicy{Kind: DraftStatic, Keep: 5, Length: 2}, IgnoreEOS: true}
	const n = 3000
	counts := make([]float64, len(probs))
	var drafted, accepted int
	for seed := uint64(0); seed < n; seed++ {
		opt.Sample.Seed = 100000 + seed
		// MaxNew 1 leaves no room for drafts: use 3 and look at T_0.
		opt.MaxNew = 3
		r, err := e.Generate(context.Background(), prompt, opt, nil)
		if err != nil {
			t.Fatal(err)
		}
		counts[r.Tokens[0]]++
		drafted += r.Draft.Drafted
		accepted += r.Draft.Accepted
	}
	if accepted == 0 || accepted == drafted {
		t.Fatalf("acceptance %d/%d: the test needs both outcomes", accepted, drafted)
	}
	stat, dof := chiSquare(counts, probs, n)
	crit := chiSquareCritical(dof, 3.090) // z for p = 0.001
	t.Logf("chi-square %.1f with %d degrees of freedom (critical %.1f at 0.001); acceptance %d/%d", stat, dof, crit, accepted, drafted)
	if stat > crit {
		t.Fatalf("drafted sampling does not follow the full model's distribution: chi-square %.1f > %.1f", stat, crit)
	}
	// Sanity: the same statistic rejects the draft model's own distribution.
	draftLogits := draftOnlyLogits(t, e, prompt, opt)
	dprobs := make([]float32, len(probs))
	sample.New(params, m.Config.VocabSize).Probs(draftLogits, prompt, dprobs)
	if s, _ := chiSquare(counts, dprobs, n); s <= crit {
		t.Fatalf("the test cannot tell the draft distribution apart (chi-square %.1f)", s)
	}
}

// chiSquare pools categories with expected count < 5.
func chiSquare(counts []float64, probs []float32, n float64) (float64, int) {
	var stat, poolO, poolE float64
	cats := 0
	for i, p := range probs {
		e := float64(p) * n
		if e < 5 {
			poolO += counts[i]
			poolE += e
			continue
		}
		stat += (counts[i] - e) * (counts[i] - e) / e
		cats++
	}
	if poolE > 0 {
		stat += (poolO - poolE) * (poolO - poolE) / math.Max(poolE, 1e-9)
		cats++
	}
	return stat, cats - 1
}

// chiSquareCritical is the Wilson–Hilferty approximation of the upper
// quantile for dof degrees of freedom at normal quantile z.
func chiSquareCritical(dof int, z float64) float64 {
	k := float64(dof)
	a := 2 / (9 * k)
	return k * math.Pow(1-a+z*math.Sqrt(a), 3)
}

func draftOnlyLogits(t *testing.T, e *Engine, prompt []int, opt Options) []float32 {
	g, err := e.newGen(prompt, Options{Sample: greedyParams, Draft: opt.Draft}, model.NewCache(&e.Model.Config, e.Ctx))
	if err != nil {
		t.Fatal(err)
	}
	st := model.NewState(e.Model, e.Pool, 64)
	if err := g.prefill(st); err != nil {
		t.Fatal(err)
	}
	b := newBatch(8)
	g.fill(&b.Batch) // first draft step
	if err := st.Forward(&b.Batch); err != nil {
		t.Fatal(err)
	}
	return append([]float32(nil), st.Logits(0)...)
}

// Rollback: force a rejection at every position of a round; after the round
// the cache must equal one built by plain full-depth decoding of the
// accepted tokens.
func TestDraftRollbackCache(t *testing.T) {
	e := loadBundled(t)
	prompt := e.Model.Tokenizer.Encode("Question: "+arithQuestions[0]+"\nAnswer:", true)
	plain, err := e.Generate(context.Background(), prompt, Options{MaxNew: 20, Sample: greedyParams}, nil)
	if err != nil {
		t.Fatal(err)
	}
	const k = 5
	V := e.Model.Config.VocabSize
	for reject := 0; reject <= k; reject++ { // reject == k: all accepted
		g, err := e.newGen(prompt, Options{MaxNew: 20, Sample: greedyParams, Draft: DraftPolicy{Kind: DraftStatic, Keep: 8, Length: k}}, model.NewCache(&e.Model.Config, e.Ctx))
		if err != nil {
			t.Fatal(err)
		}
		st := model.NewState(e.Model, e.Pool, 64)
		if err := g.prefill(st); err != nil {
			t.Fatal(err)
		}
		base := len(g.res.Tokens) // T_0 comes out of the prefill's last pass
		b := newBatch(k + 1)
		for g.phase == phaseDraft {
			b.reset()
			g.fill(&b.Batch)
			if err := st.Forward(&b.Batch); err != nil {
				t.Fatal(err)
			}
			if err := g.consume(st, 0, 0); err != nil {
				t.Fatal(err)
			}
		}
		// Force the drafts: correct up to `reject`, then wrong.
		for j := range g.drafts {
			g.drafts[j] = plain.Tokens[base+j]
			if j >= reject {
				g.drafts[j] = (plain.Tokens[base+j] + 1 + j) % V
			}
		}
		b.reset()
		g.fill(&b.Batch)
		if err := st.Forward(&b.Batch); err != nil {
			t.Fatal(err)
		}
		if err := g.consume(st, 0, 0); err != nil {
			t.Fatal(err)
		}
		emitted := len(g.res.Tokens)
		if want := base + min(reject, k) + 1; emitted != want || !slices.Equal(g.res.Tokens, plain.Tokens[:emitted]) {
			t.Fatalf("reject at %d: emitted %v, want the first %d of %v", reject, g.res.Tokens, want, plain.Tokens)
		}
		// Reference cache: plain full-depth prefill of prompt + accepted inputs.
		ref := model.NewCache(&e.Model.Config, e.Ctx)
		seq := append(append([]int(nil), prompt...), plain.Tokens[:emitted-1]...)
		if _, err := prefill(model.NewState(e.Model, e.Pool, 64), ref, seq, 0, false); err != nil {
			t.Fatal(err)
		}
		for l := 0; l < e.Model.Config.NumLayers; l++ {
			if !slices.Equal(g.cache.Positions(l), ref.Positions(l)) {
				t.Fatalf("reject at %d, layer %d: positions %v, want %v", reject, l, g.cache.Positions(l), ref.Positions(l))
			}
			for i := range ref.Entries(l) {
				k1, v1 := g.cache.KV(l, i)
				k2, v2 := ref.KV(l, i)
				if d := maxRel(k1, k2) + maxRel(v1, v2); d > 1e-4 {
					t.Fatalf("reject at %d, layer %d entry %d: K/V differ (rel %.2g)", reject, l, i, d)
				}
			}
		}
		if g.pos != len(seq) || g.tok != plain.Tokens[emitted-1] {
			t.Fatalf("reject at %d: next input %d at %d, want %d at %d", reject, g.tok, g.pos, plain.Tokens[emitted-1], len(seq))
		}
	}
}

func maxRel(a, b []float32) float64 {
	var num, den float64
	for i := range a {
		d := float64(a[i] - b[i])
		num += d * d
		den += float64(b[i]) * float64(b[i])
	}
	return math.Sqrt(num / math.Max(den, 1e-30))
}
