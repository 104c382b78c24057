// Package parallel runs loops across a fixed set of long-lived worker
// goroutines, so the per-token path starts no goroutines.
package parallel

import (
	"runtime"
	"sync"
)

// Pool splits index ranges across Workers goroutines (the caller counts as
// one of them).
type Pool struct {
	workers int
	tasks   chan task
	once    sync.Once
	quit    chan struct{}
}

type task struct {
	fn     func(worker, lo, hi int)
	worker int
	lo, hi int
	wg     *sync.WaitGroup
}

// New starts a pool of n workers; n <= 0 means runtime.NumCPU().
func New(n int) *Pool {
	if n <= 0 {
		n = runtime.NumCPU()
	}
	p := &Pool{workers: n, tasks: make(chan task, n), quit: make(chan struct{})}
	for i := 1; i < n; i++ {
		go p.loop()
	}
	return p
}

func (p *Pool) loop() {
	for {
		select {
		case t := <-p.tasks:
			t.fn(t.worker, t.lo, t.hi)
			t.wg.Done()
		case <-p.quit:
			return
		}
	}
}

// Workers is the number of workers, which is also the number of distinct
// worker indices For passes to fn.
func (p *Pool) Workers() int { return p.workers }

// Close stops the worker goroutines. The pool must not be used afterwards.
func (p *Pool) Close() { p.once.Do(func() { close(p.quit) }) }

// waitGroups recycles the WaitGroup of each For call: the decode path makes
// about a hundred calls per token and should not allocate.
var waitGroups = sync.Pool{New: func() any { return new(sync.WaitGroup) }}

// For calls fn over disjoint subranges covering [0, n), in parallel, and
// returns when all are done. Ranges are at least minChunk long (except the
// last), so tiny loops run on the caller alone. worker is in [0, Workers())
// and unique among concurrently running calls, for per-worker scratch.
func (p *Pool) For(n, minChunk int, fn func(worker, lo, hi int)) {
	if n <= 0 {
		return
	}
	if minChunk < 1 {
		minChunk = 1
	}
	parts := p.workers
	if maxParts := (n + minChunk - 1) / minChunk; parts > maxParts {
		parts = maxParts
	}
	if parts <= 1 {
		fn(0, 0, n)
		return
	}
	wg := waitGroups.Get().(*sync.WaitGroup)
	defer waitGroups.Put(wg)
	wg.Add(parts - 1)
	chunk := (n + parts - 1) / parts
	for w := 1; w < parts; w++ {
		lo := w * chunk
		hi := min(lo+chunk, n)
		if lo >= hi {
			wg.Done()
			continue
		}
		p.tasks <- task{fn: fn, worker: w, lo: lo, hi: hi, wg: wg}
	}
	fn(0, 0, min(chunk, n))
	wg.Wait()
}
