package depth

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/d3-project/d3/internal/testutil"
)

// TestGoldenPlans checks every schedule of shared/golden/d3-plans.json
// (computed by the reference implementation) for i = 0..120.
func TestGoldenPlans(t *testing.T) {
	data, err := os.ReadFile(testutil.Shared(t, "golden", "d3-plans.json"))
	if err != nil {
		t.Fatal(err)
	}
	var golden struct {
		NumLayers int `json:"num_layers"`
		Schedules map[string]struct {
			Schedule struct {
				Kind     string  `json:"kind"`
				Alpha    float64 `json:"alpha"`
				Start    int     `json:"start"`
				CoreHead int     `json:"core_head"`
				CoreTail int     `json:"core_tail"`
				Order    string  `json:"order"`
			} `json:"schedule"`
			Plans [][]int `json:"plans"`
		} `json:"schedules"`
	}
	if err := json.Unmarshal(data, &golden); err != nil {
		t.Fatal(err)
	}
	if len(golden.Schedules) != 21 {
		t.Fatalf("golden has %d schedules, want 21", len(golden.Schedules))
	}
	L := golden.NumLayers
	for name, g := range golden.Schedules {
		s := DefaultSchedule()
		if g.Schedule.Kind != "full" {
			o, err := ParseOrder(g.Schedule.Order)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			s.Alpha, s.Start, s.CoreHead, s.CoreTail, s.Order =
				g.Schedule.Alpha, g.Schedule.Start, g.Schedule.CoreHead, g.Schedule.CoreTail, o
		}
		p, err := NewPlanner(s, L)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(g.Plans) != 121 {
			t.Fatalf("%s: %d plans, want 121", name, len(g.Plans))
		}
		for i, want := range g.Plans {
			got := p.Plan(i)
			if !slices.Equal(got.Layers(), want) {
				t.Errorf("%s: T_%d runs %v, want %v", name, i, got.Layers(), want)
				break
			}
			if k := s.KeepCount(L, i); k != len(want) {
				t.Errorf("%s: KeepCount(%d) = %d, want %d", name, i, k, len(want))
				break
			}
		}
	}
}

