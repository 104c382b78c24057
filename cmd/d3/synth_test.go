package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runSynthCLI runs a d3 command line and returns its exit status and output.
func runSynthCLI(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestSynthCommand writes a small file of each type and runs info and
// generate on it.
func TestSynthCommand(t *testing.T) {
	dir := t.TempDir()
	const shape = "custom:hidden=256,layers=4,heads=4,kv-heads=2,ffn=512,vocab=1024,ctx=256"
	for _, typ := range []string{"f16", "bf16", "q8_0", "q4_0", "q4_k_m"} {
		path := filepath.Join(dir, typ+".gguf")
		code, out, errOut := runSynthCLI("synth", "--shape", shape, "--type", typ, "-o", path, "--seed", "3")
		if code != 0 {
			t.Fatalf("synth --type %s: exit %d: %s", typ, code, errOut)
		}
		if !strings.Contains(out, "wrote "+path) {
			t.Errorf("synth output %q does not name the file", out)
		}
		code, out, errOut = runSynthCLI("info", "-m", path)
		if code != 0 || !strings.Contains(out, "hidden size:      256") || !strings.Contains(out, "tied embeddings:  true") {
			t.Errorf("info on %s: exit %d: %s%s", typ, code, out, errOut)
		}
		code, out, errOut = runSynthCLI("generate", "-m", path, "-p", "Hello world", "-n", "4", "--json")
		if code != 0 {
			t.Fatalf("generate on %s: exit %d: %s", typ, code, errOut)
		}
		var res genResult
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("generate --json: %v: %s", err, out)
		}
		if len(res.Layers) == 0 || len(res.PromptTokens) < 2 {
			t.Errorf("generate on %s: %+v", typ, res)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 5 {
		t.Errorf("%d files in the output directory (temporary files left?), want 5", len(entries))
	}
}

func TestSynthErrors(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x.gguf")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"synth", "--type", "q4_0", "-o", out}, "--shape is required"},
		{[]string{"synth", "--shape", "llama-3.2-1b", "-o", out}, "--type is required"},
		{[]string{"synth", "--shape", "llama-3.2-1b", "--type", "q4_0"}, "-o FILE.gguf is required"},
		{[]string{"synth", "--shape", "llama-2-7b", "--type", "q4_0", "-o", out}, "presets: llama-3.2-1b, qwen2.5-0.5b, tinyllama-1.1b"},
		{[]string{"synth", "--shape", "llama-3.2-1b", "--type", "q3_k", "-o", out}, "types: f16, bf16, q8_0, q4_0, q4_k_m"},
		{[]string{"synth", "--shape", "custom:layers=zero", "--type", "q4_0", "-o", out}, "layers=\"zero\" is not a positive integer"},
		{[]string{"synth", "--shape", "custom:hidden=80,heads=4,kv-heads=2", "--type", "q4_0", "-o", out}, "llama-quantize rejects"},
		{[]string{"synth", "--shape", "tinyllama-1.1b", "--type", "q4_0", "-o", filepath.Dir(out)}, "is a directory"},
		{[]string{"synth", "--shape", "tinyllama-1.1b", "--type", "q4_0", "-o", out, "extra"}, "unexpected argument"},
	} {
		code, _, errOut := runSynthCLI(c.args...)
		if code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want an error containing %q", c.args, code, errOut, c.want)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a failed synth left a file")
	}
}
