package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/d3-project/d3/depth"
	"github.com/d3-project/d3/eval"
	"github.com/d3-project/d3/internal/testutil"
)

// The test binary doubles as the d3 binary for tests that must kill a real
// process: with D3_TEST_RUN_ARGS set (a JSON array) it runs those args.
func init() {
	if a := os.Getenv("D3_TEST_RUN_ARGS"); a != "" {
		var args []string
		if err := json.Unmarshal([]byte(a), &args); err != nil {
			panic(err)
		}
		os.Exit(run(args, os.Stdout, os.Stderr))
	}
}

// evalJSON is the part of `d3 eval --json` the tests read.
type evalJSON struct {
	Model            string         `json:"model"`
	Task             string         `json:"task"`
	Setting          eval.Setting   `json:"setting"`
	Accuracy         float64        `json:"accuracy"`
	Correct          int            `json:"correct"`
	N                int            `json:"n"`
	MeanLayers       float64        `json:"mean_layers"`
	LayerSpeedup     float64        `json:"layer_speedup"`
	DecodeTokensPerS float64        `json:"decode_tokens_per_s"`
	WallS            float64        `json:"wall_s"`
	Items            []evalJSONItem `json:"items"`
	Baseline         *evalJSON      `json:"baseline"`
}

type evalJSONItem struct {
	ID        string `json:"id"`
	Generated string `json:"generated"`
	IDs       []int  `json:"ids"`
	Answer    string `json:"answer"`
	Target    string `json:"target"`
	Correct   bool   `json:"correct"`
	Layers    []int  `json:"layers"`
}

func readEvalJSON(t *testing.T, path string) *evalJSON {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r evalJSON
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &r
}

type arithRef struct {
	Results []struct {
		Schedule struct {
			Name string `json:"name"`
		} `json:"schedule"`
		Accuracy  float64 `json:"accuracy"`
		Generated [][]int `json:"generated"`
	} `json:"results"`
}

