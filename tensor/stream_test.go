package tensor

import (
	"math/rand/v2"
	"testing"
)

// TestSumWords checks the vector read stream against a word-by-word sum,
// at every level, for lengths around the 128-byte step.
func TestSumWords(t *testing.T) {
	rng := rand.New(rand.NewPCG(40, 41))
	b := make([]byte, 4099)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	for _, n := range []int{0, 1, 7, 8, 127, 128, 129, 255, 256, 1000, 4099} {
		var want uint64
		for i := 0; i < n; i += 8 {
			var w uint64
			for j := 0; j < 8 && i+j < n; j++ {
				w |= uint64(b[i+j]) << (8 * j)
			}
			want += w
		}
		for _, l := range levels() {
			withLevel(l, func() {
				if got := SumWords(b[:n]); got != want {
					t.Errorf("%v, %d bytes: SumWords = %#x, want %#x", l, n, got, want)
				}
			})
		}
	}
}
