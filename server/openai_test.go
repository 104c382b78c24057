package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"

	openai "github.com/sashabaranov/go-openai"

	"github.com/d3-project/d3/depth"
)

func openaiClient(base, key string) *openai.Client {
	c := openai.DefaultConfig(key)
	c.BaseURL = base + "/v1"
	return openai.NewClientWithConfig(c)
}

// Acceptance 1: a real OpenAI client against an in-process server: chat and
// completions, streamed and not; greedy output equals the single-request
// reference (what `d3 generate` runs); streamed deltas concatenate to the
// whole text; usage counts are right.
func TestOpenAIClient(t *testing.T) {
	cfg := testConfig()
	cfg.ChatTemplate, _ = BuiltinTemplate("chatml")
	cfg.Parallel = 2
	_, base := startServer(t, cfg)
	client := openaiClient(base, "unused")
	ref := newReference(t)
	tok := bundled(t).Tokenizer
	ctx := context.Background()
	const maxNew = 96

	prompt := arithPrompt(ivy)
	promptIDs := tok.Encode(prompt, true)
	want := ref.generate(t, promptIDs, maxNew, nil)
	if !strings.HasSuffix(want.Text, "#### 136") || want.FinishReason != "stop" {
		t.Fatalf("reference answer %q (%s): the bundled model should solve this", want.Text, want.FinishReason)
	}
	checkUsage := func(t *testing.T, u openai.Usage, prompt, completion int) {
		t.Helper()
		if u.PromptTokens != prompt || u.CompletionTokens != completion || u.TotalTokens != prompt+completion {
			t.Errorf("usage %d+%d=%d, want %d+%d=%d", u.PromptTokens, u.CompletionTokens, u.TotalTokens, prompt, completion, prompt+completion)
		}
	}

	t.Run("completion", func(t *testing.T) {
		resp, err := client.CreateCompletion(ctx, openai.CompletionRequest{Model: "d3", Prompt: prompt, MaxTokens: maxNew})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Choices) != 1 || resp.Choices[0].Text != want.Text || resp.Choices[0].FinishReason != "stop" {
			t.Fatalf("choices %+v, want text %q, finish stop", resp.Choices, want.Text)
		}
		if resp.Object != "text_completion" || !strings.HasPrefix(resp.ID, "cmpl-") || resp.Model == "" {
			t.Errorf("object %q id %q model %q", resp.Object, resp.ID, resp.Model)
		}
		if resp.Usage == nil {
			t.Fatal("no usage")
		}
		checkUsage(t, *resp.Usage, len(promptIDs), len(want.Tokens))
	})
	t.Run("completion stream", func(t *testing.T) {
		st, err := client.CreateCompletionStream(ctx, openai.CompletionRequest{Model: "d3", Prompt: prompt, MaxTokens: maxNew,
			Stream: true, StreamOptions: &openai.StreamOptions{IncludeUsage: true}})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		var text strings.Builder
		deltas, finish := 0, ""
		var usage *openai.Usage
		for {
			c, err := st.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, ch := range c.Choices {
				if ch.Text != "" {
					text.WriteString(ch.Text)
					deltas++
				}
				if ch.FinishReason != "" {
					finish = ch.FinishReason
				}
			}
			if c.Usage != nil {
				usage = c.Usage
			}
		}
		if text.String() != want.Text || finish != "stop" {
			t.Fatalf("streamed %q (%s), want %q (stop)", text.String(), finish, want.Text)
		}
		if deltas < 5 {
			t.Errorf("%d text chunks: the text did not stream", deltas)
		}
		if usage == nil {
			t.Fatal("no usage chunk with include_usage")
		}
		checkUsage(t, *usage, len(promptIDs), len(want.Tokens))
	})

	// Chat: the conversation in ChatML, formatted here by hand.
	msgs := []openai.ChatCompletionMessage{
		{Role: openai.ChatMessageRoleSystem, Content: "Solve it."},
		{Role: openai.ChatMessageRoleUser, Content: prompt},
	}
	chatText := "<|im_start|>system\nSolve it.<|im_end|>\n<|im_start|>user\n" + prompt + "<|im_end|>\n<|im_start|>assistant\n"
	chatIDs := tok.Encode(chatText, true)
	wantChat := ref.generate(t, chatIDs, 40, nil)
	if wantChat.Text == "" {
		t.Fatal("empty chat reference")
	}
	t.Run("chat", func(t *testing.T) {
		resp, err := client.CreateChatCompletion(ctx, openai.ChatCompletionRequest{Model: "d3", Messages: msgs, MaxTokens: 40})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Choices) != 1 {
			t.Fatalf("%d choices", len(resp.Choices))
		}
		c := resp.Choices[0]
		if c.Message.Role != "assistant" || c.Message.Content != wantChat.Text || string(c.FinishReason) != wantChat.FinishReason {
			t.Fatalf("message %+v finish %s, want %q finish %s", c.Message, c.FinishReason, wantChat.Text, wantChat.FinishReason)
		}
		if resp.Object != "chat.completion" || !strings.HasPrefix(resp.ID, "chatcmpl-") {
			t.Errorf("object %q id %q", resp.Object, resp.ID)
		}
		checkUsage(t, resp.Usage, len(chatIDs), len(wantChat.Tokens))
	})
	t.Run("chat stream", func(t *testing.T) {
		st, err := client.CreateChatCompletionStream(ctx, openai.ChatCompletionRequest{Model: "d3", Messages: msgs,
			MaxCompletionTokens: 40, Stream: true, StreamOptions: &openai.StreamOptions{IncludeUsage: true}})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		var text strings.Builder
		role, finish, deltas := "", "", 0
		var usage *openai.Usage
		for {
			c, err := st.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, ch := range c.Choices {
				if ch.Delta.Role != "" {
					role = ch.Delta.Role
				}
				if ch.Delta.Content != "" {
					text.WriteString(ch.Delta.Content)
					deltas++
				}
				if ch.FinishReason != "" {
					finish = string(ch.FinishReason)
				}
			}
			if c.Usage != nil {
				usage = c.Usage
			}
		}
		if role != "assistant" || text.String() != wantChat.Text || finish != wantChat.FinishReason {
			t.Fatalf("streamed role %q %q (%s), want assistant %q (%s)", role, text.String(), finish, wantChat.Text, wantChat.FinishReason)
		}
		if deltas < 2 {
			t.Errorf("%d content chunks", deltas)
		}
		if usage == nil {
			t.Fatal("no usage chunk")
		}
		checkUsage(t, *usage, len(chatIDs), len(wantChat.Tokens))
	})
	t.Run("tiny temperature is greedy", func(t *testing.T) {
		// go-openai cannot send temperature 0 (it drops zero values), so
		// clients send the smallest float instead.
		cfg := testConfig()
		cfg.Sample.Temperature = 0.8
		_, base := startServer(t, cfg)
		resp, err := openaiClient(base, "k").CreateCompletion(ctx, openai.CompletionRequest{Prompt: prompt, MaxTokens: maxNew,
			Temperature: math.SmallestNonzeroFloat32})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Choices[0].Text != want.Text {
			t.Fatalf("got %q, want the greedy %q", resp.Choices[0].Text, want.Text)
		}
	})
	t.Run("models", func(t *testing.T) {
		list, err := client.ListModels(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Models) != 1 || list.Models[0].ID != "d3-tiny-layerdrop-q8_0.gguf" || list.Models[0].Object != "model" {
			t.Fatalf("models %+v", list.Models)
		}
		m, err := client.GetModel(ctx, list.Models[0].ID)
		if err != nil || m.ID != list.Models[0].ID {
			t.Fatalf("GetModel: %+v, %v", m, err)
		}
		_, err = client.GetModel(ctx, "gpt-4")
		var apiErr *openai.APIError
		if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != 404 {
			t.Fatalf("unknown model: %v, want a 404 API error", err)
		}
	})
	t.Run("errors reach the client", func(t *testing.T) {
		_, err := client.CreateCompletion(ctx, openai.CompletionRequest{Prompt: prompt, N: 3})
		var apiErr *openai.APIError
		if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != 400 || apiErr.Type != errInvalidRequest || apiErr.Param == nil || *apiErr.Param != "n" {
			t.Fatalf("n=3: %#v, want a 400 invalid_request_error about n", err)
		}
	})
}

