package synth

import (
	"fmt"
	"strings"

	"github.com/d3-project/d3/tensor"
)

// FileType is the weight encoding of a whole file, as llama.cpp names it
// (its llama_ftype, stored as general.file_type).
type FileType int

const (
	F16 FileType = iota
	BF16
	Q8_0
	Q4_0
	Q4_K_M
)

var fileTypes = []struct {
	name  string
	ftype uint32       // llama.cpp's LLAMA_FTYPE_* value
	base  tensor.DType // default type of a quantized 2-D tensor
}{
	F16:    {"f16", 1, tensor.F16},
	BF16:   {"bf16", 32, tensor.BF16},
	Q8_0:   {"q8_0", 7, tensor.Q8_0},
	Q4_0:   {"q4_0", 2, tensor.Q4_0},
	Q4_K_M: {"q4_k_m", 15, tensor.Q4_K},
}

// ParseFileType maps "f16", "bf16", "q8_0", "q4_0" or "q4_k_m" (any case) to
// a FileType.
func ParseFileType(s string) (FileType, error) {
	var names []string
	for i, ft := range fileTypes {
		if strings.EqualFold(ft.name, s) {
			return FileType(i), nil
		}
		names = append(names, ft.name)
	}
	return 0, fmt.Errorf("unknown type %q (types: %s)", s, strings.Join(names, ", "))
}

func (t FileType) valid() bool { return t >= 0 && int(t) < len(fileTypes) }

func (t FileType) String() string {
	if !t.valid() {
		return fmt.Sprintf("FileType(%d)", int(t))
	}
	return fileTypes[t].name
}

// GGUF is the general.file_type value.
func (t FileType) GGUF() uint32 { return fileTypes[t].ftype }

// quantized reports whether the file is what llama-quantize writes (as
// opposed to what the converter writes).
func (t FileType) quantized() bool { return t != F16 && t != BF16 }

// Fill says how a tensor's values are made.
type Fill int

const (
	FillNormal    Fill = iota // N(0, 0.02²)
	FillOnes                  // RMSNorm weights
	FillRopeFreqs             // Llama 3 RoPE scaling factors
)

// Tensor is one tensor of the layout.
type Tensor struct {
	Name string
	Type tensor.DType
	// Dims in GGML order: Dims[0] is the row length (columns).
	Dims []uint64
	Fill Fill
}

// Rows is the number of rows (1 for a vector).
func (t *Tensor) Rows() int {
	if len(t.Dims) < 2 {
		return 1
	}
	return int(t.Dims[1])
}

// Elements is the number of values.
func (t *Tensor) Elements() int64 {
	n := int64(1)
	for _, d := range t.Dims {
		n *= int64(d)
	}
	return n
}

// Layout lists the tensors of shape s in file type t, in the order
// llama.cpp's converter writes them, with the type llama-quantize (or, for
// f16/bf16, the converter) gives each.
func Layout(s Shape, t FileType) ([]Tensor, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if !t.valid() {
		return nil, fmt.Errorf("synth: unknown file type %d", int(t))
	}
	h, q, kv := uint64(s.Hidden), uint64(s.QDim()), uint64(s.KVDim())
	var out []Tensor
	add := func(name string, fill Fill, dims ...uint64) {
		out = append(out, Tensor{Name: name, Dims: dims, Fill: fill})
	}
	if s.Scaling != nil {
		add("rope_freqs.weight", FillRopeFreqs, uint64(s.HeadDim/2))
	}
	add("token_embd.weight", FillNormal, h, uint64(s.VocabSize))
	for i := range s.Layers {
		p := fmt.Sprintf("blk.%d.", i)
		add(p+"attn_norm.weight", FillOnes, h)
		add(p+"attn_q.weight", FillNormal, h, q)
		add(p+"attn_k.weight", FillNormal, h, kv)
		add(p+"attn_v.weight", FillNormal, h, kv)
		if s.QKVBias {
			add(p+"attn_q.bias", FillNormal, q)
			add(p+"attn_k.bias", FillNormal, kv)
			add(p+"attn_v.bias", FillNormal, kv)
		}
		add(p+"attn_output.weight", FillNormal, q, h)
		add(p+"ffn_norm.weight", FillOnes, h)
		add(p+"ffn_gate.weight", FillNormal, h, uint64(s.FFN))
		add(p+"ffn_up.weight", FillNormal, h, uint64(s.FFN))
		add(p+"ffn_down.weight", FillNormal, uint64(s.FFN), h)
	}
	add("output_norm.weight", FillOnes, h)
	if !s.Tied {
		add("output.weight", FillNormal, h, uint64(s.VocabSize))
	}
	r := newTypeRule(t, s.Layers, !s.Tied)
	for i := range out {
		typ, err := r.typeOf(&out[i])
		if err != nil {
			return nil, err
		}
		out[i].Type = typ
	}
	return out, nil
}

