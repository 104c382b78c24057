package synth

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/d3-project/d3/engine"
	"github.com/d3-project/d3/gguf"
	"github.com/d3-project/d3/internal/testutil"
	"github.com/d3-project/d3/model"
	"github.com/d3-project/d3/sample"
	"github.com/d3-project/d3/tensor"
	"github.com/d3-project/d3/tokenizer"
)

// d3TinyShape is the shape of ../shared/models/gguf/d3-tiny-layerdrop-*.gguf,
// which llama.cpp's converter and llama-quantize wrote.
const d3TinyShape = "custom:base=tinyllama-1.1b,hidden=256,layers=16,heads=8,kv-heads=4,ffn=768,vocab=4096,ctx=512"

// TestLayoutMatchesLlamaCpp compares the tensor names, shapes and types and
// the architecture metadata with files llama.cpp wrote for the same shape.
func TestLayoutMatchesLlamaCpp(t *testing.T) {
	s, err := ParseShape(d3TinyShape)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		file string
		ft   FileType
	}{{"bf16", BF16}, {"q8_0", Q8_0}, {"q4_0", Q4_0}, {"q4_k_m", Q4_K_M}} {
		t.Run(c.file, func(t *testing.T) {
			f, err := gguf.Open(testutil.Shared(t, "models", "gguf", "d3-tiny-layerdrop-"+c.file+".gguf"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			want := map[string]string{}
			for _, ti := range f.Tensors {
				want[ti.Name] = fmt.Sprint(ti.Type, ti.Dims)
			}
			layout, err := Layout(s, c.ft)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, ti := range layout {
				got[ti.Name] = fmt.Sprint(ti.Type, ti.Dims)
			}
			if !reflect.DeepEqual(got, want) {
				for name, w := range want {
					if got[name] != w {
						t.Errorf("%s: got %q, llama.cpp wrote %q", name, got[name], w)
					}
				}
				for name := range got {
					if _, ok := want[name]; !ok {
						t.Errorf("%s: not in llama.cpp's file", name)
					}
				}
			}
			md, err := Metadata(s, c.ft)
			if err != nil {
				t.Fatal(err)
			}
			mine := map[string]any{}
			for _, kv := range md {
				mine[kv.Key] = kv.Value
			}
			for _, key := range f.Keys() {
				v, _ := f.Value(key)
				m, ok := mine[key]
				switch {
				case key == "general.name" || key == "general.size_label":
				case !ok:
					t.Errorf("metadata %s missing", key)
				case reflect.TypeOf(m) != reflect.TypeOf(v):
					t.Errorf("metadata %s: type %T, llama.cpp wrote %T", key, m, v)
				case strings.HasPrefix(key, "tokenizer.ggml.tokens") || key == "tokenizer.ggml.scores" || key == "tokenizer.ggml.token_type":
					if reflect.ValueOf(m).Len() != reflect.ValueOf(v).Len() {
						t.Errorf("metadata %s: %d entries, llama.cpp wrote %d", key, reflect.ValueOf(m).Len(), reflect.ValueOf(v).Len())
					}
				case !reflect.DeepEqual(m, v):
					t.Errorf("metadata %s = %v, llama.cpp wrote %v", key, m, v)
				}
			}
		})
	}
}

// TestPresets checks the presets against the published configurations and
// parameter counts (Hugging Face model cards / config.json).
func TestPresets(t *testing.T) {
	cases := []struct {
		name   string
		params int64 // published parameter count
		tensor map[string][]uint64
		meta   map[string]any
	}{
		{"llama-3.2-1b", 1_235_814_400, map[string][]uint64{
			"token_embd.weight": {2048, 128256}, "rope_freqs.weight": {32}, "blk.15.attn_k.weight": {2048, 512},
			"blk.0.ffn_down.weight": {8192, 2048}, "blk.0.attn_q.weight": {2048, 2048},
		}, map[string]any{
			"llama.context_length": uint32(131072), "llama.rope.freq_base": float32(500000), "llama.block_count": uint32(16),
			"llama.attention.head_count": uint32(32), "llama.attention.head_count_kv": uint32(8), "llama.rope.dimension_count": uint32(64),
			"llama.feed_forward_length": uint32(8192), "llama.vocab_size": uint32(128256), "tokenizer.ggml.pre": "llama-bpe",
			"tokenizer.ggml.bos_token_id": uint32(128000), "tokenizer.ggml.eos_token_id": uint32(128009),
		}},
		{"qwen2.5-0.5b", 494_032_768, map[string][]uint64{
			"token_embd.weight": {896, 151936}, "blk.23.attn_q.bias": {896}, "blk.0.attn_k.bias": {128}, "blk.0.attn_v.weight": {896, 128},
			"blk.0.ffn_up.weight": {896, 4864},
		}, map[string]any{
			"qwen2.context_length": uint32(32768), "qwen2.rope.freq_base": float32(1e6), "qwen2.block_count": uint32(24),
			"qwen2.attention.head_count": uint32(14), "qwen2.attention.head_count_kv": uint32(2), "qwen2.attention.layer_norm_rms_epsilon": float32(1e-6),
			"tokenizer.ggml.pre": "qwen2", "tokenizer.ggml.bos_token_id": uint32(151643), "tokenizer.ggml.eos_token_id": uint32(151645),
		}},
		{"tinyllama-1.1b", 1_100_048_384, map[string][]uint64{
			"token_embd.weight": {2048, 32000}, "output.weight": {2048, 32000}, "blk.21.attn_v.weight": {2048, 256},
			"blk.0.ffn_gate.weight": {2048, 5632},
		}, map[string]any{
			"llama.context_length": uint32(2048), "llama.rope.freq_base": float32(10000), "llama.block_count": uint32(22),
			"llama.attention.head_count_kv": uint32(4), "tokenizer.ggml.model": "llama", "tokenizer.ggml.bos_token_id": uint32(1),
			"tokenizer.ggml.eos_token_id": uint32(2),
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := ParseShape(c.name)
			if err != nil {
				t.Fatal(err)
			}
			layout, err := Layout(s, Q4_K_M)
			if err != nil {
				t.Fatal(err)
			}
			var n int64
			dims := map[string][]uint64{}
			for _, ti := range layout {
				if ti.Name != "rope_freqs.weight" { // not a parameter of the model
					n += ti.Elements()
				}
				dims[ti.Name] = ti.Dims
			}
			if n != c.params {
				t.Errorf("%d parameters, published %d", n, c.params)
			}
			for name, want := range c.tensor {
				if !reflect.DeepEqual(dims[name], want) {
					t.Errorf("%s: dims %v, want %v", name, dims[name], want)
				}
			}
			if _, ok := dims["output.weight"]; ok == s.Tied {
				t.Errorf("output.weight present %v with tied embeddings %v", ok, s.Tied)
			}
			md, err := Metadata(s, Q4_K_M)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]any{}
			for _, kv := range md {
				got[kv.Key] = kv.Value
			}
			for k, want := range c.meta {
				if !reflect.DeepEqual(got[k], want) {
					t.Errorf("%s = %#v, want %#v", k, got[k], want)
				}
			}
			if toks := got["tokenizer.ggml.tokens"].([]string); len(toks) != s.VocabSize {
				t.Errorf("%d tokens, vocab %d", len(toks), s.VocabSize)
			}
		})
	}
}

