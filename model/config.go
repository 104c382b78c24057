// Package model holds a Llama-family model: its configuration, its weights
// (kept in their file encoding) and the forward pass.
package model

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
)

// Config is everything the forward pass needs to know about an architecture.
// Architectures differ only in these values and in tensor names.
type Config struct {
	Arch         string // "llama", "mistral", "qwen2"
	VocabSize    int
	Hidden       int
	Intermediate int
	NumLayers    int
	NumHeads     int
	NumKVHeads   int
	HeadDim      int
	ContextLen   int
	NormEps      float32
	RopeTheta    float64
	RopeScaling  *RopeScaling // nil: none
	// RopeInterleaved rotates adjacent pairs (x[2i], x[2i+1]) instead of
	// halves (x[i], x[i+d/2]). llama.cpp's converter permutes Q/K rows of
	// llama-type models so that its interleaved RoPE gives the same result
	// as Hugging Face's half rotation; we honour whichever layout the file has.
	RopeInterleaved bool
	TiedEmbeddings  bool
	QKVBias         bool
	BOS             int   // -1: none
	EOS             []int // every end-of-generation id the metadata names
}

// RopeScaling is Llama 3's frequency-dependent RoPE scaling.
type RopeScaling struct {
	Type            string // "llama3"
	Factor          float64
	LowFreqFactor   float64
	HighFreqFactor  float64
	OriginalContext int
}

// KVDim is the width of one position's keys (and values) in one layer.
func (c *Config) KVDim() int { return c.NumKVHeads * c.HeadDim }

// QDim is the width of the query projection output.
func (c *Config) QDim() int { return c.NumHeads * c.HeadDim }

// Validate checks the sizes are consistent and sane.
func (c *Config) Validate() error {
	switch {
	case c.VocabSize <= 0 || c.Hidden <= 0 || c.Intermediate <= 0 || c.NumLayers <= 0:
		return fmt.Errorf("vocab %d, hidden %d, intermediate %d, layers %d must all be positive", c.VocabSize, c.Hidden, c.Intermediate, c.NumLayers)
	case c.NumHeads <= 0 || c.NumKVHeads <= 0 || c.HeadDim <= 0:
		return fmt.Errorf("heads %d, kv heads %d, head dim %d must all be positive", c.NumHeads, c.NumKVHeads, c.HeadDim)
	case c.NumHeads%c.NumKVHeads != 0:
		return fmt.Errorf("%d attention heads are not a multiple of %d KV heads", c.NumHeads, c.NumKVHeads)
	case c.HeadDim%2 != 0:
		return fmt.Errorf("head dim %d is odd", c.HeadDim)
	case c.ContextLen <= 0:
		return fmt.Errorf("context length %d must be positive", c.ContextLen)
	case c.VocabSize > 1<<24 || c.Hidden > 1<<17 || c.Intermediate > 1<<19 || c.NumLayers > 1024 || c.NumHeads > 1024 || c.HeadDim > 1024:
		return fmt.Errorf("implausible sizes (vocab %d, hidden %d, intermediate %d, layers %d, heads %d, head dim %d)", c.VocabSize, c.Hidden, c.Intermediate, c.NumLayers, c.NumHeads, c.HeadDim)
	case !(c.RopeTheta > 0) || math.IsInf(c.RopeTheta, 0):
		return fmt.Errorf("rope theta %v must be positive", c.RopeTheta)
	case !(c.NormEps > 0):
		return fmt.Errorf("norm epsilon %v must be positive", c.NormEps)
	}
	if s := c.RopeScaling; s != nil {
		if s.Type != "llama3" {
			return fmt.Errorf("rope scaling type %q is not supported (only llama3)", s.Type)
		}
		if !(s.Factor > 0) || !(s.LowFreqFactor > 0) || !(s.HighFreqFactor > s.LowFreqFactor) || s.OriginalContext <= 0 {
			return fmt.Errorf("llama3 rope scaling needs factor > 0, 0 < low_freq_factor < high_freq_factor and original_max_position_embeddings > 0")
		}
	}
	return nil
}

// hfConfig mirrors the config.json fields d3 reads.
type hfConfig struct {
	ModelType             string          `json:"model_type"`
	Architectures         []string        `json:"architectures"`
	VocabSize             int             `json:"vocab_size"`
	HiddenSize            int             `json:"hidden_size"`
	IntermediateSize      int             `json:"intermediate_size"`
	NumHiddenLayers       int             `json:"num_hidden_layers"`
	NumAttentionHeads     int             `json:"num_attention_heads"`
	NumKeyValueHeads      int             `json:"num_key_value_heads"`
	HeadDim               int             `json:"head_dim"`
	MaxPositionEmbeddings int             `json:"max_position_embeddings"`
	RMSNormEps            float64         `json:"rms_norm_eps"`
	RopeTheta             float64         `json:"rope_theta"`
	RopeScaling           json.RawMessage `json:"rope_scaling"`
	RopeParameters        json.RawMessage `json:"rope_parameters"`
	TieWordEmbeddings     *bool           `json:"tie_word_embeddings"`
	AttentionBias         bool            `json:"attention_bias"`
	HiddenAct             string          `json:"hidden_act"`
	BOSTokenID            json.RawMessage `json:"bos_token_id"`
	EOSTokenID            json.RawMessage `json:"eos_token_id"`
}

type hfRopeScaling struct {
	RopeType                      string  `json:"rope_type"`
	Type                          string  `json:"type"`
	Factor                        float64 `json:"factor"`
	LowFreqFactor                 float64 `json:"low_freq_factor"`
	HighFreqFactor                float64 `json:"high_freq_factor"`
	OriginalMaxPositionEmbeddings int     `json:"original_max_position_embeddings"`
	RopeTheta                     float64 `json:"rope_theta"`
}

