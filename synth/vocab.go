package synth

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// llama.cpp's token types (tokenizer.ggml.token_type).
const (
	tokNormal      int32 = 1
	tokUnknown     int32 = 2
	tokControl     int32 = 3
	tokUserDefined int32 = 4
	tokUnused      int32 = 5
	tokByte        int32 = 6
)

// vocabulary is the tokenizer metadata of a file.
type vocabulary struct {
	model, pre string
	tokens     []string
	types      []int32
	scores     []float32 // SentencePiece only
	merges     []string  // byte-level BPE only
	bos, eos   int
	unk, pad   int // -1: none
	addBOS     bool
}

// llama3Named are the first Llama 3 control tokens (ids 128000..128010 in
// Llama 3.2); the rest are <|reserved_special_token_N|>.
var llama3Named = []string{"<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
	"<|reserved_special_token_1|>", "<|finetune_right_pad_id|>", "<|reserved_special_token_2|>",
	"<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>", "<|python_tag|>"}

// qwen2Specials are Qwen2.5's added tokens (ids 151643..151664); the first
// qwen2Control are special (control), the rest plain added tokens.
var qwen2Specials = []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>",
	"<|object_ref_end|>", "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>",
	"<|vision_start|>", "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>",
	"<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>",
	"<|repo_name|>", "<|file_sep|>"}

const qwen2Control = 14

// spmSingles are the one-character pieces of the SentencePiece vocabulary
// (so ordinary text never falls back to byte tokens).
const spmSingles = "▁abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?'\":;-()"

// llama3Specials is how many control tokens a Llama 3 vocabulary of size n
// has: Llama 3's 256 when there is room, else only the named ones.
func llama3Specials(n int) int {
	if n >= 1024 {
		return 256
	}
	return len(llama3Named)
}

func minVocab(v Vocab, pad int) int {
	switch v {
	case VocabLlama3:
		return 256 + len(llama3Named)
	case VocabQwen2:
		return 256 + len(qwen2Specials) + pad
	default:
		return 3 + 256 + len([]rune(spmSingles))
	}
}

// byteChars returns GPT-2's printable stand-in for each byte, in the order
// byte-level vocabularies list them (ids 0..255: the printable bytes first).
func byteChars() []string {
	var bs []int
	for b := '!'; b <= '~'; b++ {
		bs = append(bs, int(b))
	}
	for b := 0xA1; b <= 0xAC; b++ {
		bs = append(bs, b)
	}
	for b := 0xAE; b <= 0xFF; b++ {
		bs = append(bs, b)
	}
	printable := map[int]bool{}
	for _, b := range bs {
		printable[b] = true
	}
	cs := append([]int(nil), bs...)
	n := 0
	for b := 0; b < 256; b++ {
		if !printable[b] {
			bs = append(bs, b)
			cs = append(cs, 256+n)
			n++
		}
	}
	out := make([]string, 256)
	for i, c := range cs {
		out[i] = string(rune(c))
	}
	return out
}

// pieceGen grows a set of word-like pieces by concatenating two existing
// ones, so every piece is reachable by merges. The generator is seeded with
// a constant: a shape's vocabulary is the same in every file.
type pieceGen struct {
	rng         *rand.Rand
	seen        map[string]bool
	left, right []string // pieces usable as the first / second half
	maxLen      int
}

func newPieceGen(seed uint64, left, right []string, taken []string) *pieceGen {
	g := &pieceGen{rng: rand.New(rand.NewPCG(seed, 0x5eed)), seen: map[string]bool{}, maxLen: 16,
		left: append([]string(nil), left...), right: append([]string(nil), right...)}
	for _, t := range taken {
		g.seen[t] = true
	}
	return g
}

// pick favours early (short) pieces, as real vocabularies are mostly short.
func (g *pieceGen) pick(list []string) string {
	u := g.rng.Float64()
	return list[int(float64(len(list))*u*u)]
}

// next returns a new piece and the pair it merges.
func (g *pieceGen) next(space string) (piece, a, b string, err error) {
	for range 1 << 20 {
		a, b = g.pick(g.left), g.pick(g.right)
		p := a + b
		if len(p) > g.maxLen || g.seen[p] {
			continue
		}
		g.seen[p] = true
		g.left = append(g.left, p)
		if !strings.HasPrefix(p, space) {
			g.right = append(g.right, p)
		}
		return p, a, b, nil
	}
	return "", "", "", fmt.Errorf("synth: vocabulary generator found no new piece")
}

