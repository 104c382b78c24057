package tokenizer

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// spModel segments normalized text the way sentencepiece does: BPE by piece
// score, or unigram Viterbi. User-defined pieces are matched whole first.
type spModel struct {
	unigram      bool
	pieces       map[string]int32 // pieces text can turn into
	scores       []float32
	types        []int32
	user         *matcher // user-defined pieces
	byteIDs      [256]int32
	byteFallback bool
	unk          int32
	hasUnused    bool
	maxPieceLen  int     // unigram: longest piece in bytes
	unkScore     float64 // unigram: score of an unknown character
}

func newSPModel(pieces []string, scores []float32, types []int32, unigram, byteFallback bool, unk int) *spModel {
	m := &spModel{
		unigram: unigram, scores: scores, types: types, byteFallback: byteFallback,
		pieces: make(map[string]int32, len(pieces)), unk: int32(unk),
	}
	for i := range m.byteIDs {
		m.byteIDs[i] = -1
	}
	var user []matchTok
	minScore := float32(math.Inf(1))
	for i, p := range pieces {
		switch types[i] {
		case typeNormal, typeUnused:
			if unigram && types[i] == typeUnused {
				continue
			}
			if _, dup := m.pieces[p]; !dup {
				m.pieces[p] = int32(i)
			}
			if types[i] == typeUnused {
				m.hasUnused = true
			}
			if len(p) > m.maxPieceLen {
				m.maxPieceLen = len(p)
			}
			if scores[i] < minScore {
				minScore = scores[i]
			}
		case typeUserDefined:
			if _, dup := m.pieces[p]; !dup {
				m.pieces[p] = int32(i)
			}
			user = append(user, matchTok{text: p, id: i})
		case typeByte:
			if b, ok := bytePiece(p); ok {
				m.byteIDs[b] = int32(i)
			}
		}
	}
	m.user = newMatcher(user)
	if math.IsInf(float64(minScore), 1) {
		minScore = 0
	}
	// sentencepiece scores an unknown character 10 below the worst piece.
	m.unkScore = float64(minScore) - 10
	return m
}

// appendUnknown emits an unknown piece as its bytes (byte fallback) or as
// the unknown token.
func (m *spModel) appendUnknown(out []int, s string) []int {
	if m.byteFallback {
		ok := true
		for i := 0; i < len(s); i++ {
			if m.byteIDs[s[i]] < 0 {
				ok = false
				break
			}
		}
		if ok {
			for i := 0; i < len(s); i++ {
				out = append(out, int(m.byteIDs[s[i]]))
			}
			return out
		}
	}
	if m.unk >= 0 {
		out = append(out, int(m.unk))
	}
	return out
}

func (m *spModel) encode(out []int, s string) []int {
	if s == "" {
		return out
	}
	if m.unigram {
		return m.encodeUnigram(out, s)
	}
	return m.encodeBPE(out, s)
}

type spSym struct {
	start, end int32
	prev, next int32
	frozen     bool
}

type spPair struct {
	score       float32
	left, right int32
	size        int32
}

func (m *spModel) encodeBPE(out []int, s string) []int {
	syms := make([]spSym, 0, len(s))
	for i := 0; i < len(s); {
		n, frozen := 0, false
		if tk, ok := m.user.longestAt(s, i); ok {
			n, frozen = len(tk.text), true
		} else {
			_, n = utf8.DecodeRuneInString(s[i:])
		}
		k := int32(len(syms))
		syms = append(syms, spSym{start: int32(i), end: int32(i + n), prev: k - 1, next: k + 1, frozen: frozen})
		i += n
	}
	syms[len(syms)-1].next = -1

	var revMerge map[string][2]string
	h := heap[spPair]{less: func(a, b spPair) bool {
		return a.score > b.score || a.score == b.score && a.left < b.left
	}}
	tryPair := func(l, r int32) {
		if l < 0 || r < 0 || syms[l].frozen || syms[r].frozen {
			return
		}
		piece := s[syms[l].start:syms[r].end]
		id, ok := m.pieces[piece]
		if !ok {
			return
		}
		h.push(spPair{score: m.scores[id], left: l, right: r, size: int32(len(piece))})
		if m.types[id] == typeUnused {
			if revMerge == nil {
				revMerge = map[string][2]string{}
			}
			revMerge[piece] = [2]string{s[syms[l].start:syms[l].end], s[syms[r].start:syms[r].end]}
		}
	}
	for i := 1; i < len(syms); i++ {
		tryPair(int32(i-1), int32(i))
	}
	for h.len() > 0 {
		p := h.pop()
		L, R := &syms[p.left], &syms[p.right]
		if L.start == L.end || R.start == R.end || (L.end-L.start)+(R.end-R.start) != p.size {
			continue // stale
		}
		L.end = R.end
		R.start = R.end // dead
		L.next = R.next
		if R.next >= 0 {
			syms[R.next].prev = p.left
		}
		tryPair(L.prev, p.left)
		tryPair(p.left, L.next)
	}
	for i := int32(0); i >= 0; i = syms[i].next {
		out = m.appendPiece(out, s[syms[i].start:syms[i].end], revMerge)
	}
	return out
}

