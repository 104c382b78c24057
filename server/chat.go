package server

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ardanlabs/jinja"

	"github.com/d3-project/d3/tokenizer"
)

// Built-in chat templates, for models that carry none (--chat-template NAME).
// They are the formats' reference templates (Hugging Face's Llama-2-chat and
// Meta-Llama-3-Instruct, and ChatML as Qwen uses it), rendered by the same
// Jinja engine as a model's own.
var builtinTemplates = map[string]string{
	"chatml": `{%- for message in messages -%}
{{- '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\n' -}}{%- endif -%}`,

	"llama3": `{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>

'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>

' }}{% endif %}`,

	"llama2": `{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\n' + system_message + '\n<</SYS>>\n\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}`,
}

// BuiltinTemplateNames lists the names --chat-template accepts.
func BuiltinTemplateNames() []string {
	names := make([]string, 0, len(builtinTemplates))
	for n := range builtinTemplates {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// BuiltinTemplate returns the Jinja source of a built-in chat template.
func BuiltinTemplate(name string) (string, error) {
	src, ok := builtinTemplates[name]
	if !ok {
		return "", fmt.Errorf("unknown chat template %q (built-in: %s)", name, strings.Join(BuiltinTemplateNames(), ", "))
	}
	return src, nil
}

// chatTemplate formats a conversation as a prompt.
type chatTemplate struct {
	tmpl     *jinja.Template
	bos, eos string // texts of the BOS and EOS tokens ("" when none)
	tok      *tokenizer.Tokenizer
}

func newChatTemplate(src string, tok *tokenizer.Tokenizer) (t *chatTemplate, err error) {
	defer func() {
		// The template comes from a model file: a parser panic on it must
		// not take the server down.
		if r := recover(); r != nil {
			t, err = nil, fmt.Errorf("chat template: %v", r)
		}
	}()
	tmpl, err := jinja.Compile(src)
	if err != nil {
		return nil, fmt.Errorf("chat template: %w", err)
	}
	t = &chatTemplate{tmpl: tmpl, tok: tok}
	if id := tok.BOS(); id >= 0 {
		t.bos = tok.Piece(id)
	}
	if id := tok.EOS(); id >= 0 {
		t.eos = tok.Piece(id)
	}
	return t, nil
}

// reserved are the template variables the server sets; chat_template_kwargs
// cannot replace them.
var reserved = map[string]bool{"messages": true, "add_generation_prompt": true, "bos_token": true, "eos_token": true}

// render formats msgs with the generation prompt appended (the assistant's
// turn begins).
func (t *chatTemplate) render(msgs []chatMessage, kwargs map[string]any) (out string, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = "", fmt.Errorf("chat template failed: %v", r)
		}
	}()
	list := make([]any, len(msgs))
	for i, m := range msgs {
		d := map[string]any{"role": m.Role, "content": m.Content}
		if m.Name != "" {
			d["name"] = m.Name
		}
		list[i] = d
	}
	data := map[string]any{}
	for k, v := range kwargs {
		if !reserved[k] {
			data[k] = v
		}
	}
	data["messages"] = list
	data["add_generation_prompt"] = true
	data["bos_token"] = t.bos
	data["eos_token"] = t.eos
	out, err = t.tmpl.Render(data)
	if err != nil {
		return "", fmt.Errorf("chat template failed on this conversation: %w", err)
	}
	return out, nil
}

// tokens encodes a rendered conversation. A template that writes the BOS
// token itself gets no second one (Hugging Face tokenizes chat prompts
// without special tokens; llama.cpp drops the duplicate BOS).
func (t *chatTemplate) tokens(text string) []int {
	if t.bos != "" && strings.HasPrefix(text, t.bos) {
		return t.tok.Encode(text, false)
	}
	return t.tok.Encode(text, true)
}
