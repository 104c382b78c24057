// Package synth writes GGUF files with random weights in the exact tensor
// layout and metadata llama.cpp expects for a given architecture, so that the
// same file can be benchmarked by d3 and by llama.cpp (`d3 synth`).
//
// Weights are normal with standard deviation 0.02, norms are 1, and the
// vocabulary is a synthetic one of the right size and kind (byte-level BPE
// with merges, or SentencePiece with scores). Quantized files follow
// llama-quantize's per-tensor type choice (see TensorType) and its bytes
// (tensor.Quantize reproduces llama.cpp's reference quantizers).
package synth

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Vocab is the kind of tokenizer vocabulary a shape carries.
type Vocab int

const (
	// VocabLlama3 is Llama 3's byte-level BPE (tokenizer.ggml.model gpt2,
	// pre llama-bpe) with 256 <|...|> control tokens after the text tokens.
	VocabLlama3 Vocab = iota
	// VocabQwen2 is Qwen2's byte-level BPE (gpt2, pre qwen2) with 22
	// special tokens and [PAD] tokens up to the embedding size.
	VocabQwen2
	// VocabSPM is Llama 2's SentencePiece BPE (model llama): <unk>, <s>,
	// </s>, 256 byte tokens, then scored pieces.
	VocabSPM
)

var vocabNames = map[Vocab]string{VocabLlama3: "llama3", VocabQwen2: "qwen2", VocabSPM: "spm"}

func (v Vocab) String() string {
	if s, ok := vocabNames[v]; ok {
		return s
	}
	return fmt.Sprintf("Vocab(%d)", int(v))
}

// RopeScaling is Llama 3's frequency-dependent RoPE scaling, which llama.cpp
// stores as the rope_freqs.weight tensor.
type RopeScaling struct {
	Factor, LowFreqFactor, HighFreqFactor float64
	OriginalContext                       int
}

// Shape is an architecture's hyperparameters: everything that decides the
// tensor names, shapes and metadata of the file.
type Shape struct {
	Name       string // preset name, or "custom"
	Arch       string // general.architecture: "llama" or "qwen2"
	Hidden     int
	Layers     int
	Heads      int
	KVHeads    int
	HeadDim    int
	FFN        int
	VocabSize  int // rows of token_embd
	Context    int
	RopeTheta  float64
	NormEps    float32
	Tied       bool // no output.weight: the output reuses token_embd
	QKVBias    bool // attn_{q,k,v}.bias tensors (qwen2)
	Scaling    *RopeScaling
	Vocab      Vocab
	VocabPad   int // trailing [PAD] tokens (unused) in a qwen2 vocabulary
	Parameters string
}

// presets are the published configurations (config.json of each model on
// Hugging Face, as llama.cpp's converter maps them).
var presets = map[string]Shape{
	"llama-3.2-1b": {
		Name: "llama-3.2-1b", Arch: "llama", Hidden: 2048, Layers: 16, Heads: 32, KVHeads: 8, HeadDim: 64,
		FFN: 8192, VocabSize: 128256, Context: 131072, RopeTheta: 500000, NormEps: 1e-5, Tied: true,
		Scaling: &RopeScaling{Factor: 32, LowFreqFactor: 1, HighFreqFactor: 4, OriginalContext: 8192},
		Vocab:   VocabLlama3, Parameters: "1B",
	},
	"qwen2.5-0.5b": {
		Name: "qwen2.5-0.5b", Arch: "qwen2", Hidden: 896, Layers: 24, Heads: 14, KVHeads: 2, HeadDim: 64,
		FFN: 4864, VocabSize: 151936, Context: 32768, RopeTheta: 1e6, NormEps: 1e-6, Tied: true, QKVBias: true,
		Vocab: VocabQwen2, VocabPad: 151936 - 151643 - len(qwen2Specials), Parameters: "0.5B",
	},
	"tinyllama-1.1b": {
		Name: "tinyllama-1.1b", Arch: "llama", Hidden: 2048, Layers: 22, Heads: 32, KVHeads: 4, HeadDim: 64,
		FFN: 5632, VocabSize: 32000, Context: 2048, RopeTheta: 10000, NormEps: 1e-5,
		Vocab: VocabSPM, Parameters: "1.1B",
	},
}

