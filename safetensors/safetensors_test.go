package safetensors

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// file assembles a safetensors file from a literal header and data section.
func file(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

const validHeader = `{"__metadata__":{"format":"pt"},` +
	`"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},` +
	`"b":{"dtype":"BF16","shape":[4],"data_offsets":[24,32]},` +
	`"ids":{"dtype":"I64","shape":[],"data_offsets":[32,40]},` +
	`"empty":{"dtype":"F16","shape":[0,5],"data_offsets":[40,40]}}   `

func TestParseSmall(t *testing.T) {
	f, err := Parse(file(validHeader, seq(40)))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.Names, []string{"w", "b", "ids", "empty"}) {
		t.Errorf("Names = %q", f.Names)
	}
	if f.Metadata["format"] != "pt" {
		t.Errorf("Metadata = %v", f.Metadata)
	}
	w := f.Tensors["w"]
	if w.DType != "F32" || !reflect.DeepEqual(w.Shape, []int{2, 3}) || len(w.Data) != 24 || w.Data[0] != 0 {
		t.Errorf("w = %+v", w)
	}
	m, err := w.Matrix()
	if err != nil || m.Rows != 2 || m.Cols != 3 {
		t.Errorf("w matrix %v %v", m, err)
	}
	b := f.Tensors["b"]
	if b.Data[0] != 24 || len(b.Data) != 8 {
		t.Errorf("b data starts %d, len %d", b.Data[0], len(b.Data))
	}
	if m, err := b.Matrix(); err != nil || m.Rows != 1 || m.Cols != 4 {
		t.Errorf("b matrix %v %v", m, err)
	}
	if _, err := f.Tensors["ids"].Matrix(); err == nil || !strings.Contains(err.Error(), "dtype I64") {
		t.Errorf("I64 matrix: %v", err)
	}
	if len(f.Tensors["ids"].Shape) != 0 || len(f.Tensors["ids"].Data) != 8 {
		t.Errorf("scalar ids = %+v", f.Tensors["ids"])
	}
}

func TestTruncated(t *testing.T) {
	full := file(validHeader, seq(40))
	for n := 0; n < len(full); n++ {
		if _, err := Parse(full[:n]); err == nil {
			t.Fatalf("prefix of %d/%d bytes parsed", n, len(full))
		}
	}
}

