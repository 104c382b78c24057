package model

import (
	"fmt"
	"sync"

	"github.com/d3-project/d3/tensor"
)

// Lossless drafting only needs its drafts to be good guesses: the verify
// pass decides at full precision. A decode step is bound by reading the
// weights, so drafts of a float (F32, F16, BF16) checkpoint run on a Q8_0
// copy of its matrices, quantized as llama.cpp's q8_0 does, which reads
// half the bytes of bf16 (a quarter of f32) and takes the packed integer
// kernels. The copy is built the first time a generation asks for it and
// kept with the model; matrices already quantized are used as they are.

// draftWeights is the cheap copy: per layer, and the output matrix.
type draftWeights struct {
	layers []Layer
	output *tensor.Matrix
	bytes  int64 // memory the copies take
}

// PrepareDraft builds the draft copy of the weights (once; later calls
// return at once) and reports the bytes it added. It is a no-op, adding
// nothing, when no matrix is a float type or the machine has no packed
// Q8_0 kernels (the copy would not be cheaper to run).
func (m *Model) PrepareDraft() (int64, error) {
	m.draftOnce.Do(func() {
		d, err := buildDraft(m)
		m.draftErr = err
		if d != nil {
			m.draft.Store(d)
		}
	})
	return m.DraftBytes(), m.draftErr
}

// DraftBytes is the memory the draft copy takes (0 if none was built).
func (m *Model) DraftBytes() int64 {
	if d := m.draft.Load(); d != nil {
		return d.bytes
	}
	return 0
}

func buildDraft(m *Model) (*draftWeights, error) {
	if !tensor.HasPacked(tensor.Q8_0) {
		return nil, nil
	}
	d := &draftWeights{layers: make([]Layer, len(m.Layers))}
	var mu sync.Mutex
	var firstErr error
	quant := func(w *tensor.Matrix) *tensor.Matrix {
		if w == nil || w.Type.BlockSize() != 1 || w.Cols%32 != 0 {
			return w
		}
		q, err := quantizeQ8(w)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			firstErr = err
			return w
		}
		d.bytes += 2 * int64(len(q.Data)) // the Q8_0 rows and their packed copy
		return q
	}
	any := false
	for i := range m.Layers {
		L, D := &m.Layers[i], &d.layers[i]
		*D = *L
		for _, p := range []struct{ src, dst **tensor.Matrix }{
			{&L.Wq, &D.Wq}, {&L.Wk, &D.Wk}, {&L.Wv, &D.Wv}, {&L.Wo, &D.Wo},
			{&L.Gate, &D.Gate}, {&L.Up, &D.Up}, {&L.Down, &D.Down},
		} {
			*p.dst = quant(*p.src)
			any = any || *p.dst != *p.src
		}
	}
	d.output = quant(m.Output)
	any = any || d.output != m.Output
	if firstErr != nil {
		return nil, fmt.Errorf("model: draft copy: %w", firstErr)
	}
	if !any {
		return nil, nil
	}
	return d, nil
}

// quantizeQ8 returns a Q8_0 copy of a float matrix, packed for the kernels.
func quantizeQ8(w *tensor.Matrix) (*tensor.Matrix, error) {
	rb, err := tensor.Q8_0.RowBytes(w.Cols)
	if err != nil {
		return nil, err
	}
	data := make([]byte, w.Rows*rb)
	row := make([]float32, w.Cols)
	for r := 0; r < w.Rows; r++ {
		w.DequantRow(r, row)
		if err := tensor.Quantize(tensor.Q8_0, row, data[r*rb:(r+1)*rb]); err != nil {
			return nil, err
		}
	}
	q, err := tensor.NewMatrix(w.Name+" (q8_0 draft copy)", tensor.Q8_0, w.Rows, w.Cols, data)
	if err != nil {
		return nil, err
	}
	q.Pack()
	return q, nil
}
