package tokenizer

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"

	"github.com/dlclark/regexp2/v2"
)

// preStep is one pre-tokenizer: it cuts each word further (or rewrites it).
// atStart says whether the first word begins the input text.
type preStep func(words []string, atStart bool) []string

// Pre-tokenizer regexes. gpt2Pattern is ByteLevel's use_regex split; the
// others are what llama.cpp uses for the GGUF tokenizer.ggml.pre values.
const (
	gpt2Pattern   = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
	llama3Pattern = `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	qwen2Pattern  = `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
)

// regex is a compiled pattern: a regexp2 expression (Oniguruma-like syntax
// with lookaround, as tokenizer.json patterns need) or a literal string.
type regex struct {
	re  *regexp2.Regexp
	lit string
}

func compileRegex(expr string) (*regex, error) {
	re, err := regexp2.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("regex %q: %w", expr, err)
	}
	return &regex{re: re}, nil
}

func compileLiteral(s string) *regex { return &regex{lit: s} }

// findAll returns the byte ranges of the non-empty, non-overlapping matches.
func (r *regex) findAll(s string) [][2]int {
	var out [][2]int
	if r.re == nil {
		if r.lit == "" {
			return nil
		}
		for i := 0; ; {
			k := strings.Index(s[i:], r.lit)
			if k < 0 {
				return out
			}
			out = append(out, [2]int{i + k, i + k + len(r.lit)})
			i += k + len(r.lit)
		}
	}
	// Work on runes ourselves so that invalid UTF-8 bytes keep their own
	// offsets (each becomes U+FFFD for matching).
	runes := make([]rune, 0, len(s))
	offs := make([]int, 0, len(s)+1)
	for i, c := range s {
		runes = append(runes, c)
		offs = append(offs, i)
	}
	offs = append(offs, len(s))
	idx, err := r.re.FindAllRunesIndex(runes, -1)
	if err != nil {
		// Only a backtracking limit can fail here; keep what matched.
		idx = idx[:0]
	}
	for _, m := range idx {
		if m[1] > m[0] {
			out = append(out, [2]int{offs[m[0]], offs[m[1]]})
		}
	}
	return out
}

func (r *regex) replaceAll(s, with string) string {
	ms := r.findAll(s)
	if len(ms) == 0 {
		return s
	}
	var sb strings.Builder
	prev := 0
	for _, m := range ms {
		sb.WriteString(s[prev:m[0]])
		sb.WriteString(with)
		prev = m[1]
	}
	sb.WriteString(s[prev:])
	return sb.String()
}

// splitBy cuts s around the matches of r following a Hugging Face
// SplitDelimiterBehavior.
func splitBy(s string, r *regex, behavior string, invert bool) []string {
	type span struct {
		start, end int
		match      bool
	}
	var spans []span
	prev := 0
	for _, m := range r.findAll(s) {
		if m[0] > prev {
			spans = append(spans, span{prev, m[0], invert})
		}
		spans = append(spans, span{m[0], m[1], !invert})
		prev = m[1]
	}
	if prev < len(s) {
		spans = append(spans, span{prev, len(s), invert})
	}
	var out []string
	switch behavior {
	case "Removed":
		for _, sp := range spans {
			if !sp.match {
				out = append(out, s[sp.start:sp.end])
			}
		}
	case "MergedWithPrevious":
		// A delimiter joins the piece before it unless that is a delimiter too.
		for i, sp := range spans {
			if sp.match && i > 0 && !spans[i-1].match {
				out[len(out)-1] = s[spans[i-1].start:sp.end]
				continue
			}
			out = append(out, s[sp.start:sp.end])
		}
	case "MergedWithNext":
		// A delimiter joins the piece after it unless that is a delimiter too.
		start := -1
		for i, sp := range spans {
			if start < 0 {
				start = sp.start
			}
			if sp.match && i+1 < len(spans) && !spans[i+1].match {
				continue
			}
			out = append(out, s[start:sp.end])
			start = -1
		}
	case "Contiguous":
		for i := 0; i < len(spans); {
			j := i + 1
			if spans[i].match {
				for j < len(spans) && spans[j].match {
					j++
				}
			}
			out = append(out, s[spans[i].start:spans[j-1].end])
			i = j
		}
	default: // Isolated
		for _, sp := range spans {
			out = append(out, s[sp.start:sp.end])
		}
	}
	return out
}

func regexStep(r *regex, behavior string, invert bool) preStep {
	return func(words []string, _ bool) []string {
		var out []string
		for _, w := range words {
			out = append(out, splitBy(w, r, behavior, invert)...)
		}
		return out
	}
}

func byteLevelStep(addPrefixSpace bool, re *regex) preStep {
	return func(words []string, _ bool) []string {
		var out []string
		for _, w := range words {
			if addPrefixSpace && !strings.HasPrefix(w, " ") {
				w = " " + w
			}
			parts := []string{w}
			if re != nil {
				parts = splitBy(w, re, "Isolated", false)
			}
			for _, p := range parts {
				out = append(out, byteLevelEncode(p))
			}
		}
		return out
	}
}

