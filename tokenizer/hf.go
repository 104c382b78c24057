package tokenizer

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// maxVocab bounds ids read from files so a corrupt id cannot make us
// allocate gigabytes.
const maxVocab = 1 << 24

type hfFile struct {
	AddedTokens   []hfAdded       `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Decoder       json.RawMessage `json:"decoder"`
	Model         *hfModel        `json:"model"`
}

type hfAdded struct {
	ID         *int    `json:"id"`
	Content    *string `json:"content"`
	SingleWord bool    `json:"single_word"`
	LStrip     bool    `json:"lstrip"`
	RStrip     bool    `json:"rstrip"`
	Normalized bool    `json:"normalized"`
	Special    bool    `json:"special"`
}

type hfModel struct {
	Type                    string          `json:"type"`
	Vocab                   json.RawMessage `json:"vocab"`
	Merges                  json.RawMessage `json:"merges"`
	UnkToken                *string         `json:"unk_token"`
	UnkID                   *int            `json:"unk_id"`
	ByteFallback            bool            `json:"byte_fallback"`
	FuseUnk                 bool            `json:"fuse_unk"`
	IgnoreMerges            bool            `json:"ignore_merges"`
	ContinuingSubwordPrefix *string         `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string         `json:"end_of_word_suffix"`
}

// component is the common shape of normalizers, pre-tokenizers,
// post-processors and decoders: a "type" and type-specific fields.
type component struct {
	Type string `json:"type"`
	raw  json.RawMessage
}

func parseComponent(raw json.RawMessage, what string) (*component, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	c := &component{raw: raw}
	if err := json.Unmarshal(raw, c); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if c.Type == "" {
		return nil, fmt.Errorf("%s: missing \"type\"", what)
	}
	return c, nil
}

func (c *component) fields(v any) error {
	if err := json.Unmarshal(c.raw, v); err != nil {
		return fmt.Errorf("%s: %w", c.Type, err)
	}
	return nil
}

// FromTokenizerJSON builds a tokenizer from a Hugging Face tokenizer.json
// and, when not nil, the tokenizer_config.json beside it.
func FromTokenizerJSON(data, configJSON []byte) (*Tokenizer, error) {
	t, err := fromTokenizerJSON(data, configJSON)
	if err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	return t, nil
}

