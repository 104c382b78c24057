// Package eval measures what depth decay costs in accuracy: it builds the
// prompts of a benchmark (GSM8K, BIG-Bench Hard, the arithmetic set of
// ../shared), runs them through engine.GenerateBatch under a depth setting,
// extracts and scores the answers, caches per-item results for resuming, and
// writes JSON and Markdown reports with charts.
//
// The data path is cmd → eval → engine → model: eval never runs a forward
// pass itself.
package eval

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Item is one benchmark question with its complete prompt.
type Item struct {
	// ID names the item stably across runs: "<file>:<line>" for JSONL data,
	// "<subtask>:<index>" for BBH.
	ID string `json:"id"`
	// Subtask is the BBH task name ("" for single-task benchmarks).
	Subtask string `json:"subtask,omitempty"`
	// Prompt is the full prompt text; the tokenizer adds BOS as the model's
	// metadata says.
	Prompt string `json:"-"`
	// Target is the gold answer as the data states it.
	Target string `json:"target"`
}

// Score is what the task's scorer concluded about one generation.
type Score struct {
	Answer  string // extracted answer ("" when none was found)
	Correct bool
	// Flexible is a second, looser extraction where the task has one
	// (GSM8K's last-number match); FlexibleCorrect its verdict.
	Flexible        string
	FlexibleCorrect bool
}

// Task is a benchmark: its items, its generation limits and its scorer.
type Task interface {
	// Name is the task's name as given to --task.
	Name() string
	// Items returns the items in a fixed order.
	Items() []Item
	// MaxNew is the default limit on generated tokens.
	MaxNew() int
	// Stop lists the stop strings that end a generation.
	Stop() []string
	// Score extracts the answer from a generation and compares it with
	// the item's target.
	Score(it *Item, generated string) Score
	// HasFlexible reports whether Score fills Flexible.
	HasFlexible() bool
}

// Options selects the data of a task.
type Options struct {
	// Data is the task's data: a file or a directory (see each task).
	Data string
	// Shots is the number of few-shot exemplars; < 0 means the task's
	// default (GSM8K 8, BBH 3, arith 0).
	Shots int
	// Subtasks restricts BBH to these task names (nil: all 27).
	Subtasks []string
	// Limit keeps the first Limit items of each (sub)task (0: all).
	Limit int
}

// Load builds the named task ("arith", "gsm8k" or "bbh") from its data.
func Load(name string, opt Options) (Task, error) {
	if opt.Data == "" {
		return nil, fmt.Errorf("eval: task %s: no data given (pass the data directory or file)", name)
	}
	if opt.Limit < 0 {
		return nil, fmt.Errorf("eval: limit %d is negative", opt.Limit)
	}
	if name != "bbh" && len(opt.Subtasks) > 0 {
		return nil, fmt.Errorf("eval: task %s has no subtasks", name)
	}
	switch name {
	case "arith":
		return LoadArith(opt)
	case "gsm8k":
		return LoadGSM8K(opt)
	case "bbh":
		return LoadBBH(opt)
	}
	return nil, fmt.Errorf("eval: unknown task %q (want gsm8k, bbh or arith)", name)
}

// QA is one line of a GSM8K-format JSONL file.
type QA struct {
	Question string `json:"question"`
	Answer   string `json:"answer"`
	// Line is the 1-based line it was read from.
	Line int `json:"-"`
}

// ReadQA reads a GSM8K-format JSONL file (one {"question", "answer"} object
// per line; blank lines are skipped). Errors name the file and line. limit
// > 0 stops after that many records.
func ReadQA(path string, limit int) ([]QA, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	defer f.Close()
	var recs []QA
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		r := QA{Line: line}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			return nil, fmt.Errorf("eval: %s:%d: %w", path, line, err)
		}
		if dec.More() {
			return nil, fmt.Errorf("eval: %s:%d: trailing data after the JSON object", path, line)
		}
		if r.Question == "" {
			return nil, fmt.Errorf("eval: %s:%d: missing \"question\"", path, line)
		}
		if r.Answer == "" {
			return nil, fmt.Errorf("eval: %s:%d: missing \"answer\"", path, line)
		}
		recs = append(recs, r)
		if limit > 0 && len(recs) == limit {
			break
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("eval: %s: %w", path, err)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("eval: %s: no items", path)
	}
	return recs, nil
}

// dataFile resolves a task's data path: a file is taken as is; a directory
// must hold name, or sub/name (so the parent data directory works too).
func dataFile(data, sub, name string) (string, error) {
	st, err := os.Stat(data)
	if err != nil {
		return "", fmt.Errorf("eval: data: %w", err)
	}
	if !st.IsDir() {
		return data, nil
	}
	for _, p := range []string{filepath.Join(data, name), filepath.Join(data, sub, name)} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("eval: data directory %s has neither %s nor %s", data, name, filepath.Join(sub, name))
}
