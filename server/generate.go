package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/d3-project/d3/depth"
	"github.com/d3-project/d3/engine"
)

type usageJSON struct {
	PromptTokens     int      `json:"prompt_tokens"`
	CompletionTokens int      `json:"completion_tokens"`
	TotalTokens      int      `json:"total_tokens"`
	D3               *d3Usage `json:"d3,omitempty"`
}

// d3Usage reports the depth decay of a generation: mean layers run per
// generated token (EOS included) and the model's layers over that.
type d3Usage struct {
	MeanLayers   float64            `json:"mean_layers"`
	LayerSpeedup float64            `json:"layer_speedup"`
	Draft        *engine.DraftStats `json:"draft,omitempty"`
}

type chatResponse struct {
	ID                string       `json:"id"`
	Object            string       `json:"object"`
	Created           int64        `json:"created"`
	Model             string       `json:"model"`
	SystemFingerprint string       `json:"system_fingerprint"`
	Choices           []chatChoice `json:"choices"`
	Usage             usageJSON    `json:"usage"`
}

type chatChoice struct {
	Index        int             `json:"index"`
	Message      chatMessageJSON `json:"message"`
	FinishReason string          `json:"finish_reason"`
	Logprobs     *struct{}       `json:"logprobs"`
}

type chatMessageJSON struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type completionResponse struct {
	ID                string             `json:"id"`
	Object            string             `json:"object"`
	Created           int64              `json:"created"`
	Model             string             `json:"model"`
	SystemFingerprint string             `json:"system_fingerprint"`
	Choices           []completionChoice `json:"choices"`
	Usage             usageJSON          `json:"usage"`
}

type completionChoice struct {
	Index        int       `json:"index"`
	Text         string    `json:"text"`
	FinishReason string    `json:"finish_reason"`
	Logprobs     *struct{} `json:"logprobs"`
}

// chunk is one streamed event of either endpoint.
type chunk struct {
	ID                string        `json:"id"`
	Object            string        `json:"object"`
	Created           int64         `json:"created"`
	Model             string        `json:"model"`
	SystemFingerprint string        `json:"system_fingerprint"`
	Choices           []chunkChoice `json:"choices"`
	// Usage is null on every chunk but the last when the client asked for
	// usage (stream_options.include_usage), absent otherwise.
	Usage json.RawMessage `json:"usage,omitempty"`
}

type chunkChoice struct {
	Index        int        `json:"index"`
	Delta        *deltaJSON `json:"delta,omitempty"` // chat
	Text         *string    `json:"text,omitempty"`  // completions
	FinishReason *string    `json:"finish_reason"`
	Logprobs     *struct{}  `json:"logprobs"`
}

type deltaJSON struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
}

const fingerprint = "d3"

// job is one admitted generation request, ready to submit.
type job struct {
	req    *genRequest
	prompt []int
	opt    engine.Options
	id     string
	start  int64
	res    *engine.Result // once ended
}

// generate answers a chat or text completion request.
func (s *Server) generate(w http.ResponseWriter, r *http.Request, chat bool) (status int, extra string) {
	j, e := s.prepare(w, r, chat)
	if e != nil {
		return s.fail(w, e), ""
	}
	s.metrics.begin()
	defer s.metrics.end()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	if j.req.Stream {
		status = s.stream(ctx, cancel, w, j)
	} else {
		res, err := s.sched.Submit(ctx, j.prompt, j.opt, nil)
		j.res = res
		if status = s.ended(ctx, res, err); status == http.StatusOK {
			s.respond(w, j, res)
		} else if status != statusClientClosed {
			writeError(w, s.submitError(err))
		}
	}
	extra = fmt.Sprintf(" prompt=%d", len(j.prompt))
	if j.res != nil {
		extra += fmt.Sprintf(" generated=%d mean_layers=%.2f", len(j.res.Tokens), j.res.MeanLayers())
	}
	return status, extra
}

