package tokenizer

import (
	"errors"
	"fmt"
	"strings"
	"sync"
)

// GGUFVocab is the tokenizer metadata of a GGUF file (the tokenizer.ggml.*
// keys). Ids are -1 and booleans nil when the key is absent.
type GGUFVocab struct {
	Model, Pre   string // tokenizer.ggml.model ("llama" or "gpt2"), tokenizer.ggml.pre
	Tokens       []string
	Scores       []float32
	Types        []int32
	Merges       []string
	BOS, EOS     int
	UNK, PAD     int
	EOT, EOM     int
	AddBOS       *bool // tokenizer.ggml.add_bos_token
	AddEOS       *bool // tokenizer.ggml.add_eos_token
	ChatTemplate string
	// AddSpacePrefix is tokenizer.ggml.add_space_prefix (llama vocabularies;
	// llama.cpp's default, true, when nil).
	AddSpacePrefix *bool
}

// Regexes of the byte-level pre-tokenizers llama.cpp selects by
// tokenizer.ggml.pre, and whether a word found whole in the vocabulary
// skips merging (llama.cpp's ignore_merges).
var ggufPre = map[string]struct {
	pattern      string
	ignoreMerges bool
	addBOS       bool
}{
	"default":          {gpt2Pattern, false, false},
	"gpt-2":            {gpt2Pattern, false, false},
	"llama3":           {llama3Pattern, true, true},
	"llama-v3":         {llama3Pattern, true, true},
	"llama-bpe":        {llama3Pattern, true, true},
	"falcon3":          {llama3Pattern, true, true},
	"pixtral":          {llama3Pattern, true, true},
	"qwen2":            {qwen2Pattern, false, false},
	"deepseek-r1-qwen": {qwen2Pattern, false, false},
}

var (
	regexCacheMu sync.Mutex
	regexCache   = map[string]*regex{}
)

// cachedRegex compiles this package's fixed patterns once.
func cachedRegex(expr string) *regex {
	regexCacheMu.Lock()
	defer regexCacheMu.Unlock()
	r, ok := regexCache[expr]
	if !ok {
		r = mustRegex(expr)
		regexCache[expr] = r
	}
	return r
}

// FromGGUFVocab builds a tokenizer from GGUF tokenizer metadata, matching
// llama.cpp's tokenization with special tokens parsed.
func FromGGUFVocab(v GGUFVocab) (*Tokenizer, error) {
	t, err := fromGGUFVocab(v)
	if err != nil {
		return nil, fmt.Errorf("gguf vocabulary: %w", err)
	}
	return t, nil
}

