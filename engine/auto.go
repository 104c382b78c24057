package engine

import (
	"math"
	"slices"
	"sync"
	"time"

	"github.com/d3-project/d3/depth"
)

// The auto draft policy picks a draft depth and length online to maximise
// emitted tokens per second, from measured step times and acceptance, and
// falls back to plain decoding (with growing back-off between probes) when
// no drafting setting beats it. What it learns is kept per engine, so
// later generations start from earlier measurements.
//
// Acceptance is modelled per draft position, not as one rate: a draft is
// more likely to be accepted when the ones before it were (easy stretches
// of text come in runs), so a single per-draft rate undervalues long
// rounds. For each candidate depth, reach[j] counts the rounds whose j-th
// draft was checked and reject[j] those that rejected it; the expected
// tokens of a round of length k are 1 + Σ_{j≤k} S(j), S(j) the estimated
// probability that the first j drafts are all accepted.

var autoLengths = [...]int{2, 3, 4, 6, 8}

// timing estimates a step's duration as the median of its last samples:
// on a shared machine single steps stall (a neighbour, a page fault) by
// far more than the differences the policy weighs, and a median ignores
// those bursts where a mean follows them.
type timing struct {
	buf [16]float64
	n   int     // samples seen
	v   float64 // the current median
}

func (t *timing) add(x float64) {
	t.buf[t.n%len(t.buf)] = x
	t.n++
	m := min(t.n, len(t.buf))
	var s [16]float64
	copy(s[:], t.buf[:m])
	slices.Sort(s[:m])
	t.v = s[m/2]
	if m%2 == 0 {
		t.v = (s[m/2-1] + s[m/2]) / 2
	}
}

type autoCand struct {
	keep   int
	plan   depth.Plan
	tDraft timing
	// arms[i]: rounds of length autoLengths[i] as measured, tokens emitted
	// and seconds taken (draft steps and verify pass).
	arms [len(autoLengths)]armStats
	// reach[j], reject[j]: rounds whose draft j+1 was checked, and
	// rejected it. Halved when they grow large, so old rounds fade.
	reach, reject [maxDraftLength]float64
	rounds        int
}

// armStats is what one setting (depth, length) measured: once it has
// enough rounds, its own rate replaces the model's estimate, so a model
// that misjudges a setting (correlated acceptance, a verify pass that
// costs more than the line through the others) cannot keep it chosen.
type armStats struct {
	rounds, tokens, seconds float64
}

// armRounds is how many rounds of a setting its measured rate needs.
const armRounds = 24

type autoStats struct {
	mu      sync.Mutex
	cands   []autoCand
	tPlain  timing
	tVerify map[int]*timing
	rounds  int
}

// newAutoStats builds the candidate depths: about 1/4 to 3/4 of the layers,
// using the core layers and drop order of base.
func newAutoStats(base depth.Schedule, numLayers int) (*autoStats, error) {
	a := &autoStats{tVerify: map[int]*timing{}}
	core := base.CoreHead + base.CoreTail
	seen := map[int]bool{}
	for _, f := range []float64{0.25, 0.375, 0.5, 0.625, 0.75} {
		n := max(core, int(math.Round(f*float64(numLayers))))
		if n >= numLayers || seen[n] {
			continue
		}
		seen[n] = true
		p, err := staticPlan(base, numLayers, n)
		if err != nil {
			return nil, err
		}
		a.cands = append(a.cands, autoCand{keep: n, plan: p})
	}
	for _, k := range autoLengths {
		a.tVerify[k] = &timing{}
	}
	return a, nil
}

// autoChoice is one generation's view of the shared statistics.
type autoChoice struct {
	s          *autoStats
	roundTime  float64 // seconds of the current round's passes
	numLayers  int
	cur        int // candidate index of the current round, -1: plain
	k          int
	plainLeft  int
	backoff    int
	lastKeep   int
	lastLength int
}

func newAutoChoice(s *autoStats, numLayers int) *autoChoice {
	c := &autoChoice{s: s, numLayers: numLayers, cur: -1, backoff: 16}
	s.mu.Lock()
	if s.tPlain.n < 2 {
		c.plainLeft = 2 - s.tPlain.n // measure a plain step first
	}
	s.mu.Unlock()
	return c
}

func (c *autoChoice) observePlain(dt time.Duration) {
	c.s.mu.Lock()
	c.s.tPlain.add(dt.Seconds())
	c.s.mu.Unlock()
}

func (c *autoChoice) observeDraft(dt time.Duration) {
	if c.cur < 0 {
		return
	}
	c.roundTime += dt.Seconds()
	c.s.mu.Lock()
	c.s.cands[c.cur].tDraft.add(dt.Seconds())
	c.s.mu.Unlock()
}

