package parallel

import (
	"sync/atomic"
	"testing"
)

func TestForCoversRangeOnce(t *testing.T) {
	p := New(3)
	defer p.Close()
	for _, n := range []int{0, 1, 2, 5, 7, 100, 1001} {
		for _, grain := range []int{1, 3, 64} {
			hits := make([]int32, n)
			var workersSeen [3]atomic.Int32
			p.For(n, grain, func(w, lo, hi int) {
				workersSeen[w].Add(1)
				for i := lo; i < hi; i++ {
					atomic.AddInt32(&hits[i], 1)
				}
			})
			for i, h := range hits {
				if h != 1 {
					t.Fatalf("n=%d grain=%d: index %d visited %d times", n, grain, i, h)
				}
			}
		}
	}
}
