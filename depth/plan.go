package depth

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Plan says which layers run for one token: Plan[l] is true when layer l
// runs. A skipped layer is the identity on the residual stream.
type Plan []bool

// Full returns the plan that runs all numLayers layers.
func Full(numLayers int) Plan {
	p := make(Plan, numLayers)
	for l := range p {
		p[l] = true
	}
	return p
}

// Runs reports whether layer l runs; layers outside the plan do not.
func (p Plan) Runs(l int) bool { return l >= 0 && l < len(p) && p[l] }

// Count returns the number of layers that run.
func (p Plan) Count() int {
	n := 0
	for _, r := range p {
		if r {
			n++
		}
	}
	return n
}

// Layers returns the indices of the layers that run, ascending.
func (p Plan) Layers() []int {
	out := make([]int, 0, len(p))
	for l, r := range p {
		if r {
			out = append(out, l)
		}
	}
	return out
}

// IsFull reports whether every layer runs.
func (p Plan) IsFull() bool {
	for _, r := range p {
		if !r {
			return false
		}
	}
	return true
}

// String lists the running layers as ranges with the count, e.g.
// "0-5,14-15 (8/16)".
func (p Plan) String() string {
	var b strings.Builder
	for l := 0; l < len(p); {
		if !p[l] {
			l++
			continue
		}
		end := l
		for end+1 < len(p) && p[end+1] {
			end++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(l))
		if end > l {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(end))
		}
		l = end + 1
	}
	fmt.Fprintf(&b, " (%d/%d)", p.Count(), len(p))
	return b.String()
}

// PlanFromLayers builds a plan from a list of running layer indices. Each
// index must lie in [0, numLayers) and appear once.
func PlanFromLayers(numLayers int, layers []int) (Plan, error) {
	if numLayers <= 0 {
		return nil, fmt.Errorf("depth: model has %d layers, want at least 1", numLayers)
	}
	p := make(Plan, numLayers)
	for _, l := range layers {
		if l < 0 || l >= numLayers {
			return nil, fmt.Errorf("depth: layer %d out of range [0, %d)", l, numLayers)
		}
		if p[l] {
			return nil, fmt.Errorf("depth: layer %d listed twice", l)
		}
		p[l] = true
	}
	return p, nil
}

// LoadLayerPlanFile reads an explicit per-step plan: a JSON array whose
// element i lists the layers that run when T_i is produced. Steps past the
// end of the file are the caller's to run at full depth.
func LoadLayerPlanFile(path string, numLayers int) ([]Plan, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("depth: layer plan file: %w", err)
	}
	var steps [][]int
	if err := json.Unmarshal(data, &steps); err != nil {
		return nil, fmt.Errorf("depth: layer plan file %s: want a JSON array of layer lists: %w", path, err)
	}
	plans := make([]Plan, len(steps))
	for i, layers := range steps {
		p, err := PlanFromLayers(numLayers, layers)
		if err != nil {
			return nil, fmt.Errorf("depth: layer plan file %s: element %d: %w", path, i, err)
		}
		plans[i] = p
	}
	return plans, nil
}

// Planner maps generated-token indices to plans for one schedule and model.
// All plans are built up front, so Plan allocates nothing; the returned
// plans are shared and must not be modified.
type Planner struct {
	sched     Schedule
	numLayers int
	byKeep    []Plan // byKeep[k] is the plan that keeps k layers (nil below the floor)
}

// NewPlanner validates s for a model with numLayers layers and precomputes
// its plans.
func NewPlanner(s Schedule, numLayers int) (*Planner, error) {
	if err := s.Validate(numLayers); err != nil {
		return nil, err
	}
	order := s.DropOrder(numLayers)
	floor := s.floor()
	backing := make([]bool, (numLayers-floor+1)*numLayers)
	byKeep := make([]Plan, numLayers+1)
	for k := floor; k <= numLayers; k++ {
		p := Plan(backing[:numLayers:numLayers])
		backing = backing[numLayers:]
		for l := range p {
			p[l] = true
		}
		// Nested by construction: keeping k drops the first L−k of one order.
		for _, l := range order[:numLayers-k] {
			p[l] = false
		}
		byKeep[k] = p
	}
	return &Planner{sched: s, numLayers: numLayers, byKeep: byKeep}, nil
}

// Plan returns the plan for generated token T_i; i = 0 is the prompt's
// last position and runs full depth.
func (p *Planner) Plan(i int) Plan {
	return p.byKeep[p.sched.KeepCount(p.numLayers, i)]
}

// Schedule returns the planner's schedule.
func (p *Planner) Schedule() Schedule { return p.sched }
