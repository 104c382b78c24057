package tokenizer

import (
	"os"
	"strings"
	"testing"

	"github.com/d3-project/d3/internal/testutil"
)

// longPrompt is a realistic few-thousand-character prompt: the GSM8K
// chain-of-thought exemplars.
func longPrompt(tb testing.TB) string {
	data, err := os.ReadFile(testutil.Shared(tb, "data", "gsm8k-cot", "gsm8k-cot.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	return string(data)
}

func BenchmarkEncode(b *testing.B) {
	text := longPrompt(b)
	for _, name := range []string{"llama3", "qwen3", "mistral-v0.1", "d3-tiny"} {
		tk := loadShared(b, goldenTokenizerPath(name)...)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				tk.Encode(text, true)
			}
		})
	}
}

// Long inputs without word breaks must not be quadratic: one 100k-character
// word goes through BPE as a single sequence.
func TestLongInputs(t *testing.T) {
	for _, name := range []string{"llama3", "mistral-v0.1", "d3-tiny"} {
		tk := loadShared(t, goldenTokenizerPath(name)...)
		for _, s := range []string{strings.Repeat("ab", 50000), strings.Repeat(" ", 100000), strings.Repeat("x y\n", 25000)} {
			ids := tk.Encode(s, false)
			if got := tk.Decode(ids); got != s {
				t.Errorf("%s: round trip of a %d-byte input failed", name, len(s))
			}
		}
	}
	// The file names "</s>" as a stop string; Mistral parses it as a special
	// token and prefixes the text after it with a space, so leave it out.
	prompt := strings.ReplaceAll(longPrompt(t), "</s>", "")
	for _, name := range []string{"llama3", "qwen3", "mistral-v0.1", "d3-tiny"} {
		tk := loadShared(t, goldenTokenizerPath(name)...)
		if got := tk.Decode(tk.Encode(prompt, false)); got != prompt {
			t.Errorf("%s: prompt round trip failed", name)
		}
	}
}
