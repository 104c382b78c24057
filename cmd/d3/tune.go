package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/d3-project/d3/depth"
	"github.com/d3-project/d3/engine"
	"github.com/d3-project/d3/eval"
	"github.com/d3-project/d3/tune"
)

func init() {
	register(command{"tune", "grid-search D³ schedules on a validation set and save the best as a profile", runTune})
}

const tuneSynopsis = `-m MODEL --task arith --data FILE [--max-drop POINTS] [--alphas ...] [--orders ...]
           [--starts ...] [--keeps ...] [--floors ...] [--out PROFILE.json] [--report OUT.md]

Evaluates a grid of depth schedules on a validation set (for arith:
../shared/data/arith/validation.jsonl, kept apart from the test file): full
depth, the uniform-depth baseline at each --keeps N (every generated token after
T_0 runs N layers), position-aware decay for every --alphas × --orders ×
--starts, and the same decay with each --floors value as --d3-min-layers.
Prints accuracy, the drop against full depth, mean layers, the layer speed-up
and measured decode tokens/s of every setting, marks the Pareto front of
accuracy against mean layers (*), says whether decay beats uniform depth at
equal mean layers (each decay setting against the uniform line interpolated at
its own mean layers), and saves the setting with the fewest mean layers whose
accuracy drop is within --max-drop points as a profile for
` + "`d3 generate --d3-profile`" + `. Lists are comma-separated; "none" empties one.`

