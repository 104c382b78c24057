package server

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// promText is a parsed Prometheus text exposition: every sample by its
// series name ("name" or `name{l1="v1",l2="v2"}`, labels as written).
type promText struct {
	types   map[string]string
	samples map[string]float64
}

var (
	metricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelName  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// parseProm checks the text format (version 0.0.4) strictly: HELP and TYPE
// lines before a family's samples, valid names, quoted and escaped label
// values, float values, no duplicate series, a final newline.
func parseProm(text string) (*promText, error) {
	p := &promText{types: map[string]string{}, samples: map[string]float64{}}
	if text == "" || !strings.HasSuffix(text, "\n") {
		return nil, fmt.Errorf("empty or without a final newline")
	}
	helped := map[string]bool{}
	for n, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		bad := func(format string, args ...any) error {
			return fmt.Errorf("line %d %q: %s", n+1, line, fmt.Sprintf(format, args...))
		}
		if rest, ok := strings.CutPrefix(line, "# "); ok {
			f := strings.SplitN(rest, " ", 3)
			if len(f) < 3 || !metricName.MatchString(f[1]) {
				return nil, bad("malformed comment")
			}
			switch f[0] {
			case "HELP":
				if helped[f[1]] {
					return nil, bad("second HELP")
				}
				helped[f[1]] = true
			case "TYPE":
				switch f[2] {
				case "counter", "gauge", "histogram", "summary", "untyped":
				default:
					return nil, bad("unknown type")
				}
				if _, dup := p.types[f[1]]; dup {
					return nil, bad("second TYPE")
				}
				p.types[f[1]] = f[2]
			default:
				return nil, bad("unknown comment")
			}
			continue
		}
		name, rest := line, ""
		if i := strings.IndexAny(line, "{ "); i >= 0 {
			name, rest = line[:i], line[i:]
		}
		if !metricName.MatchString(name) {
			return nil, bad("bad metric name")
		}
		if _, ok := p.types[name]; !ok {
			return nil, bad("sample before its TYPE")
		}
		series := name
		if strings.HasPrefix(rest, "{") {
			end := -1
			var labels []string
			i := 1
			for i < len(rest) {
				if rest[i] == '}' {
					end = i
					break
				}
				eq := strings.IndexByte(rest[i:], '=')
				if eq < 0 || !labelName.MatchString(rest[i:i+eq]) {
					return nil, bad("bad label name")
				}
				ln := rest[i : i+eq]
				i += eq + 1
				if i >= len(rest) || rest[i] != '"' {
					return nil, bad("unquoted label value")
				}
				i++
				var v strings.Builder
				for ; i < len(rest) && rest[i] != '"'; i++ {
					if rest[i] == '\\' {
						i++
						if i >= len(rest) {
							return nil, bad("dangling escape")
						}
						switch rest[i] {
						case '\\', '"':
							v.WriteByte(rest[i])
						case 'n':
							v.WriteByte('\n')
						default:
							return nil, bad("bad escape")
						}
						continue
					}
					v.WriteByte(rest[i])
				}
				if i >= len(rest) {
					return nil, bad("unterminated label value")
				}
				i++
				labels = append(labels, fmt.Sprintf("%s=%q", ln, v.String()))
				if i < len(rest) && rest[i] == ',' {
					i++
				}
			}
			if end < 0 {
				return nil, bad("unterminated labels")
			}
			series += "{" + strings.Join(labels, ",") + "}"
			rest = rest[end+1:]
		}
		f := strings.Fields(rest)
		if len(f) < 1 || len(f) > 2 || !strings.HasPrefix(rest, " ") {
			return nil, bad("want one value and an optional timestamp")
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return nil, bad("value: %v", err)
		}
		if _, dup := p.samples[series]; dup {
			return nil, bad("duplicate series")
		}
		if p.types[name] == "counter" && (v < 0 || math.IsNaN(v)) {
			return nil, bad("negative counter")
		}
		p.samples[series] = v
	}
	return p, nil
}

// value is a sample's value (0 when absent, as for a counter not yet seen).
func (p *promText) value(series string) float64 { return p.samples[series] }

