package model

import (
	"fmt"

	"github.com/d3-project/d3/tensor"
)

// Cache holds one sequence's keys and values. Each layer keeps its own list
// of the positions it holds, because under a layer plan a skipped layer may
// write nothing for a position (K/V mode "none"); attention at a layer reads
// only the entries that layer has.
type Cache struct {
	kvDim    int
	kvHeads  int
	headDim  int
	capacity int
	layers   []layerCache
	next     int // one past the highest position ever appended (after truncation)
}

// layerCache is one layer's entries. Values are rows (entry × kvDim);
// keys are kept per KV head as a panel in the layout of
// tensor.PanelIndex (entries in blocks of 16, each block dimension by
// dimension), so that a query's scores against 16 keys take one FMA per
// dimension (tensor.MulPanelF32) instead of a horizontal sum per key.
type layerCache struct {
	pos []int32     // ascending positions of the entries
	kt  [][]float32 // per KV head: the keys' panel, whole tiles of 32 entries
	v   []float32   // len(pos) × kvDim
}

// NewCache makes an empty cache for up to capacity positions.
func NewCache(c *Config, capacity int) *Cache {
	cache := &Cache{kvDim: c.KVDim(), kvHeads: c.NumKVHeads, headDim: c.HeadDim, capacity: capacity, layers: make([]layerCache, c.NumLayers)}
	for l := range cache.layers {
		cache.layers[l].kt = make([][]float32, c.NumKVHeads)
	}
	return cache
}

// Capacity is the number of positions the cache accepts.
func (c *Cache) Capacity() int { return c.capacity }

// Next is the position the next appended token must take at least.
func (c *Cache) Next() int { return c.next }

// Entries is the number of positions layer holds.
func (c *Cache) Entries(layer int) int { return len(c.layers[layer].pos) }

// Positions returns the positions layer holds (read-only view).
func (c *Cache) Positions(layer int) []int32 { return c.layers[layer].pos }

// KV returns layer's key row (a copy) and value row (a read-only view) of
// entry i.
func (c *Cache) KV(layer, i int) (k, v []float32) {
	lc := &c.layers[layer]
	k = make([]float32, c.kvDim)
	for h := 0; h < c.kvHeads; h++ {
		for d := 0; d < c.headDim; d++ {
			k[h*c.headDim+d] = lc.kt[h][tensor.PanelIndex(i, d, c.headDim)]
		}
	}
	return k, lc.v[i*c.kvDim : (i+1)*c.kvDim]
}

// Truncate drops every entry at position pos or later, in every layer: the
// rollback used after rejected drafts or to reuse a shared prefix.
func (c *Cache) Truncate(pos int) {
	if pos < 0 {
		pos = 0
	}
	for l := range c.layers {
		lc := &c.layers[l]
		n := len(lc.pos)
		for n > 0 && int(lc.pos[n-1]) >= pos {
			n--
		}
		lc.pos = lc.pos[:n]
		for h := range lc.kt {
			lc.kt[h] = lc.kt[h][:tensor.PanelLen(n, c.headDim)]
		}
		lc.v = lc.v[:n*c.kvDim]
	}
	if c.next > pos {
		c.next = pos
	}
}

// Reset empties the cache, keeping its memory.
func (c *Cache) Reset() { c.Truncate(0) }

// append stores one position's K/V at layer and returns its entry index.
func (c *Cache) append(layer, pos int, k, v []float32) int {
	lc := &c.layers[layer]
	e := len(lc.pos)
	lc.pos = append(lc.pos, int32(pos))
	hd := c.headDim
	for h := range lc.kt {
		kt := lc.kt[h]
		if need := tensor.PanelLen(e+1, hd); len(kt) < need {
			// A new tile of 32 entries, zero (its unused lanes stay finite).
			if cap(kt) >= need {
				kt = kt[:need]
				clear(kt[len(kt)-tensor.PackTileRows*hd:])
			} else {
				kt = append(kt, make([]float32, need-len(kt))...)
			}
			lc.kt[h] = kt
		}
		for d, x := range k[h*hd : (h+1)*hd] {
			kt[tensor.PanelIndex(e, d, hd)] = x
		}
	}
	lc.v = append(lc.v, v...)
	return e
}

// checkAppend validates that rows for this cache come at increasing
// positions after everything it holds, within its capacity.
func (c *Cache) checkAppend(pos int) error {
	if pos < c.next {
		return fmt.Errorf("position %d is not after the cached positions (next is %d)", pos, c.next)
	}
	if pos >= c.capacity {
		return fmt.Errorf("position %d exceeds the cache capacity %d", pos, c.capacity)
	}
	c.next = pos + 1
	return nil
}
