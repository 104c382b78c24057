package server

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/d3-project/d3/depth"
)

// Acceptance 2: 32 concurrent streaming requests (greedy, different
// prompts, some with their own d3 schedule) against 4 parallel slots. Every
// answer equals its single-request result, no request is lost or
// duplicated, and after shutdown no goroutine is left behind.
func TestConcurrentStreams(t *testing.T) {
	const n, maxNew = 32, 20
	qs := arithQuestions(t, n)
	m := bundled(t)
	tok := m.Tokenizer
	fast := depth.Profile{Name: "fast", Schedule: depth.Schedule{Alpha: 1, CoreHead: 2, CoreTail: 2, Order: depth.Middle, Keep: 11}}
	d3s := []struct {
		json  string
		sched *depth.Schedule
	}{
		{"", nil},
		{`{"alpha":0.9,"order":"middle","core_head":2,"core_tail":2}`, &depth.Schedule{Alpha: 0.9, CoreHead: 2, CoreTail: 2, Order: depth.Middle}},
		{`{"alpha":0.95,"order":"back","start":3}`, &depth.Schedule{Alpha: 0.95, CoreHead: 2, CoreTail: 2, Order: depth.Back, Start: 3}},
		{`{"profile":"fast"}`, &fast.Schedule},
	}

	// Single-request results, one sequence at a time.
	want := make([]string, n)
	wantTokens := make([]int, n)
	refStart := time.Now()
	func() {
		ref := &reference{eng: newEngineForRef(m)}
		defer ref.eng.Close()
		for i, q := range qs {
			res := ref.generate(t, tok.Encode(arithPrompt(q), true), maxNew, d3s[i%len(d3s)].sched)
			want[i], wantTokens[i] = res.Text, len(res.Tokens)
		}
	}()
	t.Logf("%d single-request references: %s", n, time.Since(refStart).Round(time.Millisecond))

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	runtime.GC()
	before := runtime.NumGoroutine()

	cfg := testConfig()
	cfg.Parallel, cfg.QueueLen = 4, n
	cfg.Profiles = map[string]depth.Profile{"fast": fast}
	cfg.ChatTemplate, _ = BuiltinTemplate("chatml")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx, stop := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- Run(ctx, ln, cfg, ownBundled(t)) }()
	defer func() {
		stop()
		<-ran
	}()
	waitHealthy(t, client, base)

	type answer struct {
		st  *streamed
		err error
	}
	answers := make([]answer, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d3 := ""
			if s := d3s[i%len(d3s)].json; s != "" {
				d3 = `,"d3":` + s
			}
			body := fmt.Sprintf(`{"prompt":%s,"max_tokens":%d,"temperature":0,"stream":true,"stream_options":{"include_usage":true}%s}`,
				jsonString(arithPrompt(qs[i])), maxNew, d3)
			resp, err := client.Post(base+"/v1/completions", "application/json", strings.NewReader(body))
			if err != nil {
				answers[i].err = err
				return
			}
			defer resp.Body.Close()
			data, err := io.ReadAll(resp.Body)
			if err != nil || resp.StatusCode != 200 {
				answers[i].err = fmt.Errorf("status %d, %v: %s", resp.StatusCode, err, data)
				return
			}
			answers[i].st, answers[i].err = parseStream(data)
		}()
	}
	wg.Wait()
	t.Logf("%d streams of up to %d tokens on %d slots: %s", n, maxNew, cfg.Parallel, time.Since(start).Round(time.Millisecond))
	ids := map[string]bool{}
	for i, a := range answers {
		if a.err != nil {
			t.Errorf("request %d: %v", i, a.err)
			continue
		}
		st := a.st
		if st.text != want[i] {
			t.Errorf("request %d (d3 %s): streamed %q, want %q", i, d3s[i%len(d3s)].json, st.text, want[i])
		}
		if !st.sawDone || st.finish == "" || st.usage == nil || st.usage.CompletionTokens != wantTokens[i] || len(st.ids) != 1 {
			t.Errorf("request %d: done %v finish %q usage %+v ids %v", i, st.sawDone, st.finish, st.usage, st.ids)
		}
		for id := range st.ids {
			if ids[id] {
				t.Errorf("request %d: id %s answered twice", i, id)
			}
			ids[id] = true
		}
	}
	// The metrics count each request once.
	metrics := scrape(t, client, base)
	if got := metrics.value(`d3_requests_total{endpoint="/v1/completions",status="200"}`); got != n {
		t.Errorf("d3_requests_total 200 = %g, want %d", got, n)
	}
	if a, q := metrics.value("d3_active_sequences"), metrics.value("d3_queue_length"); a != 0 || q != 0 {
		t.Errorf("after the load: %g active, %g queued", a, q)
	}

	stop()
	if err := <-ran; err != nil {
		t.Fatalf("Run: %v", err)
	}
	ran <- nil // for the deferred receive
	client.CloseIdleConnections()
	after := 0
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if after = runtime.NumGoroutine(); after <= before {
			break
		}
	}
	if after > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines before the server, %d after shutdown:\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}

func waitHealthy(t testing.TB, client *http.Client, base string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		resp, err := client.Get(base + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
	}
	t.Fatal("the server did not become healthy")
}