// prepare reads and checks the request and builds its prompt and options.
func (s *Server) prepare(w http.ResponseWriter, r *http.Request, chat bool) (*job, *apiError) {
	if r.ContentLength > s.cfg.MaxBody {
		return nil, tooLarge(s.cfg.MaxBody)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge(s.cfg.MaxBody)
		}
		return nil, badRequest("", "cannot read the request body: %v", err)
	}
	req, e := decodeRequest(chat, body, s.lim)
	if e != nil {
		return nil, e
	}
	j := &job{req: req, start: time.Now().Unix()}
	param := "prompt"
	switch {
	case chat:
		param = "messages"
		if s.tmpl == nil {
			return nil, &apiError{Status: http.StatusNotImplemented, Type: errNotSupported, Code: "no_chat_template", Message: s.tmplErr.Error()}
		}
		text, err := s.tmpl.render(req.Messages, req.TemplateKwargs)
		if err != nil {
			e := badRequest("messages", "%v", err)
			e.Code = "chat_template_error"
			return nil, e
		}
		j.prompt = s.tmpl.tokens(text)
		j.id = newID("chatcmpl-")
	case req.promptIsIDs:
		j.prompt = req.PromptIDs
		j.id = newID("cmpl-")
	default:
		j.prompt = s.model.Tokenizer.Encode(req.Prompt, true)
		j.id = newID("cmpl-")
	}
	if len(j.prompt) == 0 {
		return nil, badRequest(param, "the prompt is empty (it has no tokens)")
	}
	if len(j.prompt) >= s.eng.Ctx {
		e := badRequest(param, "the prompt has %d tokens; the context holds %d, and at least one must be left for the answer", len(j.prompt), s.eng.Ctx)
		e.Code = "context_length_exceeded"
		return nil, e
	}
	if j.opt, e = s.options(req); e != nil {
		return nil, e
	}
	return j, nil
}

func tooLarge(limit int64) *apiError {
	return &apiError{Status: http.StatusRequestEntityTooLarge, Type: errInvalidRequest, Code: "request_too_large",
		Message: fmt.Sprintf("the request body exceeds %d bytes (--max-body)", limit)}
}

// options turns the request's parameters, over the server's defaults, into
// engine options.
func (s *Server) options(req *genRequest) (engine.Options, *apiError) {
	p := s.cfg.Sample
	if req.Temperature != nil {
		p.Temperature = *req.Temperature
	}
	if req.TopP != nil {
		if *req.TopP == 0 { // only the most likely token survives: greedy
			p.Temperature, p.TopP = 0, 1
		} else {
			p.TopP = *req.TopP
		}
	}
	if req.TopK != nil {
		p.TopK = *req.TopK
	}
	if req.MinP != nil {
		p.MinP = *req.MinP
	}
	if req.RepeatPenalty != nil {
		p.RepeatPenalty = *req.RepeatPenalty
	}
	if req.RepeatLastN != nil {
		p.RepeatLastN = *req.RepeatLastN
	}
	if p.Temperature < greedyBelow {
		p.Temperature = 0
	}
	if req.Seed != nil {
		p.Seed = uint64(*req.Seed)
	} else {
		p.Seed = rand.Uint64()
	}
	if err := p.Validate(); err != nil {
		return engine.Options{}, badRequest("", "%v", err)
	}
	opt := engine.Options{MaxNew: s.cfg.MaxTokens, Sample: p, Stop: req.Stop, IgnoreEOS: req.IgnoreEOS}
	if req.MaxTokens != nil {
		opt.MaxNew = *req.MaxTokens
	}
	sched := s.cfg.Schedule
	if req.Schedule != nil {
		sched = *req.Schedule
	} else if s.cfg.LayerPlans != nil {
		opt.LayerPlans = s.cfg.LayerPlans
	}
	planner, err := depth.NewPlanner(sched, s.lim.numLayers)
	if err != nil { // schedules were validated; this is a bug
		return engine.Options{}, badRequest("d3", "invalid d3 schedule: %v", err)
	}
	opt.Planner = planner
	opt.Propagate = sched.KV == depth.KVPropagate
	opt.Draft, opt.DraftBase = s.cfg.Draft, sched
	if req.Draft != nil {
		opt.Draft = *req.Draft
	}
	if opt.Draft.Kind != engine.DraftOff {
		opt.LayerPlans = nil // drafts follow the schedule; the output is full depth
	}
	return opt, nil
}

