package model

import "fmt"

// Cache holds one sequence's keys and values. Each layer keeps its own list
// of the positions it holds, because under a layer plan a skipped layer may
// write nothing for a position (K/V mode "none"); attention at a layer reads
// only the entries that layer has.
type Cache struct {
	kvDim    int
	capacity int
	layers   []layerCache
	next     int // one past the highest position ever appended (after truncation)
}

type layerCache struct {
	pos  []int32   // ascending positions of the entries
	k, v []float32 // len(pos) × kvDim each
}

// NewCache makes an empty cache for up to capacity positions.
func NewCache(c *Config, capacity int) *Cache {
	return &Cache{kvDim: c.KVDim(), capacity: capacity, layers: make([]layerCache, c.NumLayers)}
}

// Capacity is the number of positions the cache accepts.
func (c *Cache) Capacity() int { return c.capacity }

// Next is the position the next appended token must take at least.
func (c *Cache) Next() int { return c.next }

// Entries is the number of positions layer holds.
func (c *Cache) Entries(layer int) int { return len(c.layers[layer].pos) }

// Positions returns the positions layer holds (read-only view).
func (c *Cache) Positions(layer int) []int32 { return c.layers[layer].pos }

// KV returns layer's key and value rows of entry i (read-only views).
func (c *Cache) KV(layer, i int) (k, v []float32) {
	lc := &c.layers[layer]
	return lc.k[i*c.kvDim : (i+1)*c.kvDim], lc.v[i*c.kvDim : (i+1)*c.kvDim]
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
		lc.k = lc.k[:n*c.kvDim]
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
	lc.pos = append(lc.pos, int32(pos))
	lc.k = append(lc.k, k...)
	lc.v = append(lc.v, v...)
	return len(lc.pos) - 1
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
