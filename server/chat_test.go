package server

import (
	"strings"
	"testing"

	"github.com/d3-project/d3/internal/testutil"
	"github.com/d3-project/d3/tokenizer"
)

func loadTokenizer(t *testing.T, name string) *tokenizer.Tokenizer {
	t.Helper()
	tok, err := tokenizer.Load(testutil.Shared(t, "golden", "tokenizers", name))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func mustTemplate(t *testing.T, src string, tok *tokenizer.Tokenizer) *chatTemplate {
	t.Helper()
	ct, err := newChatTemplate(src, tok)
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

func render(t *testing.T, ct *chatTemplate, msgs ...chatMessage) string {
	t.Helper()
	out, err := ct.render(msgs, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func count(ids []int, id int) int {
	n := 0
	for _, x := range ids {
		if x == id {
			n++
		}
	}
	return n
}

var (
	user      = func(s string) chatMessage { return chatMessage{Role: "user", Content: s} }
	system    = func(s string) chatMessage { return chatMessage{Role: "system", Content: s} }
	assistant = func(s string) chatMessage { return chatMessage{Role: "assistant", Content: s} }
)

// The models' own templates (from their tokenizer_config.json) render the
// formats their model cards document.
func TestModelChatTemplates(t *testing.T) {
	t.Run("llama3", func(t *testing.T) {
		tok := loadTokenizer(t, "llama3")
		ct := mustTemplate(t, tok.ChatTemplate(), tok)
		got := render(t, ct, user("Hi"))
		want := "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
		if got != want {
			t.Fatalf("rendered\n%q\nwant\n%q", got, want)
		}
		got = render(t, ct, system("Be brief."), user(" Hi "), assistant("Hello!"), user("2+2?"))
		want = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>" +
			"<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>" +
			"<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>" +
			"<|start_header_id|>user<|end_header_id|>\n\n2+2?<|eot_id|>" +
			"<|start_header_id|>assistant<|end_header_id|>\n\n"
		if got != want {
			t.Fatalf("rendered\n%q\nwant\n%q", got, want)
		}
		// The template writes BOS itself: exactly one, then the header token.
		ids := ct.tokens(got)
		if ids[0] != 128000 || count(ids, 128000) != 1 || ids[1] != 128006 {
			t.Fatalf("tokens start %v, want one BOS 128000 then <|start_header_id|> 128006", ids[:min(4, len(ids))])
		}
	})
	t.Run("qwen3", func(t *testing.T) {
		tok := loadTokenizer(t, "qwen3")
		ct := mustTemplate(t, tok.ChatTemplate(), tok)
		got := render(t, ct, system("You are helpful."), user("Hi"))
		want := "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
		if got != want {
			t.Fatalf("rendered\n%q\nwant\n%q", got, want)
		}
		got = render(t, ct, user("Hi"), assistant("Hello!"), user("Bye"))
		want = "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n"
		if got != want {
			t.Fatalf("rendered\n%q\nwant\n%q", got, want)
		}
		// chat_template_kwargs reach the template (Qwen3's thinking switch).
		out, err := ct.render([]chatMessage{user("Hi")}, map[string]any{"enable_thinking": false, "messages": "ignored"})
		if err != nil {
			t.Fatal(err)
		}
		if want := "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"; out != want {
			t.Fatalf("with enable_thinking=false rendered\n%q\nwant\n%q", out, want)
		}
		ids := ct.tokens(got)
		if ids[0] != 151644 { // <|im_start|>, no BOS
			t.Fatalf("tokens start %v, want <|im_start|> 151644", ids[:3])
		}
	})
	t.Run("mistral-v0.1 has none", func(t *testing.T) {
		if tok := loadTokenizer(t, "mistral-v0.1"); tok.ChatTemplate() != "" {
			t.Fatalf("mistral-v0.1 has a chat template: %q", tok.ChatTemplate())
		}
	})
}

// The built-in templates render their formats' reference layouts, with the
// bundled model's tokenizer.
func TestBuiltinTemplates(t *testing.T) {
	tok := bundled(t).Tokenizer
	conv := []chatMessage{system("Be brief."), user("Hi"), assistant("Hello!"), user("Bye")}
	cases := map[string]string{
		"chatml": "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n" +
			"<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n",
		"llama3": "<s><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>" +
			"<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>" +
			"<|start_header_id|>assistant<|end_header_id|>\n\n",
		"llama2": "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello! </s><s>[INST] Bye [/INST]",
	}
	if len(cases) != len(BuiltinTemplateNames()) {
		t.Fatalf("built-in templates %v, tested %d", BuiltinTemplateNames(), len(cases))
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			src, err := BuiltinTemplate(name)
			if err != nil {
				t.Fatal(err)
			}
			ct := mustTemplate(t, src, tok)
			if got := render(t, ct, conv...); got != want {
				t.Fatalf("rendered\n%q\nwant\n%q", got, want)
			}
			ids := ct.tokens(render(t, ct, conv...))
			if ids[0] != tok.BOS() || ids[1] == tok.BOS() {
				t.Fatalf("tokens start %v: want exactly one BOS (%d) first", ids[:3], tok.BOS())
			}
		})
	}
	if _, err := BuiltinTemplate("vicuna"); err == nil || !strings.Contains(err.Error(), "chatml") {
		t.Fatalf("unknown template: error %v, want one listing the built-ins", err)
	}
	// Llama 2's template refuses a conversation whose roles do not alternate.
	src, _ := BuiltinTemplate("llama2")
	if _, err := mustTemplate(t, src, tok).render([]chatMessage{user("a"), user("b")}, nil); err == nil ||
		!strings.Contains(err.Error(), "alternate") {
		t.Fatalf("non-alternating roles: error %v, want the template's exception", err)
	}
}

func TestBadTemplate(t *testing.T) {
	tok := bundled(t).Tokenizer
	for _, src := range []string{"{% for x in %}", "{{ messages[0]['content'] ", "{% endfor %}"} {
		if _, err := newChatTemplate(src, tok); err == nil {
			t.Errorf("template %q compiled, want an error", src)
		}
	}
	ct := mustTemplate(t, "{% if messages|length > 1 %}{{ raise_exception('one message only') }}{% endif %}ok", tok)
	if _, err := ct.render([]chatMessage{user("a"), user("b")}, nil); err == nil || !strings.Contains(err.Error(), "one message only") {
		t.Errorf("render error %v, want the template's exception", err)
	}
}