// buildVocab makes a vocabulary of exactly size tokens.
func buildVocab(kind Vocab, size, pad int) (*vocabulary, error) {
	if size < minVocab(kind, pad) {
		return nil, fmt.Errorf("synth: a %s vocabulary needs at least %d tokens, not %d", kind, minVocab(kind, pad), size)
	}
	switch kind {
	case VocabLlama3, VocabQwen2:
		return byteLevelVocab(kind, size, pad)
	default:
		return spmVocab(size)
	}
}

func byteLevelVocab(kind Vocab, size, pad int) (*vocabulary, error) {
	var specials []string
	var specialTypes []int32
	v := &vocabulary{model: "gpt2", unk: -1, pad: -1}
	switch kind {
	case VocabLlama3:
		n := llama3Specials(size)
		for i := range n {
			s := fmt.Sprintf("<|reserved_special_token_%d|>", i-8)
			if i < len(llama3Named) {
				s = llama3Named[i]
			}
			specials = append(specials, s)
			specialTypes = append(specialTypes, tokControl)
		}
		pad = 0
		v.pre, v.addBOS = "llama-bpe", true
	case VocabQwen2:
		for i, s := range qwen2Specials {
			specials = append(specials, s)
			t := tokControl
			if i >= qwen2Control {
				t = tokUserDefined
			}
			specialTypes = append(specialTypes, t)
		}
		v.pre, v.addBOS = "qwen2", false
	}
	text := size - len(specials) - pad
	bytes := byteChars()
	v.tokens = make([]string, 0, size)
	v.types = make([]int32, 0, size)
	v.tokens = append(v.tokens, bytes...)
	for range bytes {
		v.types = append(v.types, tokNormal)
	}
	var letters []string
	for c := 'a'; c <= 'z'; c++ {
		letters = append(letters, string(c))
	}
	for c := 'A'; c <= 'Z'; c++ {
		letters = append(letters, string(c))
	}
	const space = "Ġ" // GPT-2's stand-in for ' '
	g := newPieceGen(uint64(kind)+1, append([]string{space}, letters...), letters, bytes)
	v.merges = make([]string, 0, text-256)
	for len(v.tokens) < text {
		p, a, b, err := g.next(space)
		if err != nil {
			return nil, err
		}
		v.tokens = append(v.tokens, p)
		v.types = append(v.types, tokNormal)
		v.merges = append(v.merges, a+" "+b)
	}
	first := len(v.tokens)
	v.tokens = append(v.tokens, specials...)
	v.types = append(v.types, specialTypes...)
	for len(v.tokens) < size {
		v.tokens = append(v.tokens, fmt.Sprintf("[PAD%d]", len(v.tokens)))
		v.types = append(v.types, tokUnused)
	}
	switch kind {
	case VocabLlama3:
		// Llama 3.2 (Instruct) GGUFs: BOS <|begin_of_text|>, EOS <|eot_id|>.
		v.bos, v.eos = first, first+9
	case VocabQwen2:
		// Qwen2.5 (Instruct): BOS and padding <|endoftext|>, EOS <|im_end|>.
		v.bos, v.eos, v.pad = first, first+2, first
	}
	return v, nil
}

func spmVocab(size int) (*vocabulary, error) {
	v := &vocabulary{model: "llama", pre: "default", bos: 1, eos: 2, unk: 0, pad: 2, addBOS: true}
	v.tokens = []string{"<unk>", "<s>", "</s>"}
	v.types = []int32{tokUnknown, tokControl, tokControl}
	for b := range 256 {
		v.tokens = append(v.tokens, fmt.Sprintf("<0x%02X>", b))
		v.types = append(v.types, tokByte)
	}
	var singles, letters []string
	for _, r := range spmSingles {
		singles = append(singles, string(r))
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			letters = append(letters, string(r))
		}
	}
	const space = "▁"
	g := newPieceGen(uint64(VocabSPM)+1, append([]string{space}, letters...), letters, append(append([]string(nil), v.tokens...), singles...))
	merged := size - len(v.tokens) - len(singles)
	for range merged {
		p, _, _, err := g.next(space)
		if err != nil {
			return nil, err
		}
		v.tokens = append(v.tokens, p)
		v.types = append(v.types, tokNormal)
	}
	// Single characters go last, as in Llama 2's vocabulary; they are never
	// the result of a merge, so their (lowest) scores do not matter.
	for _, s := range singles {
		v.tokens = append(v.tokens, s)
		v.types = append(v.types, tokNormal)
	}
	// Scores rank merges: earlier (shorter) pieces merge first.
	v.scores = make([]float32, len(v.tokens))
	for i := 259; i < len(v.tokens); i++ {
		v.scores[i] = -float32(i - 259)
	}
	return v, nil
}
