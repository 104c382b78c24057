// Package sample turns logits into token ids the way llama.cpp's common
// sampler does: repetition penalty, top-k, top-p, min-p, temperature, then a
// seeded draw. Greedy decoding is temperature 0.
package sample

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Params configures a Sampler. The zero value is not valid (TopP 0,
// RepeatPenalty 0); start from DefaultParams.
type Params struct {
	Temperature   float64 // 0: greedy (argmax after the repetition penalty); negative is invalid
	TopK          int     // keep the K most likely tokens; 0 = off
	TopP          float64 // keep the smallest set with cumulative probability >= TopP; 1 = off
	MinP          float64 // keep tokens with p >= MinP·p_max; 0 = off
	RepeatPenalty float64 // divide positive / multiply negative logits of recent tokens; 1 = off
	RepeatLastN   int     // how many recent history tokens the penalty sees; 0 = none, -1 = all
	Seed          uint64  // the same seed gives the same tokens
}

// DefaultParams returns llama.cpp's common defaults (temperature 0.8, top-k
// 40, top-p 0.95, min-p 0.05, no repetition penalty over the last 64) with
// seed 0.
func DefaultParams() Params {
	return Params{Temperature: 0.8, TopK: 40, TopP: 0.95, MinP: 0.05, RepeatPenalty: 1, RepeatLastN: 64}
}

// Validate reports the first out-of-range parameter.
func (p Params) Validate() error {
	switch {
	case math.IsNaN(p.Temperature) || p.Temperature < 0:
		return fmt.Errorf("sample: temperature %g is negative (use 0 for greedy)", p.Temperature)
	case p.TopK < 0:
		return fmt.Errorf("sample: top-k %d is negative (use 0 for off)", p.TopK)
	case !(p.TopP > 0 && p.TopP <= 1):
		return fmt.Errorf("sample: top-p %g out of range (0, 1]", p.TopP)
	case !(p.MinP >= 0 && p.MinP < 1):
		return fmt.Errorf("sample: min-p %g out of range [0, 1)", p.MinP)
	case !(p.RepeatPenalty > 0) || math.IsInf(p.RepeatPenalty, 1):
		return fmt.Errorf("sample: repeat penalty %g must be positive and finite (1 = off)", p.RepeatPenalty)
	case p.RepeatLastN < -1:
		return fmt.Errorf("sample: repeat-last-n %d out of range (-1 = all history)", p.RepeatLastN)
	}
	return nil
}

// Sampler holds the buffers and RNG for one sequence. It is not safe for
// concurrent use; give each sequence its own.
type Sampler struct {
	p     Params
	rng   *rand.Rand
	work  []float32 // logits after the repetition penalty
	seen  []uint32  // seen[id] == stamp: id already penalized this call
	stamp uint32
	cand  []int32   // candidate ids
	kept  []int32   // ids surviving top-p (heap output)
	probs []float32 // final probabilities of kept ids, indexed by id
}

// New returns a sampler for logits of vocabSize entries, with every buffer
// allocated up front. p must be valid (see Validate); New panics otherwise.
func New(p Params, vocabSize int) *Sampler {
	if err := p.Validate(); err != nil {
		panic("sample.New: invalid params: " + err.Error())
	}
	if vocabSize <= 0 {
		panic(fmt.Sprintf("sample.New: vocabulary size %d, want > 0", vocabSize))
	}
	s := &Sampler{p: p, rng: rand.New(rand.NewPCG(p.Seed, 0x9e3779b97f4a7c15))}
	s.grow(vocabSize)
	return s
}

// grow sizes the buffers for n logits; it allocates only if n exceeds the
// vocabulary size given to New.
func (s *Sampler) grow(n int) {
	if n <= len(s.work) {
		return
	}
	s.work = make([]float32, n)
	s.seen = make([]uint32, n)
	s.stamp = 0
	s.cand = make([]int32, n)
	s.kept = make([]int32, n)
	s.probs = make([]float32, n)
}

// Sample picks the next token from logits given the sequence so far
// (history, used by the repetition penalty). logits is not modified. For a
// non-greedy sampler Sample returns what Draw(Probs(...)) would with the
// same RNG state; greedy sampling consumes no randomness.
func (s *Sampler) Sample(logits []float32, history []int) int {
	if s.p.Temperature == 0 && !s.penalizes() {
		return argmaxLogits(logits) // greedy without penalty: no copy of the logits
	}
	w := s.penalize(logits, history)
	if s.p.Temperature == 0 {
		return argmax(w)
	}
	kept := s.filter(w)
	s.softmax(w, kept, s.probs)
	// Kept ids ascend, so this is Draw's scan restricted to nonzero entries.
	total := 0.0
	for _, id := range kept {
		total += float64(s.probs[id])
	}
	u := s.rng.Float64() * total
	cum := 0.0
	for _, id := range kept {
		cum += float64(s.probs[id])
		if u < cum {
			return int(id)
		}
	}
	return int(kept[len(kept)-1])
}

// Probs writes into dst (at least len(logits) long) the distribution Sample
// draws from: zero outside the kept set, one-hot at the argmax when greedy.
func (s *Sampler) Probs(logits []float32, history []int, dst []float32) {
	if len(dst) < len(logits) {
		panic(fmt.Sprintf("sample: Probs destination has %d entries, want %d", len(dst), len(logits)))
	}
	dst = dst[:len(logits)]
	clear(dst)
	w := s.penalize(logits, history)
	if s.p.Temperature == 0 {
		dst[argmax(w)] = 1
		return
	}
	s.softmax(w, s.filter(w), dst)
}

// Draw draws an index from probs (nonnegative weights, normalized or not)
// with this sampler's RNG. It returns -1 if every weight is zero.
func (s *Sampler) Draw(probs []float32) int {
	total := 0.0
	last := -1
	for i, p := range probs {
		if p > 0 {
			total += float64(p)
			last = i
		}
	}
	if last < 0 {
		return -1
	}
	u := s.rng.Float64() * total
	cum := 0.0
	for i, p := range probs {
		if p > 0 {
			cum += float64(p)
			if u < cum {
				return i
			}
		}
	}
	return last // rounding left u at the very top
}

// penalize copies logits into the work buffer and applies the repetition
// penalty once to each distinct token among the last RepeatLastN of history.
// NaN logits become -Inf so that they can never be chosen.
func (s *Sampler) penalize(logits []float32, history []int) []float32 {
	s.grow(len(logits))
	w := s.work[:len(logits)]
	copy(w, logits)
	for i, v := range w {
		if v != v {
			w[i] = float32(math.Inf(-1))
		}
	}
	if !s.penalizes() {
		return w
	}
	if n := s.p.RepeatLastN; n > 0 && len(history) > n {
		history = history[len(history)-n:]
	}
	s.stamp++
	if s.stamp == 0 { // wrapped: old stamps could collide
		clear(s.seen)
		s.stamp = 1
	}
	pen := float32(s.p.RepeatPenalty)
	for _, id := range history {
		if id < 0 || id >= len(w) || s.seen[id] == s.stamp {
			continue
		}
		s.seen[id] = s.stamp
		if w[id] > 0 {
			w[id] /= pen
		} else {
			w[id] *= pen
		}
	}
	return w
}

// penalizes reports whether penalize changes anything but NaNs.
func (s *Sampler) penalizes() bool { return s.p.RepeatPenalty != 1 && s.p.RepeatLastN != 0 }

// argmaxLogits is argmax(penalize(logits)) without a penalty: the first
// index of the largest value, a NaN counting as -Inf.
func argmaxLogits(logits []float32) int {
	best, bv := 0, float32(math.Inf(-1))
	for i, v := range logits {
		if v > bv { // false for NaN
			best, bv = i, v
		}
	}
	return best
}

// argmax returns the index of the largest value, the lowest on ties.
func argmax(w []float32) int {
	best := 0
	for i, v := range w {
		if v > w[best] {
			best = i
		}
	}
	return best
}

// better orders candidates: higher logit first, lower id on ties.
func better(w []float32, a, b int32) bool {
	return w[a] > w[b] || (w[a] == w[b] && a < b)
}

// filter applies top-k, top-p and min-p in llama.cpp's order and returns
// the surviving ids in ascending order (never empty).
func (s *Sampler) filter(w []float32) []int32 {
	n := len(w)
	var cand []int32
	sorted := false
	if k := s.p.TopK; k > 0 && k < n {
		cand = s.topK(w, k)
		sorted = true
	} else {
		cand = s.cand[:n]
		for i := range cand {
			cand[i] = int32(i)
		}
	}

	maxL := w[cand[0]]
	if !sorted {
		for _, id := range cand {
			maxL = max(maxL, w[id])
		}
	}
	if math.IsInf(float64(maxL), -1) {
		// Nothing has any probability: fall back to the lowest id.
		return cand[:1]
	}

	// Top-p's probabilities are a softmax over the top-k survivors at
	// temperature 1, as in llama.cpp; compute the normalizer before min-p
	// shrinks the set.
	var z float64
	if s.p.TopP < 1 {
		for _, id := range cand {
			z += math.Exp(float64(w[id] - maxL))
		}
	}

	// Min-p and top-p each keep a prefix of the descending order, and
	// p/p_max does not change with renormalization, so applying min-p
	// first yields the same set and leaves top-p less to order.
	if s.p.MinP > 0 {
		thr := float64(maxL) + math.Log(s.p.MinP)
		j := 0
		for _, id := range cand {
			if float64(w[id]) >= thr {
				cand[j] = id
				j++
			}
		}
		cand = cand[:j]
	}

	if s.p.TopP < 1 {
		if sorted {
			cum := 0.0
			for i, id := range cand {
				cum += math.Exp(float64(w[id]-maxL)) / z
				if cum >= s.p.TopP {
					cand = cand[:i+1]
					break
				}
			}
		} else {
			cand = s.topPHeap(w, cand, maxL, z)
		}
	}
	slices.Sort(cand)
	return cand
}

// topK selects the k best ids with a size-k min-heap (worst at the root)
// and returns them best first, without sorting the vocabulary.
func (s *Sampler) topK(w []float32, k int) []int32 {
	h := s.cand[:k]
	for i := range h {
		h[i] = int32(i)
	}
	for i := k/2 - 1; i >= 0; i-- {
		siftDown(w, h, i, true)
	}
	for id := int32(k); int(id) < len(w); id++ {
		if better(w, id, h[0]) {
			h[0] = id
			siftDown(w, h, 0, true)
		}
	}
	// Heap sort: moving the worst to the end leaves the best first.
	for end := k - 1; end > 0; end-- {
		h[0], h[end] = h[end], h[0]
		siftDown(w, h[:end], 0, true)
	}
	return h
}

// topPHeap pops candidates best first from a max-heap until their
// probability (exp(w−maxL)/z) sums to TopP, ordering only what it keeps.
func (s *Sampler) topPHeap(w []float32, cand []int32, maxL float32, z float64) []int32 {
	for i := len(cand)/2 - 1; i >= 0; i-- {
		siftDown(w, cand, i, false)
	}
	kept := s.kept[:0]
	cum := 0.0
	for h := cand; len(h) > 0; {
		id := h[0]
		kept = append(kept, id)
		cum += math.Exp(float64(w[id]-maxL)) / z
		if cum >= s.p.TopP {
			break
		}
		last := len(h) - 1
		h[0] = h[last]
		h = h[:last]
		siftDown(w, h, 0, false)
	}
	return kept
}

// siftDown restores the heap property below i. worstFirst selects a
// min-heap (worst candidate at the root) instead of a max-heap.
func siftDown(w []float32, h []int32, i int, worstFirst bool) {
	for {
		c := 2*i + 1
		if c >= len(h) {
			return
		}
		if r := c + 1; r < len(h) && better(w, h[r], h[c]) != worstFirst {
			c = r
		}
		if better(w, h[c], h[i]) == worstFirst {
			return
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}

// softmax writes exp((w−max)/T)/Σ for the kept ids into dst[id].
func (s *Sampler) softmax(w []float32, kept []int32, dst []float32) {
	maxL := w[kept[0]]
	for _, id := range kept {
		maxL = max(maxL, w[id])
	}
	invT := 1 / s.p.Temperature
	sum := 0.0
	for _, id := range kept {
		e := math.Exp(float64(w[id]-maxL) * invT)
		dst[id] = float32(e)
		sum += e
	}
	for _, id := range kept {
		dst[id] = float32(float64(dst[id]) / sum)
	}
}

// Uniform draws a float64 in [0, 1) from this sampler's RNG (the
// acceptance test of speculative sampling).
func (s *Sampler) Uniform() float64 { return s.rng.Float64() }

// Greedy reports whether this sampler always takes the argmax.
func (s *Sampler) Greedy() bool { return s.p.Temperature <= 0 }