// Presets lists the preset shape names.
func Presets() []string {
	var names []string
	for n := range presets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// customKeys documents the keys of a custom shape, in help order.
var customKeys = []string{"base", "arch", "hidden", "layers", "heads", "kv-heads", "head-dim", "ffn", "vocab",
	"ctx", "theta", "eps", "tied", "bias", "vocab-type", "rope-factor", "rope-low", "rope-high", "rope-orig"}

// CustomHelp describes the custom shape syntax.
const CustomHelp = `custom:KEY=VALUE,... starts from base (a preset, default llama-3.2-1b) and overrides
  arch (llama|qwen2), hidden, layers, heads, kv-heads, head-dim (default hidden/heads), ffn, vocab, ctx,
  theta, eps, tied (true|false), bias (q/k/v biases; default: arch is qwen2), vocab-type (llama3|qwen2|spm),
  rope-factor (Llama 3 RoPE scaling factor; 0 = none), rope-low, rope-high, rope-orig.
  Example: custom:hidden=256,layers=2,heads=4,kv-heads=2,ffn=512,vocab=1024`

// ParseShape returns a preset by name or parses a custom shape (CustomHelp).
func ParseShape(spec string) (Shape, error) {
	if s, ok := presets[strings.ToLower(spec)]; ok {
		return s.clone(), nil
	}
	rest, ok := strings.CutPrefix(spec, "custom:")
	if !ok {
		return Shape{}, fmt.Errorf("unknown shape %q (presets: %s; or custom:KEY=VALUE,...)", spec, strings.Join(Presets(), ", "))
	}
	kv := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || v == "" {
			return Shape{}, fmt.Errorf("custom shape: %q is not KEY=VALUE", part)
		}
		known := false
		for _, c := range customKeys {
			known = known || c == k
		}
		if !known {
			return Shape{}, fmt.Errorf("custom shape: unknown key %q (keys: %s)", k, strings.Join(customKeys, ", "))
		}
		if _, dup := kv[k]; dup {
			return Shape{}, fmt.Errorf("custom shape: key %q given twice", k)
		}
		kv[k] = v
	}
	base := "llama-3.2-1b"
	if b, ok := kv["base"]; ok {
		base = strings.ToLower(b)
	}
	p, ok := presets[base]
	if !ok {
		return Shape{}, fmt.Errorf("custom shape: unknown base %q (presets: %s)", base, strings.Join(Presets(), ", "))
	}
	s := p.clone()
	s.Name, s.Parameters = "custom", ""
	var err error
	setInt := func(key string, dst *int) {
		if v, ok := kv[key]; ok && err == nil {
			n, e := strconv.Atoi(v)
			if e != nil || n <= 0 {
				err = fmt.Errorf("custom shape: %s=%q is not a positive integer", key, v)
				return
			}
			*dst = n
		}
	}
	setFloat := func(key string, dst *float64, allowZero bool) {
		if v, ok := kv[key]; ok && err == nil {
			f, e := strconv.ParseFloat(v, 64)
			if e != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f == 0 && !allowZero {
				err = fmt.Errorf("custom shape: %s=%q is not a positive number", key, v)
				return
			}
			*dst = f
		}
	}
	setBool := func(key string, dst *bool) {
		if v, ok := kv[key]; ok && err == nil {
			b, e := strconv.ParseBool(v)
			if e != nil {
				err = fmt.Errorf("custom shape: %s=%q is not true or false", key, v)
				return
			}
			*dst = b
		}
	}
	if a, ok := kv["arch"]; ok {
		if a != "llama" && a != "qwen2" {
			return Shape{}, fmt.Errorf("custom shape: arch %q is not llama or qwen2", a)
		}
		if a != s.Arch {
			s.QKVBias = a == "qwen2"
			if a == "qwen2" {
				s.Scaling = nil // llama.cpp's qwen2 has no rope_freqs tensor
			}
		}
		s.Arch = a
	}
	oldHidden, oldHeads := s.Hidden, s.Heads
	setInt("hidden", &s.Hidden)
	setInt("layers", &s.Layers)
	setInt("heads", &s.Heads)
	setInt("kv-heads", &s.KVHeads)
	if _, ok := kv["head-dim"]; ok {
		setInt("head-dim", &s.HeadDim)
	} else if (s.Hidden != oldHidden || s.Heads != oldHeads) && s.Heads > 0 {
		s.HeadDim = s.Hidden / s.Heads
	}
	setInt("ffn", &s.FFN)
	if _, ok := kv["vocab"]; ok {
		setInt("vocab", &s.VocabSize)
		s.VocabPad = 0
	}
	setInt("ctx", &s.Context)
	setFloat("theta", &s.RopeTheta, false)
	eps := float64(s.NormEps)
	setFloat("eps", &eps, false)
	s.NormEps = float32(eps)
	setBool("tied", &s.Tied)
	setBool("bias", &s.QKVBias)
	if v, ok := kv["vocab-type"]; ok {
		found := false
		for k, name := range vocabNames {
			if name == v {
				s.Vocab, found = k, true
			}
		}
		if !found {
			return Shape{}, fmt.Errorf("custom shape: vocab-type %q is not llama3, qwen2 or spm", v)
		}
		if s.Vocab != VocabQwen2 {
			s.VocabPad = 0
		}
	}
	_, f := kv["rope-factor"]
	_, lo := kv["rope-low"]
	_, hi := kv["rope-high"]
	_, orig := kv["rope-orig"]
	if f || lo || hi || orig {
		sc := RopeScaling{Factor: 32, LowFreqFactor: 1, HighFreqFactor: 4, OriginalContext: 8192}
		if s.Scaling != nil {
			sc = *s.Scaling
		}
		setFloat("rope-factor", &sc.Factor, true)
		setFloat("rope-low", &sc.LowFreqFactor, false)
		setFloat("rope-high", &sc.HighFreqFactor, false)
		setInt("rope-orig", &sc.OriginalContext)
		s.Scaling = &sc
		if sc.Factor == 0 {
			s.Scaling = nil
		}
	}
	if err != nil {
		return Shape{}, err
	}
	if err := s.Validate(); err != nil {
		return Shape{}, fmt.Errorf("custom shape: %w", err)
	}
	return s, nil
}

