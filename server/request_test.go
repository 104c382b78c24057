package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/d3-project/d3/depth"
)

// badCase is a request that must be refused with status and error type
// (and param, when set).
type badCase struct {
	name   string
	method string // default POST
	path   string // default /v1/completions
	body   string
	header []string
	status int
	typ    string
	param  string
}

var longPrompt = strings.Repeat("one two three four five six seven eight nine ten ", 60)

// badCases covers every kind of bad input the issue lists.
var badCases = []badCase{
	// Malformed JSON and wrong body shapes.
	{name: "malformed json", body: `{"prompt": "hi"`, status: 400, typ: errInvalidRequest},
	{name: "not json", body: `prompt=hi`, status: 400, typ: errInvalidRequest},
	{name: "empty body", body: ``, status: 400, typ: errInvalidRequest},
	{name: "array body", body: `[{"prompt":"hi"}]`, status: 400, typ: errInvalidRequest},
	{name: "null body", body: `null`, status: 400, typ: errInvalidRequest},
	{name: "trailing data", body: `{"prompt":"hi"} {"prompt":"again"}`, status: 400, typ: errInvalidRequest},
	// Wrong types.
	{name: "max_tokens string", body: `{"prompt":"hi","max_tokens":"10"}`, status: 400, typ: errInvalidRequest, param: "max_tokens"},
	{name: "max_tokens fraction", body: `{"prompt":"hi","max_tokens":2.5}`, status: 400, typ: errInvalidRequest, param: "max_tokens"},
	{name: "temperature string", body: `{"prompt":"hi","temperature":"hot"}`, status: 400, typ: errInvalidRequest, param: "temperature"},
	{name: "stream string", body: `{"prompt":"hi","stream":"yes"}`, status: 400, typ: errInvalidRequest, param: "stream"},
	{name: "stop number", body: `{"prompt":"hi","stop":5}`, status: 400, typ: errInvalidRequest, param: "stop"},
	{name: "stop list of numbers", body: `{"prompt":"hi","stop":[1,2]}`, status: 400, typ: errInvalidRequest, param: "stop"},
	{name: "seed fraction", body: `{"prompt":"hi","seed":1.5}`, status: 400, typ: errInvalidRequest, param: "seed"},
	{name: "prompt object", body: `{"prompt":{"text":"hi"}}`, status: 400, typ: errInvalidRequest, param: "prompt"},
	{name: "prompt mixed list", body: `{"prompt":["hi",3]}`, status: 400, typ: errInvalidRequest, param: "prompt"},
	{name: "stream_options string", body: `{"prompt":"hi","stream":true,"stream_options":"usage"}`, status: 400, typ: errInvalidRequest, param: "stream_options"},
	{name: "model number", body: `{"model":7,"prompt":"hi"}`, status: 400, typ: errInvalidRequest, param: "model"},
	{name: "messages string", path: "/v1/chat/completions", body: `{"messages":"hi"}`, status: 400, typ: errInvalidRequest, param: "messages"},
	{name: "message content number", path: "/v1/chat/completions", body: `{"messages":[{"role":"user","content":5}]}`, status: 400, typ: errInvalidRequest, param: "messages[0].content"},
	{name: "message not object", path: "/v1/chat/completions", body: `{"messages":["hi"]}`, status: 400, typ: errInvalidRequest, param: "messages[0]"},
	{name: "message null", path: "/v1/chat/completions", body: `{"messages":[null]}`, status: 400, typ: errInvalidRequest, param: "messages[0]"},
	// Unknown fields that matter, and known ones d3 cannot honour.
	{name: "unknown field", body: `{"prompt":"hi","temprature":0.5}`, status: 400, typ: errInvalidRequest, param: "temprature"},
	{name: "messages on completions", body: `{"prompt":"hi","messages":[]}`, status: 400, typ: errInvalidRequest, param: "messages"},
	{name: "prompt on chat", path: "/v1/chat/completions", body: `{"prompt":"hi","messages":[{"role":"user","content":"hi"}]}`, status: 400, typ: errInvalidRequest, param: "prompt"},
	{name: "unknown message field", path: "/v1/chat/completions", body: `{"messages":[{"role":"user","content":"hi","mood":"happy"}]}`, status: 400, typ: errInvalidRequest, param: "messages[0].mood"},
	{name: "n 2", body: `{"prompt":"hi","n":2}`, status: 400, typ: errInvalidRequest, param: "n"},
	{name: "logprobs chat", path: "/v1/chat/completions", body: `{"messages":[{"role":"user","content":"hi"}],"logprobs":true}`, status: 400, typ: errInvalidRequest, param: "logprobs"},
	{name: "logprobs completion", body: `{"prompt":"hi","logprobs":5}`, status: 400, typ: errInvalidRequest, param: "logprobs"},
	{name: "top_logprobs", path: "/v1/chat/completions", body: `{"messages":[{"role":"user","content":"hi"}],"top_logprobs":3}`, status: 400, typ: errInvalidRequest, param: "top_logprobs"},
	{name: "tools", path: "/v1/chat/completions", body: `{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}}]}`, status: 400, typ: errInvalidRequest, param: "tools"},
	{name: "tool_choice required", path: "/v1/chat/completions", body: `{"messages":[{"role":"user","content":"hi"}],"tool_choice":"required"}`, status: 400, typ: errInvalidRequest, param: "tool_choice"},
	{name: "json mode", path: "/v1/chat/completions", body: `{"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_object"}}`, status: 400, typ: errInvalidRequest, param: "response_format"},
	{name: "logit_bias", body: `{"prompt":"hi","logit_bias":{"5":10}}`, status: 400, typ: errInvalidRequest, param: "logit_bias"},
	{name: "presence_penalty", body: `{"prompt":"hi","presence_penalty":0.5}`, status: 400, typ: errInvalidRequest, param: "presence_penalty"},
	{name: "echo", body: `{"prompt":"hi","echo":true}`, status: 400, typ: errInvalidRequest, param: "echo"},
	{name: "best_of", body: `{"prompt":"hi","best_of":3}`, status: 400, typ: errInvalidRequest, param: "best_of"},
	{name: "suffix", body: `{"prompt":"hi","suffix":"end"}`, status: 400, typ: errInvalidRequest, param: "suffix"},
	{name: "several prompts", body: `{"prompt":["a","b"]}`, status: 400, typ: errInvalidRequest, param: "prompt"},
	{name: "image part", path: "/v1/chat/completions", body: `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}`, status: 400, typ: errInvalidRequest, param: "messages[0].content[0].type"},
	{name: "tool role", path: "/v1/chat/completions", body: `{"messages":[{"role":"tool","content":"42","tool_call_id":"x"}]}`, status: 400, typ: errInvalidRequest, param: "messages[0].role"},
	// Empty or missing messages and prompts.
	{name: "empty messages", path: "/v1/chat/completions", body: `{"messages":[]}`, status: 400, typ: errInvalidRequest, param: "messages"},
	{name: "no messages", path: "/v1/chat/completions", body: `{"model":"d3"}`, status: 400, typ: errInvalidRequest, param: "messages"},
	{name: "null messages", path: "/v1/chat/completions", body: `{"messages":null}`, status: 400, typ: errInvalidRequest, param: "messages"},
	{name: "message without role", path: "/v1/chat/completions", body: `{"messages":[{"content":"hi"}]}`, status: 400, typ: errInvalidRequest, param: "messages[0].role"},
	{name: "message unknown role", path: "/v1/chat/completions", body: `{"messages":[{"role":"wizard","content":"hi"}]}`, status: 400, typ: errInvalidRequest, param: "messages[0].role"},
	{name: "user message without content", path: "/v1/chat/completions", body: `{"messages":[{"role":"user"}]}`, status: 400, typ: errInvalidRequest, param: "messages[0].content"},
	{name: "no prompt", body: `{"max_tokens":5}`, status: 400, typ: errInvalidRequest, param: "prompt"},
	{name: "empty prompt list", body: `{"prompt":[]}`, status: 400, typ: errInvalidRequest, param: "prompt"},
	{name: "token id outside the vocabulary", body: `{"prompt":[1,4096]}`, status: 400, typ: errInvalidRequest, param: "prompt[1]"},
	{name: "negative token id", body: `{"prompt":[[1,-3]]}`, status: 400, typ: errInvalidRequest, param: "prompt[1]"},
	// A prompt longer than the context (512 tokens).
	{name: "prompt too long", body: `{"prompt":"` + longPrompt + `"}`, status: 400, typ: errInvalidRequest, param: "prompt"},
	{name: "chat too long", path: "/v1/chat/completions", body: `{"messages":[{"role":"user","content":"` + longPrompt + `"}]}`, status: 400, typ: errInvalidRequest, param: "messages"},
	// max_tokens and sampling out of range.
	{name: "max_tokens 0", body: `{"prompt":"hi","max_tokens":0}`, status: 400, typ: errInvalidRequest, param: "max_tokens"},
	{name: "max_tokens negative", body: `{"prompt":"hi","max_tokens":-1}`, status: 400, typ: errInvalidRequest, param: "max_tokens"},
	{name: "max_tokens beyond the context", body: `{"prompt":"hi","max_tokens":100000}`, status: 400, typ: errInvalidRequest, param: "max_tokens"},
	{name: "max_tokens huge", body: `{"prompt":"hi","max_tokens":1e300}`, status: 400, typ: errInvalidRequest, param: "max_tokens"},
	{name: "max_completion_tokens 0", path: "/v1/chat/completions", body: `{"messages":[{"role":"user","content":"hi"}],"max_completion_tokens":0}`, status: 400, typ: errInvalidRequest, param: "max_completion_tokens"},
	{name: "max_tokens disagree", body: `{"prompt":"hi","max_tokens":5,"max_completion_tokens":6}`, status: 400, typ: errInvalidRequest, param: "max_tokens"},
	{name: "temperature 3", body: `{"prompt":"hi","temperature":3}`, status: 400, typ: errInvalidRequest, param: "temperature"},
	{name: "temperature negative", body: `{"prompt":"hi","temperature":-0.5}`, status: 400, typ: errInvalidRequest, param: "temperature"},
	{name: "top_p 1.5", body: `{"prompt":"hi","top_p":1.5}`, status: 400, typ: errInvalidRequest, param: "top_p"},
	{name: "min_p 1", body: `{"prompt":"hi","min_p":1}`, status: 400, typ: errInvalidRequest, param: "min_p"},
	{name: "top_k negative", body: `{"prompt":"hi","top_k":-1}`, status: 400, typ: errInvalidRequest, param: "top_k"},
	{name: "repeat_penalty 0", body: `{"prompt":"hi","repeat_penalty":0}`, status: 400, typ: errInvalidRequest, param: "repeat_penalty"},
	{name: "too many stops", body: `{"prompt":"hi","stop":["a","b","c","d","e","f","g","h","i","j","k","l","m","n","o","p","q"]}`, status: 400, typ: errInvalidRequest, param: "stop"},
	// Invalid d3 values.
	{name: "d3 alpha 0", body: `{"prompt":"hi","d3":{"alpha":0}}`, status: 400, typ: errInvalidRequest, param: "d3"},
	{name: "d3 alpha above 1", body: `{"prompt":"hi","d3":{"alpha":1.5}}`, status: 400, typ: errInvalidRequest, param: "d3"},
	{name: "d3 alpha string", body: `{"prompt":"hi","d3":{"alpha":"fast"}}`, status: 400, typ: errInvalidRequest, param: "d3.alpha"},
	{name: "d3 order", body: `{"prompt":"hi","d3":{"order":"sideways"}}`, status: 400, typ: errInvalidRequest, param: "d3.order"},
	{name: "d3 kv", body: `{"prompt":"hi","d3":{"kv":"all"}}`, status: 400, typ: errInvalidRequest, param: "d3.kv"},
	{name: "d3 core too big", body: `{"prompt":"hi","d3":{"core_head":10,"core_tail":10}}`, status: 400, typ: errInvalidRequest, param: "d3"},
	{name: "d3 core negative", body: `{"prompt":"hi","d3":{"core_head":-1}}`, status: 400, typ: errInvalidRequest, param: "d3"},
	{name: "d3 core fraction", body: `{"prompt":"hi","d3":{"core_tail":1.5}}`, status: 400, typ: errInvalidRequest, param: "d3.core_tail"},
	{name: "d3 start negative", body: `{"prompt":"hi","d3":{"start":-2}}`, status: 400, typ: errInvalidRequest, param: "d3"},
	{name: "d3 keep with alpha", body: `{"prompt":"hi","d3":{"keep":10,"alpha":0.9}}`, status: 400, typ: errInvalidRequest, param: "d3"},
	{name: "d3 keep too small", body: `{"prompt":"hi","d3":{"keep":2}}`, status: 400, typ: errInvalidRequest, param: "d3"},
	{name: "d3 unknown profile", body: `{"prompt":"hi","d3":{"profile":"nope"}}`, status: 400, typ: errInvalidRequest, param: "d3.profile"},
	{name: "d3 unknown field", body: `{"prompt":"hi","d3":{"alpah":0.9}}`, status: 400, typ: errInvalidRequest, param: "d3.alpah"},
	{name: "d3 not an object", body: `{"prompt":"hi","d3":"fast"}`, status: 400, typ: errInvalidRequest, param: "d3"},
	{name: "d3 list", body: `{"prompt":"hi","d3":[0.9]}`, status: 400, typ: errInvalidRequest, param: "d3"},
	// A conversation the model's template refuses (Llama 2: roles alternate).
	{name: "template refuses", path: "/v1/chat/completions", body: `{"messages":[{"role":"user","content":"a"},{"role":"user","content":"b"}]}`, status: 400, typ: errInvalidRequest, param: "messages"},
	// Routing.
	{name: "GET completions", method: "GET", status: 405, typ: errInvalidRequest},
	{name: "POST models", method: "POST", path: "/v1/models", status: 405, typ: errInvalidRequest},
	{name: "unknown path", path: "/v1/embeddings", body: `{"input":"hi"}`, status: 404, typ: errNotFound},
}

