// Package tune searches depth schedules on a validation set: it evaluates a
// grid of D³ settings next to full depth, the uniform-depth baseline at
// several depths and decay with a floor, finds the Pareto front of accuracy
// against mean layers, says whether position-aware decay beats uniform
// depth at equal mean layers, and picks the fastest setting within an
// accuracy budget as a depth.Profile.
package tune

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/d3-project/d3/depth"
	"github.com/d3-project/d3/engine"
	"github.com/d3-project/d3/eval"
)

// Grid is the search space. Every combination of Alphas × Orders × Starts
// runs as plain decay and once per floor in Floors (decay with
// --d3-min-layers); every Keeps value runs as the uniform baseline; full
// depth always runs.
type Grid struct {
	Alphas []float64
	Orders []depth.Order
	Starts []int
	Keeps  []int
	Floors []int
	// Base supplies the core layers and the K/V mode.
	Base depth.Schedule
}

// DefaultGrid is a grid for a model of numLayers layers: α 0.995…0.97,
// middle order, no warm-up, uniform depth at L−2, L−4, L−6 and L−8 layers
// (so the uniform line spans the mean layers decay reaches) and floors at
// 3/4 and 5/8 of L.
func DefaultGrid(numLayers int) Grid {
	g := Grid{
		Alphas: []float64{0.995, 0.99, 0.98, 0.97},
		Orders: []depth.Order{depth.Middle},
		Starts: []int{0},
		Base:   depth.DefaultSchedule(),
	}
	core := g.Base.CoreHead + g.Base.CoreTail
	for _, k := range []int{numLayers - 2, numLayers - 4, numLayers - 6, numLayers - 8} {
		if k > core && k < numLayers {
			g.Keeps = append(g.Keeps, k)
		}
	}
	for _, f := range []int{(3*numLayers + 2) / 4, (5*numLayers + 4) / 8} {
		if f > core && f < numLayers && !slices.Contains(g.Floors, f) {
			g.Floors = append(g.Floors, f)
		}
	}
	return g
}

// Settings expands the grid for a model of numLayers layers: full depth
// first, then the uniform baselines (deepest first), then decay settings.
func (g Grid) Settings(numLayers int) ([]eval.Setting, error) {
	var out []eval.Setting
	seen := map[string]bool{}
	add := func(s depth.Schedule) error {
		st, err := eval.ScheduleSetting("", s, numLayers)
		if err != nil {
			return err
		}
		if !seen[st.Name] {
			seen[st.Name] = true
			out = append(out, st)
		}
		return nil
	}
	full := g.Base
	full.Alpha, full.Start, full.Keep, full.MinLayers = 1, 0, 0, 0
	if err := add(full); err != nil {
		return nil, err
	}
	keeps := append([]int(nil), g.Keeps...)
	sort.Sort(sort.Reverse(sort.IntSlice(keeps)))
	for _, k := range keeps {
		s := full
		s.Keep = k
		if err := add(s); err != nil {
			return nil, fmt.Errorf("tune: uniform %d: %w", k, err)
		}
	}
	for _, o := range g.Orders {
		for _, a := range g.Alphas {
			for _, st := range g.Starts {
				s := full
				s.Alpha, s.Order, s.Start = a, o, st
				if !(a > 0 && a <= 1) {
					return nil, fmt.Errorf("tune: alpha %g out of range (0, 1]", a)
				}
				if a == 1 {
					continue // full depth already runs
				}
				if err := add(s); err != nil {
					return nil, fmt.Errorf("tune: %w", err)
				}
				for _, f := range g.Floors {
					s.MinLayers = f
					if err := add(s); err != nil {
						return nil, fmt.Errorf("tune: floor %d: %w", f, err)
					}
				}
			}
		}
	}
	return out, nil
}

// Run evaluates every setting on the items. cacheFor, when set, gives each
// setting's resume cache file and fingerprint (see eval.Config); progress,
// when set, is called with item-runs done and the total over all settings.
func Run(ctx context.Context, e *engine.Engine, task eval.Task, items []eval.Item, settings []eval.Setting, cfg eval.Config,
	cacheFor func(eval.Setting) (path, fingerprint string, err error), progress func(done, total int)) ([]*eval.Result, error) {
	total := len(settings) * len(items)
	var results []*eval.Result
	for i, s := range settings {
		c := cfg
		offset := i * len(items)
		if progress != nil {
			c.Progress = func(done, _ int) { progress(offset+done, total) }
		}
		if cacheFor != nil {
			var err error
			if c.Cache, c.Fingerprint, err = cacheFor(s); err != nil {
				return results, err
			}
		}
		r, err := eval.Run(ctx, e, task, items, s, c)
		if err != nil {
			return results, fmt.Errorf("tune: %s: %w", s.Name, err)
		}
		results = append(results, r)
	}
	return results, nil
}

