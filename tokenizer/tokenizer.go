// Package tokenizer turns text into token ids and back for Llama-family
// models. It reads SentencePiece models (tokenizer.model), Hugging Face
// tokenizer.json files (byte-level BPE as in Llama 3 and Qwen, or
// SentencePiece-style BPE with byte fallback as in Llama 2 and Mistral) and
// GGUF vocabularies, and reproduces the ids of the reference implementations:
// sentencepiece for tokenizer.model, Hugging Face tokenizers for
// tokenizer.json, llama.cpp (special tokens parsed) for GGUF.
//
// Tokens written in the text are matched whole where the reference does:
// tokenizer.json added tokens; GGUF control and unknown tokens (and, for
// byte-level vocabularies, user-defined ones); for a tokenizer.model, the
// added_tokens_decoder of its tokenizer_config.json. Sentencepiece itself
// matches only user-defined pieces, so a bare tokenizer.model reads "<s>"
// as text. After a matched token, SentencePiece-style text gets its dummy
// prefix again, as in llama.cpp and the Hugging Face Llama/Mistral files.
package tokenizer

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"unicode/utf8"
)

// Kinds reported by Kind.
const (
	KindSentencePieceBPE     = "sentencepiece-bpe"
	KindSentencePieceUnigram = "sentencepiece-unigram"
	KindByteLevelBPE         = "byte-level-bpe"
)

// Tokenizer encodes and decodes text. It is safe for concurrent use.
type Tokenizer struct {
	kind   string
	pieces []string // id -> vocabulary text
	types  []int32  // id -> piece type (typeNormal ...)

	bos, eos, unk int
	eogs          []int
	prefix        []int // ids that Encode(addSpecial=true) puts first
	suffix        []int // ... and last
	chatTemplate  string

	// Tokens matched whole in the raw input, and (tokenizer.json added
	// tokens with normalized=true) in the normalized input.
	rawSpecial  *matcher
	normSpecial *matcher

	normalize func(string) string // tokenizer.json normalizer; nil: none
	preTok    []preStep           // tokenizer.json pre-tokenizer; nil: whole segment
	spNorm    *spNormalizer       // sentencepiece normalization; nil: none

	sp  *spModel  // SentencePiece segmentation (BPE by score, or unigram)
	bpe *bpeModel // merge-rank BPE

	dec decodeSpec
}

