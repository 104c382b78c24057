package eval

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/d3-project/d3/depth"
	"github.com/d3-project/d3/engine"
	"github.com/d3-project/d3/internal/testutil"
	"github.com/d3-project/d3/model"
)

// The PyTorch references of ../shared/golden: greedy generations of the
// arithmetic test set under the 19 D³ schedules (reference.json) and the
// uniform baseline (uniform.json).

type refSchedule struct {
	Name     string  `json:"name"`
	Kind     string  `json:"kind"`
	Alpha    float64 `json:"alpha"`
	Start    int     `json:"start"`
	CoreHead int     `json:"core_head"`
	CoreTail int     `json:"core_tail"`
	Order    string  `json:"order"`
	Keep     int     `json:"keep"`
}

type refResult struct {
	Schedule   refSchedule `json:"schedule"`
	Accuracy   float64     `json:"accuracy"`
	Correct    int         `json:"correct"`
	N          int         `json:"n"`
	MeanLayers float64     `json:"mean_layers"`
	Generated  [][]int     `json:"generated"`
}

type refFile struct {
	Results []refResult `json:"results"`
}

func readRefFile(t testing.TB, name ...string) *refFile {
	t.Helper()
	data, err := os.ReadFile(testutil.Shared(t, name...))
	if err != nil {
		t.Fatal(err)
	}
	var r refFile
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

// schedule converts a reference schedule to ours.
func (s refSchedule) schedule(t testing.TB) depth.Schedule {
	t.Helper()
	d := depth.DefaultSchedule()
	switch s.Kind {
	case "full":
		return d
	case "d3":
		d.Alpha, d.Start = s.Alpha, s.Start
	case "uniform":
		d.Keep = s.Keep
	default:
		t.Fatalf("reference schedule %s: unknown kind %q", s.Name, s.Kind)
	}
	o, err := depth.ParseOrder(s.Order)
	if err != nil {
		t.Fatal(err)
	}
	d.Order, d.CoreHead, d.CoreTail = o, s.CoreHead, s.CoreTail
	return d
}

// RefCheck is the acceptance of a run against a reference on the same
// problems: the share of identical generations, correct answers within
// ±1.5 points (the reference's generations scored by our scorer) and mean
// layers within ±0.1 (the reference's generations counted by the rule).
type refCheck struct {
	Same, Correct, RefCorrect int
	MeanLayers, RefMeanLayers float64
}

// compareWithReference compares res (items in reference order, the first
// len(res.Items) problems) with ref under schedule s.
func compareWithReference(t testing.TB, tok interface{ Decode([]int) string }, task Task, res *Result, ref *refResult, s depth.Schedule, numLayers, maxNew int) refCheck {
	t.Helper()
	items := task.Items()
	var c refCheck
	var refLayers, refTokens int
	for i, it := range res.Items {
		want := ref.Generated[i]
		if slices.Equal(it.IDs, want) {
			c.Same++
		}
		if it.Correct {
			c.Correct++
		}
		if task.Score(&items[i], tok.Decode(want)).Correct {
			c.RefCorrect++
		}
		// The reference cuts EOS; a generation shorter than the limit
		// ended with one, which counts as a generated token.
		n := len(want)
		if n < maxNew {
			n++
		}
		for k := 0; k < n; k++ {
			refLayers += s.KeepCount(numLayers, k)
		}
		refTokens += n
	}
	c.MeanLayers = res.MeanLayers
	c.RefMeanLayers = float64(refLayers) / float64(refTokens)
	return c
}

// check applies the acceptance thresholds.
func (c refCheck) check(t testing.TB, n int, refAccuracy float64) {
	t.Helper()
	minShare := 0.95
	if refAccuracy >= 0.9 {
		minShare = 0.98
	}
	if float64(c.Same) < minShare*float64(n)-1e-9 {
		t.Errorf("%d/%d generations identical to the reference, want at least %.0f %%", c.Same, n, 100*minShare)
	}
	if d := math.Abs(float64(c.Correct-c.RefCorrect)) * 100 / float64(n); d > 1.5 {
		t.Errorf("%d correct, the reference's generations score %d: %.2f points apart, want at most 1.5", c.Correct, c.RefCorrect, d)
	}
	if d := math.Abs(c.MeanLayers - c.RefMeanLayers); d > 0.1 {
		t.Errorf("mean layers %.3f, reference %.3f", c.MeanLayers, c.RefMeanLayers)
	}
}

// CoveredByCommand lists the schedules whose reference comparison runs
// through `d3 eval` itself on 200 problems (cmd/d3 TestEvalArithReference),
// so this package's test leaves them out in CI rather than run them twice.
var coveredByCommand = []string{"full", "d3-middle-a0.99", "d3-back-a0.98"}

// TestReferenceSchedules reproduces the PyTorch reference generations of
// every schedule of golden/<model>/reference.json (and, for the layer-drop
// model, the uniform baseline of uniform.json) on the first 100 arithmetic
// test problems, all 500 in the long mode: at least 95 % identical
// generations (98 % where the reference scores 90 % or more), correct
// answers within ±1.5 points and mean layers within ±0.1.
func TestReferenceSchedules(t *testing.T) {
	n := 100
	if testutil.Long() {
		n = 500
	}
	for _, name := range []string{"d3-tiny-layerdrop", "d3-tiny"} {
		t.Run(name, func(t *testing.T) {
			refs := readRefFile(t, "golden", name, "reference.json").Results
			if name == "d3-tiny-layerdrop" {
				refs = append(refs, readRefFile(t, "golden", name, "uniform.json").Results...)
			}
			m, err := model.Load(testutil.Shared(t, "models", name))
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			e := engine.New(m, 0, 0)
			defer e.Close()
			task, err := LoadArith(Options{Data: testutil.Shared(t, "data", "arith", "test.jsonl"), Limit: n, Shots: -1})
			if err != nil {
				t.Fatal(err)
			}
			L := m.Config.NumLayers
			for i := range refs {
				ref := &refs[i]
				if !testutil.Long() && slices.Contains(coveredByCommand, ref.Schedule.Name) {
					continue
				}
				t.Run(ref.Schedule.Name, func(t *testing.T) {
					s := ref.Schedule.schedule(t)
					setting, err := ScheduleSetting("", s, L)
					if err != nil {
						t.Fatal(err)
					}
					start := time.Now()
					res, err := Run(context.Background(), e, task, task.Items(), setting, Config{Rows: 100})
					if err != nil {
						t.Fatal(err)
					}
					c := compareWithReference(t, m.Tokenizer, task, res, ref, s, L, ArithMaxNew)
					t.Logf("%s: %d/%d identical, %d correct (reference %d), mean layers %.3f (reference %.3f), %.1fs",
						setting.Name, c.Same, n, c.Correct, c.RefCorrect, c.MeanLayers, c.RefMeanLayers, time.Since(start).Seconds())
					c.check(t, n, ref.Accuracy)
					if n == 500 {
						// On the whole set the rule's count of the reference
						// generations and our scorer must give the file's own
						// numbers.
						if math.Abs(c.RefMeanLayers-ref.MeanLayers) > 1e-9 || c.RefCorrect != ref.Correct {
							t.Errorf("reference recount: mean layers %.6f correct %d, file says %.6f and %d",
								c.RefMeanLayers, c.RefCorrect, ref.MeanLayers, ref.Correct)
						}
					}
				})
			}
		})
	}
}
