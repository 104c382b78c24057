package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// generationEOS reads the eos_token_id of an optional generation_config.json
// (an integer or a list). A missing file contributes nothing; a malformed one
// is an error, since silently ignoring it could change where generation stops.
func generationEOS(path string) ([]int, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	var g struct {
		EOS json.RawMessage `json:"eos_token_id"`
	}
	if err := json.Unmarshal(data, &g); err != nil {
		return nil, fmt.Errorf("model: %s: invalid JSON: %w", path, err)
	}
	ids, err := tokenIDs(g.EOS)
	if err != nil {
		return nil, fmt.Errorf("model: %s: eos_token_id: %w", path, err)
	}
	return ids, nil
}
