package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/d3-project/d3/engine"
	"github.com/d3-project/d3/eval"
	"github.com/d3-project/d3/model"
)

func init() {
	register(command{"eval", "score a benchmark (gsm8k, bbh, arith) at full depth and under D³", runEval})
}

const evalSynopsis = `-m MODEL --task gsm8k|bbh|arith --data PATH [--subtasks a,b] [--shots N] [--limit N]
           [--d3-* flags | --d3-profile F] [--compare] [--json OUT.json] [--report OUT.md] [--resume]

Runs a benchmark through the engine (greedy, many sequences per forward pass)
and scores it. Tasks:
  arith  ../shared/data/arith: BOS + "Question: {q}\nAnswer:", zero-shot; the
         answer is the number after "####"; 96 new tokens.
  gsm8k  test.jsonl with the 8 chain-of-thought exemplars of gsm8k-cot.yaml
         ("Q: ..." / "A: ..." blocks separated by blank lines); stops at "Q:";
         scores the number after "The answer is" (strict) and the last number
         (flexible), commas and "$" removed; 256 new tokens.
  bbh    the 27 BIG-Bench Hard tasks with their 3-shot CoT prompts from
         cot-prompts/ ("A: Let's think step by step."); the answer follows
         "So the answer is"; per-task and macro-averaged exact match.
--data is the data directory or file (nothing is assumed). --limit N keeps the
first N items of each (sub)task. Prompts longer than the context minus the
generation limit are cut from the left after BOS (and counted).

--compare runs full depth and the D³ setting on the same items and prints
accuracy, Δ accuracy, mean layers, layer speed-up, FLOPs ratio, decode tokens/s
and wall time for each. Per-item results are cached (--cache-dir) as they
finish, so --resume continues an interrupted run. --json writes every item
plus the totals; --report writes Markdown with charts (SVG) beside it.`

func runEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("eval", evalSynopsis, stderr)
	modelPath := fs.String("m", "", "model: a Hugging Face directory or a .gguf file (default: the bundled model)")
	taskName := fs.String("task", "", "benchmark: gsm8k, bbh or arith")
	data := fs.String("data", "", "the task's data directory or file")
	subtasks := fs.String("subtasks", "", "comma-separated BBH task names (default: all 27)")
	shots := fs.Int("shots", -1, "few-shot exemplars (default: gsm8k 8, bbh 3, arith 0)")
	limit := fs.Int("limit", 0, "evaluate only the first N items of each (sub)task (0 = all)")
	compare := fs.Bool("compare", false, "also run full depth on the same items and print both side by side")
	jsonOut := fs.String("json", "", "write the results with every item to this JSON file")
	reportOut := fs.String("report", "", "write a Markdown report with charts to this file")
	resume := fs.Bool("resume", false, "reuse the cached per-item results of an interrupted run with the same settings")
	cacheDir := fs.String("cache-dir", "", "directory of the per-item result caches (default: the user cache directory, d3/eval)")
	batch := fs.Int("batch", 32, "sequences decoded together in one forward pass")
	maxNew := fs.Int("max-new", 0, "generation limit per item (0: the task's: arith 96, gsm8k and bbh 256)")
	threads := fs.Int("threads", 0, "worker threads (0 = all CPUs)")
	ctxSize := fs.Int("ctx", 0, "context size (0 = the model's)")
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
	case *taskName == "":
		return fmt.Errorf("no task: give --task gsm8k, bbh or arith")
	case *data == "":
		return fmt.Errorf("no data: give --data with the task's data directory or file")
	case *batch < 1:
		return fmt.Errorf("--batch must be at least 1, got %d", *batch)
	case *maxNew < 0:
		return fmt.Errorf("--max-new must not be negative, got %d", *maxNew)
	}
	var subs []string
	if *subtasks != "" {
		for _, s := range strings.Split(*subtasks, ",") {
			if s = strings.TrimSpace(s); s != "" {
				subs = append(subs, s)
			}
		}
	}
	task, err := eval.Load(*taskName, eval.Options{Data: *data, Shots: *shots, Subtasks: subs, Limit: *limit})
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
	setting, err := d3.setting(m.Config.NumLayers)
	if err != nil {
		return err
	}
	settings := []eval.Setting{setting}
	if *compare {
		if setting.Name == "full" {
			fmt.Fprintln(stderr, "d3 eval: --compare without a D³ setting: only full depth runs")
		} else {
			settings = []eval.Setting{eval.FullDepth(), setting}
		}
	}
	e := engine.New(m, *threads, *ctxSize)
	defer e.Close()
	if *cacheDir == "" {
		if *cacheDir, err = defaultEvalCacheDir(); err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	var results []*eval.Result
	for _, s := range settings {
		fp, err := evalFingerprint(m, *taskName, *data, *shots, subs, *maxNew, e.Ctx, s)
		if err != nil {
			return err
		}
		cache := filepath.Join(*cacheDir, fp[:16]+".jsonl")
		bar := newProgress(stderr, fmt.Sprintf("%s %s", task.Name(), s.Name))
		res, err := eval.Run(ctx, e, task, task.Items(), s, eval.Config{Rows: *batch, MaxNew: *maxNew,
			Cache: cache, Resume: *resume, Fingerprint: fp, Progress: bar.set})
		bar.finish()
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return fmt.Errorf("interrupted; finished items are cached in %s: rerun with --resume to continue", cache)
			}
			return err
		}
		if res.Reused > 0 {
			fmt.Fprintf(stderr, "d3 eval: %s: %d of %d items taken from %s\n", s.Name, res.Reused, res.N, cache)
		}
		if res.Truncated > 0 {
			fmt.Fprintf(stderr, "d3 eval: %s: %d of %d prompts were cut from the left to fit the context of %d tokens\n",
				s.Name, res.Truncated, res.N, e.Ctx)
		}
		results = append(results, res)
	}
	rep := &eval.Report{Model: modelName(m), Task: task.Name(), Data: *data, Results: results}
	if err := rep.WriteTable(stdout); err != nil {
		return err
	}
	if *jsonOut != "" {
		if err := rep.WriteJSON(*jsonOut); err != nil {
			return err
		}
	}
	if *reportOut != "" {
		if err := rep.WriteMarkdown(*reportOut); err != nil {
			return err
		}
	}
	return nil
}

