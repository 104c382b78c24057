package tokenizer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/d3-project/d3/internal/testutil"
)

func TestMalformedTokenizerJSON(t *testing.T) {
	cases := []struct{ name, js, want string }{
		{"not json", `{"model":`, "unexpected end"},
		{"not an object", `[1,2]`, "cannot unmarshal"},
		{"no model", `{"added_tokens":[]}`, "no model"},
		{"model wrong type", `{"model":5}`, "model"},
		{"unknown model", `{"model":{"type":"WordPiece","vocab":{}}}`, "WordPiece"},
		{"vocab wrong type", `{"model":{"type":"BPE","vocab":[1,2],"merges":[]}}`, "vocab"},
		{"vocab id wrong type", `{"model":{"type":"BPE","vocab":{"a":"x"},"merges":[]}}`, "vocab"},
		{"empty vocab", `{"model":{"type":"BPE","vocab":{},"merges":[]}}`, "empty vocab"},
		{"negative id", `{"model":{"type":"BPE","vocab":{"a":-1},"merges":[]}}`, "id -1"},
		{"huge id", `{"model":{"type":"BPE","vocab":{"a":2000000000},"merges":[]}}`, "id 2000000000"},
		{"duplicate id", `{"model":{"type":"BPE","vocab":{"a":0,"b":0},"merges":[]}}`, "id 0 given to both"},
		{"merge unknown token", `{"model":{"type":"BPE","vocab":{"a":0,"ab":1},"merges":["a b"]}}`, `"b" is not in the vocabulary`},
		{"merge result unknown", `{"model":{"type":"BPE","vocab":{"a":0,"b":1},"merges":["a b"]}}`, `result "ab"`},
		{"merge not a pair", `{"model":{"type":"BPE","vocab":{"a":0},"merges":["a"]}}`, "merges[0]"},
		{"merge wrong type", `{"model":{"type":"BPE","vocab":{"a":0},"merges":[1,2]}}`, "merges is neither"},
		{"merge pair of three", `{"model":{"type":"BPE","vocab":{"a":0},"merges":[["a","a","a"]]}}`, "merges[0] has 3"},
		{"unk not in vocab", `{"model":{"type":"BPE","vocab":{"a":0},"merges":[],"unk_token":"<unk>"}}`, "unk_token"},
		{"added token clash", `{"model":{"type":"BPE","vocab":{"a":0},"merges":[]},"added_tokens":[{"id":0,"content":"b"}]}`, "id 0 is \"a\""},
		{"added token no content", `{"model":{"type":"BPE","vocab":{"a":0},"merges":[]},"added_tokens":[{"id":1}]}`, "added_tokens[0]"},
		{"unknown normalizer", `{"model":{"type":"BPE","vocab":{"a":0},"merges":[]},"normalizer":{"type":"Fancy"}}`, `"Fancy"`},
		{"normalizer without type", `{"model":{"type":"BPE","vocab":{"a":0},"merges":[]},"normalizer":{}}`, `missing "type"`},
		{"bad regex", `{"model":{"type":"BPE","vocab":{"a":0},"merges":[]},"pre_tokenizer":{"type":"Split","pattern":{"Regex":"(a"},"behavior":"Isolated"}}`, "regex"},
		{"bad behavior", `{"model":{"type":"BPE","vocab":{"a":0},"merges":[]},"pre_tokenizer":{"type":"Split","pattern":{"String":"a"},"behavior":"Sideways"}}`, "Sideways"},
		{"unknown pre-tokenizer", `{"model":{"type":"BPE","vocab":{"a":0},"merges":[]},"pre_tokenizer":{"type":"BertPreTokenizer"}}`, "BertPreTokenizer"},
		{"unknown decoder", `{"model":{"type":"BPE","vocab":{"a":0},"merges":[]},"decoder":{"type":"CTC"}}`, "CTC"},
		{"template unknown token", `{"model":{"type":"BPE","vocab":{"a":0},"merges":[]},"post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<s>"}}],"special_tokens":{}}}`, `"<s>"`},
		{"template id out of range", `{"model":{"type":"BPE","vocab":{"a":0},"merges":[]},"post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<s>"}}],"special_tokens":{"<s>":{"ids":[7]}}}}`, "id 7"},
		{"unigram bad entry", `{"model":{"type":"Unigram","vocab":[["a","x"]]}}`, "vocab[0]"},
		{"unigram bad unk", `{"model":{"type":"Unigram","vocab":[["a",-1]],"unk_id":3}}`, "unk_id 3"},
	}
	for _, c := range cases {
		_, err := FromTokenizerJSON([]byte(c.js), nil)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "tokenizer.json: ") {
			t.Errorf("%s: error %q does not name %q", c.name, err, c.want)
		}
	}
	if _, err := FromTokenizerJSON([]byte(`{"model":{"type":"BPE","vocab":{"a":0},"merges":[]}}`), []byte(`{"add_bos_token":"yes"}`)); err == nil || !strings.Contains(err.Error(), "add_bos_token") {
		t.Errorf("bad config: %v", err)
	}
}

