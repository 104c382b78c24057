package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/d3-project/d3/model"
)

// ErrQueueFull is returned by Submit when every slot is busy and the wait
// queue is full (a server answers 503).
var ErrQueueFull = errors.New("engine: request queue is full")

// ErrClosed is returned for requests submitted to, or still waiting in, a
// closed scheduler.
var ErrClosed = errors.New("engine: scheduler closed")

// Scheduler decodes concurrent requests together: up to Slots sequences,
// each with its own KV cache slot and its own layer plan, share one forward
// pass per step (continuous batching: a finished sequence's slot takes the
// next waiting request at once). Further requests wait in a bounded queue.
type Scheduler struct {
	e       *Engine
	slots   int
	queue   chan *request
	quit    chan struct{}
	stopped chan struct{}
	closeMu sync.Once
	statsMu sync.Mutex
	active  int
	queued  int
}

type request struct {
	ctx    context.Context
	prompt []int
	opt    Options
	onText func(string) error
	res    *Result
	err    error
	done   chan struct{}
}

// NewScheduler starts the decoding loop with slots concurrent sequences and
// a wait queue of queueLen requests.
func NewScheduler(e *Engine, slots, queueLen int) *Scheduler {
	if slots < 1 {
		slots = 1
	}
	if queueLen < 0 {
		queueLen = 0
	}
	s := &Scheduler{e: e, slots: slots, queue: make(chan *request, queueLen), quit: make(chan struct{}), stopped: make(chan struct{})}
	go s.loop()
	return s
}

// Stats reports the sequences decoding now and the requests waiting.
func (s *Scheduler) Stats() (active, queued int) {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	return s.active, s.queued
}

// Submit runs one generation and blocks until it ends, the context is
// cancelled (the slot is freed within one step) or the scheduler closes.
// onText is called from the decoding goroutine and must not block for long.
// When the queue is full it fails at once with ErrQueueFull.
func (s *Scheduler) Submit(ctx context.Context, prompt []int, opt Options, onText func(string) error) (*Result, error) {
	r := &request{ctx: ctx, prompt: prompt, opt: opt, onText: onText, done: make(chan struct{})}
	select {
	case <-s.quit:
		return nil, ErrClosed
	default:
	}
	s.statsMu.Lock()
	select {
	case s.queue <- r:
		s.queued++
		s.statsMu.Unlock()
	default:
		s.statsMu.Unlock()
		return nil, ErrQueueFull
	}
	<-r.done
	return r.res, r.err
}

// Close stops accepting requests, cancels those in flight or waiting (they
// return ErrClosed) and waits for the loop to exit.
func (s *Scheduler) Close() {
	s.closeMu.Do(func() { close(s.quit) })
	<-s.stopped
}

type slot struct {
	req   *request
	g     *gen
	cache *model.Cache
}

func (s *Scheduler) loop() {
	defer close(s.stopped)
	e := s.e
	slots := make([]slot, s.slots)
	for i := range slots {
		slots[i].cache = model.NewCache(&e.Model.Config, e.Ctx)
	}
	// Room for every slot verifying the longest draft round.
	maxRows := s.slots * (maxDraftLength + 1)
	st := model.NewState(e.Model, e.Pool, max(maxRows, DefaultPrefillChunk))
	b := newBatch(maxRows)
	rowSlot := make([]int, 0, s.slots)
	first := make([]int, s.slots)
	finish := func(sl *slot, err error) {
		r := sl.req
		if sl.g != nil {
			sl.g.finish()
			r.res = sl.g.res
		}
		r.err = err
		close(r.done)
		sl.req, sl.g = nil, nil
		s.statsMu.Lock()
		s.active--
		s.statsMu.Unlock()
	}
	defer func() {
		for i := range slots {
			if slots[i].req != nil {
				finish(&slots[i], ErrClosed)
			}
		}
		for {
			select {
			case r := <-s.queue:
				r.err = ErrClosed
				close(r.done)
			default:
				return
			}
		}
	}()
	for {
		busy := 0
		for i := range slots {
			if slots[i].req != nil {
				busy++
			}
		}
		// Admit waiting requests into free slots; block only when idle.
		for i := range slots {
			if slots[i].req != nil {
				continue
			}
			var r *request
			if busy == 0 {
				select {
				case r = <-s.queue:
				case <-s.quit:
					return
				}
			} else {
				select {
				case r = <-s.queue:
				default:
				}
			}
			if r == nil {
				break
			}
			s.statsMu.Lock()
			s.queued--
			s.active++
			s.statsMu.Unlock()
			sl := &slots[i]
			sl.req = r
			if err := r.ctx.Err(); err != nil {
				finish(sl, err)
				continue
			}
			sl.cache.Reset()
			g, err := e.newGen(r.prompt, r.opt, sl.cache)
			if err == nil {
				g.onText = r.onText
				err = g.prefill(st)
			}
			if err != nil {
				finish(sl, err)
				continue
			}
			sl.g = g
			busy++
		}
		select {
		case <-s.quit:
			return
		default:
		}
		// One step for every active sequence (one row each, or k+1 rows
		// for a sequence verifying k drafts).
		b.reset()
		rowSlot = rowSlot[:0]
		for i := range slots {
			sl := &slots[i]
			if sl.req == nil {
				continue
			}
			if err := sl.req.ctx.Err(); err != nil {
				finish(sl, err)
				continue
			}
			if sl.g.done {
				finish(sl, nil)
				continue
			}
			if len(b.Tokens)+sl.g.rows() > st.MaxRows() {
				continue // no room this step; it goes next step
			}
			first[i] = len(b.Tokens)
			sl.g.fill(&b.Batch)
			rowSlot = append(rowSlot, i)
		}
		if len(rowSlot) == 0 {
			continue
		}
		t := time.Now()
		if err := st.Forward(&b.Batch); err != nil {
			for _, i := range rowSlot {
				finish(&slots[i], fmt.Errorf("engine: %w", err))
			}
			continue
		}
		dt := time.Since(t)
		for _, i := range rowSlot {
			sl := &slots[i]
			if err := sl.g.consume(st, first[i], dt); err != nil {
				finish(sl, err)
				continue
			}
			if sl.g.done {
				finish(sl, nil)
			}
		}
	}
}
