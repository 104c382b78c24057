package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/d3-project/d3/internal/testutil"
)

// TestAnalyzeReference: `d3 analyze` on d3-tiny-layerdrop over the 400
// texts of data/arith/analysis.jsonl reproduces reference.json's
// layer_cosine within 0.01 per layer and answer_loss_by_position within
// 10 % relative or 1e-4 absolute, and --plot writes both charts.
func TestAnalyzeReference(t *testing.T) {
	var ref struct {
		LayerCosine []float64    `json:"layer_cosine"`
		AnswerLoss  [][3]float64 `json:"answer_loss_by_position"` // position, loss, texts
	}
	data, err := os.ReadFile(testutil.Shared(t, "golden", "d3-tiny-layerdrop", "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	start := time.Now()
	out, errOut, code := runCLI(t, "analyze", "-m", testutil.Shared(t, "models", "d3-tiny-layerdrop"),
		"--data", testutil.Shared(t, "data", "arith", "analysis.jsonl"), "--json", "--plot", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	t.Logf("d3 analyze: %.1fs", time.Since(start).Seconds())
	var got struct {
		Texts       int       `json:"texts"`
		LayerCosine []float64 `json:"layer_cosine"`
		AnswerLoss  []struct {
			Position int     `json:"position"`
			Loss     float64 `json:"loss"`
			Count    int     `json:"count"`
		} `json:"answer_loss_by_position"`
		Recommendation struct {
			CoreHead int    `json:"core_head"`
			CoreTail int    `json:"core_tail"`
			Text     string `json:"text"`
		} `json:"recommendation"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("bad JSON: %v\n%s", err, out)
	}
	if got.Texts != 400 || len(got.LayerCosine) != len(ref.LayerCosine) {
		t.Fatalf("%d texts, %d layers", got.Texts, len(got.LayerCosine))
	}
	worstCos, worstAbs, worstRel := 0.0, 0.0, 0.0
	for l, want := range ref.LayerCosine {
		d := math.Abs(got.LayerCosine[l] - want)
		worstCos = math.Max(worstCos, d)
		if d > 0.01 {
			t.Errorf("layer %d: cosine %.5f, reference %.5f", l, got.LayerCosine[l], want)
		}
	}
	if len(got.AnswerLoss) != len(ref.AnswerLoss) {
		t.Errorf("%d answer positions, reference %d", len(got.AnswerLoss), len(ref.AnswerLoss))
	}
	for i := range min(len(got.AnswerLoss), len(ref.AnswerLoss)) {
		g, want := got.AnswerLoss[i], ref.AnswerLoss[i]
		if g.Position != int(want[0]) || g.Count != int(want[2]) {
			t.Errorf("position %d (%d texts), reference position %v (%v texts)", g.Position, g.Count, want[0], want[2])
			continue
		}
		d := math.Abs(g.Loss - want[1])
		worstAbs, worstRel = math.Max(worstAbs, d), math.Max(worstRel, d/math.Abs(want[1]))
		if d > 1e-4 && d > 0.1*math.Abs(want[1]) {
			t.Errorf("answer position %d: loss %.6g, reference %.6g", g.Position, g.Loss, want[1])
		}
	}
	t.Logf("worst layer cosine error %.2g; worst answer loss error %.2g absolute, %.2g relative", worstCos, worstAbs, worstRel)
	if r := got.Recommendation; r.CoreHead != 2 || r.CoreTail != 2 || !strings.Contains(r.Text, "--d3-core-head 2 --d3-core-tail 2") {
		t.Errorf("recommendation %+v", r)
	}
	for _, f := range []string{"layer-cosine.svg", "answer-loss.svg"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || !strings.Contains(string(b), "<svg") {
			t.Errorf("--plot %s: %v", f, err)
		}
	}
}

func TestAnalyzeText(t *testing.T) {
	out, errOut, code := runCLI(t, "analyze", "--data", testutil.Shared(t, "data", "arith", "analysis.jsonl"), "--limit", "30")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"over 30 texts", "cos(in, out)", "core", "flexible", "answer-token loss by position", "recommendation: --d3-core-head"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"analyze"}, "no data"},
		{[]string{"analyze", "--data", "/nonexistent.jsonl"}, "nonexistent.jsonl"},
		{[]string{"analyze", "--data", testutil.Shared(t, "data", "arith", "analysis.jsonl"), "--limit", "-1"}, "--limit"},
	} {
		_, errOut, code := runCLI(t, tc.args...)
		if code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q", tc.args, code, errOut)
		}
	}
}
