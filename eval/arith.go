package eval

import (
	"fmt"
	"path/filepath"
)

// Arith is the synthetic arithmetic word-problem set of ../shared/data/arith
// (GSM8K format). The prompt is the format the bundled models were trained
// on, `Question: {question}\nAnswer:` after BOS, zero-shot; the model answers
// ` {reasoning lines}\n#### N` and EOS, and the answer is the number after
// "####".
type Arith struct {
	items []Item
}

// ArithMaxNew is the generation limit of the arithmetic references.
const ArithMaxNew = 96

// LoadArith reads opt.Data: a JSONL file, or a directory holding test.jsonl.
func LoadArith(opt Options) (*Arith, error) {
	if opt.Shots > 0 {
		return nil, fmt.Errorf("eval: arith is zero-shot (the models were trained on its format); --shots %d not supported", opt.Shots)
	}
	path, err := dataFile(opt.Data, "arith", "test.jsonl")
	if err != nil {
		return nil, err
	}
	recs, err := ReadQA(path, opt.Limit)
	if err != nil {
		return nil, err
	}
	base := filepath.Base(path)
	t := &Arith{}
	for _, r := range recs {
		target := HashAnswer(r.Answer)
		if target == "" {
			return nil, fmt.Errorf("eval: %s:%d: answer has no number after \"####\"", path, r.Line)
		}
		t.items = append(t.items, Item{ID: fmt.Sprintf("%s:%d", base, r.Line), Prompt: ArithPrompt(r.Question), Target: target})
	}
	return t, nil
}

// ArithPrompt is the prompt text of a question (BOS comes from the tokenizer).
func ArithPrompt(question string) string { return "Question: " + question + "\nAnswer:" }

func (*Arith) Name() string      { return "arith" }
func (t *Arith) Items() []Item   { return t.items }
func (*Arith) MaxNew() int       { return ArithMaxNew }
func (*Arith) Stop() []string    { return nil }
func (*Arith) HasFlexible() bool { return false }
func (*Arith) Score(it *Item, generated string) Score {
	a := HashAnswer(generated)
	return Score{Answer: a, Correct: a != "" && numbersEqual(a, it.Target)}
}
