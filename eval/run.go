package eval

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/d3-project/d3/depth"
	"github.com/d3-project/d3/engine"
	"github.com/d3-project/d3/sample"
)

// Setting is one way of decoding to evaluate: full depth, a D³ schedule, the
// uniform baseline, explicit layer plans, or whatever decoding mode
// engine.Options grows.
type Setting struct {
	// Name labels the setting in tables and charts.
	Name string `json:"name"`
	// Schedule describes the depth schedule for reports (and the cache
	// fingerprint); Options carries what the engine runs.
	Schedule depth.Schedule `json:"schedule"`
	// LayerPlans is the file of explicit layer plans, if any (reports only).
	LayerPlans string `json:"layer_plans,omitempty"`
	// Extra describes decoding options beyond the schedule that change
	// results or speed (lossless drafting: "draft=auto"), for reports and
	// the resume cache's fingerprint.
	Extra string `json:"extra,omitempty"`
	// Options holds the decoding fields (Planner, LayerPlans, Propagate...);
	// MaxNew, Sample and Stop are set by Run from the task.
	Options engine.Options `json:"-"`
}

// FullDepth is the full-depth setting.
func FullDepth() Setting {
	return Setting{Name: "full", Schedule: depth.DefaultSchedule()}
}

// ScheduleSetting is the setting that runs schedule s on a model of
// numLayers layers; name "" derives one from the schedule.
func ScheduleSetting(name string, s depth.Schedule, numLayers int) (Setting, error) {
	if err := s.Validate(numLayers); err != nil {
		return Setting{}, fmt.Errorf("eval: %w", err)
	}
	if name == "" {
		name = ScheduleName(s)
	}
	st := Setting{Name: name, Schedule: s}
	st.Options.Propagate = s.KV == depth.KVPropagate
	if s.Alpha < 1 || s.Keep > 0 || s.MinLayers > 0 && s.MinLayers < numLayers {
		p, err := depth.NewPlanner(s, numLayers)
		if err != nil {
			return Setting{}, fmt.Errorf("eval: %w", err)
		}
		st.Options.Planner = p
	}
	return st, nil
}

// ScheduleName is a short label: "full", "uniform 12", "middle α0.99",
// "back α0.98 start 3 floor 8", with the core sizes when not 2/2.
func ScheduleName(s depth.Schedule) string {
	var name string
	switch {
	case s.Keep > 0:
		name = fmt.Sprintf("uniform %d", s.Keep)
	case s.Alpha >= 1 && s.MinLayers == 0:
		return "full"
	case s.Alpha >= 1:
		name = fmt.Sprintf("full floor %d", s.MinLayers)
	default:
		name = fmt.Sprintf("%s α%g", s.Order, s.Alpha)
		if s.Start > 0 {
			name += fmt.Sprintf(" start %d", s.Start)
		}
		if s.MinLayers > 0 {
			name += fmt.Sprintf(" floor %d", s.MinLayers)
		}
	}
	if s.Keep > 0 && s.Order != depth.Middle {
		name += " " + s.Order.String()
	}
	if s.CoreHead != 2 || s.CoreTail != 2 {
		name += fmt.Sprintf(" core %d/%d", s.CoreHead, s.CoreTail)
	}
	if s.KV == depth.KVPropagate {
		name += " propagate"
	}
	return name
}

// Config controls a run.
type Config struct {
	// Rows is how many sequences decode together in one forward pass
	// (default 16). Items go to the engine in groups of Rows, so every
	// sequence of a group starts decoding together and the group's decode
	// time is clean of other prompts' prefill.
	Rows int
	// MaxNew overrides the task's generation limit (0: the task's).
	MaxNew int
	// Cache is a JSONL file of per-item results ("" for none), written as
	// groups finish; with Resume its matching items are reused.
	Cache  string
	Resume bool
	// Fingerprint identifies the run (model, task options); a cache written
	// under another fingerprint is an error on Resume.
	Fingerprint string
	// Progress, when set, is called after each group with the items done
	// and the total.
	Progress func(done, total int)
}

// ItemResult is one item's outcome.
type ItemResult struct {
	ID           string `json:"id"`
	Subtask      string `json:"subtask,omitempty"`
	PromptTokens int    `json:"prompt_tokens"`
	// Truncated says the prompt was cut from the left (after BOS) to leave
	// room for MaxNew tokens in the context.
	Truncated       bool    `json:"truncated,omitempty"`
	Generated       string  `json:"generated"`
	IDs             []int   `json:"ids"` // generated token ids, EOS excluded
	Tokens          int     `json:"tokens"`
	FinishReason    string  `json:"finish_reason"`
	Answer          string  `json:"answer"`
	Target          string  `json:"target"`
	Correct         bool    `json:"correct"`
	Flexible        *string `json:"flexible_answer,omitempty"`
	FlexibleCorrect *bool   `json:"flexible_correct,omitempty"`
	// Layers is the number of layers run for each generated token (EOS
	// included).
	Layers      []int   `json:"layers"`
	DecodeSteps int     `json:"decode_steps"`
	FLOPs       float64 `json:"flops"`
	FullFLOPs   float64 `json:"full_flops"`
}