// TestLlama1BSizes checks the data sizes of the Llama-3.2-1B files against
// the model sizes llama-bench reports for llama.cpp's files (the tensor data:
// 728 MiB Q4_0, 763 MiB Q4_K_M, 1.22 GiB Q8_0).
func TestLlama1BSizes(t *testing.T) {
	s, _ := ParseShape("llama-3.2-1b")
	for _, c := range []struct {
		ft     FileType
		lo, hi float64 // MiB of tensor data
	}{{Q4_0, 727.5, 728.5}, {Q4_K_M, 762.5, 763.5}, {Q8_0, 1.215 * 1024, 1.225 * 1024}} {
		layout, err := Layout(s, c.ft)
		if err != nil {
			t.Fatal(err)
		}
		var size int64
		q6 := 0
		for _, ti := range layout {
			rb, _ := ti.Type.RowBytes(int(ti.Dims[0]))
			size += int64(rb) * int64(ti.Rows())
			if ti.Type == tensor.Q6_K {
				q6++
			}
		}
		mib := float64(size) / (1 << 20)
		t.Logf("%s: %.2f MiB of tensor data", c.ft, mib)
		if mib < c.lo || mib > c.hi {
			t.Errorf("%s: %.1f MiB of tensor data, want %g..%g", c.ft, mib, c.lo, c.hi)
		}
		// Q4_0: the tied token_embd; Q4_K_M: also attn_v and ffn_down of
		// layers 0, 1, 4, 7, 10, 13, 14, 15.
		want := map[FileType]int{Q4_0: 1, Q4_K_M: 17, Q8_0: 0}[c.ft]
		if q6 != want {
			t.Errorf("%s: %d Q6_K tensors, want %d", c.ft, q6, want)
		}
	}
}

