package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/d3-project/d3/defaultmodel"
	"github.com/d3-project/d3/depth"
	"github.com/d3-project/d3/engine"
	"github.com/d3-project/d3/model"
)

// openModel loads path, or the embedded default model when path is empty.
func openModel(path string) (*model.Model, error) {
	if path == "" {
		return model.LoadGGUFBytes("(default) "+defaultmodel.Name, defaultmodel.GGUF)
	}
	return model.Load(path)
}

// d3Flags are the depth-decay flags shared by every command that decodes.
type d3Flags struct {
	alpha              float64
	start              int
	coreHead, coreTail int
	order, kv          string
	keep, minLayers    int
	profile            string
	layerPlan          string
	draft              string
	fs                 *flag.FlagSet
}

func (f *d3Flags) register(fs *flag.FlagSet) {
	def := depth.DefaultSchedule()
	f.fs = fs
	fs.Float64Var(&f.alpha, "d3-alpha", def.Alpha, "depth decay α in (0, 1]: generated token T_i keeps ⌊L·α^(i−start)⌋ layers (1 = full depth)")
	fs.IntVar(&f.start, "d3-start", def.Start, "full-depth warm-up: generated tokens before the decay begins")
	fs.IntVar(&f.coreHead, "d3-core-head", def.CoreHead, "layers at the input end that always run")
	fs.IntVar(&f.coreTail, "d3-core-tail", def.CoreTail, "layers at the output end that always run")
	fs.StringVar(&f.order, "d3-order", def.Order.String(), "which flexible layers go first: back, front or middle")
	fs.StringVar(&f.kv, "d3-kv", def.KV.String(), "K/V of skipped layers: none (write nothing) or propagate (project from the arriving hidden state)")
	fs.IntVar(&f.keep, "d3-keep", 0, "uniform-depth baseline: every generated token after T_0 keeps N layers (0 = off)")
	fs.IntVar(&f.minLayers, "d3-min-layers", 0, "floor under the decayed layer count (0 = core-head + core-tail)")
	fs.StringVar(&f.profile, "d3-profile", "", "JSON profile with a saved schedule (from d3 tune); explicit --d3-* flags override it")
	fs.StringVar(&f.draft, "draft", "off", "lossless depth skipping: off, d3 (drafts run the --d3-* plan of their position), static:N (drafts run N layers), auto; append ,k=LEN to set the drafts per round, ,weights=q8 or ,weights=model to draft on a Q8_0 copy or the model's own weights instead of a Q4_0 copy")
	fs.StringVar(&f.layerPlan, "layer-plan", "", "JSON file: element i lists the layers run when generated token T_i is produced (element 0: the prompt's last position); later steps run full depth")
}

// schedule builds the schedule: the profile's (if any), overridden by the
// --d3-* flags given on the command line.
func (f *d3Flags) schedule(numLayers int) (depth.Schedule, error) {
	s := depth.DefaultSchedule()
	if f.profile != "" {
		p, err := depth.LoadProfile(f.profile)
		if err != nil {
			return s, err
		}
		s = p.Schedule
	}
	var err error
	f.fs.Visit(func(fl *flag.Flag) {
		if err != nil {
			return
		}
		switch fl.Name {
		case "d3-alpha":
			s.Alpha = f.alpha
		case "d3-start":
			s.Start = f.start
		case "d3-core-head":
			s.CoreHead = f.coreHead
		case "d3-core-tail":
			s.CoreTail = f.coreTail
		case "d3-order":
			s.Order, err = depth.ParseOrder(f.order)
		case "d3-kv":
			s.KV, err = depth.ParseKVMode(f.kv)
		case "d3-keep":
			s.Keep = f.keep
		case "d3-min-layers":
			s.MinLayers = f.minLayers
		}
	})
	if err != nil {
		return s, err
	}
	if err := s.Validate(numLayers); err != nil {
		// Full depth needs no core split: a model with fewer layers than
		// the default core (2 + 2) still runs when no --d3-* flag asks for
		// skipping.
		if isFullDepth(s) && !f.coreSet() {
			return s, nil
		}
		return s, fmt.Errorf("depth schedule: %w", err)
	}
	return s, nil
}

func isFullDepth(s depth.Schedule) bool { return s.Alpha == 1 && s.Keep == 0 && s.MinLayers == 0 }

// coreSet reports whether the command line set the core layer counts.
func (f *d3Flags) coreSet() bool {
	set := false
	f.fs.Visit(func(fl *flag.Flag) { set = set || fl.Name == "d3-core-head" || fl.Name == "d3-core-tail" })
	return set || f.profile != ""
}

// plans returns the planner and the explicit layer plans (either may be nil).
func (f *d3Flags) plans(numLayers int) (*depth.Planner, []depth.Plan, depth.Schedule, error) {
	s, err := f.schedule(numLayers)
	if err != nil {
		return nil, nil, s, err
	}
	var planner *depth.Planner
	if s.Alpha < 1 || s.Keep > 0 || s.MinLayers > 0 && s.MinLayers < numLayers {
		if planner, err = depth.NewPlanner(s, numLayers); err != nil {
			return nil, nil, s, err
		}
	}
	var explicit []depth.Plan
	if f.layerPlan != "" {
		if explicit, err = depth.LoadLayerPlanFile(f.layerPlan, numLayers); err != nil {
			return nil, nil, s, err
		}
	}
	return planner, explicit, s, nil
}

// options fills the depth and drafting fields of engine options.
func (f *d3Flags) options(numLayers int, opt *engine.Options) error {
	planner, explicit, sched, err := f.plans(numLayers)
	if err != nil {
		return err
	}
	draft, err := engine.ParseDraftPolicy(f.draft)
	if err != nil {
		return err
	}
	if draft.Kind != engine.DraftOff && explicit != nil {
		return fmt.Errorf("--draft and --layer-plan cannot be combined")
	}
	opt.Planner, opt.LayerPlans, opt.Propagate = planner, explicit, sched.KV == depth.KVPropagate
	opt.Draft, opt.DraftBase = draft, sched
	return nil
}

// unescape processes the escapes llama.cpp's -p accepts: \n \r \t \' \" \\.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			switch s[i+1] {
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case '\'', '"', '\\':
				b.WriteByte(s[i+1])
			default:
				b.WriteByte('\\')
				b.WriteByte(s[i+1])
			}
			i++
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func readPrompt(text, file string, escape bool) (string, error) {
	switch {
	case text != "" && file != "":
		return "", fmt.Errorf("give either -p or -f, not both")
	case file != "":
		data, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		return string(data), nil
	case escape:
		return unescape(text), nil
	}
	return text, nil
}

// isGGUF reports whether the file starts with the GGUF magic.
func isGGUF(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var magic [4]byte
	_, err = io.ReadFull(f, magic[:])
	return err == nil && string(magic[:]) == "GGUF"
}
