package model

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/d3-project/d3/gguf"
	"github.com/d3-project/d3/internal/mmap"
	"github.com/d3-project/d3/safetensors"
	"github.com/d3-project/d3/tensor"
	"github.com/d3-project/d3/tokenizer"
)

// Layer is one transformer block. Matrices stay in their file encoding.
type Layer struct {
	AttnNorm       []float32
	Wq, Wk, Wv, Wo *tensor.Matrix
	Bq, Bk, Bv     []float32 // nil unless the architecture has QKV biases
	FFNNorm        []float32
	Gate, Up, Down *tensor.Matrix
}

// Model is a loaded checkpoint: configuration, weights and tokenizer.
type Model struct {
	Config    Config
	Embed     *tensor.Matrix
	Layers    []Layer
	Norm      []float32
	Output    *tensor.Matrix // the embedding matrix when tied
	Tokenizer *tokenizer.Tokenizer
	Path      string
	Format    string // "gguf" or "safetensors"
	invFreq   []float64
	closers   []io.Closer

	drafts draftSet // PrepareDraft
	mapped bool     // the weights are views of memory-mapped files
}

// Close releases the memory-mapped files behind the weights, the packed
// copies and any draft copies. The model must not be used afterwards.
func (m *Model) Close() error {
	for c := range m.drafts.copies {
		if d := m.drafts.copies[c].Swap(nil); d != nil {
			d.free(m)
		}
	}
	for _, w := range m.matrices() {
		if w != nil {
			w.Free()
		}
	}
	var errs []error
	for _, c := range m.closers {
		errs = append(errs, c.Close())
	}
	m.closers = nil
	return errors.Join(errs...)
}

// role names one weight of the model independent of the file's naming.
type role int

const (
	roleEmbed role = iota
	roleNorm
	roleOutput
	roleRopeFreqs
	roleAttnNorm
	roleQ
	roleK
	roleV
	roleO
	roleQBias
	roleKBias
	roleVBias
	roleFFNNorm
	roleGate
	roleUp
	roleDown
)

var hfNames = map[role]string{
	roleEmbed: "model.embed_tokens.weight", roleNorm: "model.norm.weight", roleOutput: "lm_head.weight",
	roleAttnNorm: "model.layers.%d.input_layernorm.weight",
	roleQ:        "model.layers.%d.self_attn.q_proj.weight", roleK: "model.layers.%d.self_attn.k_proj.weight",
	roleV: "model.layers.%d.self_attn.v_proj.weight", roleO: "model.layers.%d.self_attn.o_proj.weight",
	roleQBias: "model.layers.%d.self_attn.q_proj.bias", roleKBias: "model.layers.%d.self_attn.k_proj.bias",
	roleVBias: "model.layers.%d.self_attn.v_proj.bias", roleFFNNorm: "model.layers.%d.post_attention_layernorm.weight",
	roleGate: "model.layers.%d.mlp.gate_proj.weight", roleUp: "model.layers.%d.mlp.up_proj.weight",
	roleDown: "model.layers.%d.mlp.down_proj.weight",
}

var ggufNames = map[role]string{
	roleEmbed: "token_embd.weight", roleNorm: "output_norm.weight", roleOutput: "output.weight",
	roleRopeFreqs: "rope_freqs.weight",
	roleAttnNorm:  "blk.%d.attn_norm.weight",
	roleQ:         "blk.%d.attn_q.weight", roleK: "blk.%d.attn_k.weight", roleV: "blk.%d.attn_v.weight",
	roleO: "blk.%d.attn_output.weight", roleQBias: "blk.%d.attn_q.bias", roleKBias: "blk.%d.attn_k.bias",
	roleVBias: "blk.%d.attn_v.bias", roleFFNNorm: "blk.%d.ffn_norm.weight",
	roleGate: "blk.%d.ffn_gate.weight", roleUp: "blk.%d.ffn_up.weight", roleDown: "blk.%d.ffn_down.weight",
}

// tensorSource finds a weight by its file name; ok is false when absent.
type tensorSource func(name string) (m *tensor.Matrix, ok bool, err error)

// Load opens a model: a Hugging Face directory (config.json + safetensors +
// tokenizer) or a GGUF file.
func Load(path string) (*Model, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	var m *Model
	if st.IsDir() {
		m, err = loadHF(path)
	} else {
		m, err = loadGGUF(path)
	}
	if err != nil {
		return nil, err
	}
	m.Path = path
	return m, nil
}

