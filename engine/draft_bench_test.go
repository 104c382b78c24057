package engine_test

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/d3-project/d3/depth"
	"github.com/d3-project/d3/engine"
	"github.com/d3-project/d3/internal/testutil"
	"github.com/d3-project/d3/model"
)

// BenchmarkArithDraft measures lossless drafting against plain greedy
// decoding on arithmetic test problems, one sequence at a time (the latency
// setting drafting is for). Each sub-benchmark reports decode tokens/s,
// acceptance, tokens per round and the wall-clock speed-up over plain
// decoding measured in the same run (and decode-speedup, the same without
// the prompts' prefill); outputs must equal plain decoding.
//
//	go test -run XXX -bench ArithDraft -benchtime 1x ./engine
//	D3_BENCH_MODEL=../shared/models/d3-tiny D3_BENCH_PROBLEMS=40 go test ...
//
// Every policy here drafts on the default Q4_0 copy of the weights but the
// auto-q8 and auto-model rows.
func BenchmarkArithDraft(b *testing.B) {
	path := os.Getenv("D3_BENCH_MODEL")
	if path == "" {
		path = testutil.Shared(b, "models", "d3-tiny-layerdrop")
	}
	n := 20
	if v := os.Getenv("D3_BENCH_PROBLEMS"); v != "" {
		if _, err := fmtSscan(v, &n); err != nil {
			b.Fatal(err)
		}
	}
	m, err := model.Load(path)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	e := engine.New(m, 2, 0)
	defer e.Close()
	problems := readProblemsB(b, n)
	var prompts [][]int
	for _, p := range problems {
		prompts = append(prompts, m.Tokenizer.Encode("Question: "+p.Question+"\nAnswer:", true))
	}
	generate := func(p []int, opt engine.Options) (*engine.Result, time.Duration) {
		opt.MaxNew, opt.Sample = 96, greedy
		start := time.Now()
		r, err := e.Generate(context.Background(), p, opt, nil)
		if err != nil {
			b.Fatal(err)
		}
		return r, time.Since(start)
	}
	// run times opt against plain decoding, alternating the two problem by
	// problem so that the machine's drift (this shared machine's speed
	// changes by 2x within minutes) falls on both sides of the ratio.
	run := func(opt engine.Options) (res, plain []*engine.Result, wall, plainWall time.Duration) {
		for _, p := range prompts {
			r, d := generate(p, engine.Options{})
			plain, plainWall = append(plain, r), plainWall+d
			r, d = generate(p, opt)
			res, wall = append(res, r), wall+d
		}
		return res, plain, wall, plainWall
	}
	run(engine.Options{})                                               // warm up
	for _, c := range []model.DraftCopy{model.DraftQ8, model.DraftQ4} { // built once per model, outside the timings
		if _, err := m.PrepareDraft(c); err != nil {
			b.Fatal(err)
		}
	}
	policies := []struct {
		name  string
		draft string
		alpha float64
	}{
		{"plain", "off", 1},
		{"d3-a0.98", "d3", 0.98}, {"d3-a0.97", "d3", 0.97}, {"d3-a0.95", "d3", 0.95}, {"d3-a0.9", "d3", 0.9},
		{"static10", "static:10", 1}, {"static8", "static:8", 1}, {"static6", "static:6", 1}, {"static5", "static:5", 1}, {"static4", "static:4", 1},
		{"auto", "auto", 1},
		// The draft weights auto can use instead of the default Q4_0 copy.
		{"auto-q8", "auto,weights=q8", 1}, {"auto-model", "auto,weights=model", 1},
	}
	for _, pc := range policies {
		b.Run(pc.name, func(b *testing.B) {
			pol, err := engine.ParseDraftPolicy(pc.draft)
			if err != nil {
				b.Fatal(err)
			}
			opt := engine.Options{Draft: pol}
			if pc.alpha < 1 {
				s := depth.DefaultSchedule()
				s.Alpha = pc.alpha
				opt.Planner, _ = depth.NewPlanner(s, m.Config.NumLayers)
			}
			var res, plain []*engine.Result
			var wall, plainWall time.Duration
			for i := 0; i < b.N; i++ {
				res, plain, wall, plainWall = run(opt)
			}
			tokens, same := 0, 0
			var st engine.DraftStats
			for i, r := range res {
				tokens += len(r.Tokens)
				if slices.Equal(r.Tokens, plain[i].Tokens) {
					same++
				}
				st.Rounds += r.Draft.Rounds
				st.Drafted += r.Draft.Drafted
				st.Accepted += r.Draft.Accepted
				st.DraftLayers += r.Draft.DraftLayers
			}
			if same != len(res) {
				b.Errorf("%s: %d/%d outputs equal plain decoding", pc.name, same, len(res))
			}
			// Prefill is the same work on both sides; without it the ratio
			// is drafting's effect on decoding alone.
			var prefill, plainPrefill time.Duration
			for i := range res {
				prefill += res[i].PrefillTime
				plainPrefill += plain[i].PrefillTime
			}
			b.ReportMetric(float64(tokens)/wall.Seconds(), "tokens/s")
			b.ReportMetric(plainWall.Seconds()/wall.Seconds(), "speedup")
			b.ReportMetric((plainWall-plainPrefill).Seconds()/(wall-prefill).Seconds(), "decode-speedup")
			if st.Drafted > 0 {
				b.ReportMetric(float64(st.Accepted)/float64(st.Drafted), "acceptance")
				b.ReportMetric(float64(st.Accepted+st.Rounds)/float64(st.Rounds), "tokens/round")
				b.ReportMetric(float64(st.DraftLayers)/float64(st.Drafted), "draft-layers")
			}
		})
	}
}