func (c *autoChoice) observeVerify(k int, dt time.Duration) {
	c.roundTime += dt.Seconds()
	c.s.mu.Lock()
	if e, ok := c.s.tVerify[k]; ok {
		e.add(dt.Seconds())
	}
	c.s.mu.Unlock()
}

func (c *autoChoice) observeRound(k, accepted int) {
	if c.cur < 0 {
		return
	}
	c.s.mu.Lock()
	cd := &c.s.cands[c.cur]
	for j := 0; j <= min(accepted, k-1); j++ {
		cd.reach[j]++
	}
	if accepted < k {
		cd.reject[accepted]++
	}
	if cd.reach[0] > 2000 {
		for j := range cd.reach {
			cd.reach[j] /= 2
			cd.reject[j] /= 2
		}
	}
	if a := armIndex(k); a >= 0 && c.roundTime > 0 {
		arm := &cd.arms[a]
		arm.rounds++
		arm.tokens += float64(accepted + 1)
		arm.seconds += c.roundTime
		if arm.rounds > 8*armRounds { // let old rounds fade
			arm.rounds, arm.tokens, arm.seconds = arm.rounds/2, arm.tokens/2, arm.seconds/2
		}
	}
	c.roundTime = 0
	cd.rounds++
	c.s.rounds++
	c.s.mu.Unlock()
}

// tokens estimates the tokens a round of k drafts of candidate cd emits.
func (cd *autoCand) tokens(k int) float64 {
	// The pooled rejection rate is the prior of every position (an
	// optimistic 0.1 before any round, so unexplored settings get tried).
	var reach, reject float64
	for j := range cd.reach {
		reach += cd.reach[j]
		reject += cd.reject[j]
	}
	prior := 0.1
	if reach > 0 {
		prior = (reject + 0.5) / (reach + 1)
	}
	const weight = 2 // prior rounds at each position
	tokens, survive := 1.0, 1.0
	for j := 0; j < k; j++ {
		h := (cd.reject[j] + weight*prior) / (cd.reach[j] + weight)
		survive *= 1 - h
		tokens += survive
	}
	return tokens
}

// fitLine fits y = a + b·x by least squares weighted by w (the samples
// behind each point), so a noisy measurement of one setting is pulled
// toward what the others say; with fewer than two distinct x it returns
// ok = false.
func fitLine(x, y, w []float64) (a, b float64, ok bool) {
	var sw, sx, sy, sxx, sxy float64
	for i := range x {
		sw += w[i]
		sx += w[i] * x[i]
		sy += w[i] * y[i]
		sxx += w[i] * x[i] * x[i]
		sxy += w[i] * x[i] * y[i]
	}
	d := sw*sxx - sx*sx
	if sw == 0 || d <= 1e-12*sw*sxx {
		return 0, 0, false
	}
	b = (sw*sxy - sx*sy) / d
	return (sy - b*sx) / sw, b, true
}

// verifyTime estimates a verify pass of k drafts: a line through the
// measured lengths (a pass costs a fixed part plus a part per row), or
// guessed from a plain step before two lengths are measured.
func (s *autoStats) verifyTime(k int) float64 {
	tp := s.tPlain.v
	// Only lengths measured a few times count: one sample of a length
	// can be off by half, which as a slope would misprice every other.
	var xs, ys, ws []float64
	for _, kk := range autoLengths {
		if e := s.tVerify[kk]; e.n >= 3 {
			xs, ys, ws = append(xs, float64(kk)), append(ys, e.v), append(ws, float64(min(e.n, 20)))
		}
	}
	if a, b, ok := fitLine(xs, ys, ws); ok {
		return max(tp, a+max(b, 0.02*tp)*float64(k))
	}
	if len(xs) == 1 {
		return ys[0] + 0.15*tp*(float64(k)-xs[0])
	}
	return tp * (1 + 0.15*float64(k))
}

// draftTime estimates a draft step of candidate i: its own median once it
// has a few samples, else a line in the layers run (the output matrix is
// a fixed part) through the candidates that have, else a share of a plain
// step. Rarely run candidates meet cold caches, so their first samples
// overstate them; a line through them would misprice the others too.
func (s *autoStats) draftTime(i int, L int) float64 {
	const enough = 8
	if e := &s.cands[i].tDraft; e.n >= enough {
		return e.v
	}
	var xs, ys, ws []float64
	for j := range s.cands {
		if e := &s.cands[j].tDraft; e.n >= enough {
			xs, ys, ws = append(xs, float64(s.cands[j].keep)), append(ys, e.v), append(ws, 1)
		}
	}
	keep := float64(s.cands[i].keep)
	if a, b, ok := fitLine(xs, ys, ws); ok && b > 0 && a >= 0 {
		return a + b*keep
	}
	if len(xs) > 0 { // scale the nearest measured candidate by layers
		return ys[0] * keep / xs[0]
	}
	if e := &s.cands[i].tDraft; e.n > 0 {
		return e.v
	}
	return s.tPlain.v * keep / float64(L)
}

