package gguf

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/d3-project/d3/internal/testutil"
	"github.com/d3-project/d3/tensor"
)

// TestModelFiles checks the llama.cpp-converted d3-tiny-layerdrop files
// against the model shape documented in shared/README.md.
func TestModelFiles(t *testing.T) {
	paths, _ := filepath.Glob(testutil.Shared(t, "models", "gguf", "*.gguf"))
	if len(paths) != 4 {
		t.Fatalf("found %d model GGUF files, want 4", len(paths))
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			f, err := Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Path != p || f.Version != 3 || f.Alignment != 32 {
				t.Errorf("path %q version %d alignment %d", f.Path, f.Version, f.Alignment)
			}
			if s, _ := f.String("general.architecture"); s != "llama" {
				t.Errorf("general.architecture = %q, want llama", s)
			}
			for key, want := range map[string]uint64{
				"llama.block_count": 16, "llama.embedding_length": 256, "llama.feed_forward_length": 768,
				"llama.attention.head_count": 8, "llama.attention.head_count_kv": 4,
				"tokenizer.ggml.bos_token_id": 1, "tokenizer.ggml.eos_token_id": 2,
			} {
				if v, ok := f.Uint(key); !ok || v != want {
					t.Errorf("%s = %d (%v), want %d", key, v, ok, want)
				}
			}
			if v, ok := f.Float("llama.rope.freq_base"); !ok || v != 1e4 {
				t.Errorf("llama.rope.freq_base = %v (%v), want 1e4", v, ok)
			}
			toks, ok := f.Strings("tokenizer.ggml.tokens")
			if !ok || len(toks) != 4096 || toks[1] != "<s>" || toks[3] != "\n" {
				t.Errorf("tokenizer.ggml.tokens: %d tokens (%v)", len(toks), ok)
			}
			if sc, ok := f.Float32s("tokenizer.ggml.scores"); !ok || len(sc) != 4096 {
				t.Errorf("tokenizer.ggml.scores: %d (%v)", len(sc), ok)
			}
			if tt, ok := f.Int32s("tokenizer.ggml.token_type"); !ok || len(tt) != 4096 {
				t.Errorf("tokenizer.ggml.token_type: %d (%v)", len(tt), ok)
			}
			// 16 layers × 9 tensors + embeddings, final norm, output.
			if len(f.Tensors) != 147 {
				t.Errorf("%d tensors, want 147", len(f.Tensors))
			}
			q, ok := f.Tensor("blk.0.attn_q.weight")
			if !ok || !reflect.DeepEqual(q.Dims, []uint64{256, 256}) {
				t.Fatalf("blk.0.attn_q.weight = %+v", q)
			}
			if e, ok := f.Tensor("token_embd.weight"); !ok || !reflect.DeepEqual(e.Dims, []uint64{256, 4096}) {
				t.Errorf("token_embd.weight = %+v", e)
			}
			types := map[tensor.DType]int{}
			for _, ti := range f.Tensors {
				types[ti.Type]++
			}
			if types[tensor.F32] != 33 {
				t.Errorf("%d F32 tensors, want 33 (the norms)", types[tensor.F32])
			}
			switch filepath.Base(p) {
			case "d3-tiny-layerdrop-q4_k_m.gguf":
				if types[tensor.Q4_K] == 0 || types[tensor.Q6_K] == 0 || len(types) != 3 {
					t.Errorf("types %v, want F32, Q4_K and Q6_K", types)
				}
			case "d3-tiny-layerdrop-bf16.gguf":
				if types[tensor.BF16] != 114 {
					t.Errorf("types %v, want 114 BF16", types)
				}
				m, err := q.Matrix()
				if err != nil {
					t.Fatal(err)
				}
				if m.Rows != 256 || m.Cols != 256 || m.Type != tensor.BF16 {
					t.Errorf("matrix %d×%d %s", m.Rows, m.Cols, m.Type)
				}
			case "d3-tiny-layerdrop-q8_0.gguf":
				if types[tensor.Q8_0] != 114 {
					t.Errorf("types %v, want 114 Q8_0", types)
				}
			}
			for i := range f.Tensors {
				ti := &f.Tensors[i]
				if !tensor.Supported(ti.Type) {
					continue // kernels for this type are not registered yet
				}
				m, err := ti.Matrix()
				if err != nil {
					t.Fatalf("%s: %v", ti.Name, err)
				}
				if uint64(m.Cols) != ti.Dims[0] || len(m.Data) != int(ti.Size) {
					t.Fatalf("%s: matrix %d×%d over %d bytes, dims %v size %d", ti.Name, m.Rows, m.Cols, len(m.Data), ti.Dims, ti.Size)
				}
			}
			n, _ := f.Tensor("blk.3.ffn_norm.weight")
			if m, err := n.Matrix(); err != nil || m.Rows != 1 || m.Cols != 256 {
				t.Errorf("blk.3.ffn_norm.weight matrix: %v %v", m, err)
			}
		})
	}
}

// TestVocabFiles compares the vocabulary-only GGUF files with the
// tokenizer.json files they were written from.
func TestVocabFiles(t *testing.T) {
	for name, n := range map[string]int{"llama3": 128256, "qwen3": 151669} {
		t.Run(name, func(t *testing.T) {
			f, err := Open(testutil.Shared(t, "golden", "tokenizers", "gguf", name+"-vocab.gguf"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if len(f.Tensors) != 0 {
				t.Errorf("%d tensors in a vocabulary-only file", len(f.Tensors))
			}
			raw, err := os.ReadFile(testutil.Shared(t, "golden", "tokenizers", name, "tokenizer.json"))
			if err != nil {
				t.Fatal(err)
			}
			var tj struct {
				Added []struct {
					ID      int
					Content string
				} `json:"added_tokens"`
				Model struct {
					Vocab  map[string]int
					Merges []json.RawMessage // "a b" or ["a", "b"]
				}
			}
			if err := json.Unmarshal(raw, &tj); err != nil {
				t.Fatal(err)
			}
			toks, ok := f.Strings("tokenizer.ggml.tokens")
			if !ok || len(toks) != n {
				t.Fatalf("%d tokens, want %d", len(toks), n)
			}
			for s, id := range tj.Model.Vocab {
				if toks[id] != s {
					t.Fatalf("token %d = %q, tokenizer.json has %q", id, toks[id], s)
				}
			}
			for _, a := range tj.Added {
				if toks[a.ID] != a.Content {
					t.Fatalf("added token %d = %q, tokenizer.json has %q", a.ID, toks[a.ID], a.Content)
				}
			}
			merges, ok := f.Strings("tokenizer.ggml.merges")
			if !ok || len(merges) != len(tj.Model.Merges) {
				t.Fatalf("%d merges, tokenizer.json has %d", len(merges), len(tj.Model.Merges))
			}
			for i, m := range tj.Model.Merges {
				var s string
				var pair []string
				if json.Unmarshal(m, &s) != nil {
					if err := json.Unmarshal(m, &pair); err != nil || len(pair) != 2 {
						t.Fatalf("tokenizer.json merge %d: %s", i, m)
					}
					s = pair[0] + " " + pair[1]
				}
				if merges[i] != s {
					t.Fatalf("merge %d = %q, tokenizer.json has %q", i, merges[i], s)
				}
			}
			if tt, ok := f.Int32s("tokenizer.ggml.token_type"); !ok || len(tt) != n {
				t.Errorf("token_type: %d (%v)", len(tt), ok)
			}
		})
	}
}