// TestEvalArithReference: `d3 eval --task arith` on both tiny models, with
// the full setting, middle α 0.99 and back α 0.98 (the first two in one
// --compare run), on the first 200 problems (all 500 in the long mode):
// correct counts within ±1.5 points of what reference.json's generations
// score on the same problems, plus the D³ acceptance on generations and
// mean layers (at least 95 % identical, 98 % where the reference scores
// 90 % or more; mean layers within ±0.1).
func TestEvalArithReference(t *testing.T) {
	n := 200
	if testutil.Long() {
		n = 500
	}
	data := testutil.Shared(t, "data", "arith", "test.jsonl")
	problems, err := eval.Load("arith", eval.Options{Data: data, Limit: n, Shots: -1})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"d3-tiny-layerdrop", "d3-tiny"} {
		t.Run(name, func(t *testing.T) {
			refData, err := os.ReadFile(testutil.Shared(t, "golden", name, "reference.json"))
			if err != nil {
				t.Fatal(err)
			}
			var ref arithRef
			if err := json.Unmarshal(refData, &ref); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			common := []string{"eval", "-m", testutil.Shared(t, "models", name), "--task", "arith", "--data", data,
				"--limit", strconv.Itoa(n), "--batch", "100", "--cache-dir", filepath.Join(dir, "cache")}
			start := time.Now()
			out, errOut, code := runCLI(t, append(common, "--d3-alpha", "0.99", "--compare", "--json", filepath.Join(dir, "a.json"))...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			t.Logf("--compare full / middle α0.99: %.1fs\n%s", time.Since(start).Seconds(), out)
			start = time.Now()
			out, errOut, code = runCLI(t, append(common, "--d3-alpha", "0.98", "--d3-order", "back", "--json", filepath.Join(dir, "b.json"))...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			t.Logf("back α0.98: %.1fs\n%s", time.Since(start).Seconds(), out)
			a, b := readEvalJSON(t, filepath.Join(dir, "a.json")), readEvalJSON(t, filepath.Join(dir, "b.json"))
			if a.Baseline == nil {
				t.Fatal("--compare wrote no baseline")
			}
			runs := map[string]*evalJSON{"full": a.Baseline, "d3-middle-a0.99": a, "d3-back-a0.98": b}
			m, err := openModel(testutil.Shared(t, "models", name))
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			for _, r := range ref.Results {
				got, ok := runs[r.Schedule.Name]
				if !ok {
					continue
				}
				delete(runs, r.Schedule.Name)
				if got.N != n || len(got.Items) != n {
					t.Fatalf("%s: n %d, %d items, want %d", r.Schedule.Name, got.N, len(got.Items), n)
				}
				var sched depth.Schedule = got.Setting.Schedule
				same, refCorrect, refLayers, refTokens, layers, tokens := 0, 0, 0, 0, 0, 0
				items := problems.Items()
				for i, it := range got.Items {
					want := r.Generated[i]
					if slices.Equal(it.IDs, want) {
						same++
					}
					if problems.Score(&items[i], m.Tokenizer.Decode(want)).Correct {
						refCorrect++
					}
					k := len(want)
					if k < eval.ArithMaxNew {
						k++ // the EOS the reference cut
					}
					for j := 0; j < k; j++ {
						refLayers += sched.KeepCount(16, j)
					}
					refTokens += k
					for _, l := range it.Layers {
						layers += l
					}
					tokens += len(it.Layers)
				}
				mean, refMean := float64(layers)/float64(tokens), float64(refLayers)/float64(refTokens)
				t.Logf("%s: %d/%d identical, %d correct (reference %d), mean layers %.3f (reference %.3f)",
					r.Schedule.Name, same, n, got.Correct, refCorrect, got.MeanLayers, refMean)
				minShare := 0.95
				if r.Accuracy >= 0.9 {
					minShare = 0.98
				}
				if float64(same) < minShare*float64(n) {
					t.Errorf("%s: %d/%d identical, want %.0f %%", r.Schedule.Name, same, n, 100*minShare)
				}
				if d := math.Abs(float64(got.Correct-refCorrect)) * 100 / float64(n); d > 1.5 {
					t.Errorf("%s: %d correct, reference generations score %d (%.2f points)", r.Schedule.Name, got.Correct, refCorrect, d)
				}
				if math.Abs(got.MeanLayers-refMean) > 0.1 || math.Abs(got.MeanLayers-mean) > 1e-9 {
					t.Errorf("%s: mean layers %.4f (items say %.4f), reference %.4f", r.Schedule.Name, got.MeanLayers, mean, refMean)
				}
				if math.Abs(got.LayerSpeedup-16/got.MeanLayers) > 1e-9 || got.Accuracy != float64(got.Correct)/float64(n) {
					t.Errorf("%s: inconsistent totals %+v", r.Schedule.Name, got)
				}
			}
			if len(runs) != 0 {
				t.Errorf("schedules missing from reference.json: %v", runs)
			}
		})
	}
}

// TestEvalPipeline: --limit 20 runs of gsm8k and bbh complete on the
// bundled model and write the JSON and the report with its charts (the tiny
// model's scores there are near zero; this checks the pipeline).
func TestEvalPipeline(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		task string
		args []string
		n    int
	}{
		{"gsm8k", []string{"--data", testutil.Shared(t, "data", "gsm8k"), "--compare"}, 20},
		// Two BBH tasks (a multiple-choice and a free-form one) keep CI
		// short; all 27 run the same code.
		{"bbh", []string{"--data", testutil.Shared(t, "data", "bbh"), "--subtasks", "date_understanding,word_sorting"}, 40},
	} {
		t.Run(tc.task, func(t *testing.T) {
			js, md := filepath.Join(dir, tc.task+".json"), filepath.Join(dir, tc.task+".md")
			start := time.Now()
			args := append([]string{"eval", "--task", tc.task, "--limit", "20", "--d3-alpha", "0.98",
				"--json", js, "--report", md, "--cache-dir", filepath.Join(dir, "cache")}, tc.args...)
			out, errOut, code := runCLI(t, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			t.Logf("%.1fs\n%s", time.Since(start).Seconds(), out)
			if !strings.Contains(errOut, "100%") || !strings.Contains(errOut, "("+strconv.Itoa(tc.n)+"/"+strconv.Itoa(tc.n)+")") {
				t.Errorf("no finished progress bar on stderr: %q", errOut)
			}
			cols := []string{"accuracy", "mean layers", "layer speed-up", "FLOPs ratio", "decode tok/s", "wall s", "middle α0.98"}
			compare := slices.Contains(tc.args, "--compare")
			if compare {
				cols = append(cols, "Δ accuracy", "full")
			}
			for _, col := range cols {
				if !strings.Contains(out, col) {
					t.Errorf("table lacks %q:\n%s", col, out)
				}
			}
			r := readEvalJSON(t, js)
			var raw map[string]any
			b, _ := os.ReadFile(js)
			json.Unmarshal(b, &raw)
			for _, k := range []string{"accuracy", "correct", "n", "mean_layers", "layer_speedup", "decode_tokens_per_s", "wall_s", "items"} {
				if _, ok := raw[k]; !ok {
					t.Errorf("JSON lacks top-level %q", k)
				}
			}
			if r.Task != tc.task || r.N != tc.n || len(r.Items) != tc.n || (r.Baseline != nil) != compare {
				t.Fatalf("JSON task %q n %d items %d baseline %v", r.Task, r.N, len(r.Items), r.Baseline != nil)
			}
			if compare && (r.Baseline.N != tc.n || r.Baseline.MeanLayers != 16) {
				t.Errorf("baseline: n %d, mean layers %.2f", r.Baseline.N, r.Baseline.MeanLayers)
			}
			if r.MeanLayers >= 16 || r.DecodeTokensPerS <= 0 || r.WallS <= 0 {
				t.Errorf("totals: mean layers %.2f, %.1f tok/s, %.1fs", r.MeanLayers, r.DecodeTokensPerS, r.WallS)
			}
			for _, it := range r.Items {
				if it.ID == "" || it.Target == "" || len(it.Layers) == 0 || it.Layers[0] != 16 {
					t.Fatalf("item %+v", it)
				}
			}
			report, err := os.ReadFile(md)
			if err != nil {
				t.Fatal(err)
			}
			for _, chart := range []string{tc.task + "-accuracy.svg", tc.task + "-layers.svg"} {
				if !strings.Contains(string(report), "]("+chart+")") {
					t.Errorf("report does not show %s", chart)
				}
				svg, err := os.ReadFile(filepath.Join(dir, chart))
				if err != nil || !bytes.Contains(svg, []byte("<svg")) {
					t.Errorf("chart %s: %v", chart, err)
				}
			}
			if tc.task == "bbh" && !strings.Contains(string(report), "| word_sorting | 20 |") {
				t.Errorf("report lacks the per-task table:\n%s", report)
			}
		})
	}
}

// TestEvalResume: a run killed after some items and resumed with --resume
// gives the same final JSON as an uninterrupted run (timings aside).
func TestEvalResume(t *testing.T) {
	dir := t.TempDir()
	data := testutil.Shared(t, "data", "arith")
	common := []string{"eval", "--task", "arith", "--data", data, "--limit", "64", "--batch", "4", "--d3-alpha", "0.99"}

	// Uninterrupted.
	full := filepath.Join(dir, "full.json")
	if _, errOut, code := runCLI(t, append(common, "--json", full, "--cache-dir", filepath.Join(dir, "c1"))...); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}

	// Interrupted: a child process killed once the cache holds 2 groups.
	cacheDir := filepath.Join(dir, "c2")
	resumed := filepath.Join(dir, "resumed.json")
	args, _ := json.Marshal(append(common, "--json", resumed, "--cache-dir", cacheDir))
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "D3_TEST_RUN_ARGS="+string(args))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	records := 0
	deadline := time.Now().Add(2 * time.Minute)
	for records < 8 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		records = cacheRecords(t, cacheDir)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if records < 8 || records >= 64 {
		t.Fatalf("child cached %d items before it was killed", records)
	}
	if _, err := os.Stat(resumed); err == nil {
		t.Fatal("the killed run wrote its JSON")
	}
	_, errOut, code := runCLI(t, append(common, "--json", resumed, "--cache-dir", cacheDir, "--resume")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "items taken from") {
		t.Errorf("resume reused nothing: %s", errOut)
	}
	t.Logf("killed after %d cached items; resume: %s", records, strings.TrimSpace(errOut[strings.LastIndex(errOut, "d3 eval:"):]))
	a, b := normalizedJSON(t, full), normalizedJSON(t, resumed)
	if a != b {
		t.Errorf("resumed JSON differs from the uninterrupted run:\n%s\n---\n%s", a, b)
	}
}