func fromTokenizerJSON(data, configJSON []byte) (*Tokenizer, error) {
	var f hfFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, err
	}
	cfg, err := parseConfig(configJSON)
	if err != nil {
		return nil, err
	}
	if f.Model == nil {
		return nil, errors.New("no model")
	}
	mdl := *f.Model
	if mdl.Type == "" { // older files omit it
		switch {
		case len(mdl.Merges) > 0:
			mdl.Type = "BPE"
		case len(mdl.Vocab) > 0 && mdl.Vocab[0] == '[':
			mdl.Type = "Unigram"
		}
	}
	t := &Tokenizer{bos: -1, eos: -1, unk: -1}
	switch mdl.Type {
	case "BPE":
		err = t.loadHFBPE(&mdl, len(f.AddedTokens))
	case "Unigram":
		err = t.loadHFUnigram(&mdl)
	default:
		err = fmt.Errorf("model type %q is not supported (BPE and Unigram are)", mdl.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	if err := t.addHFAddedTokens(f.AddedTokens); err != nil {
		return nil, err
	}

	byteLevel := false
	nc, err := parseComponent(f.Normalizer, "normalizer")
	if err != nil {
		return nil, err
	}
	if nc != nil {
		if t.normalize, err = buildNormalizer(nc); err != nil {
			return nil, fmt.Errorf("normalizer: %w", err)
		}
	}
	pc, err := parseComponent(f.PreTokenizer, "pre_tokenizer")
	if err != nil {
		return nil, err
	}
	if pc != nil {
		if t.preTok, err = buildPreTokenizer(pc, &byteLevel); err != nil {
			return nil, fmt.Errorf("pre_tokenizer: %w", err)
		}
	}
	dc, err := parseComponent(f.Decoder, "decoder")
	if err != nil {
		return nil, err
	}
	if dc == nil {
		t.dec.joinSpace = true
	} else {
		fused := false
		if err := buildDecoder(dc, &t.dec, &fused); err != nil {
			return nil, fmt.Errorf("decoder: %w", err)
		}
		byteLevel = byteLevel || t.dec.byteLevel
	}
	switch {
	case mdl.Type == "Unigram":
		t.kind = KindSentencePieceUnigram
	case byteLevel:
		t.kind = KindByteLevelBPE
	default:
		t.kind = KindSentencePieceBPE
	}

	ppc, err := parseComponent(f.PostProcessor, "post_processor")
	if err != nil {
		return nil, err
	}
	if ppc != nil {
		if t.prefix, t.suffix, err = t.buildPostProcessor(ppc); err != nil {
			return nil, fmt.Errorf("post_processor: %w", err)
		}
	}
	// Without a config naming them, BOS and EOS are what the template adds.
	if len(t.prefix) > 0 {
		t.bos = t.prefix[0]
	}
	if len(t.suffix) > 0 {
		t.eos = t.suffix[len(t.suffix)-1]
	}
	addBOS, addEOS := len(t.prefix) > 0, len(t.suffix) > 0
	if err := cfg.apply(t, &addBOS, &addEOS); err != nil {
		return nil, err
	}
	if cfg.addBOS != nil {
		t.prefix = withOrWithout(t.prefix, t.bos, addBOS, true)
	}
	if cfg.addEOS != nil {
		t.suffix = withOrWithout(t.suffix, t.eos, addEOS, false)
	}
	t.finish()
	return t, nil
}

// withOrWithout makes sure ids holds id (at the front or back) or not at all.
func withOrWithout(ids []int, id int, want, front bool) []int {
	var out []int
	for _, x := range ids {
		if x != id {
			out = append(out, x)
		}
	}
	if want && id >= 0 {
		if front {
			out = append([]int{id}, out...)
		} else {
			out = append(out, id)
		}
	}
	return out
}

// setPiece records id's text, growing the tables as needed. Ids must be
// below idLimit(n) for n vocabulary entries and added tokens: ids are
// nearly dense, and a stray huge id must not make us allocate for it.
func (t *Tokenizer) setPiece(id int, text string, typ int32, limit int) error {
	limit = idLimit(limit)
	if id < 0 || id >= limit {
		return fmt.Errorf("token %q has id %d outside [0, %d)", text, id, limit)
	}
	for len(t.pieces) <= id {
		t.pieces = append(t.pieces, "")
		t.types = append(t.types, typeUnused)
	}
	t.pieces[id] = text
	t.types[id] = typ
	return nil
}

// idLimit bounds the ids of a file with n tokens: some slack for holes,
// proportional to the file's size.
func idLimit(n int) int { return min(2*n+1024, maxVocab) }

func (t *Tokenizer) loadHFBPE(mdl *hfModel, nAdded int) error {
	vocab, err := fastVocab(mdl.Vocab)
	if err != nil {
		vocab = nil
		if err := json.Unmarshal(mdl.Vocab, &vocab); err != nil {
			return fmt.Errorf("vocab is not an object of token -> id: %w", err)
		}
	}
	if len(vocab) == 0 {
		return errors.New("empty vocab")
	}
	v32 := make(map[string]int32, len(vocab))
	seen := map[int]string{}
	for s, id := range vocab {
		if prev, dup := seen[id]; dup {
			return fmt.Errorf("vocab: id %d given to both %q and %q", id, prev, s)
		}
		seen[id] = s
		typ := int32(typeNormal)
		if _, isByte := bytePiece(s); isByte && mdl.ByteFallback {
			typ = typeByte
		}
		if err := t.setPiece(id, s, typ, len(vocab)+nAdded); err != nil {
			return fmt.Errorf("vocab: %w", err)
		}
		v32[s] = int32(id)
	}
	m := newBPEModel(v32)
	m.byteFallback = mdl.ByteFallback
	m.fuseUnk = mdl.FuseUnk
	m.ignoreMerges = mdl.IgnoreMerges
	if mdl.ContinuingSubwordPrefix != nil {
		m.contPrefix = *mdl.ContinuingSubwordPrefix
	}
	if mdl.EndOfWordSuffix != nil {
		m.wordSuffix = *mdl.EndOfWordSuffix
	}
	if mdl.UnkToken != nil {
		id, ok := v32[*mdl.UnkToken]
		if !ok {
			return fmt.Errorf("unk_token %q is not in the vocabulary", *mdl.UnkToken)
		}
		m.unk = id
		t.unk = int(id)
		t.types[id] = typeUnknown
	}
	merges, err := parseMerges(mdl.Merges)
	if err != nil {
		return err
	}
	for i, mg := range merges {
		if err := m.addMerge(mg[0], mg[1], i, true); err != nil {
			return fmt.Errorf("merges: %w", err)
		}
	}
	t.bpe = m
	return nil
}

// parseMerges accepts both the "a b" string form and the ["a", "b"] form.
func parseMerges(raw json.RawMessage) ([][2]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	strs, pairs, err := fastMerges(raw)
	if err != nil {
		strs, pairs = nil, nil
		if json.Unmarshal(raw, &strs) != nil {
			strs = nil
			var ps [][]string
			if err := json.Unmarshal(raw, &ps); err != nil {
				return nil, errors.New("merges is neither a list of \"a b\" strings nor a list of [a, b] pairs")
			}
			for i, p := range ps {
				if len(p) != 2 {
					return nil, fmt.Errorf("merges[%d] has %d elements, want 2", i, len(p))
				}
				pairs = append(pairs, [2]string{p[0], p[1]})
			}
		}
	}
	if pairs != nil {
		return pairs, nil
	}
	out := make([][2]string, len(strs))
	for i, s := range strs {
		a, b, ok := strings.Cut(s, " ")
		if !ok || a == "" || b == "" || strings.Contains(b, " ") {
			return nil, fmt.Errorf("merges[%d] = %q is not two tokens separated by one space", i, s)
		}
		out[i] = [2]string{a, b}
	}
	return out, nil
}

func (t *Tokenizer) loadHFUnigram(mdl *hfModel) error {
	var entries [][2]json.RawMessage
	if err := json.Unmarshal(mdl.Vocab, &entries); err != nil {
		return fmt.Errorf("vocab is not a list of [piece, score]: %w", err)
	}
	if len(entries) == 0 || len(entries) > maxVocab {
		return fmt.Errorf("vocab has %d entries", len(entries))
	}
	pieces := make([]string, len(entries))
	scores := make([]float32, len(entries))
	types := make([]int32, len(entries))
	for i, e := range entries {
		var sc float64
		if err := json.Unmarshal(e[0], &pieces[i]); err != nil {
			return fmt.Errorf("vocab[%d]: piece is not a string", i)
		}
		if err := json.Unmarshal(e[1], &sc); err != nil {
			return fmt.Errorf("vocab[%d]: score is not a number", i)
		}
		scores[i] = float32(sc)
		types[i] = typeNormal
		if _, isByte := bytePiece(pieces[i]); isByte && mdl.ByteFallback {
			types[i] = typeByte
		}
	}
	unk := -1
	if mdl.UnkID != nil {
		if *mdl.UnkID < 0 || *mdl.UnkID >= len(pieces) {
			return fmt.Errorf("unk_id %d outside the vocabulary", *mdl.UnkID)
		}
		unk = *mdl.UnkID
		types[unk] = typeUnknown
	}
	t.pieces, t.types, t.unk = pieces, types, unk
	t.sp = newSPModel(pieces, scores, types, true, mdl.ByteFallback, unk)
	return nil
}

func (t *Tokenizer) addHFAddedTokens(added []hfAdded) error {
	var raw, normed []matchTok
	limit := len(t.pieces) + len(added)
	for i, a := range added {
		if a.ID == nil || a.Content == nil {
			return fmt.Errorf("added_tokens[%d]: missing id or content", i)
		}
		if *a.Content == "" {
			return fmt.Errorf("added_tokens[%d]: empty content", i)
		}
		id := *a.ID
		if id >= 0 && id < len(t.pieces) && t.types[id] != typeUnused && t.pieces[id] != *a.Content {
			return fmt.Errorf("added_tokens[%d]: id %d is %q in the vocabulary, not %q", i, id, t.pieces[id], *a.Content)
		}
		typ := int32(typeUserDefined)
		if a.Special {
			typ = typeControl
		}
		if err := t.setPiece(id, *a.Content, typ, limit); err != nil {
			return fmt.Errorf("added_tokens[%d]: %w", i, err)
		}
		mt := matchTok{text: *a.Content, id: id, lstrip: a.LStrip, rstrip: a.RStrip, singleWrd: a.SingleWord}
		if a.Normalized {
			normed = append(normed, mt)
		} else {
			raw = append(raw, mt)
		}
	}
	t.rawSpecial = newMatcher(raw)
	t.normSpecial = newMatcher(normed)
	return nil
}

// pattern is the {"String": ...} or {"Regex": ...} of Split and Replace.
type pattern struct {
	String *string `json:"String"`
	Regex  *string `json:"Regex"`
}

func (p pattern) compile() (*regex, error) {
	switch {
	case p.String != nil:
		return compileLiteral(*p.String), nil
	case p.Regex != nil:
		return compileRegex(*p.Regex)
	}
	return nil, errors.New("pattern has neither String nor Regex")
}

func buildNormalizer(c *component) (func(string) string, error) {
	switch c.Type {
	case "Sequence":
		var v struct {
			Normalizers []json.RawMessage `json:"normalizers"`
		}
		if err := c.fields(&v); err != nil {
			return nil, err
		}
		var fs []func(string) string
		for i, raw := range v.Normalizers {
			sub, err := parseComponent(raw, fmt.Sprintf("Sequence[%d]", i))
			if err != nil {
				return nil, err
			}
			if sub == nil {
				continue
			}
			f, err := buildNormalizer(sub)
			if err != nil {
				return nil, err
			}
			fs = append(fs, f)
		}
		return func(s string) string {
			for _, f := range fs {
				s = f(s)
			}
			return s
		}, nil
	case "NFC":
		return norm.NFC.String, nil
	case "NFD":
		return norm.NFD.String, nil
	case "NFKC":
		return norm.NFKC.String, nil
	case "NFKD":
		return norm.NFKD.String, nil
	case "Lowercase":
		return strings.ToLower, nil
	case "StripAccents":
		return func(s string) string {
			return strings.Map(func(r rune) rune {
				if unicode.Is(unicode.Mn, r) {
					return -1
				}
				return r
			}, s)
		}, nil
	case "Strip":
		var v struct {
			Left  bool `json:"strip_left"`
			Right bool `json:"strip_right"`
		}
		if err := c.fields(&v); err != nil {
			return nil, err
		}
		return func(s string) string {
			if v.Left {
				s = strings.TrimLeftFunc(s, unicode.IsSpace)
			}
			if v.Right {
				s = strings.TrimRightFunc(s, unicode.IsSpace)
			}
			return s
		}, nil
	case "Prepend":
		var v struct {
			Prepend string `json:"prepend"`
		}
		if err := c.fields(&v); err != nil {
			return nil, err
		}
		return func(s string) string {
			if s == "" {
				return s
			}
			return v.Prepend + s
		}, nil
	case "Replace":
		var v struct {
			Pattern pattern `json:"pattern"`
			Content string  `json:"content"`
		}
		if err := c.fields(&v); err != nil {
			return nil, err
		}
		re, err := v.Pattern.compile()
		if err != nil {
			return nil, fmt.Errorf("Replace: %w", err)
		}
		return func(s string) string { return re.replaceAll(s, v.Content) }, nil
	case "Precompiled":
		var v struct {
			Map string `json:"precompiled_charsmap"`
		}
		if err := c.fields(&v); err != nil {
			return nil, err
		}
		if v.Map == "" {
			return func(s string) string { return s }, nil
		}
		b, err := base64.StdEncoding.DecodeString(v.Map)
		if err != nil {
			return nil, fmt.Errorf("Precompiled: precompiled_charsmap is not base64: %w", err)
		}
		cm, err := parseCharsmap(b)
		if err != nil {
			return nil, fmt.Errorf("Precompiled: %w", err)
		}
		return cm.normalize, nil
	}
	return nil, fmt.Errorf("normalizer type %q is not supported", c.Type)
}

func buildDecoder(c *component, d *decodeSpec, fused *bool) error {
	switch c.Type {
	case "Sequence":
		var v struct {
			Decoders []json.RawMessage `json:"decoders"`
		}
		if err := c.fields(&v); err != nil {
			return err
		}
		for i, raw := range v.Decoders {
			sub, err := parseComponent(raw, fmt.Sprintf("Sequence[%d]", i))
			if err != nil {
				return err
			}
			if sub != nil {
				if err := buildDecoder(sub, d, fused); err != nil {
					return err
				}
			}
		}
		return nil
	case "ByteLevel":
		d.byteLevel = true
		return nil
	case "ByteFallback":
		d.byteFallback = true
		return nil
	case "Fuse":
		*fused = true
		return nil
	case "Replace":
		var v struct {
			Pattern pattern `json:"pattern"`
			Content string  `json:"content"`
		}
		if err := c.fields(&v); err != nil {
			return err
		}
		re, err := v.Pattern.compile()
		if err != nil {
			return fmt.Errorf("Replace: %w", err)
		}
		d.perToken = append(d.perToken, func(s string) string { return re.replaceAll(s, v.Content) })
		return nil
	case "Strip":
		var v struct {
			Content string `json:"content"`
			Start   int    `json:"start"`
			Stop    int    `json:"stop"`
		}
		if err := c.fields(&v); err != nil {
			return err
		}
		r := []rune(v.Content)
		if len(r) != 1 || v.Start < 0 || v.Stop < 0 {
			return fmt.Errorf("Strip: content %q start %d stop %d: want one character and counts >= 0", v.Content, v.Start, v.Stop)
		}
		if *fused {
			// After Fuse there is one token: strip the ends of the text.
			if d.stripLeft > 0 && d.stripRune != r[0] {
				return errors.New("Strip: two different characters stripped at the start")
			}
			d.stripRune, d.stripLeft, d.stripRight = r[0], v.Start, v.Stop
			return nil
		}
		ch := string(r[0])
		d.perToken = append(d.perToken, func(s string) string {
			for k := 0; k < v.Start && strings.HasPrefix(s, ch); k++ {
				s = s[len(ch):]
			}
			for k := 0; k < v.Stop && strings.HasSuffix(s, ch); k++ {
				s = s[:len(s)-len(ch)]
			}
			return s
		})
		return nil
	case "Metaspace":
		var v struct {
			Replacement    string  `json:"replacement"`
			PrependScheme  *string `json:"prepend_scheme"`
			AddPrefixSpace *bool   `json:"add_prefix_space"`
		}
		if err := c.fields(&v); err != nil {
			return err
		}
		if v.Replacement == "" {
			v.Replacement = "\u2581"
		}
		rep := v.Replacement
		d.perToken = append(d.perToken, func(s string) string { return strings.ReplaceAll(s, rep, " ") })
		prepend := true
		if v.PrependScheme != nil {
			prepend = *v.PrependScheme != "never"
		} else if v.AddPrefixSpace != nil {
			prepend = *v.AddPrefixSpace
		}
		if prepend {
			d.stripRune, d.stripLeft = ' ', 1
		}
		return nil
	}
	return fmt.Errorf("decoder type %q is not supported", c.Type)
}

// buildPostProcessor returns the ids add_special_tokens=True puts before
// and after a single sequence.
func (t *Tokenizer) buildPostProcessor(c *component) (prefix, suffix []int, err error) {
	switch c.Type {
	case "ByteLevel":
		return nil, nil, nil
	case "Sequence":
		var v struct {
			Processors []json.RawMessage `json:"processors"`
		}
		if err := c.fields(&v); err != nil {
			return nil, nil, err
		}
		for i, raw := range v.Processors {
			sub, err := parseComponent(raw, fmt.Sprintf("Sequence[%d]", i))
			if err != nil {
				return nil, nil, err
			}
			if sub == nil {
				continue
			}
			p, s, err := t.buildPostProcessor(sub)
			if err != nil {
				return nil, nil, err
			}
			prefix = append(append([]int(nil), p...), prefix...)
			suffix = append(suffix, s...)
		}
		return prefix, suffix, nil
	case "BertProcessing", "RobertaProcessing":
		var v struct {
			Sep [2]json.RawMessage `json:"sep"`
			Cls [2]json.RawMessage `json:"cls"`
		}
		if err := c.fields(&v); err != nil {
			return nil, nil, err
		}
		var cls, sep int
		if err := json.Unmarshal(v.Cls[1], &cls); err != nil {
			return nil, nil, fmt.Errorf("%s: cls id: %w", c.Type, err)
		}
		if err := json.Unmarshal(v.Sep[1], &sep); err != nil {
			return nil, nil, fmt.Errorf("%s: sep id: %w", c.Type, err)
		}
		if err := t.checkID(cls); err != nil {
			return nil, nil, err
		}
		if err := t.checkID(sep); err != nil {
			return nil, nil, err
		}
		return []int{cls}, []int{sep}, nil
	case "TemplateProcessing":
		var v struct {
			Single        []json.RawMessage `json:"single"`
			SpecialTokens map[string]struct {
				IDs []int `json:"ids"`
			} `json:"special_tokens"`
		}
		if err := c.fields(&v); err != nil {
			return nil, nil, err
		}
		seenSeq := false
		for i, raw := range v.Single {
			var item struct {
				SpecialToken *struct {
					ID string `json:"id"`
				} `json:"SpecialToken"`
				Sequence *struct {
					ID string `json:"id"`
				} `json:"Sequence"`
			}
			name := ""
			var s string
			if json.Unmarshal(raw, &s) == nil {
				// The short form: "$A", "$0", "<s>", "<s>:1".
				if strings.HasPrefix(s, "$") {
					seenSeq = true
					continue
				}
				name, _, _ = strings.Cut(s, ":")
			} else if err := json.Unmarshal(raw, &item); err != nil {
				return nil, nil, fmt.Errorf("TemplateProcessing: single[%d]: %w", i, err)
			} else if item.Sequence != nil {
				seenSeq = true
				continue
			} else if item.SpecialToken != nil {
				name = item.SpecialToken.ID
			} else {
				return nil, nil, fmt.Errorf("TemplateProcessing: single[%d] is neither SpecialToken nor Sequence", i)
			}
			st, ok := v.SpecialTokens[name]
			if !ok {
				return nil, nil, fmt.Errorf("TemplateProcessing: special token %q not in special_tokens", name)
			}
			for _, id := range st.IDs {
				if err := t.checkID(id); err != nil {
					return nil, nil, fmt.Errorf("TemplateProcessing: %q: %w", name, err)
				}
			}
			if seenSeq {
				suffix = append(suffix, st.IDs...)
			} else {
				prefix = append(prefix, st.IDs...)
			}
		}
		return prefix, suffix, nil
	}
	return nil, nil, fmt.Errorf("post_processor type %q is not supported", c.Type)
}

func (t *Tokenizer) checkID(id int) error {
	if id < 0 || id >= len(t.pieces) {
		return fmt.Errorf("id %d outside the vocabulary (size %d)", id, len(t.pieces))
	}
	return nil
}
