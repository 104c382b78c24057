package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/d3-project/d3/depth"
	"github.com/d3-project/d3/engine"
)

// maxStops bounds the stop strings of one request (OpenAI allows 4; llama.cpp
// any number); each is matched against every generated piece.
const maxStops = 16

// maxStopLen bounds one stop string in bytes.
const maxStopLen = 1024

// genRequest is a decoded and checked /v1/chat/completions or /v1/completions
// request. Pointers are nil when the client left the field out (or sent null):
// the server's defaults apply.
type genRequest struct {
	chat     bool
	Model    string
	Messages []chatMessage // chat
	Prompt   string        // completion, as text
	// PromptIDs holds a completion prompt given as token ids; promptIsIDs
	// tells it apart from an empty text prompt.
	PromptIDs   []int
	promptIsIDs bool

	MaxTokens     *int
	Temperature   *float64
	TopP          *float64
	TopK          *int
	MinP          *float64
	RepeatPenalty *float64
	RepeatLastN   *int
	Seed          *int64
	Stop          []string
	Stream        bool
	IncludeUsage  bool
	IgnoreEOS     bool
	// Schedule is the request's own depth schedule (from its d3 object);
	// nil means the server's default.
	Schedule *depth.Schedule
	// Draft is the request's lossless-drafting policy (nil: the server's).
	Draft *engine.DraftPolicy
	// TemplateKwargs are extra variables for the chat template
	// (chat_template_kwargs, as llama.cpp's server accepts).
	TemplateKwargs map[string]any
}

// chatMessage is one message of a conversation, as the template sees it.
type chatMessage struct {
	Role    string
	Content string
	Name    string
}

// limits are what request checking needs to know about the loaded model.
type limits struct {
	ctx       int // context size: prompt plus generated tokens
	vocab     int
	numLayers int
	profiles  map[string]depth.Profile
}