// TestRopeFreqs checks rope_freqs against transformers' Llama 3 inv_freq
// rule (_compute_llama3_parameters), a different formulation of the same
// scaling: factor = inv_freq / scaled inv_freq.
func TestRopeFreqs(t *testing.T) {
	sc := RopeScaling{Factor: 32, LowFreqFactor: 1, HighFreqFactor: 4, OriginalContext: 8192}
	got := RopeFreqs(500000, 64, sc)
	old := float64(sc.OriginalContext)
	lowWavelen, highWavelen := old/sc.LowFreqFactor, old/sc.HighFreqFactor
	for i, g := range got {
		inv := 1 / math.Pow(500000, float64(2*i)/64)
		wavelen := 2 * math.Pi / inv
		scaled := inv
		if wavelen > lowWavelen {
			scaled = inv / sc.Factor
		}
		if !(wavelen < highWavelen) && !(wavelen > lowWavelen) {
			smooth := (old/wavelen - sc.LowFreqFactor) / (sc.HighFreqFactor - sc.LowFreqFactor)
			scaled = (1-smooth)*scaled/sc.Factor + smooth*scaled
		}
		want := inv / scaled
		if math.Abs(float64(g)-want) > 1e-5*want {
			t.Errorf("rope_freqs[%d] = %v, want %v", i, g, want)
		}
	}
	if got[0] != 1 || got[31] != 32 {
		t.Errorf("rope_freqs ends %v, %v; want 1 and 32", got[0], got[31])
	}
}

// smallShapes are fast custom shapes of each architecture and vocabulary
// (rows of 256 so every file type applies; 4 layers so the default D³
// core of 2+2 fits).
var smallShapes = map[string]string{
	"llama3": "custom:hidden=256,layers=4,heads=4,kv-heads=2,ffn=512,vocab=1024,ctx=256",
	"qwen2":  "custom:base=qwen2.5-0.5b,hidden=256,layers=4,heads=4,kv-heads=1,ffn=512,vocab=700,ctx=256",
	"spm":    "custom:base=tinyllama-1.1b,hidden=256,layers=4,heads=4,kv-heads=2,ffn=512,vocab=600,ctx=256",
}

// TestWriteLoadGenerate writes every file type of every small shape, checks
// the file against the layout, loads it and generates from it.
func TestWriteLoadGenerate(t *testing.T) {
	dir := t.TempDir()
	for vname, spec := range smallShapes {
		s, err := ParseShape(spec)
		if err != nil {
			t.Fatal(err)
		}
		for ft := F16; ft <= Q4_K_M; ft++ {
			t.Run(vname+"/"+ft.String(), func(t *testing.T) {
				path := filepath.Join(dir, vname+"-"+ft.String()+".gguf")
				sum, err := WriteFile(path, s, ft, Options{Seed: 7})
				if err != nil {
					t.Fatal(err)
				}
				checkFile(t, path, s, ft, sum)
				m, err := model.Load(path)
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				c := m.Config
				if c.Arch != s.Arch || c.Hidden != s.Hidden || c.NumLayers != s.Layers || c.NumHeads != s.Heads ||
					c.NumKVHeads != s.KVHeads || c.HeadDim != s.HeadDim || c.Intermediate != s.FFN || c.VocabSize != s.VocabSize ||
					c.ContextLen != s.Context || c.TiedEmbeddings != s.Tied || c.QKVBias != s.QKVBias {
					t.Fatalf("loaded config %+v does not match shape %+v", c, s)
				}
				e := engine.New(m, 2, 64)
				defer e.Close()
				ids := m.Tokenizer.Encode("Hello world, the cat sat.", true)
				res, err := e.Generate(context.Background(), ids, engine.Options{MaxNew: 6, IgnoreEOS: true,
					Sample: sample.Params{Temperature: 0, TopP: 1, RepeatPenalty: 1}}, nil)
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Tokens) != 6 {
					t.Errorf("generated %d tokens, want 6", len(res.Tokens))
				}
			})
		}
	}
}