// typeRule is llama-quantize's choice of tensor types (llama_tensor_get_type
// in llama.cpp's llama-quant.cpp) for the file types synth writes, without an
// importance matrix:
//
//   - 1-D tensors (norms, biases, rope_freqs) stay F32.
//   - The output matrix, or token_embd when the embeddings are tied, is
//     Q6_K unless the file is Q8_0 (then Q8_0), and Q8_0 when its rows are
//     not a whole number of the default type's blocks.
//   - Q4_K_M: attn_v and ffn_down of the "more bits" layers (the first and
//     last eighth, and every third layer between) are Q6_K.
//   - A K-quant whose rows are not whole 256-element blocks falls back:
//     Q4_K to Q5_0, Q6_K to Q8_0, then F16 when even those do not fit.
//
// The converter (f16, bf16) stores every 2-D weight in that type and 1-D
// tensors as F32.
type typeRule struct {
	ft        FileType
	layers    int
	hasOutput bool
	iV, iDown int // attn_v / ffn_down tensors seen so far, as llama.cpp counts
}

func newTypeRule(ft FileType, layers int, hasOutput bool) *typeRule {
	return &typeRule{ft: ft, layers: layers, hasOutput: hasOutput}
}

// useMoreBits is llama.cpp's use_more_bits.
func useMoreBits(i, n int) bool {
	return i < n/8 || i >= 7*n/8 || (i-n/8)%3 == 2
}

func (r *typeRule) typeOf(t *Tensor) (tensor.DType, error) {
	if len(t.Dims) < 2 {
		return tensor.F32, nil
	}
	base := fileTypes[r.ft].base
	if !r.ft.quantized() {
		return base, nil
	}
	nx := int(t.Dims[0])
	typ := base
	switch {
	case t.Name == "output.weight" || !r.hasOutput && t.Name == "token_embd.weight":
		if nx%base.BlockSize() != 0 {
			typ = tensor.Q8_0
		} else if typ != tensor.Q8_0 {
			typ = tensor.Q6_K
		}
	case strings.HasSuffix(t.Name, "attn_v.weight"):
		if r.ft == Q4_K_M && useMoreBits(r.iV, r.layers) {
			typ = tensor.Q6_K
		}
		r.iV++
	case strings.HasSuffix(t.Name, "ffn_down.weight"):
		if r.ft == Q4_K_M && useMoreBits(r.iDown, r.layers) {
			typ = tensor.Q6_K
		}
		r.iDown++
	}
	if nx%typ.BlockSize() != 0 {
		switch typ {
		case tensor.Q4_K:
			typ = tensor.Q5_0
		case tensor.Q6_K:
			typ = tensor.Q8_0
		default:
			return 0, fmt.Errorf("synth: %s has rows of %d values, not a whole number of %s blocks (%d); llama-quantize rejects it",
				t.Name, nx, typ, typ.BlockSize())
		}
		if nx%typ.BlockSize() != 0 {
			typ = tensor.F16
		}
	}
	return typ, nil
}