// decodeRequest parses and checks a request body. Every problem is a 4xx
// apiError naming the parameter; nothing in the body can make it panic.
func decodeRequest(chat bool, data []byte, lim limits) (*genRequest, *apiError) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var fields map[string]json.RawMessage
	if err := dec.Decode(&fields); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, badRequest("", "the request body must be a JSON object, not %s", te.Value)
		}
		if errors.Is(err, io.EOF) {
			return nil, badRequest("", "the request body is empty; it must be a JSON object")
		}
		return nil, badRequest("", "the request body is not valid JSON: %v", err)
	}
	if fields == nil {
		return nil, badRequest("", "the request body must be a JSON object, not null")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, badRequest("", "the request body has data after the JSON object")
	}
	req := &genRequest{chat: chat}
	var maxTokens, maxCompletionTokens *int
	var d3raw json.RawMessage
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys) // the first error reported does not depend on map order
	for _, k := range keys {
		raw := fields[k]
		var err *apiError
		switch k {
		case "model":
			var s *string
			if s, err = optString(k, raw); s != nil {
				req.Model = *s
			}
		case "max_tokens":
			maxTokens, err = optIntRange(k, raw, 1, lim.ctx)
		case "max_completion_tokens":
			maxCompletionTokens, err = optIntRange(k, raw, 1, lim.ctx)
		case "temperature":
			req.Temperature, err = optFloatRange(k, raw, 0, 2, true, true)
		case "top_p":
			req.TopP, err = optFloatRange(k, raw, 0, 1, true, true)
		case "min_p":
			req.MinP, err = optFloatRange(k, raw, 0, 1, true, false)
		case "top_k":
			req.TopK, err = optIntRange(k, raw, 0, math.MaxInt32)
		case "repeat_penalty":
			req.RepeatPenalty, err = optFloatRange(k, raw, 0, math.MaxFloat64, false, true)
		case "repeat_last_n":
			req.RepeatLastN, err = optIntRange(k, raw, -1, math.MaxInt32)
		case "frequency_penalty", "presence_penalty":
			var f *float64
			if f, err = optFloatRange(k, raw, -2, 2, true, true); err == nil && f != nil && *f != 0 {
				err = unsupported(k, "%s is not supported (use repeat_penalty); send 0 or leave it out", k)
			}
		case "seed":
			req.Seed, err = optInt64(k, raw)
		case "stop":
			req.Stop, err = decodeStop(raw)
		case "stream":
			var b *bool
			if b, err = optBool(k, raw); b != nil {
				req.Stream = *b
			}
		case "stream_options":
			req.IncludeUsage, err = decodeStreamOptions(raw)
		case "n":
			var n *int
			if n, err = optInt(k, raw); err == nil && n != nil && *n != 1 {
				err = unsupported(k, "n must be 1: d3 generates one choice per request")
			}
		case "logprobs":
			err = decodeLogprobs(raw)
		case "top_logprobs":
			var n *int
			if n, err = optInt(k, raw); err == nil && n != nil && *n != 0 {
				err = unsupported(k, "top_logprobs is not supported")
			}
		case "logit_bias":
			var m map[string]json.RawMessage
			if err = optObject(k, raw, &m); err == nil && len(m) > 0 {
				err = unsupported(k, "logit_bias is not supported")
			}
		case "user", "service_tier", "safety_identifier", "prompt_cache_key":
			_, err = optString(k, raw) // accepted and ignored: no effect on the output
		case "metadata":
			var m map[string]json.RawMessage
			err = optObject(k, raw, &m)
		case "store", "parallel_tool_calls":
			_, err = optBool(k, raw)
		case "ignore_eos": // llama.cpp server extension
			var b *bool
			if b, err = optBool(k, raw); b != nil {
				req.IgnoreEOS = *b
			}
		case "response_format":
			err = decodeResponseFormat(raw)
		case "tools", "functions":
			var list []json.RawMessage
			if err = optArray(k, raw, &list); err == nil && len(list) > 0 {
				err = unsupported(k, "%s (function calling) is not supported", k)
			}
		case "tool_choice", "function_call":
			err = decodeToolChoice(k, raw)
		case "d3":
			d3raw = raw
		case "messages":
			if !chat {
				err = unknownParam(k)
				break
			}
			req.Messages, err = decodeMessages(raw)
		case "chat_template_kwargs":
			if !chat {
				err = unknownParam(k)
				break
			}
			err = optObject(k, raw, &req.TemplateKwargs)
		case "prompt":
			if chat {
				err = unknownParam(k)
				break
			}
			err = req.decodePrompt(raw, lim.vocab)
		case "echo":
			if chat {
				err = unknownParam(k)
				break
			}
			var b *bool
			if b, err = optBool(k, raw); err == nil && b != nil && *b {
				err = unsupported(k, "echo is not supported")
			}
		case "best_of":
			if chat {
				err = unknownParam(k)
				break
			}
			var n *int
			if n, err = optInt(k, raw); err == nil && n != nil && *n != 1 {
				err = unsupported(k, "best_of must be 1")
			}
		case "suffix":
			if chat {
				err = unknownParam(k)
				break
			}
			var s *string
			if s, err = optString(k, raw); err == nil && s != nil && *s != "" {
				err = unsupported(k, "suffix (insertion) is not supported")
			}
		default:
			err = unknownParam(k)
		}
		if err != nil {
			return nil, err
		}
	}
	if chat && req.Messages == nil {
		return nil, badRequest("messages", "messages is required")
	}
	if !chat && req.Prompt == "" && !req.promptIsIDs {
		if _, ok := fields["prompt"]; !ok || isNull(fields["prompt"]) {
			return nil, badRequest("prompt", "prompt is required")
		}
	}
	switch {
	case maxTokens != nil && maxCompletionTokens != nil && *maxTokens != *maxCompletionTokens:
		return nil, badRequest("max_tokens", "max_tokens (%d) and max_completion_tokens (%d) disagree; give one of them", *maxTokens, *maxCompletionTokens)
	case maxCompletionTokens != nil:
		req.MaxTokens = maxCompletionTokens
	default:
		req.MaxTokens = maxTokens
	}
	if d3raw != nil && !isNull(d3raw) {
		s, draft, err := decodeD3(d3raw, lim)
		if err != nil {
			return nil, err
		}
		req.Schedule, req.Draft = &s, draft
	}
	return req, nil
}

func unknownParam(k string) *apiError {
	e := badRequest(k, "unrecognized request argument supplied: %s", k)
	e.Code = "unknown_parameter"
	return e
}

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

