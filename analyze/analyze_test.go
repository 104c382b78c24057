package analyze

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/d3-project/d3/engine"
	"github.com/d3-project/d3/internal/testutil"
	"github.com/d3-project/d3/model"
)

// Packing several texts into one forward pass gives what one text per pass
// gives (each text has its own cache; rows never see each other).
func TestPacking(t *testing.T) {
	texts, err := LoadTexts(testutil.Shared(t, "data", "arith", "analysis.jsonl"), 6)
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Load(testutil.Shared(t, "models", "gguf", "d3-tiny-layerdrop-q8_0.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	e := engine.New(m, 0, 0)
	defer e.Close()
	one, err := Analyze(context.Background(), e, texts, Options{Rows: 1, MinCount: 1})
	if err != nil {
		t.Fatal(err)
	}
	packed, err := Analyze(context.Background(), e, texts, Options{Rows: 1000, MinCount: 1})
	if err != nil {
		t.Fatal(err)
	}
	for l := range one.LayerCosine {
		if d := math.Abs(one.LayerCosine[l] - packed.LayerCosine[l]); d > 1e-6 {
			t.Errorf("layer %d: cosine %.7f one per pass, %.7f packed", l, one.LayerCosine[l], packed.LayerCosine[l])
		}
	}
	if len(one.AnswerLoss) != len(packed.AnswerLoss) || one.AnswerLoss[0].Count != 6 {
		t.Fatalf("answer positions %d vs %d", len(one.AnswerLoss), len(packed.AnswerLoss))
	}
	for k := range one.AnswerLoss {
		a, b := one.AnswerLoss[k], packed.AnswerLoss[k]
		if a.Position != k || a.Count != b.Count || math.Abs(a.Loss-b.Loss) > 1e-5*math.Max(1, a.Loss) {
			t.Errorf("position %d: %+v one per pass, %+v packed", k, a, b)
		}
	}
	// MinCount drops the positions fewer texts reach.
	last := one.AnswerLoss[len(one.AnswerLoss)-1]
	if last.Count == 6 {
		t.Fatalf("every text has the same answer length?")
	}
	cut, _ := Analyze(context.Background(), e, texts, Options{MinCount: 6})
	if n := len(cut.AnswerLoss); n == len(one.AnswerLoss) || cut.AnswerLoss[n-1].Count != 6 {
		t.Errorf("MinCount 6 kept %d positions", n)
	}
	if _, err := Analyze(context.Background(), e, nil, Options{}); err == nil {
		t.Error("no texts: no error")
	}
}

func TestRecommend(t *testing.T) {
	for _, tc := range []struct {
		cos        []float64
		head, tail int
		say        string
	}{
		// d3-tiny-layerdrop's reference cosines.
		{[]float64{0.355, 0.817, 0.976, 0.979, 0.983, 0.981, 0.982, 0.981, 0.984, 0.984, 0.984, 0.984, 0.983, 0.982, 0.872, 0.843}, 2, 2, "largely redundant"},
		// Plain d3-tiny-like: middle layers change the state more.
		{[]float64{0.30, 0.80, 0.94, 0.95, 0.95, 0.96, 0.95, 0.94, 0.95, 0.96, 0.95, 0.95, 0.94, 0.95, 0.85, 0.80}, 2, 2, "each one matters"},
		// A dip in the middle is named, not made core.
		{[]float64{0.5, 0.99, 0.99, 0.90, 0.99, 0.99, 0.6}, 1, 1, "3 (0.900)"},
		{[]float64{0.5, 0.5}, 0, 0, "2 flexible layers average cosine 0.500"},
	} {
		r := Recommend(tc.cos)
		if r.CoreHead != tc.head || r.CoreTail != tc.tail || !strings.Contains(r.Text, tc.say) {
			t.Errorf("Recommend(%v) = %+v, want core %d/%d saying %q", tc.cos, r, tc.head, tc.tail, tc.say)
		}
	}
}