// rate estimates emitted tokens per second for candidate i with length k:
// measured, once the setting has run enough rounds, else from the model.
func (s *autoStats) rate(i, k int, L int) float64 {
	if a := armIndex(k); a >= 0 {
		if arm := &s.cands[i].arms[a]; arm.rounds >= armRounds && arm.seconds > 0 {
			return arm.tokens / arm.seconds
		}
	}
	return s.cands[i].tokens(k) / (float64(k)*s.draftTime(i, L) + s.verifyTime(k))
}

// armIndex is k's index in autoLengths (-1 if none).
func armIndex(k int) int {
	for i, kk := range autoLengths {
		if kk == k {
			return i
		}
	}
	return -1
}

// next returns the next round's draft plan and length, or a nil plan for a
// plain step.
func (c *autoChoice) next() (depth.Plan, int) {
	if c.plainLeft > 0 {
		c.plainLeft--
		c.cur = -1
		return nil, 0
	}
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	// Explore: any candidate never tried goes first (a short probe). Then
	// every 32nd round (128th after 512) measures the most promising
	// setting that has not run enough rounds for its own rate (within 10%
	// of the best estimate: settings far behind are not worth their
	// rounds), and every 128th (512th) probes the least tried candidate
	// again, in case things changed.
	// Exploiting the best estimate measures it too, so a setting the model
	// overrates is corrected as soon as it is chosen.
	explore := -1
	for i := range s.cands {
		if s.cands[i].rounds == 0 {
			explore = i
			break
		}
	}
	// After a warm-up the settings worth measuring have been, and
	// exploring costs more than it finds: a quarter as often.
	period := 32
	if s.rounds >= 512 {
		period = 128
	}
	if explore < 0 && s.rounds%period == period/2 {
		if i, k := s.refine(c.numLayers); i >= 0 {
			c.cur, c.k = i, k
			s.rounds++
			return s.cands[i].plan, k
		}
	}
	if explore < 0 && s.rounds > 0 && s.rounds%(4*period) == 0 {
		explore = 0
		for i := range s.cands {
			if s.cands[i].rounds < s.cands[explore].rounds {
				explore = i
			}
		}
	}
	if explore < 0 && s.rounds%64 == 63 {
		// Re-measure a plain step now and then: the comparison needs a
		// current plain rate, and while drafting pays none are decoded.
		c.cur = -1
		s.rounds++
		return nil, 0
	}
	if explore >= 0 {
		// The shortest length: a probe only needs acceptance samples, and
		// on a model where drafting loses, probes are most of what auto
		// costs.
		c.cur, c.k = explore, autoLengths[0]
		s.rounds++ // an exploration round counts even if it is never observed
		return s.cands[explore].plan, c.k
	}
	best, bestK, bestRate := s.best(c.numLayers)
	// Drafting must promise a clear gain: step times are measured at
	// different moments, and on a shared machine a margin of a few percent
	// is noise that would otherwise keep a losing setting running.
	const margin = 1.05
	if plain := 1 / s.tPlain.v; best < 0 || bestRate <= margin*plain {
		// Drafting does not pay: decode plainly for a while, then probe.
		c.cur = -1
		c.plainLeft = c.backoff - 1
		c.backoff = min(2*c.backoff, 512)
		s.rounds++
		return nil, 0
	}
	c.backoff = 16
	c.cur, c.k = best, bestK
	c.lastKeep, c.lastLength = s.cands[best].keep, bestK
	return s.cands[best].plan, bestK
}

// refine is the setting with the highest estimated rate among those within
// 10% of the best estimate and above plain decoding that lack armRounds
// rounds (-1 if none).
func (s *autoStats) refine(L int) (int, int) {
	_, _, bestRate := s.best(L)
	floor := max(0.9*bestRate, 1/s.tPlain.v)
	bi, bk, br := -1, 0, 0.0
	for i := range s.cands {
		for a, k := range autoLengths {
			if s.cands[i].arms[a].rounds >= armRounds {
				continue
			}
			if r := s.rate(i, k, L); r >= floor && r > br {
				bi, bk, br = i, k, r
			}
		}
	}
	return bi, bk
}

// best is the candidate and length with the highest estimated rate.
func (s *autoStats) best(L int) (best, bestK int, bestRate float64) {
	best = -1
	for i := range s.cands {
		for _, k := range autoLengths {
			if r := s.rate(i, k, L); r > bestRate {
				best, bestK, bestRate = i, k, r
			}
		}
	}
	return best, bestK, bestRate
}

// settled reports the depth and length of the last exploited choice (0, 0:
// drafting was off or never chosen).
func (c *autoChoice) settled() (int, int) { return c.lastKeep, c.lastLength }