// ended records a finished Submit in the metrics and returns the status it
// deserves (200, or 499 when the client went away).
func (s *Server) ended(ctx context.Context, res *engine.Result, err error) int {
	switch {
	case err == nil:
		s.metrics.generation(res, res.FinishReason)
		return http.StatusOK
	case errors.Is(err, engine.ErrQueueFull):
		return http.StatusServiceUnavailable
	case ctx.Err() != nil && !errors.Is(err, engine.ErrClosed):
		s.metrics.generation(res, "cancelled")
		return statusClientClosed
	case errors.Is(err, engine.ErrClosed):
		s.metrics.generation(res, "cancelled")
		return http.StatusServiceUnavailable
	}
	s.metrics.generation(res, "error")
	return s.submitError(err).Status
}

// submitError is the error object for a failed Submit.
func (s *Server) submitError(err error) *apiError {
	switch {
	case errors.Is(err, engine.ErrQueueFull):
		return &apiError{Status: http.StatusServiceUnavailable, Type: errUnavailable, Code: "queue_full", RetryAfter: 1,
			Message: fmt.Sprintf("the server is busy (%d sequences decoding, %d requests waiting); retry later", s.cfg.Parallel, s.cfg.QueueLen)}
	case errors.Is(err, engine.ErrClosed):
		return &apiError{Status: http.StatusServiceUnavailable, Type: errUnavailable, Code: "shutting_down", RetryAfter: 1,
			Message: "the server is shutting down; the generation was cancelled"}
	case errors.Is(err, engine.ErrPromptTooLong):
		return &apiError{Status: http.StatusBadRequest, Type: errInvalidRequest, Code: "context_length_exceeded", Message: err.Error()}
	}
	return &apiError{Status: http.StatusInternalServerError, Type: errServer, Message: fmt.Sprintf("generation failed: %v", err)}
}

func (s *Server) usage(res *engine.Result) usageJSON {
	u := usageJSON{PromptTokens: len(res.PromptTokens), CompletionTokens: len(res.Tokens)}
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	if mean := res.MeanLayers(); mean > 0 {
		u.D3 = &d3Usage{MeanLayers: mean, LayerSpeedup: float64(s.lim.numLayers) / mean}
		if res.Draft.Policy != "" {
			d := res.Draft
			u.D3.Draft = &d
		}
	}
	return u
}

// respond writes a whole (non-streamed) answer.
func (s *Server) respond(w http.ResponseWriter, j *job, res *engine.Result) {
	_ = http.NewResponseController(w).SetWriteDeadline(s.writeDeadline())
	if j.req.chat {
		writeJSON(w, http.StatusOK, chatResponse{
			ID: j.id, Object: "chat.completion", Created: j.start, Model: s.modelID, SystemFingerprint: fingerprint,
			Choices: []chatChoice{{Message: chatMessageJSON{Role: "assistant", Content: res.Text}, FinishReason: res.FinishReason}},
			Usage:   s.usage(res),
		})
		return
	}
	writeJSON(w, http.StatusOK, completionResponse{
		ID: j.id, Object: "text_completion", Created: j.start, Model: s.modelID, SystemFingerprint: fingerprint,
		Choices: []completionChoice{{Text: res.Text, FinishReason: res.FinishReason}},
		Usage:   s.usage(res),
	})
}

func (s *Server) writeDeadline() time.Time {
	if s.cfg.WriteTimeout <= 0 {
		return time.Time{}
	}
	return time.Now().Add(s.cfg.WriteTimeout)
}

// textPipe carries generated text from the decoding goroutine to the
// handler without ever blocking the decoder (a slow client must not stall
// the other sequences of the batch).
type textPipe struct {
	mu      sync.Mutex
	pending []string
	notify  chan struct{}
}

