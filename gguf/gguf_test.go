package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/d3-project/d3/tensor"
)

// builder assembles GGUF bytes by hand, independently of Writer, so tests
// can produce malformed files.
type builder struct{ bytes.Buffer }

func (b *builder) u8(v uint8) *builder { b.WriteByte(v); return b }
func (b *builder) u32(v uint32) *builder {
	b.Write(binary.LittleEndian.AppendUint32(nil, v))
	return b
}
func (b *builder) u64(v uint64) *builder {
	b.Write(binary.LittleEndian.AppendUint64(nil, v))
	return b
}
func (b *builder) str(s string) *builder { b.u64(uint64(len(s))); b.WriteString(s); return b }
func (b *builder) pad(align int) *builder {
	for b.Len()%align != 0 {
		b.WriteByte(0)
	}
	return b
}

type tinfo struct {
	name string
	dims []uint64
	typ  uint32
	off  uint64
}

// spec describes a small file; zero values give the valid default.
type spec struct {
	magic    string
	version  uint32
	nTensors *uint64 // overrides len(tensors)
	nKV      *uint64 // overrides the default count
	kvs      func(b *builder) uint64
	tensors  []tinfo
	data     []byte
}

func ptr(v uint64) *uint64 { return &v }

var validTensors = []tinfo{
	{"a", []uint64{8}, 0, 0},     // F32, 32 bytes
	{"b", []uint64{8, 2}, 0, 32}, // F32, 64 bytes
}

func defaultKVs(b *builder) uint64 {
	b.str("general.architecture").u32(typeString).str("llama")
	b.str("test.ints").u32(typeArray).u32(typeInt32).u64(3).u32(1).u32(2).u32(math.MaxUint32)
	// An array of two arrays: [[7], ["x","yz"]].
	b.str("test.nested").u32(typeArray).u32(typeArray).u64(2)
	b.u32(typeUint8).u64(1).u8(7)
	b.u32(typeString).u64(2).str("x").str("yz")
	b.str("test.flag").u32(typeBool).u8(1)
	return 4
}

func (s spec) build() []byte {
	var b builder
	if s.magic == "" {
		s.magic = Magic
	}
	if s.version == 0 {
		s.version = 3
	}
	if s.kvs == nil {
		s.kvs = defaultKVs
	}
	if s.tensors == nil {
		s.tensors = validTensors
	}
	if s.data == nil {
		s.data = make([]byte, 96)
		for i := range s.data {
			s.data[i] = byte(i)
		}
	}
	var kv builder
	n := s.kvs(&kv)
	if s.nKV != nil {
		n = *s.nKV
	}
	nt := uint64(len(s.tensors))
	if s.nTensors != nil {
		nt = *s.nTensors
	}
	b.WriteString(s.magic)
	b.u32(s.version).u64(nt).u64(n)
	b.Write(kv.Bytes())
	for _, t := range s.tensors {
		b.str(t.name).u32(uint32(len(t.dims)))
		for _, d := range t.dims {
			b.u64(d)
		}
		b.u32(t.typ).u64(t.off)
	}
	b.pad(DefaultAlignment)
	b.Write(s.data)
	return b.Bytes()
}

func TestParseSmall(t *testing.T) {
	f, err := Parse(spec{}.build())
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != 3 || f.Alignment != 32 {
		t.Errorf("version %d alignment %d, want 3 32", f.Version, f.Alignment)
	}
	if want := []string{"general.architecture", "test.ints", "test.nested", "test.flag"}; !reflect.DeepEqual(f.Keys(), want) {
		t.Errorf("Keys = %q, want %q", f.Keys(), want)
	}
	if s, ok := f.String("general.architecture"); !ok || s != "llama" {
		t.Errorf("architecture = %q %v", s, ok)
	}
	if v, _ := f.Value("test.ints"); !reflect.DeepEqual(v, []int32{1, 2, -1}) {
		t.Errorf("test.ints = %#v", v)
	}
	if v, _ := f.Value("test.nested"); !reflect.DeepEqual(v, []any{[]uint8{7}, []string{"x", "yz"}}) {
		t.Errorf("test.nested = %#v", v)
	}
	if v, ok := f.Bool("test.flag"); !ok || !v {
		t.Errorf("test.flag = %v %v", v, ok)
	}
	if fs, ok := f.Float32s("test.ints"); !ok || !reflect.DeepEqual(fs, []float32{1, 2, -1}) {
		t.Errorf("Float32s(test.ints) = %v %v", fs, ok)
	}
	if _, ok := f.Uint("general.architecture"); ok {
		t.Error("Uint of a string succeeded")
	}
	if len(f.Tensors) != 2 {
		t.Fatalf("%d tensors, want 2", len(f.Tensors))
	}
	b, ok := f.Tensor("b")
	if !ok || !reflect.DeepEqual(b.Dims, []uint64{8, 2}) || b.Type != tensor.F32 || b.Size != 64 || b.Offset != 32 {
		t.Fatalf("tensor b = %+v", b)
	}
	if b.Data[0] != 32 || len(b.Data) != 64 {
		t.Errorf("tensor b data starts %d, len %d; want 32, 64", b.Data[0], len(b.Data))
	}
	m, err := b.Matrix()
	if err != nil {
		t.Fatal(err)
	}
	if m.Rows != 2 || m.Cols != 8 {
		t.Errorf("matrix %d×%d, want 2×8", m.Rows, m.Cols)
	}
}

