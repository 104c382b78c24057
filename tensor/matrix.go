package tensor

import (
	"fmt"
	"sync"
)

// Matrix is a row-major weight of Rows × Cols elements kept in its file
// encoding (Data usually points into a memory-mapped file). Row r occupies
// Data[r*RowBytes : (r+1)*RowBytes].
type Matrix struct {
	Name       string
	Type       DType
	Rows, Cols int
	RowBytes   int
	Data       []byte

	packOnce  sync.Once
	packed    *packedPanel // the float types' AVX-512 layout (packed.go)
	ownMapped bool         // Data was mapped by NewWeightMatrix (Free unmaps it)
}

// NewMatrix checks that data holds exactly rows × cols elements of type t.
func NewMatrix(name string, t DType, rows, cols int, data []byte) (*Matrix, error) {
	if rows <= 0 || cols <= 0 {
		return nil, fmt.Errorf("tensor %q: bad shape %d×%d", name, rows, cols)
	}
	rb, err := t.RowBytes(cols)
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", name, err)
	}
	if rb != 0 && rows > len(data)/rb || rows*rb != len(data) {
		return nil, fmt.Errorf("tensor %q: %s %d×%d needs %d bytes, have %d", name, t, rows, cols, rows*rb, len(data))
	}
	if rowKernels[t].dequant == nil {
		return nil, fmt.Errorf("tensor %q: type %s is not supported", name, t)
	}
	return &Matrix{Name: name, Type: t, Rows: rows, Cols: cols, RowBytes: rb, Data: data}, nil
}

// Row returns the encoded bytes of row r.
func (m *Matrix) Row(r int) []byte { return m.Data[r*m.RowBytes : (r+1)*m.RowBytes] }

// DequantRow writes row r as float32 into dst[:Cols].
func (m *Matrix) DequantRow(r int, dst []float32) {
	rowKernels[m.Type].dequant(m.Row(r), dst[:m.Cols])
}

// DotRow returns the dot product of row r with x[:Cols].
func (m *Matrix) DotRow(r int, x []float32) float32 {
	return rowKernels[m.Type].dot(m.Row(r), x[:m.Cols])
}

// rowKernel is the pair of per-row operations every supported type provides.
// dequant decodes a whole row; dot computes the row's dot product with
// float32 activations.
type rowKernel struct {
	dequant func(src []byte, dst []float32)
	dot     func(src []byte, x []float32) float32
}

// rowKernels is filled by the files that implement each type.
var rowKernels = map[DType]rowKernel{}

// DequantizeRow decodes one encoded row (a whole number of blocks) of type t into dst.
func DequantizeRow(t DType, src []byte, dst []float32) {
	rowKernels[t].dequant(src, dst)
}

// DotRow is the dot product of one encoded row of type t with x.
func DotRow(t DType, src []byte, x []float32) float32 {
	return rowKernels[t].dot(src, x)
}

// Supported reports whether rows of type t can be decoded.
func Supported(t DType) bool { return rowKernels[t].dequant != nil }
