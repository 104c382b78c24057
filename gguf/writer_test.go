package gguf

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/d3-project/d3/internal/testutil"
	"github.com/d3-project/d3/tensor"
)

// TestWriterReproducesLlamaCpp rewrites each llama.cpp-produced file from its
// parsed contents; the result must equal llama.cpp's bytes exactly.
func TestWriterReproducesLlamaCpp(t *testing.T) {
	paths, _ := filepath.Glob(testutil.Shared(t, "models", "gguf", "*.gguf"))
	if len(paths) == 0 {
		t.Fatal("no model GGUF files")
	}
	if !testutil.Long() {
		paths = paths[1:2] // one model file by default keeps the test fast
	}
	paths = append(paths, testutil.Shared(t, "golden", "tokenizers", "gguf", "llama3-vocab.gguf"))
	for _, p := range paths {
		want, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		f, err := Parse(want)
		if err != nil {
			t.Fatal(err)
		}
		w := NewWriter()
		for _, k := range f.Keys() {
			v, _ := f.Value(k)
			if err := w.AddKV(k, v); err != nil {
				t.Fatal(err)
			}
		}
		for _, ti := range f.Tensors {
			if err := w.AddTensor(ti.Name, ti.Type, ti.Dims, ti.Data); err != nil {
				t.Fatal(err)
			}
		}
		var buf bytes.Buffer
		n, err := w.WriteTo(&buf)
		if err != nil {
			t.Fatal(err)
		}
		got := buf.Bytes()
		if n != int64(len(got)) {
			t.Errorf("WriteTo reported %d bytes, wrote %d", n, len(got))
		}
		if !bytes.Equal(got, want) {
			i := 0
			for i < len(got) && i < len(want) && got[i] == want[i] {
				i++
			}
			t.Fatalf("%s: rewritten file (%d bytes) differs from llama.cpp's (%d bytes) at byte %d", filepath.Base(p), len(got), len(want), i)
		}
	}
}

