package eval

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// BBH is BIG-Bench Hard: 27 tasks, each prompted with its own 3-shot
// chain-of-thought prompt from cot-prompts/ (the task description, the
// exemplars, then "Q: {input}\nA: Let's think step by step."). The answer
// is what follows "So the answer is" up to the final period; scores are per
// task and macro-averaged over tasks.
type BBH struct {
	items    []Item
	subtasks []string
}

// BBHMaxNew is lm-evaluation-harness's default generation limit.
const BBHMaxNew = 256

// BBHSuffix ends every BBH prompt: the model continues with its reasoning.
const BBHSuffix = "\nA: Let's think step by step."

// LoadBBH reads opt.Data: a directory holding tasks/*.json and
// cot-prompts/*.txt (or bbh/tasks and bbh/cot-prompts).
func LoadBBH(opt Options) (*BBH, error) {
	root := opt.Data
	st, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("eval: data: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("eval: bbh data %s must be a directory holding tasks/ and cot-prompts/", root)
	}
	if _, err := os.Stat(filepath.Join(root, "tasks")); err != nil {
		if _, err2 := os.Stat(filepath.Join(root, "bbh", "tasks")); err2 == nil {
			root = filepath.Join(root, "bbh")
		} else {
			return nil, fmt.Errorf("eval: bbh data directory %s has no tasks/ directory", opt.Data)
		}
	}
	files, err := filepath.Glob(filepath.Join(root, "tasks", "*.json"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("eval: %s: no task files", filepath.Join(root, "tasks"))
	}
	var all []string
	for _, f := range files {
		all = append(all, strings.TrimSuffix(filepath.Base(f), ".json"))
	}
	slices.Sort(all)
	names := all
	if len(opt.Subtasks) > 0 {
		names = nil
		for _, s := range opt.Subtasks {
			if !slices.Contains(all, s) {
				return nil, fmt.Errorf("eval: unknown bbh subtask %q (have %s)", s, strings.Join(all, ", "))
			}
			if !slices.Contains(names, s) {
				names = append(names, s)
			}
		}
	}
	t := &BBH{subtasks: names}
	for _, name := range names {
		desc, exemplars, err := readCoTPrompt(filepath.Join(root, "cot-prompts", name+".txt"))
		if err != nil {
			return nil, err
		}
		shots := opt.Shots
		if shots < 0 {
			shots = len(exemplars) // every prompt file has 3
		}
		if shots > len(exemplars) {
			return nil, fmt.Errorf("eval: bbh %s: %d shots asked, its prompt has %d exemplars", name, shots, len(exemplars))
		}
		prefix := desc + "\n\n"
		for _, ex := range exemplars[:shots] {
			prefix += ex + "\n\n"
		}
		examples, err := readBBHTask(filepath.Join(root, "tasks", name+".json"))
		if err != nil {
			return nil, err
		}
		for i, ex := range examples {
			if opt.Limit > 0 && i == opt.Limit {
				break
			}
			t.items = append(t.items, Item{ID: fmt.Sprintf("%s:%d", name, i), Subtask: name,
				Prompt: prefix + "Q: " + ex.Input + BBHSuffix, Target: ex.Target})
		}
	}
	return t, nil
}

type bbhExample struct {
	Input  string `json:"input"`
	Target string `json:"target"`
}

func readBBHTask(path string) ([]bbhExample, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	var f struct {
		Canary   string            `json:"canary"`
		Examples []json.RawMessage `json:"examples"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("eval: %s:%d: %w", path, jsonErrorLine(data, err), err)
	}
	if len(f.Examples) == 0 {
		return nil, fmt.Errorf("eval: %s: no examples", path)
	}
	out := make([]bbhExample, len(f.Examples))
	for i, raw := range f.Examples {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&out[i]); err != nil {
			return nil, fmt.Errorf("eval: %s: example %d: %w", path, i, err)
		}
		if out[i].Input == "" || out[i].Target == "" {
			return nil, fmt.Errorf("eval: %s: example %d lacks input or target", path, i)
		}
	}
	return out, nil
}

// jsonErrorLine is the 1-based line of a JSON syntax or type error.
func jsonErrorLine(data []byte, err error) int {
	var off int64
	switch e := err.(type) {
	case *json.SyntaxError:
		off = e.Offset
	case *json.UnmarshalTypeError:
		off = e.Offset
	default:
		return 1
	}
	off = min(off, int64(len(data)))
	return 1 + bytes.Count(data[:off], []byte("\n"))
}

// readCoTPrompt splits a cot-prompts file into the task description and
// its exemplars ("Q: ...\nA: ..."), after the canary header that ends with
// a "-----" line.
func readCoTPrompt(path string) (desc string, exemplars []string, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", nil, fmt.Errorf("eval: %w", err)
	}
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	if i := strings.Index(text, "\n-----\n"); i >= 0 {
		text = text[i+len("\n-----\n"):]
	}
	text = strings.TrimSpace(text)
	parts := strings.Split(text, "\n\nQ: ")
	if len(parts) < 2 {
		return "", nil, fmt.Errorf("eval: %s: no \"Q: \" exemplars after the task description", path)
	}
	for _, p := range parts[1:] {
		exemplars = append(exemplars, "Q: "+p)
	}
	return parts[0], exemplars, nil
}

func (*BBH) Name() string      { return "bbh" }
func (t *BBH) Items() []Item   { return t.items }
func (*BBH) MaxNew() int       { return BBHMaxNew }
func (*BBH) Stop() []string    { return []string{"Q:", "\n\n"} }
func (*BBH) HasFlexible() bool { return false }

// Subtasks lists the tasks loaded, in order.
func (t *BBH) Subtasks() []string { return t.subtasks }

func (*BBH) Score(it *Item, generated string) Score {
	a := BBHAnswer(generated)
	return Score{Answer: a, Correct: BBHMatch(a, it.Target)}
}