// Load reads a tokenizer.json, a tokenizer.model, or a directory in Hugging
// Face layout (tokenizer.json preferred over tokenizer.model), together with
// the tokenizer_config.json beside it when there is one.
func Load(path string) (*Tokenizer, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	dir, file := filepath.Dir(path), path
	if st.IsDir() {
		dir = path
		file = filepath.Join(dir, "tokenizer.json")
		if _, err := os.Stat(file); err != nil {
			file = filepath.Join(dir, "tokenizer.model")
			if _, err := os.Stat(file); err != nil {
				return nil, fmt.Errorf("tokenizer: %s holds neither tokenizer.json nor tokenizer.model", dir)
			}
		}
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	cfgPath := filepath.Join(dir, "tokenizer_config.json")
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
		cfg = nil
	}
	var t *Tokenizer
	if isJSON(data) {
		t, err = FromTokenizerJSON(data, cfg)
	} else {
		t, err = FromSentencePiece(data, cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return t, nil
}

func isJSON(data []byte) bool {
	d := bytes.TrimLeft(data, " \t\r\n\ufeff")
	return len(d) > 0 && d[0] == '{'
}

// segment is a piece of the input: raw text, or a token matched whole.
type segment struct {
	text    string
	id      int // -1 for text
	atStart bool
}

// Encode returns the token ids of text. With addSpecial it adds the tokens
// the reference adds for add_special_tokens=True (usually BOS). Special and
// added tokens written in the text are matched whole where the reference
// matches them (see the package comment).
func (t *Tokenizer) Encode(text string, addSpecial bool) []int {
	out := make([]int, 0, len(text)/3+4)
	if addSpecial {
		out = append(out, t.prefix...)
	}
	for _, s := range t.rawSpecial.split(text) {
		if s.id >= 0 {
			out = append(out, s.id)
			continue
		}
		out = t.encodeSegment(out, s.text, s.atStart)
	}
	if addSpecial {
		out = append(out, t.suffix...)
	}
	return out
}

func (t *Tokenizer) encodeSegment(out []int, text string, atStart bool) []int {
	if t.spNorm != nil {
		return t.sp.encode(out, t.spNorm.normalize(text))
	}
	if t.normalize != nil {
		text = t.normalize(text)
	}
	for _, s := range t.normSpecial.split(text) {
		if s.id >= 0 {
			out = append(out, s.id)
			continue
		}
		words := []string{s.text}
		for _, step := range t.preTok {
			words = step(words, atStart && s.atStart)
		}
		for _, w := range words {
			if w == "" {
				continue
			}
			if t.sp != nil {
				out = t.sp.encode(out, w)
			} else {
				out = t.bpe.encodeWord(out, w)
			}
		}
	}
	return out
}

// Decode returns the text of ids, rendering special tokens as their text
// (Hugging Face decode with skip_special_tokens=False). Ids outside the
// vocabulary are skipped.
func (t *Tokenizer) Decode(ids []int) string {
	var buf []byte
	for i, id := range ids {
		if t.dec.joinSpace && i > 0 {
			buf = append(buf, ' ')
		}
		buf = t.appendTokenBytes(buf, id)
	}
	buf, _ = t.dec.stripStart(buf, t.dec.stripLeft)
	buf = t.dec.stripEnd(buf)
	return lossyUTF8(buf)
}

// StreamDecoder turns generated ids into text incrementally.
type StreamDecoder struct {
	t         *Tokenizer
	pending   []byte
	stripLeft int
	pushed    bool
}

// NewStreamDecoder returns a decoder for one generated sequence.
func (t *Tokenizer) NewStreamDecoder() *StreamDecoder {
	return &StreamDecoder{t: t, stripLeft: t.dec.stripLeft}
}

// KeepLeadingSpace makes the decoder keep a space at the very start of the
// text, which Decode drops as the SentencePiece dummy prefix (or a decoder's
// Strip). Call it before the first Push when the ids continue earlier text,
// such as a prompt, so that "Answer:" + "▁Kira" reads "Answer: Kira".
func (d *StreamDecoder) KeepLeadingSpace() { d.stripLeft = 0 }

// Push adds one id and returns the text it completes. Bytes of a UTF-8
// character split across tokens are held back until the character is whole.
func (d *StreamDecoder) Push(id int) string {
	if d.t.dec.joinSpace && d.pushed {
		d.pending = append(d.pending, ' ')
	}
	d.pushed = true
	d.pending = d.t.appendTokenBytes(d.pending, id)
	if d.stripLeft > 0 && len(d.pending) > 0 {
		var n int
		d.pending, n = d.t.dec.stripStart(d.pending, d.stripLeft)
		d.stripLeft -= n
		if len(d.pending) > 0 {
			// Text other than the strip character: the start is behind us.
			d.stripLeft = 0
		}
	}
	n := completePrefix(d.pending)
	if n == 0 {
		return ""
	}
	s := lossyUTF8(d.pending[:n])
	d.pending = append(d.pending[:0], d.pending[n:]...)
	return s
}

// Flush returns whatever is held back (incomplete characters become U+FFFD).
func (d *StreamDecoder) Flush() string {
	s := lossyUTF8(d.pending)
	d.pending = d.pending[:0]
	return s
}

// BOS returns the beginning-of-sequence id, or -1.
func (t *Tokenizer) BOS() int { return t.bos }

// EOS returns the end-of-sequence id, or -1.
func (t *Tokenizer) EOS() int { return t.eos }

// EOGs returns every id that ends generation (EOS, end-of-turn and the like).
func (t *Tokenizer) EOGs() []int { return append([]int(nil), t.eogs...) }

// AddsBOS reports whether Encode with addSpecial puts BOS first.
func (t *Tokenizer) AddsBOS() bool { return len(t.prefix) > 0 && t.prefix[0] == t.bos && t.bos >= 0 }

// VocabSize returns the number of ids (one more than the largest id).
func (t *Tokenizer) VocabSize() int { return len(t.pieces) }

// Piece returns the vocabulary text of id, or "" when id is out of range.
func (t *Tokenizer) Piece(id int) string {
	if id < 0 || id >= len(t.pieces) {
		return ""
	}
	return t.pieces[id]
}

// Kind names the algorithm: "sentencepiece-bpe", "sentencepiece-unigram" or
// "byte-level-bpe".
func (t *Tokenizer) Kind() string { return t.kind }

// IsControl reports whether id is a control (special) token.
func (t *Tokenizer) IsControl(id int) bool {
	return id >= 0 && id < len(t.types) && t.types[id] == typeControl
}

// ChatTemplate returns the default chat template (Jinja source), or "".
func (t *Tokenizer) ChatTemplate() string { return t.chatTemplate }

// eogNames are texts that mark end-of-generation tokens, as llama.cpp
// recognizes them.
var eogNames = map[string]bool{
	"<|eot_id|>": true, "<|im_end|>": true, "<|end|>": true, "<|return|>": true,
	"<|call|>": true, "<end_of_turn>": true, "<|endoftext|>": true, "</s>": true,
	"<|eom_id|>": true, "<EOT>": true, "_<EOT>": true, "<|end_of_text|>": true,
	"<end_of_utterance>": true,
}

// finish sets the derived fields once pieces, types and ids are known.
func (t *Tokenizer) finish(extraEOG ...int) {
	seen := map[int]bool{}
	add := func(id int) {
		if id >= 0 && id < len(t.pieces) && !seen[id] {
			seen[id] = true
			t.eogs = append(t.eogs, id)
		}
	}
	add(t.eos)
	for _, id := range extraEOG {
		add(id)
	}
	for id, p := range t.pieces {
		if t.types[id] == typeControl && eogNames[p] {
			add(id)
		}
	}
}

// lossyUTF8 converts b to a string, replacing each maximal invalid
// subsequence with U+FFFD the way Rust's String::from_utf8_lossy does.
func lossyUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	out := make([]byte, 0, len(b)+8)
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError || size > 1 {
			out = append(out, b[i:i+size]...)
			i += size
			continue
		}
		out = append(out, "\uFFFD"...)
		i += invalidPrefixLen(b[i:])
	}
	return string(out)
}