// setting is the decoding setting the --d3-* and --draft flags describe.
func (f *d3Flags) setting(numLayers int) (eval.Setting, error) {
	sched, err := f.schedule(numLayers)
	if err != nil {
		return eval.Setting{}, err
	}
	s := eval.Setting{Schedule: sched, LayerPlans: f.layerPlan}
	if err := f.options(numLayers, &s.Options); err != nil {
		return eval.Setting{}, err
	}
	s.Name = eval.ScheduleName(sched)
	if f.layerPlan != "" {
		s.Name = "layer plan " + filepath.Base(f.layerPlan)
	}
	if f.draft != "" && f.draft != "off" {
		s.Name += " draft " + f.draft
		s.Extra = "draft=" + f.draft
	}
	return s, nil
}

func defaultEvalCacheDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory (%v): give --cache-dir", err)
	}
	return filepath.Join(dir, "d3", "eval"), nil
}

// evalFingerprint identifies everything an item's result depends on besides
// its prompt: model, task and data, limits and the setting.
func evalFingerprint(m *model.Model, task, data string, shots int, subs []string, maxNew, ctx int, s eval.Setting) (string, error) {
	abs := func(p string) string {
		if a, err := filepath.Abs(p); err == nil {
			return a
		}
		return p
	}
	mp := m.Path
	if st, err := os.Stat(mp); err == nil {
		mp = fmt.Sprintf("%s|%d|%d", abs(mp), st.Size(), st.ModTime().UnixNano())
	}
	var plans string
	if s.LayerPlans != "" {
		b, err := os.ReadFile(s.LayerPlans)
		if err != nil {
			return "", err
		}
		sum := sha256.Sum256(b)
		plans = hex.EncodeToString(sum[:])
	}
	sched, _ := json.Marshal(s.Schedule)
	h := sha256.New()
	fmt.Fprintf(h, "model=%s|cfg=%+v|task=%s|data=%s|shots=%d|subtasks=%v|maxnew=%d|ctx=%d|schedule=%s|plans=%s|extra=%s",
		mp, m.Config, task, abs(data), shots, subs, maxNew, ctx, sched, plans, s.Extra)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// modelName is the model's file or directory name.
func modelName(m *model.Model) string {
	return filepath.Base(strings.TrimRight(m.Path, string(os.PathSeparator)))
}

// progress draws a progress bar with ETA on stderr. It counts only the
// items still to run (cached ones are reported in the description), so the
// ETA reflects real work.
type progress struct {
	w    io.Writer
	desc string
	bar  *progressbar.ProgressBar
	base int
}

func newProgress(w io.Writer, desc string) *progress { return &progress{w: w, desc: desc} }

func (p *progress) set(done, total int) {
	if p.bar == nil {
		if total == done {
			return
		}
		p.base = done
		desc := p.desc
		if done > 0 {
			desc += fmt.Sprintf(" (%d cached)", done)
		}
		p.bar = progressbar.NewOptions(total-done,
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription(desc),
			progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionSetRenderBlankState(true),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(p.w) }),
		)
	}
	p.bar.Set(done - p.base)
}

// finish ends an unfinished bar's line (after an error or interruption).
func (p *progress) finish() {
	if p.bar != nil && !p.bar.IsFinished() {
		p.bar.Exit()
		fmt.Fprintln(p.w)
	}
}
