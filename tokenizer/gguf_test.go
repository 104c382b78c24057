package tokenizer

import (
	"slices"
	"testing"

	"github.com/d3-project/d3/gguf"
	"github.com/d3-project/d3/internal/testutil"
)

// vocabFromGGUF is the test's own GGUF -> GGUFVocab bridge (the real one
// lives in the model loader, to keep this package free of the reader).
func vocabFromGGUF(t testing.TB, path string) GGUFVocab {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v := GGUFVocab{BOS: -1, EOS: -1, UNK: -1, PAD: -1, EOT: -1, EOM: -1}
	v.Model, _ = f.String("tokenizer.ggml.model")
	v.Pre, _ = f.String("tokenizer.ggml.pre")
	v.Tokens, _ = f.Strings("tokenizer.ggml.tokens")
	v.Scores, _ = f.Float32s("tokenizer.ggml.scores")
	v.Types, _ = f.Int32s("tokenizer.ggml.token_type")
	v.Merges, _ = f.Strings("tokenizer.ggml.merges")
	v.ChatTemplate, _ = f.String("tokenizer.chat_template")
	for key, dst := range map[string]*int{
		"bos_token_id": &v.BOS, "eos_token_id": &v.EOS, "unknown_token_id": &v.UNK,
		"padding_token_id": &v.PAD, "eot_token_id": &v.EOT, "eom_token_id": &v.EOM,
	} {
		if u, ok := f.Uint("tokenizer.ggml." + key); ok {
			*dst = int(u)
		}
	}
	for key, dst := range map[string]**bool{
		"add_bos_token": &v.AddBOS, "add_eos_token": &v.AddEOS, "add_space_prefix": &v.AddSpacePrefix,
	} {
		if b, ok := f.Bool("tokenizer.ggml." + key); ok {
			*dst = &b
		}
	}
	return v
}

// loadGGUF builds (once per test binary) the tokenizer of a shared GGUF file.
func loadGGUF(t testing.TB, path ...string) *Tokenizer {
	t.Helper()
	p := testutil.Shared(t, path...)
	loadMu.Lock()
	defer loadMu.Unlock()
	if tk, ok := loaded[p]; ok {
		return tk
	}
	tk, err := FromGGUFVocab(vocabFromGGUF(t, p))
	if err != nil {
		t.Fatal(err)
	}
	loaded[p] = tk
	return tk
}

func TestGGUFGolden(t *testing.T) {
	var g struct {
		Strings    []string `json:"strings"`
		Tokenizers map[string]struct {
			File               string  `json:"file"`
			Plain              [][]int `json:"plain"`
			WithBOSPerMetadata [][]int `json:"with_bos_per_metadata"`
		} `json:"tokenizers"`
	}
	readJSON(t, testutil.Shared(t, "golden", "tokenizers", "gguf", "gguf-golden.json"), &g)
	for _, name := range []string{"llama3", "qwen3"} {
		t.Run(name, func(t *testing.T) {
			want := g.Tokenizers[name]
			if len(want.Plain) != len(g.Strings) || len(want.WithBOSPerMetadata) != len(g.Strings) {
				t.Fatalf("golden has %d/%d entries for %d strings", len(want.Plain), len(want.WithBOSPerMetadata), len(g.Strings))
			}
			tk := loadGGUF(t, "golden", "tokenizers", "gguf", name+"-vocab.gguf")
			bad := 0
			for i, s := range g.Strings {
				if got := tk.Encode(s, false); !slices.Equal(got, want.Plain[i]) {
					bad++
					t.Errorf("string %d %q plain:\n got %v\nwant %v", i, s, got, want.Plain[i])
				}
				if got := tk.Encode(s, true); !slices.Equal(got, want.WithBOSPerMetadata[i]) {
					bad++
					t.Errorf("string %d %q with BOS per metadata:\n got %v\nwant %v", i, s, got, want.WithBOSPerMetadata[i])
				}
			}
			t.Logf("%s: %d strings, %d mismatches", name, len(g.Strings), bad)
		})
	}
}

// The d3-tiny GGUF carries the tokenizer.model vocabulary as a llama
// (SentencePiece) vocabulary: it must give sentencepiece's ids. The one
// exception is text spelling control tokens, which llama.cpp parses whole.
func TestGGUFSentencePiece(t *testing.T) {
	var g goldenFile
	readJSON(t, testutil.Shared(t, "golden", "tokenizers", "golden.json"), &g)
	v := vocabFromGGUF(t, testutil.Shared(t, "models", "gguf", "d3-tiny-layerdrop-q8_0.gguf"))
	tk, err := FromGGUFVocab(v)
	if err != nil {
		t.Fatal(err)
	}
	if tk.Kind() != KindSentencePieceBPE || !tk.AddsBOS() || tk.BOS() != 1 || tk.EOS() != 2 {
		t.Fatalf("kind %s, adds BOS %v, BOS %d, EOS %d", tk.Kind(), tk.AddsBOS(), tk.BOS(), tk.EOS())
	}
	want := g.Tokenizers["d3-tiny"]
	for i, s := range g.Strings {
		got := tk.Encode(s, false)
		if s == "<s> </s> <|begin_of_text|> <|im_start|> <unk>" {
			// llama.cpp: <s>, </s>, <unk> are matched whole, and the text
			// after each special token gets the space prefix.
			if len(got) < 3 || got[0] != 1 || got[len(got)-1] != 0 || !slices.Contains(got, 2) {
				t.Errorf("string %d: got %v, want <s> </s> <unk> matched whole", i, got)
			}
			continue
		}
		if !slices.Equal(got, want.Plain[i]) {
			t.Errorf("string %d %q:\n got %v\nwant %v", i, s, got, want.Plain[i])
		}
		if got := tk.Encode(s, true); len(got) == 0 || got[0] != 1 || !slices.Equal(got[1:], want.Plain[i]) {
			t.Errorf("string %d with BOS: got %v", i, got)
		}
		if dec := tk.Decode(want.Plain[i]); dec != want.Decoded[i] {
			t.Errorf("string %d decode: got %q want %q", i, dec, want.Decoded[i])
		}
	}
}
