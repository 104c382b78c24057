package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/d3-project/d3/internal/testutil"
)

func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return o.String(), e.String(), code
}

const arithPrompt = `Question: Ivy buys 11 trays of crayons. Each of the trays holds 17 crayons. She uses 51 of them. How many crayons are left?\nAnswer:`

func TestGenerateDefaultModel(t *testing.T) {
	out, errOut, code := runCLI(t, "generate", "-p", arithPrompt)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "187 - 51 = 136") || !strings.Contains(out, "#### 136") {
		t.Fatalf("unexpected output %q", out)
	}
}

func TestGenerateJSON(t *testing.T) {
	out, errOut, code := runCLI(t, "generate", "--json", "-n", "64", "--d3-alpha", "0.99", "-p", arithPrompt)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var r struct {
		PromptTokens []int              `json:"prompt_tokens"`
		Tokens       []int              `json:"tokens"`
		Text         string             `json:"text"`
		FinishReason string             `json:"finish_reason"`
		Layers       []int              `json:"layers"`
		Timing       map[string]float64 `json:"timing"`
		D3           map[string]float64 `json:"d3"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("bad JSON %q: %v", out, err)
	}
	if r.PromptTokens[0] != 1 || r.FinishReason != "stop" || !strings.HasSuffix(r.Text, "#### 136") {
		t.Fatalf("unexpected result %+v", r)
	}
	// EOS ends the generation: one layer count per generated token plus EOS.
	if len(r.Layers) != len(r.Tokens)+1 || r.Layers[0] != 16 || r.Layers[1] != 15 {
		t.Fatalf("layers %v for %d tokens", r.Layers, len(r.Tokens))
	}
	sum := 0
	for _, l := range r.Layers {
		sum += l
	}
	mean := float64(sum) / float64(len(r.Layers))
	if d := r.D3["mean_layers"] - mean; d > 1e-9 || d < -1e-9 || r.D3["layer_speedup"] <= 1 || r.D3["flops_ratio"] >= 1 || r.D3["flops_ratio"] <= 0.5 {
		t.Fatalf("d3 block %v (mean layers %.3f)", r.D3, mean)
	}
	for _, k := range []string{"prefill_ms", "decode_ms", "decode_tokens_per_s"} {
		if r.Timing[k] <= 0 {
			t.Fatalf("timing %s = %v", k, r.Timing[k])
		}
	}
}

func TestGenerateLayerPlanAndProfile(t *testing.T) {
	dir := t.TempDir()
	plan := filepath.Join(dir, "plan.json")
	os.WriteFile(plan, []byte(`[[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15],[0,1,14,15],[0,1,2,13,14,15]]`), 0o644)
	out, errOut, code := runCLI(t, "generate", "--json", "-n", "5", "--layer-plan", plan, "-p", arithPrompt)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var r struct{ Layers []int }
	json.Unmarshal([]byte(out), &r)
	if !slices.Equal(r.Layers, []int{16, 4, 6, 16, 16}) {
		t.Fatalf("layers %v", r.Layers)
	}
	prof := filepath.Join(dir, "p.json")
	os.WriteFile(prof, []byte(`{"name":"x","schedule":{"alpha":1,"keep":10,"core_head":2,"core_tail":2,"order":"middle","kv":"none"}}`), 0o644)
	out, errOut, code = runCLI(t, "generate", "--json", "-n", "4", "--d3-profile", prof, "-p", arithPrompt)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	json.Unmarshal([]byte(out), &r)
	if !slices.Equal(r.Layers, []int{16, 10, 10, 10}) {
		t.Fatalf("profile layers %v", r.Layers)
	}
	// An explicit flag overrides the profile.
	out, _, _ = runCLI(t, "generate", "--json", "-n", "3", "--d3-profile", prof, "--d3-keep", "12", "-p", arithPrompt)
	json.Unmarshal([]byte(out), &r)
	if !slices.Equal(r.Layers, []int{16, 12, 12}) {
		t.Fatalf("override layers %v", r.Layers)
	}
}

func TestCLIErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.gguf")
	os.WriteFile(bad, []byte("GGUF\x03\x00\x00\x00garbage"), 0o644)
	plan := filepath.Join(dir, "plan.json")
	os.WriteFile(plan, []byte(`[[0,1,16]]`), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"generate"}, "no prompt"},
		{[]string{"generate", "-p", "x", "-f", "y"}, "either -p or -f"},
		{[]string{"generate", "-p", "x", "--d3-alpha", "1.5"}, "alpha"},
		{[]string{"generate", "-p", "x", "--d3-alpha", "0"}, "alpha"},
		{[]string{"generate", "-p", "x", "--d3-order", "sideways"}, "order"},
		{[]string{"generate", "-p", "x", "--d3-core-head", "10", "--d3-core-tail", "10"}, "core"},
		{[]string{"generate", "-p", "x", "--layer-plan", plan}, "16"},
		{[]string{"generate", "-p", "x", "--draft", "sometimes"}, "draft"},
		{[]string{"generate", "-p", "x", "--temp", "-1"}, "emperature"},
		{[]string{"generate", "-p", "x", "-m", bad}, "bad.gguf"},
		{[]string{"generate", "-p", "x", "-m", filepath.Join(dir, "missing")}, "missing"},
		{[]string{"logits", "--tokens", "1,x"}, "not an integer"},
		{[]string{"logits", "--tokens", "1,999999"}, "vocabulary"},
		{[]string{"tokenize"}, "TEXT"},
		{[]string{"tokenize", "--tokenizer", bad, "hi"}, "bad.gguf"},
	} {
		_, errOut, code := runCLI(t, c.args...)
		if code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q (want it to mention %q)", c.args, code, errOut, c.want)
		}
	}
	if _, _, code := runCLI(t, "nonsense"); code != 2 {
		t.Errorf("unknown command: exit %d", code)
	}
	for _, cmd := range []string{"generate", "tokenize", "logits", "info"} {
		if _, errOut, code := runCLI(t, cmd, "--help"); code != 0 || !strings.Contains(errOut, "Usage: d3 "+cmd) {
			t.Errorf("%s --help: exit %d, %q", cmd, code, errOut)
		}
	}
}

func TestTokenizeAndInfo(t *testing.T) {
	out, errOut, code := runCLI(t, "tokenize", "--json", "--add-special", "Answer: 12\n")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var r struct{ IDs []int }
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.IDs[0] != 1 || r.IDs[len(r.IDs)-1] != 3 {
		t.Fatalf("ids %v (%v)", r.IDs, err)
	}
	// The same text through the HF tokenizer.model gives the same ids.
	out2, _, code := runCLI(t, "tokenize", "--json", "--add-special", "--tokenizer", testutil.Shared(t, "models", "d3-tiny", "tokenizer.model"), "Answer: 12\n")
	if code != 0 || strings.TrimSpace(out2) != strings.TrimSpace(out) {
		t.Fatalf("tokenizer.model ids %s, GGUF ids %s", out2, out)
	}
	out, errOut, code = runCLI(t, "info")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"llama", "layers:           16", "Q8_0", "sentencepiece", "context length:   512", "4096"} {
		if !strings.Contains(out, want) {
			t.Errorf("info lacks %q:\n%s", want, out)
		}
	}
}

// d3 logits on a golden tiny checkpoint matches the transformers logits.
func TestLogitsGolden(t *testing.T) {
	dir := testutil.Shared(t, "golden", "tiny", "tiny-llama")
	data, err := os.ReadFile(filepath.Join(dir, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Cases []struct {
			Kind   string
			Tokens []int
			Logits [][]float64
		}
	}
	json.Unmarshal(data, &g)
	c := g.Cases[0]
	var ids []string
	for _, id := range c.Tokens {
		ids = append(ids, strconv.Itoa(id))
	}
	out, errOut, code := runCLI(t, "logits", "-m", dir, "--json", "--tokens", strings.Join(ids, ","))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var r struct{ Logits [][]float64 }
	if err := json.Unmarshal([]byte(out), &r); err != nil || len(r.Logits) != len(c.Logits) {
		t.Fatalf("logits JSON: %v, %d rows", err, len(r.Logits))
	}
	for i := range r.Logits {
		var num, den float64
		for j, v := range c.Logits[i] {
			num += (r.Logits[i][j] - v) * (r.Logits[i][j] - v)
			den += v * v
		}
		if num/den > 1e-8 {
			t.Fatalf("position %d: rel err² %.3g", i, num/den)
		}
	}
}

// A model with fewer layers than the default D³ core (2 + 2) still runs at
// full depth; asking it for depth decay is a clear error.
func TestShallowModelFullDepth(t *testing.T) {
	out := filepath.Join(t.TempDir(), "two.gguf")
	if _, errOut, code := runCLI(t, "synth", "--shape", "custom:hidden=256,layers=2,heads=4,kv-heads=2,ffn=512,vocab=1024,ctx=256", "--type", "q8_0", "-o", out); code != 0 {
		t.Fatalf("synth: %s", errOut)
	}
	if _, errOut, code := runCLI(t, "generate", "-m", out, "-n", "3", "-p", "hello"); code != 0 {
		t.Fatalf("full depth on 2 layers: exit %d: %s", code, errOut)
	}
	if _, errOut, code := runCLI(t, "generate", "-m", out, "-n", "3", "--d3-alpha", "0.9", "-p", "hello"); code == 0 || !strings.Contains(errOut, "core") {
		t.Fatalf("decay on 2 layers: exit %d: %q", code, errOut)
	}
}

func TestBenchDraft(t *testing.T) {
	out, errOut, code := runCLI(t, "bench", "-p", "0", "-n", "16", "-r", "1", "--draft", "static:8", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var r struct {
		Measured *float64 `json:"measured_speedup"`
		Draft    *struct {
			Drafted, Accepted int
		} `json:"draft"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.Draft == nil || r.Draft.Drafted == 0 || r.Measured == nil {
		t.Fatalf("bench --draft JSON %s (%v)", out, err)
	}
}
