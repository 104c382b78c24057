package engine

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/d3-project/d3/depth"
)

// goldenFull returns the prompt and reference greedy ids of a golden tiny
// checkpoint's full-depth generate case.
func goldenFull(t *testing.T, dir string) (prompt, generated []int) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Cases []struct {
			Kind, Schedule string
			Prompt         []int
			Generated      []int
		}
	}
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	for _, c := range g.Cases {
		if c.Kind == "generate" && c.Schedule == "full" {
			return c.Prompt, c.Generated
		}
	}
	t.Fatal("no full generate case")
	return nil, nil
}

func mustPlanner(t *testing.T, alpha float64, L int) *depth.Planner {
	t.Helper()
	s := depth.DefaultSchedule()
	s.Alpha = alpha
	p, err := depth.NewPlanner(s, L)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
