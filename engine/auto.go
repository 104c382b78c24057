package engine

import (
	"math"
	"sync"
	"time"

	"github.com/d3-project/d3/depth"
)

// The auto draft policy picks a draft depth and length online to maximise
// emitted tokens per second, from measured step times and acceptance rates,
// and falls back to plain decoding (with growing back-off between probes)
// when no drafting setting beats it. What it learns is kept per engine, so
// later generations start from earlier measurements.

var autoLengths = []int{2, 3, 4, 6, 8}

type ema struct {
	v float64
	n int
}

func (e *ema) add(x float64) {
	const a = 0.2
	if e.n == 0 {
		e.v = x
	} else {
		e.v += a * (x - e.v)
	}
	e.n++
}

type autoCand struct {
	keep         int
	plan         depth.Plan
	tDraft       ema
	trials, wins float64 // per-draft acceptance trials (geometric MLE)
}

type autoStats struct {
	mu      sync.Mutex
	cands   []autoCand
	tPlain  ema
	tVerify map[int]*ema
	rounds  int
}

// newAutoStats builds the candidate depths: about 1/4 to 3/4 of the layers,
// using the core layers and drop order of base.
func newAutoStats(base depth.Schedule, numLayers int) (*autoStats, error) {
	a := &autoStats{tVerify: map[int]*ema{}}
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
		a.tVerify[k] = &ema{}
	}
	return a, nil
}

// autoChoice is one generation's view of the shared statistics.
type autoChoice struct {
	s          *autoStats
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
	c.s.mu.Lock()
	c.s.cands[c.cur].tDraft.add(dt.Seconds())
	c.s.mu.Unlock()
}

func (c *autoChoice) observeVerify(k int, dt time.Duration) {
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
	cd.wins += float64(accepted)
	cd.trials += float64(accepted)
	if accepted < k {
		cd.trials++
	}
	c.s.rounds++
	c.s.mu.Unlock()
}

// rate estimates emitted tokens per second for candidate i with length k.
func (s *autoStats) rate(i, k int, L int) float64 {
	cd := &s.cands[i]
	acc := 0.9 // optimistic prior so unexplored settings get tried
	if cd.trials > 0 {
		acc = (cd.wins + 0.5) / (cd.trials + 1)
	}
	tokens := float64(k + 1)
	if acc < 1 {
		tokens = (1 - math.Pow(acc, float64(k+1))) / (1 - acc)
	}
	tp := s.tPlain.v
	td := tp * float64(cd.keep) / float64(L)
	if cd.tDraft.n > 0 {
		td = cd.tDraft.v
	}
	tv := tp * (1 + 0.25*float64(k))
	if e := s.tVerify[k]; e != nil && e.n > 0 {
		tv = e.v
	}
	return tokens / (float64(k)*td + tv)
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
	// Explore: any candidate never tried goes first; later, every 32nd
	// round re-measures the least tried one.
	explore := -1
	for i := range s.cands {
		if s.cands[i].trials == 0 {
			explore = i
			break
		}
	}
	if explore < 0 && s.rounds > 0 && s.rounds%32 == 0 {
		explore = 0
		for i := range s.cands {
			if s.cands[i].trials < s.cands[explore].trials {
				explore = i
			}
		}
	}
	if explore >= 0 {
		// The shortest length: a probe only needs acceptance samples (the
		// estimate is per draft), and on a model where drafting loses,
		// probes are most of what auto costs.
		c.cur, c.k = explore, autoLengths[0]
		s.rounds++ // an exploration round counts even if it is never observed
		return s.cands[explore].plan, c.k
	}
	best, bestK, bestRate := -1, 0, 0.0
	for i := range s.cands {
		for _, k := range autoLengths {
			if r := s.rate(i, k, c.numLayers); r > bestRate {
				best, bestK, bestRate = i, k, r
			}
		}
	}
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

// settled reports the depth and length of the last exploited choice (0, 0:
// drafting was off or never chosen).
func (c *autoChoice) settled() (int, int) { return c.lastKeep, c.lastLength }