func (m *spModel) appendPiece(out []int, piece string, revMerge map[string][2]string) []int {
	id, ok := m.pieces[piece]
	if !ok {
		return m.appendUnknown(out, piece)
	}
	if m.types[id] == typeUnused {
		// Unused pieces may be merged through but not emitted: split them
		// back into the pair they were made from.
		if lr, ok := revMerge[piece]; ok {
			out = m.appendPiece(out, lr[0], revMerge)
			return m.appendPiece(out, lr[1], revMerge)
		}
		return m.appendUnknown(out, piece)
	}
	return append(out, int(id))
}

func (m *spModel) encodeUnigram(out []int, s string) []int {
	// User-defined pieces are taken whole; the text between them is
	// segmented by Viterbi.
	start := 0
	for i := 0; i < len(s); {
		tk, ok := m.user.longestAt(s, i)
		if !ok {
			i++
			continue
		}
		out = m.viterbi(out, s[start:i])
		out = append(out, tk.id)
		i += len(tk.text)
		start = i
	}
	return m.viterbi(out, s[start:])
}

func (m *spModel) viterbi(out []int, s string) []int {
	n := len(s)
	if n == 0 {
		return out
	}
	best := make([]float64, n+1)
	from := make([]int32, n+1)
	ids := make([]int32, n+1) // -1: unknown character
	for i := 1; i <= n; i++ {
		best[i] = math.Inf(-1)
	}
	for i := 0; i < n; i++ {
		if math.IsInf(best[i], -1) {
			continue
		}
		_, charLen := utf8.DecodeRuneInString(s[i:])
		haveSingle := false
		for l := 1; l <= m.maxPieceLen && i+l <= n; l++ {
			id, ok := m.pieces[s[i:i+l]]
			if !ok || m.types[id] == typeUserDefined {
				continue
			}
			if l == charLen {
				haveSingle = true
			}
			if sc := best[i] + float64(m.scores[id]); sc > best[i+l] {
				best[i+l], from[i+l], ids[i+l] = sc, int32(i), id
			}
		}
		if !haveSingle {
			if sc := best[i] + m.unkScore; sc > best[i+charLen] {
				best[i+charLen], from[i+charLen], ids[i+charLen] = sc, int32(i), -1
			}
		}
	}
	// Walk back from the end, then emit in order.
	var path []int32
	for i := n; i > 0; i = int(from[i]) {
		path = append(path, int32(i))
	}
	for k := len(path) - 1; k >= 0; k-- {
		end := path[k]
		begin := from[end]
		if ids[end] < 0 {
			out = m.appendUnknown(out, s[begin:end])
		} else {
			out = append(out, int(ids[end]))
		}
	}
	return out
}

// spNormalizer applies sentencepiece's normalization: optional character
// map, extra-whitespace removal, dummy prefix and whitespace escaping.
type spNormalizer struct {
	charsmap       *charsmap
	removeExtraWS  bool
	addDummyPrefix bool
	escapeWS       bool
	wsAsSuffix     bool
}

func (n *spNormalizer) normalize(s string) string {
	if n.charsmap != nil {
		s = n.charsmap.normalize(s)
	}
	if n.removeExtraWS {
		s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == ' ' }), " ")
	}
	if s == "" {
		return ""
	}
	if n.addDummyPrefix {
		if n.wsAsSuffix {
			s += " "
		} else {
			s = " " + s
		}
	}
	if n.escapeWS {
		s = strings.ReplaceAll(s, " ", "\u2581")
	}
	return s
}