// TestMiddleOrder checks the middle order against its definition, sorting
// by (|k−m|, k) with m = (n−1)/2, computed independently here.
func TestMiddleOrder(t *testing.T) {
	for _, tc := range []struct{ L, head, tail int }{
		{16, 2, 2}, {16, 3, 1}, {15, 2, 2}, {5, 2, 2}, {4, 2, 2}, {32, 4, 4}, {7, 0, 0}, {2, 0, 0},
	} {
		s := DefaultSchedule()
		s.CoreHead, s.CoreTail = tc.head, tc.tail
		n := tc.L - tc.head - tc.tail
		ks := make([]int, n)
		for k := range ks {
			ks[k] = k
		}
		m := float64(n-1) / 2
		slices.SortStableFunc(ks, func(a, b int) int {
			da, db := abs(float64(a)-m), abs(float64(b)-m)
			if da != db {
				if da < db {
					return -1
				}
				return 1
			}
			return a - b
		})
		want := make([]int, 0, n)
		for _, k := range ks {
			want = append(want, tc.head+k)
		}
		if got := s.DropOrder(tc.L); !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("L=%d core %d/%d: middle order %v, want %v", tc.L, tc.head, tc.tail, got, want)
		}
	}
	// A hand-written case: flexible block 2..13 (n = 12, m = 5.5).
	s := DefaultSchedule()
	want := []int{7, 8, 6, 9, 5, 10, 4, 11, 3, 12, 2, 13}
	if got := s.DropOrder(16); !slices.Equal(got, want) {
		t.Errorf("middle order for L=16 core 2/2: %v, want %v", got, want)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestBackFrontOrder(t *testing.T) {
	s := DefaultSchedule()
	s.CoreHead, s.CoreTail = 3, 1
	s.Order = Back
	if got, want := s.DropOrder(8), []int{6, 5, 4, 3}; !slices.Equal(got, want) {
		t.Errorf("back: %v, want %v", got, want)
	}
	s.Order = Front
	if got, want := s.DropOrder(8), []int{3, 4, 5, 6}; !slices.Equal(got, want) {
		t.Errorf("front: %v, want %v", got, want)
	}
}

func TestValidate(t *testing.T) {
	mod := func(f func(*Schedule)) Schedule { s := DefaultSchedule(); f(&s); return s }
	cases := []struct {
		name string
		s    Schedule
		want string // substring of the error; "" = valid
	}{
		{"default", DefaultSchedule(), ""},
		{"decay", mod(func(s *Schedule) { s.Alpha = 0.9; s.Start = 4 }), ""},
		{"alpha 0", mod(func(s *Schedule) { s.Alpha = 0 }), "alpha"},
		{"alpha 1.5", mod(func(s *Schedule) { s.Alpha = 1.5 }), "alpha"},
		{"alpha negative", mod(func(s *Schedule) { s.Alpha = -0.5 }), "alpha"},
		{"negative start", mod(func(s *Schedule) { s.Start = -1 }), "start"},
		{"negative core", mod(func(s *Schedule) { s.CoreHead = -1 }), "core"},
		{"core sum > L", mod(func(s *Schedule) { s.CoreHead, s.CoreTail = 10, 7 }), "core layers 10+7"},
		{"core sum = L", mod(func(s *Schedule) { s.CoreHead, s.CoreTail = 8, 8 }), ""},
		{"bad order", mod(func(s *Schedule) { s.Order = 7 }), "order"},
		{"bad kv", mod(func(s *Schedule) { s.KV = -1 }), "KV"},
		{"keep > L", mod(func(s *Schedule) { s.Keep = 17 }), "keep 17"},
		{"keep < core", mod(func(s *Schedule) { s.Keep = 3 }), "keep 3"},
		{"keep ok", mod(func(s *Schedule) { s.Keep = 12 }), ""},
		{"keep with alpha", mod(func(s *Schedule) { s.Keep = 12; s.Alpha = 0.9 }), "cannot be combined"},
		{"min > L", mod(func(s *Schedule) { s.MinLayers = 20 }), "min layers 20"},
		{"min < core", mod(func(s *Schedule) { s.MinLayers = 2 }), "min layers 2"},
		{"negative min", mod(func(s *Schedule) { s.MinLayers = -2 }), "min layers"},
	}
	for _, tc := range cases {
		err := tc.s.Validate(16)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: unexpected error %v", tc.name, err)
		case tc.want != "" && err == nil:
			t.Errorf("%s: no error, want one mentioning %q", tc.name, tc.want)
		case tc.want != "" && !strings.Contains(err.Error(), tc.want):
			t.Errorf("%s: error %q does not mention %q", tc.name, err, tc.want)
		}
		if tc.want != "" {
			if _, err := NewPlanner(tc.s, 16); err == nil {
				t.Errorf("%s: NewPlanner accepted an invalid schedule", tc.name)
			}
		}
	}
	if err := DefaultSchedule().Validate(0); err == nil {
		t.Error("Validate(0 layers) gave no error")
	}
}

func TestParse(t *testing.T) {
	for _, s := range []string{"back", "front", "middle", "MIDDLE"} {
		o, err := ParseOrder(s)
		if err != nil || !strings.EqualFold(o.String(), s) {
			t.Errorf("ParseOrder(%q) = %v, %v", s, o, err)
		}
	}
	if _, err := ParseOrder("centre"); err == nil {
		t.Error("ParseOrder(centre) gave no error")
	}
	for _, s := range []string{"none", "propagate"} {
		m, err := ParseKVMode(s)
		if err != nil || m.String() != s {
			t.Errorf("ParseKVMode(%q) = %v, %v", s, m, err)
		}
	}
	if _, err := ParseKVMode("copy"); err == nil {
		t.Error("ParseKVMode(copy) gave no error")
	}
}

// TestKeepAndFloor checks the uniform baseline and the floor against the
// rule, with counts worked out by hand for L = 16.
func TestKeepAndFloor(t *testing.T) {
	s := DefaultSchedule()
	s.Keep = 12
	p, err := NewPlanner(s, 16)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Plan(0); !got.IsFull() {
		t.Errorf("keep 12: T_0 plan %v, want full", got)
	}
	// Middle order drops 7, 8, 6, 9 first.
	want := []int{0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15}
	for _, i := range []int{1, 2, 50, 1000} {
		if got := p.Plan(i).Layers(); !slices.Equal(got, want) {
			t.Errorf("keep 12: T_%d runs %v, want %v", i, got, want)
		}
	}
	// alpha 0.9, floor 10: 16·0.9^i = 14.4, 12.96, 11.66, 10.50, 9.45 -> 14, 12, 11, 10, 10.
	s = DefaultSchedule()
	s.Alpha, s.MinLayers = 0.9, 10
	for i, want := range []int{16, 14, 12, 11, 10, 10, 10} {
		if got := s.KeepCount(16, i); got != want {
			t.Errorf("alpha 0.9 min 10: KeepCount(%d) = %d, want %d", i, got, want)
		}
	}
	// Far out the power underflows; the core floor holds.
	s.MinLayers = 0
	if got := s.KeepCount(16, 1<<20); got != 4 {
		t.Errorf("KeepCount far out = %d, want 4", got)
	}
}

