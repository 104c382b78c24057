package sample

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// logitsOf returns log-probabilities, so that softmax gives probs back.
func logitsOf(probs ...float64) []float32 {
	out := make([]float32, len(probs))
	for i, p := range probs {
		out[i] = float32(math.Log(p))
	}
	return out
}

// params returns plain sampling (temperature 1, every filter off).
func params() Params {
	return Params{Temperature: 1, TopP: 1, RepeatPenalty: 1, RepeatLastN: 64, Seed: 1}
}

func checkProbs(t *testing.T, name string, got []float32, want []float64) {
	t.Helper()
	for i := range want {
		if math.Abs(float64(got[i])-want[i]) > 1e-6 {
			t.Errorf("%s: probs %v, want %v", name, got, want)
			return
		}
	}
}

func TestGreedy(t *testing.T) {
	p := params()
	p.Temperature = 0
	s := New(p, 6)
	if got := s.Sample([]float32{0.1, 2, -1, 3.5, 3.4, 0}, nil); got != 3 {
		t.Errorf("argmax = %d, want 3", got)
	}
	if got := s.Sample([]float32{1, 5, 2, 5, 5, 0}, nil); got != 1 {
		t.Errorf("tie: argmax = %d, want lowest id 1", got)
	}
	dst := make([]float32, 6)
	s.Probs([]float32{1, 5, 2, 5, 5, 0}, nil, dst)
	checkProbs(t, "greedy probs", dst, []float64{0, 1, 0, 0, 0, 0})
}

// TestTies checks that top-k and top-p break ties toward lower ids, as a stable
// descending sort would.
func TestTies(t *testing.T) {
	p := params()
	p.TopK = 2
	dst := make([]float32, 6)
	New(p, 6).Probs([]float32{3, 1, 3, 0, 3, 3}, nil, dst)
	checkProbs(t, "top-k ties", dst, []float64{0.5, 0, 0.5, 0, 0, 0})
	p.TopK = 3
	New(p, 6).Probs([]float32{0, 3, 3, 9, 3, 3}, nil, dst)
	e := math.Exp(-6.0)
	z := 1 + 2*e
	checkProbs(t, "top-k ties 3", dst, []float64{0, e / z, e / z, 1 / z, 0, 0})

	// Top-p over six equal tokens: 1/6, 2/6, 3/6 >= 0.4, the three lowest ids.
	p = params()
	p.TopP = 0.4
	New(p, 6).Probs([]float32{2, 2, 2, 2, 2, 2}, nil, dst)
	checkProbs(t, "top-p ties", dst, []float64{1.0 / 3, 1.0 / 3, 1.0 / 3, 0, 0, 0})
}

func TestRepeatPenalty(t *testing.T) {
	p := params()
	p.RepeatPenalty = 2
	s := New(p, 4)
	logits := []float32{2, -1, 0.5, 3}
	// Token 0 three times is still penalized once: 2/2 = 1 (not 2/8);
	// negative -1 is multiplied: -2. Tokens 2 and 3 are untouched.
	dst := make([]float32, 4)
	s.Probs(logits, []int{0, 1, 0, 0}, dst)
	e := []float64{math.Exp(1), math.Exp(-2), math.Exp(0.5), math.Exp(3)}
	z := e[0] + e[1] + e[2] + e[3]
	checkProbs(t, "penalty", dst, []float64{e[0] / z, e[1] / z, e[2] / z, e[3] / z})
	if logits[0] != 2 || logits[1] != -1 {
		t.Errorf("Probs modified the caller's logits: %v", logits)
	}

	// Only the last RepeatLastN tokens count: with 2, history [3 1 0]
	// penalizes 1 and 0 but not 3.
	p.RepeatLastN = 2
	s = New(p, 4)
	s.Probs(logits, []int{3, 1, 0}, dst)
	e[3] = math.Exp(3)
	z = e[0] + e[1] + e[2] + e[3]
	checkProbs(t, "window", dst, []float64{e[0] / z, e[1] / z, e[2] / z, e[3] / z})

	// The penalty can change the greedy choice: 3/1.5 = 2 < 2.5.
	p = params()
	p.Temperature, p.RepeatPenalty = 0, 1.5
	if got := New(p, 2).Sample([]float32{3, 2.5}, []int{0}); got != 1 {
		t.Errorf("greedy after penalty = %d, want 1", got)
	}
	// Out-of-range history ids are ignored.
	if got := New(p, 2).Sample([]float32{3, 2.5}, []int{-1, 7}); got != 0 {
		t.Errorf("greedy with foreign history = %d, want 0", got)
	}
}