// jsonKind names the JSON type of raw for error messages.
func jsonKind(raw json.RawMessage) string {
	b := bytes.TrimSpace(raw)
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

func typeError(param, want string, raw json.RawMessage) *apiError {
	e := badRequest(param, "%s must be %s, not %s", param, want, jsonKind(raw))
	e.Code = "invalid_type"
	return e
}

func optString(param string, raw json.RawMessage) (*string, *apiError) {
	if isNull(raw) {
		return nil, nil
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return nil, typeError(param, "a string", raw)
	}
	return &s, nil
}

func optBool(param string, raw json.RawMessage) (*bool, *apiError) {
	if isNull(raw) {
		return nil, nil
	}
	var b bool
	if json.Unmarshal(raw, &b) != nil {
		return nil, typeError(param, "a boolean", raw)
	}
	return &b, nil
}

func optNumber(param string, raw json.RawMessage) (*float64, *apiError) {
	if isNull(raw) {
		return nil, nil
	}
	n, ok := number(raw)
	if !ok {
		return nil, typeError(param, "a number", raw)
	}
	f, err := n.Float64()
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, badRequest(param, "%s is out of range", param)
	}
	return &f, nil
}

// number reads a JSON number (json.Number alone would also take a string
// holding one).
func number(raw json.RawMessage) (json.Number, bool) {
	b := bytes.TrimSpace(raw)
	if len(b) == 0 || b[0] != '-' && (b[0] < '0' || b[0] > '9') {
		return "", false
	}
	var n json.Number
	if json.Unmarshal(b, &n) != nil {
		return "", false
	}
	return n, true
}

// optInt64 reads an integer (an integral number such as 3.0 is accepted).
func optInt64(param string, raw json.RawMessage) (*int64, *apiError) {
	if isNull(raw) {
		return nil, nil
	}
	n, ok := number(raw)
	if !ok {
		return nil, typeError(param, "an integer", raw)
	}
	if i, err := strconv.ParseInt(n.String(), 10, 64); err == nil {
		return &i, nil
	}
	f, err := n.Float64()
	if err != nil || f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		return nil, badRequest(param, "%s must be an integer in the 64-bit range, got %s", param, n.String())
	}
	i := int64(f)
	return &i, nil
}

func optInt(param string, raw json.RawMessage) (*int, *apiError) {
	v, err := optInt64(param, raw)
	if err != nil || v == nil {
		return nil, err
	}
	if *v < math.MinInt32 || *v > math.MaxInt32 {
		return nil, badRequest(param, "%s = %d is out of range", param, *v)
	}
	i := int(*v)
	return &i, nil
}

func optIntRange(param string, raw json.RawMessage, lo, hi int) (*int, *apiError) {
	v, err := optInt(param, raw)
	if err != nil || v == nil {
		return nil, err
	}
	if *v < lo || *v > hi {
		e := badRequest(param, "%s = %d is out of range [%d, %d]", param, *v, lo, hi)
		e.Code = "out_of_range"
		return nil, e
	}
	return v, nil
}

// optFloatRange reads a number in [lo, hi], with either end open.
func optFloatRange(param string, raw json.RawMessage, lo, hi float64, loClosed, hiClosed bool) (*float64, *apiError) {
	v, err := optNumber(param, raw)
	if err != nil || v == nil {
		return nil, err
	}
	if *v < lo || *v > hi || !loClosed && *v == lo || !hiClosed && *v == hi {
		l, h := "(", ")"
		if loClosed {
			l = "["
		}
		if hiClosed {
			h = "]"
		}
		e := badRequest(param, "%s = %g is out of range %s%g, %g%s", param, *v, l, lo, hi, h)
		e.Code = "out_of_range"
		return nil, e
	}
	return v, nil
}

func optObject[T any](param string, raw json.RawMessage, dst *map[string]T) *apiError {
	if isNull(raw) {
		return nil
	}
	b := bytes.TrimSpace(raw)
	if len(b) == 0 || b[0] != '{' || json.Unmarshal(raw, dst) != nil {
		return typeError(param, "an object", raw)
	}
	return nil
}

func optArray(param string, raw json.RawMessage, dst *[]json.RawMessage) *apiError {
	if isNull(raw) {
		return nil
	}
	if json.Unmarshal(raw, dst) != nil {
		return typeError(param, "an array", raw)
	}
	return nil
}

