package kernels

import (
	"fmt"

	"github.com/d3-project/d3/tensor"
)

// AttentionHead computes attention for the queries that share one KV head
// (the query heads of a group, for one or several positions of a
// sequence): query m, qs[m*hd : (m+1)*hd] already multiplied by the
// softmax scale, attends to the first counts[m] entries, whose keys are
// the panel kt (tensor.PanelIndex layout: rows are entries, cols are the
// hd dimensions) and whose values are v[j*vstride : j*vstride+hd].
// scores is scratch of at least len(counts) × max(counts) floats; out
// gets query m's result at out[m*hd:].
//
// A query's scores come out of tensor.MulPanelF32, 16 keys per FMA and
// dimensions in order, so they have the same bits whichever other queries
// share the call (a verify pass reproduces single-row steps); then the
// softmax and the probability-weighted sum of the values run per query.
func AttentionHead(qs []float32, counts []int, hd int, kt, v []float32, vstride int, scores, out []float32) {
	M := len(counts)
	n := 0
	for _, c := range counts {
		n = max(n, c)
	}
	if M == 0 || n == 0 {
		clear(out[:M*hd])
		return
	}
	if need := (n-1)*vstride + hd; len(v) < need || len(kt) < tensor.PanelLen(n, hd) || len(scores) < M*n || len(qs) < M*hd || len(out) < M*hd {
		panic(fmt.Sprintf("kernels: AttentionHead over %d entries of %d queries: %d keys, %d values, %d scores", n, M, len(kt), len(v), len(scores)))
	}
	fast := hasAsm && simd >= levelAVX512 && tensor.HasPacked(tensor.F32) && hd%16 == 0 && hd <= 128
	for m0 := 0; m0 < M; m0 += tensor.MaxPackedK {
		k := min(tensor.MaxPackedK, M-m0)
		rows := 0
		for _, c := range counts[m0 : m0+k] {
			rows = max(rows, c)
		}
		if fast {
			tensor.MulPanelF32(kt, rows, hd, qs[m0*hd:], hd, k, scores[m0*n:], n)
			continue
		}
		for m := m0; m < m0+k; m++ {
			q := qs[m*hd : (m+1)*hd]
			for j := 0; j < counts[m]; j++ {
				var s float32
				for d, x := range q {
					s += x * kt[tensor.PanelIndex(j, d, hd)]
				}
				scores[m*n+j] = s
			}
		}
	}
	for m, c := range counts {
		p, o := scores[m*n:m*n+c], out[m*hd:(m+1)*hd]
		if c == 0 {
			clear(o)
			continue
		}
		if fast {
			softmaxAVX512(&p[0], c)
			wsumAVX512(&p[0], &v[0], vstride, c, hd, &o[0])
			continue
		}
		Softmax(p)
		clear(o)
		for j, pj := range p {
			AXPY(pj, v[j*vstride:j*vstride+hd], o)
		}
	}
}