// TestFilters checks top-k, top-p, min-p and temperature on a hand-made
// distribution. Ids are shuffled against probability so that nothing relies
// on the input being sorted: p = {1: 0.4, 3: 0.3, 0: 0.15, 4: 0.1, 2: 0.05}.
func TestFilters(t *testing.T) {
	logits := logitsOf(0.15, 0.4, 0.05, 0.3, 0.1)
	cases := []struct {
		name string
		set  func(*Params)
		want []float64
	}{
		{"none", func(p *Params) {}, []float64{0.15, 0.4, 0.05, 0.3, 0.1}},
		// Top two renormalized: 0.4/0.7, 0.3/0.7.
		{"top-k 2", func(p *Params) { p.TopK = 2 }, []float64{0, 4.0 / 7, 0, 3.0 / 7, 0}},
		{"top-k 5 (all)", func(p *Params) { p.TopK = 5 }, []float64{0.15, 0.4, 0.05, 0.3, 0.1}},
		{"top-k 9 (> vocab)", func(p *Params) { p.TopK = 9 }, []float64{0.15, 0.4, 0.05, 0.3, 0.1}},
		// Cumulative 0.4, 0.7, 0.85 >= 0.8: three kept, / 0.85.
		{"top-p 0.8", func(p *Params) { p.TopP = 0.8 }, []float64{0.15 / 0.85, 0.4 / 0.85, 0, 0.3 / 0.85, 0}},
		// 0.4 alone is not >= 0.45, so two kept.
		{"top-p 0.45", func(p *Params) { p.TopP = 0.45 }, []float64{0, 4.0 / 7, 0, 3.0 / 7, 0}},
		{"top-p 0.1", func(p *Params) { p.TopP = 0.1 }, []float64{0, 1, 0, 0, 0}},
		// p_max·0.3 = 0.12: 0.4, 0.3, 0.15 kept.
		{"min-p 0.3", func(p *Params) { p.MinP = 0.3 }, []float64{0.15 / 0.85, 0.4 / 0.85, 0, 0.3 / 0.85, 0}},
		// p_max·0.5 = 0.2: 0.4, 0.3 kept.
		{"min-p 0.5", func(p *Params) { p.MinP = 0.5 }, []float64{0, 4.0 / 7, 0, 3.0 / 7, 0}},
		// p_max·0.2 = 0.08: four kept, / 0.95.
		{"min-p 0.2", func(p *Params) { p.MinP = 0.2 }, []float64{0.15 / 0.95, 0.4 / 0.95, 0, 0.3 / 0.95, 0.1 / 0.95}},
		// Top-p sees the top-k survivors renormalized (0.4/0.7 = 0.57 >=
		// 0.5): one token. Over the original probabilities it would keep two.
		{"top-k 2 then top-p 0.5", func(p *Params) { p.TopK = 2; p.TopP = 0.5 }, []float64{0, 1, 0, 0, 0}},
		// top-k 4 drops 0.05; top-p 0.9 over /0.95: 0.421, 0.737, 0.895, 1.0 -> four kept.
		{"top-k 4, top-p 0.9", func(p *Params) { p.TopK = 4; p.TopP = 0.9 }, []float64{0.15 / 0.95, 0.4 / 0.95, 0, 0.3 / 0.95, 0.1 / 0.95}},
		// ... and min-p 0.3 then cuts 0.1: three kept.
		{"top-k 4, top-p 0.9, min-p 0.3", func(p *Params) { p.TopK = 4; p.TopP = 0.9; p.MinP = 0.3 }, []float64{0.15 / 0.85, 0.4 / 0.85, 0, 0.3 / 0.85, 0}},
		// Temperature after the filters: T = 0.5 squares: 0.16, 0.09 -> /0.25.
		{"top-k 2, T 0.5", func(p *Params) { p.TopK = 2; p.Temperature = 0.5 }, []float64{0, 0.64, 0, 0.36, 0}},
		// T = 2 takes square roots of the top-p 0.8 set.
		{"top-p 0.8, T 2", func(p *Params) { p.TopP = 0.8; p.Temperature = 2 }, sqrtNorm(0.15, 0.4, 0, 0.3, 0)},
	}
	dst := make([]float32, len(logits))
	for _, tc := range cases {
		p := params()
		tc.set(&p)
		if err := p.Validate(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		New(p, len(logits)).Probs(logits, nil, dst)
		checkProbs(t, tc.name, dst, tc.want)
	}
}

func sqrtNorm(ps ...float64) []float64 {
	out := make([]float64, len(ps))
	z := 0.0
	for i, p := range ps {
		out[i] = math.Sqrt(p)
		z += out[i]
	}
	for i := range out {
		out[i] /= z
	}
	return out
}

// TestSelectionLargeVocab compares the partial selections (top-k heap, top-p
// heap) with a brute-force reference on a larger random vocabulary.
func TestSelectionLargeVocab(t *testing.T) {
	const n = 2000
	rng := rand.New(rand.NewPCG(7, 7))
	logits := make([]float32, n)
	for i := range logits {
		logits[i] = float32(rng.NormFloat64() * 3)
	}
	logits[10], logits[11] = logits[500], logits[500] // ties
	// Reference: probabilities at T = 1 over all, sorted descending.
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sortDesc(logits, order)
	for _, tc := range []struct {
		k    int
		topP float64
	}{{50, 1}, {0, 0.9}, {0, 0.5}, {300, 0.7}} {
		cand := order
		if tc.k > 0 {
			cand = order[:tc.k]
		}
		if tc.topP < 1 {
			z := 0.0
			for _, id := range cand {
				z += math.Exp(float64(logits[id] - logits[order[0]]))
			}
			cum := 0.0
			for i, id := range cand {
				cum += math.Exp(float64(logits[id]-logits[order[0]])) / z
				if cum >= tc.topP {
					cand = cand[:i+1]
					break
				}
			}
		}
		want := make([]bool, n)
		for _, id := range cand {
			want[id] = true
		}
		p := params()
		p.TopK, p.TopP = tc.k, tc.topP
		dst := make([]float32, n)
		New(p, n).Probs(logits, nil, dst)
		for id := range dst {
			if (dst[id] > 0) != want[id] {
				t.Errorf("top-k %d top-p %g: token %d kept=%v, want %v", tc.k, tc.topP, id, dst[id] > 0, want[id])
				break
			}
		}
	}
}

// sortDesc is an insertion sort by (logit desc, id asc): slow and obvious.
func sortDesc(w []float32, ids []int) {
	for i := 1; i < len(ids); i++ {
		for j := i; j > 0; j-- {
			a, b := ids[j-1], ids[j]
			if w[b] > w[a] || (w[b] == w[a] && b < a) {
				ids[j-1], ids[j] = b, a
			} else {
				break
			}
		}
	}
}

func TestSeededReproducible(t *testing.T) {
	logits := logitsOf(0.15, 0.4, 0.05, 0.3, 0.1)
	run := func(seed uint64) []int {
		p := params()
		p.Seed = seed
		s := New(p, len(logits))
		out := make([]int, 200)
		for i := range out {
			out[i] = s.Sample(logits, out[:i])
		}
		return out
	}
	a, b, c := run(42), run(42), run(43)
	same := true
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("seed 42 differs at %d: %d vs %d", i, a[i], b[i])
		}
		same = same && a[i] == c[i]
	}
	if same {
		t.Error("seeds 42 and 43 gave identical sequences")
	}
}

