// Package safetensors reads Hugging Face safetensors files: an 8-byte
// little-endian header length, a JSON header describing each tensor's dtype,
// shape and byte range, then the raw tensor bytes.
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/bits"
	"sort"

	"github.com/d3-project/d3/internal/mmap"
	"github.com/d3-project/d3/tensor"
)

// MaxHeaderBytes bounds the JSON header, as the reference implementation
// does, so a corrupt length cannot demand a huge read.
const MaxHeaderBytes = 100 << 20

// dtypeSizes holds the element size of every dtype d3 accepts.
var dtypeSizes = map[string]uint64{
	"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "F8_E8M0": 1,
	"I16": 2, "U16": 2, "F16": 2, "BF16": 2,
	"I32": 4, "U32": 4, "F32": 4,
	"I64": 8, "U64": 8, "F64": 8,
}

// Tensor is one tensor of a file; Data points into the file's mapping.
type Tensor struct {
	Name  string
	DType string // as in the header: "F32", "F16", "BF16", "I64", ...
	Shape []int
	Data  []byte
}

// File is a parsed safetensors file. Tensor data becomes invalid after Close.
type File struct {
	Path     string
	Metadata map[string]string
	Tensors  map[string]*Tensor
	Names    []string // header order

	mapped *mmap.Mapping
}

// Open memory-maps and parses the safetensors file at path.
func Open(path string) (*File, error) {
	m, err := mmap.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	f, err := parse(m.Data)
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("safetensors: %s: %w", path, err)
	}
	f.Path = path
	f.mapped = m
	return f, nil
}

// Parse parses a safetensors file held in data without copying tensor bytes.
func Parse(data []byte) (*File, error) {
	f, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
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

// Matrix views an F32, F16 or BF16 tensor as a matrix: a 2-D tensor is
// Shape[0] rows of Shape[1] columns, a 1-D tensor is one row.
func (t *Tensor) Matrix() (*tensor.Matrix, error) {
	var dt tensor.DType
	switch t.DType {
	case "F32":
		dt = tensor.F32
	case "F16":
		dt = tensor.F16
	case "BF16":
		dt = tensor.BF16
	default:
		return nil, fmt.Errorf("safetensors: tensor %q: dtype %s cannot be used as a matrix (want F32, F16 or BF16)", t.Name, t.DType)
	}
	var rows, cols int
	switch len(t.Shape) {
	case 1:
		rows, cols = 1, t.Shape[0]
	case 2:
		rows, cols = t.Shape[0], t.Shape[1]
	default:
		return nil, fmt.Errorf("safetensors: tensor %q: shape %v is not 1-D or 2-D", t.Name, t.Shape)
	}
	m, err := tensor.NewMatrix(t.Name, dt, rows, cols, t.Data)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	return m, nil
}

// entry is one tensor's header record.
type entry struct {
	DType       string  `json:"dtype"`
	Shape       []int64 `json:"shape"`
	DataOffsets []int64 `json:"data_offsets"`
}

func parse(data []byte) (*File, error) {
	if len(data) < 8 {
		return nil, fmt.Errorf("file of %d bytes is shorter than the 8-byte header length", len(data))
	}
	n := binary.LittleEndian.Uint64(data)
	if n > MaxHeaderBytes {
		return nil, fmt.Errorf("header length %d exceeds the %d-byte limit", n, MaxHeaderBytes)
	}
	if n > uint64(len(data)-8) {
		return nil, fmt.Errorf("header length %d exceeds the %d bytes after it (truncated file?)", n, len(data)-8)
	}
	header := data[8 : 8+n]
	section := data[8+n:]
	if len(bytes.TrimSpace(header)) == 0 || bytes.TrimSpace(header)[0] != '{' {
		return nil, fmt.Errorf("header is not a JSON object")
	}

	f := &File{Metadata: map[string]string{}, Tensors: map[string]*Tensor{}}
	dec := json.NewDecoder(bytes.NewReader(header))
	if _, err := dec.Token(); err != nil { // the opening brace
		return nil, fmt.Errorf("header JSON: %w", err)
	}
	seen := map[string]bool{}
	type span struct {
		begin, end uint64
		name       string
	}
	var spans []span
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("header JSON: %w", err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("header JSON: unexpected %v", tok)
		}
		if seen[name] {
			return nil, fmt.Errorf("duplicate header key %q", name)
		}
		seen[name] = true
		if name == "__metadata__" {
			if err := dec.Decode(&f.Metadata); err != nil {
				return nil, fmt.Errorf("__metadata__ is not an object of strings: %w", err)
			}
			continue
		}
		var e entry
		if err := dec.Decode(&e); err != nil {
			return nil, fmt.Errorf("tensor %q: bad header entry: %w", name, err)
		}
		t, begin, end, err := newTensor(name, &e, uint64(len(section)))
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		t.Data = section[begin:end:end]
		f.Tensors[name] = t
		f.Names = append(f.Names, name)
		spans = append(spans, span{begin, end, name})
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, fmt.Errorf("header JSON: %w", err)
	}
	// Only whitespace may follow (writers pad the header with spaces).
	if tok, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("header JSON: trailing data after the object (%v, %v)", tok, err)
	}

	sort.Slice(spans, func(i, j int) bool { return spans[i].begin < spans[j].begin })
	var last *span
	for i := range spans {
		s := &spans[i]
		if s.begin == s.end {
			continue // empty tensors occupy no bytes
		}
		if last != nil && s.begin < last.end {
			return nil, fmt.Errorf("tensors %q [%d, %d) and %q [%d, %d) overlap", last.name, last.begin, last.end, s.name, s.begin, s.end)
		}
		if last == nil || s.end > last.end {
			last = s
		}
	}
	return f, nil
}