func TestMalformedSentencePiece(t *testing.T) {
	data, err := os.ReadFile(testutil.Shared(t, "models", "d3-tiny", "tokenizer.model"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := FromSentencePiece(data, nil); err != nil {
		t.Fatal(err)
	}
	// Every strict prefix fails: in the middle of a field the message is
	// truncated; at a field boundary the normalizer_spec (last) is missing.
	for n := 0; n < len(data); n += 1 + n/8 {
		if _, err := FromSentencePiece(data[:n], nil); err == nil || !strings.HasPrefix(err.Error(), "tokenizer.model: ") {
			t.Fatalf("prefix of %d bytes: err %v", n, err)
		}
	}
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "no pieces"},
		{"text", []byte("hello, this is not a model"), "tokenizer.model"},
		{"bad varint", []byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, "varint"},
		{"huge length", []byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f}, "truncated"},
		{"wire type 3", []byte{0x0b}, "wire type 3"},
		{"field 0", []byte{0x00, 0x00}, "field number 0"},
		{"piece wrong wire", []byte{0x08, 0x01}, "pieces"},
		{"bad piece type", []byte{0x0a, 0x05, 0x0a, 0x01, 'a', 0x18, 0x09}, "invalid type 9"},
	} {
		_, err := FromSentencePiece(c.data, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v does not name %q", c.name, err, c.want)
		}
	}
}

func TestMalformedGGUFVocab(t *testing.T) {
	ok := func() GGUFVocab {
		return GGUFVocab{Model: "gpt2", Pre: "llama-bpe", Tokens: []string{"a", "b", "ab"}, Merges: []string{"a b"},
			BOS: -1, EOS: -1, UNK: -1, PAD: -1, EOT: -1, EOM: -1}
	}
	if _, err := FromGGUFVocab(ok()); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		edit func(v *GGUFVocab)
		want string
	}{
		{"no tokens", func(v *GGUFVocab) { v.Tokens = nil }, "empty"},
		{"scores length", func(v *GGUFVocab) { v.Scores = []float32{1} }, "scores"},
		{"types length", func(v *GGUFVocab) { v.Types = []int32{1} }, "token_type"},
		{"bad type", func(v *GGUFVocab) { v.Types = []int32{1, 1, 42} }, "= 42"},
		{"bos range", func(v *GGUFVocab) { v.BOS = 3 }, "bos_token_id 3"},
		{"model", func(v *GGUFVocab) { v.Model = "bert" }, `"bert"`},
		{"pre", func(v *GGUFVocab) { v.Pre = "mystery" }, `"mystery"`},
		{"merge no space", func(v *GGUFVocab) { v.Merges = []string{"ab"} }, "no space"},
		{"merge unknown", func(v *GGUFVocab) { v.Merges = []string{"a c"} }, `"c" is not in the vocabulary`},
	} {
		v := ok()
		c.edit(&v)
		_, err := FromGGUFVocab(v)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v does not name %q", c.name, err, c.want)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("missing file: no error")
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "neither") {
		t.Errorf("empty dir: %v", err)
	}
	p := filepath.Join(dir, "tokenizer.json")
	if err := os.WriteFile(p, []byte(`{"model":`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("bad file: error %v does not name %s", err, p)
	}
}