func TestPlanFromLayers(t *testing.T) {
	p, err := PlanFromLayers(16, []int{0, 1, 15, 14})
	if err != nil {
		t.Fatal(err)
	}
	if p.Count() != 4 || !p.Runs(14) || p.Runs(2) || p.Runs(16) || p.Runs(-1) {
		t.Errorf("plan %v wrong", p)
	}
	if got, want := p.String(), "0-1,14-15 (4/16)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if !Full(16).IsFull() || p.IsFull() {
		t.Error("IsFull wrong")
	}
	for _, bad := range [][]int{{0, 16}, {-1, 3}, {2, 2}} {
		if _, err := PlanFromLayers(16, bad); err == nil {
			t.Errorf("PlanFromLayers(%v) gave no error", bad)
		}
	}
}

func TestLoadLayerPlanFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	os.WriteFile(good, []byte(`[[0,1,2,3], [0,1,3], [0,3]]`), 0o644)
	plans, err := LoadLayerPlanFile(good, 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(plans) != 3 || !plans[0].IsFull() || !slices.Equal(plans[2].Layers(), []int{0, 3}) {
		t.Errorf("loaded %v", plans)
	}
	for name, body := range map[string]string{
		"range.json": `[[0,1], [0,4]]`,
		"neg.json":   `[[0,1], [-1]]`,
		"dup.json":   `[[0,1], [1,1]]`,
		"shape.json": `{"plans": []}`,
	} {
		path := filepath.Join(dir, name)
		os.WriteFile(path, []byte(body), 0o644)
		_, err := LoadLayerPlanFile(path, 4)
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %q does not name the file", name, err)
		}
		if name != "shape.json" && !strings.Contains(err.Error(), "element 1") {
			t.Errorf("%s: error %q does not name element 1", name, err)
		}
	}
	if _, err := LoadLayerPlanFile(filepath.Join(dir, "missing.json"), 4); err == nil {
		t.Error("missing file: no error")
	}
}

func TestPlannerNoAlloc(t *testing.T) {
	s := DefaultSchedule()
	s.Alpha = 0.95
	p, err := NewPlanner(s, 16)
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	if n := testing.AllocsPerRun(200, func() { _ = p.Plan(i); i++ }); n != 0 {
		t.Errorf("Plan allocates %v times per call", n)
	}
}

func TestProfileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "p.json")
	in := Profile{Name: "arith", Model: "d3-tiny-layerdrop", Task: "arith", NumLayers: 16,
		Schedule: Schedule{Alpha: 0.99, Start: 3, CoreHead: 2, CoreTail: 2, Order: Back, MinLayers: 6, KV: KVPropagate},
		Accuracy: 0.982, MeanLayers: 12.39}
	if err := SaveProfile(path, in); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	if !strings.Contains(string(raw), `"order": "back"`) || !strings.Contains(string(raw), `"kv": "propagate"`) {
		t.Errorf("saved profile does not use string order/kv:\n%s", raw)
	}
	out, err := LoadProfile(path)
	if err != nil {
		t.Fatal(err)
	}
	if out != in {
		t.Errorf("round trip: got %+v, want %+v", out, in)
	}

	// Omitted schedule fields take the defaults.
	os.WriteFile(path, []byte(`{"name":"x","schedule":{"alpha":0.98}}`), 0o644)
	out, err = LoadProfile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultSchedule()
	want.Alpha = 0.98
	if out.Schedule != want {
		t.Errorf("defaults: got %+v, want %+v", out.Schedule, want)
	}

	for name, body := range map[string]string{
		"order":   `{"name":"x","schedule":{"alpha":0.98,"order":"centre"}}`,
		"kv":      `{"name":"x","schedule":{"alpha":0.98,"kv":"copy"}}`,
		"alpha":   `{"name":"x","schedule":{"alpha":1.5}}`,
		"unknown": `{"name":"x","schedule":{"alpha":0.98,"alfa":0.9}}`,
		"core":    `{"name":"x","num_layers":4,"schedule":{"core_head":3,"core_tail":2}}`,
	} {
		os.WriteFile(path, []byte(body), 0o644)
		if _, err := LoadProfile(path); err == nil {
			t.Errorf("%s: LoadProfile accepted %s", name, body)
		}
	}
	bad := in
	bad.Schedule.Alpha = 0
	if err := SaveProfile(path, bad); err == nil {
		t.Error("SaveProfile accepted alpha 0")
	}
}
