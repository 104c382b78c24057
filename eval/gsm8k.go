package eval

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// GSM8K is grade-school math with lm-evaluation-harness's gsm8k_cot
// setting: 8-shot chain of thought with the exemplars of gsm8k-cot.yaml in
// its "Q: ... / A: ..." layout (exemplars separated by blank lines), greedy,
// stopping at "Q:" or the end of the turn. It scores the number after "The
// answer is" (strict) and the last number of the generation (flexible).
type GSM8K struct {
	items []Item
	stop  []string
}

// GSM8KMaxNew is lm-evaluation-harness's default generation limit.
const GSM8KMaxNew = 256

// gsm8kExemplar is one few-shot example of gsm8k-cot.yaml.
type gsm8kExemplar struct{ Question, Target string }

// gsm8kConfig is what the prompt needs from gsm8k-cot.yaml.
type gsm8kConfig struct {
	docToText string // template with {{question}}
	exemplars []gsm8kExemplar
	until     []string
}

// LoadGSM8K reads opt.Data: the test JSONL file, or a directory holding
// test.jsonl (or gsm8k/test.jsonl). The exemplars come from gsm8k-cot.yaml
// beside the test file, or in the sibling directory gsm8k-cot/.
func LoadGSM8K(opt Options) (*GSM8K, error) {
	path, err := dataFile(opt.Data, "gsm8k", "test.jsonl")
	if err != nil {
		return nil, err
	}
	cfgPath, err := findBeside(path, "gsm8k-cot", "gsm8k-cot.yaml")
	if err != nil {
		return nil, err
	}
	cfg, err := loadGSM8KConfig(cfgPath)
	if err != nil {
		return nil, err
	}
	shots := opt.Shots
	if shots < 0 {
		shots = 8
	}
	if shots > len(cfg.exemplars) {
		return nil, fmt.Errorf("eval: gsm8k: %d shots asked, %s has %d exemplars", shots, cfgPath, len(cfg.exemplars))
	}
	recs, err := ReadQA(path, opt.Limit)
	if err != nil {
		return nil, err
	}
	prefix := cfg.fewShotPrefix(shots)
	base := filepath.Base(path)
	t := &GSM8K{stop: cfg.until}
	for _, r := range recs {
		target := HashAnswer(r.Answer)
		if target == "" {
			return nil, fmt.Errorf("eval: %s:%d: answer has no number after \"####\"", path, r.Line)
		}
		t.items = append(t.items, Item{ID: fmt.Sprintf("%s:%d", base, r.Line), Prompt: prefix + cfg.text(r.Question), Target: target})
	}
	return t, nil
}

// findBeside looks for name in the directory of file, then in ../sub/.
func findBeside(file, sub, name string) (string, error) {
	dir := filepath.Dir(file)
	cands := []string{filepath.Join(dir, name), filepath.Join(dir, "..", sub, name)}
	for _, p := range cands {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("eval: %s not found (looked in %s and %s)", name, cands[0], cands[1])
}

func loadGSM8KConfig(path string) (*gsm8kConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	root, err := parseYAML(path, data)
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	cfg := &gsm8kConfig{docToText: "Q: {{question}}\nA:", until: []string{"Q:"}}
	if n := root.get("doc_to_text"); n != nil {
		s, ok := n.str()
		if !ok || !strings.Contains(s, "{{question}}") {
			return nil, fmt.Errorf("eval: %s:%d: doc_to_text is not a template with {{question}}", path, n.line)
		}
		cfg.docToText = s
	}
	samples := root.get("fewshot_config", "samples")
	if samples == nil || samples.items == nil {
		return nil, fmt.Errorf("eval: %s: no fewshot_config.samples list", path)
	}
	for _, it := range samples.items {
		q, okQ := it.get("question").str()
		a, okA := it.get("target").str()
		if !okQ || !okA || q == "" || a == "" {
			return nil, fmt.Errorf("eval: %s:%d: exemplar without question and target", path, it.line)
		}
		cfg.exemplars = append(cfg.exemplars, gsm8kExemplar{q, a})
	}
	if u := root.get("generation_kwargs", "until"); u != nil && u.items != nil {
		cfg.until = nil
		for _, it := range u.items {
			s, ok := it.str()
			if !ok || s == "" {
				return nil, fmt.Errorf("eval: %s:%d: generation_kwargs.until holds a non-string", path, it.line)
			}
			cfg.until = append(cfg.until, s)
		}
	}
	return cfg, nil
}

func (c *gsm8kConfig) text(question string) string {
	return strings.ReplaceAll(c.docToText, "{{question}}", question)
}

// fewShotPrefix is the first shots exemplars as lm-evaluation-harness lays
// them out: text, " ", target, then a blank line.
func (c *gsm8kConfig) fewShotPrefix(shots int) string {
	var b strings.Builder
	for _, ex := range c.exemplars[:shots] {
		b.WriteString(c.text(ex.Question))
		b.WriteString(" ")
		b.WriteString(ex.Target)
		b.WriteString("\n\n")
	}
	return b.String()
}

func (*GSM8K) Name() string      { return "gsm8k" }
func (t *GSM8K) Items() []Item   { return t.items }
func (*GSM8K) MaxNew() int       { return GSM8KMaxNew }
func (t *GSM8K) Stop() []string  { return t.stop }
func (*GSM8K) HasFlexible() bool { return true }
func (*GSM8K) Score(it *Item, generated string) Score {
	s := Score{Answer: GSM8KStrict(generated), Flexible: GSM8KFlexible(generated)}
	s.Correct = numbersEqual(s.Answer, it.Target)
	s.FlexibleCorrect = numbersEqual(s.Flexible, it.Target)
	return s
}
