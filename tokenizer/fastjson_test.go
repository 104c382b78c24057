package tokenizer

import (
	"encoding/json"
	"maps"
	"os"
	"slices"
	"testing"

	"github.com/d3-project/d3/internal/testutil"
)

// The fast readers must agree with encoding/json.
func TestFastJSON(t *testing.T) {
	for _, c := range []string{
		`{}`, `{"a":1}`, ` { "a" : 1 , "\u00e9\n\"\\\/" : -2 } `, `{"\ud83d\ude00":3,"\ud83d":4,"x\u0041":5}`, `{"a":1,"a":2}`,
	} {
		got, err := fastVocab([]byte(c))
		var want map[string]int
		if jerr := json.Unmarshal([]byte(c), &want); jerr != nil || err != nil || !maps.Equal(got, want) {
			t.Errorf("%s: fast %v (%v), json %v (%v)", c, got, err, want, jerr)
		}
	}
	for _, c := range []string{`{"a":1.5}`, `{"a":1`, `{"a" 1}`, `{"a":1}x`, `{"a\x01":1}`, `{"\u12":1}`, `[]`} {
		if _, err := fastVocab([]byte(c)); err == nil {
			t.Errorf("%s: accepted", c)
		}
	}
	strs, pairs, err := fastMerges([]byte(` [ "a b" , "\u0120 c" ] `))
	if err != nil || !slices.Equal(strs, []string{"a b", "\u0120 c"}) || pairs != nil {
		t.Errorf("string merges: %v %v %v", strs, pairs, err)
	}
	strs, pairs, err = fastMerges([]byte(`[["a b","c"],["d","e"]]`))
	if err != nil || strs != nil || !slices.Equal(pairs, [][2]string{{"a b", "c"}, {"d", "e"}}) {
		t.Errorf("pair merges: %v %v %v", strs, pairs, err)
	}
	for _, c := range []string{`["a b", ["c","d"]]`, `[["a"]]`, `[1]`, `["a b"`} {
		if _, _, err := fastMerges([]byte(c)); err == nil {
			t.Errorf("%s: accepted", c)
		}
	}
	// The real files: same vocabulary and merges either way.
	for _, name := range []string{"llama3", "qwen3", "mistral-v0.1"} {
		data, err := os.ReadFile(testutil.Shared(t, "golden", "tokenizers", name, "tokenizer.json"))
		if err != nil {
			t.Fatal(err)
		}
		var f struct {
			Model struct {
				Vocab  json.RawMessage `json:"vocab"`
				Merges json.RawMessage `json:"merges"`
			} `json:"model"`
		}
		if err := json.Unmarshal(data, &f); err != nil {
			t.Fatal(err)
		}
		fv, err := fastVocab(f.Model.Vocab)
		var jv map[string]int
		if jerr := json.Unmarshal(f.Model.Vocab, &jv); err != nil || jerr != nil || !maps.Equal(fv, jv) {
			t.Errorf("%s: vocab differs (%v, %v)", name, err, jerr)
		}
		fs, fp, err := fastMerges(f.Model.Merges)
		var js []string
		var jp [][2]string
		if json.Unmarshal(f.Model.Merges, &js) != nil {
			js = nil
			if err := json.Unmarshal(f.Model.Merges, &jp); err != nil {
				t.Fatal(err)
			}
		}
		if err != nil || !slices.Equal(fs, js) || !slices.Equal(fp, jp) {
			t.Errorf("%s: merges differ (%v)", name, err)
		}
	}
}
