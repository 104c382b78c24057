package main

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/d3-project/d3/defaultmodel"
	"github.com/d3-project/d3/tensor"
)

// TestBenchJSON runs d3 bench on the bundled model with tiny tests and
// checks the JSON object is complete and sane.
func TestBenchJSON(t *testing.T) {
	code, out, errOut := runSynthCLI("bench", "-p", "8", "-n", "6", "-r", "2", "-t", "2", "--json", "--d3-alpha", "0.8")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var r map[string]any
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	num := func(key string) float64 {
		v, ok := r[key].(float64)
		if !ok {
			t.Errorf("%s = %v, want a number", key, r[key])
		}
		return v
	}
	for _, key := range []string{"prefill_tokens_per_s", "decode_tokens_per_s", "prefill_tokens_per_s_median",
		"decode_tokens_per_s_median", "d3_decode_tokens_per_s", "measured_speedup"} {
		if v := num(key); !(v > 0) {
			t.Errorf("%s = %v, want > 0", key, v)
		}
	}
	for _, key := range []string{"prefill_tokens_per_s_stddev", "decode_tokens_per_s_stddev"} {
		if v := num(key); !(v >= 0) {
			t.Errorf("%s = %v, want >= 0", key, v)
		}
	}
	for _, key := range []string{"prefill_samples", "decode_samples", "d3_decode_samples"} {
		if s, _ := r[key].([]any); len(s) != 2 {
			t.Errorf("%s = %v, want 2 samples", key, r[key])
		}
	}
	// α 0.8 on 16 layers, core 2/2: steps 1..6 keep ⌊16·0.8^i⌋ floored at 4
	// layers = 12, 10, 8, 6, 5, 4 → mean 7.5.
	if v := num("mean_layers"); v != 7.5 {
		t.Errorf("mean_layers = %v, want 7.5", v)
	}
	if v := num("layer_speedup"); v != 16/7.5 {
		t.Errorf("layer_speedup = %v, want %v", v, 16/7.5)
	}
	// Bandwidth bound: the bundled Q8_0 model's layers hold 786432 weights
	// (q 256×256, k and v 128×256, o 256×256, gate/up/down 768×256) and its
	// untied head 4096×256, at 34 bytes per 32 weights in the file, or 36
	// in the packed copy the AVX-512 kernels read (float32 scales; every
	// matrix has whole 32-row tiles, so no padding).
	perBlock := 34.0
	if tensor.HasPacked(tensor.Q8_0) {
		perBlock = 36
	}
	layer, head := 786432*perBlock/32, 4096*256*perBlock/32
	if v, want := num("weight_bytes_speedup"), (16*layer+head)/(7.5*layer+head); math.Abs(v-want) > 1e-9*want {
		t.Errorf("weight_bytes_speedup = %v, want %v", v, want)
	}
	// The memory roofline: a full-depth step reads every layer and the head.
	if v, want := num("weight_bytes_per_token"), 16*layer+head; v != want {
		t.Errorf("weight_bytes_per_token = %v, want %v", v, want)
	}
	read, decode := num("weight_read_gb_per_s_median"), num("decode_gb_per_s")
	if !(read > 0) || !(decode > 0) {
		t.Errorf("weight_read_gb_per_s_median = %v, decode_gb_per_s = %v, want > 0", read, decode)
	}
	if v := num("decode_bandwidth_fraction"); math.Abs(v-decode/read) > 1e-9*v {
		t.Errorf("decode_bandwidth_fraction = %v, want %v / %v", v, decode, read)
	}
	if v, want := decode, num("decode_tokens_per_s_median")*(16*layer+head)/1e9; math.Abs(v-want) > 1e-9*want {
		t.Errorf("decode_gb_per_s = %v, want %v", v, want)
	}
	if s, _ := r["weight_read_samples"].([]any); len(s) != 2 {
		t.Errorf("weight_read_samples = %v, want 2 samples", r["weight_read_samples"])
	}
	if v := num("file_bytes"); v != float64(len(defaultmodel.GGUF)) {
		t.Errorf("file_bytes = %v, want %d", v, len(defaultmodel.GGUF))
	}
	// The process holds at least the embedded model; far more would mean a
	// unit error (the bundled model is 15 MiB).
	if v := num("peak_rss_bytes"); v < float64(len(defaultmodel.GGUF)) || v > 4<<30 {
		t.Errorf("peak_rss_bytes = %v", v)
	}
	if v := num("threads"); v != 2 {
		t.Errorf("threads = %v, want 2", v)
	}
}

// TestBenchSkip: -p 0 skips prefill (null in JSON); the text report works.
func TestBenchSkip(t *testing.T) {
	code, out, errOut := runSynthCLI("bench", "-p", "0", "-n", "3", "-r", "1", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var r map[string]any
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if v, ok := r["prefill_tokens_per_s"]; !ok || v != nil {
		t.Errorf("prefill_tokens_per_s = %v (present %v), want null", v, ok)
	}
	if _, ok := r["layer_speedup"]; ok {
		t.Error("layer_speedup reported without D³ flags")
	}
	code, out, errOut = runSynthCLI("bench", "-p", "4", "-n", "0", "-r", "1")
	if code != 0 || !strings.Contains(out, "pp4") || strings.Contains(out, "tg") || !strings.Contains(out, "peak RSS") {
		t.Errorf("exit %d, output %q %s", code, out, errOut)
	}
}

func TestBenchErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "-p", "-1"}, "must not be negative"},
		{[]string{"bench", "-p", "0", "-n", "0"}, "nothing to measure"},
		{[]string{"bench", "-r", "0"}, "-r must be at least 1"},
		{[]string{"bench", "-t", "-2"}, "-t must not be negative"},
		{[]string{"bench", "-p", "600"}, "need a context of 601 positions, the model has 512"},
		{[]string{"bench", "-p", "4", "-n", "0", "--d3-alpha", "0.9"}, "give -n > 0"},
		{[]string{"bench", "--d3-alpha", "1.5"}, "alpha"},
		{[]string{"bench", "-m", "/nonexistent/model.gguf"}, "no such file"},
		{[]string{"bench", "stray"}, "unexpected argument"},
	} {
		code, _, errOut := runSynthCLI(c.args...)
		if code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want an error containing %q", c.args, code, errOut, c.want)
		}
	}
}
