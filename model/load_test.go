package model_test

import (
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/d3-project/d3/internal/testutil"
	"github.com/d3-project/d3/model"
	"github.com/d3-project/d3/safetensors"
)

// writeSafetensors writes tensors (F32, zero data) with the given shapes.
func writeSafetensors(t *testing.T, path string, shapes map[string][]int) {
	t.Helper()
	names := make([]string, 0, len(shapes))
	for n := range shapes {
		names = append(names, n)
	}
	sort.Strings(names)
	header := map[string]any{}
	off := 0
	for _, n := range names {
		size := 4
		for _, d := range shapes[n] {
			size *= d
		}
		header[n] = map[string]any{"dtype": "F32", "shape": shapes[n], "data_offsets": []int{off, off + size}}
		off += size
	}
	h, _ := json.Marshal(header)
	buf := make([]byte, 8, 8+len(h)+off)
	binary.LittleEndian.PutUint64(buf, uint64(len(h)))
	buf = append(buf, h...)
	buf = append(buf, make([]byte, off)...)
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

// tinyShapes returns the tensor shapes of the golden tiny-llama checkpoint.
func tinyShapes(t *testing.T) (cfg []byte, shapes map[string][]int) {
	dir := testutil.Shared(t, "golden", "tiny", "tiny-llama")
	cfg, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Open(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	shapes = map[string][]int{}
	for n, ts := range f.Tensors {
		shapes[n] = ts.Shape
	}
	return cfg, shapes
}

func TestLoadErrors(t *testing.T) {
	cfg, shapes := tinyShapes(t)
	cases := []struct {
		name   string
		config string
		edit   func(map[string][]int)
		want   string
	}{
		{"malformed config", `{"model_type": "llama", "hidden_size": `, nil, "config"},
		{"unknown architecture", strings.Replace(string(cfg), `"model_type": "llama"`, `"model_type": "gpt_neox"`, 1), nil, `"gpt_neox"`},
		{"no model_type", strings.Replace(string(cfg), `"model_type": "llama",`, ``, 1), nil, "model_type"},
		{"bad heads", strings.Replace(string(cfg), `"num_key_value_heads": 2`, `"num_key_value_heads": 3`, 1), nil, "heads"},
		{"wrong field type", strings.Replace(string(cfg), `"hidden_size": 64`, `"hidden_size": "64"`, 1), nil, "hidden_size"},
		{"missing tensor", string(cfg), func(s map[string][]int) { delete(s, "model.layers.3.mlp.up_proj.weight") }, `"model.layers.3.mlp.up_proj.weight"`},
		{"missing lm_head", string(cfg), func(s map[string][]int) { delete(s, "lm_head.weight") }, `"lm_head.weight"`},
		{"wrong shape", string(cfg), func(s map[string][]int) { s["model.layers.0.self_attn.k_proj.weight"] = []int{8, 64} }, "shape"},
		{"bad generation_config", string(cfg), nil, "generation_config.json"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "config.json"), []byte(c.config), 0o644)
			s := map[string][]int{}
			for k, v := range shapes {
				s[k] = v
			}
			if c.edit != nil {
				c.edit(s)
			}
			writeSafetensors(t, filepath.Join(dir, "model.safetensors"), s)
			if c.name == "bad generation_config" {
				os.WriteFile(filepath.Join(dir, "generation_config.json"), []byte(`{"eos_token_id": "x"}`), 0o644)
			}
			m, err := model.Load(dir)
			if err == nil {
				m.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not mention %q", err, c.want)
			}
		})
	}
	// The unmodified checkpoint loads (the cases above fail for their reason).
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644)
	writeSafetensors(t, filepath.Join(dir, "model.safetensors"), shapes)
	m, err := model.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
}

// The GGUF and safetensors files of one model give the same logits, though
// llama.cpp stores Q/K rows permuted for its RoPE layout.
func TestGGUFMatchesSafetensors(t *testing.T) {
	hf, err := model.Load(testutil.Shared(t, "models", "d3-tiny-layerdrop"))
	if err != nil {
		t.Fatal(err)
	}
	defer hf.Close()
	gg, err := model.Load(testutil.Shared(t, "models", "gguf", "d3-tiny-layerdrop-bf16.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer gg.Close()
	if !gg.Config.RopeInterleaved || hf.Config.RopeInterleaved {
		t.Fatal("expected the GGUF file to use llama.cpp's interleaved Q/K layout")
	}
	ids := hf.Tokenizer.Encode("Question: Tom has 6 toys and shares them equally among 2 cousins.\nAnswer:", true)
	if g := gg.Tokenizer.Encode("Question: Tom has 6 toys and shares them equally among 2 cousins.\nAnswer:", true); !equalInts(g, ids) {
		t.Fatalf("tokenizers differ: %v vs %v", g, ids)
	}
	pool := newPool()
	defer pool.Close()
	a, err := model.AllLogits(hf, pool, ids)
	if err != nil {
		t.Fatal(err)
	}
	b, err := model.AllLogits(gg, pool, ids)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		ref := make([]float64, len(a[i]))
		for j, v := range a[i] {
			ref[j] = float64(v)
		}
		if e := relErr(b[i], ref); e > 1e-4 {
			t.Fatalf("position %d: GGUF vs safetensors rel err %.3g", i, e)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