// checkFile parses the file and compares it with the layout and metadata.
func checkFile(t *testing.T, path string, s Shape, ft FileType, sum Summary) {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Version != 3 {
		t.Errorf("GGUF version %d, want 3", f.Version)
	}
	layout, _ := Layout(s, ft)
	if len(f.Tensors) != len(layout) || sum.Tensors != len(layout) {
		t.Fatalf("%d tensors in the file (summary %d), layout has %d", len(f.Tensors), sum.Tensors, len(layout))
	}
	var data int64
	for i, want := range layout {
		got := f.Tensors[i]
		if got.Name != want.Name || got.Type != want.Type || !reflect.DeepEqual(got.Dims, want.Dims) {
			t.Errorf("tensor %d: %s %s %v, want %s %s %v", i, got.Name, got.Type, got.Dims, want.Name, want.Type, want.Dims)
		}
		data += int64(got.Size)
		checkValues(t, got, want.Fill)
	}
	if data != sum.DataBytes {
		t.Errorf("file holds %d bytes of tensor data, summary says %d", data, sum.DataBytes)
	}
	md, _ := Metadata(s, ft)
	for _, kv := range md {
		v, ok := f.Value(kv.Key)
		if !ok || !reflect.DeepEqual(v, kv.Value) {
			t.Errorf("metadata %s = %T %v, want %T", kv.Key, v, ok, kv.Value)
		}
	}
	if ftv, _ := f.Uint("general.file_type"); ftv != uint64(ft.GGUF()) {
		t.Errorf("general.file_type %d, want %d", ftv, ft.GGUF())
	}
}

// checkValues checks the decoded values: norms exactly 1, weights
// normal with mean 0 and standard deviation 0.02 (quantization error
// included: Q4_0's is about 10% of the weights' spread).
func checkValues(t *testing.T, ti gguf.TensorInfo, fill Fill) {
	t.Helper()
	mat, err := ti.Matrix()
	if err != nil {
		t.Fatalf("%s: %v", ti.Name, err)
	}
	row := make([]float32, mat.Cols)
	var n, sum, sumSq float64
	for r := range mat.Rows {
		mat.DequantRow(r, row)
		for _, v := range row {
			if fill == FillOnes && v != 1 {
				t.Fatalf("%s: norm value %v, want 1", ti.Name, v)
			}
			n++
			sum += float64(v)
			sumSq += float64(v) * float64(v)
		}
	}
	if fill != FillNormal {
		return
	}
	mean := sum / n
	std := math.Sqrt(sumSq/n - mean*mean)
	tol := 4 * Std / math.Sqrt(n) // 4 standard errors of the mean
	if math.Abs(mean) > tol || math.Abs(std-Std) > 0.1*Std+4*Std/math.Sqrt(2*n) {
		t.Errorf("%s (%s, %d values): mean %.5f std %.5f, want 0 and %g", ti.Name, ti.Type, int(n), mean, std, Std)
	}
}

