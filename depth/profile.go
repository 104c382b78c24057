package depth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
)

// Profile is a saved, named schedule with the evidence it was chosen on
// (written by `d3 tune`, read by `generate --d3-profile` and the server).
type Profile struct {
	Name  string `json:"name"`
	Model string `json:"model,omitempty"` // model the schedule was tuned on
	Task  string `json:"task,omitempty"`  // task or data set it was tuned on
	// NumLayers is the tuned model's layer count; when set, the schedule
	// is validated against it on load and save.
	NumLayers int      `json:"num_layers,omitempty"`
	Schedule  Schedule `json:"schedule"`
	// Accuracy (fraction in [0, 1]) and MeanLayers (per generated token)
	// measured with this schedule on Examples problems.
	Accuracy   float64 `json:"accuracy"`
	MeanLayers float64 `json:"mean_layers"`
	Examples   int     `json:"examples,omitempty"`
	Note       string  `json:"note,omitempty"`
}

func (p Profile) validate() error {
	if p.NumLayers > 0 {
		return p.Schedule.Validate(p.NumLayers)
	}
	return p.Schedule.validateBasic()
}

// LoadProfile reads a profile from a JSON file. Schedule fields the file
// omits take DefaultSchedule's values; unknown fields, order or KV names
// are errors.
func LoadProfile(path string) (Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Profile{}, fmt.Errorf("depth: profile: %w", err)
	}
	p := Profile{Schedule: DefaultSchedule()}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Profile{}, fmt.Errorf("depth: profile %s: %w", path, err)
	}
	if dec.More() {
		return Profile{}, fmt.Errorf("depth: profile %s: trailing data after the JSON object", path)
	}
	if err := p.validate(); err != nil {
		return Profile{}, fmt.Errorf("depth: profile %s: %w", path, err)
	}
	return p, nil
}

// SaveProfile validates p and writes it to path as indented JSON.
func SaveProfile(path string, p Profile) error {
	if err := p.validate(); err != nil {
		return fmt.Errorf("depth: profile %s: %w", path, err)
	}
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("depth: profile %s: %w", path, err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("depth: profile: %w", err)
	}
	return nil
}
