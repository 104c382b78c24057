package tokenizer

import (
	"os"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/d3-project/d3/internal/testutil"
)

func TestMetadata(t *testing.T) {
	cases := []struct {
		name        string
		kind        string
		vocab       int
		bos, eos    int
		addsBOS     bool
		eogs        []int // must all be present
		control     int
		hasTemplate bool
	}{
		{"llama3", KindByteLevelBPE, 128256, 128000, 128001, false, []int{128001, 128009}, 128000, true},
		{"qwen3", KindByteLevelBPE, 151669, -1, 151645, false, []int{151643, 151645}, 151644, true},
		{"mistral-v0.1", KindSentencePieceBPE, 32000, 1, 2, true, []int{2}, 1, false},
		{"d3-tiny", KindSentencePieceBPE, 4096, 1, 2, true, []int{2}, 1, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tk := loadShared(t, goldenTokenizerPath(c.name)...)
			if tk.Kind() != c.kind || tk.VocabSize() != c.vocab || tk.BOS() != c.bos || tk.EOS() != c.eos || tk.AddsBOS() != c.addsBOS {
				t.Errorf("kind %s vocab %d bos %d eos %d addsBOS %v; want %s %d %d %d %v",
					tk.Kind(), tk.VocabSize(), tk.BOS(), tk.EOS(), tk.AddsBOS(), c.kind, c.vocab, c.bos, c.eos, c.addsBOS)
			}
			for _, id := range c.eogs {
				if !slices.Contains(tk.EOGs(), id) {
					t.Errorf("EOGs %v lack %d (%q)", tk.EOGs(), id, tk.Piece(id))
				}
			}
			if !tk.IsControl(c.control) || tk.IsControl(c.vocab/2) || tk.IsControl(-1) || tk.IsControl(c.vocab) {
				t.Errorf("IsControl wrong around %d", c.control)
			}
			if (tk.ChatTemplate() != "") != c.hasTemplate {
				t.Errorf("chat template present = %v", tk.ChatTemplate() != "")
			}
			if tk.Piece(-1) != "" || tk.Piece(c.vocab) != "" {
				t.Error("Piece out of range not empty")
			}
		})
	}
	tk := loadShared(t, goldenTokenizerPath("d3-tiny")...)
	if tk.Piece(3) != "\n" || tk.Piece(3667) != "\u2581" {
		t.Errorf("d3-tiny pieces 3, 3667 = %q, %q", tk.Piece(3), tk.Piece(3667))
	}
}

func TestGGUFMetadata(t *testing.T) {
	for _, c := range []struct {
		name    string
		addsBOS bool
		eogs    []int
	}{
		{"llama3", true, []int{128001, 128009}},
		{"qwen3", false, []int{151643, 151645, 128247}},
	} {
		tk := loadGGUF(t, "golden", "tokenizers", "gguf", c.name+"-vocab.gguf")
		if tk.AddsBOS() != c.addsBOS || tk.Kind() != KindByteLevelBPE || tk.ChatTemplate() == "" {
			t.Errorf("%s: addsBOS %v kind %s", c.name, tk.AddsBOS(), tk.Kind())
		}
		for _, id := range c.eogs {
			if !slices.Contains(tk.EOGs(), id) {
				t.Errorf("%s: EOGs %v lack %d (%q)", c.name, tk.EOGs(), id, tk.Piece(id))
			}
		}
	}
}

// The stream decoder must give exactly Decode's text, in pieces that never
// split a character.
func TestStreamDecoder(t *testing.T) {
	var g goldenFile
	readJSON(t, testutil.Shared(t, "golden", "tokenizers", "golden.json"), &g)
	for _, name := range []string{"llama3", "qwen3", "mistral-v0.1", "d3-tiny"} {
		tk := loadShared(t, goldenTokenizerPath(name)...)
		for i, ids := range g.Tokenizers[name].Plain {
			d := tk.NewStreamDecoder()
			var sb strings.Builder
			for _, id := range ids {
				chunk := d.Push(id)
				if !utf8.ValidString(chunk) || strings.ContainsRune(chunk, utf8.RuneError) {
					t.Errorf("%s string %d: chunk %q is not whole characters", name, i, chunk)
				}
				sb.WriteString(chunk)
			}
			sb.WriteString(d.Flush())
			if want := tk.Decode(ids); sb.String() != want {
				t.Errorf("%s string %d: stream %q, Decode %q", name, i, sb.String(), want)
			}
		}
	}
}

func TestStreamDecoderIncomplete(t *testing.T) {
	tk := loadShared(t, goldenTokenizerPath("d3-tiny")...)
	d := tk.NewStreamDecoder()
	// <0xE2> <0x82>: the start of a 3-byte character, then a stop.
	if s := d.Push(4 + 0xE2); s != "" {
		t.Errorf("partial character emitted: %q", s)
	}
	if s := d.Push(4 + 0x82); s != "" {
		t.Errorf("partial character emitted: %q", s)
	}
	if s := d.Push(4 + 0xAC); s != "€" {
		t.Errorf("completed character: %q", s)
	}
	d.Push(4 + 0xE2)
	if s := d.Flush(); s != "\uFFFD" {
		t.Errorf("Flush of a partial character: %q", s)
	}
	if s := tk.Decode([]int{4 + 0xE2, 4 + 0x82, 4 + 'A'}); s != "\uFFFDA" {
		t.Errorf("Decode of a truncated character: %q", s)
	}
}