func scrape(t testing.TB, client *http.Client, base string) *promText {
	t.Helper()
	resp, err := client.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("/metrics: status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	p, err := parseProm(string(data))
	if err != nil {
		t.Fatalf("/metrics is not Prometheus text: %v\n%s", err, data)
	}
	return p
}

func TestPromParserRejects(t *testing.T) {
	for _, bad := range []string{
		"", "x 1", "# TYPE x counter\nx one\n", "# TYPE x counter\nx{a=\"1} 1\n", "# TYPE x counter\nx{a=1} 1\n",
		"# TYPE x counter\nx 1\nx 2\n", "# TYPE x counter\n# TYPE x gauge\n", "# TYPE x counter\nx -1\n", "# TYPE 1x gauge\n",
	} {
		if _, err := parseProm(bad); err == nil {
			t.Errorf("parsed %q", bad)
		}
	}
	p, err := parseProm("# HELP x a \"help\"\n# TYPE x counter\nx{a=\"q\\\"\\\\\",b=\"\"} 3 1700000000\n# TYPE y gauge\ny 1.5e-3\n")
	if err != nil || p.value(`x{a="q\"\\",b=""}`) != 3 || p.value("y") != 0.0015 {
		t.Fatalf("%+v, %v", p, err)
	}
}

// Acceptance 5: /metrics parses as Prometheus text, and its counters move
// as requests complete.
func TestMetrics(t *testing.T) {
	_, base := startServer(t, testConfig())
	client := &http.Client{}
	m0 := scrape(t, client, base)
	for _, name := range []string{"d3_requests_total", "d3_prompt_tokens_total", "d3_generated_tokens_total", "d3_decode_tokens_per_second",
		"d3_mean_layers_per_token", "d3_queue_length", "d3_active_sequences", "d3_slots", "d3_layers_total", "d3_generations_total"} {
		if _, ok := m0.types[name]; !ok {
			t.Errorf("metric %s missing", name)
		}
	}
	if m0.value("d3_slots") != 4 {
		t.Errorf("d3_slots %g, want 4", m0.value("d3_slots"))
	}
	ids := bundled(t).Tokenizer.Encode(arithPrompt(ivy), true)
	status, _, body := post(t, client, base+"/v1/completions", `{"prompt":`+jsonString(arithPrompt(ivy))+`,"max_tokens":30,"ignore_eos":true,"d3":{"alpha":0.9}}`)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	if status, _, _ := post(t, client, base+"/v1/completions", `{"prompt":5}`); status != 400 {
		t.Fatalf("bad request: status %d", status)
	}
	m1 := scrape(t, client, base)
	delta := func(series string) float64 { return m1.value(series) - m0.value(series) }
	for series, want := range map[string]float64{
		`d3_requests_total{endpoint="/v1/completions",status="200"}`: 1,
		`d3_requests_total{endpoint="/v1/completions",status="400"}`: 1,
		`d3_requests_total{endpoint="/metrics",status="200"}`:        1,
		`d3_generations_total{reason="length"}`:                      1,
		"d3_prompt_tokens_total":                                     float64(len(ids)),
		"d3_generated_tokens_total":                                  30,
		"d3_decode_steps_total":                                      29,
	} {
		if got := delta(series); got != want {
			t.Errorf("%s moved by %g, want %g", series, got, want)
		}
	}
	// 30 tokens under α = 0.9: T_0 runs 16 layers, then ⌊16·0.9^i⌋ down to the core of 4.
	layers := 0
	for i := range 30 {
		layers += max(4, int(math.Floor(16*math.Pow(0.9, float64(i)))))
	}
	if got := delta("d3_layers_total"); got != float64(layers) {
		t.Errorf("d3_layers_total moved by %g, want %d", got, layers)
	}
	if got := m1.value("d3_mean_layers_per_token"); math.Abs(got-float64(layers)/30) > 1e-9 {
		t.Errorf("d3_mean_layers_per_token %g, want %g", got, float64(layers)/30)
	}
	if m1.value("d3_decode_tokens_per_second") <= 0 || m1.value("d3_decode_seconds_total") <= 0 {
		t.Errorf("decode speed %g tokens/s over %g s", m1.value("d3_decode_tokens_per_second"), m1.value("d3_decode_seconds_total"))
	}
}