// newTensor validates a header entry against a data section of size bytes.
func newTensor(name string, e *entry, size uint64) (t *Tensor, begin, end uint64, err error) {
	es, ok := dtypeSizes[e.DType]
	if !ok {
		return nil, 0, 0, fmt.Errorf("unknown dtype %q", e.DType)
	}
	if e.Shape == nil {
		return nil, 0, 0, fmt.Errorf("missing shape")
	}
	if len(e.DataOffsets) != 2 {
		return nil, 0, 0, fmt.Errorf("data_offsets %v is not a [begin, end] pair", e.DataOffsets)
	}
	shape := make([]int, len(e.Shape))
	elems := uint64(1)
	for i, d := range e.Shape {
		if d < 0 {
			return nil, 0, 0, fmt.Errorf("negative dimension in shape %v", e.Shape)
		}
		hi, lo := bits.Mul64(elems, uint64(d))
		if hi != 0 || lo > math.MaxInt64 {
			return nil, 0, 0, fmt.Errorf("element count of shape %v overflows", e.Shape)
		}
		elems = lo
		shape[i] = int(d)
	}
	hi, nbytes := bits.Mul64(elems, es)
	if hi != 0 || nbytes > math.MaxInt64 {
		return nil, 0, 0, fmt.Errorf("byte size of %s %v overflows", e.DType, e.Shape)
	}
	b, en := e.DataOffsets[0], e.DataOffsets[1]
	if b < 0 || en < b {
		return nil, 0, 0, fmt.Errorf("data_offsets [%d, %d] are not a valid range", b, en)
	}
	begin, end = uint64(b), uint64(en)
	if end > size {
		return nil, 0, 0, fmt.Errorf("data_offsets [%d, %d] lie outside the %d-byte data section", b, en, size)
	}
	if end-begin != nbytes {
		return nil, 0, 0, fmt.Errorf("data_offsets [%d, %d] span %d bytes, but %s %v needs %d", b, en, end-begin, e.DType, e.Shape, nbytes)
	}
	return &Tensor{Name: name, DType: e.DType, Shape: shape}, begin, end, nil
}
