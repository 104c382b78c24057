package bench

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/d3-project/d3/defaultmodel"
	"github.com/d3-project/d3/engine"
	"github.com/d3-project/d3/model"
)

func TestSummarize(t *testing.T) {
	// Hand-computed: mean 5, sample variance ((−3)²+(−1)²+1²+3²)/3 = 20/3.
	s := Summarize([]float64{8, 2, 6, 4})
	if s.Mean != 5 || math.Abs(s.Stddev-math.Sqrt(20.0/3)) > 1e-12 || s.Median != 5 || s.Min != 2 || s.Max != 8 {
		t.Errorf("Summarize = %+v", s)
	}
	s = Summarize([]float64{3, 1, 2})
	if s.Median != 2 || s.Mean != 2 || s.Stddev != 1 {
		t.Errorf("odd count: %+v", s)
	}
	if s := Summarize([]float64{7}); s.Stddev != 0 || s.Median != 7 {
		t.Errorf("one sample: %+v", s)
	}
}

func TestRunErrors(t *testing.T) {
	m, err := model.LoadGGUFBytes("default", defaultmodel.GGUF)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	e := engine.New(m, 1, 16)
	defer e.Close()
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Prompt: -1, Gen: 1, Reps: 1}, "negative"},
		{Config{Reps: 1}, "nothing to measure"},
		{Config{Prompt: 4, Reps: 0}, "at least 1"},
		{Config{Prompt: 16, Reps: 1}, "context of 17 positions"},
	} {
		if _, err := Run(context.Background(), e, c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.cfg, err, c.want)
		}
	}
	r, err := Run(context.Background(), e, Config{Prompt: 15, Gen: 14, Reps: 2, NoWarmup: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.Prefill == nil || len(r.Prefill.Samples) != 2 || r.Decode == nil || len(r.Decode.Samples) != 2 || r.D3Decode != nil {
		t.Errorf("report %+v", r)
	}
}

func TestPeakRSS(t *testing.T) {
	big := make([]byte, 64<<20)
	for i := range big {
		big[i] = 1
	}
	if got := PeakRSS(); got < 64<<20 {
		t.Errorf("PeakRSS = %d after touching 64 MiB", got)
	}
	_ = big[len(big)-1]
}
