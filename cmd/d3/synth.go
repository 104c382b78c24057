package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/d3-project/d3/synth"
)

func init() {
	register(command{"synth", "write a random-weight GGUF with a real model's exact layout (for benchmarks)", runSynth})
}

var synthSynopsis = `--shape SHAPE --type TYPE -o FILE.gguf [--seed S] [--threads N] [-q]

Writes a GGUF v3 file with random weights (normal, std 0.02; norms 1) and the
exact tensor names, shapes and metadata llama.cpp expects for SHAPE, with a
synthetic tokenizer vocabulary of the right kind and size, so that d3 and
llama.cpp can benchmark the same file.

SHAPE: ` + strings.Join(synth.Presets(), ", ") + `, or
  ` + synth.CustomHelp + `
TYPE: f16, bf16 (what llama.cpp's converter writes), q8_0, q4_0, q4_k_m (what
  llama-quantize writes: the output matrix, or the tied token_embd, is Q6_K;
  Q4_K_M uses Q6_K for half of attn_v and ffn_down; 1-D tensors stay F32).`

func runSynth(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("synth", synthSynopsis, stderr)
	shapeSpec := fs.String("shape", "", "model shape: a preset or custom:KEY=VALUE,...")
	typeName := fs.String("type", "", "weight type: f16, bf16, q8_0, q4_0 or q4_k_m")
	outPath := fs.String("o", "", "output .gguf file")
	seed := fs.Uint64("seed", 0, "random seed of the weights (the vocabulary does not depend on it)")
	threads := fs.Int("threads", 0, "quantizing threads (0 = all CPUs); the output does not depend on it")
	quiet := fs.Bool("q", false, "no progress on stderr")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected argument %q", pos[0])
	}
	switch {
	case *shapeSpec == "":
		return fmt.Errorf("--shape is required (%s, or custom:KEY=VALUE,...)", strings.Join(synth.Presets(), ", "))
	case *typeName == "":
		return fmt.Errorf("--type is required (f16, bf16, q8_0, q4_0 or q4_k_m)")
	case *outPath == "":
		return fmt.Errorf("-o FILE.gguf is required")
	}
	shape, err := synth.ParseShape(*shapeSpec)
	if err != nil {
		return err
	}
	ft, err := synth.ParseFileType(*typeName)
	if err != nil {
		return err
	}
	if st, err := os.Stat(*outPath); err == nil && st.IsDir() {
		return fmt.Errorf("-o %s is a directory", *outPath)
	}
	opt := synth.Options{Seed: *seed, Threads: *threads}
	start := time.Now()
	if !*quiet {
		var mu sync.Mutex
		last := time.Now()
		opt.Progress = func(done, total int64) {
			mu.Lock()
			defer mu.Unlock()
			if now := time.Now(); now.Sub(last) >= time.Second || done == total {
				last = now
				fmt.Fprintf(stderr, "\rsynth: %5.1f%% of %.1f MiB", 100*float64(done)/float64(max(total, 1)), float64(total)/(1<<20))
				if done == total {
					fmt.Fprintln(stderr)
				}
			}
		}
	}
	sum, err := synth.WriteFile(*outPath, shape, ft, opt)
	if err != nil {
		return err
	}
	size := int64(0)
	if st, err := os.Stat(*outPath); err == nil {
		size = st.Size()
	}
	var types []string
	for t, n := range sum.Types {
		types = append(types, fmt.Sprintf("%s ×%d", t, n))
	}
	sort.Strings(types)
	fmt.Fprintf(stdout, "wrote %s: %s, %s, %d tensors (%s), %.3f B parameters, %d bytes (%.1f MiB) in %.1fs\n",
		*outPath, shape.String(), ft, sum.Tensors, strings.Join(types, ", "), float64(sum.Parameters)/1e9,
		size, float64(size)/(1<<20), time.Since(start).Seconds())
	return nil
}