// decodeStop reads stop: a string or a list of strings.
func decodeStop(raw json.RawMessage) ([]string, *apiError) {
	if isNull(raw) {
		return nil, nil
	}
	var list []string
	var one string
	if json.Unmarshal(raw, &one) == nil {
		list = []string{one}
	} else if json.Unmarshal(raw, &list) != nil {
		return nil, typeError("stop", "a string or an array of strings", raw)
	}
	if len(list) > maxStops {
		return nil, badRequest("stop", "stop has %d strings; at most %d are allowed", len(list), maxStops)
	}
	out := list[:0]
	for _, s := range list {
		if len(s) > maxStopLen {
			return nil, badRequest("stop", "a stop string is %d bytes long; at most %d are allowed", len(s), maxStopLen)
		}
		if s != "" { // an empty stop string would match at once; OpenAI ignores it
			out = append(out, s)
		}
	}
	return out, nil
}

func decodeStreamOptions(raw json.RawMessage) (bool, *apiError) {
	var m map[string]json.RawMessage
	if err := optObject("stream_options", raw, &m); err != nil {
		return false, err
	}
	include := false
	for k, v := range m {
		switch k {
		case "include_usage":
			b, err := optBool("stream_options.include_usage", v)
			if err != nil {
				return false, err
			}
			include = b != nil && *b
		case "include_obfuscation": // no effect: d3 adds no padding
			if _, err := optBool("stream_options.include_obfuscation", v); err != nil {
				return false, err
			}
		default:
			return false, unknownParam("stream_options." + k)
		}
	}
	return include, nil
}

// decodeLogprobs accepts what asks for no log probabilities: null, false, 0
// (chat takes a boolean, completions an integer).
func decodeLogprobs(raw json.RawMessage) *apiError {
	if isNull(raw) {
		return nil
	}
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		if b {
			return unsupported("logprobs", "logprobs are not supported")
		}
		return nil
	}
	n, err := optInt("logprobs", raw)
	if err != nil {
		return typeError("logprobs", "a boolean or an integer", raw)
	}
	if *n != 0 {
		return unsupported("logprobs", "logprobs are not supported")
	}
	return nil
}

func decodeResponseFormat(raw json.RawMessage) *apiError {
	var m map[string]json.RawMessage
	if err := optObject("response_format", raw, &m); err != nil || m == nil {
		return err
	}
	t, err := optString("response_format.type", m["type"])
	if err != nil {
		return err
	}
	if t == nil || *t != "text" {
		return unsupported("response_format", "only response_format {\"type\": \"text\"} is supported")
	}
	return nil
}

func decodeToolChoice(param string, raw json.RawMessage) *apiError {
	if isNull(raw) {
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil && (s == "none" || s == "auto") {
		return nil // no tools were given, so neither choice can call one
	}
	return unsupported(param, "%s is not supported (no function calling)", param)
}

// decodeMessages reads a chat conversation.
func decodeMessages(raw json.RawMessage) ([]chatMessage, *apiError) {
	var list []json.RawMessage
	if isNull(raw) {
		return nil, badRequest("messages", "messages is required")
	}
	if err := optArray("messages", raw, &list); err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, badRequest("messages", "messages must not be empty")
	}
	out := make([]chatMessage, 0, len(list))
	for i, m := range list {
		msg, err := decodeMessage(fmt.Sprintf("messages[%d]", i), m)
		if err != nil {
			return nil, err
		}
		out = append(out, msg)
	}
	return out, nil
}

