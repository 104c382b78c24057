package tokenizer

import (
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"
)

// bpeModel is merge-rank BPE (Hugging Face's BPE model, llama.cpp's gpt2
// vocabulary): a word starts as characters and the adjacent pair with the
// lowest merge rank is merged until no pair has a merge.
type bpeModel struct {
	vocab        map[string]int32
	merges       map[uint64]bpeMerge // key: left id << 32 | right id
	byteFallback bool
	byteIDs      [256]int32 // "<0xNN>" ids for byte fallback, -1 when absent
	unk          int32      // -1: none
	fuseUnk      bool
	ignoreMerges bool   // a word that is itself in the vocabulary is one token
	contPrefix   string // continuing_subword_prefix
	wordSuffix   string // end_of_word_suffix

	mu    sync.Mutex
	cache map[string][]int32
}

type bpeMerge struct{ rank, id int32 }

const (
	bpeCacheMax     = 1 << 15
	bpeCacheWordLen = 64
)

func newBPEModel(vocab map[string]int32) *bpeModel {
	m := &bpeModel{vocab: vocab, merges: map[uint64]bpeMerge{}, unk: -1}
	for b := range m.byteIDs {
		m.byteIDs[b] = -1
		if id, ok := vocab[fmt.Sprintf("<0x%02X>", b)]; ok {
			m.byteIDs[b] = id
		}
	}
	return m
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// addMerge registers merge number rank of pieces a and b. strict reports a
// merged piece missing from the vocabulary as an error (Hugging Face does);
// otherwise the merge is dropped.
func (m *bpeModel) addMerge(a, b string, rank int, strict bool) error {
	ia, ok := m.vocab[a]
	if !ok {
		return fmt.Errorf("merge %d (%q %q): %q is not in the vocabulary", rank, a, b, a)
	}
	ib, ok := m.vocab[b]
	if !ok {
		return fmt.Errorf("merge %d (%q %q): %q is not in the vocabulary", rank, a, b, b)
	}
	merged := a + b
	if m.contPrefix != "" && strings.HasPrefix(b, m.contPrefix) {
		merged = a + b[len(m.contPrefix):]
	}
	id, ok := m.vocab[merged]
	if !ok {
		if strict {
			return fmt.Errorf("merge %d (%q %q): result %q is not in the vocabulary", rank, a, b, merged)
		}
		return nil
	}
	k := pairKey(ia, ib)
	if _, dup := m.merges[k]; !dup {
		m.merges[k] = bpeMerge{rank: int32(rank), id: id}
	}
	return nil
}

type bpeSym struct {
	id         int32
	prev, next int32
	alive      bool
}

type bpeCand struct {
	rank, pos, id int32
}

func (m *bpeModel) encodeWord(out []int, w string) []int {
	if m.ignoreMerges {
		if id, ok := m.vocab[w]; ok {
			return append(out, int(id))
		}
	}
	cacheable := len(w) <= bpeCacheWordLen
	if cacheable {
		m.mu.Lock()
		ids, ok := m.cache[w]
		m.mu.Unlock()
		if ok {
			for _, id := range ids {
				out = append(out, int(id))
			}
			return out
		}
	}
	ids := m.merge(w)
	if cacheable {
		m.mu.Lock()
		if m.cache == nil || len(m.cache) >= bpeCacheMax {
			m.cache = make(map[string][]int32)
		}
		m.cache[w] = ids
		m.mu.Unlock()
	}
	for _, id := range ids {
		out = append(out, int(id))
	}
	return out
}

func (m *bpeModel) merge(w string) []int32 {
	syms := make([]bpeSym, 0, len(w))
	lastUnk := false
	push := func(id int32) {
		k := int32(len(syms))
		syms = append(syms, bpeSym{id: id, prev: k - 1, next: k + 1, alive: true})
	}
	for i := 0; i < len(w); {
		_, n := utf8.DecodeRuneInString(w[i:])
		ch := w[i : i+n]
		key := ch
		if i > 0 && m.contPrefix != "" {
			key = m.contPrefix + key
		}
		if i+n == len(w) && m.wordSuffix != "" {
			key += m.wordSuffix
		}
		i += n
		if id, ok := m.vocab[key]; ok {
			push(id)
			lastUnk = false
			continue
		}
		if m.byteFallback && m.allBytes(ch) {
			for k := 0; k < len(ch); k++ {
				push(m.byteIDs[ch[k]])
			}
			lastUnk = false
			continue
		}
		if m.unk >= 0 {
			if !(m.fuseUnk && lastUnk) {
				push(m.unk)
			}
			lastUnk = true
		}
		// With neither byte fallback nor an unknown token the character
		// is dropped, as Hugging Face does.
	}
	if len(syms) == 0 {
		return nil
	}
	syms[len(syms)-1].next = -1

	h := heap[bpeCand]{less: func(a, b bpeCand) bool {
		return a.rank < b.rank || a.rank == b.rank && a.pos < b.pos
	}}
	for i := 0; i+1 < len(syms); i++ {
		if mg, ok := m.merges[pairKey(syms[i].id, syms[i+1].id)]; ok {
			h.push(bpeCand{rank: mg.rank, pos: int32(i), id: mg.id})
		}
	}
	for h.len() > 0 {
		c := h.pop()
		L := &syms[c.pos]
		if !L.alive || L.next < 0 {
			continue
		}
		R := &syms[L.next]
		if mg, ok := m.merges[pairKey(L.id, R.id)]; !ok || mg.id != c.id || mg.rank != c.rank {
			continue // stale
		}
		L.id = c.id
		R.alive = false
		L.next = R.next
		if R.next >= 0 {
			syms[R.next].prev = c.pos
		}
		if L.prev >= 0 {
			if mg, ok := m.merges[pairKey(syms[L.prev].id, L.id)]; ok {
				h.push(bpeCand{rank: mg.rank, pos: L.prev, id: mg.id})
			}
		}
		if L.next >= 0 {
			if mg, ok := m.merges[pairKey(L.id, syms[L.next].id)]; ok {
				h.push(bpeCand{rank: mg.rank, pos: c.pos, id: mg.id})
			}
		}
	}
	ids := make([]int32, 0, len(syms))
	for i := int32(0); i >= 0; i = syms[i].next {
		ids = append(ids, syms[i].id)
	}
	return ids
}

func (m *bpeModel) allBytes(s string) bool {
	for i := 0; i < len(s); i++ {
		if m.byteIDs[s[i]] < 0 {
			return false
		}
	}
	return true
}
