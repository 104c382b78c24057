package tune

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/d3-project/d3/depth"
	"github.com/d3-project/d3/eval"
)

func result(t *testing.T, s depth.Schedule, acc, layers float64) *eval.Result {
	t.Helper()
	st, err := eval.ScheduleSetting("", s, 16)
	if err != nil {
		t.Fatal(err)
	}
	return &eval.Result{Setting: st, Accuracy: acc, MeanLayers: layers, N: 500, NumLayers: 16, LayerSpeedup: 16 / layers}
}

func sched(alpha float64, keep, floor int) depth.Schedule {
	s := depth.DefaultSchedule()
	s.Alpha, s.Keep, s.MinLayers = alpha, keep, floor
	return s
}

// The numbers of d3-tiny-layerdrop on all 500 test problems (reference.json
// and uniform.json): uniform depth beats decay at equal mean layers.
func referenceResults(t *testing.T) []*eval.Result {
	return []*eval.Result{
		result(t, sched(1, 0, 0), 1.000, 16),
		result(t, sched(1, 13, 0), 1.000, 13.067),
		result(t, sched(1, 12, 0), 0.994, 12.089),
		result(t, sched(1, 11, 0), 0.978, 11.112),
		result(t, sched(1, 10, 0), 0.934, 10.134),
		result(t, sched(0.995, 0, 0), 1.000, 13.815),
		result(t, sched(0.99, 0, 0), 0.982, 12.392),
		result(t, sched(0.98, 0, 0), 0.758, 10.046), // below the uniform range
		result(t, sched(0.98, 0, 11), 0.988, 11.5),  // a made-up floored point above the line
	}
}

func TestAnalyzeReferenceNumbers(t *testing.T) {
	o, err := Analyze(referenceResults(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	names := func(f func(*Row) bool) []string {
		var out []string
		for _, r := range o.Rows {
			if f(r) {
				out = append(out, r.Setting.Name)
			}
		}
		return out
	}
	// Pareto: uniform 13 is as accurate as full depth and α 0.995 with
	// fewer layers, so it dominates both; uniform 12 dominates α 0.99;
	// every other point is the most accurate at its depth.
	wantFront := []string{"uniform 13", "uniform 12", "uniform 11", "uniform 10", "middle α0.98", "middle α0.98 floor 11"}
	if got := names(func(r *Row) bool { return r.Pareto }); !slices.Equal(got, wantFront) {
		t.Errorf("Pareto front %v, want %v", got, wantFront)
	}
	// Fewest mean layers within 1 point of full depth: uniform 12 (0.6
	// points at 12.09 layers; the floored point at 11.5 loses 1.2).
	if o.Best.Setting.Name != "uniform 12" {
		t.Errorf("chose %s, want uniform 12", o.Best.Setting.Name)
	}
	if o.DecayBetter["decay"] != -1 || o.DecayBetter["decay+floor"] != 1 {
		t.Errorf("decay better %v", o.DecayBetter)
	}
	if !strings.Contains(o.Verdict, "NO for plain decay: 1 of 2 comparable settings score below uniform depth at the same mean layers; 1 tie") || !strings.Contains(o.Verdict, "YES for decay with a floor") {
		t.Errorf("verdict %q", o.Verdict)
	}
	// α 0.99 at 12.392 layers against the uniform line between 12.089
	// (99.4 %) and 13.067 (100 %).
	for _, r := range o.Rows {
		if r.Setting.Name == "middle α0.99" {
			want := 0.994 + (12.392-12.089)/(13.067-12.089)*0.006
			if r.Uniform == nil || math.Abs(*r.Uniform-want) > 1e-9 || math.Abs(r.Drop-1.8) > 1e-9 {
				t.Errorf("α0.99: uniform %v drop %v, want %v and 1.8", r.Uniform, r.Drop, want)
			}
		}
		if r.Setting.Name == "middle α0.98" && r.Uniform != nil {
			t.Errorf("α0.98 below the uniform range was compared")
		}
	}
	p := o.Profile("d3-tiny-layerdrop", "arith", 16)
	if p.Schedule.Keep != 12 || p.Accuracy != 0.994 || p.NumLayers != 16 || !strings.Contains(p.Name, "uniform 12") {
		t.Errorf("profile %+v", p)
	}
	// A budget nobody meets keeps full depth; a wide one takes the
	// shallowest.
	o0, _ := Analyze(referenceResults(t)[1:5:5], 0)
	if o0 != nil {
		t.Error("analysis without full depth accepted")
	}
	oz, _ := Analyze(referenceResults(t), 0)
	if oz.Best.Setting.Name != "uniform 13" {
		t.Errorf("max drop 0 chose %s, want uniform 13 (as accurate as full, fewer layers)", oz.Best.Setting.Name)
	}
	ow, _ := Analyze(referenceResults(t), 30)
	if ow.Best.Setting.Name != "middle α0.98" {
		t.Errorf("max drop 30 chose %s", ow.Best.Setting.Name)
	}
}

func TestVerdictCases(t *testing.T) {
	full := result(t, sched(1, 0, 0), 0.9, 16)
	u := result(t, sched(1, 10, 0), 0.5, 10)
	o, _ := Analyze([]*eval.Result{full, result(t, sched(0.99, 0, 0), 0.8, 12)}, 1)
	if !strings.Contains(o.Verdict, "no uniform settings") {
		t.Errorf("without uniform: %q", o.Verdict)
	}
	o, _ = Analyze([]*eval.Result{full, u, result(t, sched(0.9, 0, 0), 0.1, 6)}, 1)
	if !strings.Contains(o.Verdict, "cannot compare plain decay") {
		t.Errorf("out of range: %q", o.Verdict)
	}
	o, _ = Analyze([]*eval.Result{full, u, result(t, sched(0.99, 0, 0), 0.9, 12), result(t, sched(0.98, 0, 0), 0.3, 11)}, 1)
	if !strings.Contains(o.Verdict, "MIXED for plain decay: 1 of 2") || o.DecayBetter["decay"] != 0 {
		t.Errorf("mixed: %q", o.Verdict)
	}
}

func TestGrid(t *testing.T) {
	g := DefaultGrid(16)
	if !slices.Equal(g.Keeps, []int{14, 12, 10, 8}) || !slices.Equal(g.Floors, []int{12, 10}) {
		t.Errorf("default grid keeps %v floors %v", g.Keeps, g.Floors)
	}
	settings, err := g.Settings(16)
	if err != nil {
		t.Fatal(err)
	}
	if len(settings) != 1+4+4*3 || settings[0].Name != "full" || settings[1].Name != "uniform 14" || settings[5].Name != "middle α0.995" {
		var names []string
		for _, s := range settings {
			names = append(names, s.Name)
		}
		t.Errorf("settings %v", names)
	}
	for _, s := range settings[1:] {
		if s.Options.Planner == nil {
			t.Errorf("%s has no planner", s.Name)
		}
	}
	g.Floors = []int{3}
	if _, err := g.Settings(16); err == nil {
		t.Error("floor below the core layers accepted")
	}
	if _, err := ParseInts("1,x"); err == nil {
		t.Error("ParseInts accepted x")
	}
	if _, err := ParseInts("1.5"); err == nil {
		t.Error("ParseInts accepted 1.5")
	}
	if v, err := ParseFloats(" 0.99, 0.98 "); err != nil || !slices.Equal(v, []float64{0.99, 0.98}) {
		t.Errorf("ParseFloats: %v %v", v, err)
	}
	if _, err := ParseOrders("middle,sideways"); err == nil {
		t.Error("ParseOrders accepted sideways")
	}
}