func (p *textPipe) push(s string) error {
	p.mu.Lock()
	p.pending = append(p.pending, s)
	p.mu.Unlock()
	select {
	case p.notify <- struct{}{}:
	default:
	}
	return nil
}

func (p *textPipe) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.pending
	p.pending = nil
	return out
}

type submitted struct {
	res *engine.Result
	err error
}

// stream answers with server-sent events: one chunk per piece of text as
// it is generated, a last chunk with the finish reason, the usage chunk
// when asked for, then [DONE]. Headers go out with the first text, so a
// request refused at once (queue full) still gets a plain error status.
func (s *Server) stream(ctx context.Context, cancel context.CancelFunc, w http.ResponseWriter, j *job) int {
	pipe := &textPipe{notify: make(chan struct{}, 1)}
	done := make(chan submitted, 1)
	go func() {
		res, err := s.sched.Submit(ctx, j.prompt, j.opt, pipe.push)
		done <- submitted{res, err}
	}()
	rc := http.NewResponseController(w)
	object := "text_completion"
	if j.req.chat {
		object = "chat.completion.chunk"
	}
	var usageNull json.RawMessage
	if j.req.IncludeUsage {
		usageNull = json.RawMessage("null")
	}
	started, broken := false, false
	write := func(data []byte) {
		if broken {
			return
		}
		_ = rc.SetWriteDeadline(s.writeDeadline())
		if _, err := fmt.Fprintf(w, "data: %s\n\n", data); err != nil {
			broken = true
			cancel() // the client is gone: free the slot
		}
	}
	send := func(choices []chunkChoice, usage json.RawMessage) {
		data, _ := json.Marshal(chunk{ID: j.id, Object: object, Created: j.start, Model: s.modelID,
			SystemFingerprint: fingerprint, Choices: choices, Usage: usage})
		write(data)
	}
	piece := func(text string, finish *string) chunkChoice {
		if j.req.chat {
			d := &deltaJSON{}
			if finish == nil {
				d.Content = &text
			}
			return chunkChoice{Delta: d, FinishReason: finish}
		}
		return chunkChoice{Text: &text, FinishReason: finish}
	}
	begin := func() {
		started = true
		h := w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Accel-Buffering", "no")
		w.WriteHeader(http.StatusOK)
		if j.req.chat {
			empty := ""
			send([]chunkChoice{{Delta: &deltaJSON{Role: "assistant", Content: &empty}}}, usageNull)
		}
	}
	flush := func() {
		if !broken && rc.Flush() != nil {
			broken = true
			cancel()
		}
	}
	for {
		select {
		case <-pipe.notify:
			texts := pipe.take()
			if !started {
				begin()
			}
			for _, t := range texts {
				send([]chunkChoice{piece(t, nil)}, usageNull)
			}
			flush()
		case d := <-done:
			j.res = d.res
			texts := pipe.take()
			status := s.ended(ctx, d.res, d.err)
			if status == statusClientClosed {
				return status
			}
			if d.err != nil && !started {
				writeError(w, s.submitError(d.err))
				return status
			}
			if !started {
				begin()
			}
			for _, t := range texts {
				send([]chunkChoice{piece(t, nil)}, usageNull)
			}
			if d.err != nil {
				// Mid-stream failure: an error event, as OpenAI sends one.
				data, _ := json.Marshal(s.submitError(d.err).body())
				write(data)
				flush()
				return status
			}
			reason := d.res.FinishReason
			send([]chunkChoice{piece("", &reason)}, usageNull)
			if j.req.IncludeUsage {
				u, _ := json.Marshal(s.usage(d.res))
				send([]chunkChoice{}, u)
			}
			if !broken {
				_ = rc.SetWriteDeadline(s.writeDeadline())
				_, _ = io.WriteString(w, "data: [DONE]\n\n")
			}
			flush()
			if broken {
				return statusClientClosed
			}
			return http.StatusOK
		}
	}
}