// invalidPrefixLen returns the length of the maximal prefix of b that could
// start a valid UTF-8 sequence (at least 1), b being invalid at its start.
func invalidPrefixLen(b []byte) int {
	c := b[0]
	var need int
	lo, hi := byte(0x80), byte(0xBF)
	switch {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c == 0xE0:
		need, lo = 2, 0xA0
	case c >= 0xE1 && c <= 0xEC, c == 0xEE, c == 0xEF:
		need = 2
	case c == 0xED:
		need, hi = 2, 0x9F
	case c == 0xF0:
		need, lo = 3, 0x90
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	case c == 0xF4:
		need, hi = 3, 0x8F
	default:
		return 1
	}
	n := 1
	for k := 0; k < need && n < len(b); k++ {
		x := b[n]
		if k == 0 && (x < lo || x > hi) || k > 0 && (x < 0x80 || x > 0xBF) {
			break
		}
		n++
	}
	return n
}

// completePrefix returns the length of the longest prefix of b that does not
// end inside a UTF-8 character that later bytes could still complete.
func completePrefix(b []byte) int {
	for k := len(b) - 1; k >= 0 && k >= len(b)-3; k-- {
		if !utf8.RuneStart(b[k]) {
			continue
		}
		if !utf8.FullRune(b[k:]) && invalidPrefixLen(b[k:]) == len(b)-k {
			return k
		}
		break
	}
	return len(b)
}