// cacheRecords counts the item records in the cache files of dir.
func cacheRecords(t *testing.T, dir string) int {
	files, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	n := 0
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			if bytes.Contains(sc.Bytes(), []byte(`"item"`)) {
				n++
			}
		}
		fh.Close()
	}
	return n
}

// normalizedJSON is the --json document without its timing fields.
func normalizedJSON(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	var strip func(m map[string]any)
	strip = func(m map[string]any) {
		for _, k := range []string{"wall_s", "decode_s", "decode_tokens_per_s"} {
			delete(m, k)
		}
		if bl, ok := m["baseline"].(map[string]any); ok {
			strip(bl)
		}
	}
	strip(v)
	out, _ := json.MarshalIndent(v, "", " ")
	return string(out)
}

func TestEvalErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte("{\"question\": \"q\", \"answer\": \"#### 1\"}\nnot json\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"eval", "--data", bad}, "no task"},
		{[]string{"eval", "--task", "arith"}, "no data"},
		{[]string{"eval", "--task", "mmlu", "--data", bad}, "unknown task"},
		{[]string{"eval", "--task", "arith", "--data", bad}, "bad.jsonl:2"},
		{[]string{"eval", "--task", "arith", "--data", filepath.Join(dir, "none.jsonl")}, "none.jsonl"},
		{[]string{"eval", "--task", "arith", "--data", testutil.Shared(t, "data", "arith"), "--d3-alpha", "1.5"}, "alpha"},
		{[]string{"eval", "--task", "bbh", "--data", testutil.Shared(t, "data", "bbh"), "--subtasks", "nope"}, "unknown bbh subtask"},
	} {
		_, errOut, code := runCLI(t, tc.args...)
		if code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want it to mention %q", tc.args, code, errOut, tc.want)
		}
	}
}
