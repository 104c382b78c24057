// Package parallel runs loops across a fixed set of long-lived worker
// goroutines, so the per-token path starts no goroutines.
//
// A decode step makes about a hundred short parallel loops (one per
// matrix product), each lasting tens of microseconds on a small model. A
// channel hand-off wakes a parked goroutine through the scheduler, which
// costs about as much as the work itself, so workers spin on their own
// job slot for a while after each job (as llama.cpp's threads do) and
// park only when no job has come for spinFor.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// spinFor is how long an idle worker (and a caller waiting for its
// workers) polls before blocking. It covers the gaps between the matrix
// products of a forward pass and between decode steps, and is short
// enough that an idle engine gives its CPUs back almost at once.
const spinFor = 200 * time.Microsecond

// Pool splits index ranges across Workers goroutines (the caller counts as
// one of them).
type Pool struct {
	workers int
	mu      sync.Mutex // one For at a time: the slots hold one job each
	slots   []slot     // slots[w] for worker w >= 1
	pending atomic.Int32
	done    chan struct{} // the last worker to finish signals a parked caller
	waiting atomic.Bool   // the caller is parked on done
	quit    atomic.Bool
	once    sync.Once
	spin    bool // spinning pays only when every worker can have its own CPU
}

// slot is one worker's job. The caller writes fn, lo, hi while the worker
// is idle, then bumps seq; the worker reads them after seeing seq change.
type slot struct {
	seq    atomic.Uint32
	parked atomic.Bool
	wake   chan struct{}
	fn     func(worker, lo, hi int)
	lo, hi int
	_      [64]byte // keep neighbouring slots off each other's cache line
}

// New starts a pool of n workers; n <= 0 means one per CPU the process may
// use (runtime.GOMAXPROCS, which follows a container's CPU limit, unlike
// runtime.NumCPU).
func New(n int) *Pool {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	p := &Pool{
		workers: n,
		slots:   make([]slot, n),
		done:    make(chan struct{}, 1),
		spin:    runtime.GOMAXPROCS(0) >= n,
	}
	for w := 1; w < n; w++ {
		p.slots[w].wake = make(chan struct{}, 1)
		go p.loop(w)
	}
	return p
}

func (p *Pool) loop(w int) {
	s := &p.slots[w]
	var seen uint32 // not s.seq.Load(): the first job may be posted before this runs
	for {
		seq := p.await(s, seen)
		if p.quit.Load() {
			return
		}
		seen = seq
		s.fn(w, s.lo, s.hi)
		s.fn = nil
		if p.pending.Add(-1) == 0 && p.waiting.Load() {
			select {
			case p.done <- struct{}{}:
			default:
			}
		}
	}
}

// await returns the slot's sequence number once it differs from seen (or
// the pool is closing), spinning first and then parking.
func (p *Pool) await(s *slot, seen uint32) uint32 {
	for {
		if p.spinUntil(func() bool { return s.seq.Load() != seen || p.quit.Load() }) {
			return s.seq.Load()
		}
		s.parked.Store(true)
		// The caller bumps seq before it looks at parked, so checking seq
		// after setting parked cannot miss a job.
		if s.seq.Load() != seen || p.quit.Load() {
			s.parked.Store(false)
			return s.seq.Load()
		}
		<-s.wake
		s.parked.Store(false)
	}
}

// spinUntil polls cond for up to spinFor (not at all when spinning is
// off), yielding the processor now and then so a goroutine that shares it
// still runs. It reports whether cond became true.
func (p *Pool) spinUntil(cond func() bool) bool {
	if !p.spin {
		return cond()
	}
	var start time.Time
	for i := 0; ; i++ {
		if cond() {
			return true
		}
		if i&255 == 255 {
			if start.IsZero() {
				start = time.Now()
			} else if time.Since(start) > spinFor {
				return false
			}
			runtime.Gosched()
		}
	}
}

// Workers is the number of workers, which is also the number of distinct
// worker indices For passes to fn.
func (p *Pool) Workers() int { return p.workers }

// Close stops the worker goroutines. The pool must not be used afterwards.
func (p *Pool) Close() {
	p.once.Do(func() {
		p.quit.Store(true)
		for w := 1; w < p.workers; w++ {
			select {
			case p.slots[w].wake <- struct{}{}:
			default:
			}
		}
	})
}

// For calls fn over disjoint subranges covering [0, n), in parallel, and
// returns when all are done. Ranges are at least minChunk long (except the
// last), so tiny loops run on the caller alone. worker is in [0, Workers())
// and unique among concurrently running calls, for per-worker scratch.
// Calls from several goroutines take turns; fn must not call For on the
// same pool.
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
	chunk := (n + parts - 1) / parts
	// Every worker below parts gets a non-empty range: ceil division can
	// leave the last ones empty, so shrink parts to fit.
	parts = (n + chunk - 1) / chunk

	p.mu.Lock()
	defer p.mu.Unlock()
	p.pending.Store(int32(parts - 1))
	for w := 1; w < parts; w++ {
		s := &p.slots[w]
		s.fn, s.lo, s.hi = fn, w*chunk, min((w+1)*chunk, n)
		s.seq.Add(1)
		if s.parked.Load() {
			select {
			case s.wake <- struct{}{}:
			default:
			}
		}
	}
	fn(0, 0, chunk)
	if p.spinUntil(func() bool { return p.pending.Load() == 0 }) {
		return
	}
	p.waiting.Store(true)
	for p.pending.Load() != 0 {
		<-p.done
	}
	p.waiting.Store(false)
	// A worker may have signalled after the loop saw pending reach zero.
	select {
	case <-p.done:
	default:
	}
}