// The d3 object sets the request's schedule, and usage reports its depth:
// the same tokens as a reference decoding with that schedule, and fewer
// layers than the model has.
func TestD3Usage(t *testing.T) {
	cfg := testConfig()
	cfg.Profiles = map[string]depth.Profile{"fast": {Name: "fast", Schedule: depth.Schedule{Alpha: 1, CoreHead: 2, CoreTail: 2, Order: depth.Middle, Keep: 10}}}
	_, base := startServer(t, cfg)
	ref := newReference(t)
	ids := bundled(t).Tokenizer.Encode(arithPrompt(ivy), true)
	for _, tc := range []struct {
		d3    string
		sched depth.Schedule
	}{
		{`{"alpha":0.95,"order":"middle","core_head":2,"core_tail":2,"start":0}`, depth.Schedule{Alpha: 0.95, CoreHead: 2, CoreTail: 2, Order: depth.Middle}},
		{`{"alpha":0.97,"order":"back","start":4,"kv":"propagate"}`, depth.Schedule{Alpha: 0.97, CoreHead: 2, CoreTail: 2, Order: depth.Back, Start: 4, KV: depth.KVPropagate}},
		{`{"profile":"fast"}`, cfg.Profiles["fast"].Schedule},
		{`{"profile":"fast","keep":12}`, depth.Schedule{Alpha: 1, CoreHead: 2, CoreTail: 2, Order: depth.Middle, Keep: 12}},
	} {
		want := ref.generate(t, ids, 64, &tc.sched)
		body := `{"prompt":` + jsonString(arithPrompt(ivy)) + `,"max_tokens":64,"temperature":0,"d3":` + tc.d3 + `}`
		status, _, data := post(t, http.DefaultClient, base+"/v1/completions", body)
		if status != 200 {
			t.Fatalf("%s: status %d: %s", tc.d3, status, data)
		}
		var resp completionResponse
		if err := json.Unmarshal(data, &resp); err != nil {
			t.Fatal(err)
		}
		if resp.Choices[0].Text != want.Text {
			t.Errorf("%s: text %q, want %q", tc.d3, resp.Choices[0].Text, want.Text)
		}
		d := resp.Usage.D3
		if d == nil || math.Abs(d.MeanLayers-want.MeanLayers()) > 1e-12 || want.MeanLayers() >= 16 ||
			math.Abs(d.LayerSpeedup-16/want.MeanLayers()) > 1e-12 {
			t.Errorf("%s: usage.d3 %+v, want mean layers %g < 16", tc.d3, d, want.MeanLayers())
		}
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// A request's d3.draft turns on lossless drafting: the greedy text equals
// plain full-depth decoding and usage.d3.draft reports the rounds.
func TestD3Draft(t *testing.T) {
	_, base := startServer(t, testConfig())
	ref := newReference(t)
	ids := bundled(t).Tokenizer.Encode(arithPrompt(ivy), true)
	full := depth.DefaultSchedule()
	want := ref.generate(t, ids, 64, &full)
	for _, d3 := range []string{`{"draft":"static:8"}`, `{"draft":"auto"}`, `{"alpha":0.95,"draft":"d3,k=3"}`} {
		body := `{"prompt":` + jsonString(arithPrompt(ivy)) + `,"max_tokens":64,"temperature":0,"d3":` + d3 + `}`
		status, _, data := post(t, http.DefaultClient, base+"/v1/completions", body)
		if status != 200 {
			t.Fatalf("%s: status %d: %s", d3, status, data)
		}
		var resp struct {
			Choices []struct{ Text string }
			Usage   struct {
				D3 struct {
					MeanLayers float64 `json:"mean_layers"`
					Draft      *struct {
						Policy   string
						Rounds   int
						Drafted  int
						Accepted int
					}
				}
			}
		}
		if err := json.Unmarshal(data, &resp); err != nil {
			t.Fatal(err)
		}
		if resp.Choices[0].Text != want.Text {
			t.Errorf("%s: text %q, want the full-depth %q", d3, resp.Choices[0].Text, want.Text)
		}
		if d := resp.Usage.D3.Draft; d == nil || d.Policy == "" || d.Accepted > d.Drafted {
			t.Errorf("%s: usage.d3.draft %+v", d3, d)
		}
	}
	for _, bad := range []string{`{"draft":"sometimes"}`, `{"draft":"static:99"}`, `{"draft":3}`} {
		body := `{"prompt":"x","max_tokens":4,"d3":` + bad + `}`
		if status, _, data := post(t, http.DefaultClient, base+"/v1/completions", body); status != 400 || !strings.Contains(string(data), "d3.draft") {
			t.Errorf("%s: status %d %s", bad, status, data)
		}
	}
}