// Fuzz seeds double as ordinary tests.
func FuzzEncode(f *testing.F) {
	var g goldenFile
	readJSON(f, testutil.Shared(f, "golden", "tokenizers", "golden.json"), &g)
	for _, s := range g.Strings {
		f.Add(s)
	}
	f.Add("\xff\xfe invalid \xc3")
	f.Add("\u2581\u2581 x")
	f.Add(strings.Repeat("<|begin_of_text|>\n", 3))
	tiny := loadShared(f, goldenTokenizerPath("d3-tiny")...)
	llama3 := loadShared(f, goldenTokenizerPath("llama3")...)
	f.Fuzz(func(t *testing.T, s string) {
		for _, tk := range []*Tokenizer{tiny, llama3} {
			ids := tk.Encode(s, true)
			for _, id := range ids {
				if id < 0 || id >= tk.VocabSize() {
					t.Fatalf("%s: id %d out of range", tk.Kind(), id)
				}
			}
			plain := tk.Encode(s, false)
			dec := tk.Decode(plain)
			// Both are lossless on valid UTF-8, except that SentencePiece
			// reads its whitespace marker U+2581 as a space.
			lossless := utf8.ValidString(s) && !(tk == tiny && strings.ContainsRune(s, '\u2581'))
			if lossless && dec != s {
				t.Fatalf("%s: Decode(Encode(%q)) = %q (ids %v)", tk.Kind(), s, dec, plain)
			}
			d := tk.NewStreamDecoder()
			var sb strings.Builder
			for _, id := range plain {
				sb.WriteString(d.Push(id))
			}
			sb.WriteString(d.Flush())
			if sb.String() != dec {
				t.Fatalf("%s: stream %q != Decode %q", tk.Kind(), sb.String(), dec)
			}
		}
	})
}

func FuzzLoadTokenizerJSON(f *testing.F) {
	for _, s := range []string{
		`{"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]}}`,
		`{"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2,"<0x63>":3},"merges":[["a","b"]],"byte_fallback":true,"unk_token":"a","fuse_unk":true},
		  "normalizer":{"type":"Sequence","normalizers":[{"type":"Prepend","prepend":"\u2581"},{"type":"Replace","pattern":{"String":" "},"content":"\u2581"}]},
		  "decoder":{"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"\u2581"},"content":" "},{"type":"ByteFallback"},{"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":0}]}}`,
		`{"model":{"type":"BPE","vocab":{"a":0,"Ġ":1},"merges":[],"ignore_merges":true},
		  "added_tokens":[{"id":2,"content":"<s>","special":true,"lstrip":true}],
		  "pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":"\\s+(?!\\S)|\\p{L}+"},"behavior":"Isolated","invert":false},{"type":"ByteLevel","add_prefix_space":false,"use_regex":false}]},
		  "post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<s>","type_id":0}},{"Sequence":{"id":"A","type_id":0}}],"special_tokens":{"<s>":{"id":"<s>","ids":[2]}}},
		  "decoder":{"type":"ByteLevel"},"normalizer":{"type":"NFC"}}`,
		`{"model":{"type":"Unigram","vocab":[["<unk>",0],["\u2581a",-1],["b",-2]],"unk_id":0},
		  "pre_tokenizer":{"type":"Metaspace","replacement":"\u2581","prepend_scheme":"first","split":true},
		  "decoder":{"type":"Metaspace","replacement":"\u2581","prepend_scheme":"first"}}`,
		`{"model":{"type":"BPE","vocab":{"a":0},"merges":[]},"pre_tokenizer":{"type":"Whitespace"},"post_processor":{"type":"RobertaProcessing","sep":["a",0],"cls":["a",0]}}`,
		`{"model":`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tk, err := FromTokenizerJSON(data, nil)
		if err != nil {
			return
		}
		for _, s := range []string{"", "ab ab", " a\u2581b\n", "\xff<s>ab"} {
			ids := tk.Encode(s, true)
			for _, id := range ids {
				if id < 0 || id >= tk.VocabSize() {
					t.Fatalf("id %d out of range", id)
				}
			}
			tk.Decode(ids)
			d := tk.NewStreamDecoder()
			for _, id := range ids {
				d.Push(id)
			}
			d.Flush()
		}
	})
}