func runTune(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("tune", tuneSynopsis, stderr)
	modelPath := fs.String("m", "", "model: a Hugging Face directory or a .gguf file (default: the bundled model)")
	taskName := fs.String("task", "arith", "benchmark: arith, gsm8k or bbh")
	data := fs.String("data", "", "validation data: a file, or a directory holding validation.jsonl")
	limit := fs.Int("limit", 0, "use only the first N items of each (sub)task (0 = all)")
	shots := fs.Int("shots", -1, "few-shot exemplars (default: the task's)")
	subtasks := fs.String("subtasks", "", "comma-separated BBH task names")
	maxDrop := fs.Float64("max-drop", 1, "largest accuracy drop against full depth, in points, that the saved setting may have")
	alphas := fs.String("alphas", "0.995,0.99,0.98,0.97", "decay bases to try")
	orders := fs.String("orders", "middle", "drop orders to try (back, front, middle)")
	starts := fs.String("starts", "0", "full-depth warm-up lengths to try")
	keeps := fs.String("keeps", "", "uniform-depth baselines: layers kept (default: L−2, L−4, L−6, L−8)")
	floors := fs.String("floors", "", "floors (--d3-min-layers) for decay with a floor (default: 3/4 and 5/8 of L)")
	coreHead := fs.Int("core-head", 2, "layers at the input end that always run")
	coreTail := fs.Int("core-tail", 2, "layers at the output end that always run")
	kv := fs.String("kv", "none", "K/V of skipped layers: none or propagate")
	out := fs.String("out", "d3-profile.json", "write the chosen setting to this profile file (\"\" = do not save)")
	reportOut := fs.String("report", "", "write a Markdown report with charts to this file")
	jsonOut := fs.String("json", "", "write every setting's result (with items) to this JSON file")
	cacheDir := fs.String("cache-dir", "", "directory of the per-item result caches (default: the user cache directory, d3/eval)")
	resume := fs.Bool("resume", false, "reuse cached per-item results of an interrupted run")
	batch := fs.Int("batch", 32, "sequences decoded together in one forward pass")
	maxNew := fs.Int("max-new", 0, "generation limit per item (0: the task's)")
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
		return fmt.Errorf("no data: give --data with the validation set (for arith: ../shared/data/arith/validation.jsonl)")
	case *maxDrop < 0:
		return fmt.Errorf("--max-drop must not be negative, got %g", *maxDrop)
	case *batch < 1:
		return fmt.Errorf("--batch must be at least 1, got %d", *batch)
	}
	dataPath := *data
	if st, err := os.Stat(dataPath); err == nil && st.IsDir() {
		for _, p := range []string{filepath.Join(dataPath, "validation.jsonl"), filepath.Join(dataPath, *taskName, "validation.jsonl")} {
			if _, err := os.Stat(p); err == nil {
				dataPath = p
				break
			}
		}
	}
	if filepath.Base(dataPath) == "test.jsonl" {
		fmt.Fprintln(stderr, "d3 tune: warning: tuning on test.jsonl; tune on a validation set and keep the test set for the final number")
	}
	var subs []string
	for _, s := range strings.Split(*subtasks, ",") {
		if s = strings.TrimSpace(s); s != "" {
			subs = append(subs, s)
		}
	}
	task, err := eval.Load(*taskName, eval.Options{Data: dataPath, Shots: *shots, Subtasks: subs, Limit: *limit})
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
	L := m.Config.NumLayers
	grid := tune.DefaultGrid(L)
	grid.Base.CoreHead, grid.Base.CoreTail = *coreHead, *coreTail
	if grid.Base.KV, err = depth.ParseKVMode(*kv); err != nil {
		return err
	}
	list := func(s string) string {
		if strings.EqualFold(strings.TrimSpace(s), "none") {
			return ""
		}
		return s
	}
	if grid.Alphas, err = tune.ParseFloats(list(*alphas)); err != nil {
		return fmt.Errorf("--alphas: %w", err)
	}
	if grid.Orders, err = tune.ParseOrders(*orders); err != nil {
		return fmt.Errorf("--orders: %w", err)
	}
	if grid.Starts, err = tune.ParseInts(*starts); err != nil {
		return fmt.Errorf("--starts: %w", err)
	}
	if len(grid.Orders) == 0 || len(grid.Starts) == 0 {
		return fmt.Errorf("--orders and --starts need at least one value")
	}
	if *keeps != "" {
		if grid.Keeps, err = tune.ParseInts(list(*keeps)); err != nil {
			return fmt.Errorf("--keeps: %w", err)
		}
	}
	if *floors != "" {
		if grid.Floors, err = tune.ParseInts(list(*floors)); err != nil {
			return fmt.Errorf("--floors: %w", err)
		}
	}
	settings, err := grid.Settings(L)
	if err != nil {
		return err
	}
	e := engine.New(m, *threads, 0)
	defer e.Close()
	if *cacheDir == "" {
		if *cacheDir, err = defaultEvalCacheDir(); err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	fmt.Fprintf(stderr, "d3 tune: %d settings × %d items of %s\n", len(settings), len(task.Items()), dataPath)
	bar := newProgress(stderr, "tune")
	cacheFor := func(s eval.Setting) (string, string, error) {
		fp, err := evalFingerprint(m, *taskName, dataPath, *shots, subs, *maxNew, e.Ctx, s)
		if err != nil {
			return "", "", err
		}
		return filepath.Join(*cacheDir, fp[:16]+".jsonl"), fp, nil
	}
	results, err := tune.Run(ctx, e, task, task.Items(), settings, eval.Config{Rows: *batch, MaxNew: *maxNew, Resume: *resume},
		cacheFor, bar.set)
	bar.finish()
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("interrupted; finished items are cached: rerun with --resume to continue")
		}
		return err
	}
	o, err := tune.Analyze(results, *maxDrop)
	if err != nil {
		return err
	}
	name := modelName(m)
	printTune(stdout, name, task.Name(), dataPath, o)
	if *out != "" {
		p := o.Profile(name, task.Name(), L)
		if err := depth.SaveProfile(*out, p); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\nsaved %s to %s (use: d3 generate --d3-profile %s)\n", o.Best.Setting.Name, *out, *out)
	}
	rep := &eval.Report{Title: "d3 tune", Model: name, Task: task.Name(), Data: dataPath, Results: results}
	for _, r := range o.Rows {
		if r.Pareto {
			rep.Front = append(rep.Front, r.Setting.Name)
		}
	}
	rep.Notes = []string{
		"Pareto front (no other setting at least as accurate with fewer mean layers): " + strings.Join(rep.Front, ", ") + ".",
		o.Verdict,
		fmt.Sprintf("Chosen (fewest mean layers within %.2g points of full depth): **%s**, %.1f %% at %.2f mean layers.",
			o.MaxDrop, o.Best.Setting.Name, 100*o.Best.Accuracy, o.Best.MeanLayers),
	}
	if *reportOut != "" {
		if err := rep.WriteMarkdown(*reportOut); err != nil {
			return err
		}
	}
	if *jsonOut != "" {
		if err := writeTuneJSON(*jsonOut, name, dataPath, o); err != nil {
			return err
		}
	}
	return nil
}