// TestSampleMatchesProbs draws many tokens and checks their frequencies
// against Probs with a chi-square bound, and that Sample equals
// Draw(Probs) under the same RNG state.
func TestSampleMatchesProbs(t *testing.T) {
	logits := []float32{2, 1, 0.5, 0, -1, -3, 1.5, 0.2}
	history := []int{0, 6}
	p := params()
	p.Temperature, p.TopK, p.TopP, p.MinP, p.RepeatPenalty = 0.9, 6, 0.95, 0.05, 1.3
	s := New(p, len(logits))
	probs := make([]float32, len(logits))
	s.Probs(logits, history, probs)

	const draws = 20000
	counts := make([]int, len(logits))
	for range draws {
		counts[s.Sample(logits, history)]++
	}
	chi2, df := 0.0, -1
	for id, q := range probs {
		if q == 0 {
			if counts[id] != 0 {
				t.Errorf("token %d has probability 0 but was drawn %d times", id, counts[id])
			}
			continue
		}
		exp := float64(q) * draws
		chi2 += (float64(counts[id]) - exp) * (float64(counts[id]) - exp) / exp
		df++
	}
	// 99.9th percentile of chi-square: 16.27 for 3 degrees of freedom,
	// 20.52 for 5; allow the larger.
	if df < 2 || chi2 > 20.52 {
		t.Errorf("chi-square %.2f with %d degrees of freedom; probs %v counts %v", chi2, df, probs, counts)
	}

	a, b := New(p, len(logits)), New(p, len(logits))
	for i := range 500 {
		b.Probs(logits, history, probs)
		if x, y := a.Sample(logits, history), b.Draw(probs); x != y {
			t.Fatalf("draw %d: Sample %d, Draw(Probs) %d", i, x, y)
		}
	}
}

