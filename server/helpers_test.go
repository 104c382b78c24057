package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/d3-project/d3/defaultmodel"
	"github.com/d3-project/d3/depth"
	"github.com/d3-project/d3/engine"
	"github.com/d3-project/d3/internal/testutil"
	"github.com/d3-project/d3/model"
	"github.com/d3-project/d3/sample"
)

var (
	bundledOnce  sync.Once
	bundledModel *model.Model
	bundledErr   error
)

// bundled is the embedded d3-tiny-layerdrop model, loaded once for every
// test (servers never close it).
func bundled(t testing.TB) *model.Model {
	t.Helper()
	bundledOnce.Do(func() {
		bundledModel, bundledErr = model.LoadGGUFBytes(defaultmodel.Name, defaultmodel.GGUF)
	})
	if bundledErr != nil {
		t.Fatal(bundledErr)
	}
	return bundledModel
}

// ownBundled loads a bundled model of the caller's own, for Run, which
// closes the model it serves when it stops (the shared one must outlive it).
func ownBundled(t testing.TB) func(*Config) (*model.Model, error) {
	t.Helper()
	return func(*Config) (*model.Model, error) { return model.LoadGGUFBytes(defaultmodel.Name, defaultmodel.GGUF) }
}

// testConfig is the server's configuration for tests: greedy by default
// (as `d3 serve --temp 0`), quiet, two threads.
func testConfig() Config {
	cfg := DefaultConfig()
	cfg.Threads = 2
	cfg.Sample.Temperature = 0
	return cfg
}

// arithPrompt is the training format of the bundled model.
func arithPrompt(q string) string { return "Question: " + q + "\nAnswer:" }

const ivy = "Ivy buys 11 trays of crayons. Each of the trays holds 17 crayons. She uses 51 of them. How many crayons are left?"

// arithQuestions returns the first n questions of the shared arithmetic test set.
func arithQuestions(t testing.TB, n int) []string {
	t.Helper()
	data, err := os.ReadFile(testutil.Shared(t, "data", "arith", "test.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var qs []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() && len(qs) < n {
		var p struct {
			Question string `json:"question"`
		}
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		qs = append(qs, p.Question)
	}
	if len(qs) < n {
		t.Fatalf("test.jsonl has %d questions, want %d", len(qs), n)
	}
	return qs
}

// startServer serves s's handler on 127.0.0.1 with the configured timeouts;
// the server and handler are closed when the test ends.
func startServer(t testing.TB, cfg Config) (*Server, string) {
	t.Helper()
	s, err := New(bundled(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: s, ReadHeaderTimeout: cfg.ReadHeaderTimeout, ReadTimeout: cfg.ReadTimeout,
		WriteTimeout: cfg.WriteTimeout, IdleTimeout: cfg.IdleTimeout}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(ctx)
	})
	return s, "http://" + ln.Addr().String()
}

// reference is the single-request result of one prompt: what `d3 generate`
// computes (its own engine, one sequence, greedy).
type reference struct {
	eng *engine.Engine
}

func newReference(t testing.TB) *reference {
	r := &reference{eng: engine.New(bundled(t), 2, 0)}
	t.Cleanup(r.eng.Close)
	return r
}

func (r *reference) generate(t testing.TB, ids []int, maxNew int, sched *depth.Schedule) *engine.Result {
	t.Helper()
	opt := engine.Options{MaxNew: maxNew, Sample: sample.Params{Temperature: 0, TopP: 1, RepeatPenalty: 1}}
	if sched != nil {
		p, err := depth.NewPlanner(*sched, r.eng.Model.Config.NumLayers)
		if err != nil {
			t.Fatal(err)
		}
		opt.Planner, opt.Propagate = p, sched.KV == depth.KVPropagate
	}
	res, err := r.eng.Generate(context.Background(), ids, opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// post sends a JSON body and returns the status and the decoded body.
func post(t testing.TB, client *http.Client, url, body string, header ...string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, data
}

// sseEvents splits a text/event-stream body into its data payloads.
func sseEvents(body []byte) ([]string, error) {
	var out []string
	for _, block := range strings.Split(string(body), "\n\n") {
		if block == "" {
			continue
		}
		data, ok := strings.CutPrefix(block, "data: ")
		if !ok || strings.Contains(data, "\n") {
			return out, fmt.Errorf("malformed event %q", block)
		}
		out = append(out, data)
	}
	return out, nil
}

// streamed is a parsed streaming answer of either endpoint.
type streamed struct {
	text    string
	deltas  int
	finish  string
	usage   *usageJSON
	sawDone bool
	ids     map[string]bool
}

func parseStream(body []byte) (*streamed, error) {
	events, err := sseEvents(body)
	if err != nil {
		return nil, err
	}
	st := &streamed{ids: map[string]bool{}}
	var b strings.Builder
	for i, ev := range events {
		if ev == "[DONE]" {
			if i != len(events)-1 {
				return nil, fmt.Errorf("[DONE] is event %d of %d", i, len(events))
			}
			st.sawDone = true
			continue
		}
		var c struct {
			ID      string `json:"id"`
			Object  string `json:"object"`
			Choices []struct {
				Text  *string `json:"text"`
				Delta *struct {
					Content *string `json:"content"`
				} `json:"delta"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
			Usage *usageJSON `json:"usage"`
			Error *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal([]byte(ev), &c); err != nil {
			return nil, fmt.Errorf("event %d: %v", i, err)
		}
		if c.Error != nil {
			return nil, fmt.Errorf("error event: %s", c.Error.Message)
		}
		st.ids[c.ID] = true
		if c.Usage != nil {
			st.usage = c.Usage
		}
		for _, ch := range c.Choices {
			if ch.Text != nil && *ch.Text != "" {
				b.WriteString(*ch.Text)
				st.deltas++
			}
			if ch.Delta != nil && ch.Delta.Content != nil && *ch.Delta.Content != "" {
				b.WriteString(*ch.Delta.Content)
				st.deltas++
			}
			if ch.FinishReason != nil {
				if st.finish != "" {
					return nil, fmt.Errorf("two finish reasons")
				}
				st.finish = *ch.FinishReason
			}
		}
	}
	st.text = b.String()
	return st, nil
}

func newEngineForRef(m *model.Model) *engine.Engine { return engine.New(m, 2, 0) }
