package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/d3-project/d3/engine"
	"github.com/d3-project/d3/sample"
)

const generateSynopsis = `[-m PATH] [-p TEXT | -f FILE] [-n MAX_NEW] [--temp T] [--top-k K] [--top-p P] [--min-p P]
           [--repeat-penalty R] [--seed S] [--stop STR]... [--threads N] [--json] [--d3-* flags]

Generates a continuation of the prompt. Without -m the bundled d3-tiny-layerdrop
Q8_0 model is used. --temp 0 (the default) is greedy. BOS is added when the
model's metadata says so. Text streams to stdout; --json prints one object.

Depth decay (D³): generated token T_i runs max(core, ⌊L·α^(i−start)⌋) of the L
layers; the prompt and T_0 run at full depth; core layers at both ends always
run and the flexible middle layers are dropped in --d3-order. --d3-keep N is the
uniform baseline every comparison needs.`

type genResult struct {
	PromptTokens []int  `json:"prompt_tokens"`
	Tokens       []int  `json:"tokens"`
	Text         string `json:"text"`
	FinishReason string `json:"finish_reason"`
	Layers       []int  `json:"layers"`
	Timing       struct {
		PrefillMS        float64 `json:"prefill_ms"`
		DecodeMS         float64 `json:"decode_ms"`
		DecodeTokensPerS float64 `json:"decode_tokens_per_s"`
	} `json:"timing"`
	D3 struct {
		MeanLayers   float64 `json:"mean_layers"`
		LayerSpeedup float64 `json:"layer_speedup"`
		FLOPsRatio   float64 `json:"flops_ratio"`
	} `json:"d3"`
	Draft *engine.DraftStats `json:"draft,omitempty"`
}

func runGenerate(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("generate", generateSynopsis, stderr)
	modelPath := fs.String("m", "", "model: a Hugging Face directory or a .gguf file (default: the bundled model)")
	prompt := fs.String("p", "", "prompt text (escapes \\n \\t \\\\ are processed unless --no-escape)")
	promptFile := fs.String("f", "", "read the prompt from a file (no escape processing)")
	noEscape := fs.Bool("no-escape", false, "take -p literally")
	maxNew := fs.Int("n", 128, "maximum new tokens (-1: until EOS or the context is full)")
	def := sample.DefaultParams()
	temp := fs.Float64("temp", 0, "temperature; 0 is greedy")
	topK := fs.Int("top-k", def.TopK, "top-k sampling (0 = off)")
	topP := fs.Float64("top-p", def.TopP, "top-p (nucleus) sampling (1 = off)")
	minP := fs.Float64("min-p", def.MinP, "min-p sampling (0 = off)")
	repeatPenalty := fs.Float64("repeat-penalty", 1, "repetition penalty (1 = off)")
	repeatLastN := fs.Int("repeat-last-n", def.RepeatLastN, "tokens the repetition penalty looks back over (-1 = all)")
	seed := fs.Uint64("seed", 0, "random seed for sampling")
	var stops stringList
	fs.Var(&stops, "stop", "stop string (repeatable); the output ends before it")
	threads := fs.Int("threads", 0, "worker threads (0 = all CPUs)")
	ctxSize := fs.Int("ctx", 0, "context size (0 = the model's)")
	jsonOut := fs.Bool("json", false, "print one JSON object instead of streaming text")
	var d3 d3Flags
	d3.register(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected argument %q (the prompt goes in -p)", pos[0])
	}
	text, err := readPrompt(*prompt, *promptFile, !*noEscape)
	if err != nil {
		return err
	}
	if text == "" {
		return fmt.Errorf("no prompt: give -p TEXT or -f FILE")
	}
	params := sample.Params{Temperature: *temp, TopK: *topK, TopP: *topP, MinP: *minP,
		RepeatPenalty: *repeatPenalty, RepeatLastN: *repeatLastN, Seed: *seed}
	if err := params.Validate(); err != nil {
		return err
	}
	if *maxNew == 0 || *maxNew < -1 {
		return fmt.Errorf("-n must be positive or -1, got %d", *maxNew)
	}
	m, err := openModel(*modelPath)
	if err != nil {
		return err
	}
	defer m.Close()
	if m.Tokenizer == nil {
		return fmt.Errorf("%s has no tokenizer (tokenizer.json or tokenizer.model)", m.Path)
	}
	opt := engine.Options{MaxNew: *maxNew, Sample: params, Stop: stops}
	if err := d3.options(m.Config.NumLayers, &opt); err != nil {
		return err
	}
	e := engine.New(m, *threads, *ctxSize)
	defer e.Close()
	ids := m.Tokenizer.Encode(text, true)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var onText func(string) error
	if !*jsonOut {
		onText = func(s string) error {
			_, err := io.WriteString(stdout, s)
			return err
		}
	}
	res, err := e.Generate(ctx, ids, opt, onText)
	if err != nil {
		return err
	}
	if !*jsonOut {
		fmt.Fprintln(stdout)
		return nil
	}
	out := genResult{PromptTokens: res.PromptTokens, Tokens: res.Tokens, Text: res.Text, FinishReason: res.FinishReason, Layers: res.Layers}
	if out.Tokens == nil {
		out.Tokens = []int{}
	}
	out.Timing.PrefillMS = ms(res.PrefillTime.Seconds())
	out.Timing.DecodeMS = ms(res.DecodeTime.Seconds())
	out.Timing.DecodeTokensPerS = res.DecodeTokensPerSecond()
	out.D3.MeanLayers = res.MeanLayers()
	if out.D3.MeanLayers > 0 {
		out.D3.LayerSpeedup = float64(m.Config.NumLayers) / out.D3.MeanLayers
	}
	out.D3.FLOPsRatio = res.FLOPsRatio()
	if opt.Draft.Kind != engine.DraftOff {
		out.Draft = &res.Draft
	}
	enc := json.NewEncoder(stdout)
	return enc.Encode(out)
}

func ms(seconds float64) float64 { return seconds * 1000 }
