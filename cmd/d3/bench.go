package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"

	"github.com/d3-project/d3/bench"
	"github.com/d3-project/d3/defaultmodel"
	"github.com/d3-project/d3/depth"
	"github.com/d3-project/d3/engine"
	"github.com/d3-project/d3/model"
)

func init() {
	register(command{"bench", "measure prefill and decode speed (and the D³ speed-up)", runBench})
}

const benchSynopsis = `[-m PATH] [-p 512] [-n 128] [-t THREADS] [-r REPS] [--json] [--d3-* flags]

Measures like llama-bench: prefill of -p random prompt tokens (pp) and decode
of -n tokens one at a time after a one-token prompt (tg), never stopping at
EOS, each repeated -r times after an untimed warm-up; tokens/s are reported
as mean ± sample standard deviation and median. -p 0 or -n 0 skips a test.
The context is sized for the tests, not the model's full context.

With --d3-* flags (or --layer-plan), decode also runs under that depth
schedule, alternating with full depth in every repetition, and the measured
decode speed-up is reported next to the layer speed-up (layers / mean layers
of the timed steps). Peak RSS is the process's high-water mark (VmHWM).`

// benchJSON is --json's object; tests that were skipped are null.
type benchJSON struct {
	Model        string `json:"model"`
	FileBytes    int64  `json:"file_bytes"`
	Arch         string `json:"arch"`
	Layers       int    `json:"layers"`
	Parameters   int64  `json:"parameters"`
	Threads      int    `json:"threads"`
	Reps         int    `json:"reps"`
	PromptTokens int    `json:"prompt_tokens"`
	GenTokens    int    `json:"gen_tokens"`
	Ctx          int    `json:"ctx"`

	PrefillTPS       *float64  `json:"prefill_tokens_per_s"`
	PrefillTPSStddev *float64  `json:"prefill_tokens_per_s_stddev"`
	PrefillTPSMedian *float64  `json:"prefill_tokens_per_s_median"`
	PrefillSamples   []float64 `json:"prefill_samples"`
	DecodeTPS        *float64  `json:"decode_tokens_per_s"`
	DecodeTPSStddev  *float64  `json:"decode_tokens_per_s_stddev"`
	DecodeTPSMedian  *float64  `json:"decode_tokens_per_s_median"`
	DecodeSamples    []float64 `json:"decode_samples"`

	PeakRSSBytes int64 `json:"peak_rss_bytes"`

	// Memory roofline of the decode test (see bench.Report).
	WeightBytesPerToken     *float64  `json:"weight_bytes_per_token,omitempty"`
	ReadGBPerS              *float64  `json:"weight_read_gb_per_s,omitempty"`
	ReadGBPerSMedian        *float64  `json:"weight_read_gb_per_s_median,omitempty"`
	ReadSamples             []float64 `json:"weight_read_samples,omitempty"`
	DecodeGBPerS            *float64  `json:"decode_gb_per_s,omitempty"` // median decode rate × bytes per token
	DecodeBandwidthFraction *float64  `json:"decode_bandwidth_fraction,omitempty"`
	KVCacheBytes            int64     `json:"kv_cache_bytes"`

	// Present with a D³ schedule.
	D3                    *depth.Schedule    `json:"d3_schedule,omitempty"`
	D3DecodeTPS           *float64           `json:"d3_decode_tokens_per_s,omitempty"`
	D3DecodeTPSStddev     *float64           `json:"d3_decode_tokens_per_s_stddev,omitempty"`
	D3DecodeTPSMedian     *float64           `json:"d3_decode_tokens_per_s_median,omitempty"`
	D3DecodeSamples       []float64          `json:"d3_decode_samples,omitempty"`
	MeanLayers            *float64           `json:"mean_layers,omitempty"`
	LayerSpeedup          *float64           `json:"layer_speedup,omitempty"`
	MeasuredSpeedup       *float64           `json:"measured_speedup,omitempty"`
	MeasuredSpeedupMedian *float64           `json:"measured_speedup_median,omitempty"`
	WeightBytesSpeedup    *float64           `json:"weight_bytes_speedup,omitempty"`
	Draft                 *engine.DraftStats `json:"draft,omitempty"`
}

