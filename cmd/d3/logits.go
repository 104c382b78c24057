package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/d3-project/d3/model"
	"github.com/d3-project/d3/parallel"
)

func runLogits(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("logits", "-m PATH --tokens 1,2,3 [--json]\n\nPrints the logits of every position of the token sequence (full depth, one batch).", stderr)
	modelPath := fs.String("m", "", "model: a Hugging Face directory or a .gguf file (default: the bundled model)")
	tokens := fs.String("tokens", "", "comma-separated token ids")
	threads := fs.Int("threads", 0, "worker threads (0 = all CPUs)")
	jsonOut := fs.Bool("json", false, `print {"logits":[[...],...]}`)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected argument %q", pos[0])
	}
	var ids []int
	for _, f := range strings.Split(*tokens, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		id, err := strconv.Atoi(f)
		if err != nil {
			return fmt.Errorf("--tokens: %q is not an integer", f)
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return fmt.Errorf("--tokens: no token ids given")
	}
	m, err := openModel(*modelPath)
	if err != nil {
		return err
	}
	defer m.Close()
	if len(ids) > m.Config.ContextLen {
		return fmt.Errorf("%d tokens exceed the context length %d", len(ids), m.Config.ContextLen)
	}
	pool := parallel.New(*threads)
	defer pool.Close()
	logits, err := model.AllLogits(m, pool, ids)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	if *jsonOut {
		return json.NewEncoder(w).Encode(map[string][][]float32{"logits": logits})
	}
	for i, row := range logits {
		fmt.Fprintf(w, "position %d (token %d):", i, ids[i])
		for _, v := range row {
			fmt.Fprintf(w, " %.6g", v)
		}
		fmt.Fprintln(w)
	}
	return nil
}