func (s Shape) clone() Shape {
	if s.Scaling != nil {
		sc := *s.Scaling
		s.Scaling = &sc
	}
	return s
}

// Validate checks the shape is one llama.cpp (and d3) can load.
func (s *Shape) Validate() error {
	switch {
	case s.Arch != "llama" && s.Arch != "qwen2":
		return fmt.Errorf("architecture %q is not llama or qwen2", s.Arch)
	case s.Hidden <= 0 || s.Layers <= 0 || s.Heads <= 0 || s.KVHeads <= 0 || s.HeadDim <= 0 || s.FFN <= 0 || s.VocabSize <= 0 || s.Context <= 0:
		return fmt.Errorf("sizes must be positive (hidden %d, layers %d, heads %d, kv-heads %d, head-dim %d, ffn %d, vocab %d, ctx %d)",
			s.Hidden, s.Layers, s.Heads, s.KVHeads, s.HeadDim, s.FFN, s.VocabSize, s.Context)
	case s.Heads%s.KVHeads != 0:
		return fmt.Errorf("%d heads are not a multiple of %d kv-heads", s.Heads, s.KVHeads)
	case s.HeadDim%2 != 0:
		return fmt.Errorf("head-dim %d is odd (RoPE rotates pairs)", s.HeadDim)
	case s.Hidden > 1<<17 || s.FFN > 1<<19 || s.Layers > 1024 || s.Heads > 1024 || s.HeadDim > 1024 || s.VocabSize > 1<<24:
		return fmt.Errorf("implausible sizes (hidden %d, ffn %d, layers %d, heads %d, head-dim %d, vocab %d)", s.Hidden, s.FFN, s.Layers, s.Heads, s.HeadDim, s.VocabSize)
	case !(s.RopeTheta > 0) || !(s.NormEps > 0):
		return fmt.Errorf("theta %v and eps %v must be positive", s.RopeTheta, s.NormEps)
	case s.Scaling != nil && s.Arch != "llama":
		return fmt.Errorf("Llama 3 RoPE scaling (rope_freqs.weight) needs arch llama, not %s", s.Arch)
	case s.Scaling != nil && !(s.Scaling.Factor > 0 && s.Scaling.LowFreqFactor > 0 && s.Scaling.HighFreqFactor > s.Scaling.LowFreqFactor && s.Scaling.OriginalContext > 0):
		return fmt.Errorf("rope scaling needs factor > 0, 0 < rope-low < rope-high and rope-orig > 0")
	}
	if min := minVocab(s.Vocab, s.VocabPad); s.VocabSize < min {
		return fmt.Errorf("a %s vocabulary needs at least %d tokens, vocab is %d", s.Vocab, min, s.VocabSize)
	}
	return nil
}

// QDim and KVDim are the widths of the query and key/value projections.
func (s *Shape) QDim() int  { return s.Heads * s.HeadDim }
func (s *Shape) KVDim() int { return s.KVHeads * s.HeadDim }

// String is a one-line description.
func (s *Shape) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): hidden %d, %d layers, %d heads / %d kv-heads, head dim %d, ffn %d, vocab %d (%s), ctx %d, theta %g",
		s.Name, s.Arch, s.Hidden, s.Layers, s.Heads, s.KVHeads, s.HeadDim, s.FFN, s.VocabSize, s.Vocab, s.Context, s.RopeTheta)
	if s.Scaling != nil {
		fmt.Fprintf(&b, ", llama3 rope scaling %g (low %g, high %g, original %d)", s.Scaling.Factor, s.Scaling.LowFreqFactor, s.Scaling.HighFreqFactor, s.Scaling.OriginalContext)
	}
	if s.Tied {
		b.WriteString(", tied embeddings")
	}
	if s.QKVBias {
		b.WriteString(", q/k/v bias")
	}
	return b.String()
}
