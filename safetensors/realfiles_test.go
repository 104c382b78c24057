package safetensors

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/d3-project/d3/gguf"
	"github.com/d3-project/d3/internal/testutil"
	"github.com/d3-project/d3/tensor"
)

type config struct {
	Vocab     int    `json:"vocab_size"`
	Hidden    int    `json:"hidden_size"`
	FFN       int    `json:"intermediate_size"`
	Layers    int    `json:"num_hidden_layers"`
	Heads     int    `json:"num_attention_heads"`
	KVHeads   int    `json:"num_key_value_heads"`
	HeadDim   int    `json:"head_dim"`
	Tied      bool   `json:"tie_word_embeddings"`
	ModelType string `json:"model_type"`
	DType     string `json:"torch_dtype"`
}

func readConfig(t *testing.T, dir string) config {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c config
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	if c.HeadDim == 0 {
		c.HeadDim = c.Hidden / c.Heads
	}
	return c
}

// checkAgainstConfig checks the tensor count, dtypes and a few shapes that
// config.json implies.
func checkAgainstConfig(t *testing.T, s *Set, c config) {
	t.Helper()
	perLayer := 9 // 4 attention projections, 3 MLP, 2 norms
	if c.ModelType == "qwen2" {
		perLayer += 3 // q/k/v biases
	}
	want := c.Layers*perLayer + 2
	if !c.Tied {
		want++ // lm_head
	}
	if len(s.Tensors) != want {
		t.Errorf("%d tensors, config implies %d", len(s.Tensors), want)
	}
	dt := map[string]string{"float32": "F32", "bfloat16": "BF16", "float16": "F16"}[c.DType]
	for name, tn := range s.Tensors {
		if tn.DType != dt {
			t.Errorf("%s: dtype %s, config says %s", name, tn.DType, c.DType)
		}
	}
	shapes := map[string][]int{
		"model.layers.0.self_attn.q_proj.weight": {c.Heads * c.HeadDim, c.Hidden},
		"model.layers.0.self_attn.k_proj.weight": {c.KVHeads * c.HeadDim, c.Hidden},
		"model.embed_tokens.weight":              {c.Vocab, c.Hidden},
		"model.norm.weight":                      {c.Hidden},
	}
	if c.FFN != 0 {
		shapes["model.layers.0.mlp.down_proj.weight"] = []int{c.Hidden, c.FFN}
	}
	for name, shape := range shapes {
		tn, ok := s.Tensor(name)
		if !ok {
			t.Errorf("%s missing", name)
			continue
		}
		if !reflect.DeepEqual(tn.Shape, shape) {
			t.Errorf("%s: shape %v, want %v", name, tn.Shape, shape)
		}
		m, err := tn.Matrix()
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		rows, cols := 1, shape[0]
		if len(shape) == 2 {
			rows, cols = shape[0], shape[1]
		}
		if m.Rows != rows || m.Cols != cols {
			t.Errorf("%s: matrix %d×%d, want %d×%d", name, m.Rows, m.Cols, rows, cols)
		}
	}
}

func TestD3TinyShards(t *testing.T) {
	dir := testutil.Shared(t, "models", "d3-tiny")
	s, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if len(s.Files) != 3 {
		t.Errorf("%d files, want 3 shards", len(s.Files))
	}
	c := readConfig(t, dir)
	if c.Layers != 16 {
		t.Fatalf("config: %d layers", c.Layers)
	}
	checkAgainstConfig(t, s, c)
	q, _ := s.Tensor("model.layers.0.self_attn.q_proj.weight")
	if q == nil || !reflect.DeepEqual(q.Shape, []int{256, 256}) || len(q.Data) != 256*256*2 {
		t.Fatalf("q_proj = %+v", q)
	}
}

func TestGoldenTiny(t *testing.T) {
	for _, name := range []string{"tiny-llama", "tiny-llama3", "tiny-qwen2"} {
		t.Run(name, func(t *testing.T) {
			dir := testutil.Shared(t, "golden", "tiny", name)
			s, err := OpenDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if len(s.Files) != 1 || s.Files[0].Metadata["format"] != "pt" {
				t.Errorf("files %d, metadata %v", len(s.Files), s.Files[0].Metadata)
			}
			checkAgainstConfig(t, s, readConfig(t, dir))
		})
	}
}

// TestMatchesGGUF compares the HF checkpoint with llama.cpp's bf16
// conversion of it: tensors llama.cpp does not permute must hold identical
// bytes.
func TestMatchesGGUF(t *testing.T) {
	s, err := OpenDir(testutil.Shared(t, "models", "d3-tiny-layerdrop"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	g, err := gguf.Open(testutil.Shared(t, "models", "gguf", "d3-tiny-layerdrop-bf16.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	pairs := map[string]string{
		"model.embed_tokens.weight":              "token_embd.weight",
		"lm_head.weight":                         "output.weight",
		"model.layers.0.self_attn.v_proj.weight": "blk.0.attn_v.weight",
		"model.layers.7.mlp.down_proj.weight":    "blk.7.ffn_down.weight",
		"model.layers.15.mlp.gate_proj.weight":   "blk.15.ffn_gate.weight",
	}
	for hf, gg := range pairs {
		a, ok := s.Tensor(hf)
		b, ok2 := g.Tensor(gg)
		if !ok || !ok2 {
			t.Fatalf("%s or %s missing", hf, gg)
		}
		ma, err := a.Matrix()
		if err != nil {
			t.Fatal(err)
		}
		mb, err := b.Matrix()
		if err != nil {
			t.Fatal(err)
		}
		if ma.Rows != mb.Rows || ma.Cols != mb.Cols || ma.Type != tensor.BF16 || mb.Type != tensor.BF16 {
			t.Errorf("%s %d×%d %s vs %s %d×%d %s", hf, ma.Rows, ma.Cols, ma.Type, gg, mb.Rows, mb.Cols, mb.Type)
		}
		if !bytes.Equal(a.Data, b.Data) {
			t.Errorf("%s and %s hold different bytes", hf, gg)
		}
	}
}