func runBench(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", benchSynopsis, stderr)
	modelPath := fs.String("m", "", "model: a Hugging Face directory or a .gguf file (default: the bundled model)")
	prompt := fs.Int("p", 512, "prompt tokens of the prefill test (0 = skip)")
	gen := fs.Int("n", 128, "generated tokens of the decode test (0 = skip)")
	var threads int
	fs.IntVar(&threads, "t", 0, "worker threads (0 = all CPUs)")
	fs.IntVar(&threads, "threads", 0, "same as -t")
	reps := fs.Int("r", 5, "repetitions")
	seed := fs.Uint64("seed", 0, "seed of the random prompt tokens")
	noWarmup := fs.Bool("no-warmup", false, "skip the untimed warm-up run")
	jsonOut := fs.Bool("json", false, "print one JSON object")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the timed runs to `FILE` (go tool pprof)")
	var d3 d3Flags
	d3.register(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected argument %q", pos[0])
	}
	switch {
	case *prompt < 0 || *gen < 0:
		return fmt.Errorf("-p %d and -n %d must not be negative", *prompt, *gen)
	case *prompt == 0 && *gen == 0:
		return fmt.Errorf("-p 0 and -n 0 leave nothing to measure")
	case *reps < 1:
		return fmt.Errorf("-r must be at least 1, got %d", *reps)
	case threads < 0:
		return fmt.Errorf("-t must not be negative, got %d", threads)
	}
	m, err := openModel(*modelPath)
	if err != nil {
		return err
	}
	defer m.Close()
	planner, explicit, sched, err := d3.plans(m.Config.NumLayers)
	if err != nil {
		return err
	}
	cfg := bench.Config{Prompt: *prompt, Gen: *gen, Reps: *reps, NoWarmup: *noWarmup, Seed: *seed,
		Planner: planner, LayerPlans: explicit, Propagate: sched.KV == depth.KVPropagate, DraftBase: sched}
	if cfg.Draft, err = engine.ParseDraftPolicy(d3.draft); err != nil {
		return err
	}
	if cfg.Draft.Kind != engine.DraftOff && explicit != nil {
		return fmt.Errorf("--draft and --layer-plan cannot be combined")
	}
	if cfg.D3() && *gen == 0 {
		return fmt.Errorf("the D³ flags change decoding only: give -n > 0")
	}
	ctxLen := cfg.Context()
	if ctxLen > m.Config.ContextLen {
		return fmt.Errorf("-p %d / -n %d need a context of %d positions, the model has %d", *prompt, *gen, ctxLen, m.Config.ContextLen)
	}
	e := engine.New(m, threads, ctxLen)
	defer e.Close()
	// Progress goes to stderr in both modes: a 1B model's run takes minutes.
	cfg.Progress = func(what string, rep int, tps float64) {
		fmt.Fprintf(stderr, "bench: %-9s rep %d/%d: %.2f tokens/s\n", what, rep+1, *reps, tps)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	rep, err := bench.Run(ctx, e, cfg)
	if err != nil {
		return err
	}
	c := &m.Config
	params, _ := m.ParameterCount()
	out := benchJSON{
		Model: m.Path, FileBytes: modelBytes(m), Arch: c.Arch, Layers: c.NumLayers, Parameters: params,
		Threads: e.Pool.Workers(), Reps: *reps, PromptTokens: *prompt, GenTokens: *gen, Ctx: ctxLen,
		PeakRSSBytes: bench.PeakRSS(),
		// K and V rows are float32, for every layer, for the longest test.
		KVCacheBytes: int64(2*4*c.NumLayers*c.KVDim()) * int64(ctxLen-1),
	}
	if s := rep.Prefill; s != nil {
		out.PrefillTPS, out.PrefillTPSStddev, out.PrefillTPSMedian, out.PrefillSamples = &s.Mean, &s.Stddev, &s.Median, s.Samples
	}
	if s := rep.Decode; s != nil {
		out.DecodeTPS, out.DecodeTPSStddev, out.DecodeTPSMedian, out.DecodeSamples = &s.Mean, &s.Stddev, &s.Median, s.Samples
		bw := rep.ReadBandwidth
		decodeGBs := s.Median * rep.WeightBytesPerToken / 1e9
		out.WeightBytesPerToken, out.ReadGBPerS, out.ReadGBPerSMedian, out.ReadSamples = &rep.WeightBytesPerToken, &bw.Mean, &bw.Median, bw.Samples
		out.DecodeGBPerS, out.DecodeBandwidthFraction = &decodeGBs, &rep.DecodeBandwidthFraction
	}
	if s := rep.D3Decode; s != nil {
		if planner != nil {
			out.D3 = &sched
		}
		out.D3DecodeTPS, out.D3DecodeTPSStddev, out.D3DecodeTPSMedian, out.D3DecodeSamples = &s.Mean, &s.Stddev, &s.Median, s.Samples
		out.MeanLayers, out.LayerSpeedup = &rep.MeanLayers, &rep.LayerSpeedup
		out.MeasuredSpeedup, out.MeasuredSpeedupMedian = &rep.MeasuredSpeedup, &rep.MeasuredSpeedupMedian
		out.WeightBytesSpeedup = &rep.WeightBytesSpeedup
		out.Draft = rep.Draft
	}
	if *jsonOut {
		return json.NewEncoder(stdout).Encode(out)
	}
	printBench(stdout, &out, rep, explicit != nil)
	return nil
}

func printBench(w io.Writer, out *benchJSON, rep *bench.Report, layerPlan bool) {
	mib := func(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
	fmt.Fprintf(w, "model:    %s (%s, %d layers, %.3f B parameters, %s)\n", out.Model, out.Arch, out.Layers, float64(out.Parameters)/1e9, mib(out.FileBytes))
	fmt.Fprintf(w, "threads:  %d, %d repetitions\n", out.Threads, out.Reps)
	fmt.Fprintf(w, "%-10s %22s %12s\n", "test", "tokens/s (mean ± sd)", "median")
	line := func(name string, s *bench.Stats) {
		fmt.Fprintf(w, "%-10s %22s %12.2f\n", name, fmt.Sprintf("%.2f ± %.2f", s.Mean, s.Stddev), s.Median)
	}
	if rep.Prefill != nil {
		line(fmt.Sprintf("pp%d", out.PromptTokens), rep.Prefill)
	}
	if rep.Decode != nil {
		line(fmt.Sprintf("tg%d", out.GenTokens), rep.Decode)
	}
	if rep.D3Decode != nil && out.Draft != nil {
		// Lossless drafting: every token is the full model's, so the layer
		// figures do not apply; the draft statistics do.
		d := out.Draft
		line(fmt.Sprintf("tg%d draft", out.GenTokens), rep.D3Decode)
		settled := ""
		if d.AutoDepth > 0 {
			settled = fmt.Sprintf(" (settled on %d layers, k=%d)", d.AutoDepth, d.AutoLength)
		}
		fmt.Fprintf(w, "draft:    %s%s: %d rounds, acceptance %.1f%%, %.2f tokens/round, %.2f layers per draft, measured %.3f× (medians %.3f×)\n",
			d.Policy, settled, d.Rounds, 100*d.Acceptance, d.PerRound, d.MeanDraftL, rep.MeasuredSpeedup, rep.MeasuredSpeedupMedian)
	} else if rep.D3Decode != nil {
		line(fmt.Sprintf("tg%d D³", out.GenTokens), rep.D3Decode)
		what := "layer plan file"
		if !layerPlan && out.D3 != nil {
			s := out.D3
			what = fmt.Sprintf("α %g, start %d, core %d/%d, order %s, kv %s", s.Alpha, s.Start, s.CoreHead, s.CoreTail, s.Order, s.KV)
			if s.Keep > 0 {
				what = fmt.Sprintf("keep %d, core %d/%d, order %s, kv %s", s.Keep, s.CoreHead, s.CoreTail, s.Order, s.KV)
			}
		}
		fmt.Fprintf(w, "D³:       %s: %.2f mean layers of %d, layer speed-up %.3f×, weight-bytes bound %.3f×, measured %.3f× (medians %.3f×)\n",
			what, rep.MeanLayers, out.Layers, rep.LayerSpeedup, rep.WeightBytesSpeedup, rep.MeasuredSpeedup, rep.MeasuredSpeedupMedian)
	}
	if out.DecodeBandwidthFraction != nil {
		fmt.Fprintf(w, "memory:   decode reads %s of weights per token: %.2f GB/s at the median, %.0f%% of a plain read of them (%.2f GB/s, median)\n",
			mib(int64(*out.WeightBytesPerToken)), *out.DecodeGBPerS, 100**out.DecodeBandwidthFraction, *out.ReadGBPerSMedian)
	}
	fmt.Fprintf(w, "peak RSS: %s (model %s, KV cache %s)\n", mib(out.PeakRSSBytes), mib(out.FileBytes), mib(out.KVCacheBytes))
}

// modelBytes is the size of the model's weights on disk: the GGUF file, the
// safetensors of a directory, or the embedded default model.
func modelBytes(m *model.Model) int64 {
	st, err := os.Stat(m.Path)
	switch {
	case err != nil:
		if strings.HasPrefix(m.Path, "(default)") {
			return int64(len(defaultmodel.GGUF))
		}
		return 0
	case !st.IsDir():
		return st.Size()
	}
	var n int64
	files, _ := filepath.Glob(filepath.Join(m.Path, "*.safetensors"))
	for _, f := range files {
		if st, err := os.Stat(f); err == nil {
			n += st.Size()
		}
	}
	return n
}
