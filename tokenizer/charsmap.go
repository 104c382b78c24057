package tokenizer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// charsmap is sentencepiece's precompiled normalization map: a Darts-clone
// double-array trie over UTF-8 input whose values index a pool of
// NUL-terminated replacement strings.
// Layout: uint32 LE trie size in bytes, the trie units, then the pool.
type charsmap struct {
	units []uint32
	pool  []byte
}

func parseCharsmap(b []byte) (*charsmap, error) {
	if len(b) < 4 {
		return nil, errors.New("precompiled_charsmap shorter than its header")
	}
	n := binary.LittleEndian.Uint32(b)
	if uint64(n) > uint64(len(b)-4) || n%4 != 0 || n == 0 {
		return nil, fmt.Errorf("precompiled_charsmap: trie size %d does not fit %d bytes", n, len(b)-4)
	}
	units := make([]uint32, n/4)
	for i := range units {
		units[i] = binary.LittleEndian.Uint32(b[4+4*i:])
	}
	return &charsmap{units: units, pool: b[4+n:]}, nil
}

func unitOffset(u uint32) uint32 { return (u >> 10) << ((u & (1 << 9)) >> 6) }
func unitLabel(u uint32) uint32  { return u & (1<<31 | 0xFF) }
func unitHasLeaf(u uint32) bool  { return (u>>8)&1 == 1 }
func unitValue(u uint32) uint32  { return u & (1<<31 - 1) }

// longest returns the length of the longest key that prefixes s and its
// replacement, or 0.
func (c *charsmap) longest(s string) (int, string) {
	pos := unitOffset(c.units[0])
	bestLen, bestVal := 0, uint32(0)
	for i := 0; i < len(s); i++ {
		pos ^= uint32(s[i])
		if pos >= uint32(len(c.units)) {
			break
		}
		u := c.units[pos]
		if unitLabel(u) != uint32(s[i]) {
			break
		}
		pos ^= unitOffset(u)
		if pos >= uint32(len(c.units)) {
			break
		}
		if unitHasLeaf(u) {
			bestLen, bestVal = i+1, unitValue(c.units[pos])
		}
	}
	if bestLen == 0 || int(bestVal) >= len(c.pool) {
		return 0, ""
	}
	rep := c.pool[bestVal:]
	if k := strings.IndexByte(string(rep), 0); k >= 0 {
		rep = rep[:k]
	}
	return bestLen, string(rep)
}

func (c *charsmap) normalize(s string) string {
	var sb strings.Builder
	sb.Grow(len(s))
	for i := 0; i < len(s); {
		if n, rep := c.longest(s[i:]); n > 0 {
			sb.WriteString(rep)
			i += n
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			sb.WriteString("\uFFFD")
		} else {
			sb.WriteString(s[i : i+n])
		}
		i += n
	}
	return sb.String()
}
