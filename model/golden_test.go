package model_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/d3-project/d3/depth"
	"github.com/d3-project/d3/internal/testutil"
	"github.com/d3-project/d3/model"
	"github.com/d3-project/d3/parallel"
)

type goldenCase struct {
	Kind         string         `json:"kind"`
	Schedule     string         `json:"schedule"`
	Params       map[string]any `json:"params"`
	Tokens       []int          `json:"tokens"`
	Logits       [][]float64    `json:"logits"`
	Prompt       []int          `json:"prompt"`
	Generated    []int          `json:"generated"`
	ActiveLayers [][]int        `json:"active_layers"`
	StepLogits   [][]float64    `json:"step_logits"`
}

type goldenFile struct {
	Model        string       `json:"model"`
	StorageDType string       `json:"storage_dtype"`
	Cases        []goldenCase `json:"cases"`
}

func loadGolden(t *testing.T, dir string) goldenFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g goldenFile
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

// relErr is ‖a − ref‖ / ‖ref‖.
func relErr(a []float32, ref []float64) float64 {
	var num, den float64
	for i, r := range ref {
		d := float64(a[i]) - r
		num += d * d
		den += r * r
	}
	return math.Sqrt(num / den)
}

func argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

var tinyModels = []string{"tiny-llama", "tiny-llama3", "tiny-qwen2"}

func TestGoldenPrefill(t *testing.T) {
	pool := parallel.New(2)
	defer pool.Close()
	for _, name := range tinyModels {
		t.Run(name, func(t *testing.T) {
			dir := testutil.Shared(t, "golden", "tiny", name)
			g := loadGolden(t, dir)
			m, err := model.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			for _, c := range g.Cases {
				if c.Kind != "prefill" {
					continue
				}
				st := model.NewState(m, pool, len(c.Tokens))
				cache := model.NewCache(&m.Config, 64)
				b := &model.Batch{Tokens: c.Tokens, Pos: make([]int, len(c.Tokens)), Caches: make([]*model.Cache, len(c.Tokens))}
				for i := range c.Tokens {
					b.Pos[i], b.Caches[i] = i, cache
				}
				if err := st.Forward(b); err != nil {
					t.Fatal(err)
				}
				worst := 0.0
				for i, ref := range c.Logits {
					e := relErr(st.Logits(i), ref)
					worst = max(worst, e)
					if e > 1e-4 {
						t.Errorf("%s position %d: logits rel err %.3g > 1e-4", g.StorageDType, i, e)
					}
				}
				t.Logf("%s (%s): worst prefill rel err %.3g", name, g.StorageDType, worst)
			}
		})
	}
}

// TestGoldenGenerate replays every generate case: full depth and the layer
// plans (nested, non-nested with K/V mode none and propagate), step by step
// with the KV cache, comparing step logits and greedy ids.
func TestGoldenGenerate(t *testing.T) {
	pool := parallel.New(2)
	defer pool.Close()
	for _, name := range tinyModels {
		t.Run(name, func(t *testing.T) {
			dir := testutil.Shared(t, "golden", "tiny", name)
			g := loadGolden(t, dir)
			m, err := model.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			L := m.Config.NumLayers
			seen := 0
			for _, c := range g.Cases {
				if c.Kind != "generate" {
					continue
				}
				seen++
				propagate := c.Params != nil && c.Params["kv"] == "propagate"
				st := model.NewState(m, pool, len(c.Prompt))
				cache := model.NewCache(&m.Config, 64)
				n := len(c.Prompt) - 1
				b := &model.Batch{Tokens: c.Prompt[:n], Pos: make([]int, n), Caches: make([]*model.Cache, n), Logits: make([]bool, n)}
				for i := range b.Pos {
					b.Pos[i], b.Caches[i] = i, cache
				}
				if err := st.Forward(b); err != nil {
					t.Fatal(err)
				}
				tok, pos := c.Prompt[n], n
				worst := 0.0
				for i, layers := range c.ActiveLayers {
					plan, err := depth.PlanFromLayers(L, layers)
					if err != nil {
						t.Fatal(err)
					}
					step := &model.Batch{Tokens: []int{tok}, Pos: []int{pos}, Caches: []*model.Cache{cache},
						Plans: []depth.Plan{plan}, Propagate: []bool{propagate}}
					if err := st.Forward(step); err != nil {
						t.Fatal(err)
					}
					logits := st.Logits(0)
					e := relErr(logits, c.StepLogits[i])
					worst = max(worst, e)
					if e > 1e-4 {
						t.Errorf("%s step %d: logits rel err %.3g > 1e-4", c.Schedule, i, e)
					}
					if got := argmax(logits); got != c.Generated[i] {
						t.Fatalf("%s step %d: generated %d, reference %d", c.Schedule, i, got, c.Generated[i])
					}
					tok, pos = c.Generated[i], pos+1
				}
				t.Logf("%s %s: %d steps identical, worst step rel err %.3g", name, c.Schedule, len(c.ActiveLayers), worst)
			}
			if seen < 4 {
				t.Fatalf("expected 4 generate cases, found %d", seen)
			}
		})
	}
}

func newPool() *parallel.Pool { return parallel.New(2) }
