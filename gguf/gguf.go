// Package gguf reads and writes GGUF (versions 2 and 3), the single-file
// model format of llama.cpp: a header, typed metadata key/values, tensor
// descriptions, then an aligned data section holding the tensors.
package gguf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"sort"

	"github.com/d3-project/d3/internal/mmap"
	"github.com/d3-project/d3/tensor"
)

// Magic is the first four bytes of every GGUF file.
const Magic = "GGUF"

// DefaultAlignment applies when general.alignment is absent.
const DefaultAlignment = 32

// Metadata value types as stored in the file.
const (
	typeUint8   = 0
	typeInt8    = 1
	typeUint16  = 2
	typeInt16   = 3
	typeUint32  = 4
	typeInt32   = 5
	typeFloat32 = 6
	typeBool    = 7
	typeString  = 8
	typeArray   = 9
	typeUint64  = 10
	typeInt64   = 11
	typeFloat64 = 12
)

// maxDims is GGML's limit on tensor rank.
const maxDims = 4

// maxNesting bounds arrays of arrays; real files use at most one level, and
// the bound keeps hostile input from recursing deeply.
const maxNesting = 8

// File is a parsed GGUF file. Tensor data and TensorInfo.Data slices point
// into the file's memory mapping and become invalid after Close.
type File struct {
	Path      string
	Version   uint32
	Alignment uint64
	Tensors   []TensorInfo // file order

	keys   []string
	values map[string]any
	byName map[string]int
	mapped *mmap.Mapping
}

// TensorInfo describes one tensor.
type TensorInfo struct {
	Name string
	// Dims are in GGML order: Dims[0] is the contiguous (column) dimension.
	Dims   []uint64
	Type   tensor.DType
	Offset uint64 // relative to the data section
	Size   uint64 // bytes
	Data   []byte
}

// Open memory-maps and parses the GGUF file at path.
func Open(path string) (*File, error) {
	m, err := mmap.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	f, err := parse(m.Data)
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("gguf: %s: %w", path, err)
	}
	f.Path = path
	f.mapped = m
	return f, nil
}

// Parse parses a GGUF file held in data. The File refers to data without
// copying tensor bytes.
func Parse(data []byte) (*File, error) {
	f, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	return f, nil
}

// Close releases the memory mapping, if any.
func (f *File) Close() error {
	if f.mapped == nil {
		return nil
	}
	m := f.mapped
	f.mapped = nil
	return m.Close()
}

// Keys returns the metadata keys in file order.
func (f *File) Keys() []string { return f.keys }

// Value returns the metadata value of key: scalars as the matching Go type
// (uint8 ... float64, bool, string), arrays as typed slices ([]uint8,
// []string, ...), arrays of arrays as []any.
func (f *File) Value(key string) (any, bool) {
	v, ok := f.values[key]
	return v, ok
}

// Tensor looks a tensor up by name.
func (f *File) Tensor(name string) (*TensorInfo, bool) {
	i, ok := f.byName[name]
	if !ok {
		return nil, false
	}
	return &f.Tensors[i], true
}

// Matrix views the tensor as a row-major matrix of Dims[0] columns and
// product(Dims[1:]) rows.
func (t *TensorInfo) Matrix() (*tensor.Matrix, error) {
	if len(t.Dims) == 0 {
		return nil, fmt.Errorf("gguf: tensor %q has no dimensions", t.Name)
	}
	rows := uint64(1)
	for _, d := range t.Dims[1:] {
		hi, lo := bits.Mul64(rows, d)
		if hi != 0 {
			lo = math.MaxUint64
		}
		rows = lo
	}
	if t.Dims[0] > math.MaxInt32 || rows > math.MaxInt32 {
		return nil, fmt.Errorf("gguf: tensor %q: shape %v too large for a matrix", t.Name, t.Dims)
	}
	m, err := tensor.NewMatrix(t.Name, t.Type, int(rows), int(t.Dims[0]), t.Data)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	return m, nil
}

// reader decodes little-endian fields with bounds checks; every method
// fails instead of reading past the end.
type reader struct {
	data []byte
	off  uint64
}

var errTruncated = errors.New("unexpected end of file")

func (r *reader) remaining() uint64 { return uint64(len(r.data)) - r.off }

