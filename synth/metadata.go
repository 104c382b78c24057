package synth

import (
	"math"
)

// KV is one metadata key and its value, with the exact Go type GGUF readers
// expect (llama.cpp checks u32 keys as u32, f32 as f32).
type KV struct {
	Key   string
	Value any
}

// Metadata returns the file's metadata in the order llama.cpp's converter
// and llama-quantize write it.
func Metadata(s Shape, t FileType) ([]KV, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	voc, err := buildVocab(s.Vocab, s.VocabSize, s.VocabPad)
	if err != nil {
		return nil, err
	}
	return metadata(&s, t, voc), nil
}

func metadata(s *Shape, t FileType, v *vocabulary) []KV {
	a := s.Arch + "."
	u32 := func(n int) uint32 { return uint32(n) }
	name := "synthetic " + s.Name + " (random weights)"
	kv := []KV{
		{"general.architecture", s.Arch},
		{"general.type", "model"},
		{"general.name", name},
	}
	if s.Parameters != "" {
		kv = append(kv, KV{"general.size_label", s.Parameters})
	}
	kv = append(kv,
		KV{a + "block_count", u32(s.Layers)},
		KV{a + "context_length", u32(s.Context)},
		KV{a + "embedding_length", u32(s.Hidden)},
		KV{a + "feed_forward_length", u32(s.FFN)},
		KV{a + "attention.head_count", u32(s.Heads)},
		KV{a + "attention.head_count_kv", u32(s.KVHeads)},
		KV{a + "rope.freq_base", float32(s.RopeTheta)},
		KV{a + "attention.layer_norm_rms_epsilon", s.NormEps},
		KV{a + "attention.key_length", u32(s.HeadDim)},
		KV{a + "attention.value_length", u32(s.HeadDim)},
		KV{"general.file_type", t.GGUF()},
		KV{a + "vocab_size", u32(s.VocabSize)},
		KV{a + "rope.dimension_count", u32(s.HeadDim)},
		KV{"tokenizer.ggml.model", v.model},
		KV{"tokenizer.ggml.pre", v.pre},
		KV{"tokenizer.ggml.tokens", v.tokens},
	)
	if v.scores != nil {
		kv = append(kv, KV{"tokenizer.ggml.scores", v.scores})
	}
	kv = append(kv, KV{"tokenizer.ggml.token_type", v.types})
	if v.merges != nil {
		kv = append(kv, KV{"tokenizer.ggml.merges", v.merges})
	}
	kv = append(kv,
		KV{"tokenizer.ggml.bos_token_id", u32(v.bos)},
		KV{"tokenizer.ggml.eos_token_id", u32(v.eos)},
	)
	if v.unk >= 0 {
		kv = append(kv, KV{"tokenizer.ggml.unknown_token_id", u32(v.unk)})
	}
	if v.pad >= 0 {
		kv = append(kv, KV{"tokenizer.ggml.padding_token_id", u32(v.pad)})
	}
	kv = append(kv,
		KV{"tokenizer.ggml.add_bos_token", v.addBOS},
		KV{"tokenizer.ggml.add_eos_token", false},
		KV{"general.quantization_version", uint32(2)},
	)
	return kv
}

// RopeFreqs returns the rope_freqs.weight values for head dimension headDim:
// the divisor of each pair's frequency under Llama 3 scaling, computed as
// llama.cpp's converter does (float32 frequencies, as torch computes them).
func RopeFreqs(theta float64, headDim int, sc RopeScaling) []float32 {
	low := float64(sc.OriginalContext) / sc.LowFreqFactor
	high := float64(sc.OriginalContext) / sc.HighFreqFactor
	out := make([]float32, headDim/2)
	for i := range out {
		freq := float32(1 / float32(math.Pow(theta, float64(float32(2*i)/float32(headDim)))))
		wavelen := float32(2 * math.Pi / float64(freq))
		switch {
		case float64(wavelen) < high:
			out[i] = 1
		case float64(wavelen) > low:
			out[i] = float32(sc.Factor)
		default:
			smooth := (float32(sc.OriginalContext)/wavelen - float32(sc.LowFreqFactor)) / float32(sc.HighFreqFactor-sc.LowFreqFactor)
			out[i] = 1 / ((1-smooth)/float32(sc.Factor) + smooth)
		}
	}
	return out
}
