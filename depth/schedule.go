// Package depth decides which transformer layers run for each generated
// token: the D³ (Position-Aware Depth Decay Decoding) schedule, the uniform
// baseline, and explicit per-step layer plans. The rule is the one in
// shared/docs/d3-method.md; the engine only consumes the resulting Plans.
package depth

import (
	"fmt"
	"math"
	"strings"
)

// Order is the order in which flexible (non-core) layers are dropped.
type Order int

const (
	// Back drops the last flexible layer first, moving toward the input.
	Back Order = iota
	// Front drops the first flexible layer first, moving toward the output.
	Front
	// Middle drops the layer nearest the centre of the flexible block
	// first; ties go to the lower index.
	Middle
)

var orderNames = [...]string{Back: "back", Front: "front", Middle: "middle"}

// ParseOrder parses "back", "front" or "middle" (case-insensitive).
func ParseOrder(s string) (Order, error) {
	for o, name := range orderNames {
		if strings.EqualFold(s, name) {
			return Order(o), nil
		}
	}
	return 0, fmt.Errorf("depth: unknown drop order %q (want back, front or middle)", s)
}

func (o Order) String() string {
	if o >= 0 && int(o) < len(orderNames) {
		return orderNames[o]
	}
	return fmt.Sprintf("Order(%d)", int(o))
}

// MarshalText encodes the order by name, so JSON holds "middle" rather than 2.
func (o Order) MarshalText() ([]byte, error) {
	if o < 0 || int(o) >= len(orderNames) {
		return nil, fmt.Errorf("depth: invalid drop order %d", int(o))
	}
	return []byte(o.String()), nil
}

// UnmarshalText parses the order's name.
func (o *Order) UnmarshalText(b []byte) error {
	v, err := ParseOrder(string(b))
	if err != nil {
		return err
	}
	*o = v
	return nil
}

// KVMode says what a dropped layer writes to the KV cache.
type KVMode int

const (
	// KVNone writes nothing: later tokens attend only to positions that
	// have K/V at that layer. Exact for nested (D³) schedules.
	KVNone KVMode = iota
	// KVPropagate writes K/V projected from the hidden state as it arrives
	// at the dropped layer. Matters only for non-nested plans.
	KVPropagate
)

var kvNames = [...]string{KVNone: "none", KVPropagate: "propagate"}

// ParseKVMode parses "none" or "propagate" (case-insensitive).
func ParseKVMode(s string) (KVMode, error) {
	for m, name := range kvNames {
		if strings.EqualFold(s, name) {
			return KVMode(m), nil
		}
	}
	return 0, fmt.Errorf("depth: unknown KV mode %q (want none or propagate)", s)
}

func (m KVMode) String() string {
	if m >= 0 && int(m) < len(kvNames) {
		return kvNames[m]
	}
	return fmt.Sprintf("KVMode(%d)", int(m))
}

// MarshalText encodes the mode by name.
func (m KVMode) MarshalText() ([]byte, error) {
	if m < 0 || int(m) >= len(kvNames) {
		return nil, fmt.Errorf("depth: invalid KV mode %d", int(m))
	}
	return []byte(m.String()), nil
}