func TestNoAllocs(t *testing.T) {
	const n = 4096
	rng := rand.New(rand.NewPCG(1, 2))
	logits := make([]float32, n)
	for i := range logits {
		logits[i] = float32(rng.NormFloat64() * 4)
	}
	history := []int{1, 2, 3, 2, 1, 4000}
	dst := make([]float32, n)
	for name, set := range map[string]func(*Params){
		"default": func(p *Params) {},
		"greedy":  func(p *Params) { p.Temperature = 0 },
		"no top-k": func(p *Params) {
			p.TopK = 0
			p.RepeatPenalty = 1.1
		},
		"only min-p": func(p *Params) { p.TopK, p.TopP = 0, 1 },
	} {
		p := DefaultParams()
		set(&p)
		s := New(p, n)
		if a := testing.AllocsPerRun(50, func() { s.Sample(logits, history) }); a != 0 {
			t.Errorf("%s: Sample allocates %v times per call", name, a)
		}
		if a := testing.AllocsPerRun(20, func() { s.Probs(logits, history, dst) }); a != 0 {
			t.Errorf("%s: Probs allocates %v times per call", name, a)
		}
	}
}

func TestValidate(t *testing.T) {
	if err := DefaultParams().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	cases := []struct {
		name string
		set  func(*Params)
		want string
	}{
		{"negative temperature", func(p *Params) { p.Temperature = -0.1 }, "temperature"},
		{"top-p 0", func(p *Params) { p.TopP = 0 }, "top-p"},
		{"top-p 1.5", func(p *Params) { p.TopP = 1.5 }, "top-p"},
		{"min-p 1", func(p *Params) { p.MinP = 1 }, "min-p"},
		{"min-p negative", func(p *Params) { p.MinP = -0.1 }, "min-p"},
		{"top-k negative", func(p *Params) { p.TopK = -1 }, "top-k"},
		{"penalty 0", func(p *Params) { p.RepeatPenalty = 0 }, "repeat penalty"},
		{"penalty negative", func(p *Params) { p.RepeatPenalty = -1 }, "repeat penalty"},
		{"last-n -2", func(p *Params) { p.RepeatLastN = -2 }, "repeat-last-n"},
		{"NaN top-p", func(p *Params) { p.TopP = math.NaN() }, "top-p"},
	}
	for _, tc := range cases {
		p := DefaultParams()
		tc.set(&p)
		err := p.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
	for _, ok := range []func(*Params){
		func(p *Params) { p.Temperature = 0 },
		func(p *Params) { p.TopP = 1; p.MinP = 0; p.TopK = 0 },
		func(p *Params) { p.RepeatLastN = -1 },
	} {
		p := DefaultParams()
		ok(&p)
		if err := p.Validate(); err != nil {
			t.Errorf("valid params rejected: %v", err)
		}
	}
}

func BenchmarkSample(b *testing.B) {
	const n = 32000
	rng := rand.New(rand.NewPCG(3, 4))
	logits := make([]float32, n)
	for i := range logits {
		logits[i] = float32(rng.NormFloat64() * 4)
	}
	for name, set := range map[string]func(*Params){
		"default":  func(p *Params) {},
		"no-top-k": func(p *Params) { p.TopK = 0 },
		"greedy":   func(p *Params) { p.Temperature = 0 },
	} {
		b.Run(name, func(b *testing.B) {
			p := DefaultParams()
			set(&p)
			s := New(p, n)
			for b.Loop() {
				s.Sample(logits, nil)
			}
		})
	}
}

// TestGreedyFastPath: greedy sampling without a penalty (which skips the
// copy of the logits) picks what the general path picks, NaNs and ties
// included.
func TestGreedyFastPath(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for _, logits := range [][]float32{
		{1, 3, 2}, {3, 3, 1}, {nan, 1, 2}, {nan, nan}, {float32(math.Inf(-1)), nan, float32(math.Inf(-1))},
		{-5, nan, -1, -1}, {inf, 1, inf},
	} {
		fast := New(Params{Temperature: 0, TopP: 1, RepeatPenalty: 1}, len(logits)).Sample(logits, nil)
		general := argmax(New(Params{Temperature: 0, TopP: 1, RepeatPenalty: 1}, len(logits)).penalize(logits, nil))
		if fast != general {
			t.Errorf("%v: fast path picks %d, general path %d", logits, fast, general)
		}
	}
}