// Acceptance 4: every bad input gets its 4xx and an OpenAI error object,
// never a 500; an API key is enforced; bodies over --max-body get 413; a
// model without a chat template answers chat requests with a clear error.
func TestBadInput(t *testing.T) {
	cfg := testConfig()
	cfg.ChatTemplate, _ = BuiltinTemplate("llama2")
	cfg.Profiles = fuzzLimits.profiles
	_, base := startServer(t, cfg)

	keyed := testConfig()
	keyed.APIKey = "sekrit"
	keyed.MaxBody = 4096
	_, keyedBase := startServer(t, keyed)
	_, plainBase := startServer(t, testConfig()) // the bundled model has no chat template

	okChat := `{"messages":[{"role":"user","content":"hi"}],"max_tokens":2}`
	cases := append([]badCase(nil), badCases...)
	cases = append(cases,
		badCase{name: "no api key", path: keyedBase + "/v1/completions", body: `{"prompt":"hi"}`, status: 401, typ: errAuthentication},
		badCase{name: "wrong api key", path: keyedBase + "/v1/completions", body: `{"prompt":"hi"}`, header: []string{"Authorization", "Bearer nope"}, status: 401, typ: errAuthentication},
		badCase{name: "basic auth", path: keyedBase + "/v1/chat/completions", body: okChat, header: []string{"Authorization", "Basic c2Vrcml0"}, status: 401, typ: errAuthentication},
		badCase{name: "metrics without key", method: "GET", path: keyedBase + "/metrics", status: 401, typ: errAuthentication},
		badCase{name: "body over max-body", path: keyedBase + "/v1/completions", body: `{"prompt":"` + strings.Repeat("x", 5000) + `"}`,
			header: []string{"Authorization", "Bearer sekrit"}, status: 413, typ: errInvalidRequest},
		badCase{name: "no chat template", path: plainBase + "/v1/chat/completions", body: okChat, status: 501, typ: errNotSupported},
	)
	client := &http.Client{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url := tc.path
			if url == "" {
				url = "/v1/completions"
			}
			if strings.HasPrefix(url, "/") {
				url = base + url
			}
			method := tc.method
			if method == "" {
				method = "POST"
			}
			req, err := http.NewRequest(method, url, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i+1 < len(tc.header); i += 2 {
				req.Header.Set(tc.header[i], tc.header[i+1])
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Error *struct {
					Message *string `json:"message"`
					Type    *string `json:"type"`
					Param   *string `json:"param"`
					Code    *string `json:"code"`
				} `json:"error"`
			}
			raw := json.NewDecoder(resp.Body)
			raw.DisallowUnknownFields()
			if err := raw.Decode(&body); err != nil || body.Error == nil || body.Error.Message == nil || body.Error.Type == nil {
				t.Fatalf("status %d: body is not an error object (%v)", resp.StatusCode, err)
			}
			e := body.Error
			if resp.StatusCode != tc.status || *e.Type != tc.typ {
				t.Fatalf("status %d type %s (%s), want %d %s", resp.StatusCode, *e.Type, *e.Message, tc.status, tc.typ)
			}
			if *e.Message == "" {
				t.Error("empty message")
			}
			if tc.param != "" && (e.Param == nil || *e.Param != tc.param) {
				t.Errorf("param %v, want %q (%s)", strp(e.Param), tc.param, *e.Message)
			}
			if resp.StatusCode == 401 && resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if resp.StatusCode == 405 && resp.Header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
			if resp.StatusCode == 501 && !strings.Contains(*e.Message, "--chat-template") {
				t.Errorf("no-template message %q does not name --chat-template", *e.Message)
			}
		})
	}

	// The right key opens every endpoint; /health needs none.
	if status, _, body := post(t, client, keyedBase+"/v1/completions", `{"prompt":"hi","max_tokens":2}`, "Authorization", "Bearer sekrit"); status != 200 {
		t.Errorf("with the key: status %d: %s", status, body)
	}
	if resp, err := client.Get(keyedBase + "/health"); err != nil || resp.StatusCode != 200 {
		t.Errorf("/health with a key set: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	// Accepted variants: null fields, content parts, ignored fields, token prompts.
	for _, body := range []string{
		`{"prompt":"hi","max_tokens":2,"temperature":null,"stop":null,"n":1,"logprobs":null,"user":"me","d3":null,"stream_options":null}`,
		`{"prompt":["hi"],"max_tokens":2,"stop":"x","seed":-5,"top_k":0,"logit_bias":{},"frequency_penalty":0}`,
		`{"prompt":[1,329,3699],"max_tokens":2,"max_completion_tokens":2}`,
		`{"prompt":[[1,329]],"max_tokens":2.0,"d3":{"profile":"fast","alpha":1}}`,
	} {
		if status, _, data := post(t, client, base+"/v1/completions", body); status != 200 {
			t.Errorf("%s: status %d: %s", body, status, data)
		}
	}
	for _, body := range []string{
		`{"messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"h"},{"type":"text","text":"i"}]}],"max_tokens":2,"tool_choice":"none","tools":[]}`,
		`{"messages":[{"role":"developer","content":"s"},{"role":"user","content":"hi","name":"bob"},{"role":"assistant","content":null,"tool_calls":[]},{"role":"user","content":"x"}],"max_tokens":2,"response_format":{"type":"text"}}`,
	} {
		if status, _, data := post(t, client, base+"/v1/chat/completions", body); status != 200 {
			t.Errorf("%s: status %d: %s", body, status, data)
		}
	}
}

func strp(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

// fuzzLimits are the bundled model's limits with one profile.
var fuzzLimits = limits{ctx: 512, vocab: 4096, numLayers: 16,
	profiles: map[string]depth.Profile{"fast": {Name: "fast", Schedule: depth.Schedule{Alpha: 0.9, CoreHead: 2, CoreTail: 2, Order: depth.Middle}}}}

// FuzzDecodeRequest: no body makes the decoder panic; a refused body gets a
// 4xx error object; an accepted one yields a request within the limits,
// whose options the engine accepts.
func FuzzDecodeRequest(f *testing.F) {
	for _, c := range badCases {
		f.Add(c.body)
	}
	for _, s := range []string{
		`{"model":"d3","prompt":"Question: 1+1?\nAnswer:","max_tokens":16,"temperature":0.7,"top_p":0.9,"stop":["\n"],"seed":3,"stream":true,"stream_options":{"include_usage":true}}`,
		`{"messages":[{"role":"system","content":"be brief"},{"role":"user","content":[{"type":"text","text":"hi"}]}],"max_completion_tokens":8,"d3":{"alpha":0.95,"order":"back","core_head":1,"core_tail":3,"start":2,"kv":"propagate"}}`,
		`{"prompt":[1,2,3],"d3":{"profile":"fast","keep":0,"min_layers":6}}`,
		`{"prompt":[[5]],"n":1,"logprobs":0,"echo":false,"best_of":1,"suffix":"","top_k":40,"min_p":0.05,"repeat_penalty":1.1,"repeat_last_n":-1,"ignore_eos":true}`,
		`{"messages":[{"role":"user","content":"x"}],"chat_template_kwargs":{"enable_thinking":false},"metadata":{"a":"b"},"store":false}`,
		`{"prompt":"\u0000\ud800","max_tokens":512}`,
	} {
		f.Add(s)
	}
	srv := &Server{cfg: testConfig(), lim: fuzzLimits}
	f.Fuzz(func(t *testing.T, body string) {
		for _, chat := range []bool{true, false} {
			req, e := decodeRequest(chat, []byte(body), fuzzLimits)
			if e != nil {
				if e.Status < 400 || e.Status > 499 || e.Type == "" || e.Message == "" {
					t.Fatalf("chat %v: bad error %+v", chat, e)
				}
				if _, err := json.Marshal(e.body()); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if err := checkDecoded(req, chat); err != nil {
				t.Fatalf("chat %v: %v (body %q)", chat, err, body)
			}
			opt, e := srv.options(req)
			if e != nil {
				t.Fatalf("chat %v: options refused a decoded request: %v", chat, e)
			}
			if err := opt.Sample.Validate(); err != nil {
				t.Fatalf("chat %v: %v", chat, err)
			}
		}
	})
}

func checkDecoded(req *genRequest, chat bool) error {
	if req.MaxTokens != nil && (*req.MaxTokens < 1 || *req.MaxTokens > fuzzLimits.ctx) {
		return fmt.Errorf("max tokens %d", *req.MaxTokens)
	}
	if chat {
		if len(req.Messages) == 0 {
			return fmt.Errorf("no messages")
		}
		for _, m := range req.Messages {
			switch m.Role {
			case "system", "user", "assistant":
			default:
				return fmt.Errorf("role %q", m.Role)
			}
		}
	} else if req.promptIsIDs {
		for _, id := range req.PromptIDs {
			if id < 0 || id >= fuzzLimits.vocab {
				return fmt.Errorf("token %d", id)
			}
		}
	}
	if req.Schedule != nil {
		if err := req.Schedule.Validate(fuzzLimits.numLayers); err != nil {
			return err
		}
	}
	if len(req.Stop) > maxStops {
		return fmt.Errorf("%d stops", len(req.Stop))
	}
	return nil
}
