package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/d3-project/d3/tensor"
)

func runInfo(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("info", "[-m PATH]\n\nDescribes a model: architecture, sizes, tensor types, tokenizer, special tokens, context length.", stderr)
	modelPath := fs.String("m", "", "model: a Hugging Face directory or a .gguf file (default: the bundled model)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected argument %q", pos[0])
	}
	m, err := openModel(*modelPath)
	if err != nil {
		return err
	}
	defer m.Close()
	c := &m.Config
	w := stdout
	fmt.Fprintf(w, "model:            %s (%s)\n", m.Path, m.Format)
	fmt.Fprintf(w, "architecture:     %s\n", c.Arch)
	fmt.Fprintf(w, "layers:           %d\n", c.NumLayers)
	fmt.Fprintf(w, "hidden size:      %d\n", c.Hidden)
	fmt.Fprintf(w, "feed-forward:     %d (SwiGLU)\n", c.Intermediate)
	fmt.Fprintf(w, "attention heads:  %d query, %d key/value, head dim %d\n", c.NumHeads, c.NumKVHeads, c.HeadDim)
	fmt.Fprintf(w, "vocabulary:       %d\n", c.VocabSize)
	fmt.Fprintf(w, "context length:   %d\n", c.ContextLen)
	rope := fmt.Sprintf("theta %g", c.RopeTheta)
	if s := c.RopeScaling; s != nil {
		rope += fmt.Sprintf(", %s scaling factor %g (low %g, high %g, original context %d)", s.Type, s.Factor, s.LowFreqFactor, s.HighFreqFactor, s.OriginalContext)
	}
	if c.RopeInterleaved {
		rope += ", interleaved pairs (llama.cpp Q/K layout)"
	}
	fmt.Fprintf(w, "rope:             %s\n", rope)
	fmt.Fprintf(w, "rms norm eps:     %g\n", c.NormEps)
	fmt.Fprintf(w, "tied embeddings:  %v\n", c.TiedEmbeddings)
	fmt.Fprintf(w, "qkv bias:         %v\n", c.QKVBias)
	params, types := m.ParameterCount()
	fmt.Fprintf(w, "parameters:       %d (%.1f M)\n", params, float64(params)/1e6)
	var names []string
	for t := range types {
		names = append(names, t.String())
	}
	sort.Strings(names)
	var parts []string
	for _, n := range names {
		t, _ := tensor.ParseDType(n)
		parts = append(parts, fmt.Sprintf("%s ×%d", n, types[t]))
	}
	fmt.Fprintf(w, "tensor types:     %s\n", strings.Join(parts, ", "))
	if st, err := os.Stat(m.Path); err == nil && !st.IsDir() {
		fmt.Fprintf(w, "file size:        %d bytes (%.1f MiB)\n", st.Size(), float64(st.Size())/(1<<20))
	}
	if tok := m.Tokenizer; tok != nil {
		fmt.Fprintf(w, "tokenizer:        %s, %d tokens, adds BOS: %v\n", tok.Kind(), tok.VocabSize(), tok.AddsBOS())
		special := func(id int) string {
			if id < 0 {
				return "none"
			}
			return fmt.Sprintf("%d %q", id, tok.Piece(id))
		}
		fmt.Fprintf(w, "BOS:              %s\n", special(c.BOS))
		var eos []string
		for _, id := range c.EOS {
			eos = append(eos, special(id))
		}
		fmt.Fprintf(w, "end of generation: %s\n", strings.Join(eos, ", "))
		if tok.ChatTemplate() != "" {
			fmt.Fprintf(w, "chat template:    yes (%d characters)\n", len(tok.ChatTemplate()))
		}
	} else {
		fmt.Fprintf(w, "tokenizer:        none\n")
	}
	return nil
}
