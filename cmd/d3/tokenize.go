package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/d3-project/d3/gguf"
	"github.com/d3-project/d3/model"
	"github.com/d3-project/d3/tokenizer"
)

func runTokenize(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("tokenize", "(-m PATH | --tokenizer FILE) [--add-special] [--json] TEXT\n\nPrints the token ids of TEXT. Special tokens written in the text are matched whole.", stderr)
	modelPath := fs.String("m", "", "model (directory or .gguf) whose tokenizer to use (default: the bundled model)")
	tokPath := fs.String("tokenizer", "", "a tokenizer.json, a tokenizer.model, or a GGUF file")
	addSpecial := fs.Bool("add-special", false, "add BOS/EOS as the tokenizer's metadata says")
	jsonOut := fs.Bool("json", false, `print {"ids":[...]}`)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("want exactly one TEXT argument, got %d", len(pos))
	}
	if *modelPath != "" && *tokPath != "" {
		return fmt.Errorf("give either -m or --tokenizer, not both")
	}
	var tok *tokenizer.Tokenizer
	if *tokPath != "" {
		tok, err = loadTokenizer(*tokPath)
	} else {
		var m *model.Model
		if m, err = openModel(*modelPath); err == nil {
			defer m.Close()
			if tok = m.Tokenizer; tok == nil {
				err = fmt.Errorf("%s has no tokenizer", m.Path)
			}
		}
	}
	if err != nil {
		return err
	}
	ids := tok.Encode(pos[0], *addSpecial)
	if *jsonOut {
		if ids == nil {
			ids = []int{}
		}
		return json.NewEncoder(stdout).Encode(map[string][]int{"ids": ids})
	}
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.Itoa(id)
	}
	_, err = fmt.Fprintln(stdout, strings.Join(parts, " "))
	return err
}

// loadTokenizer reads a tokenizer file; GGUF files are recognised by their
// magic so any file name works.
func loadTokenizer(path string) (*tokenizer.Tokenizer, error) {
	if isGGUF(path) {
		f, err := gguf.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		v, err := model.GGUFVocab(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return tokenizer.FromGGUFVocab(v)
	}
	return tokenizer.Load(path)
}
