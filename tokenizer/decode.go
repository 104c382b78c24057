package tokenizer

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// decodeSpec says how token texts become bytes. Every supported decoder
// chain reduces to per-token rewriting plus stripping at the very start or
// end of the text, which lets the stream decoder give the same text as
// Decode.
type decodeSpec struct {
	byteLevel    bool                  // map characters back through the GPT-2 byte table
	byteFallback bool                  // "<0xNN>" pieces stand for one byte
	perToken     []func(string) string // applied to each token's text, in order
	stripRune    rune                  // character stripped at the start / end of the text
	stripLeft    int                   // how many at the start
	stripRight   int                   // how many at the end
	joinSpace    bool                  // no decoder: tokens are joined with spaces
}

func (t *Tokenizer) appendTokenBytes(buf []byte, id int) []byte {
	if id < 0 || id >= len(t.pieces) {
		return buf
	}
	p := t.pieces[id]
	if t.dec.byteFallback {
		if b, ok := bytePiece(p); ok {
			return append(buf, b)
		}
	}
	for _, f := range t.dec.perToken {
		p = f(p)
	}
	if t.dec.byteLevel {
		return appendByteLevelDecoded(buf, p)
	}
	return append(buf, p...)
}

// stripStart removes up to n copies of the strip character from the start
// of b and reports how many it removed.
func (d *decodeSpec) stripStart(b []byte, n int) ([]byte, int) {
	if n <= 0 {
		return b, 0
	}
	var enc [utf8.UTFMax]byte
	c := enc[:utf8.EncodeRune(enc[:], d.stripRune)]
	k := 0
	for k < n && len(b) >= len(c) && string(b[:len(c)]) == string(c) {
		b = b[len(c):]
		k++
	}
	return b, k
}

func (d *decodeSpec) stripEnd(b []byte) []byte {
	if d.stripRight <= 0 {
		return b
	}
	var enc [utf8.UTFMax]byte
	c := enc[:utf8.EncodeRune(enc[:], d.stripRune)]
	for k := 0; k < d.stripRight && len(b) >= len(c) && string(b[len(b)-len(c):]) == string(c); k++ {
		b = b[:len(b)-len(c)]
	}
	return b
}

// bytePiece parses a byte-fallback piece "<0xNN>".
func bytePiece(p string) (byte, bool) {
	if len(p) != 6 || p[:3] != "<0x" || p[5] != '>' {
		return 0, false
	}
	hi, ok1 := hexVal(p[3])
	lo, ok2 := hexVal(p[4])
	return hi<<4 | lo, ok1 && ok2
}

func hexVal(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// GPT-2's reversible byte <-> printable character table: printable Latin-1
// bytes stand for themselves, the other 68 bytes map to U+0100 onwards.
var (
	byteToRune [256]rune
	byteToStr  [256]string
	runeToByte = map[rune]byte{}
)

func init() {
	n := 0
	for b := 0; b < 256; b++ {
		printable := b >= '!' && b <= '~' || b >= 0xA1 && b <= 0xAC || b >= 0xAE && b <= 0xFF
		r := rune(b)
		if !printable {
			r = rune(256 + n)
			n++
		}
		byteToRune[b] = r
		byteToStr[b] = string(r)
		runeToByte[r] = byte(b)
	}
}

func byteLevelEncode(s string) string {
	var sb strings.Builder
	sb.Grow(len(s) * 2)
	for i := 0; i < len(s); i++ {
		sb.WriteString(byteToStr[s[i]])
	}
	return sb.String()
}

// appendByteLevelDecoded maps the characters of p back to bytes; a token
// holding any character outside the table (an added token such as a
// special marker with a space) is taken as its own UTF-8 bytes, as Hugging
// Face's ByteLevel decoder does.
func appendByteLevelDecoded(buf []byte, p string) []byte {
	start := len(buf)
	for _, r := range p {
		b, ok := runeToByte[r]
		if !ok {
			return append(buf[:start], p...)
		}
		buf = append(buf, b)
	}
	return buf
}

// matcher finds tokens that are matched whole in text (special and added
// tokens), leftmost-longest.
type matcher struct {
	byFirst [256][]matchTok // candidates by first byte, longest first
}

type matchTok struct {
	text                      string
	id                        int
	lstrip, rstrip, singleWrd bool
}

func newMatcher(toks []matchTok) *matcher {
	if len(toks) == 0 {
		return nil
	}
	m := &matcher{}
	for _, tk := range toks {
		if tk.text == "" {
			continue
		}
		c := tk.text[0]
		m.byFirst[c] = append(m.byFirst[c], tk)
	}
	for c := range m.byFirst {
		l := m.byFirst[c]
		// Stable insertion sort by length, longest first; lists are short.
		for i := 1; i < len(l); i++ {
			for j := i; j > 0 && len(l[j].text) > len(l[j-1].text); j-- {
				l[j], l[j-1] = l[j-1], l[j]
			}
		}
	}
	return m
}

// all returns the tokens of m.
func (m *matcher) all() []matchTok {
	if m == nil {
		return nil
	}
	var out []matchTok
	for _, l := range m.byFirst {
		out = append(out, l...)
	}
	return out
}

// longestAt returns the longest token matching at s[i:], if any.
func (m *matcher) longestAt(s string, i int) (matchTok, bool) {
	if m == nil {
		return matchTok{}, false
	}
	for _, tk := range m.byFirst[s[i]] {
		if strings.HasPrefix(s[i:], tk.text) {
			if tk.singleWrd && !singleWordOK(s, i, i+len(tk.text)) {
				continue
			}
			return tk, true
		}
	}
	return matchTok{}, false
}

func isWordRune(r rune) bool {
	return r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' ||
		r >= 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r))
}

func singleWordOK(s string, start, end int) bool {
	if start > 0 {
		r, _ := utf8.DecodeLastRuneInString(s[:start])
		if isWordRune(r) {
			return false
		}
	}
	if end < len(s) {
		r, _ := utf8.DecodeRuneInString(s[end:])
		if isWordRune(r) {
			return false
		}
	}
	return true
}

// split cuts text into raw segments and matched tokens.
func (m *matcher) split(text string) []segment {
	if m == nil {
		if text == "" {
			return nil
		}
		return []segment{{text: text, id: -1, atStart: true}}
	}
	var segs []segment
	segStart := 0
	for i := 0; i < len(text); {
		tk, ok := m.longestAt(text, i)
		if !ok {
			i++
			continue
		}
		left, right := i, i+len(tk.text)
		if tk.lstrip {
			for left > segStart {
				r, n := utf8.DecodeLastRuneInString(text[segStart:left])
				if !unicode.IsSpace(r) {
					break
				}
				left -= n
			}
		}
		if tk.rstrip {
			for right < len(text) {
				r, n := utf8.DecodeRuneInString(text[right:])
				if !unicode.IsSpace(r) {
					break
				}
				right += n
			}
		}
		if left > segStart {
			segs = append(segs, segment{text: text[segStart:left], id: -1, atStart: segStart == 0})
		}
		segs = append(segs, segment{id: tk.id})
		segStart, i = right, right
	}
	if segStart < len(text) {
		segs = append(segs, segment{text: text[segStart:], id: -1, atStart: segStart == 0})
	}
	return segs
}
