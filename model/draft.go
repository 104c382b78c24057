package model

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/d3-project/d3/internal/mmap"
	"github.com/d3-project/d3/tensor"
)

// Lossless drafting only needs its drafts to be good guesses: the verify
// pass decides at full precision. A decode step is bound by reading the
// weights, so drafts of a float (F32, F16, BF16) or Q8_0 checkpoint run
// on a quantized copy of its matrices (Q8_0 or Q4_0, quantized as
// llama.cpp's quantizers do), which reads a half or a quarter of the bytes
// of bf16 and takes the packed integer kernels. A copy is built the first
// time a generation asks for it and kept with the model; matrices whose
// own type is as small (K-quants, Q4_0) are used as they are.

// DraftCopy names the weights a draft row runs on.
type DraftCopy uint8

const (
	DraftModel DraftCopy = iota // the model's own weights
	DraftQ8                     // a Q8_0 copy of the float matrices
	DraftQ4                     // a Q4_0 copy of the float and Q8_0 matrices
	numDraftCopies
)

func (c DraftCopy) dtype() tensor.DType {
	if c == DraftQ4 {
		return tensor.Q4_0
	}
	return tensor.Q8_0
}

// draftWeights is one cheap copy: per layer, and the output matrix.
type draftWeights struct {
	layers []Layer
	output *tensor.Matrix
	bytes  int64 // memory the copies take
}

// draftSet holds the copies built so far.
type draftSet struct {
	once   [numDraftCopies]sync.Once
	copies [numDraftCopies]atomic.Pointer[draftWeights]
	errs   [numDraftCopies]error
}

// PrepareDraft builds draft copy c of the weights (once; later calls
// return at once) and reports the bytes it takes. It adds nothing when no
// matrix is a float type or the machine has no packed integer kernels
// (the copy would not be cheaper to run); rows asking for it then run on
// the model's weights.
func (m *Model) PrepareDraft(c DraftCopy) (int64, error) {
	if c == DraftModel || c >= numDraftCopies {
		return 0, nil
	}
	m.drafts.once[c].Do(func() {
		d, err := buildDraft(m, c.dtype())
		m.drafts.errs[c] = err
		if d != nil {
			m.drafts.copies[c].Store(d)
		}
	})
	return m.DraftBytes(c), m.drafts.errs[c]
}

// DraftBytes is the memory draft copy c takes (0 if it was not built).
func (m *Model) DraftBytes(c DraftCopy) int64 {
	if c == DraftModel || c >= numDraftCopies {
		return 0
	}
	if d := m.drafts.copies[c].Load(); d != nil {
		return d.bytes
	}
	return 0
}

func buildDraft(m *Model, t tensor.DType) (*draftWeights, error) {
	if !tensor.HasPacked(tensor.Q8_0) {
		return nil, nil
	}
	d := &draftWeights{layers: make([]Layer, len(m.Layers))}
	var firstErr error
	quant := func(w *tensor.Matrix) *tensor.Matrix {
		if w == nil || firstErr != nil || w.Cols%32 != 0 || !smaller(t, w.Type, w.Cols) {
			return w
		}
		q, err := quantizeCopy(w, t)
		if m.mapped && w.Packed() {
			mmap.Release(w.Data) // read once more to quantize; the packed copy serves the products
		}
		if err != nil {
			firstErr = err
			return w
		}
		d.bytes += 2 * int64(len(q.Data)) // the quantized rows and their packed copy
		return q
	}
	made := false
	for i := range m.Layers {
		L, D := &m.Layers[i], &d.layers[i]
		*D = *L
		for _, p := range []struct{ src, dst **tensor.Matrix }{
			{&L.Wq, &D.Wq}, {&L.Wk, &D.Wk}, {&L.Wv, &D.Wv}, {&L.Wo, &D.Wo},
			{&L.Gate, &D.Gate}, {&L.Up, &D.Up}, {&L.Down, &D.Down},
		} {
			*p.dst = quant(*p.src)
			made = made || *p.dst != *p.src
		}
	}
	d.output = quant(m.Output)
	made = made || d.output != m.Output
	if firstErr != nil {
		d.free(m)
		return nil, fmt.Errorf("model: draft copy: %w", firstErr)
	}
	if !made {
		return nil, nil
	}
	return d, nil
}

// smaller reports whether a copy of rows of type src in type t is worth
// drafting on: t reads fewer bytes, and src is float or Q8_0 (whose copy
// also runs the packed kernels; a K-quant's Q4_0 copy would save little).
func smaller(t, src tensor.DType, cols int) bool {
	if src.BlockSize() != 1 && src != tensor.Q8_0 {
		return false
	}
	a, err1 := t.RowBytes(cols)
	b, err2 := src.RowBytes(cols)
	return err1 == nil && err2 == nil && a < b
}

// quantizeCopy returns a Q8_0 or Q4_0 copy of a float or Q8_0 matrix,
// packed for the kernels.
func quantizeCopy(w *tensor.Matrix, t tensor.DType) (*tensor.Matrix, error) {
	q, err := tensor.NewWeightMatrix(w.Name+" ("+t.String()+" draft copy)", t, w.Rows, w.Cols)
	if err != nil {
		return nil, err
	}
	row := make([]float32, w.Cols)
	for r := 0; r < w.Rows; r++ {
		w.DequantRow(r, row)
		if err := tensor.Quantize(t, row, q.Data[r*q.RowBytes:(r+1)*q.RowBytes]); err != nil {
			q.Free()
			return nil, err
		}
	}
	q.Pack()
	q.PackQ4()
	return q, nil
}

// free releases the copies that were made for d (not the model's own
// matrices it reuses).
func (d *draftWeights) free(m *Model) {
	for i := range d.layers {
		D, L := &d.layers[i], &m.Layers[i]
		for _, p := range [][2]*tensor.Matrix{{D.Wq, L.Wq}, {D.Wk, L.Wk}, {D.Wv, L.Wv}, {D.Wo, L.Wo}, {D.Gate, L.Gate}, {D.Up, L.Up}, {D.Down, L.Down}} {
			if p[0] != p[1] {
				p[0].Free()
			}
		}
	}
	if d.output != m.Output {
		d.output.Free()
	}
}