func loadHF(dir string) (*Model, error) {
	cfg, err := LoadHFConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	set, err := safetensors.OpenDir(dir)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	m := &Model{Config: *cfg, Format: "safetensors", closers: []io.Closer{set}, mapped: true}
	src := func(name string) (*tensor.Matrix, bool, error) {
		t, ok := set.Tensor(name)
		if !ok {
			return nil, false, nil
		}
		mat, err := t.Matrix()
		return mat, true, err
	}
	if err := m.bind(src, hfNames, dir); err != nil {
		m.Close()
		return nil, err
	}
	// A checkpoint without tokenizer files still runs on token ids (d3 logits).
	if hasTokenizer(dir) {
		tok, err := tokenizer.Load(dir)
		if err != nil {
			m.Close()
			return nil, fmt.Errorf("model: %s: %w", dir, err)
		}
		m.Tokenizer = tok
	}
	eos, err := generationEOS(filepath.Join(dir, "generation_config.json"))
	if err != nil {
		m.Close()
		return nil, err
	}
	m.Config.EOS = mergeIDs(m.Config.EOS, eos)
	if m.Tokenizer != nil {
		if m.Config.BOS < 0 {
			m.Config.BOS = m.Tokenizer.BOS()
		}
		m.Config.EOS = mergeIDs(m.Config.EOS, m.Tokenizer.EOGs())
	}
	return m, nil
}

func hasTokenizer(dir string) bool {
	for _, name := range []string{"tokenizer.json", "tokenizer.model"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return true
		}
	}
	return false
}

func mergeIDs(a, b []int) []int {
	out := append([]int(nil), a...)
	for _, id := range b {
		dup := false
		for _, x := range out {
			dup = dup || x == id
		}
		if !dup && id >= 0 {
			out = append(out, id)
		}
	}
	return out
}

func loadGGUF(path string) (*Model, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	return fromGGUF(f, path, true)
}

func fromGGUF(f *gguf.File, path string, mapped bool) (*Model, error) {
	cfg, err := ggufConfig(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("model: %s: %w", path, err)
	}
	m := &Model{Config: *cfg, Format: "gguf", closers: []io.Closer{f}, mapped: mapped}
	src := func(name string) (*tensor.Matrix, bool, error) {
		t, ok := f.Tensor(name)
		if !ok {
			return nil, false, nil
		}
		mat, err := t.Matrix()
		return mat, true, err
	}
	if err := m.bind(src, ggufNames, path); err != nil {
		m.Close()
		return nil, err
	}
	vocab, err := GGUFVocab(f)
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("model: %s: %w", path, err)
	}
	tok, err := tokenizer.FromGGUFVocab(vocab)
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("model: %s: %w", path, err)
	}
	m.Tokenizer = tok
	if m.Config.BOS < 0 {
		m.Config.BOS = tok.BOS()
	}
	m.Config.EOS = mergeIDs(m.Config.EOS, tok.EOGs())
	return m, nil
}