// Added tokens spelled in text are matched whole, with lstrip/rstrip.
func TestAddedTokenFlags(t *testing.T) {
	js := `{"model":{"type":"BPE","vocab":{"a":0,"b":1," ":2},"merges":[]},
	"added_tokens":[
		{"id":3,"content":"<L>","lstrip":true,"special":true},
		{"id":4,"content":"<R>","rstrip":true,"special":true},
		{"id":5,"content":"<W>","single_word":true,"special":false},
		{"id":6,"content":"<LONG>","special":true},
		{"id":7,"content":"<LO","special":true}]}`
	tk, err := FromTokenizerJSON([]byte(js), nil)
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string][]int{
		"a  <L>b":   {0, 3, 1},
		"a<R>  b":   {0, 4, 1},
		"a <W> b":   {0, 2, 5, 2, 1},
		"a<W>b":     {0, 1}, // inside a word <W> is not matched, and its characters are not in the vocabulary
		"<LONG><LO": {6, 7},
	} {
		if got := tk.Encode(in, false); !slices.Equal(got, want) {
			t.Errorf("%q: got %v want %v", in, got, want)
		}
	}
	if tk.IsControl(5) || !tk.IsControl(3) {
		t.Error("special flag not reflected by IsControl")
	}
}

func TestConfigOverrides(t *testing.T) {
	js := `{"model":{"type":"BPE","vocab":{"a":0,"<s>":1,"</s>":2},"merges":[]},
	"added_tokens":[{"id":1,"content":"<s>","special":true},{"id":2,"content":"</s>","special":true}],
	"post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<s>","type_id":0}},{"Sequence":{"id":"A","type_id":0}}],
	 "special_tokens":{"<s>":{"id":"<s>","ids":[1],"tokens":["<s>"]}}}}`
	tk, err := FromTokenizerJSON([]byte(js), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := tk.Encode("a", true); !slices.Equal(got, []int{1, 0}) || !tk.AddsBOS() {
		t.Errorf("template: got %v", got)
	}
	cfg := `{"add_bos_token": false, "add_eos_token": true, "eos_token": {"content": "</s>"},
	 "chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}]}`
	tk, err = FromTokenizerJSON([]byte(js), []byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	if got := tk.Encode("a", true); !slices.Equal(got, []int{0, 2}) || tk.AddsBOS() || tk.ChatTemplate() != "D" {
		t.Errorf("config: got %v, adds BOS %v, template %q", got, tk.AddsBOS(), tk.ChatTemplate())
	}
}

// With a tokenizer_config.json listing added tokens, a tokenizer.model
// matches them whole (as transformers does); each text piece between them
// is encoded as a text of its own, dummy prefix included.
func TestSentencePieceConfigAddedTokens(t *testing.T) {
	var g goldenFile
	readJSON(t, testutil.Shared(t, "golden", "tokenizers", "golden.json"), &g)
	data, err := os.ReadFile(testutil.Shared(t, "models", "d3-tiny", "tokenizer.model"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := `{"added_tokens_decoder": {"1": {"content": "<s>", "special": true}, "2": {"content": "</s>", "special": true}},
	 "add_bos_token": false, "add_eos_token": true}`
	tk, err := FromSentencePiece(data, []byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	a := g.Tokenizers["d3-tiny"].Plain[slices.Index(g.Strings, "a")]
	want := append(append([]int{1}, a...), 2)
	want = append(want, a...)
	want = append(want, 2) // add_eos_token
	if got := tk.Encode("<s>a</s>a", true); !slices.Equal(got, want) {
		t.Errorf("got %v want %v", got, want)
	}
	if _, err := FromSentencePiece(data, []byte(`{"added_tokens_decoder": {"1": {"content": "<x>"}}}`)); err == nil {
		t.Error("added token clashing with the vocabulary accepted")
	}
}

// Split behaviours, on the example of the Hugging Face documentation.
func TestSplitBehaviors(t *testing.T) {
	dash := compileLiteral("-")
	for behavior, want := range map[string][]string{
		"Removed":            {"the", "final", "countdown"},
		"Isolated":           {"the", "-", "final", "-", "-", "countdown"},
		"MergedWithPrevious": {"the-", "final-", "-", "countdown"},
		"MergedWithNext":     {"the", "-final", "-", "-countdown"},
		"Contiguous":         {"the", "-", "final", "--", "countdown"},
	} {
		if got := splitBy("the-final--countdown", dash, behavior, false); !slices.Equal(got, want) {
			t.Errorf("%s: got %q want %q", behavior, got, want)
		}
	}
	if got := splitBy("a-b", dash, "Removed", true); !slices.Equal(got, []string{"-"}) {
		t.Errorf("inverted Removed: %q", got)
	}
}