func decodeMessage(param string, raw json.RawMessage) (chatMessage, *apiError) {
	var fields map[string]json.RawMessage
	if isNull(raw) {
		return chatMessage{}, typeError(param, "an object", raw)
	}
	if err := optObject(param, raw, &fields); err != nil {
		return chatMessage{}, err
	}
	var msg chatMessage
	role, err := optString(param+".role", fields["role"])
	if err != nil {
		return msg, err
	}
	if role == nil {
		return msg, badRequest(param+".role", "%s.role is required", param)
	}
	switch *role {
	case "system", "user", "assistant":
		msg.Role = *role
	case "developer": // OpenAI's newer name for the system role
		msg.Role = "system"
	case "tool", "function":
		return msg, unsupported(param+".role", "role %q needs function calling, which is not supported", *role)
	default:
		return msg, badRequest(param+".role", "unknown role %q (want system, developer, user or assistant)", *role)
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	hasContent := false
	for _, k := range keys {
		v := fields[k]
		p := param + "." + k
		switch k {
		case "role":
		case "content":
			if isNull(v) {
				break
			}
			hasContent = true
			if msg.Content, err = decodeContent(p, v); err != nil {
				return msg, err
			}
		case "name":
			var s *string
			if s, err = optString(p, v); err != nil {
				return msg, err
			} else if s != nil {
				msg.Name = *s
			}
		case "refusal", "reasoning_content":
			if _, err = optString(p, v); err != nil {
				return msg, err
			}
		case "tool_calls", "function_call":
			var list []json.RawMessage
			if isNull(v) {
				break
			}
			if optArray(p, v, &list) != nil || len(list) > 0 {
				return msg, unsupported(p, "%s (function calling) is not supported", k)
			}
		default:
			return msg, unknownParam(p)
		}
	}
	if !hasContent && msg.Role != "assistant" {
		return msg, badRequest(param+".content", "%s.content is required for role %q", param, msg.Role)
	}
	return msg, nil
}

// decodeContent reads message content: a string or a list of text parts
// (joined as they are).
func decodeContent(param string, raw json.RawMessage) (string, *apiError) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var parts []json.RawMessage
	if json.Unmarshal(raw, &parts) != nil {
		return "", typeError(param, "a string or an array of content parts", raw)
	}
	var b strings.Builder
	for j, part := range parts {
		pp := fmt.Sprintf("%s[%d]", param, j)
		var f map[string]json.RawMessage
		if isNull(part) {
			return "", typeError(pp, "an object", part)
		}
		if err := optObject(pp, part, &f); err != nil {
			return "", err
		}
		t, err := optString(pp+".type", f["type"])
		if err != nil {
			return "", err
		}
		if t == nil {
			return "", badRequest(pp+".type", "%s.type is required", pp)
		}
		if *t != "text" {
			return "", unsupported(pp+".type", "content part type %q is not supported (text only)", *t)
		}
		text, err := optString(pp+".text", f["text"])
		if err != nil {
			return "", err
		}
		if text == nil {
			return "", badRequest(pp+".text", "%s.text is required", pp)
		}
		b.WriteString(*text)
	}
	return b.String(), nil
}

// decodePrompt reads a completion prompt: a string, a one-element list of
// strings, a list of token ids, or a one-element list of such lists.
func (req *genRequest) decodePrompt(raw json.RawMessage, vocab int) *apiError {
	if isNull(raw) {
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		req.Prompt = s
		return nil
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		return typeError("prompt", "a string, an array of strings or an array of token ids", raw)
	}
	if len(list) == 0 {
		return badRequest("prompt", "prompt must not be empty")
	}
	var strs []string
	if json.Unmarshal(raw, &strs) == nil {
		if len(strs) > 1 {
			return unsupported("prompt", "prompt has %d prompts; d3 takes one per request", len(strs))
		}
		req.Prompt = strs[0]
		return nil
	}
	var nested [][]json.RawMessage
	if json.Unmarshal(raw, &nested) == nil {
		if len(nested) > 1 {
			return unsupported("prompt", "prompt has %d prompts; d3 takes one per request", len(nested))
		}
		list = nested[0]
		if len(list) == 0 {
			return badRequest("prompt", "prompt must not be empty")
		}
	}
	ids := make([]int, 0, len(list))
	for i, v := range list {
		p := fmt.Sprintf("prompt[%d]", i)
		id, err := optInt(p, v)
		if err != nil || id == nil {
			return typeError("prompt", "a string, an array of strings or an array of token ids", raw)
		}
		if *id < 0 || *id >= vocab {
			return badRequest(p, "token id %d is outside the vocabulary [0, %d)", *id, vocab)
		}
		ids = append(ids, *id)
	}
	req.PromptIDs, req.promptIsIDs = ids, true
	return nil
}