// bind looks up every weight, checks its shape, and fills the model.
func (m *Model) bind(src tensorSource, names map[role]string, file string) error {
	c := &m.Config
	var firstErr error
	get := func(r role, layer, rows, cols int, optional bool) *tensor.Matrix {
		if firstErr != nil {
			return nil
		}
		name := names[r]
		if strings.Contains(name, "%d") {
			name = fmt.Sprintf(name, layer)
		}
		mat, ok, err := src(name)
		switch {
		case err != nil:
			firstErr = fmt.Errorf("model: %s: tensor %q: %w", file, name, err)
		case !ok && !optional:
			firstErr = fmt.Errorf("model: %s: missing tensor %q", file, name)
		case !ok:
			return nil
		case rows > 0 && (mat.Rows != rows || mat.Cols != cols):
			firstErr = fmt.Errorf("model: %s: tensor %q has shape %d×%d, want %d×%d", file, name, mat.Rows, mat.Cols, rows, cols)
		default:
			return mat
		}
		return nil
	}
	vector := func(r role, layer, n int, optional bool) []float32 {
		mat := get(r, layer, 1, n, optional)
		if mat == nil {
			return nil
		}
		v := make([]float32, n)
		mat.DequantRow(0, v)
		return v
	}
	m.Embed = get(roleEmbed, 0, c.VocabSize, c.Hidden, false)
	m.Norm = vector(roleNorm, 0, c.Hidden, false)
	m.Output = get(roleOutput, 0, c.VocabSize, c.Hidden, c.TiedEmbeddings)
	if m.Output == nil && firstErr == nil {
		if names[roleOutput] == ggufNames[roleOutput] {
			// GGUF marks tying by leaving output.weight out.
			c.TiedEmbeddings = true
		}
		m.Output = m.Embed
	}
	var freqFactors []float32
	if _, ok := names[roleRopeFreqs]; ok {
		freqFactors = vector(roleRopeFreqs, 0, c.HeadDim/2, true)
	}
	m.Layers = make([]Layer, c.NumLayers)
	q, kv := c.QDim(), c.KVDim()
	for i := range m.Layers {
		L := &m.Layers[i]
		L.AttnNorm = vector(roleAttnNorm, i, c.Hidden, false)
		L.Wq = get(roleQ, i, q, c.Hidden, false)
		L.Wk = get(roleK, i, kv, c.Hidden, false)
		L.Wv = get(roleV, i, kv, c.Hidden, false)
		L.Wo = get(roleO, i, c.Hidden, q, false)
		if c.QKVBias {
			L.Bq = vector(roleQBias, i, q, false)
			L.Bk = vector(roleKBias, i, kv, false)
			L.Bv = vector(roleVBias, i, kv, false)
		}
		L.FFNNorm = vector(roleFFNNorm, i, c.Hidden, false)
		L.Gate = get(roleGate, i, c.Intermediate, c.Hidden, false)
		L.Up = get(roleUp, i, c.Intermediate, c.Hidden, false)
		L.Down = get(roleDown, i, c.Hidden, c.Intermediate, false)
	}
	if firstErr != nil {
		return firstErr
	}
	m.invFreq = c.ropeInvFreq(freqFactors)
	m.packWeights()
	return nil
}

// packWeights builds the packed copies of the float and Q8_0 weight
// matrices the AVX-512 kernels read (tensor.Matrix.Pack), at load rather
// than in the first forward pass. The embedding matrix is only read by
// row unless it is also the output matrix. The file's pages behind a
// packed matrix are then released, so the packed copy replaces them in
// memory instead of doubling it (rows read later, such as embeddings,
// come back from the page cache).
func (m *Model) packWeights() {
	for _, w := range m.matrices() {
		w.Pack()
		if m.mapped && w.Packed() {
			mmap.Release(w.Data)
		}
	}
}

// matrices lists the weight matrices the forward pass multiplies by.
func (m *Model) matrices() []*tensor.Matrix {
	ms := []*tensor.Matrix{m.Output}
	for i := range m.Layers {
		L := &m.Layers[i]
		ms = append(ms, L.Wq, L.Wk, L.Wv, L.Wo, L.Gate, L.Up, L.Down)
	}
	return ms
}