func printTune(w io.Writer, model, task, data string, o *tune.Outcome) {
	fmt.Fprintf(w, "%s on %s (%s), %d items per setting\n", task, model, data, o.Full.N)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "setting\tkind\taccuracy\tdrop (points)\tmean layers\tlayer speed-up\tdecode tok/s\tvs uniform (points)\tPareto\t")
	for _, r := range o.Rows {
		vs := ""
		if r.Uniform != nil {
			vs = fmt.Sprintf("%+.1f", 100*(r.Accuracy-*r.Uniform))
		}
		mark := ""
		if r.Pareto {
			mark = "*"
		}
		if r == o.Best {
			mark += " <- chosen"
		}
		fmt.Fprintf(tw, "%s\t%s\t%.1f %%\t%.1f\t%.2f\t%.2fx\t%.1f\t%s\t%s\t\n", r.Setting.Name, r.Kind, 100*r.Accuracy, r.Drop,
			r.MeanLayers, r.LayerSpeedup, r.DecodeTokensPerS, vs, mark)
	}
	tw.Flush()
	fmt.Fprintf(w, "\n* Pareto front: no other setting is at least as accurate with fewer mean layers.\n")
	fmt.Fprintf(w, "vs uniform: accuracy minus the uniform-depth line (uniform settings and full depth) at the same mean layers.\n")
	fmt.Fprintf(w, "\n%s\n", o.Verdict)
	if o.Best == o.Full {
		fmt.Fprintf(w, "\nNo setting other than full depth stays within %.2g points of full depth (%.1f %%).\n", o.MaxDrop, 100*o.Full.Accuracy)
	} else {
		fmt.Fprintf(w, "\nChosen: %s, the fewest mean layers (%.2f, %.2fx) within %.2g points of full depth (%.1f %% against %.1f %%).\n",
			o.Best.Setting.Name, o.Best.MeanLayers, o.Best.LayerSpeedup, o.MaxDrop, 100*o.Best.Accuracy, 100*o.Full.Accuracy)
	}
}

func writeTuneJSON(path, model, data string, o *tune.Outcome) error {
	type row struct {
		*eval.Result
		Kind          string   `json:"kind"`
		DropPoints    float64  `json:"drop_points"`
		Pareto        bool     `json:"pareto"`
		UniformAtSame *float64 `json:"uniform_accuracy_at_same_layers,omitempty"`
	}
	doc := struct {
		Model       string         `json:"model"`
		Data        string         `json:"data"`
		MaxDrop     float64        `json:"max_drop_points"`
		Chosen      string         `json:"chosen"`
		Verdict     string         `json:"verdict"`
		DecayBetter map[string]int `json:"decay_beats_uniform"`
		Settings    []row          `json:"settings"`
	}{Model: model, Data: data, MaxDrop: o.MaxDrop, Chosen: o.Best.Setting.Name, Verdict: o.Verdict, DecayBetter: o.DecayBetter}
	for _, r := range o.Rows {
		doc.Settings = append(doc.Settings, row{r.Result, r.Kind, r.Drop, r.Pareto, r.Uniform})
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