// d3Request is the request's "d3" object. A profile, when named, is the
// base; the other fields override it (or the built-in defaults).
type d3Request struct {
	Profile   *string  `json:"profile"`
	Alpha     *float64 `json:"alpha"`
	Order     *string  `json:"order"`
	CoreHead  *int     `json:"core_head"`
	CoreTail  *int     `json:"core_tail"`
	Start     *int     `json:"start"`
	Keep      *int     `json:"keep"`
	MinLayers *int     `json:"min_layers"`
	KV        *string  `json:"kv"`
	// Draft selects lossless drafting: "off", "d3", "static:N" or "auto"
	// (optionally ",k=LEN").
	Draft *string `json:"draft"`
}

var d3Fields = []string{"profile", "alpha", "order", "core_head", "core_tail", "start", "keep", "min_layers", "kv", "draft"}

// decodeD3 turns the d3 object into a schedule valid for the model.
func decodeD3(raw json.RawMessage, lim limits) (depth.Schedule, *engine.DraftPolicy, *apiError) {
	s, draft, err := decodeD3Object(raw, lim)
	return s, draft, err
}

func decodeD3Object(raw json.RawMessage, lim limits) (s depth.Schedule, draft *engine.DraftPolicy, apiErr *apiError) {
	s = depth.DefaultSchedule()
	b := bytes.TrimSpace(raw)
	if len(b) == 0 || b[0] != '{' {
		return s, nil, typeError("d3", "an object", raw)
	}
	var r d3Request
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return s, nil, badRequest("d3."+te.Field, "d3.%s must be %s, not %s", te.Field, goTypeName(te.Type.String()), te.Value)
		}
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			name = strings.Trim(name, `"`)
			return s, nil, badRequest("d3."+name, "unknown d3 field %q (known: %s)", name, strings.Join(d3Fields, ", "))
		}
		return s, nil, badRequest("d3", "d3: %v", err)
	}
	if r.Profile != nil {
		p, ok := lim.profiles[*r.Profile]
		if !ok {
			names := make([]string, 0, len(lim.profiles))
			for n := range lim.profiles {
				names = append(names, n)
			}
			slices.Sort(names)
			known := "none are loaded; start d3 serve with --d3-profile"
			if len(names) > 0 {
				known = "loaded: " + strings.Join(names, ", ")
			}
			e := badRequest("d3.profile", "unknown d3 profile %q (%s)", *r.Profile, known)
			e.Code = "unknown_profile"
			return s, nil, e
		}
		s = p.Schedule
	}
	if r.Alpha != nil {
		s.Alpha = *r.Alpha
	}
	if r.Order != nil {
		o, err := depth.ParseOrder(*r.Order)
		if err != nil {
			return s, nil, badRequest("d3.order", "d3.order %q is not back, front or middle", *r.Order)
		}
		s.Order = o
	}
	if r.KV != nil {
		m, err := depth.ParseKVMode(*r.KV)
		if err != nil {
			return s, nil, badRequest("d3.kv", "d3.kv %q is not none or propagate", *r.KV)
		}
		s.KV = m
	}
	for _, f := range []struct {
		v   *int
		dst *int
	}{{r.CoreHead, &s.CoreHead}, {r.CoreTail, &s.CoreTail}, {r.Start, &s.Start}, {r.Keep, &s.Keep}, {r.MinLayers, &s.MinLayers}} {
		if f.v != nil {
			*f.dst = *f.v
		}
	}
	if r.Draft != nil {
		p, err := engine.ParseDraftPolicy(*r.Draft)
		if err != nil {
			return s, nil, badRequest("d3.draft", "d3.draft: %v", err)
		}
		if p.Kind == engine.DraftStatic && (p.Keep < s.CoreHead+s.CoreTail || p.Keep > lim.numLayers) {
			return s, nil, badRequest("d3.draft", "d3.draft static:%d must keep between %d and %d layers", p.Keep, s.CoreHead+s.CoreTail, lim.numLayers)
		}
		draft = &p
	}
	if err := s.Validate(lim.numLayers); err != nil {
		e := badRequest("d3", "invalid d3 schedule: %s", strings.TrimPrefix(err.Error(), "depth: "))
		e.Code = "invalid_d3"
		return s, nil, e
	}
	return s, draft, nil
}

// goTypeName says what JSON type a Go field type expects.
func goTypeName(t string) string {
	switch strings.TrimPrefix(t, "*") {
	case "string":
		return "a string"
	case "int", "int64":
		return "an integer"
	case "float64":
		return "a number"
	}
	return t
}
