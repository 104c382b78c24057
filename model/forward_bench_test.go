package model_test

import (
	"os"
	"testing"

	"github.com/d3-project/d3/depth"
	"github.com/d3-project/d3/internal/testutil"
	"github.com/d3-project/d3/model"
	"github.com/d3-project/d3/parallel"
)

// BenchmarkForward times the forward passes lossless drafting is made of,
// at position 60 of a sequence on the bf16 d3-tiny-layerdrop checkpoint
// (D3_BENCH_MODEL for another): a full-depth step, a 6-layer draft step on
// the model's weights and on its Q8_0 and Q4_0 draft copies, verify passes
// of 3 to 7 rows, and a 45-row prefill chunk.
//
//	go test -run XXX -bench Forward ./model
//	D3_BENCH_THREADS=1 go test ...    # one worker instead of two
func BenchmarkForward(b *testing.B) {
	path := os.Getenv("D3_BENCH_MODEL")
	if path == "" {
		path = testutil.Shared(b, "models", "d3-tiny-layerdrop")
	}
	m, err := model.Load(path)
	if err != nil {
		b.Fatal(err)
	}
	pool := parallel.New(benchThreads())
	defer pool.Close()
	st := model.NewState(m, pool, 64)
	c := model.NewCache(&m.Config, 256)
	defer m.Close()
	for _, c := range []model.DraftCopy{model.DraftQ8, model.DraftQ4} {
		if _, err := m.PrepareDraft(c); err != nil {
			b.Fatal(err)
		}
	}
	mk := func(n, start int, plan depth.Plan) *model.Batch {
		bt := &model.Batch{Tokens: make([]int, n), Pos: make([]int, n), Caches: make([]*model.Cache, n), Plans: make([]depth.Plan, n)}
		for i := range bt.Pos {
			bt.Tokens[i], bt.Pos[i], bt.Caches[i], bt.Plans[i] = 200+i, start+i, c, plan
		}
		return bt
	}
	if err := st.Forward(mk(60, 0, nil)); err != nil {
		b.Fatal(err)
	}
	L := m.Config.NumLayers
	six := make(depth.Plan, L)
	for _, l := range []int{0, 1, 2, 13, 14, 15} {
		six[l] = true
	}
	for _, cs := range []struct {
		name string
		n    int
		plan depth.Plan
	}{{"step", 1, nil}, {"draft6", 1, six}, {"draft6q8", 1, six}, {"draft6q4", 1, six}, {"verify3", 3, nil}, {"verify4", 4, nil}, {"verify5", 5, nil}, {"verify7", 7, nil}, {"prefill45", 45, nil}} {
		b.Run(cs.name, func(b *testing.B) {
			bt := mk(cs.n, 60, cs.plan)
			switch cs.name {
			case "draft6q8":
				bt.Draft = []model.DraftCopy{model.DraftQ8}
			case "draft6q4":
				bt.Draft = []model.DraftCopy{model.DraftQ4}
			}
			for b.Loop() {
				c.Truncate(60)
				if err := st.Forward(bt); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "us/pass")
		})
	}
}

func benchThreads() int {
	if os.Getenv("D3_BENCH_THREADS") == "1" {
		return 1
	}
	return 2
}