// Row is one evaluated setting with its place in the comparison.
type Row struct {
	*eval.Result
	Kind string // full, uniform, decay, decay+floor
	// Drop is the accuracy lost against full depth, in points.
	Drop   float64
	Pareto bool
	// Uniform is the uniform-depth accuracy interpolated at this setting's
	// mean layers (decay settings within the uniform range only).
	Uniform *float64
}

// Outcome is the analysed grid.
type Outcome struct {
	Rows    []*Row
	Full    *Row
	MaxDrop float64
	// Best is the setting with the fewest mean layers whose drop is within
	// MaxDrop (full depth when nothing else is).
	Best *Row
	// Verdict says in words whether position-aware decay beats uniform
	// depth at equal mean layers, for plain decay and for decay with a
	// floor.
	Verdict string
	// DecayBetter is, for "decay" and "decay+floor": +1 when no comparable
	// setting scored below the uniform line and some above, −1 when none
	// scored above and some below, 0 when mixed, tied or not comparable.
	DecayBetter map[string]int
}

func kind(s eval.Setting) string {
	switch {
	case s.Schedule.Keep > 0:
		return "uniform"
	case s.Schedule.Alpha < 1 && s.Schedule.MinLayers > 0:
		return "decay+floor"
	case s.Schedule.Alpha < 1:
		return "decay"
	}
	return "full"
}

// Analyze ranks the results (full depth must be among them).
func Analyze(results []*eval.Result, maxDrop float64) (*Outcome, error) {
	o := &Outcome{MaxDrop: maxDrop}
	for _, r := range results {
		row := &Row{Result: r, Kind: kind(r.Setting)}
		o.Rows = append(o.Rows, row)
		if row.Kind == "full" && o.Full == nil {
			o.Full = row
		}
	}
	if o.Full == nil {
		return nil, fmt.Errorf("tune: no full-depth result to compare with")
	}
	for _, r := range o.Rows {
		r.Drop = 100 * (o.Full.Accuracy - r.Accuracy)
	}
	// Pareto front of (accuracy ↑, mean layers ↓): no other setting is at
	// least as good on both and better on one.
	for _, r := range o.Rows {
		r.Pareto = true
		for _, q := range o.Rows {
			if q != r && q.Accuracy >= r.Accuracy && q.MeanLayers <= r.MeanLayers &&
				(q.Accuracy > r.Accuracy || q.MeanLayers < r.MeanLayers) {
				r.Pareto = false
				break
			}
		}
	}
	for _, r := range o.Rows {
		if r.Drop <= maxDrop+1e-9 && (o.Best == nil || r.MeanLayers < o.Best.MeanLayers ||
			r.MeanLayers == o.Best.MeanLayers && r.DecodeTokensPerS > o.Best.DecodeTokensPerS) {
			o.Best = r
		}
	}
	o.verdict()
	return o, nil
}

