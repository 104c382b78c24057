package engine_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/d3-project/d3/defaultmodel"
	"github.com/d3-project/d3/depth"
	"github.com/d3-project/d3/engine"
	"github.com/d3-project/d3/model"
	"github.com/d3-project/d3/sample"
)

var greedy = sample.Params{Temperature: 0, TopP: 1, RepeatPenalty: 1}

func bundled(t *testing.T) *engine.Engine {
	t.Helper()
	m, err := model.LoadGGUFBytes(defaultmodel.Name, defaultmodel.GGUF)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	e := engine.New(m, 2, 0)
	t.Cleanup(e.Close)
	return e
}

var questions = []string{
	"Maya has 25 ribbons and shares them equally among 5 friends. One of them already had 5 ribbons. How many ribbons does that one have now?",
	"Ivy buys 11 trays of crayons. Each of the trays holds 17 crayons. She uses 51 of them. How many crayons are left?",
	"One of the rocks costs $13. Yusuf buys 8 of them and pays with $147. How much change does Yusuf get?",
	"Paul has 22 crayons. He buys 37 more crayons. Then he gives 1 crayons to Kira. How many crayons does Paul have now?",
	"Maya reads 9 pages every hour and reads for 2 hours each day. How many pages does Maya read in 3 days?",
}

func prompts(e *engine.Engine) [][]int {
	var out [][]int
	for _, q := range questions {
		out = append(out, e.Model.Tokenizer.Encode("Question: "+q+"\nAnswer:", true))
	}
	return out
}

func planner(t *testing.T, s depth.Schedule) *depth.Planner {
	p, err := depth.NewPlanner(s, 16)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Batched decoding (rows at different positions with their own plans) and
// the concurrent scheduler give exactly what one-at-a-time decoding gives.
func TestBatchAndSchedulerMatchSingle(t *testing.T) {
	e := bundled(t)
	decay := depth.DefaultSchedule()
	decay.Alpha = 0.98
	for _, opt := range []engine.Options{
		{MaxNew: 64, Sample: greedy},
		{MaxNew: 64, Sample: greedy, Planner: planner(t, decay)},
	} {
		ps := prompts(e)
		var single []*engine.Result
		for _, p := range ps {
			r, err := e.Generate(context.Background(), p, opt, nil)
			if err != nil {
				t.Fatal(err)
			}
			single = append(single, r)
		}
		batch, err := e.GenerateBatch(context.Background(), ps, opt, 3)
		if err != nil {
			t.Fatal(err)
		}
		s := engine.NewScheduler(e, 2, 16)
		conc := make([]*engine.Result, len(ps))
		var wg sync.WaitGroup
		for i, p := range ps {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := s.Submit(context.Background(), p, opt, nil)
				if err != nil {
					t.Error(err)
				}
				conc[i] = r
			}()
		}
		wg.Wait()
		s.Close()
		for i := range ps {
			if !strings.Contains(single[i].Text, "####") {
				t.Errorf("prompt %d: no answer in %q", i, single[i].Text)
			}
			for name, r := range map[string]*engine.Result{"batch": batch[i], "scheduler": conc[i]} {
				if r == nil || !slices.Equal(r.Tokens, single[i].Tokens) || r.Text != single[i].Text || !slices.Equal(r.Layers, single[i].Layers) {
					t.Errorf("prompt %d: %s result differs from single decoding", i, name)
				}
			}
		}
	}
}

