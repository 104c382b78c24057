package tokenizer

import (
	"encoding/json"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/d3-project/d3/internal/testutil"
)

type goldenFile struct {
	Strings    []string `json:"strings"`
	Tokenizers map[string]struct {
		Plain       [][]int  `json:"plain"`
		WithSpecial [][]int  `json:"with_special"`
		Decoded     []string `json:"decoded"`
	} `json:"tokenizers"`
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// Loaded tokenizers are shared between tests: the large vocabularies take
// a noticeable fraction of a second each to load.
var (
	loadMu sync.Mutex
	loaded = map[string]*Tokenizer{}
)

func loadShared(t testing.TB, path ...string) *Tokenizer {
	t.Helper()
	p := testutil.Shared(t, path...)
	loadMu.Lock()
	defer loadMu.Unlock()
	if tk, ok := loaded[p]; ok {
		return tk
	}
	tk, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	loaded[p] = tk
	return tk
}

func goldenTokenizerPath(name string) []string {
	if name == "d3-tiny" {
		return []string{"models", "d3-tiny", "tokenizer.model"}
	}
	return []string{"golden", "tokenizers", name}
}

func TestGolden(t *testing.T) {
	var g goldenFile
	readJSON(t, testutil.Shared(t, "golden", "tokenizers", "golden.json"), &g)
	for _, name := range []string{"llama3", "qwen3", "mistral-v0.1", "d3-tiny"} {
		t.Run(name, func(t *testing.T) {
			want := g.Tokenizers[name]
			if len(want.Plain) != len(g.Strings) {
				t.Fatalf("golden has %d plain entries for %d strings", len(want.Plain), len(g.Strings))
			}
			tk := loadShared(t, goldenTokenizerPath(name)...)
			bad := 0
			for i, s := range g.Strings {
				got := tk.Encode(s, false)
				if !slices.Equal(got, want.Plain[i]) {
					bad++
					t.Errorf("string %d %q plain:\n got %v\nwant %v", i, s, got, want.Plain[i])
				}
				if want.WithSpecial != nil {
					got := tk.Encode(s, true)
					if !slices.Equal(got, want.WithSpecial[i]) {
						bad++
						t.Errorf("string %d %q with special:\n got %v\nwant %v", i, s, got, want.WithSpecial[i])
					}
				}
				if dec := tk.Decode(want.Plain[i]); dec != want.Decoded[i] {
					bad++
					t.Errorf("string %d decode: got %q want %q", i, dec, want.Decoded[i])
				}
			}
			t.Logf("%s: %d strings, %d mismatches", name, len(g.Strings), bad)
		})
	}
}