// verdict compares every decay setting with the uniform-depth line (the
// uniform settings and full depth, which is uniform at L layers, joined
// linearly) at the decay setting's own mean layers.
func (o *Outcome) verdict() {
	o.DecayBetter = map[string]int{}
	var line []*Row
	for _, r := range o.Rows {
		if r.Kind == "uniform" || r.Kind == "full" {
			line = append(line, r)
		}
	}
	sort.Slice(line, func(i, j int) bool { return line[i].MeanLayers < line[j].MeanLayers })
	if len(line) < 2 {
		o.Verdict = "Cannot compare decay with uniform depth: no uniform settings ran (give --keeps)."
		return
	}
	var parts []string
	for _, k := range []struct{ kind, label string }{{"decay", "plain decay"}, {"decay+floor", "decay with a floor"}} {
		var better, worse, ties int
		var diff, worstD, bestD float64
		var worst, best *Row
		ran := 0
		for _, r := range o.Rows {
			if r.Kind != k.kind {
				continue
			}
			ran++
			u, ok := interpolate(line, r.MeanLayers)
			if !ok {
				continue
			}
			r.Uniform = &u
			d := 100 * (r.Accuracy - u)
			diff += d
			switch {
			case d > tieTolerance:
				better++
			case d < -tieTolerance:
				worse++
			default:
				ties++
			}
			if worst == nil || d < worstD {
				worst, worstD = r, d
			}
			if best == nil || d > bestD {
				best, bestD = r, d
			}
		}
		n := better + worse + ties
		tied := ""
		if ties > 0 {
			tied = fmt.Sprintf("; %d tie (within %.2g points)", ties, tieTolerance)
		}
		switch {
		case ran == 0:
			continue
		case n == 0:
			parts = append(parts, fmt.Sprintf("cannot compare %s: none of its settings has mean layers within the uniform line's range %.2f–%.2f (give --keeps that cover it).",
				k.label, line[0].MeanLayers, line[len(line)-1].MeanLayers))
		case better == 0 && worse == 0:
			parts = append(parts, fmt.Sprintf("NO DIFFERENCE for %s: its %d comparable settings score as uniform depth does at the same mean layers (within %.2g points).",
				k.label, n, tieTolerance))
		case better == 0:
			o.DecayBetter[k.kind] = -1
			parts = append(parts, fmt.Sprintf("NO for %s: %d of %d comparable settings score below uniform depth at the same mean layers%s, by %.1f points on average (worst: %s, %.1f %% at %.2f layers against %.1f %% for uniform depth).",
				k.label, worse, n, tied, -diff/float64(n), worst.Setting.Name, 100*worst.Accuracy, worst.MeanLayers, 100**worst.Uniform))
		case worse == 0:
			o.DecayBetter[k.kind] = 1
			parts = append(parts, fmt.Sprintf("YES for %s: %d of %d comparable settings score above uniform depth at the same mean layers%s, by %.1f points on average (best: %s, %.1f %% at %.2f layers against %.1f %% for uniform depth).",
				k.label, better, n, tied, diff/float64(n), best.Setting.Name, 100*best.Accuracy, best.MeanLayers, 100**best.Uniform))
		default:
			parts = append(parts, fmt.Sprintf("MIXED for %s: %d of %d comparable settings beat uniform depth at the same mean layers, %d do not%s (mean difference %+.1f points; best %s %+.1f, worst %s %+.1f).",
				k.label, better, n, worse, tied, diff/float64(n), best.Setting.Name, bestD, worst.Setting.Name, worstD))
		}
	}
	if len(parts) == 0 {
		o.Verdict = "No decay settings ran."
		return
	}
	o.Verdict = "Does position-aware decay beat uniform depth at equal mean layers? " + strings.Join(parts, " ")
}

// tieTolerance is the accuracy difference, in points, below which a decay
// setting and the uniform line count as equal.
const tieTolerance = 0.05

// interpolate reads the line (sorted by mean layers) at x.
func interpolate(line []*Row, x float64) (float64, bool) {
	if x < line[0].MeanLayers-1e-9 || x > line[len(line)-1].MeanLayers+1e-9 {
		return 0, false
	}
	for i := 1; i < len(line); i++ {
		a, b := line[i-1], line[i]
		if x <= b.MeanLayers+1e-9 {
			if b.MeanLayers-a.MeanLayers < 1e-12 {
				return math.Max(a.Accuracy, b.Accuracy), true
			}
			t := (x - a.MeanLayers) / (b.MeanLayers - a.MeanLayers)
			return a.Accuracy + t*(b.Accuracy-a.Accuracy), true
		}
	}
	return line[len(line)-1].Accuracy, true
}

// Profile is the chosen setting as a profile for generate --d3-profile.
func (o *Outcome) Profile(model, task string, numLayers int) depth.Profile {
	b := o.Best
	return depth.Profile{
		Name:       fmt.Sprintf("%s %s: %s", model, task, b.Setting.Name),
		Model:      model,
		Task:       task,
		NumLayers:  numLayers,
		Schedule:   b.Setting.Schedule,
		Accuracy:   b.Accuracy,
		MeanLayers: b.MeanLayers,
		Examples:   b.N,
		Note: fmt.Sprintf("d3 tune: fewest mean layers within %.2g points of full depth (%.1f %%); %.1f %% at %.2f mean layers, %.1f decode tokens/s",
			o.MaxDrop, 100*o.Full.Accuracy, 100*b.Accuracy, b.MeanLayers, b.DecodeTokensPerS),
	}
}

// ParseFloats parses a comma-separated list.
func ParseFloats(s string) ([]float64, error) {
	var out []float64
	for _, f := range splitList(s) {
		var v float64
		if _, err := fmt.Sscan(f, &v); err != nil {
			return nil, fmt.Errorf("tune: %q is not a number", f)
		}
		out = append(out, v)
	}
	return out, nil
}

// ParseInts parses a comma-separated list of integers.
func ParseInts(s string) ([]int, error) {
	var out []int
	for _, f := range splitList(s) {
		var v int
		if _, err := fmt.Sscan(f, &v); err != nil || fmt.Sprint(v) != f {
			return nil, fmt.Errorf("tune: %q is not an integer", f)
		}
		out = append(out, v)
	}
	return out, nil
}

// ParseOrders parses a comma-separated list of drop orders.
func ParseOrders(s string) ([]depth.Order, error) {
	var out []depth.Order
	for _, f := range splitList(s) {
		o, err := depth.ParseOrder(f)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
