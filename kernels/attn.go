package kernels

import "fmt"

// Attention computes one query head's attention over count cached
// positions: scores[j] = scale·q·k_j, p = softmax(scores), out = Σ_j p_j·v_j,
// where k_j = k[j*stride : j*stride+len(q)] and likewise v_j (slices that
// start at the head's offset in a cache row of stride floats). scores is
// scratch of at least count floats and holds p afterwards.
//
// It is the per-key Dot / Softmax / AXPY loop in three calls, so a short
// head (32-128 values) does not pay a call and a horizontal sum per key:
// with AVX-512 each pass is one assembly loop (head sizes that are
// multiples of 16 up to 128).
func Attention(q, k, v []float32, stride, count int, scale float32, scores, out []float32) {
	hd := len(q)
	if count <= 0 || hd == 0 {
		clear(out[:hd])
		return
	}
	if need := (count-1)*stride + hd; len(k) < need || len(v) < need || len(scores) < count || len(out) < hd {
		panic(fmt.Sprintf("kernels: Attention over %d positions of stride %d needs %d keys and values, has %d and %d", count, stride, need, len(k), len(v)))
	}
	scores = scores[:count]
	if hasAsm && simd >= levelAVX512 && hd%16 == 0 && hd <= 128 {
		scoresAVX512(&q[0], &k[0], stride, count, hd, scale, &scores[0])
		softmaxAVX512(&scores[0], count)
		wsumAVX512(&scores[0], &v[0], stride, count, hd, &out[0])
		return
	}
	for j := range scores {
		scores[j] = Dot(q, k[j*stride:j*stride+hd]) * scale
	}
	Softmax(scores)
	out = out[:hd]
	clear(out)
	for j, p := range scores {
		AXPY(p, v[j*stride:j*stride+hd], out)
	}
}