func TestStopStringsAndStreaming(t *testing.T) {
	e := bundled(t)
	p := prompts(e)[0]
	full, err := e.Generate(context.Background(), p, engine.Options{MaxNew: 60, Sample: greedy}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if full.FinishReason != "stop" || !strings.Contains(full.Text, "\n#### 10") {
		t.Fatalf("unexpected full output %q (%s)", full.Text, full.FinishReason)
	}
	var streamed strings.Builder
	r, err := e.Generate(context.Background(), p, engine.Options{MaxNew: 60, Sample: greedy, Stop: []string{"####", "zzz"}}, func(s string) error {
		streamed.WriteString(s)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := full.Text[:strings.Index(full.Text, "####")]
	if r.Text != want || streamed.String() != want || r.FinishReason != "stop" {
		t.Fatalf("stop: text %q streamed %q reason %s, want %q", r.Text, streamed.String(), r.FinishReason, want)
	}
	// Max tokens.
	r, err = e.Generate(context.Background(), p, engine.Options{MaxNew: 3, Sample: greedy}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Tokens) != 3 || r.FinishReason != "length" || !slices.Equal(r.Tokens, full.Tokens[:3]) {
		t.Fatalf("max tokens: %v %s", r.Tokens, r.FinishReason)
	}
	// A callback error stops generation and is returned.
	boom := errors.New("client gone")
	_, err = e.Generate(context.Background(), p, engine.Options{MaxNew: 60, Sample: greedy}, func(string) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("callback error: got %v", err)
	}
}

func TestContextLimits(t *testing.T) {
	m, err := model.LoadGGUFBytes(defaultmodel.Name, defaultmodel.GGUF)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	e := engine.New(m, 1, 48)
	defer e.Close()
	p := e.Model.Tokenizer.Encode("Question: "+questions[0]+"\nAnswer:", true)
	r, err := e.Generate(context.Background(), p, engine.Options{Sample: greedy}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Prompt plus generated tokens fill the context exactly.
	if r.FinishReason != "length" || len(p)+len(r.Tokens) != 48 {
		t.Fatalf("context end: %d prompt + %d generated, reason %s", len(p), len(r.Tokens), r.FinishReason)
	}
	long := make([]int, 49)
	for i := range long {
		long[i] = 5
	}
	if _, err := e.Generate(context.Background(), long, engine.Options{Sample: greedy}, nil); !errors.Is(err, engine.ErrPromptTooLong) {
		t.Fatalf("long prompt: got %v", err)
	}
}

func TestSamplingSeeded(t *testing.T) {
	e := bundled(t)
	// Prose: the arithmetic answers are too certain to show sampling.
	p := e.Model.Tokenizer.Encode("The old man walked", true)
	opt := engine.Options{MaxNew: 30, Sample: sample.Params{Temperature: 1.2, TopK: 50, TopP: 0.95, RepeatPenalty: 1, Seed: 7}}
	a, err := e.Generate(context.Background(), p, opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := e.Generate(context.Background(), p, opt, nil)
	if !slices.Equal(a.Tokens, b.Tokens) {
		t.Fatal("same seed gave different tokens")
	}
	differ := false
	for seed := uint64(8); seed < 14 && !differ; seed++ {
		opt.Sample.Seed = seed
		c, _ := e.Generate(context.Background(), p, opt, nil)
		differ = !slices.Equal(a.Tokens, c.Tokens)
	}
	if !differ {
		t.Fatal("six other seeds all gave the same tokens at temperature 1.2")
	}
}

func TestSchedulerCancelFreesSlot(t *testing.T) {
	e := bundled(t)
	s := engine.NewScheduler(e, 1, 1)
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	var once sync.Once
	errc := make(chan error, 1)
	go func() {
		_, err := s.Submit(ctx, prompts(e)[0], engine.Options{Sample: greedy, IgnoreEOS: true, MaxNew: 100000}, func(string) error {
			once.Do(func() { close(started) })
			return nil
		})
		errc <- err
	}()
	<-started
	if a, _ := s.Stats(); a != 1 {
		t.Fatalf("active = %d, want 1", a)
	}
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("cancelled request did not return")
	}
	if a, q := s.Stats(); a != 0 || q != 0 {
		t.Fatalf("after cancel: active %d queued %d", a, q)
	}
	// The slot is free: a new request runs.
	r, err := s.Submit(context.Background(), prompts(e)[3], engine.Options{MaxNew: 64, Sample: greedy}, nil)
	if err != nil || !strings.Contains(r.Text, "####") {
		t.Fatalf("after cancel: %v %v", r, err)
	}
}

func TestGenerateEachReportsEveryPrompt(t *testing.T) {
	e := bundled(t)
	ps := prompts(e)
	seen := map[int]*engine.Result{}
	res, err := e.GenerateEach(context.Background(), ps, engine.Options{MaxNew: 30, Sample: greedy}, 2, func(i int, r *engine.Result) error {
		if seen[i] != nil {
			t.Errorf("prompt %d reported twice", i)
		}
		seen[i] = r
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range ps {
		if seen[i] == nil || seen[i] != res[i] {
			t.Errorf("prompt %d: reported %p, result %p", i, seen[i], res[i])
		}
	}
	stop := errors.New("enough")
	_, err = e.GenerateEach(context.Background(), ps, engine.Options{MaxNew: 30, Sample: greedy}, 2, func(int, *engine.Result) error { return stop })
	if !errors.Is(err, stop) {
		t.Fatalf("callback error: %v", err)
	}
}
