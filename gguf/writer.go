package gguf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"reflect"

	"github.com/d3-project/d3/tensor"
)

// Writer builds a GGUF v3 file. Metadata and tensors are written in the
// order they were added; tensor data is streamed at WriteTo time, so large
// models need not be held in memory.
type Writer struct {
	keys    []string
	values  []any
	seen    map[string]bool
	tensors []wtensor
	names   map[string]bool
	err     error // first error from Add*, reported again by WriteTo
}

type wtensor struct {
	name  string
	typ   tensor.DType
	dims  []uint64
	size  uint64
	write func(io.Writer) error
}

// NewWriter returns an empty Writer.
func NewWriter() *Writer {
	return &Writer{seen: map[string]bool{}, names: map[string]bool{}}
}

func (w *Writer) fail(err error) error {
	if w.err == nil {
		w.err = err
	}
	return err
}

// AddKV appends a metadata key/value. value must be one of the Go types
// Value returns: uint8, int8, uint16, int16, uint32, int32, uint64, int64,
// float32, float64, bool, string, a slice of one of those, or []any whose
// elements are such slices (an array of arrays). Plain int is rejected
// because GGUF readers check the exact integer type. The error is also
// returned by WriteTo.
func (w *Writer) AddKV(key string, value any) error {
	if w.seen[key] {
		return w.fail(fmt.Errorf("gguf: duplicate metadata key %q", key))
	}
	if _, err := valueType(value, 0); err != nil {
		return w.fail(fmt.Errorf("gguf: metadata key %q: %w", key, err))
	}
	w.seen[key] = true
	w.keys = append(w.keys, key)
	w.values = append(w.values, value)
	return nil
}

// AddTensor appends a tensor whose encoded bytes are data. Dims are in GGML
// order (Dims[0] is the contiguous dimension).
func (w *Writer) AddTensor(name string, typ tensor.DType, dims []uint64, data []byte) error {
	return w.AddTensorFunc(name, typ, dims, uint64(len(data)), func(out io.Writer) error {
		_, err := out.Write(data)
		return err
	})
}

// AddTensorFunc appends a tensor of size bytes whose data write produces
// when the file is written; write must write exactly size bytes.
func (w *Writer) AddTensorFunc(name string, typ tensor.DType, dims []uint64, size uint64, write func(io.Writer) error) error {
	if w.names[name] {
		return w.fail(fmt.Errorf("gguf: duplicate tensor name %q", name))
	}
	want, err := tensorSize(typ, dims)
	if err != nil {
		return w.fail(fmt.Errorf("gguf: tensor %q: %w", name, err))
	}
	if size != want {
		return w.fail(fmt.Errorf("gguf: tensor %q: %s %v needs %d bytes, given %d", name, typ, dims, want, size))
	}
	w.names[name] = true
	w.tensors = append(w.tensors, wtensor{name, typ, append([]uint64(nil), dims...), size, write})
	return nil
}

func tensorSize(typ tensor.DType, dims []uint64) (uint64, error) {
	if !typ.Known() {
		return 0, fmt.Errorf("unknown tensor type %d", uint32(typ))
	}
	if len(dims) < 1 || len(dims) > maxDims {
		return 0, fmt.Errorf("n_dims %d out of range 1..%d", len(dims), maxDims)
	}
	elems := uint64(1)
	for _, d := range dims {
		hi, lo := bits.Mul64(elems, d)
		if hi != 0 || lo > math.MaxInt64 {
			return 0, fmt.Errorf("element count of %v overflows", dims)
		}
		elems = lo
	}
	bs := uint64(typ.BlockSize())
	if dims[0]%bs != 0 {
		return 0, fmt.Errorf("%s row of %d elements is not a whole number of %d-element blocks", typ, dims[0], bs)
	}
	hi, size := bits.Mul64(elems/bs, uint64(typ.BlockBytes()))
	if hi != 0 || size > math.MaxInt64 {
		return 0, fmt.Errorf("byte size of %s %v overflows", typ, dims)
	}
	return size, nil
}

// alignment is general.alignment when set, else the default.
func (w *Writer) alignment() (uint64, error) {
	for i, k := range w.keys {
		if k == "general.alignment" {
			a, ok := toUint(w.values[i])
			if !ok || a == 0 || a&(a-1) != 0 || a > 1<<30 {
				return 0, fmt.Errorf("gguf: general.alignment %v is not a power of two between 1 and 2^30", w.values[i])
			}
			return a, nil
		}
	}
	return DefaultAlignment, nil
}