var validBehaviors = map[string]bool{
	"Removed": true, "Isolated": true, "MergedWithPrevious": true, "MergedWithNext": true, "Contiguous": true,
}

func buildPreTokenizer(c *component, byteLevel *bool) ([]preStep, error) {
	switch c.Type {
	case "Sequence":
		var v struct {
			PreTokenizers []json.RawMessage `json:"pretokenizers"`
		}
		if err := c.fields(&v); err != nil {
			return nil, err
		}
		var steps []preStep
		for i, raw := range v.PreTokenizers {
			sub, err := parseComponent(raw, fmt.Sprintf("Sequence[%d]", i))
			if err != nil {
				return nil, err
			}
			if sub == nil {
				continue
			}
			s, err := buildPreTokenizer(sub, byteLevel)
			if err != nil {
				return nil, err
			}
			steps = append(steps, s...)
		}
		return steps, nil
	case "Split":
		var v struct {
			Pattern  pattern `json:"pattern"`
			Behavior string  `json:"behavior"`
			Invert   bool    `json:"invert"`
		}
		if err := c.fields(&v); err != nil {
			return nil, err
		}
		if !validBehaviors[v.Behavior] {
			return nil, fmt.Errorf("Split: unknown behavior %q", v.Behavior)
		}
		re, err := v.Pattern.compile()
		if err != nil {
			return nil, fmt.Errorf("Split: %w", err)
		}
		return []preStep{regexStep(re, v.Behavior, v.Invert)}, nil
	case "ByteLevel":
		v := struct {
			AddPrefixSpace bool `json:"add_prefix_space"`
			UseRegex       bool `json:"use_regex"`
		}{UseRegex: true}
		if err := c.fields(&v); err != nil {
			return nil, err
		}
		var re *regex
		if v.UseRegex {
			re = mustRegex(gpt2Pattern)
		}
		*byteLevel = true
		return []preStep{byteLevelStep(v.AddPrefixSpace, re)}, nil
	case "Metaspace":
		v := struct {
			Replacement    string  `json:"replacement"`
			PrependScheme  *string `json:"prepend_scheme"`
			AddPrefixSpace *bool   `json:"add_prefix_space"`
			Split          *bool   `json:"split"`
		}{Replacement: "\u2581"}
		if err := c.fields(&v); err != nil {
			return nil, err
		}
		if v.Replacement == "" {
			return nil, fmt.Errorf("Metaspace: empty replacement")
		}
		scheme := "always"
		if v.PrependScheme != nil {
			scheme = *v.PrependScheme
		} else if v.AddPrefixSpace != nil && !*v.AddPrefixSpace {
			scheme = "never"
		}
		if scheme != "always" && scheme != "first" && scheme != "never" {
			return nil, fmt.Errorf("Metaspace: unknown prepend_scheme %q", scheme)
		}
		split := v.Split == nil || *v.Split
		rep := v.Replacement
		repRe := compileLiteral(rep)
		return []preStep{func(words []string, atStart bool) []string {
			var out []string
			for i, w := range words {
				w = strings.ReplaceAll(w, " ", rep)
				if !strings.HasPrefix(w, rep) && (scheme == "always" || scheme == "first" && atStart && i == 0) {
					w = rep + w
				}
				if split {
					out = append(out, splitBy(w, repRe, "MergedWithNext", false)...)
				} else {
					out = append(out, w)
				}
			}
			return out
		}}, nil
	case "Whitespace":
		return []preStep{regexStep(mustRegex(`\w+|[^\w\s]+`), "Removed", true)}, nil
	case "WhitespaceSplit":
		return []preStep{func(words []string, _ bool) []string {
			var out []string
			for _, w := range words {
				out = append(out, strings.FieldsFunc(w, unicode.IsSpace)...)
			}
			return out
		}}, nil
	case "Digits":
		var v struct {
			Individual bool `json:"individual_digits"`
		}
		if err := c.fields(&v); err != nil {
			return nil, err
		}
		expr := `\p{N}+`
		if v.Individual {
			expr = `\p{N}`
		}
		return []preStep{regexStep(mustRegex(expr), "Isolated", false)}, nil
	case "Punctuation":
		v := struct {
			Behavior string `json:"behavior"`
		}{Behavior: "Isolated"}
		if err := c.fields(&v); err != nil {
			return nil, err
		}
		if !validBehaviors[v.Behavior] {
			return nil, fmt.Errorf("Punctuation: unknown behavior %q", v.Behavior)
		}
		return []preStep{regexStep(mustRegex(`[\p{P}!-/:-@\[-`+"`"+`{-~]`), v.Behavior, false)}, nil
	}
	return nil, fmt.Errorf("pre_tokenizer type %q is not supported", c.Type)
}

// mustRegex compiles one of this package's own patterns.
func mustRegex(expr string) *regex {
	r, err := compileRegex(expr)
	if err != nil {
		panic(err)
	}
	return r
}
