package engine

import (
	"github.com/d3-project/d3/depth"
	"github.com/d3-project/d3/model"
)

// stepFLOPs counts the matmul FLOPs of one decode step that has just run at
// pos with plan (nil: full depth): projections, MLP, attention scores and
// values over the entries each layer actually attended to, and the LM head;
// full is the same step at full depth over every position.
func stepFLOPs(c *model.Config, cache *model.Cache, pos int, plan depth.Plan, propagate bool) (ran, full float64) {
	H, Q, KV, I := float64(c.Hidden), float64(c.QDim()), float64(c.KVDim()), float64(c.Intermediate)
	kvProj := 2 * 2 * H * KV
	rest := 2*H*Q + 2*Q*H + 3*2*H*I // q and o projections, gate/up/down
	head := 2 * H * float64(c.VocabSize)
	ran, full = head, head
	for l := 0; l < c.NumLayers; l++ {
		full += kvProj + rest + 4*Q*float64(pos+1)
		switch {
		case plan == nil || plan[l]:
			ran += kvProj + rest + 4*Q*float64(attended(cache, l, pos))
		case propagate:
			ran += kvProj
		}
	}
	return ran, full
}

// attended is the number of entries at or before pos that layer l holds.
func attended(cache *model.Cache, l, pos int) int {
	p := cache.Positions(l)
	n := len(p)
	for n > 0 && int(p[n-1]) > pos {
		n--
	}
	return n
}