// UnmarshalText parses the mode's name.
func (m *KVMode) UnmarshalText(b []byte) error {
	v, err := ParseKVMode(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// Schedule is a depth schedule: for generated token T_i it fixes how many
// layers run (KeepCount) and which ones (DropOrder). Start from
// DefaultSchedule; the zero value is not valid (Alpha 0).
type Schedule struct {
	// Alpha is the decay base: T_i keeps ⌊L·α^(i−Start)⌋ layers. 1 = full depth.
	Alpha float64 `json:"alpha"`
	// Start is the number of generated tokens run at full depth before the
	// decay begins (the decay exponent is i − Start).
	Start int `json:"start"`
	// CoreHead and CoreTail are the layers at each end of the stack that
	// always run.
	CoreHead int `json:"core_head"`
	CoreTail int `json:"core_tail"`
	// Order is the order in which the flexible layers are dropped.
	Order Order `json:"order"`
	// Keep > 0 selects the uniform baseline: every generated token after
	// the warm-up keeps Keep layers. It excludes Alpha < 1.
	Keep int `json:"keep,omitempty"`
	// MinLayers is a floor under the kept count; 0 means CoreHead+CoreTail.
	MinLayers int `json:"min_layers,omitempty"`
	// KV is what dropped layers write to the KV cache.
	KV KVMode `json:"kv"`
}

// DefaultSchedule returns full depth with the project's defaults: core 2/2,
// middle order, start 0, KV mode none.
func DefaultSchedule() Schedule {
	return Schedule{Alpha: 1, CoreHead: 2, CoreTail: 2, Order: Middle, KV: KVNone}
}

// Validate checks the schedule against a model with numLayers layers.
func (s Schedule) Validate(numLayers int) error {
	if err := s.validateBasic(); err != nil {
		return err
	}
	if numLayers <= 0 {
		return fmt.Errorf("depth: model has %d layers, want at least 1", numLayers)
	}
	core := s.CoreHead + s.CoreTail
	if core > numLayers {
		return fmt.Errorf("depth: core layers %d+%d exceed the model's %d layers", s.CoreHead, s.CoreTail, numLayers)
	}
	if s.Keep > 0 && (s.Keep < core || s.Keep > numLayers) {
		return fmt.Errorf("depth: keep %d out of range [%d, %d] (core layers to model layers)", s.Keep, core, numLayers)
	}
	if s.MinLayers > 0 && (s.MinLayers < core || s.MinLayers > numLayers) {
		return fmt.Errorf("depth: min layers %d out of range [%d, %d] (core layers to model layers)", s.MinLayers, core, numLayers)
	}
	return nil
}

// validateBasic checks what does not depend on the model's layer count.
func (s Schedule) validateBasic() error {
	switch {
	case math.IsNaN(s.Alpha) || s.Alpha <= 0 || s.Alpha > 1:
		return fmt.Errorf("depth: alpha %g out of range (0, 1]", s.Alpha)
	case s.Start < 0:
		return fmt.Errorf("depth: start %d is negative", s.Start)
	case s.CoreHead < 0 || s.CoreTail < 0:
		return fmt.Errorf("depth: core layers %d/%d must not be negative", s.CoreHead, s.CoreTail)
	case s.Order < 0 || int(s.Order) >= len(orderNames):
		return fmt.Errorf("depth: invalid drop order %d", int(s.Order))
	case s.KV < 0 || int(s.KV) >= len(kvNames):
		return fmt.Errorf("depth: invalid KV mode %d", int(s.KV))
	case s.Keep < 0:
		return fmt.Errorf("depth: keep %d is negative", s.Keep)
	case s.MinLayers < 0:
		return fmt.Errorf("depth: min layers %d is negative", s.MinLayers)
	case s.Keep > 0 && s.Alpha != 1:
		return fmt.Errorf("depth: keep %d (uniform depth) cannot be combined with alpha %g (decay)", s.Keep, s.Alpha)
	}
	return nil
}

// KeepCount returns how many layers run when generated token T_i is
// produced: L for i = 0 (the prompt pass) and during the warm-up, then
// max(floor, ⌊L·α^(i−Start)⌋), or the uniform Keep. The schedule must be
// valid for numLayers.
func (s Schedule) KeepCount(numLayers, i int) int {
	if i <= 0 || i < s.Start {
		return numLayers
	}
	var k int
	if s.Keep > 0 {
		k = s.Keep
	} else {
		// Exact float64 power then floor, as the reference does.
		k = int(math.Floor(float64(numLayers) * math.Pow(s.Alpha, float64(i-s.Start))))
	}
	return min(numLayers, max(k, s.floor()))
}

func (s Schedule) floor() int {
	if s.MinLayers > 0 {
		return s.MinLayers
	}
	return s.CoreHead + s.CoreTail
}

// DropOrder returns the flexible layers (CoreHead..L−CoreTail−1) in the
// order they are dropped: a token keeping k layers drops the first L−k.
func (s Schedule) DropOrder(numLayers int) []int {
	lo, hi := s.CoreHead, numLayers-s.CoreTail // flexible block [lo, hi)
	n := hi - lo
	if n <= 0 {
		return nil
	}
	out := make([]int, 0, n)
	switch s.Order {
	case Back:
		for l := hi - 1; l >= lo; l-- {
			out = append(out, l)
		}
	case Front:
		for l := lo; l < hi; l++ {
			out = append(out, l)
		}
	default: // Middle: sort by (|k−m|, k) with m = (n−1)/2.
		// Doubling keeps m exact: |2k−(n−1)| orders like |k−m|. Walking
		// outward from the centre yields that order directly: for odd n
		// the centre first, then each pair lower index first; for even n
		// the two centre layers tie at distance 1/2, lower first.
		var left, right int
		if n%2 == 1 {
			c := (n - 1) / 2
			out = append(out, lo+c)
			left, right = c-1, c+1
		} else {
			left, right = n/2-1, n/2
		}
		for left >= 0 {
			out = append(out, lo+left, lo+right)
			left--
			right++
		}
	}
	return out
}