func TestParseV2(t *testing.T) {
	f, err := Parse(spec{version: 2}.build())
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != 2 || len(f.Tensors) != 2 || len(f.Keys()) != 4 {
		t.Errorf("v2: version %d, %d tensors, %d keys", f.Version, len(f.Tensors), len(f.Keys()))
	}
}

func TestGetters(t *testing.T) {
	f := &File{values: map[string]any{
		"u8": uint8(200), "i8": int8(-3), "i64": int64(5), "u64big": uint64(math.MaxUint64),
		"f32": float32(1.5), "u32s": []uint32{1, math.MaxUint32}, "i16s": []int16{-2, 3},
		"f64s": []float64{0.25}, "strs": []string{"a"},
	}}
	if v, ok := f.Uint("u8"); !ok || v != 200 {
		t.Errorf("Uint(u8) = %v %v", v, ok)
	}
	if _, ok := f.Uint("i8"); ok {
		t.Error("Uint of a negative int8 succeeded")
	}
	if v, ok := f.Int("i8"); !ok || v != -3 {
		t.Errorf("Int(i8) = %v %v", v, ok)
	}
	if _, ok := f.Int("u64big"); ok {
		t.Error("Int of 2^64-1 succeeded")
	}
	if v, ok := f.Uint("u64big"); !ok || v != math.MaxUint64 {
		t.Errorf("Uint(u64big) = %v %v", v, ok)
	}
	if v, ok := f.Float("f32"); !ok || v != 1.5 {
		t.Errorf("Float(f32) = %v %v", v, ok)
	}
	if v, ok := f.Float("i64"); !ok || v != 5 {
		t.Errorf("Float(i64) = %v %v", v, ok)
	}
	if _, ok := f.Int32s("u32s"); ok {
		t.Error("Int32s of a uint32 array holding 2^32-1 succeeded")
	}
	if v, ok := f.Int32s("i16s"); !ok || !reflect.DeepEqual(v, []int32{-2, 3}) {
		t.Errorf("Int32s(i16s) = %v %v", v, ok)
	}
	if v, ok := f.Float32s("f64s"); !ok || !reflect.DeepEqual(v, []float32{0.25}) {
		t.Errorf("Float32s(f64s) = %v %v", v, ok)
	}
	if _, ok := f.Float32s("strs"); ok {
		t.Error("Float32s of strings succeeded")
	}
	if v, ok := f.Strings("strs"); !ok || !reflect.DeepEqual(v, []string{"a"}) {
		t.Errorf("Strings(strs) = %v %v", v, ok)
	}
	if _, ok := f.String("missing"); ok {
		t.Error("missing key found")
	}
}

func TestTruncated(t *testing.T) {
	full := spec{}.build()
	if _, err := Parse(full); err != nil {
		t.Fatal(err)
	}
	// The tensors fill the data section exactly, so every proper prefix is
	// missing something.
	for n := 0; n < len(full); n++ {
		_, err := Parse(full[:n])
		if err == nil {
			t.Fatalf("prefix of %d/%d bytes parsed without error", n, len(full))
		}
		if !errors.Is(err, errTruncated) && !strings.Contains(err.Error(), "remaining") {
			t.Fatalf("prefix of %d bytes: error %q does not report truncation", n, err)
		}
	}
}

func kvs(fn func(b *builder), n uint64) func(b *builder) uint64 {
	return func(b *builder) uint64 { fn(b); return n }
}