// TestDeterministic: the bytes depend on the seed, not on the thread count.
func TestDeterministic(t *testing.T) {
	s, err := ParseShape(smallShapes["llama3"])
	if err != nil {
		t.Fatal(err)
	}
	write := func(seed uint64, threads int) []byte {
		w, _, err := NewWriter(s, Q8_0, Options{Seed: seed, Threads: threads})
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if _, err := w.WriteTo(&b); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	a, b, c := write(1, 1), write(1, 3), write(2, 2)
	if !bytes.Equal(a, b) {
		t.Error("1 and 3 threads wrote different files")
	}
	if bytes.Equal(a, c) {
		t.Error("seeds 1 and 2 wrote the same file")
	}
}

// TestPresetVocabularies loads each preset's vocabulary with d3's tokenizer
// (as llama.cpp would: byte tokens present, every merge's parts and result
// in the vocabulary) and round-trips text.
func TestPresetVocabularies(t *testing.T) {
	for _, name := range Presets() {
		t.Run(name, func(t *testing.T) {
			s, _ := ParseShape(name)
			v, err := buildVocab(s.Vocab, s.VocabSize, s.VocabPad)
			if err != nil {
				t.Fatal(err)
			}
			if len(v.tokens) != s.VocabSize || len(v.types) != s.VocabSize {
				t.Fatalf("%d tokens / %d types, want %d", len(v.tokens), len(v.types), s.VocabSize)
			}
			ids := map[string]int{}
			for i, tok := range v.tokens {
				if _, dup := ids[tok]; dup {
					t.Fatalf("token %q appears twice", tok)
				}
				ids[tok] = i
			}
			for i, mg := range v.merges {
				a, b, ok := strings.Cut(mg, " ")
				_, okA := ids[a]
				_, okB := ids[b]
				_, okAB := ids[a+b]
				if !ok || !okA || !okB || !okAB {
					t.Fatalf("merge %d %q is not made of vocabulary tokens", i, mg)
				}
			}
			tok, err := tokenizer.FromGGUFVocab(tokenizer.GGUFVocab{Model: v.model, Pre: v.pre, Tokens: v.tokens,
				Scores: v.scores, Types: v.types, Merges: v.merges, BOS: v.bos, EOS: v.eos, UNK: v.unk, PAD: v.pad, EOT: -1, EOM: -1})
			if err != nil {
				t.Fatal(err)
			}
			text := "Hello world, the quick brown fox jumps over 13 lazy dogs.\nÜber café!"
			enc := tok.Encode(text, false)
			if got := tok.Decode(enc); got != text {
				t.Errorf("round trip %q -> %v -> %q", text, enc, got)
			}
			if len(enc) >= len(text) {
				t.Errorf("%d tokens for %d bytes: the merges are not used", len(enc), len(text))
			}
			want := map[string]string{"llama-3.2-1b": "<|begin_of_text|>", "qwen2.5-0.5b": "<|endoftext|>", "tinyllama-1.1b": "<s>"}[name]
			if v.tokens[v.bos] != want {
				t.Errorf("BOS %d is %q, want %q", v.bos, v.tokens[v.bos], want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for spec, want := range map[string]string{
		"llama-7b":                            "unknown shape",
		"custom:hidden":                       "not KEY=VALUE",
		"custom:hidden=-3":                    "positive integer",
		"custom:size=3":                       "unknown key",
		"custom:hidden=256,hidden=512":        "twice",
		"custom:base=gpt2":                    "unknown base",
		"custom:heads=5,kv-heads=2":           "multiple",
		"custom:head-dim=63":                  "odd",
		"custom:arch=mistral":                 "not llama or qwen2",
		"custom:vocab=100":                    "at least",
		"custom:tied=maybe":                   "true or false",
		"custom:theta=0":                      "positive number",
		"custom:arch=qwen2,rope-factor=8":     "needs arch llama",
		"custom:rope-low=4,rope-high=2":       "rope-low < rope-high",
		"custom:vocab-type=sentencepiece":     "vocab-type",
		"custom:hidden=80,heads=4,kv-heads=2": "", // valid shape; the layout rejects Q4_0
	} {
		s, err := ParseShape(spec)
		if want == "" {
			if err != nil {
				t.Errorf("%s: %v", spec, err)
				continue
			}
			if _, err := Layout(s, Q4_0); err == nil || !strings.Contains(err.Error(), "llama-quantize rejects") {
				t.Errorf("%s: Q4_0 layout error %v", spec, err)
			}
			if _, err := Layout(s, F16); err != nil {
				t.Errorf("%s: F16 layout: %v", spec, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseShape(%q) error %v, want one containing %q", spec, err, want)
		}
	}
	if _, err := ParseFileType("q5_k_m"); err == nil || !strings.Contains(err.Error(), "q4_k_m") {
		t.Errorf("ParseFileType(q5_k_m) error %v, want the list of types", err)
	}
	if _, err := WriteFile(filepath.Join(t.TempDir(), "no", "such", "dir.gguf"), presets["tinyllama-1.1b"], Q4_0, Options{}); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
}
