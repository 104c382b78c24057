package server

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/d3-project/d3/engine"
)

// statusClientClosed is the status recorded for a request whose client went
// away before the answer was complete (nginx's 499); nothing is sent.
const statusClientClosed = 499

// metrics are the server's counters, written as Prometheus text.
type metrics struct {
	mu        sync.Mutex
	requests  map[reqKey]uint64
	finish    map[string]uint64 // generations by finish reason
	prompt    uint64            // prompt tokens of finished generations
	generated uint64            // generated tokens (EOS excluded)
	steps     uint64            // decode steps (forward passes after T_0)
	decodeSec float64           // decode time summed over generations
	layers    uint64            // layers run for generated tokens (EOS included)
	layerToks uint64            // generated tokens those layers are counted over
	inFlight  int
}

type reqKey struct {
	endpoint string
	status   int
}

func newMetrics() *metrics {
	return &metrics{requests: map[reqKey]uint64{}, finish: map[string]uint64{}}
}

func (m *metrics) request(endpoint string, status int) {
	m.mu.Lock()
	m.requests[reqKey{endpoint, status}]++
	m.mu.Unlock()
}

func (m *metrics) begin() {
	m.mu.Lock()
	m.inFlight++
	m.mu.Unlock()
}

func (m *metrics) end() {
	m.mu.Lock()
	m.inFlight--
	m.mu.Unlock()
}

// generation records a finished (or cancelled) generation's work.
func (m *metrics) generation(res *engine.Result, reason string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.finish[reason]++
	if res == nil {
		return
	}
	m.prompt += uint64(len(res.PromptTokens))
	m.generated += uint64(len(res.Tokens))
	m.steps += uint64(res.DecodeSteps)
	m.decodeSec += res.DecodeTime.Seconds()
	for _, l := range res.Layers {
		m.layers += uint64(l)
	}
	m.layerToks += uint64(len(res.Layers))
}

// write prints the metrics in the Prometheus text exposition format.
func (m *metrics) write(w io.Writer, active, queued, slots int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	metric := func(name, typ, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	value := func(name, labels string, v float64) {
		if labels != "" {
			labels = "{" + labels + "}"
		}
		fmt.Fprintf(&b, "%s%s %s\n", name, labels, strconv.FormatFloat(v, 'g', -1, 64))
	}

	metric("d3_requests_total", "counter", "HTTP requests answered, by endpoint and status code (499: the client went away).")
	keys := make([]reqKey, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b reqKey) int {
		if c := strings.Compare(a.endpoint, b.endpoint); c != 0 {
			return c
		}
		return a.status - b.status
	})
	for _, k := range keys {
		value("d3_requests_total", fmt.Sprintf(`endpoint="%s",status="%d"`, escapeLabel(k.endpoint), k.status), float64(m.requests[k]))
	}
	metric("d3_generations_total", "counter", "Generations ended, by finish reason (stop, length, cancelled, error).")
	reasons := make([]string, 0, len(m.finish))
	for r := range m.finish {
		reasons = append(reasons, r)
	}
	slices.Sort(reasons)
	for _, r := range reasons {
		value("d3_generations_total", fmt.Sprintf(`reason="%s"`, escapeLabel(r)), float64(m.finish[r]))
	}
	metric("d3_prompt_tokens_total", "counter", "Prompt tokens of ended generations.")
	value("d3_prompt_tokens_total", "", float64(m.prompt))
	metric("d3_generated_tokens_total", "counter", "Generated tokens (end-of-generation tokens excluded).")
	value("d3_generated_tokens_total", "", float64(m.generated))
	metric("d3_decode_steps_total", "counter", "Decode steps (tokens after the first of each generation).")
	value("d3_decode_steps_total", "", float64(m.steps))
	metric("d3_decode_seconds_total", "counter", "Decode time summed over generations (concurrent ones overlap).")
	value("d3_decode_seconds_total", "", m.decodeSec)
	metric("d3_decode_tokens_per_second", "gauge", "Mean decode speed of one sequence: decode steps / decode seconds, over all generations.")
	tps := 0.0
	if m.decodeSec > 0 {
		tps = float64(m.steps) / m.decodeSec
	}
	value("d3_decode_tokens_per_second", "", tps)
	metric("d3_layers_total", "counter", "Transformer layers run for generated tokens (D³ runs fewer for later tokens).")
	value("d3_layers_total", "", float64(m.layers))
	metric("d3_mean_layers_per_token", "gauge", "Mean layers run per generated token, over all generations.")
	mean := 0.0
	if m.layerToks > 0 {
		mean = float64(m.layers) / float64(m.layerToks)
	}
	value("d3_mean_layers_per_token", "", mean)
	metric("d3_queue_length", "gauge", "Requests waiting for a decoding slot.")
	value("d3_queue_length", "", float64(queued))
	metric("d3_active_sequences", "gauge", "Sequences decoding now (each holds a KV cache slot).")
	value("d3_active_sequences", "", float64(active))
	metric("d3_slots", "gauge", "Decoding slots (--parallel).")
	value("d3_slots", "", float64(slots))
	metric("d3_requests_in_flight", "gauge", "Generation requests being answered now (waiting, decoding or streaming).")
	value("d3_requests_in_flight", "", float64(m.inFlight))
	_, err := io.WriteString(w, b.String())
	return err
}

func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}
