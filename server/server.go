// Package server answers the OpenAI HTTP API (chat and text completions,
// streamed or not, models, health, Prometheus metrics) from one loaded
// model, decoding concurrent requests together through an engine.Scheduler,
// each with its own depth-decay (D³) schedule.
package server

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/d3-project/d3/depth"
	"github.com/d3-project/d3/engine"
	"github.com/d3-project/d3/model"
	"github.com/d3-project/d3/sample"
)

// Config configures a Server. Start from DefaultConfig.
type Config struct {
	// ModelID names the model in /v1/models and in responses; "" uses the
	// model file's base name. Requests may name any model: there is one.
	ModelID string
	// Threads are the kernel worker threads (<= 0: all CPUs).
	Threads int
	// Ctx is each sequence's context (prompt plus generated tokens); <= 0
	// or more than the model's: the model's context length.
	Ctx int
	// Parallel sequences decode together, one KV cache slot each.
	Parallel int
	// QueueLen requests may wait for a slot; beyond that a request gets 503.
	QueueLen int
	// APIKey, when set, is required as "Authorization: Bearer KEY" on
	// every endpoint but /health.
	APIKey string
	// MaxBody is the largest request body accepted, in bytes.
	MaxBody int64
	// ChatTemplate is the Jinja source of the chat template; "" uses the
	// model's own (GGUF tokenizer.chat_template or tokenizer_config.json).
	ChatTemplate string
	// Schedule is the depth schedule of requests without a d3 object;
	// LayerPlans, when set, replaces it with explicit per-step plans.
	Schedule   depth.Schedule
	LayerPlans []depth.Plan
	// Draft is the lossless-drafting policy of requests that name none.
	Draft engine.DraftPolicy
	// Profiles are the schedules a request selects with {"d3":{"profile":NAME}}.
	Profiles map[string]depth.Profile
	// Sample holds the sampling defaults for parameters a request leaves
	// out. Its Seed is unused: a request without a seed gets a random one.
	Sample sample.Params
	// MaxTokens is the default max_tokens; <= 0: until end of generation
	// or the context is full.
	MaxTokens int
	// Timeouts: ReadHeader and Read bound reading a request (net/http
	// lifts the read deadline once the body is in); Write bounds each write
	// of a response or a stream chunk, not the whole generation; Idle
	// bounds keep-alive waits; Shutdown is how long a graceful shutdown
	// lets in-flight requests finish before cancelling them.
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout, ShutdownTimeout time.Duration
	// Log receives one line per request and lifecycle messages; nil: none.
	Log io.Writer
}

// DefaultConfig returns the defaults of `d3 serve`: sampling as llama.cpp's
// server (temperature 0.8, top-k 40, top-p 0.95, min-p 0.05), 4 parallel
// sequences, a queue of 64, 4 MiB bodies, full depth.
func DefaultConfig() Config {
	return Config{
		Parallel: 4, QueueLen: 64, MaxBody: 4 << 20,
		Schedule: depth.DefaultSchedule(), Sample: sample.DefaultParams(), MaxTokens: -1,
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, WriteTimeout: time.Minute,
		IdleTimeout: 2 * time.Minute, ShutdownTimeout: 10 * time.Second,
	}
}

// greedyBelow: temperatures below it are greedy. Some clients cannot send a
// temperature of 0 (go-openai drops zero values), and dividing logits by a
// tinier one overflows.
const greedyBelow = 1e-4

// Server serves one model. It is an http.Handler.
type Server struct {
	cfg     Config
	model   *model.Model
	eng     *engine.Engine
	sched   *engine.Scheduler
	tmpl    *chatTemplate
	tmplErr error // why chat completions are unavailable (tmpl == nil)
	lim     limits
	modelID string
	created int64
	metrics *metrics
	logger  *log.Logger
	closed  sync.Once
}

