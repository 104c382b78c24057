package model_test

import (
	"math"
	"testing"

	"github.com/d3-project/d3/internal/testutil"
	"github.com/d3-project/d3/model"
)

// TestBatchedStepsMatchSingleSteps: one forward pass over k+1 consecutive
// positions (a drafting round's verify pass) gives the same logits, bit
// for bit, as k+1 single-row steps, and leaves the same K/V behind for the
// next step, on a bf16 checkpoint and on quantized GGUF files. Lossless
// drafting's "identical to plain decoding" rests on this, not on rounding
// luck.
func TestBatchedStepsMatchSingleSteps(t *testing.T) {
	for _, path := range [][]string{
		{"models", "d3-tiny-layerdrop"},
		{"models", "gguf", "d3-tiny-layerdrop-q8_0.gguf"},
		{"models", "gguf", "d3-tiny-layerdrop-q4_k_m.gguf"},
	} {
		t.Run(path[len(path)-1], func(t *testing.T) {
			m, err := model.Load(testutil.Shared(t, path...))
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			checkBatchedSteps(t, m)
		})
	}
}

func checkBatchedSteps(t *testing.T, m *model.Model) {
	pool := newPool()
	defer pool.Close()
	prompt := m.Tokenizer.Encode("Question: Tom has 6 toys and shares them equally among 2 cousins.\nAnswer:", true)
	next := []int{383, 1213, 4032, 29, 17, 9} // any ids: the steps after the prompt
	st := model.NewState(m, pool, 64)
	run := func(c *model.Cache, tokens []int, start int) [][]float32 {
		b := &model.Batch{Tokens: tokens, Pos: make([]int, len(tokens)), Caches: make([]*model.Cache, len(tokens))}
		for i := range tokens {
			b.Pos[i], b.Caches[i] = start+i, c
		}
		if err := st.Forward(b); err != nil {
			t.Fatal(err)
		}
		var out [][]float32
		for i := range tokens {
			out = append(out, append([]float32(nil), st.Logits(i)...))
		}
		return out
	}
	single := model.NewCache(&m.Config, 128)
	batched := model.NewCache(&m.Config, 128)
	run(single, prompt, 0)
	run(batched, prompt, 0)
	var want [][]float32
	for i, tok := range next[:5] {
		want = append(want, run(single, []int{tok}, len(prompt)+i)[0])
	}
	got := run(batched, next[:5], len(prompt))
	// One more single step on each cache: the K/V the batch wrote must
	// match what the single steps wrote.
	want = append(want, run(single, next[5:], len(prompt)+5)[0])
	got = append(got, run(batched, next[5:], len(prompt)+5)[0])
	for i := range want {
		for j := range want[i] {
			if math.Float32bits(got[i][j]) != math.Float32bits(want[i][j]) {
				t.Fatalf("position %d, logit %d: %g batched, %g one row at a time", len(prompt)+i, j, got[i][j], want[i][j])
			}
		}
	}
}
