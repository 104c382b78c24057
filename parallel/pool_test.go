package parallel

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
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

// TestForAfterIdle covers workers that parked between calls (no job for
// longer than spinFor) and calls from several goroutines at once.
func TestForAfterIdle(t *testing.T) {
	p := New(2)
	defer p.Close()
	var total atomic.Int64
	for i := 0; i < 3; i++ {
		time.Sleep(2 * spinFor)
		p.For(10, 1, func(_, lo, hi int) { total.Add(int64(hi - lo)) })
	}
	if got := total.Load(); got != 30 {
		t.Fatalf("covered %d indices over three calls, want 30", got)
	}
	var wg sync.WaitGroup
	total.Store(0)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				p.For(8, 1, func(_, lo, hi int) { total.Add(int64(hi - lo)) })
			}
		}()
	}
	wg.Wait()
	if got := total.Load(); got != 4*200*8 {
		t.Fatalf("concurrent calls covered %d indices, want %d", got, 4*200*8)
	}
}

func TestForAllocatesNothing(t *testing.T) {
	p := New(2)
	defer p.Close()
	var sink [2]int
	fn := func(w, lo, hi int) { sink[w] += hi - lo }
	if a := testing.AllocsPerRun(100, func() { p.For(64, 1, fn) }); a != 0 {
		t.Fatalf("%v allocations per For", a)
	}
}

func BenchmarkFor(b *testing.B) {
	p := New(2)
	defer p.Close()
	var sink [2]int
	fn := func(w, lo, hi int) { sink[w] += hi - lo }
	for b.Loop() {
		p.For(2, 1, fn)
	}
}
