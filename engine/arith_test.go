package engine_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/d3-project/d3/depth"
	"github.com/d3-project/d3/engine"
	"github.com/d3-project/d3/internal/testutil"
	"github.com/d3-project/d3/model"
	"github.com/d3-project/d3/sample"
)

type arithProblem struct {
	Question string `json:"question"`
	Answer   string `json:"answer"`
}

type reference struct {
	Results []struct {
		Schedule struct {
			Name     string  `json:"name"`
			Kind     string  `json:"kind"`
			Alpha    float64 `json:"alpha"`
			Start    int     `json:"start"`
			CoreHead int     `json:"core_head"`
			CoreTail int     `json:"core_tail"`
			Order    string  `json:"order"`
		} `json:"schedule"`
		Accuracy   float64 `json:"accuracy"`
		Correct    int     `json:"correct"`
		MeanLayers float64 `json:"mean_layers"`
		Generated  [][]int `json:"generated"`
	} `json:"results"`
}

func readProblems(t *testing.T, n int) []arithProblem { return readProblemsB(t, n) }

func readProblemsB(t testing.TB, n int) []arithProblem {
	t.Helper()
	f, err := os.Open(testutil.Shared(t, "data", "arith", "test.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []arithProblem
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() && len(out) < n {
		var p arithProblem
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func readReference(t *testing.T, name string) *reference {
	t.Helper()
	data, err := os.ReadFile(testutil.Shared(t, "golden", name, "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r reference
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

// answerOf extracts the number after "####".
func answerOf(text string) string {
	i := strings.LastIndex(text, "####")
	if i < 0 {
		return ""
	}
	f := strings.Fields(text[i+4:])
	if len(f) == 0 {
		return ""
	}
	return strings.ReplaceAll(f[0], ",", "")
}

func problemCount() int {
	if testutil.Long() {
		return 500
	}
	return 100
}

// generateArith runs greedy generation (96 new tokens at most) over the
// problems in the reference prompt format, batched.
func generateArith(t *testing.T, e *engine.Engine, problems []arithProblem, opt engine.Options) []*engine.Result {
	t.Helper()
	prompts := make([][]int, len(problems))
	for i, p := range problems {
		prompts[i] = e.Model.Tokenizer.Encode("Question: "+p.Question+"\nAnswer:", true)
		if prompts[i][0] != 1 {
			t.Fatalf("prompt %d does not start with BOS: %v", i, prompts[i][:3])
		}
	}
	opt.MaxNew = 96
	opt.Sample = sample.Params{Temperature: 0, TopP: 1, RepeatPenalty: 1}
	res, err := e.GenerateBatch(context.Background(), prompts, opt, 16)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestArithFullDepth: greedy generations at full depth equal the PyTorch
// reference on the first 100 problems (all 500 in the long mode), for the
// Hugging Face checkpoints and every llama.cpp GGUF file of the model; on
// the checkpoints, every draft policy must match as often as plain decoding.
func TestArithFullDepth(t *testing.T) {
	type target struct {
		path, ref string
		drafting  bool // also check every draft policy (lossless depth skipping)
	}
	targets := []target{
		{filepath.Join("models", "d3-tiny"), "d3-tiny", true},
		{filepath.Join("models", "d3-tiny-layerdrop"), "d3-tiny-layerdrop", true},
	}
	for _, q := range []string{"bf16", "q8_0", "q4_0", "q4_k_m"} {
		targets = append(targets, target{filepath.Join("models", "gguf", "d3-tiny-layerdrop-"+q+".gguf"), "d3-tiny-layerdrop", false})
	}
	n := problemCount()
	for _, tg := range targets {
		t.Run(filepath.Base(tg.path), func(t *testing.T) {
			problems := readProblems(t, n)
			ref := readReference(t, tg.ref)
			m, err := model.Load(testutil.Shared(t, tg.path))
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			e := engine.New(m, 2, 0)
			defer e.Close()
			res := generateArith(t, e, problems, engine.Options{})
			same, correct, refCorrect := 0, 0, 0
			for i, r := range res {
				if slices.Equal(r.Tokens, ref.Results[0].Generated[i]) {
					same++
				} else if testing.Verbose() {
					t.Logf("problem %d differs:\n got %q", i, r.Text)
				}
				want := answerOf(problems[i].Answer)
				if answerOf(r.Text) == want {
					correct++
				}
				if answerOf(m.Tokenizer.Decode(ref.Results[0].Generated[i])) == want {
					refCorrect++
				}
			}
			t.Logf("%s: %d/%d identical to the reference, %d correct (reference %d)", tg.path, same, n, correct, refCorrect)
			minSame := n - 1
			if n == 500 {
				minSame = 497
			}
			if same < minSame {
				t.Errorf("%d/%d generations identical, want at least %d", same, n, minSame)
			}
			if d := correct - refCorrect; d > 2 || d < -2 {
				t.Errorf("%d correct, reference %d", correct, refCorrect)
			}
			if tg.drafting {
				checkDrafting(t, e, problems, ref, same)
			}
		})
	}
}

func fmtSscan(s string, n *int) (int, error) { return fmt.Sscan(s, n) }

// checkDrafting: greedy generation with every draft policy reproduces the
// reference on as many problems as plain full-depth greedy did (plainSame).
// On d3-tiny (no layer redundancy) most drafts are rejected, which exercises
// rollback on nearly every round; short rounds keep that affordable.
func checkDrafting(t *testing.T, e *engine.Engine, problems []arithProblem, ref *reference, plainSame int) {
	n := len(problems)
	s := depth.DefaultSchedule()
	s.Alpha = 0.95
	d3Planner, err := depth.NewPlanner(s, e.Model.Config.NumLayers)
	if err != nil {
		t.Fatal(err)
	}
	for _, pol := range []string{"d3,k=3", "static:6,k=3", "auto"} {
		p, err := engine.ParseDraftPolicy(pol)
		if err != nil {
			t.Fatal(err)
		}
		opt := engine.Options{Draft: p}
		if p.Kind == engine.DraftD3 {
			opt.Planner = d3Planner
		}
		res := generateArith(t, e, problems, opt)
		var st engine.DraftStats
		same := 0
		for i, r := range res {
			st.Drafted += r.Draft.Drafted
			st.Accepted += r.Draft.Accepted
			if slices.Equal(r.Tokens, ref.Results[0].Generated[i]) {
				same++
			}
		}
		t.Logf("--draft %s: %d/%d identical (plain %d); acceptance %d/%d", pol, same, n, plainSame, st.Accepted, st.Drafted)
		if same < plainSame {
			t.Errorf("--draft %s: %d identical to the reference, plain decoding %d", pol, same, plainSame)
		}
		if st.Drafted == 0 {
			t.Errorf("--draft %s drafted nothing", pol)
		}
	}
}
