package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/d3-project/d3/depth"
	"github.com/d3-project/d3/internal/testutil"
)

// TestTune: a small grid on the validation set of the bundled model prints
// every setting with accuracy, mean layers and measured decode tokens/s,
// marks the Pareto front, states the decay-vs-uniform verdict, and saves
// the fewest-layers setting within --max-drop as a profile that generate
// --d3-profile accepts.
func TestTune(t *testing.T) {
	dir := t.TempDir()
	profile, js, md := filepath.Join(dir, "p.json"), filepath.Join(dir, "t.json"), filepath.Join(dir, "t.md")
	start := time.Now()
	out, errOut, code := runCLI(t, "tune", "--task", "arith", "--data", testutil.Shared(t, "data", "arith"), "--limit", "40",
		"--alphas", "0.99,0.98", "--keeps", "12,10", "--floors", "10", "--max-drop", "2.5", "--batch", "40",
		"--out", profile, "--json", js, "--report", md, "--cache-dir", filepath.Join(dir, "cache"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	t.Logf("%.1fs\n%s", time.Since(start).Seconds(), out)
	if !strings.Contains(errOut, "validation.jsonl") || !strings.Contains(errOut, "(280/280)") {
		t.Errorf("stderr lacks the data file or a finished progress bar: %q", errOut)
	}
	var doc struct {
		Chosen      string         `json:"chosen"`
		Verdict     string         `json:"verdict"`
		DecayBetter map[string]int `json:"decay_beats_uniform"`
		Settings    []struct {
			Setting struct {
				Name     string         `json:"name"`
				Schedule depth.Schedule `json:"schedule"`
			} `json:"setting"`
			Kind             string  `json:"kind"`
			Accuracy         float64 `json:"accuracy"`
			N                int     `json:"n"`
			MeanLayers       float64 `json:"mean_layers"`
			DecodeTokensPerS float64 `json:"decode_tokens_per_s"`
			Drop             float64 `json:"drop_points"`
			Pareto           bool    `json:"pareto"`
		} `json:"settings"`
	}
	b, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	want := []string{"full", "uniform 12", "uniform 10", "middle α0.99", "middle α0.99 floor 10", "middle α0.98", "middle α0.98 floor 10"}
	if len(doc.Settings) != len(want) {
		t.Fatalf("%d settings, want %d", len(doc.Settings), len(want))
	}
	lines := strings.Split(out, "\n")
	for i, s := range doc.Settings {
		if s.Setting.Name != want[i] || s.N != 40 || s.DecodeTokensPerS <= 0 {
			t.Errorf("setting %d: %+v", i, s)
		}
		// Its table line shows the Pareto mark exactly when it is on the
		// front: no other setting at least as accurate with no more layers.
		pareto := true
		for _, q := range doc.Settings {
			if q.Setting.Name != s.Setting.Name && q.Accuracy >= s.Accuracy && q.MeanLayers <= s.MeanLayers &&
				(q.Accuracy > s.Accuracy || q.MeanLayers < s.MeanLayers) {
				pareto = false
			}
		}
		if pareto != s.Pareto {
			t.Errorf("%s: pareto %v, want %v", s.Setting.Name, s.Pareto, pareto)
		}
		var line string
		for _, l := range lines {
			if strings.HasPrefix(l, s.Setting.Name+"  ") {
				line = l
			}
		}
		if line == "" || strings.Contains(line, "*") != pareto {
			t.Errorf("%s: table line %q (pareto %v)", s.Setting.Name, line, pareto)
		}
	}
	// The chosen setting has the fewest mean layers within the budget.
	var chosen *depth.Schedule
	best, bestName := 1e9, ""
	for _, s := range doc.Settings {
		if s.Drop <= 2.5+1e-9 && s.MeanLayers < best {
			best, bestName = s.MeanLayers, s.Setting.Name
			sc := s.Setting.Schedule
			chosen = &sc
		}
	}
	if bestName != doc.Chosen {
		t.Errorf("chose %s, but %s has the fewest layers (%.2f) within the budget", doc.Chosen, bestName, best)
	}
	if !strings.Contains(out, doc.Chosen+" ") || !strings.Contains(out, "<- chosen") {
		t.Errorf("table does not mark the choice")
	}
	if !strings.Contains(out, "Does position-aware decay beat uniform depth at equal mean layers?") ||
		!strings.Contains(doc.Verdict, "for plain decay") || len(doc.DecayBetter) == 0 {
		t.Errorf("no plain verdict: %q", doc.Verdict)
	}
	p, err := depth.LoadProfile(profile)
	if err != nil {
		t.Fatal(err)
	}
	if chosen == nil || p.Schedule != *chosen || p.NumLayers != 16 || p.Task != "arith" || p.Examples != 40 {
		t.Errorf("profile %+v, chosen %+v", p, chosen)
	}
	gen, errOut, code := runCLI(t, "generate", "--json", "--d3-profile", profile, "-p", arithPrompt)
	if code != 0 {
		t.Fatalf("generate --d3-profile: exit %d: %s", code, errOut)
	}
	var g struct {
		Layers []int `json:"layers"`
	}
	if err := json.Unmarshal([]byte(gen), &g); err != nil || len(g.Layers) < 2 || g.Layers[0] != 16 {
		t.Errorf("generate with the profile: %v %s", err, gen)
	} else if k := p.Schedule.KeepCount(16, 1); g.Layers[1] != k {
		t.Errorf("generate with the profile ran %d layers for T_1, the profile keeps %d", g.Layers[1], k)
	}
	report, err := os.ReadFile(md)
	if err != nil || !strings.Contains(string(report), "Does position-aware decay beat uniform depth") ||
		!strings.Contains(string(report), "t-accuracy.svg") {
		t.Errorf("report: %v\n%s", err, report)
	}
	if _, err := os.Stat(filepath.Join(dir, "t-accuracy.svg")); err != nil {
		t.Error(err)
	}
}

func TestTuneErrors(t *testing.T) {
	data := testutil.Shared(t, "data", "arith")
	// Every one of these must fail before anything runs.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"tune"}, "no data"},
		{[]string{"tune", "--data", data, "--alphas", "0.9,x"}, "--alphas"},
		{[]string{"tune", "--data", data, "--orders", "sideways"}, "sideways"},
		{[]string{"tune", "--data", data, "--keeps", "2"}, "keep 2"},
		{[]string{"tune", "--data", data, "--alphas", "1.5"}, "alpha"},
		{[]string{"tune", "--data", data, "--max-drop", "-1"}, "--max-drop"},
	} {
		_, errOut, code := runCLI(t, append(tc.args, "--limit", "1", "--out", "")...)
		if code == 0 || !strings.Contains(errOut, tc.want) || strings.Contains(errOut, "%") {
			t.Errorf("%v: exit %d, stderr %q, want %q before any run", tc.args, code, errOut, tc.want)
		}
	}
}