// FromSentencePiece builds a tokenizer from the bytes of a sentencepiece
// tokenizer.model and, when not nil, the tokenizer_config.json beside it.
func FromSentencePiece(data, configJSON []byte) (*Tokenizer, error) {
	p, err := parseSPModel(data)
	if err != nil {
		return nil, fmt.Errorf("tokenizer.model: %w", err)
	}
	cfg, err := parseConfig(configJSON)
	if err != nil {
		return nil, err
	}
	var kind string
	switch p.modelType {
	case 1:
		kind = KindSentencePieceUnigram
	case 2:
		kind = KindSentencePieceBPE
	default:
		return nil, fmt.Errorf("tokenizer.model: unsupported model_type %d (only UNIGRAM=1 and BPE=2)", p.modelType)
	}
	unk := -1
	for i, typ := range p.types {
		if typ == typeUnknown {
			if unk >= 0 {
				return nil, fmt.Errorf("tokenizer.model: two unknown pieces (%d and %d)", unk, i)
			}
			unk = i
		}
	}
	if unk < 0 {
		return nil, errors.New("tokenizer.model: no piece of type UNKNOWN")
	}
	var cm *charsmap
	if len(p.charsmap) > 0 {
		if cm, err = parseCharsmap(p.charsmap); err != nil {
			return nil, fmt.Errorf("tokenizer.model: normalizer %q: %w", p.normName, err)
		}
	}
	t := &Tokenizer{
		kind:   kind,
		pieces: p.pieces,
		types:  p.types,
		bos:    controlOrNone(p.bosID, p.types),
		eos:    controlOrNone(p.eosID, p.types),
		unk:    unk,
		sp:     newSPModel(p.pieces, p.scores, p.types, p.modelType == 1, p.byteFallback, unk),
		spNorm: &spNormalizer{
			charsmap: cm, removeExtraWS: p.removeExtraWS, addDummyPrefix: p.addDummyPrefix,
			escapeWS: p.escapeWhitespace, wsAsSuffix: p.treatWhitespaceAsSuffix,
		},
		dec: spDecodeSpec(p.addDummyPrefix && !p.treatWhitespaceAsSuffix),
	}
	if p.addDummyPrefix && p.treatWhitespaceAsSuffix {
		t.dec.stripRight = 1
	}
	// transformers matches the config's added tokens (<s>, </s>, ...) whole
	// in the text; sentencepiece alone, without a config, does not.
	if len(cfg.addedTokens) > 0 {
		t.pieces = slices.Clone(t.pieces)
		t.types = slices.Clone(t.types)
		if err := t.addHFAddedTokens(cfg.addedTokens); err != nil {
			return nil, fmt.Errorf("tokenizer_config.json: added_tokens_decoder: %w", err)
		}
		if t.normSpecial != nil {
			// sentencepiece normalization would have to run first; these are
			// rare enough to match on the raw text too.
			t.rawSpecial = newMatcher(append(t.rawSpecial.all(), t.normSpecial.all()...))
			t.normSpecial = nil
		}
	}
	// transformers' Llama tokenizer adds BOS and not EOS unless told otherwise.
	addBOS, addEOS := true, false
	if err := cfg.apply(t, &addBOS, &addEOS); err != nil {
		return nil, err
	}
	t.setAddSpecial(addBOS, addEOS)
	t.finish()
	return t, nil
}

func spDecodeSpec(stripPrefix bool) decodeSpec {
	d := decodeSpec{
		byteFallback: true,
		perToken:     []func(string) string{func(s string) string { return strings.ReplaceAll(s, "\u2581", " ") }},
		stripRune:    ' ',
	}
	if stripPrefix {
		d.stripLeft = 1
	}
	return d
}

// controlOrNone returns id when it names a control piece, else -1.
func controlOrNone(id int, types []int32) int {
	if id < 0 || id >= len(types) || types[id] != typeControl {
		return -1
	}
	return id
}

// setAddSpecial sets the ids Encode(addSpecial=true) adds.
func (t *Tokenizer) setAddSpecial(addBOS, addEOS bool) {
	t.prefix, t.suffix = nil, nil
	if addBOS && t.bos >= 0 {
		t.prefix = []int{t.bos}
	}
	if addEOS && t.eos >= 0 {
		t.suffix = []int{t.eos}
	}
}

// heap is a small binary min-heap ordered by less.
type heap[T any] struct {
	items []T
	less  func(a, b T) bool
}

func (h *heap[T]) len() int { return len(h.items) }

func (h *heap[T]) push(x T) {
	h.items = append(h.items, x)
	i := len(h.items) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(h.items[i], h.items[p]) {
			break
		}
		h.items[i], h.items[p] = h.items[p], h.items[i]
		i = p
	}
}

func (h *heap[T]) pop() T {
	top := h.items[0]
	last := len(h.items) - 1
	h.items[0] = h.items[last]
	h.items = h.items[:last]
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < last && h.less(h.items[l], h.items[m]) {
			m = l
		}
		if r < last && h.less(h.items[r], h.items[m]) {
			m = r
		}
		if m == i {
			break
		}
		h.items[i], h.items[m] = h.items[m], h.items[i]
		i = m
	}
	return top
}