var malformed = []struct {
	name string
	data []byte
	want string
}{
	{"short", []byte{1, 2, 3}, "shorter than the 8-byte header length"},
	{"huge header length", binary.LittleEndian.AppendUint64(nil, 1<<40), "header length 1099511627776 exceeds the 104857600-byte limit"},
	{"header past end", append(binary.LittleEndian.AppendUint64(nil, 100), "{}"...), "header length 100 exceeds the 2 bytes after it"},
	{"not an object", file(`[1,2]`, nil), "not a JSON object"},
	{"bad JSON", file(`{"w":{"dtype":"F32",}`, nil), `tensor "w": bad header entry`},
	{"unterminated", file(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}`, seq(4)), "header JSON"},
	{"trailing", file(`{} {}`, nil), "trailing data"},
	{"unknown dtype", file(`{"w":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}}`, seq(1)), `tensor "w": unknown dtype "Q4"`},
	{"missing shape", file(`{"w":{"dtype":"F32","data_offsets":[0,4]}}`, seq(4)), "missing shape"},
	{"negative dim", file(`{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, seq(4)), "negative dimension"},
	{"fractional dim", file(`{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}`, seq(4)), "bad header entry"},
	{"shape overflow", file(`{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}`, seq(4)), "overflows"},
	{"bytes overflow", file(`{"w":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,4]}}`, seq(4)), "byte size"},
	{"one offset", file(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}}`, seq(4)), "not a [begin, end] pair"},
	{"reversed offsets", file(`{"w":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}`, seq(4)), "not a valid range"},
	{"offsets out of range", file(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, seq(4)), "data_offsets [0, 8] lie outside the 4-byte data section"},
	{"huge offsets", file(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[9223372036854775800,9223372036854775804]}}`, seq(4)), "lie outside"},
	{"size mismatch", file(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, seq(8)), "span 4 bytes, but F32 [2] needs 8"},
	{"overlap", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"z":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, seq(8)), `tensors "a" [0, 8) and "b" [4, 8) overlap`},
	{"duplicate", file(`{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"w":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, seq(2)), `duplicate header key "w"`},
	{"metadata not strings", file(`{"__metadata__":{"n":1}}`, nil), "__metadata__ is not an object of strings"},
}

func TestMalformed(t *testing.T) {
	for _, c := range malformed {
		t.Run(c.name, func(t *testing.T) {
			f, err := Parse(c.data)
			if err == nil {
				t.Fatalf("parsed without error: %v", f.Names)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not contain %q", err, c.want)
			}
		})
	}
}

func writeFiles(t *testing.T, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

var (
	shardA = file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, seq(4))
	shardB = file(`{"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, seq(8))
	goodIx = []byte(`{"metadata":{"total_size":12},"weight_map":{"a":"s1.safetensors","b":"s2.safetensors"}}`)
)

func TestOpenDir(t *testing.T) {
	dir := writeFiles(t, map[string][]byte{"s1.safetensors": shardA, "s2.safetensors": shardB, IndexFile: goodIx})
	s, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Files) != 2 || len(s.Tensors) != 2 {
		t.Errorf("%d files, %d tensors", len(s.Files), len(s.Tensors))
	}
	if b, ok := s.Tensor("b"); !ok || len(b.Data) != 8 {
		t.Errorf("b = %+v", b)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// A lone file with another name is used when there is no index.
	s, err = OpenDir(writeFiles(t, map[string][]byte{"weights.safetensors": shardA}))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Tensor("a"); !ok {
		t.Error("lone file: tensor a missing")
	}
	s.Close()
}

func TestOpenDirErrors(t *testing.T) {
	cases := []struct {
		name  string
		files map[string][]byte
		want  string
	}{
		{"empty dir", map[string][]byte{}, "no model.safetensors.index.json"},
		{"two files no index", map[string][]byte{"x.safetensors": shardA, "y.safetensors": shardB}, "2 *.safetensors files and no"},
		{"malformed index", map[string][]byte{IndexFile: []byte(`{"weight_map":`)}, "malformed index JSON"},
		{"index without map", map[string][]byte{IndexFile: []byte(`{"metadata":{}}`)}, "no weight_map entries"},
		{"missing shard", map[string][]byte{"s1.safetensors": shardA, IndexFile: goodIx}, "s2.safetensors"},
		{"missing tensor", map[string][]byte{"s1.safetensors": shardA, "s2.safetensors": file(`{"c":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, seq(8)),
			IndexFile: goodIx}, `tensor "b" is listed in shard s2.safetensors but that file does not hold it`},
		{"path in shard name", map[string][]byte{IndexFile: []byte(`{"weight_map":{"a":"../s1.safetensors"}}`)}, `shard name "../s1.safetensors" is not a plain file name`},
		{"tensor in two shards", map[string][]byte{"s1.safetensors": shardA, "s2.safetensors": shardA,
			IndexFile: goodIx}, `tensor "a" appears in more than one shard`},
		{"bad shard", map[string][]byte{"s1.safetensors": []byte("junk"), "s2.safetensors": shardB, IndexFile: goodIx}, "s1.safetensors: file of 4 bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := OpenDir(writeFiles(t, c.files))
			if err == nil {
				s.Close()
				t.Fatal("opened without error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not contain %q", err, c.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add(file(validHeader, seq(40)))
	for _, c := range malformed {
		f.Add(c.data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sf, err := Parse(data)
		if err != nil {
			return
		}
		if len(sf.Names) != len(sf.Tensors) {
			t.Fatalf("%d names, %d tensors", len(sf.Names), len(sf.Tensors))
		}
		for _, name := range sf.Names {
			tn := sf.Tensors[name]
			n := dtypeSizes[tn.DType]
			for _, d := range tn.Shape {
				n *= uint64(d)
			}
			if uint64(len(tn.Data)) != n {
				t.Fatalf("%s: %d bytes for %s %v", name, len(tn.Data), tn.DType, tn.Shape)
			}
			tn.Matrix() // may fail; must not panic
		}
	})
}