// WriteTo writes the file to out and returns the number of bytes written.
func (w *Writer) WriteTo(out io.Writer) (int64, error) {
	if w.err != nil {
		return 0, w.err
	}
	align, err := w.alignment()
	if err != nil {
		return 0, err
	}
	cw := &countWriter{w: out}
	bw := bufio.NewWriterSize(cw, 1<<20)
	e := &encoder{w: bw}
	e.raw([]byte(Magic))
	e.u32(3)
	e.u64(uint64(len(w.tensors)))
	e.u64(uint64(len(w.keys)))
	for i, k := range w.keys {
		e.str(k)
		t, _ := valueType(w.values[i], 0)
		e.u32(t)
		e.value(w.values[i])
	}
	var off uint64
	for _, t := range w.tensors {
		e.str(t.name)
		e.u32(uint32(len(t.dims)))
		for _, d := range t.dims {
			e.u64(d)
		}
		e.u32(uint32(t.typ))
		e.u64(off)
		off = alignUp(off+t.size, align)
	}
	if e.err != nil {
		return cw.n, fmt.Errorf("gguf: writing header: %w", e.err)
	}
	// The header is padded even without tensors, as llama.cpp's gguf-py does.
	e.pad(align, cw.n+int64(bw.Buffered()))
	for _, t := range w.tensors {
		if e.err != nil {
			break
		}
		tw := &countWriter{w: bw}
		if err := t.write(tw); err != nil {
			return cw.n, fmt.Errorf("gguf: writing tensor %q: %w", t.name, err)
		}
		if uint64(tw.n) != t.size {
			return cw.n, fmt.Errorf("gguf: tensor %q: writer produced %d bytes, want %d", t.name, tw.n, t.size)
		}
		e.pad(align, cw.n+int64(bw.Buffered()))
	}
	if e.err == nil {
		e.err = bw.Flush()
	}
	if e.err != nil {
		return cw.n, fmt.Errorf("gguf: %w", e.err)
	}
	return cw.n, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// encoder writes little-endian fields, remembering the first error.
type encoder struct {
	w   io.Writer
	err error
	buf [8]byte
}

func (e *encoder) raw(b []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(b)
	}
}

func (e *encoder) u8(v uint8) { e.buf[0] = v; e.raw(e.buf[:1]) }
func (e *encoder) u16(v uint16) {
	binary.LittleEndian.PutUint16(e.buf[:], v)
	e.raw(e.buf[:2])
}
func (e *encoder) u32(v uint32) {
	binary.LittleEndian.PutUint32(e.buf[:], v)
	e.raw(e.buf[:4])
}
func (e *encoder) u64(v uint64) {
	binary.LittleEndian.PutUint64(e.buf[:], v)
	e.raw(e.buf[:8])
}
func (e *encoder) str(s string) {
	e.u64(uint64(len(s)))
	if e.err == nil {
		_, e.err = io.WriteString(e.w, s)
	}
}

func (e *encoder) pad(align uint64, pos int64) {
	n := alignUp(uint64(pos), align) - uint64(pos)
	var zero [64]byte
	for n > 0 && e.err == nil {
		k := min(n, uint64(len(zero)))
		e.raw(zero[:k])
		n -= k
	}
}

var errValueType = errors.New("unsupported metadata value type")

// valueType maps a Go value to its GGUF type id.
func valueType(v any, depth int) (uint32, error) {
	switch v.(type) {
	case uint8:
		return typeUint8, nil
	case int8:
		return typeInt8, nil
	case uint16:
		return typeUint16, nil
	case int16:
		return typeInt16, nil
	case uint32:
		return typeUint32, nil
	case int32:
		return typeInt32, nil
	case uint64:
		return typeUint64, nil
	case int64:
		return typeInt64, nil
	case float32:
		return typeFloat32, nil
	case float64:
		return typeFloat64, nil
	case bool:
		return typeBool, nil
	case string:
		return typeString, nil
	case []uint8, []int8, []uint16, []int16, []uint32, []int32, []uint64, []int64,
		[]float32, []float64, []bool, []string:
		return typeArray, nil
	case []any:
		if depth+1 >= maxNesting {
			return 0, fmt.Errorf("arrays nested deeper than %d", maxNesting)
		}
		for i, x := range v.([]any) {
			t, err := valueType(x, depth+1)
			if err != nil {
				return 0, err
			}
			if t != typeArray {
				return 0, fmt.Errorf("element %d of []any is %T; GGUF arrays of arrays hold only arrays", i, x)
			}
		}
		return typeArray, nil
	}
	return 0, fmt.Errorf("%w %T", errValueType, v)
}

// elemType is the GGUF element type of a slice accepted by valueType.
func elemType(v any) uint32 {
	t, _ := valueType(reflect.Zero(reflect.TypeOf(v).Elem()).Interface(), 0)
	if _, nested := v.([]any); nested {
		return typeArray
	}
	return t
}

// value writes v's payload (without its type id).
func (e *encoder) value(v any) {
	switch x := v.(type) {
	case uint8:
		e.u8(x)
	case int8:
		e.u8(uint8(x))
	case uint16:
		e.u16(x)
	case int16:
		e.u16(uint16(x))
	case uint32:
		e.u32(x)
	case int32:
		e.u32(uint32(x))
	case uint64:
		e.u64(x)
	case int64:
		e.u64(uint64(x))
	case float32:
		e.u32(math.Float32bits(x))
	case float64:
		e.u64(math.Float64bits(x))
	case bool:
		if x {
			e.u8(1)
		} else {
			e.u8(0)
		}
	case string:
		e.str(x)
	case []any:
		e.u32(typeArray)
		e.u64(uint64(len(x)))
		for _, el := range x {
			e.value(el)
		}
	case []string: // vocabularies are large: avoid reflection
		e.u32(typeString)
		e.u64(uint64(len(x)))
		for _, el := range x {
			e.str(el)
		}
	case []float32:
		e.u32(typeFloat32)
		e.u64(uint64(len(x)))
		for _, el := range x {
			e.u32(math.Float32bits(el))
		}
	case []int32:
		e.u32(typeInt32)
		e.u64(uint64(len(x)))
		for _, el := range x {
			e.u32(uint32(el))
		}
	default:
		// Another typed slice: element type, count, elements.
		rv := reflect.ValueOf(v)
		e.u32(elemType(v))
		e.u64(uint64(rv.Len()))
		for i := 0; i < rv.Len(); i++ {
			e.value(rv.Index(i).Interface())
		}
	}
}