// record is an item in the cache, with its share of its group's times so
// totals survive a resume.
type record struct {
	Hash    string     `json:"hash"`
	Item    ItemResult `json:"item"`
	WallS   float64    `json:"wall_s"`
	DecodeS float64    `json:"decode_s"`
}

// SubtaskResult is the accuracy of one BBH task.
type SubtaskResult struct {
	Name     string  `json:"name"`
	N        int     `json:"n"`
	Correct  int     `json:"correct"`
	Accuracy float64 `json:"accuracy"`
}

// Result is a setting's outcome on a task.
type Result struct {
	Task    string  `json:"task"`
	Setting Setting `json:"setting"`
	// NumLayers is the model's layer count.
	NumLayers int     `json:"num_layers"`
	Accuracy  float64 `json:"accuracy"`
	Correct   int     `json:"correct"`
	N         int     `json:"n"`
	// AccuracyFlexible and CorrectFlexible are GSM8K's flexible match.
	AccuracyFlexible *float64 `json:"accuracy_flexible,omitempty"`
	CorrectFlexible  *int     `json:"correct_flexible,omitempty"`
	// Subtasks and MacroAccuracy are per BBH task and their mean.
	Subtasks      []SubtaskResult `json:"subtasks,omitempty"`
	MacroAccuracy *float64        `json:"macro_accuracy,omitempty"`
	// MeanLayers is per generated token (EOS included) over all items.
	MeanLayers   float64 `json:"mean_layers"`
	LayerSpeedup float64 `json:"layer_speedup"`
	FLOPsRatio   float64 `json:"flops_ratio"`
	// DecodeTokensPerS is decode throughput: tokens after T_0 of every
	// sequence, over the decode time of the groups (Rows sequences per
	// forward pass).
	DecodeTokensPerS float64 `json:"decode_tokens_per_s"`
	// WallS is the time spent generating (summed over resumed runs);
	// DecodeS the decode part of it.
	WallS   float64 `json:"wall_s"`
	DecodeS float64 `json:"decode_s"`
	// Truncated counts prompts cut to fit the context.
	Truncated int          `json:"truncated,omitempty"`
	Reused    int          `json:"-"` // items taken from the cache
	Items     []ItemResult `json:"items"`
}

