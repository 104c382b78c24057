package model_test

import (
	"math"
	"slices"
	"testing"

	"github.com/d3-project/d3/internal/testutil"
	"github.com/d3-project/d3/model"
	"github.com/d3-project/d3/tensor"
)

// TestDraftCopies: the Q8_0 and Q4_0 draft copies of a bf16 checkpoint
// are built and used by draft rows (their logits differ from the model's
// but rank the same tokens first), a K-quant file gets no copy (its own
// weights are as small), and a row asking for a copy that was not built
// runs on the model's weights (one naming weights that do not exist is an
// error).
func TestDraftCopies(t *testing.T) {
	if !tensor.HasPacked(tensor.Q8_0) {
		t.Skip("no packed kernels on this machine: draft copies are not built")
	}
	m, err := model.Load(testutil.Shared(t, "models", "d3-tiny-layerdrop"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	pool := newPool()
	defer pool.Close()
	prompt := m.Tokenizer.Encode("Question: Tom has 6 toys and shares them equally among 2 cousins.\nAnswer:", true)
	logits := func(c model.DraftCopy) []float32 {
		st := model.NewState(m, pool, 64)
		cache := model.NewCache(&m.Config, 128)
		n := len(prompt)
		b := &model.Batch{Tokens: prompt, Pos: make([]int, n), Caches: make([]*model.Cache, n), Draft: make([]model.DraftCopy, n)}
		for i := range b.Pos {
			b.Pos[i], b.Caches[i], b.Draft[i] = i, cache, c
		}
		if err := st.Forward(b); err != nil {
			t.Fatal(err)
		}
		return slices.Clone(st.Logits(n - 1))
	}
	full := logits(model.DraftModel)
	if got := logits(model.DraftQ4); !slices.Equal(got, full) {
		t.Fatal("a Q4_0 draft row before the copy is built should run on the model's weights")
	}
	argmax := func(x []float32) int { return slices.Index(x, slices.Max(x)) }
	for _, c := range []model.DraftCopy{model.DraftQ8, model.DraftQ4} {
		n, err := m.PrepareDraft(c)
		if err != nil || n <= 0 {
			t.Fatalf("copy %d: %d bytes, %v", c, n, err)
		}
		got := logits(c)
		var d, s float64
		for i := range got {
			d += math.Abs(float64(got[i] - full[i]))
			s += math.Abs(float64(full[i]))
		}
		if d == 0 || d > 0.1*s || argmax(got) != argmax(full) {
			t.Errorf("copy %d: logits differ from the model's by %.3g of their size, argmax %d vs %d", c, d/s, argmax(got), argmax(full))
		}
	}
	bad := &model.Batch{Tokens: prompt[:1], Pos: []int{0}, Caches: []*model.Cache{model.NewCache(&m.Config, 8)}, Draft: []model.DraftCopy{9}}
	if err := model.NewState(m, pool, 1).Forward(bad); err == nil {
		t.Error("a row asking for unknown draft weights: no error")
	}
	q, err := model.Load(testutil.Shared(t, "models", "gguf", "d3-tiny-layerdrop-q4_k_m.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if n, err := q.PrepareDraft(model.DraftQ4); n != 0 || err != nil {
		t.Errorf("Q4_K_M file: a draft copy of %d bytes (%v), want none", n, err)
	}
}
