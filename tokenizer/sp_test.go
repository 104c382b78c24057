package tokenizer

import (
	"encoding/binary"
	"math"
	"slices"
	"testing"
)

// protoBuilder writes just enough protobuf for hand-made ModelProtos.
type protoBuilder []byte

func (b protoBuilder) varint(v uint64) protoBuilder {
	return binary.AppendUvarint(b, v)
}
func (b protoBuilder) tag(num, wire int) protoBuilder { return b.varint(uint64(num<<3 | wire)) }
func (b protoBuilder) bytesField(num int, v []byte) protoBuilder {
	return append(b.tag(num, wireLen).varint(uint64(len(v))), v...)
}
func (b protoBuilder) uintField(num int, v uint64) protoBuilder {
	return b.tag(num, wireVarint).varint(v)
}
func (b protoBuilder) floatField(num int, v float32) protoBuilder {
	return binary.LittleEndian.AppendUint32(b.tag(num, wireI32), math.Float32bits(v))
}

type testPiece struct {
	text  string
	score float32
	typ   int
}

func buildSPModel(pieces []testPiece, modelType int, byteFallback, dummyPrefix, removeWS bool) []byte {
	var b protoBuilder
	for _, p := range pieces {
		var pb protoBuilder
		pb = pb.bytesField(1, []byte(p.text)).floatField(2, p.score)
		if p.typ != typeNormal {
			pb = pb.uintField(3, uint64(p.typ))
		}
		b = b.bytesField(1, pb)
	}
	bit := func(v bool) uint64 {
		if v {
			return 1
		}
		return 0
	}
	var tr protoBuilder
	tr = tr.uintField(3, uint64(modelType)).uintField(35, bit(byteFallback))
	b = b.bytesField(2, tr)
	var nr protoBuilder
	nr = nr.bytesField(1, []byte("identity")).uintField(3, bit(dummyPrefix)).uintField(4, bit(removeWS))
	return b.bytesField(3, nr)
}

func TestSentencePieceUnigram(t *testing.T) {
	pieces := []testPiece{
		{"<unk>", 0, typeUnknown}, {"<s>", 0, typeControl}, {"</s>", 0, typeControl},
		{"▁ab", -1, typeNormal}, {"▁a", -2, typeNormal}, {"b", -2, typeNormal},
		{"▁", -3, typeNormal}, {"a", -3, typeNormal}, {"<0x63>", 0, typeByte}, {"<sep>", 0, typeUserDefined},
	}
	for _, c := range []struct {
		byteFallback bool
		in           string
		want         []int
	}{
		{false, "ab", []int{3}},
		{false, "ba", []int{6, 5, 7}},       // ▁ b a: no ▁b piece
		{false, "  a   b ", []int{4, 6, 5}}, // extra whitespace removed: ▁a ▁ b
		{false, "abc", []int{3, 0}},         // c is unknown
		{true, "abc", []int{3, 8}},          // ... or its byte
		{false, "a<sep>b", []int{4, 9, 5}},  // user-defined pieces are whole
		{false, "<s>", []int{6, 0, 0, 0}},   // control pieces are not read from text
	} {
		tk, err := FromSentencePiece(buildSPModel(pieces, 1, c.byteFallback, true, true), nil)
		if err != nil {
			t.Fatal(err)
		}
		if tk.Kind() != KindSentencePieceUnigram {
			t.Fatalf("kind %s", tk.Kind())
		}
		if got := tk.Encode(c.in, false); !slices.Equal(got, c.want) {
			t.Errorf("byte fallback %v, %q: got %v want %v", c.byteFallback, c.in, got, c.want)
		}
	}
}

func TestSentencePieceBPEUnused(t *testing.T) {
	// "ab" may be merged through but never emitted: alone it splits back
	// into a b; inside "abc" it becomes part of the normal piece.
	pieces := []testPiece{
		{"<unk>", 0, typeUnknown}, {"a", -5, typeNormal}, {"b", -5, typeNormal}, {"c", -5, typeNormal},
		{"ab", 5, typeUnused}, {"abc", 1, typeNormal},
	}
	tk, err := FromSentencePiece(buildSPModel(pieces, 2, false, false, false), nil)
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string][]int{"ab": {1, 2}, "abc": {5}, "abd": {1, 2, 0}} {
		if got := tk.Encode(in, false); !slices.Equal(got, want) {
			t.Errorf("%q: got %v want %v", in, got, want)
		}
	}
	if tk.BOS() != -1 || tk.AddsBOS() {
		t.Errorf("BOS %d: the default bos_id names a normal piece here, not a control one", tk.BOS())
	}
}
