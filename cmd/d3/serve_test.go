//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// lockedBuffer is a bytes.Buffer safe for the server's logging goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var listening = regexp.MustCompile(`listening on http://(127\.0\.0\.1:\d+)`)

// startServe runs `d3 serve args...` on a free loopback port and returns
// its base URL once healthy, and a function that sends SIGINT and returns
// what the command returned.
func startServe(t *testing.T, args ...string) (string, *lockedBuffer, func() error) {
	t.Helper()
	var stderr lockedBuffer
	done := make(chan error, 1)
	go func() {
		code := run(append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), &bytes.Buffer{}, &stderr)
		if code != 0 {
			done <- &exitError{code, stderr.String()}
			return
		}
		done <- nil
	}()
	var base string
	deadline := time.Now().Add(20 * time.Second)
	for base == "" {
		if m := listening.FindStringSubmatch(stderr.String()); m != nil {
			base = "http://" + m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("d3 serve exited: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("d3 serve did not start:\n%s", stderr.String())
		}
	}
	for {
		resp, err := http.Get(base + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
			if resp.StatusCode != 503 {
				t.Fatalf("/health while loading: status %d", resp.StatusCode)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("d3 serve did not become healthy:\n%s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		// The server installed its SIGINT handler before listening.
		if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			return err
		case <-time.After(20 * time.Second):
			t.Fatal("d3 serve did not stop on SIGINT")
		}
		return nil
	}
	t.Cleanup(func() { _ = stop() })
	return base, &stderr, stop
}

type exitError struct {
	code   int
	stderr string
}

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d: %s", e.code, e.stderr) }

// `d3 serve` answers a real OpenAI client with exactly what `d3 generate`
// prints for the same prompt and depth schedule (both greedy), and stops
// gracefully on SIGINT.
func TestServeMatchesGenerate(t *testing.T) {
	const prompt = "Question: Ivy buys 11 trays of crayons. Each of the trays holds 17 crayons. She uses 51 of them. How many crayons are left?\nAnswer:"
	dir := t.TempDir()
	profile := filepath.Join(dir, "steep.json")
	if err := os.WriteFile(profile, []byte(`{"name":"steep","schedule":{"alpha":0.9,"core_head":2,"core_tail":2,"order":"back"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	generate := func(args ...string) genResult {
		t.Helper()
		var out, errb bytes.Buffer
		if code := run(append([]string{"generate", "--json", "--no-escape", "-n", "64", "-p", prompt}, args...), &out, &errb); code != 0 {
			t.Fatalf("generate: exit %d: %s", code, errb.String())
		}
		var r genResult
		if err := json.Unmarshal(out.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	// The server's default schedule: the steep profile with --d3-alpha and
	// --d3-order overriding it, as d3 generate reads the same flags.
	base, stderr, stop := startServe(t, "--temp", "0", "--d3-alpha", "0.97", "--d3-profile", profile, "--d3-default-profile", "steep", "--d3-order", "middle")
	want := generate("--d3-alpha", "0.97", "--d3-profile", profile, "--d3-order", "middle")
	wantSteep := generate("--d3-profile", profile)
	if want.Text == wantSteep.Text {
		t.Fatalf("the two schedules give the same text %q: the test cannot tell them apart", want.Text)
	}
	cfg := openai.DefaultConfig("")
	cfg.BaseURL = base + "/v1"
	client := openai.NewClientWithConfig(cfg)
	resp, err := client.CreateCompletion(context.Background(), openai.CompletionRequest{Prompt: prompt, MaxTokens: 64})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Text; got != want.Text || resp.Choices[0].FinishReason != want.FinishReason {
		t.Fatalf("served %q (%s), d3 generate %q (%s)", got, resp.Choices[0].FinishReason, want.Text, want.FinishReason)
	}
	if u := resp.Usage; u.PromptTokens != len(want.PromptTokens) || u.CompletionTokens != len(want.Tokens) {
		t.Fatalf("usage %+v, d3 generate: %d prompt and %d generated tokens", u, len(want.PromptTokens), len(want.Tokens))
	}
	// A request naming the profile gets the profile's schedule alone.
	body := `{"prompt":` + strings.ReplaceAll(mustJSON(t, prompt), "\n", "") + `,"max_tokens":64,"d3":{"profile":"steep"}}`
	hr, err := http.Post(base+"/v1/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Choices []struct{ Text string }
		Usage   struct {
			D3 struct {
				MeanLayers float64 `json:"mean_layers"`
			}
		}
	}
	err = json.NewDecoder(hr.Body).Decode(&out)
	hr.Body.Close()
	if err != nil || len(out.Choices) != 1 || out.Choices[0].Text != wantSteep.Text || out.Usage.D3.MeanLayers != wantSteep.D3.MeanLayers {
		t.Fatalf("profile request: %+v (%v), want %q with mean layers %g", out, err, wantSteep.Text, wantSteep.D3.MeanLayers)
	}
	if err := stop(); err != nil {
		t.Fatalf("after SIGINT: %v", err)
	}
	if log := stderr.String(); !strings.Contains(log, "shutting down") || !strings.Contains(log, "POST /v1/completions 200") {
		t.Errorf("server log:\n%s", log)
	}
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestServeFlagErrors(t *testing.T) {
	badDir := t.TempDir()
	bad := filepath.Join(badDir, "bad.json")
	_ = os.WriteFile(bad, []byte(`{"name":"x","schedule":{"alpha":2}}`), 0o644)
	dir := t.TempDir()
	a := filepath.Join(dir, "a.json")
	_ = os.WriteFile(a, []byte(`{"name":"same","schedule":{"alpha":0.9}}`), 0o644)
	b := filepath.Join(dir, "b.json")
	_ = os.WriteFile(b, []byte(`{"name":"same","schedule":{"alpha":0.8}}`), 0o644)
	tuned := filepath.Join(t.TempDir(), "tuned.json")
	_ = os.WriteFile(tuned, []byte(`{"name":"big","num_layers":32,"schedule":{"alpha":0.9}}`), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--chat-template", "vicuna"}, "unknown chat template"},
		{[]string{"--chat-template", "chatml", "--chat-template-file", "x"}, "not both"},
		{[]string{"--d3-profile", bad}, "alpha"},
		{[]string{"--d3-profile", badDir}, "alpha"},
		{[]string{"--d3-profile", dir}, "both named"},
		{[]string{"--d3-profile", t.TempDir()}, "no *.json"},
		{[]string{"--d3-profile", a, "--d3-profile", b}, "both named"},
		{[]string{"--d3-profile", a, "--d3-default-profile", "other"}, "not among"},
		{[]string{"--d3-profile", tuned, "--addr", "127.0.0.1:0"}, "tuned for 32 layers"},
		{[]string{"--parallel", "0"}, "--parallel"},
		{[]string{"--temp", "-1"}, "temperature"},
		{[]string{"--d3-alpha", "0", "--addr", "127.0.0.1:0"}, "alpha"},
		{[]string{"--addr", "127.0.0.1:99999"}, "invalid port"},
		{[]string{"stray"}, "unexpected argument"},
	} {
		var stderr bytes.Buffer
		code := run(append([]string{"serve"}, tc.args...), &bytes.Buffer{}, &stderr)
		if code == 0 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("serve %v: exit %d, stderr %q, want %q", tc.args, code, stderr.String(), tc.want)
		}
	}
}