// Run evaluates items of task under setting s on engine e.
func Run(ctx context.Context, e *engine.Engine, task Task, items []Item, s Setting, cfg Config) (*Result, error) {
	m := e.Model
	if m.Tokenizer == nil {
		return nil, fmt.Errorf("eval: %s has no tokenizer", m.Path)
	}
	rows := cfg.Rows
	if rows <= 0 {
		rows = 16
	}
	maxNew := cfg.MaxNew
	if maxNew <= 0 {
		maxNew = task.MaxNew()
	}
	if maxNew >= e.Ctx {
		return nil, fmt.Errorf("eval: %d new tokens do not fit the context of %d", maxNew, e.Ctx)
	}
	opt := s.Options
	opt.MaxNew = maxNew
	opt.Sample = sample.Params{Temperature: 0, TopP: 1, RepeatPenalty: 1}
	opt.Stop = task.Stop()
	opt.IgnoreEOS = false

	// Tokenize, left-truncating prompts that leave no room for maxNew.
	prompts := make([][]int, len(items))
	hashes := make([]string, len(items))
	truncated := make([]bool, len(items))
	bos := m.Tokenizer.BOS()
	for i := range items {
		ids := m.Tokenizer.Encode(items[i].Prompt, true)
		if len(ids) == 0 {
			return nil, fmt.Errorf("eval: item %s: empty prompt", items[i].ID)
		}
		if room := e.Ctx - maxNew; len(ids) > room {
			keep := room
			if ids[0] == bos && bos >= 0 {
				ids = append([]int{bos}, ids[len(ids)-(keep-1):]...)
			} else {
				ids = ids[len(ids)-keep:]
			}
			truncated[i] = true
		}
		prompts[i] = ids
		hashes[i] = itemHash(ids, items[i].Target, maxNew)
	}

	cache, err := openCache(cfg.Cache, cfg.Fingerprint, cfg.Resume)
	if err != nil {
		return nil, err
	}
	defer cache.close()

	recs := make([]*record, len(items))
	var pending []int
	for i := range items {
		if r := cache.lookup(items[i].ID, hashes[i]); r != nil {
			recs[i] = r
		} else {
			pending = append(pending, i)
		}
	}
	res := &Result{Task: task.Name(), Setting: s, NumLayers: m.Config.NumLayers, Reused: len(items) - len(pending)}
	done := len(items) - len(pending)
	if cfg.Progress != nil {
		cfg.Progress(done, len(items))
	}
	for start := 0; start < len(pending); start += rows {
		group := pending[start:min(start+rows, len(pending))]
		batch := make([][]int, len(group))
		for j, i := range group {
			batch[j] = prompts[i]
		}
		t0 := time.Now()
		out, err := e.GenerateBatch(ctx, batch, opt, len(group))
		if err != nil {
			return nil, fmt.Errorf("eval: %w", err)
		}
		wall := time.Since(t0).Seconds()
		// Every sequence of the group started decoding in the same step, so
		// the longest decode is the group's decode time.
		var decode float64
		for _, r := range out {
			decode = max(decode, r.DecodeTime.Seconds())
		}
		for j, i := range group {
			r := out[j]
			it := &items[i]
			sc := task.Score(it, r.Text)
			ir := ItemResult{ID: it.ID, Subtask: it.Subtask, PromptTokens: len(prompts[i]), Truncated: truncated[i],
				Generated: r.Text, IDs: append([]int{}, r.Tokens...), Tokens: len(r.Tokens), FinishReason: r.FinishReason,
				Answer: sc.Answer, Target: it.Target, Correct: sc.Correct,
				Layers: append([]int{}, r.Layers...), DecodeSteps: r.DecodeSteps, FLOPs: r.FLOPs, FullFLOPs: r.FullFLOPs}
			if task.HasFlexible() {
				f, fc := sc.Flexible, sc.FlexibleCorrect
				ir.Flexible, ir.FlexibleCorrect = &f, &fc
			}
			recs[i] = &record{Hash: hashes[i], Item: ir, WallS: wall / float64(len(group)), DecodeS: decode / float64(len(group))}
			if err := cache.write(recs[i]); err != nil {
				return nil, err
			}
		}
		done += len(group)
		if cfg.Progress != nil {
			cfg.Progress(done, len(items))
		}
	}
	res.summarize(recs, task.HasFlexible())
	return res, nil
}

// itemHash identifies what an item's generation depends on beyond the run's
// fingerprint: its prompt tokens, target and generation limit.
func itemHash(prompt []int, target string, maxNew int) string {
	h := sha256.New()
	fmt.Fprintf(h, "%v|%q|%d", prompt, target, maxNew)
	return hex.EncodeToString(h.Sum(nil)[:12])
}

func (res *Result) summarize(recs []*record, flexible bool) {
	var layers, tokens, steps int
	var flops, full float64
	var flexCorrect int
	sub := map[string]*SubtaskResult{}
	var subOrder []string
	for _, r := range recs {
		it := r.Item
		res.Items = append(res.Items, it)
		res.N++
		if it.Correct {
			res.Correct++
		}
		if it.FlexibleCorrect != nil && *it.FlexibleCorrect {
			flexCorrect++
		}
		if it.Truncated {
			res.Truncated++
		}
		for _, l := range it.Layers {
			layers += l
		}
		tokens += len(it.Layers)
		steps += it.DecodeSteps
		flops += it.FLOPs
		full += it.FullFLOPs
		res.WallS += r.WallS
		res.DecodeS += r.DecodeS
		if it.Subtask != "" {
			st, ok := sub[it.Subtask]
			if !ok {
				st = &SubtaskResult{Name: it.Subtask}
				sub[it.Subtask] = st
				subOrder = append(subOrder, it.Subtask)
			}
			st.N++
			if it.Correct {
				st.Correct++
			}
		}
	}
	if res.N > 0 {
		res.Accuracy = float64(res.Correct) / float64(res.N)
		if flexible {
			a := float64(flexCorrect) / float64(res.N)
			res.AccuracyFlexible, res.CorrectFlexible = &a, &flexCorrect
		}
	}
	if tokens > 0 {
		res.MeanLayers = float64(layers) / float64(tokens)
		res.LayerSpeedup = float64(res.NumLayers) / res.MeanLayers
	}
	res.FLOPsRatio = 1
	if full > 0 {
		res.FLOPsRatio = flops / full
	}
	if res.DecodeS > 0 {
		res.DecodeTokensPerS = float64(steps) / res.DecodeS
	}
	if len(subOrder) > 0 {
		var macro float64
		for _, name := range subOrder {
			st := sub[name]
			st.Accuracy = float64(st.Correct) / float64(st.N)
			macro += st.Accuracy
			res.Subtasks = append(res.Subtasks, *st)
		}
		macro /= float64(len(subOrder))
		res.MacroAccuracy = &macro
	}
}
