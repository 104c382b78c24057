package eval

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Missing or malformed data is an error that names the file and the line.
func TestDataErrors(t *testing.T) {
	dir := t.TempDir()
	good := `{"question": "A?", "answer": "x\n#### 1"}`
	cases := []struct {
		name, body, want string
	}{
		{"syntax.jsonl", good + "\n{\"question\": \"B?\", \"answer\": \n", "syntax.jsonl:2"},
		{"noq.jsonl", good + "\n\n{\"answer\": \"#### 2\"}\n", `noq.jsonl:3: missing "question"`},
		{"noanswer.jsonl", `{"question": "A?", "answer": "no marker"}`, `noanswer.jsonl:1: answer has no number after "####"`},
		{"unknown.jsonl", `{"question": "A?", "answer": "#### 1", "extra": 1}`, `unknown.jsonl:1: json: unknown field "extra"`},
		{"trailing.jsonl", good + ` {"x": 1}`, "trailing.jsonl:1: trailing data"},
		{"empty.jsonl", "\n\n", "empty.jsonl: no items"},
		{"type.jsonl", `{"question": 5, "answer": "#### 1"}`, "type.jsonl:1"},
	}
	for _, tc := range cases {
		p := writeFile(t, dir, tc.name, tc.body)
		_, err := Load("arith", Options{Data: p, Shots: -1})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to mention %q", tc.name, err, tc.want)
		}
	}
	if _, err := Load("arith", Options{Data: filepath.Join(dir, "missing.jsonl")}); err == nil || !strings.Contains(err.Error(), "missing.jsonl") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Load("arith", Options{Data: dir}); err == nil || !strings.Contains(err.Error(), "test.jsonl") {
		t.Errorf("directory without test.jsonl: %v", err)
	}
	if _, err := Load("arith", Options{}); err == nil || !strings.Contains(err.Error(), "no data") {
		t.Errorf("no data: %v", err)
	}
	if _, err := Load("mmlu", Options{Data: dir}); err == nil || !strings.Contains(err.Error(), "unknown task") {
		t.Errorf("unknown task: %v", err)
	}
	if _, err := Load("arith", Options{Data: dir, Subtasks: []string{"x"}}); err == nil {
		t.Error("arith with subtasks: no error")
	}

	// GSM8K: the exemplar file must exist and parse.
	gdir := filepath.Join(dir, "g")
	writeFile(t, gdir, "test.jsonl", good+"\n")
	if _, err := Load("gsm8k", Options{Data: gdir, Shots: -1}); err == nil || !strings.Contains(err.Error(), "gsm8k-cot.yaml not found") {
		t.Errorf("gsm8k without exemplars: %v", err)
	}
	writeFile(t, gdir, "gsm8k-cot.yaml", "fewshot_config:\n  samples:\n  - question: [1, 2]\n")
	if _, err := Load("gsm8k", Options{Data: gdir, Shots: -1}); err == nil || !strings.Contains(err.Error(), "gsm8k-cot.yaml:3") {
		t.Errorf("gsm8k with a bad YAML: %v", err)
	}
	writeFile(t, gdir, "gsm8k-cot.yaml", "fewshot_config:\n  samples:\n  - question: Q1\n    target: A1\n  - question: Q2\n")
	if _, err := Load("gsm8k", Options{Data: gdir, Shots: -1}); err == nil || !strings.Contains(err.Error(), "gsm8k-cot.yaml:5: exemplar without") {
		t.Errorf("gsm8k exemplar without target: %v", err)
	}
	writeFile(t, gdir, "gsm8k-cot.yaml", "fewshot_config:\n  samples:\n  - question: Q1\n    target: A1\n")
	if task, err := Load("gsm8k", Options{Data: gdir, Shots: 1}); err != nil || task.Items()[0].Prompt != "Q: Q1\nA: A1\n\nQ: A?\nA:" {
		t.Errorf("gsm8k from a minimal YAML: %v %q", err, task.Items()[0].Prompt)
	}

	// BBH: malformed task JSON names its line.
	bdir := filepath.Join(dir, "bbh")
	writeFile(t, bdir, "cot-prompts/t.txt", "canary\n-----\nDescribe.\n\nQ: q1\nA: Let's think step by step. So the answer is x.")
	writeFile(t, bdir, "tasks/t.json", "{\"examples\": [\n{\"input\": \"i\", \"target\": \"t\"},\n{\"input\": }\n]}")
	if _, err := Load("bbh", Options{Data: bdir, Shots: -1}); err == nil || !strings.Contains(err.Error(), "t.json:3") {
		t.Errorf("bbh malformed task: %v", err)
	}
	writeFile(t, bdir, "tasks/t.json", `{"examples": [{"input": "i", "target": "t"}]}`)
	task, err := Load("bbh", Options{Data: dir, Shots: -1}) // the parent directory works too
	if err != nil {
		t.Fatal(err)
	}
	if got, want := task.Items()[0].Prompt, "Describe.\n\nQ: q1\nA: Let's think step by step. So the answer is x.\n\nQ: i\nA: Let's think step by step."; got != want {
		t.Errorf("bbh prompt %q, want %q", got, want)
	}
	os.Remove(filepath.Join(bdir, "cot-prompts", "t.txt"))
	if _, err := Load("bbh", Options{Data: bdir, Shots: -1}); err == nil || !strings.Contains(err.Error(), "t.txt") {
		t.Errorf("bbh without its prompt file: %v", err)
	}
}

func TestYAMLSubset(t *testing.T) {
	src := `# comment
a: plain value
b: 'single ''quoted''

  second paragraph'
c: "double \"q\"\n"
folded: first
  second line

  after blank
list:
- x
- 'y'
nested:
  - k: v
    k2: |
`
	_, err := parseYAML("f.yaml", []byte(src))
	if err == nil || !strings.Contains(err.Error(), "f.yaml:16: block scalars") {
		t.Fatalf("block scalar: error %v", err)
	}
	root, err := parseYAML("f.yaml", []byte(strings.Replace(src, "k2: |", "k2: w", 1)))
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"a":      "plain value",
		"b":      "single 'quoted'\nsecond paragraph",
		"c":      "double \"q\"\n",
		"folded": "first second line\nafter blank",
	} {
		if got, ok := root.get(path).str(); !ok || got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	if l := root.get("list"); l == nil || len(l.items) != 2 || *l.items[1].scalar != "y" {
		t.Errorf("list %+v", l)
	}
	if v, _ := root.get("nested").items[0].get("k2").str(); v != "w" {
		t.Errorf("nested k2 = %q", v)
	}
	for _, bad := range []string{"a: [1]\n", "a: 'open\n", "a: 1\na: 2\n", "a:\n  b: 1\n   c: 2\n", "\ta: 1\n"} {
		if _, err := parseYAML("bad.yaml", []byte(bad)); err == nil || !strings.Contains(err.Error(), "bad.yaml:") {
			t.Errorf("%q: error %v", bad, err)
		}
	}
}