func TestWriterRoundTrip(t *testing.T) {
	kv := []struct {
		k string
		v any
	}{
		{"general.alignment", uint32(64)},
		{"u8", uint8(1)}, {"i8", int8(-2)}, {"u16", uint16(3)}, {"i16", int16(-4)},
		{"u32", uint32(5)}, {"i32", int32(-6)}, {"u64", uint64(1 << 40)}, {"i64", int64(-1 << 40)},
		{"f32", float32(0.5)}, {"f64", 0.25}, {"bool", true}, {"str", "héllo"}, {"empty", ""},
		{"strs", []string{"a", "", "bc"}}, {"f32s", []float32{1, 2}}, {"bools", []bool{true, false}},
		{"i64s", []int64{-1}}, {"u8s", []uint8{}}, {"nested", []any{[]int32{1}, []any{[]string{"x"}}, []float64{}}},
	}
	w := NewWriter()
	for _, e := range kv {
		if err := w.AddKV(e.k, e.v); err != nil {
			t.Fatal(err)
		}
	}
	a := bytes.Repeat([]byte{1, 2, 3, 4}, 10) // F32 [10]: 40 bytes, so b needs padding
	if err := w.AddTensor("a", tensor.F32, []uint64{10}, a); err != nil {
		t.Fatal(err)
	}
	q := bytes.Repeat([]byte{9}, 2*34) // Q8_0 [32 2]
	if err := w.AddTensorFunc("q", tensor.Q8_0, []uint64{32, 2}, uint64(len(q)), func(out io.Writer) error {
		_, err := out.Write(q)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if f.Alignment != 64 || f.Version != 3 {
		t.Errorf("alignment %d version %d", f.Alignment, f.Version)
	}
	if len(f.Keys()) != len(kv) {
		t.Fatalf("%d keys, want %d", len(f.Keys()), len(kv))
	}
	for i, e := range kv {
		if f.Keys()[i] != e.k {
			t.Errorf("key %d = %q, want %q", i, f.Keys()[i], e.k)
		}
		if v, _ := f.Value(e.k); !reflect.DeepEqual(v, e.v) {
			t.Errorf("%s = %#v, want %#v", e.k, v, e.v)
		}
	}
	ta, _ := f.Tensor("a")
	tq, _ := f.Tensor("q")
	if ta == nil || tq == nil || !bytes.Equal(ta.Data, a) || !bytes.Equal(tq.Data, q) {
		t.Fatalf("tensor data did not round-trip")
	}
	if tq.Offset != 64 || tq.Type != tensor.Q8_0 || !reflect.DeepEqual(tq.Dims, []uint64{32, 2}) {
		t.Errorf("q = offset %d %s %v, want offset 64 Q8_0 [32 2]", tq.Offset, tq.Type, tq.Dims)
	}
	if buf.Len()%64 != 0 {
		t.Errorf("file length %d not padded to the alignment", buf.Len())
	}
}

func TestWriterErrors(t *testing.T) {
	w := NewWriter()
	if err := w.AddKV("n", 16); err == nil || !strings.Contains(err.Error(), "int") {
		t.Errorf("plain int: %v", err)
	}
	if _, err := w.WriteTo(io.Discard); err == nil {
		t.Error("WriteTo after a failed AddKV succeeded")
	}
	cases := []struct {
		name string
		add  func(w *Writer) error
		want string
	}{
		{"dup key", func(w *Writer) error { w.AddKV("k", true); return w.AddKV("k", false) }, `duplicate metadata key "k"`},
		{"bad nested", func(w *Writer) error { return w.AddKV("k", []any{uint8(1)}) }, "arrays of arrays hold only arrays"},
		{"map", func(w *Writer) error { return w.AddKV("k", map[string]int{}) }, "unsupported metadata value type"},
		{"size", func(w *Writer) error { return w.AddTensor("t", tensor.F32, []uint64{4}, make([]byte, 15)) }, "needs 16 bytes, given 15"},
		{"dims", func(w *Writer) error { return w.AddTensor("t", tensor.F32, nil, nil) }, "n_dims 0"},
		{"type", func(w *Writer) error { return w.AddTensor("t", tensor.DType(99), []uint64{4}, nil) }, "unknown tensor type 99"},
		{"block", func(w *Writer) error { return w.AddTensor("t", tensor.Q4_K, []uint64{255}, nil) }, "not a whole number"},
		{"dup tensor", func(w *Writer) error {
			w.AddTensor("t", tensor.F32, []uint64{1}, make([]byte, 4))
			return w.AddTensor("t", tensor.F32, []uint64{1}, make([]byte, 4))
		}, `duplicate tensor name "t"`},
	}
	for _, c := range cases {
		if err := c.add(NewWriter()); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}

	short := NewWriter()
	short.AddTensorFunc("t", tensor.F32, []uint64{2}, 8, func(out io.Writer) error {
		_, err := out.Write(make([]byte, 4))
		return err
	})
	if _, err := short.WriteTo(io.Discard); err == nil || !strings.Contains(err.Error(), "produced 4 bytes, want 8") {
		t.Errorf("short tensor writer: %v", err)
	}
	boom := errors.New("boom")
	failing := NewWriter()
	failing.AddTensorFunc("t", tensor.F32, []uint64{2}, 8, func(io.Writer) error { return boom })
	if _, err := failing.WriteTo(io.Discard); !errors.Is(err, boom) || !strings.Contains(err.Error(), `"t"`) {
		t.Errorf("failing tensor writer: %v", err)
	}
	align := NewWriter()
	align.AddKV("general.alignment", uint32(24))
	if _, err := align.WriteTo(io.Discard); err == nil || !strings.Contains(err.Error(), "power of two") {
		t.Errorf("alignment 24: %v", err)
	}
}

func BenchmarkWriteVocab(b *testing.B) {
	toks := make([]string, 128256)
	scores := make([]float32, len(toks))
	types := make([]int32, len(toks))
	for i := range toks {
		toks[i] = strings.Repeat("x", i%13+1)
	}
	for b.Loop() {
		w := NewWriter()
		w.AddKV("tokenizer.ggml.tokens", toks)
		w.AddKV("tokenizer.ggml.scores", scores)
		w.AddKV("tokenizer.ggml.token_type", types)
		w.AddKV("tokenizer.ggml.merges", toks[:100000])
		if _, err := w.WriteTo(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