// ggufConfig reads the architecture hyperparameters from GGUF metadata.
func ggufConfig(f *gguf.File) (*Config, error) {
	arch, ok := f.String("general.architecture")
	if !ok {
		return nil, fmt.Errorf("missing general.architecture")
	}
	switch arch {
	case "llama", "mistral", "qwen2":
	default:
		return nil, fmt.Errorf("unsupported architecture %q (supported: llama, mistral, qwen2)", arch)
	}
	var missing []string
	need := func(key string) int {
		v, ok := f.Uint(arch + "." + key)
		if !ok {
			missing = append(missing, arch+"."+key)
			return 0
		}
		if v > 1<<31 {
			missing = append(missing, arch+"."+key+" (out of range)")
			return 0
		}
		return int(v)
	}
	c := &Config{
		Arch:         arch,
		Hidden:       need("embedding_length"),
		Intermediate: need("feed_forward_length"),
		NumLayers:    need("block_count"),
		NumHeads:     need("attention.head_count"),
		ContextLen:   need("context_length"),
		BOS:          -1,
		// llama.cpp's converter permutes Q/K rows for these two so that its
		// interleaved RoPE applies; qwen2 keeps the NEOX (half) layout.
		RopeInterleaved: arch == "llama" || arch == "mistral",
		QKVBias:         arch == "qwen2",
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("missing metadata %s", strings.Join(missing, ", "))
	}
	c.NumKVHeads = c.NumHeads
	if v, ok := f.Uint(arch + ".attention.head_count_kv"); ok && v <= 1<<20 {
		c.NumKVHeads = int(v)
	}
	if c.NumHeads > 0 {
		c.HeadDim = c.Hidden / c.NumHeads
	}
	if v, ok := f.Uint(arch + ".attention.key_length"); ok && v <= 1<<20 {
		c.HeadDim = int(v)
	}
	c.RopeTheta = 10000
	if v, ok := f.Float(arch + ".rope.freq_base"); ok {
		c.RopeTheta = v
	}
	c.NormEps = 1e-5
	if v, ok := f.Float(arch + ".attention.layer_norm_rms_epsilon"); ok {
		c.NormEps = float32(v)
	}
	if t, ok := f.Tensor("token_embd.weight"); ok && len(t.Dims) == 2 && t.Dims[1] <= 1<<24 {
		c.VocabSize = int(t.Dims[1])
	} else if v, ok := f.Uint(arch + ".vocab_size"); ok && v <= 1<<24 {
		c.VocabSize = int(v)
	}
	if v, ok := f.Uint("tokenizer.ggml.bos_token_id"); ok && v < 1<<24 {
		c.BOS = int(v)
	}
	// llama.cpp marks tied embeddings by leaving output.weight out (Llama
	// 3.2 1B, Qwen2.5 0.5B).
	if _, ok := f.Tensor(ggufNames[roleOutput]); !ok {
		c.TiedEmbeddings = true
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// GGUFVocab gathers the tokenizer metadata of a GGUF file.
func GGUFVocab(f *gguf.File) (tokenizer.GGUFVocab, error) {
	v := tokenizer.GGUFVocab{BOS: -1, EOS: -1, UNK: -1, PAD: -1, EOT: -1, EOM: -1}
	var ok bool
	if v.Model, ok = f.String("tokenizer.ggml.model"); !ok {
		return v, fmt.Errorf("missing tokenizer.ggml.model")
	}
	v.Pre, _ = f.String("tokenizer.ggml.pre")
	if v.Tokens, ok = f.Strings("tokenizer.ggml.tokens"); !ok {
		return v, fmt.Errorf("missing tokenizer.ggml.tokens")
	}
	v.Scores, _ = f.Float32s("tokenizer.ggml.scores")
	v.Types, _ = f.Int32s("tokenizer.ggml.token_type")
	v.Merges, _ = f.Strings("tokenizer.ggml.merges")
	id := func(key string) int {
		if x, ok := f.Uint(key); ok && x < uint64(len(v.Tokens)) {
			return int(x)
		}
		return -1
	}
	v.BOS = id("tokenizer.ggml.bos_token_id")
	v.EOS = id("tokenizer.ggml.eos_token_id")
	v.UNK = id("tokenizer.ggml.unknown_token_id")
	v.PAD = id("tokenizer.ggml.padding_token_id")
	v.EOT = id("tokenizer.ggml.eot_token_id")
	v.EOM = id("tokenizer.ggml.eom_token_id")
	if b, ok := f.Bool("tokenizer.ggml.add_bos_token"); ok {
		v.AddBOS = &b
	}
	if b, ok := f.Bool("tokenizer.ggml.add_eos_token"); ok {
		v.AddEOS = &b
	}
	v.ChatTemplate, _ = f.String("tokenizer.chat_template")
	return v, nil
}

// LoadGGUFBytes loads a model from a GGUF file already in memory (the
// embedded default model); name is used in messages.
func LoadGGUFBytes(name string, data []byte) (*Model, error) {
	f, err := gguf.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("model: %s: %w", name, err)
	}
	f.Path = name
	m, err := fromGGUF(f, name, false)
	if err != nil {
		return nil, err
	}
	m.Path = name
	return m, nil
}

// ParameterCount returns the number of weights and how many tensors of each
// type the model holds (a tied output matrix counts once).
func (m *Model) ParameterCount() (int64, map[tensor.DType]int) {
	types := map[tensor.DType]int{}
	var n int64
	add := func(mat *tensor.Matrix) {
		if mat != nil {
			n += int64(mat.Rows) * int64(mat.Cols)
			types[mat.Type]++
		}
	}
	addVec := func(v []float32) { n += int64(len(v)) }
	add(m.Embed)
	if m.Output != m.Embed {
		add(m.Output)
	}
	addVec(m.Norm)
	for i := range m.Layers {
		L := &m.Layers[i]
		for _, mat := range []*tensor.Matrix{L.Wq, L.Wk, L.Wv, L.Wo, L.Gate, L.Up, L.Down} {
			add(mat)
		}
		for _, v := range [][]float32{L.AttnNorm, L.FFNNorm, L.Bq, L.Bk, L.Bv} {
			addVec(v)
		}
	}
	return n, types
}