// New starts the engine and scheduler for m (which the Server does not
// close). Configuration errors are returned; a model without a chat
// template is not one (chat completions then answer 501, see ChatError).
func New(m *model.Model, cfg Config) (*Server, error) {
	if m.Tokenizer == nil {
		return nil, fmt.Errorf("server: %s has no tokenizer", m.Path)
	}
	if cfg.Parallel < 1 {
		return nil, fmt.Errorf("server: parallel %d, want at least 1", cfg.Parallel)
	}
	if cfg.QueueLen < 0 {
		return nil, fmt.Errorf("server: queue length %d is negative", cfg.QueueLen)
	}
	if cfg.MaxBody <= 0 {
		return nil, fmt.Errorf("server: max body %d, want > 0", cfg.MaxBody)
	}
	if err := cfg.Sample.Validate(); err != nil {
		return nil, fmt.Errorf("server: default sampling: %w", err)
	}
	L := m.Config.NumLayers
	if err := cfg.Schedule.Validate(L); err != nil {
		return nil, fmt.Errorf("server: default d3 schedule: %w", err)
	}
	for name, p := range cfg.Profiles {
		if err := p.Schedule.Validate(L); err != nil {
			return nil, fmt.Errorf("server: d3 profile %q: %w", name, err)
		}
	}
	for i, p := range cfg.LayerPlans {
		if len(p) != L {
			return nil, fmt.Errorf("server: layer plan %d has %d layers, the model %d", i, len(p), L)
		}
	}
	s := &Server{cfg: cfg, model: m, metrics: newMetrics(), created: time.Now().Unix(), modelID: cfg.ModelID}
	if s.modelID == "" {
		s.modelID = strings.TrimPrefix(filepath.Base(m.Path), "(default) ")
	}
	w := cfg.Log
	if w == nil {
		w = io.Discard
	}
	s.logger = log.New(w, "", log.LstdFlags)
	src := cfg.ChatTemplate
	if src == "" {
		src = m.Tokenizer.ChatTemplate()
	}
	if src == "" {
		s.tmplErr = fmt.Errorf("the model %s has no chat template: start d3 serve with --chat-template %s or --chat-template-file FILE",
			s.modelID, strings.Join(BuiltinTemplateNames(), "|"))
	} else if t, err := newChatTemplate(src, m.Tokenizer); err != nil {
		if cfg.ChatTemplate != "" {
			return nil, fmt.Errorf("server: %w", err)
		}
		s.tmplErr = fmt.Errorf("the model's chat template cannot be used (%v): start d3 serve with --chat-template or --chat-template-file", err)
	} else {
		s.tmpl = t
	}
	s.eng = engine.New(m, cfg.Threads, cfg.Ctx)
	s.lim = limits{ctx: s.eng.Ctx, vocab: m.Config.VocabSize, numLayers: L, profiles: cfg.Profiles}
	s.sched = engine.NewScheduler(s.eng, cfg.Parallel, cfg.QueueLen)
	return s, nil
}

// ChatError says why chat completions are unavailable (the model has no
// usable chat template), or nil.
func (s *Server) ChatError() error { return s.tmplErr }

// ModelID is the model's name in the API.
func (s *Server) ModelID() string { return s.modelID }

// Close cancels in-flight and queued generations (their requests end with
// an error) and stops the engine. The model stays open.
func (s *Server) Close() {
	s.closed.Do(func() {
		s.sched.Close()
		s.eng.Close()
	})
}

// routes maps paths to the endpoint label and the methods allowed.
var routes = map[string]struct {
	endpoint string
	methods  string
}{
	"/health":              {"/health", "GET"},
	"/v1/health":           {"/health", "GET"},
	"/metrics":             {"/metrics", "GET"},
	"/v1/models":           {"/v1/models", "GET"},
	"/v1/chat/completions": {"/v1/chat/completions", "POST"},
	"/chat/completions":    {"/v1/chat/completions", "POST"},
	"/v1/completions":      {"/v1/completions", "POST"},
	"/completions":         {"/v1/completions", "POST"},
}

