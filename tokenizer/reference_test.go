package tokenizer

import (
	"bufio"
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/d3-project/d3/internal/testutil"
)

// The d3-tiny reference generations (PyTorch, tokenized by sentencepiece in
// training) are canonical tokenizations: streaming them out after the
// prompt and encoding prompt + text again must give the prompt's ids
// followed by exactly the generated ids. This exercises the prompt format
// the engine uses and the stream decoder on 500 realistic texts.
func TestD3TinyReferenceRoundTrip(t *testing.T) {
	tk := loadShared(t, goldenTokenizerPath("d3-tiny")...)
	var ref struct {
		Results []struct {
			Schedule struct {
				Name string `json:"name"`
			} `json:"schedule"`
			Generated [][]int `json:"generated"`
		} `json:"results"`
	}
	readJSON(t, testutil.Shared(t, "golden", "d3-tiny", "reference.json"), &ref)
	if len(ref.Results) == 0 || ref.Results[0].Schedule.Name != "full" {
		t.Fatal("reference.json: first result is not the full schedule")
	}
	gens := ref.Results[0].Generated
	f, err := os.Open(testutil.Shared(t, "data", "arith", "test.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	n := 0
	for ; sc.Scan(); n++ {
		var p struct {
			Question string `json:"question"`
		}
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil || n >= len(gens) {
			t.Fatalf("test.jsonl line %d: %v (%d generations)", n+1, err, len(gens))
		}
		prompt := "Question: " + p.Question + "\nAnswer:"
		ids := tk.Encode(prompt, true)
		if ids[0] != tk.BOS() {
			t.Fatalf("prompt %d does not start with BOS: %v", n, ids[:3])
		}
		d := tk.NewStreamDecoder()
		d.KeepLeadingSpace()
		text := prompt
		for _, id := range gens[n] {
			text += d.Push(id)
		}
		text += d.Flush()
		if got, want := tk.Encode(text, true), append(ids, gens[n]...); !slices.Equal(got, want) {
			t.Errorf("problem %d: %q re-encodes to\n%v\nwant\n%v", n, text, got, want)
		}
	}
	if n != len(gens) {
		t.Errorf("%d problems, %d generations", n, len(gens))
	}
}