// malformed lists broken files and a fragment of the error each must give.
var malformed = []struct {
	name string
	spec spec
	want string
}{
	{"wrong magic", spec{magic: "GGML"}, "bad magic"},
	{"version 1", spec{version: 1}, "unsupported GGUF version 1"},
	{"version 4", spec{version: 4}, "unsupported GGUF version 4"},
	{"tensor count 2^40", spec{nTensors: ptr(1 << 40)}, "tensor count 1099511627776"},
	{"kv count 2^40", spec{nKV: ptr(1 << 40)}, "key/value count 1099511627776"},
	{"key length 2^62", spec{kvs: kvs(func(b *builder) { b.u64(1 << 62) }, 1)}, "length 4611686018427387904 exceeds"},
	{"string value length 2^62", spec{kvs: kvs(func(b *builder) { b.str("k").u32(typeString).u64(1 << 62) }, 1)}, "length 4611686018427387904 exceeds"},
	{"array of 2^60", spec{kvs: kvs(func(b *builder) { b.str("k").u32(typeArray).u32(typeUint8).u64(1 << 60) }, 1)}, "array length 1152921504606846976"},
	{"string array of 2^60", spec{kvs: kvs(func(b *builder) { b.str("k").u32(typeArray).u32(typeString).u64(1 << 60) }, 1)}, "array length 1152921504606846976"},
	{"unknown value type", spec{kvs: kvs(func(b *builder) { b.str("k").u32(13).u32(0) }, 1)}, "unknown metadata value type 13"},
	{"unknown array type", spec{kvs: kvs(func(b *builder) { b.str("k").u32(typeArray).u32(77).u64(0) }, 1)}, "unknown array element type 77"},
	{"bool 2", spec{kvs: kvs(func(b *builder) { b.str("k").u32(typeBool).u8(2) }, 1)}, "bool value 2"},
	{"duplicate key", spec{kvs: kvs(func(b *builder) { b.str("k").u32(typeUint8).u8(1).str("k").u32(typeUint8).u8(2) }, 2)}, `duplicate metadata key "k"`},
	{"deep nesting", spec{kvs: kvs(func(b *builder) {
		b.str("k").u32(typeArray)
		for i := 0; i < 20; i++ {
			b.u32(typeArray).u64(1)
		}
		b.u32(typeUint8).u64(0)
	}, 1)}, "nested deeper"},
	{"alignment 48", spec{kvs: kvs(func(b *builder) { b.str("general.alignment").u32(typeUint32).u32(48) }, 1)}, "general.alignment 48 is not a power of two"},
	{"alignment string", spec{kvs: kvs(func(b *builder) { b.str("general.alignment").u32(typeString).str("32") }, 1)}, "general.alignment 32 is not a power of two"},
	{"offset outside", spec{tensors: []tinfo{{"a", []uint64{8}, 0, 1 << 20}}}, `tensor "a": data [1048576, +32) lies outside`},
	{"size outside", spec{tensors: []tinfo{{"a", []uint64{1 << 30}, 0, 0}}}, `tensor "a": data [0, +4294967296) lies outside`},
	{"offset near 2^64", spec{tensors: []tinfo{{"a", []uint64{8}, 0, math.MaxUint64 - 31}}}, "lies outside"},
	{"misaligned", spec{tensors: []tinfo{{"a", []uint64{8}, 0, 4}}}, "offset 4 is not a multiple of the alignment 32"},
	{"overlap", spec{tensors: []tinfo{{"a", []uint64{8}, 0, 0}, {"b", []uint64{16}, 0, 32}, {"z", []uint64{0}, 0, 32}, {"c", []uint64{8}, 0, 64}}}, `tensors "b" [32, +64) and "c" [64, +32) overlap`},
	{"n_dims 0", spec{tensors: []tinfo{{"a", []uint64{}, 0, 0}}}, "n_dims 0 out of range"},
	{"n_dims 9", spec{tensors: []tinfo{{"a", make([]uint64, 9), 0, 0}}}, "n_dims 9 out of range"},
	{"unknown type", spec{tensors: []tinfo{{"a", []uint64{8}, 99, 0}}}, `tensor "a": unknown tensor type 99`},
	{"partial block", spec{tensors: []tinfo{{"a", []uint64{30}, uint32(tensor.Q4_0), 0}}}, "not a whole number of 32-element blocks"},
	{"dims overflow", spec{tensors: []tinfo{{"a", []uint64{1 << 32, 1 << 32}, 0, 0}}}, "overflows"},
	{"bytes overflow", spec{tensors: []tinfo{{"a", []uint64{1 << 62}, 0, 0}}}, "byte size"},
	{"duplicate tensor", spec{tensors: []tinfo{{"a", []uint64{8}, 0, 0}, {"a", []uint64{8}, 0, 32}}}, `duplicate tensor name "a"`},
}

func TestMalformed(t *testing.T) {
	for _, c := range malformed {
		t.Run(c.name, func(t *testing.T) {
			f, err := Parse(c.spec.build())
			if err == nil {
				t.Fatalf("parsed without error: %d tensors", len(f.Tensors))
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not contain %q", err, c.want)
			}
		})
	}
}

func TestOpenErrorNamesPath(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.gguf")
	if err := os.WriteFile(p, spec{version: 1}.build(), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(p)
	if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "version 1") {
		t.Fatalf("Open error %v does not name the path and the problem", err)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing.gguf")); err == nil || !strings.Contains(err.Error(), "missing.gguf") {
		t.Fatalf("Open of a missing file: %v", err)
	}
	empty := filepath.Join(t.TempDir(), "empty.gguf")
	os.WriteFile(empty, nil, 0o644)
	if _, err := Open(empty); err == nil {
		t.Fatal("empty file opened")
	}
}