func (r *reader) bytes(n uint64, what string) ([]byte, error) {
	if n > r.remaining() {
		return nil, fmt.Errorf("%s at offset %d: need %d bytes, %d remain: %w", what, r.off, n, r.remaining(), errTruncated)
	}
	b := r.data[r.off : r.off+n]
	r.off += n
	return b, nil
}

func (r *reader) u8(what string) (uint8, error) {
	b, err := r.bytes(1, what)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

func (r *reader) u16(what string) (uint16, error) {
	b, err := r.bytes(2, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint16(b), nil
}

func (r *reader) u32(what string) (uint32, error) {
	b, err := r.bytes(4, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (r *reader) u64(what string) (uint64, error) {
	b, err := r.bytes(8, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

func (r *reader) str(what string) (string, error) {
	start := r.off
	n, err := r.u64(what + " length")
	if err != nil {
		return "", err
	}
	if n > r.remaining() {
		return "", fmt.Errorf("%s at offset %d: string length %d exceeds the %d bytes remaining", what, start, n, r.remaining())
	}
	b, _ := r.bytes(n, what)
	return string(b), nil
}

// count reads a uint64 element count and checks that the remaining bytes
// could hold that many elements of at least minSize bytes each, so hostile
// counts cannot drive huge allocations.
func (r *reader) count(what string, minSize uint64) (uint64, error) {
	start := r.off
	n, err := r.u64(what)
	if err != nil {
		return 0, err
	}
	if n > r.remaining()/minSize {
		return 0, fmt.Errorf("%s %d at offset %d exceeds what the %d bytes remaining could hold", what, n, start, r.remaining())
	}
	return n, nil
}

func parse(data []byte) (*File, error) {
	r := &reader{data: data}
	magic, err := r.bytes(4, "magic")
	if err != nil {
		return nil, err
	}
	if string(magic) != Magic {
		return nil, fmt.Errorf("bad magic %q, want %q: not a GGUF file", magic, Magic)
	}
	version, err := r.u32("version")
	if err != nil {
		return nil, err
	}
	if version != 2 && version != 3 {
		return nil, fmt.Errorf("unsupported GGUF version %d (want 2 or 3)", version)
	}
	// Smallest tensor info: empty name (8), n_dims (4), one dim (8), type (4), offset (8).
	nTensors, err := r.count("tensor count", 32)
	if err != nil {
		return nil, err
	}
	// Smallest key/value: empty key (8), type (4), a one-byte value.
	nKV, err := r.count("metadata key/value count", 13)
	if err != nil {
		return nil, err
	}
	f := &File{
		Version:   version,
		Alignment: DefaultAlignment,
		keys:      make([]string, 0, nKV),
		values:    make(map[string]any, nKV),
		byName:    make(map[string]int, nTensors),
	}
	for i := uint64(0); i < nKV; i++ {
		key, err := r.str(fmt.Sprintf("metadata key %d", i))
		if err != nil {
			return nil, err
		}
		if _, dup := f.values[key]; dup {
			return nil, fmt.Errorf("duplicate metadata key %q", key)
		}
		typ, err := r.u32(fmt.Sprintf("type of metadata key %q", key))
		if err != nil {
			return nil, err
		}
		v, err := r.value(typ, 0)
		if err != nil {
			return nil, fmt.Errorf("metadata key %q: %w", key, err)
		}
		f.keys = append(f.keys, key)
		f.values[key] = v
	}
	if v, ok := f.values["general.alignment"]; ok {
		a, ok := toUint(v)
		if !ok || a == 0 || a&(a-1) != 0 || a > 1<<30 {
			return nil, fmt.Errorf("general.alignment %v is not a power of two between 1 and 2^30", v)
		}
		f.Alignment = a
	}

	f.Tensors = make([]TensorInfo, 0, nTensors)
	for i := uint64(0); i < nTensors; i++ {
		t, err := r.tensorInfo(i, f.Alignment)
		if err != nil {
			return nil, err
		}
		if _, dup := f.byName[t.Name]; dup {
			return nil, fmt.Errorf("duplicate tensor name %q", t.Name)
		}
		f.byName[t.Name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, t)
	}

	// The data section starts at the next alignment boundary. A file without
	// tensors may end before it (vocabulary-only files).
	dataStart := alignUp(r.off, f.Alignment)
	if nTensors == 0 {
		return f, nil
	}
	if dataStart > uint64(len(data)) {
		return nil, fmt.Errorf("data section at offset %d lies beyond the end of the file (%d bytes): %w", dataStart, len(data), errTruncated)
	}
	section := uint64(len(data)) - dataStart
	for i := range f.Tensors {
		t := &f.Tensors[i]
		if t.Offset > section || t.Size > section-t.Offset {
			return nil, fmt.Errorf("tensor %q: data [%d, +%d) lies outside the %d-byte data section: %w", t.Name, t.Offset, t.Size, section, errTruncated)
		}
		start := dataStart + t.Offset
		t.Data = data[start : start+t.Size : start+t.Size]
	}
	order := make([]int, len(f.Tensors))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return f.Tensors[order[a]].Offset < f.Tensors[order[b]].Offset })
	// Track the furthest end so far so that zero-size tensors in between
	// cannot hide an overlap.
	var end uint64
	var last *TensorInfo
	for _, k := range order {
		t := &f.Tensors[k]
		if t.Size == 0 {
			continue
		}
		if last != nil && t.Offset < end {
			return nil, fmt.Errorf("tensors %q [%d, +%d) and %q [%d, +%d) overlap", last.Name, last.Offset, last.Size, t.Name, t.Offset, t.Size)
		}
		if t.Offset+t.Size > end {
			end, last = t.Offset+t.Size, t
		}
	}
	return f, nil
}

func alignUp(off, align uint64) uint64 {
	if rem := off % align; rem != 0 {
		return off + align - rem // off ≤ len(data) and align ≤ 2^30: no overflow
	}
	return off
}

func (r *reader) tensorInfo(i uint64, align uint64) (TensorInfo, error) {
	name, err := r.str(fmt.Sprintf("tensor %d name", i))
	if err != nil {
		return TensorInfo{}, err
	}
	what := fmt.Sprintf("tensor %q", name)
	nDims, err := r.u32(what + " n_dims")
	if err != nil {
		return TensorInfo{}, err
	}
	if nDims < 1 || nDims > maxDims {
		return TensorInfo{}, fmt.Errorf("%s: n_dims %d out of range 1..%d", what, nDims, maxDims)
	}
	dims := make([]uint64, nDims)
	elems := uint64(1)
	for d := range dims {
		if dims[d], err = r.u64(what + " dimension"); err != nil {
			return TensorInfo{}, err
		}
		hi, lo := bits.Mul64(elems, dims[d])
		if hi != 0 || lo > math.MaxInt64 {
			return TensorInfo{}, fmt.Errorf("%s: element count of dims %v overflows", what, dims[:d+1])
		}
		elems = lo
	}
	typ, err := r.u32(what + " type")
	if err != nil {
		return TensorInfo{}, err
	}
	dt := tensor.DType(typ)
	if !dt.Known() {
		return TensorInfo{}, fmt.Errorf("%s: unknown tensor type %d", what, typ)
	}
	bs, bb := uint64(dt.BlockSize()), uint64(dt.BlockBytes())
	if dims[0]%bs != 0 {
		return TensorInfo{}, fmt.Errorf("%s: %s row of %d elements is not a whole number of %d-element blocks", what, dt, dims[0], bs)
	}
	hi, size := bits.Mul64(elems/bs, bb)
	if hi != 0 || size > math.MaxInt64 {
		return TensorInfo{}, fmt.Errorf("%s: byte size of %s %v overflows", what, dt, dims)
	}
	off, err := r.u64(what + " offset")
	if err != nil {
		return TensorInfo{}, err
	}
	if off%align != 0 {
		return TensorInfo{}, fmt.Errorf("%s: offset %d is not a multiple of the alignment %d", what, off, align)
	}
	return TensorInfo{Name: name, Dims: dims, Type: dt, Offset: off, Size: size}, nil
}

// elemSize is the smallest encoding of one value of type typ, or 0 for an
// unknown type.
func elemSize(typ uint32) uint64 {
	switch typ {
	case typeUint8, typeInt8, typeBool:
		return 1
	case typeUint16, typeInt16:
		return 2
	case typeUint32, typeInt32, typeFloat32:
		return 4
	case typeUint64, typeInt64, typeFloat64, typeString:
		return 8 // a string is at least its length
	case typeArray:
		return 12 // element type and count
	}
	return 0
}

func (r *reader) value(typ uint32, depth int) (any, error) {
	switch typ {
	case typeUint8:
		return r.u8("uint8 value")
	case typeInt8:
		v, err := r.u8("int8 value")
		return int8(v), err
	case typeUint16:
		return r.u16("uint16 value")
	case typeInt16:
		v, err := r.u16("int16 value")
		return int16(v), err
	case typeUint32:
		return r.u32("uint32 value")
	case typeInt32:
		v, err := r.u32("int32 value")
		return int32(v), err
	case typeUint64:
		return r.u64("uint64 value")
	case typeInt64:
		v, err := r.u64("int64 value")
		return int64(v), err
	case typeFloat32:
		v, err := r.u32("float32 value")
		return math.Float32frombits(v), err
	case typeFloat64:
		v, err := r.u64("float64 value")
		return math.Float64frombits(v), err
	case typeBool:
		v, err := r.u8("bool value")
		if err != nil {
			return nil, err
		}
		if v > 1 {
			return nil, fmt.Errorf("bool value %d at offset %d is neither 0 nor 1", v, r.off-1)
		}
		return v == 1, nil
	case typeString:
		return r.str("string value")
	case typeArray:
		return r.array(depth)
	}
	return nil, fmt.Errorf("unknown metadata value type %d at offset %d", typ, r.off-4)
}

func (r *reader) array(depth int) (any, error) {
	if depth >= maxNesting {
		return nil, fmt.Errorf("arrays nested deeper than %d at offset %d", maxNesting, r.off)
	}
	et, err := r.u32("array element type")
	if err != nil {
		return nil, err
	}
	es := elemSize(et)
	if es == 0 {
		return nil, fmt.Errorf("unknown array element type %d at offset %d", et, r.off-4)
	}
	n, err := r.count("array length", es)
	if err != nil {
		return nil, err
	}
	// Fixed-size element arrays are decoded in one pass over the bytes.
	switch et {
	case typeUint8, typeInt8, typeBool, typeUint16, typeInt16, typeUint32, typeInt32, typeFloat32, typeUint64, typeInt64, typeFloat64:
		b, _ := r.bytes(n*es, "array") // count() guaranteed the bytes exist
		return decodeFixed(et, b, r.off-n*es)
	case typeString:
		out := make([]string, n)
		for i := range out {
			if out[i], err = r.str("array string"); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	// An array of arrays: each element is itself an element type, a count
	// and the elements.
	out := make([]any, n)
	for i := range out {
		if out[i], err = r.array(depth + 1); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func decodeFixed(et uint32, b []byte, at uint64) (any, error) {
	le := binary.LittleEndian
	switch et {
	case typeUint8:
		return append([]uint8{}, b...), nil
	case typeInt8:
		out := make([]int8, len(b))
		for i := range out {
			out[i] = int8(b[i])
		}
		return out, nil
	case typeBool:
		out := make([]bool, len(b))
		for i := range out {
			if b[i] > 1 {
				return nil, fmt.Errorf("bool array element %d at offset %d is %d, neither 0 nor 1", i, at+uint64(i), b[i])
			}
			out[i] = b[i] == 1
		}
		return out, nil
	case typeUint16:
		out := make([]uint16, len(b)/2)
		for i := range out {
			out[i] = le.Uint16(b[2*i:])
		}
		return out, nil
	case typeInt16:
		out := make([]int16, len(b)/2)
		for i := range out {
			out[i] = int16(le.Uint16(b[2*i:]))
		}
		return out, nil
	case typeUint32:
		out := make([]uint32, len(b)/4)
		for i := range out {
			out[i] = le.Uint32(b[4*i:])
		}
		return out, nil
	case typeInt32:
		out := make([]int32, len(b)/4)
		for i := range out {
			out[i] = int32(le.Uint32(b[4*i:]))
		}
		return out, nil
	case typeFloat32:
		out := make([]float32, len(b)/4)
		for i := range out {
			out[i] = math.Float32frombits(le.Uint32(b[4*i:]))
		}
		return out, nil
	case typeUint64:
		out := make([]uint64, len(b)/8)
		for i := range out {
			out[i] = le.Uint64(b[8*i:])
		}
		return out, nil
	case typeInt64:
		out := make([]int64, len(b)/8)
		for i := range out {
			out[i] = int64(le.Uint64(b[8*i:]))
		}
		return out, nil
	case typeFloat64:
		out := make([]float64, len(b)/8)
		for i := range out {
			out[i] = math.Float64frombits(le.Uint64(b[8*i:]))
		}
		return out, nil
	}
	return nil, fmt.Errorf("array element type %d is not fixed-size", et)
}