// LoadHFConfig reads a Hugging Face config.json.
func LoadHFConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	c, err := ParseHFConfig(data)
	if err != nil {
		return nil, fmt.Errorf("model: %s: %w", path, err)
	}
	return c, nil
}

// ParseHFConfig decodes config.json contents.
func ParseHFConfig(data []byte) (*Config, error) {
	var h hfConfig
	if err := json.Unmarshal(data, &h); err != nil {
		return nil, fmt.Errorf("invalid config JSON: %w", err)
	}
	arch := h.ModelType
	switch arch {
	case "llama", "mistral", "qwen2":
	case "":
		return nil, fmt.Errorf("config has no model_type")
	default:
		return nil, fmt.Errorf("unsupported architecture %q (supported: llama, mistral, qwen2)", arch)
	}
	if h.HiddenAct != "" && h.HiddenAct != "silu" {
		return nil, fmt.Errorf("unsupported hidden_act %q (only silu)", h.HiddenAct)
	}
	c := &Config{
		Arch:         arch,
		VocabSize:    h.VocabSize,
		Hidden:       h.HiddenSize,
		Intermediate: h.IntermediateSize,
		NumLayers:    h.NumHiddenLayers,
		NumHeads:     h.NumAttentionHeads,
		NumKVHeads:   h.NumKeyValueHeads,
		HeadDim:      h.HeadDim,
		ContextLen:   h.MaxPositionEmbeddings,
		NormEps:      float32(h.RMSNormEps),
		RopeTheta:    h.RopeTheta,
		QKVBias:      arch == "qwen2" || h.AttentionBias,
		BOS:          -1,
	}
	if c.NumKVHeads == 0 {
		c.NumKVHeads = c.NumHeads
	}
	if c.HeadDim == 0 && c.NumHeads > 0 {
		c.HeadDim = c.Hidden / c.NumHeads
	}
	if c.RopeTheta == 0 {
		c.RopeTheta = 10000
	}
	if c.NormEps == 0 {
		c.NormEps = 1e-6
	}
	if h.TieWordEmbeddings != nil {
		c.TiedEmbeddings = *h.TieWordEmbeddings
	} else {
		// transformers' defaults: Llama and Mistral untied, Qwen2 tied.
		c.TiedEmbeddings = arch == "qwen2"
	}
	for _, raw := range []json.RawMessage{h.RopeScaling, h.RopeParameters} {
		if len(raw) == 0 || string(raw) == "null" {
			continue
		}
		var rs hfRopeScaling
		if err := json.Unmarshal(raw, &rs); err != nil {
			return nil, fmt.Errorf("invalid rope_scaling: %w", err)
		}
		typ := rs.RopeType
		if typ == "" {
			typ = rs.Type
		}
		if rs.RopeTheta > 0 {
			c.RopeTheta = rs.RopeTheta
		}
		switch typ {
		case "", "default":
		case "llama3":
			c.RopeScaling = &RopeScaling{Type: typ, Factor: rs.Factor, LowFreqFactor: rs.LowFreqFactor,
				HighFreqFactor: rs.HighFreqFactor, OriginalContext: rs.OriginalMaxPositionEmbeddings}
		default:
			return nil, fmt.Errorf("unsupported rope scaling type %q", typ)
		}
	}
	var err error
	if c.BOS, err = firstTokenID(h.BOSTokenID); err != nil {
		return nil, fmt.Errorf("bos_token_id: %w", err)
	}
	if c.EOS, err = tokenIDs(h.EOSTokenID); err != nil {
		return nil, fmt.Errorf("eos_token_id: %w", err)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// tokenIDs accepts null, an integer or a list of integers.
func tokenIDs(raw json.RawMessage) ([]int, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one int
	if err := json.Unmarshal(raw, &one); err == nil {
		return []int{one}, nil
	}
	var many []int
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, fmt.Errorf("want an integer or a list of integers, got %s", raw)
	}
	return many, nil
}

func firstTokenID(raw json.RawMessage) (int, error) {
	ids, err := tokenIDs(raw)
	if err != nil || len(ids) == 0 {
		return -1, err
	}
	return ids[0], nil
}

// ropeInvFreq returns the rotation frequency of each dimension pair,
// including Llama 3 scaling. freqFactors (from a GGUF rope_freqs tensor)
// divide the frequencies when present, which is how llama.cpp stores the
// same scaling.
func (c *Config) ropeInvFreq(freqFactors []float32) []float64 {
	half := c.HeadDim / 2
	inv := make([]float64, half)
	for i := range inv {
		// transformers computes these in float32; match its rounding.
		inv[i] = float64(float32(1 / math.Pow(c.RopeTheta, float64(2*i)/float64(c.HeadDim))))
	}
	if freqFactors != nil {
		for i := range inv {
			inv[i] /= float64(freqFactors[i])
		}
		return inv
	}
	if s := c.RopeScaling; s != nil && s.Type == "llama3" {
		old := float64(s.OriginalContext)
		lowWavelen := old / s.LowFreqFactor
		highWavelen := old / s.HighFreqFactor
		for i, f := range inv {
			wavelen := 2 * math.Pi / f
			switch {
			case wavelen < highWavelen:
			case wavelen > lowWavelen:
				inv[i] = f / s.Factor
			default:
				smooth := (old/wavelen - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor)
				inv[i] = (1-smooth)*f/s.Factor + smooth*f
			}
		}
	}
	return inv
}
