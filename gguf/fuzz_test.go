package gguf

import (
	"bytes"
	"reflect"
	"testing"
)

// FuzzParse checks that arbitrary input never panics, and that whatever
// parses survives a rewrite with Writer unchanged.
func FuzzParse(f *testing.F) {
	f.Add(spec{}.build())
	for _, c := range malformed {
		f.Add(c.spec.build())
	}
	f.Add([]byte{})
	f.Add([]byte("GGUF"))
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := Parse(data)
		if err != nil {
			return
		}
		w := NewWriter()
		for _, k := range g.Keys() {
			v, ok := g.Value(k)
			if !ok {
				t.Fatalf("key %q listed but has no value", k)
			}
			g.String(k)
			g.Uint(k)
			g.Int(k)
			g.Float(k)
			g.Float32s(k)
			g.Int32s(k)
			if err := w.AddKV(k, v); err != nil {
				t.Fatalf("parsed value of %q rejected by Writer: %v", k, err)
			}
		}
		for i := range g.Tensors {
			ti := &g.Tensors[i]
			if uint64(len(ti.Data)) != ti.Size {
				t.Fatalf("tensor %q: %d data bytes, size %d", ti.Name, len(ti.Data), ti.Size)
			}
			ti.Matrix() // may fail for unsupported types; must not panic
			if err := w.AddTensor(ti.Name, ti.Type, ti.Dims, ti.Data); err != nil {
				t.Fatalf("parsed tensor %q rejected by Writer: %v", ti.Name, err)
			}
		}
		var buf bytes.Buffer
		if _, err := w.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		h, err := Parse(buf.Bytes())
		if err != nil {
			t.Fatalf("rewritten file does not parse: %v", err)
		}
		if !reflect.DeepEqual(h.Keys(), g.Keys()) || len(h.Tensors) != len(g.Tensors) {
			t.Fatalf("rewrite changed keys or tensor count")
		}
		for _, k := range g.Keys() {
			a, _ := g.Value(k)
			b, _ := h.Value(k)
			if !reflect.DeepEqual(a, b) && !hasNaN(a) {
				t.Fatalf("rewrite changed %q: %#v -> %#v", k, a, b)
			}
		}
		for i := range g.Tensors {
			a, b := &g.Tensors[i], &h.Tensors[i]
			if a.Name != b.Name || a.Type != b.Type || !reflect.DeepEqual(a.Dims, b.Dims) || !bytes.Equal(a.Data, b.Data) {
				t.Fatalf("rewrite changed tensor %q", a.Name)
			}
		}
	})
}

// hasNaN reports whether v holds a NaN, which DeepEqual never equates.
func hasNaN(v any) bool {
	switch x := v.(type) {
	case float32:
		return x != x
	case float64:
		return x != x
	case []float32:
		for _, f := range x {
			if f != f {
				return true
			}
		}
	case []float64:
		for _, f := range x {
			if f != f {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if hasNaN(e) {
				return true
			}
		}
	}
	return false
}