func fromGGUFVocab(v GGUFVocab) (*Tokenizer, error) {
	n := len(v.Tokens)
	if n == 0 {
		return nil, errors.New("tokenizer.ggml.tokens is empty")
	}
	if n > maxVocab {
		return nil, fmt.Errorf("tokenizer.ggml.tokens has %d entries (max %d)", n, maxVocab)
	}
	if len(v.Scores) != 0 && len(v.Scores) != n {
		return nil, fmt.Errorf("tokenizer.ggml.scores has %d entries for %d tokens", len(v.Scores), n)
	}
	if len(v.Types) != 0 && len(v.Types) != n {
		return nil, fmt.Errorf("tokenizer.ggml.token_type has %d entries for %d tokens", len(v.Types), n)
	}
	types := make([]int32, n)
	for i := range types {
		types[i] = typeNormal
		if len(v.Types) > 0 {
			switch typ := v.Types[i]; {
			case typ == 0: // undefined
			case typ >= typeNormal && typ <= typeByte:
				types[i] = typ
			default:
				return nil, fmt.Errorf("tokenizer.ggml.token_type[%d] = %d is not a token type", i, typ)
			}
		}
	}
	scores := v.Scores
	if len(scores) == 0 {
		scores = make([]float32, n)
	}
	for name, id := range map[string]int{"bos": v.BOS, "eos": v.EOS, "unknown": v.UNK, "padding": v.PAD, "eot": v.EOT, "eom": v.EOM} {
		if id < -1 || id >= n {
			return nil, fmt.Errorf("tokenizer.ggml.%s_token_id %d outside the vocabulary (%d tokens)", name, id, n)
		}
	}
	t := &Tokenizer{
		pieces:       v.Tokens,
		types:        types,
		bos:          v.BOS,
		eos:          v.EOS,
		unk:          v.UNK,
		chatTemplate: v.ChatTemplate,
	}
	// llama.cpp treats tokens with these texts as end-of-generation control
	// tokens whatever their stored type (Qwen's text token "</s>" included).
	for i, p := range t.pieces {
		if eogNames[p] {
			t.types[i] = typeControl
		}
	}

	var addBOS, addEOS bool
	switch v.Model {
	case "llama":
		t.kind = KindSentencePieceBPE
		if t.bos < 0 && n > 1 {
			t.bos = 1
		}
		if t.eos < 0 && n > 2 {
			t.eos = 2
		}
		if t.unk < 0 {
			for i, typ := range types {
				if typ == typeUnknown {
					t.unk = i
					break
				}
			}
		}
		addSpace := v.AddSpacePrefix == nil || *v.AddSpacePrefix
		t.sp = newSPModel(t.pieces, scores, types, false, true, t.unk)
		t.spNorm = &spNormalizer{addDummyPrefix: addSpace, escapeWS: true}
		t.dec = spDecodeSpec(addSpace)
		// Control and unknown tokens are parsed whole (llama.cpp's
		// parse_special); user-defined ones are left to the segmenter,
		// which keeps them whole too without a space prefix after them.
		t.rawSpecial = specialMatcher(t.pieces, types, typeControl, typeUnknown)
		addBOS = true
	case "gpt2":
		t.kind = KindByteLevelBPE
		pre, ok := ggufPre[v.Pre]
		if !ok {
			return nil, fmt.Errorf("tokenizer.ggml.pre %q is not supported", v.Pre)
		}
		vocab := make(map[string]int32, n)
		for i, p := range t.pieces {
			if _, dup := vocab[p]; !dup {
				vocab[p] = int32(i)
			}
		}
		m := newBPEModel(vocab)
		m.ignoreMerges = pre.ignoreMerges
		for i, mg := range v.Merges {
			// Pieces never start with a space (it is Ġ), so the first space
			// after the first character separates the pair.
			k := strings.IndexByte(mg[min(1, len(mg)):], ' ')
			if k < 0 {
				return nil, fmt.Errorf("tokenizer.ggml.merges[%d] = %q has no space", i, mg)
			}
			k += min(1, len(mg))
			if err := m.addMerge(mg[:k], mg[k+1:], i, false); err != nil {
				return nil, fmt.Errorf("tokenizer.ggml.merges: %w", err)
			}
		}
		t.bpe = m
		t.preTok = []preStep{
			regexStep(cachedRegex(pre.pattern), "Isolated", false),
			byteLevelStep(false, nil),
		}
		t.dec = decodeSpec{byteLevel: true}
		t.rawSpecial = specialMatcher(t.pieces, types, typeControl, typeUserDefined, typeUnknown)
		addBOS = pre.addBOS
	default:
		return nil, fmt.Errorf("tokenizer.ggml.model %q is not supported (llama and gpt2 are)", v.Model)
	}
	if v.AddBOS != nil {
		addBOS = *v.AddBOS
	}
	if v.AddEOS != nil {
		addEOS = *v.AddEOS
	}
	t.setAddSpecial(addBOS, addEOS)
	t.finish(v.EOT, v.EOM)
	return t, nil
}

func specialMatcher(pieces []string, types []int32, want ...int32) *matcher {
	var toks []matchTok
	for i, p := range pieces {
		for _, w := range want {
			if types[i] == w && p != "" {
				toks = append(toks, matchTok{text: p, id: i})
				break
			}
		}
	}
	return newMatcher(toks)
}
