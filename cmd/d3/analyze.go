package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/d3-project/d3/analyze"
	"github.com/d3-project/d3/engine"
	"github.com/d3-project/d3/eval"
)

func init() {
	register(command{"analyze", "layer redundancy and answer loss by position, with a core-layer recommendation", runAnalyze})
}

const analyzeSynopsis = `-m MODEL --data FILE [--limit N] [--json] [--plot DIR]

Measures what depth decay relies on, over prompt+answer texts (GSM8K-format
JSONL: each line {"question", "answer"}; the text is BOS + "Question: {q}\nAnswer: {a}" + EOS):
  - for each layer, the mean cosine similarity of its input and output hidden
    states (per text the mean over positions, then the mean over texts): layers
    that barely change the state are the ones worth skipping;
  - the mean loss of the answer tokens by their position in the answer
    (position 0 is the first token after BOS + "Question: {q}\nAnswer:"; only
    positions that at least --min-count texts reach), the paper's observation
    that later tokens are easier.
Prints both and a recommendation for --d3-core-head / --d3-core-tail. --json
prints one JSON object instead; --plot writes both curves as SVG charts.`

func runAnalyze(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("analyze", analyzeSynopsis, stderr)
	modelPath := fs.String("m", "", "model: a Hugging Face directory or a .gguf file (default: the bundled model)")
	data := fs.String("data", "", "JSONL file of {\"question\", \"answer\"} texts (e.g. ../shared/data/arith/analysis.jsonl)")
	limit := fs.Int("limit", 0, "analyse only the first N texts (0 = all)")
	jsonOut := fs.Bool("json", false, "print one JSON object")
	plotDir := fs.String("plot", "", "write layer-cosine.svg and answer-loss.svg to this directory")
	minCount := fs.Int("min-count", 20, "fewest texts an answer position needs to be reported")
	rows := fs.Int("batch", 512, "token rows per forward pass (whole texts are packed)")
	threads := fs.Int("threads", 0, "worker threads (0 = all CPUs)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected argument %q", pos[0])
	}
	switch {
	case *data == "":
		return fmt.Errorf("no data: give --data with a JSONL file of question/answer texts")
	case *limit < 0:
		return fmt.Errorf("--limit must not be negative, got %d", *limit)
	case *minCount < 1:
		return fmt.Errorf("--min-count must be at least 1, got %d", *minCount)
	}
	texts, err := analyze.LoadTexts(*data, *limit)
	if err != nil {
		return err
	}
	m, err := openModel(*modelPath)
	if err != nil {
		return err
	}
	defer m.Close()
	if m.Tokenizer == nil {
		return fmt.Errorf("%s has no tokenizer (tokenizer.json or tokenizer.model)", m.Path)
	}
	e := engine.New(m, *threads, 0)
	defer e.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	bar := newProgress(stderr, "analyze")
	res, err := analyze.Analyze(ctx, e, texts, analyze.Options{Rows: *rows, MinCount: *minCount, Progress: bar.set})
	bar.finish()
	if err != nil {
		return err
	}
	if *plotDir != "" {
		if err := plotAnalysis(*plotDir, modelName(m), res); err != nil {
			return err
		}
	}
	if *jsonOut {
		out := struct {
			Model string `json:"model"`
			*analyze.Result
		}{modelName(m), res}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	printAnalysis(stdout, modelName(m), res)
	return nil
}

func printAnalysis(w io.Writer, model string, res *analyze.Result) {
	fmt.Fprintf(w, "%s over %d texts\n\nlayer  cos(in, out)  1 − cos\n", model, res.Texts)
	r := res.Recommendation
	for l, c := range res.LayerCosine {
		role := "flexible"
		if l < r.CoreHead || l >= res.NumLayers-r.CoreTail {
			role = "core"
		}
		bar := strings.Repeat("#", int(math.Round(math.Min(1, 1-c)*40)))
		fmt.Fprintf(w, "%5d  %12.4f  %7.4f  %-8s %s\n", l, c, 1-c, role, bar)
	}
	fmt.Fprintf(w, "\nanswer-token loss by position (positions with at least the minimum count of texts):\nposition  loss        texts\n")
	for _, p := range res.AnswerLoss {
		fmt.Fprintf(w, "%8d  %-10.4g  %5d\n", p.Position, p.Loss, p.Count)
	}
	if early, late := analyze.Trend(res.AnswerLoss); !math.IsNaN(early) {
		verdict := "later answer tokens are easier (lower loss), as D³ assumes"
		if late >= early {
			verdict = "later answer tokens are NOT easier here (their loss is as high or higher): decay may hurt where it is deepest"
		}
		fmt.Fprintf(w, "\nmean loss, first third of positions %.4g, last third %.4g: %s.\n", early, late, verdict)
	}
	fmt.Fprintf(w, "\nrecommendation: %s\n", r.Text)
}

func plotAnalysis(dir, model string, res *analyze.Result) error {
	x := make([]float64, len(res.LayerCosine))
	for i := range x {
		x[i] = float64(i)
	}
	if err := eval.LinePlot(filepath.Join(dir, "layer-cosine.svg"), model+": cos(layer input, layer output)",
		"layer", "mean cosine similarity", x, res.LayerCosine); err != nil {
		return err
	}
	px := make([]float64, len(res.AnswerLoss))
	py := make([]float64, len(res.AnswerLoss))
	for i, p := range res.AnswerLoss {
		px[i], py[i] = float64(p.Position), p.Loss
	}
	return eval.LinePlot(filepath.Join(dir, "answer-loss.svg"), model+": answer-token loss by position",
		"position in the answer", "mean loss (nats)", px, py)
}
