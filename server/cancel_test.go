package server

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// waitMetric polls /metrics until cond holds, failing after a deadline.
func waitMetric(t *testing.T, client *http.Client, base, what string, cond func(*promText) bool) (*promText, time.Duration) {
	t.Helper()
	start := time.Now()
	for {
		m := scrape(t, client, base)
		if cond(m) {
			return m, time.Since(start)
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("%s: not within 10 s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// longBody asks for a generation that would run to the end of the context.
const longBody = `{"prompt":"Question: Tell me a long story.\nAnswer:","max_tokens":480,"ignore_eos":true,"temperature":0`

// Acceptance 3: a client that closes the connection mid-stream stops its
// generation and frees the slot (the metrics show it), and the next request
// gets the slot.
func TestCancelStream(t *testing.T) {
	cfg := testConfig()
	cfg.Parallel, cfg.QueueLen = 1, 1
	_, base := startServer(t, cfg)
	client := &http.Client{}
	m0 := scrape(t, client, base)

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/v1/completions", strings.NewReader(longBody+`,"stream":true}`))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	// Read until some text has streamed, then hang up.
	rd := bufio.NewReader(resp.Body)
	for chunks := 0; chunks < 3; {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(line, "data: {") {
			chunks++
		}
	}
	if m := scrape(t, client, base); m.value("d3_active_sequences") != 1 {
		t.Fatalf("mid-stream: %g active sequences, want 1", m.value("d3_active_sequences"))
	}
	cancel()
	resp.Body.Close()
	m1, took := waitMetric(t, client, base, "slot freed", func(m *promText) bool {
		return m.value("d3_active_sequences") == 0 && m.value(`d3_requests_total{endpoint="/v1/completions",status="499"}`) == 1
	})
	t.Logf("slot freed %s after the client hung up", took.Round(time.Millisecond))
	if got := m1.value(`d3_generations_total{reason="cancelled"}`); got != 1 {
		t.Errorf("cancelled generations %g, want 1", got)
	}
	if gen := m1.value("d3_generated_tokens_total") - m0.value("d3_generated_tokens_total"); gen < 3 || gen >= 480 {
		t.Errorf("the cancelled generation made %g tokens: it should have stopped early", gen)
	}
	// The slot serves the next request at once.
	if status, _, body := post(t, client, base+"/v1/completions", `{"prompt":"Question: 2+2?\nAnswer:","max_tokens":4}`); status != 200 {
		t.Fatalf("next request: status %d: %s", status, body)
	}

	// The same for a client that gives up on a non-streamed answer.
	ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	req, _ = http.NewRequestWithContext(ctx, "POST", base+"/v1/completions", strings.NewReader(longBody+`}`))
	if _, err := client.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("non-streamed: %v, want the client's deadline", err)
	}
	waitMetric(t, client, base, "slot freed after a non-streamed request", func(m *promText) bool {
		return m.value("d3_active_sequences") == 0 && m.value(`d3_requests_total{endpoint="/v1/completions",status="499"}`) == 2
	})
}

// A full queue answers 503 with Retry-After at once. The window in which
// one request decodes and one waits lasts about a second on the bundled
// model, so on a loaded machine the scenario is retried a few times before
// the test gives up.
func TestQueueFull(t *testing.T) {
	cfg := testConfig()
	cfg.Parallel, cfg.QueueLen = 1, 1
	_, base := startServer(t, cfg)
	client := &http.Client{}
	for attempt := 1; ; attempt++ {
		if queueFullOnce(t, client, base) {
			return
		}
		if attempt == 3 {
			t.Fatal("never saw the slot and the queue full at once")
		}
		t.Logf("attempt %d: the requests finished before the queue was seen full; retrying", attempt)
	}
}

// queueFullOnce fills the slot and the queue, checks that a further request
// gets 503, and reports false when the full state was never observed.
func queueFullOnce(t *testing.T, client *http.Client, base string) bool {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for range 2 { // one decoding, one waiting
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(ctx, "POST", base+"/v1/completions", strings.NewReader(longBody+`}`))
			if resp, err := client.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
	}
	start := time.Now()
	for {
		m := scrape(t, client, base)
		if m.value("d3_active_sequences") == 1 && m.value("d3_queue_length") == 1 {
			break
		}
		if time.Since(start) > 10*time.Second {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
	for _, stream := range []string{"false", "true"} {
		status, h, body := post(t, client, base+"/v1/completions", `{"prompt":"hi","max_tokens":2,"stream":`+stream+`}`)
		if status != 503 || h.Get("Retry-After") == "" || !strings.Contains(string(body), errUnavailable) {
			t.Fatalf("stream %s: status %d Retry-After %q: %s", stream, status, h.Get("Retry-After"), body)
		}
	}
	return true
}

// The read and write timeouts bound reading the request and each write, not
// the whole answer: a stream that lasts longer than both is not cut off
// (each chunk's write gets a fresh deadline).
func TestLongStreamOutlivesTimeouts(t *testing.T) {
	cfg := testConfig()
	cfg.ReadTimeout, cfg.WriteTimeout = 40*time.Millisecond, 40*time.Millisecond
	_, base := startServer(t, cfg)
	start := time.Now()
	// Most of the bundled model's context: long enough to outlast the
	// timeouts several times over even on a fast machine.
	status, _, body := post(t, &http.Client{}, base+"/v1/completions", `{"prompt":"Question: Tell me a story.\nAnswer:","max_tokens":480,"ignore_eos":true,"stream":true}`)
	took := time.Since(start)
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	st, err := parseStream(body)
	if err != nil || !st.sawDone || st.finish != "length" || st.usage != nil {
		t.Fatalf("stream %+v, %v", st, err)
	}
	if took < 120*time.Millisecond {
		t.Skipf("the generation took only %s: too fast to test the timeouts", took)
	}
}

// Graceful shutdown: in-flight requests finish within the grace period;
// past it they are cancelled with an error the client sees.
func TestGracefulShutdown(t *testing.T) {
	run := func(grace time.Duration) (stream string, plain int, runErr error) {
		cfg := testConfig()
		cfg.ShutdownTimeout = grace
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		base := "http://" + ln.Addr().String()
		ctx, stop := context.WithCancel(context.Background())
		ran := make(chan error, 1)
		go func() { ran <- Run(ctx, ln, cfg, ownBundled(t)) }()
		client := &http.Client{}
		waitHealthy(t, client, base)
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			resp, err := client.Post(base+"/v1/completions", "application/json", strings.NewReader(`{"prompt":"Question: Tell me a story.\nAnswer:","max_tokens":150,"ignore_eos":true,"stream":true}`))
			if err != nil {
				stream = err.Error()
				return
			}
			defer resp.Body.Close()
			data, _ := io.ReadAll(resp.Body)
			stream = string(data)
		}()
		go func() {
			defer wg.Done()
			resp, err := client.Post(base+"/v1/completions", "application/json", strings.NewReader(`{"prompt":"Question: 1+1?\nAnswer:","max_tokens":150,"ignore_eos":true}`))
			if err != nil {
				return
			}
			resp.Body.Close()
			plain = resp.StatusCode
		}()
		waitMetric(t, client, base, "both decoding", func(p *promText) bool { return p.value("d3_active_sequences") == 2 })
		stop()
		err = <-ran
		wg.Wait()
		client.CloseIdleConnections()
		// New connections are refused once it has stopped.
		if _, err := client.Get(base + "/health"); err == nil {
			t.Error("the server still answers after Run returned")
		}
		return stream, plain, err
	}
	stream, plain, err := run(time.Minute)
	if err != nil || plain != 200 || !strings.HasSuffix(stream, "data: [DONE]\n\n") {
		t.Fatalf("with grace: Run %v, plain status %d, stream ends %q", err, plain, stream[max(0, len(stream)-60):])
	}
	stream, plain, err = run(time.Millisecond)
	if err != nil || plain != 503 || !strings.Contains(stream, `"code":"shutting_down"`) || strings.Contains(stream, "[DONE]") {
		t.Fatalf("without grace: Run %v, plain status %d, stream ends %q", err, plain, stream[max(0, len(stream)-120):])
	}
}
