package tokenizer

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
)

// tokConfig holds what we use from tokenizer_config.json.
type tokConfig struct {
	addBOS, addEOS     *bool
	bosToken, eosToken *string
	chatTemplate       string
	addedTokens        []hfAdded // added_tokens_decoder, by id
}

func parseConfig(data []byte) (*tokConfig, error) {
	c := &tokConfig{}
	if data == nil {
		return c, nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("tokenizer_config.json: %w", err)
	}
	var err error
	if c.addBOS, err = optBool(raw, "add_bos_token"); err != nil {
		return nil, err
	}
	if c.addEOS, err = optBool(raw, "add_eos_token"); err != nil {
		return nil, err
	}
	if c.bosToken, err = optTokenText(raw, "bos_token"); err != nil {
		return nil, err
	}
	if c.eosToken, err = optTokenText(raw, "eos_token"); err != nil {
		return nil, err
	}
	if atd, ok := raw["added_tokens_decoder"]; ok && string(atd) != "null" {
		var m map[string]hfAdded
		if err := json.Unmarshal(atd, &m); err != nil {
			return nil, fmt.Errorf("tokenizer_config.json: added_tokens_decoder: %w", err)
		}
		for key, a := range m {
			id, err := strconv.Atoi(key)
			if err != nil {
				return nil, fmt.Errorf("tokenizer_config.json: added_tokens_decoder key %q is not an id", key)
			}
			a.ID = &id
			c.addedTokens = append(c.addedTokens, a)
		}
		slices.SortFunc(c.addedTokens, func(a, b hfAdded) int { return *a.ID - *b.ID })
	}
	if ct, ok := raw["chat_template"]; ok && string(ct) != "null" {
		var s string
		if json.Unmarshal(ct, &s) == nil {
			c.chatTemplate = s
		} else {
			var list []struct {
				Name     string `json:"name"`
				Template string `json:"template"`
			}
			if err := json.Unmarshal(ct, &list); err != nil {
				return nil, fmt.Errorf("tokenizer_config.json: chat_template is neither a string nor a list of {name, template}")
			}
			for i, e := range list {
				if e.Name == "default" || i == 0 {
					c.chatTemplate = e.Template
				}
			}
		}
	}
	return c, nil
}

func optBool(raw map[string]json.RawMessage, key string) (*bool, error) {
	v, ok := raw[key]
	if !ok || string(v) == "null" {
		return nil, nil
	}
	var b bool
	if err := json.Unmarshal(v, &b); err != nil {
		return nil, fmt.Errorf("tokenizer_config.json: %s is not a boolean", key)
	}
	return &b, nil
}

// optTokenText reads a token given as a string or as an AddedToken object.
func optTokenText(raw map[string]json.RawMessage, key string) (*string, error) {
	v, ok := raw[key]
	if !ok || string(v) == "null" {
		return nil, nil
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return &s, nil
	}
	var obj struct {
		Content *string `json:"content"`
	}
	if err := json.Unmarshal(v, &obj); err != nil || obj.Content == nil {
		return nil, fmt.Errorf("tokenizer_config.json: %s is neither a string nor a token object", key)
	}
	return obj.Content, nil
}

// apply sets BOS/EOS ids and the chat template, and overrides whether BOS
// and EOS are added when the config says so explicitly.
func (c *tokConfig) apply(t *Tokenizer, addBOS, addEOS *bool) error {
	if c.bosToken != nil {
		if id := t.findPiece(*c.bosToken); id >= 0 {
			t.bos = id
		}
	}
	if c.eosToken != nil {
		if id := t.findPiece(*c.eosToken); id >= 0 {
			t.eos = id
		}
	}
	if c.addBOS != nil {
		*addBOS = *c.addBOS
	}
	if c.addEOS != nil {
		*addEOS = *c.addEOS
	}
	if c.chatTemplate != "" {
		t.chatTemplate = c.chatTemplate
	}
	return nil
}

// findPiece returns the id of the piece with text s (the last one when
// several share it, since added tokens come after the base vocabulary), or -1.
func (t *Tokenizer) findPiece(s string) int {
	for i := len(t.pieces) - 1; i >= 0; i-- {
		if t.pieces[i] == s {
			return i
		}
	}
	return -1
}