// ServeHTTP routes a request, checks the API key and method, and records
// the answer's status.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	endpoint, status, extra := s.serve(w, r)
	s.metrics.request(endpoint, status)
	s.logger.Printf("%s %s %d %s%s", r.Method, r.URL.Path, status, time.Since(start).Round(time.Millisecond), extra)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) (endpoint string, status int, extra string) {
	path := r.URL.Path
	rt, ok := routes[path]
	if !ok && strings.HasPrefix(path, "/v1/models/") {
		rt, ok = routes["/v1/models"]
	}
	if !ok {
		return "other", s.fail(w, &apiError{Status: http.StatusNotFound, Type: errNotFound,
			Message: fmt.Sprintf("no endpoint %s %s", r.Method, path)}), ""
	}
	endpoint = rt.endpoint
	if s.cfg.APIKey != "" && endpoint != "/health" && !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="d3"`)
		return endpoint, s.fail(w, &apiError{Status: http.StatusUnauthorized, Type: errAuthentication, Code: "invalid_api_key",
			Message: "missing or invalid API key: send the header Authorization: Bearer KEY"}), ""
	}
	if r.Method != rt.methods && !(rt.methods == "GET" && r.Method == "HEAD") {
		w.Header().Set("Allow", rt.methods)
		return endpoint, s.fail(w, &apiError{Status: http.StatusMethodNotAllowed, Type: errInvalidRequest,
			Message: fmt.Sprintf("%s takes %s, not %s", endpoint, rt.methods, r.Method)}), ""
	}
	switch endpoint {
	case "/health":
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return endpoint, http.StatusOK, ""
	case "/metrics":
		active, queued := s.sched.Stats()
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_ = s.metrics.write(w, active, queued, s.cfg.Parallel)
		return endpoint, http.StatusOK, ""
	case "/v1/models":
		return endpoint, s.models(w, strings.TrimPrefix(path, "/v1/models")), ""
	}
	status, extra = s.generate(w, r, endpoint == "/v1/chat/completions")
	return endpoint, status, extra
}

func (s *Server) fail(w http.ResponseWriter, e *apiError) int {
	writeError(w, e)
	return e.Status
}

func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	key, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(key)), []byte(s.cfg.APIKey)) == 1
}

type modelJSON struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

func (s *Server) models(w http.ResponseWriter, rest string) int {
	m := modelJSON{ID: s.modelID, Object: "model", Created: s.created, OwnedBy: "d3"}
	if rest == "" {
		writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": []modelJSON{m}})
		return http.StatusOK
	}
	if strings.TrimPrefix(rest, "/") != s.modelID {
		return s.fail(w, &apiError{Status: http.StatusNotFound, Type: errNotFound, Param: "model", Code: "model_not_found",
			Message: fmt.Sprintf("the model %q does not exist; this server has %q", strings.TrimPrefix(rest, "/"), s.modelID)})
	}
	writeJSON(w, http.StatusOK, m)
	return http.StatusOK
}

// newID returns a random response id with the given prefix.
func newID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// LoadingHandler answers while the model loads: /health 503 with
// {"status":"loading model"}, every other request 503 with Retry-After.
func LoadingHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "1")
		if r.URL.Path == "/health" || r.URL.Path == "/v1/health" {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "loading model"})
			return
		}
		writeError(w, &apiError{Status: http.StatusServiceUnavailable, Type: errUnavailable, Code: "loading",
			Message: "the model is loading; retry shortly"})
	})
}

// Run serves on ln until ctx is done, then shuts down gracefully. It
// answers LoadingHandler's 503s while load runs, then serves the model load
// returns (Run closes it at the end); load may also set the parts of cfg
// that depend on the model (schedules, profiles). On shutdown Run stops
// accepting connections, lets in-flight requests finish for
// cfg.ShutdownTimeout, then cancels the rest (their clients get an error)
// and returns.
func Run(ctx context.Context, ln net.Listener, cfg Config, load func(cfg *Config) (*model.Model, error)) error {
	logw := cfg.Log
	if logw == nil {
		logw = io.Discard
	}
	logger := log.New(logw, "", log.LstdFlags)
	var current atomic.Pointer[Server]
	loading := LoadingHandler()
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if s := current.Load(); s != nil {
				s.ServeHTTP(w, r)
				return
			}
			loading.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		ErrorLog:          logger,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	logger.Printf("listening on http://%s (loading the model)", ln.Addr())

	stop := func() {
		_ = srv.Close()
		<-served
	}
	m, err := load(&cfg)
	if err != nil {
		stop()
		return err
	}
	defer m.Close()
	s, err := New(m, cfg)
	if err != nil {
		stop()
		return err
	}
	current.Store(s)
	if s.tmplErr != nil {
		logger.Printf("warning: chat completions unavailable: %v", s.tmplErr)
	}
	logger.Printf("serving %s on http://%s: %d parallel sequences, context %d", s.modelID, ln.Addr(), cfg.Parallel, s.eng.Ctx)

	select {
	case err := <-served:
		s.Close()
		return fmt.Errorf("server: %w", err)
	case <-ctx.Done():
	}
	logger.Printf("shutting down: waiting up to %s for in-flight requests", cfg.ShutdownTimeout)
	grace, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	err = srv.Shutdown(grace)
	cancel()
	if err != nil {
		logger.Printf("cancelling the requests still in flight")
		s.Close()
		last, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if srv.Shutdown(last) != nil {
			_ = srv.Close()
		}
		cancel()
	}
	s.Close()
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("server: %w", err)
	}
	logger.Printf("stopped")
	return nil
}
