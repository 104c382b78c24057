package eval

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
)

// Report is the outcome of one or more settings on the same items. With
// more than one, the first is the baseline that Δ accuracy refers to.
type Report struct {
	// Title heads the Markdown report (default "d3 eval").
	Title   string
	Model   string
	Task    string
	Data    string
	Results []*Result
	// Front names the settings on a Pareto front, drawn as a line on the
	// accuracy chart (d3 tune).
	Front []string
	// Notes are paragraphs printed under the Markdown table.
	Notes []string
}

// Primary is the setting the report is about: the last one (the D³ setting
// of a comparison).
func (r *Report) Primary() *Result { return r.Results[len(r.Results)-1] }

// Baseline is the first setting when there are several, else nil.
func (r *Report) Baseline() *Result {
	if len(r.Results) < 2 {
		return nil
	}
	return r.Results[0]
}

// row is one setting's line of the summary table.
type row struct {
	name                                 string
	acc, delta, flex, macro              string
	layers, speedup, flops, tokps, wallS string
}

func (r *Report) rows() (rows []row, flexible, macro bool) {
	base := r.Results[0]
	for _, res := range r.Results {
		w := row{name: res.Setting.Name,
			acc:     fmt.Sprintf("%.1f %%", 100*res.Accuracy),
			delta:   "",
			layers:  fmt.Sprintf("%.2f / %d", res.MeanLayers, res.NumLayers),
			speedup: fmt.Sprintf("%.2fx", res.LayerSpeedup),
			flops:   fmt.Sprintf("%.3f", res.FLOPsRatio),
			tokps:   fmt.Sprintf("%.1f", res.DecodeTokensPerS),
			wallS:   fmt.Sprintf("%.1f", res.WallS),
		}
		if len(r.Results) > 1 && res != base {
			w.delta = fmt.Sprintf("%+.1f", 100*(res.Accuracy-base.Accuracy))
		} else if len(r.Results) > 1 {
			w.delta = "baseline"
		}
		if res.AccuracyFlexible != nil {
			flexible = true
			w.flex = fmt.Sprintf("%.1f %%", 100**res.AccuracyFlexible)
		}
		if res.MacroAccuracy != nil {
			macro = true
			w.macro = fmt.Sprintf("%.1f %%", 100**res.MacroAccuracy)
		}
		rows = append(rows, w)
	}
	return rows, flexible, macro
}

func (r *Report) columns(flexible, macro bool) []string {
	cols := []string{"setting", "accuracy"}
	if flexible {
		cols = append(cols, "flexible")
	}
	if macro {
		cols = append(cols, "macro avg")
	}
	if len(r.Results) > 1 {
		cols = append(cols, "Δ accuracy (points)")
	}
	return append(cols, "mean layers", "layer speed-up", "FLOPs ratio", "decode tok/s", "wall s")
}

func (w row) cells(flexible, macro, delta bool) []string {
	c := []string{w.name, w.acc}
	if flexible {
		c = append(c, w.flex)
	}
	if macro {
		c = append(c, w.macro)
	}
	if delta {
		c = append(c, w.delta)
	}
	return append(c, w.layers, w.speedup, w.flops, w.tokps, w.wallS)
}

// WriteTable prints the summary table.
func (r *Report) WriteTable(out io.Writer) error {
	rows, flexible, macro := r.rows()
	p := r.Primary()
	fmt.Fprintf(out, "%s on %s: %d items", r.Task, r.Model, p.N)
	if flexible {
		fmt.Fprint(out, " (accuracy: strict \"The answer is N\"; flexible: last number)")
	}
	if macro {
		fmt.Fprintf(out, " in %d tasks (accuracy over items; macro avg over tasks)", len(p.Subtasks))
	}
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(r.columns(flexible, macro), "\t"))
	for _, w := range rows {
		fmt.Fprintln(tw, strings.Join(w.cells(flexible, macro, len(r.Results) > 1), "\t"))
	}
	return tw.Flush()
}

// jsonReport is the --json layout: the primary setting's result at the top
// level (accuracy, correct, n, mean_layers, layer_speedup,
// decode_tokens_per_s, wall_s, items...), and with a comparison the
// full-depth baseline and the accuracy difference.
type jsonReport struct {
	Model string `json:"model"`
	Data  string `json:"data"`
	*Result
	Baseline      *Result  `json:"baseline,omitempty"`
	DeltaAccuracy *float64 `json:"delta_accuracy,omitempty"`
}

// JSON returns the --json document: indented, with one item per line.
func (r *Report) JSON() ([]byte, error) {
	// Marshal the totals with the item lists left out, then splice the
	// items in one compact object per line (their per-token arrays would
	// otherwise take a line per number).
	prim, base := *r.Primary(), r.Baseline()
	prim.Items = nil
	j := jsonReport{Model: r.Model, Data: r.Data, Result: &prim}
	lists := [][]ItemResult{r.Primary().Items}
	if base != nil {
		b := *base
		b.Items = nil
		j.Baseline = &b
		d := prim.Accuracy - b.Accuracy
		j.DeltaAccuracy = &d
		lists = append(lists, base.Items)
	}
	doc, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return nil, err
	}
	for _, items := range lists {
		i := bytes.Index(doc, []byte(`"items": null`))
		if i < 0 {
			return nil, fmt.Errorf("items field missing")
		}
		indent := i - bytes.LastIndexByte(doc[:i], '\n') - 1
		pad := strings.Repeat(" ", indent)
		var b bytes.Buffer
		b.WriteString(`"items": [`)
		for k, it := range items {
			line, err := json.Marshal(it)
			if err != nil {
				return nil, err
			}
			if k > 0 {
				b.WriteByte(',')
			}
			b.WriteString("\n" + pad + "  ")
			b.Write(line)
		}
		if len(items) > 0 {
			b.WriteString("\n" + pad)
		}
		b.WriteByte(']')
		doc = append(doc[:i], append(b.Bytes(), doc[i+len(`"items": null`):]...)...)
	}
	return doc, nil
}

// WriteJSON writes the --json document to path.
func (r *Report) WriteJSON(path string) error {
	b, err := r.JSON()
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	return nil
}

// WriteMarkdown writes a Markdown report to path with two charts beside it
// (<name>-accuracy.svg, <name>-layers.svg): accuracy against mean layers of
// every setting, and the mean layers of the generated token at each
// position.
func (r *Report) WriteMarkdown(path string) error {
	base := strings.TrimSuffix(path, filepath.Ext(path))
	accChart, layersChart := base+"-accuracy.svg", base+"-layers.svg"
	var pts, front []Point
	for _, res := range r.Results {
		p := Point{Label: res.Setting.Name, Layers: res.MeanLayers, Accuracy: res.Accuracy, Series: Kind(res.Setting)}
		pts = append(pts, p)
		if slices.Contains(r.Front, res.Setting.Name) {
			front = append(front, p)
		}
	}
	sort.Slice(front, func(i, j int) bool { return front[i].Layers < front[j].Layers })
	if err := PlotAccuracy(accChart, r.Task+": accuracy against depth", pts, front); err != nil {
		return err
	}
	if err := LayersChart(layersChart, r.Results); err != nil {
		return err
	}
	var b strings.Builder
	p := r.Primary()
	title := r.Title
	if title == "" {
		title = "d3 eval"
	}
	fmt.Fprintf(&b, "# %s: %s on %s\n\n", title, r.Task, r.Model)
	fmt.Fprintf(&b, "%d items from `%s`, greedy decoding. Mean layers count every generated token (EOS included); "+
		"layer speed-up is L / mean layers; the FLOPs ratio is the matmul work run over the full-depth work for the same tokens; "+
		"decode tokens/s is measured over sequences decoded together.\n\n", p.N, r.Data)
	rows, flexible, macro := r.rows()
	cols := r.columns(flexible, macro)
	b.WriteString("| " + strings.Join(cols, " | ") + " |\n|")
	for range cols {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, w := range rows {
		b.WriteString("| " + strings.Join(w.cells(flexible, macro, len(r.Results) > 1), " | ") + " |\n")
	}
	if len(p.Subtasks) > 0 {
		b.WriteString("\n## Per task\n\n| task | n |")
		for _, res := range r.Results {
			fmt.Fprintf(&b, " %s |", res.Setting.Name)
		}
		b.WriteString("\n|---|---|")
		for range r.Results {
			b.WriteString("---|")
		}
		b.WriteString("\n")
		for i, st := range p.Subtasks {
			fmt.Fprintf(&b, "| %s | %d |", st.Name, st.N)
			for _, res := range r.Results {
				if i < len(res.Subtasks) && res.Subtasks[i].Name == st.Name {
					fmt.Fprintf(&b, " %.1f %% |", 100*res.Subtasks[i].Accuracy)
				} else {
					b.WriteString(" |")
				}
			}
			b.WriteString("\n")
		}
	}
	for _, n := range r.Notes {
		b.WriteString("\n" + n + "\n")
	}
	if p.Truncated > 0 {
		fmt.Fprintf(&b, "\n%d prompts were cut from the left (after BOS) to fit the context.\n", p.Truncated)
	}
	fmt.Fprintf(&b, "\n## Accuracy against depth\n\n![accuracy against mean layers](%s)\n", filepath.Base(accChart))
	fmt.Fprintf(&b, "\n## Layers per generated token\n\n![layers per generated token over position](%s)\n", filepath.Base(layersChart))
	b.WriteString("\n## Settings\n\n")
	for _, res := range r.Results {
		s, _ := json.Marshal(res.Setting)
		fmt.Fprintf(&b, "- **%s**: `%s`\n", res.Setting.Name, s)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	return nil
}

// LayersByPosition is the mean number of layers of the generated token at
// each position, over the items that generated that far.
func LayersByPosition(res *Result) []float64 {
	var sum []float64
	var cnt []int
	for _, it := range res.Items {
		for i, l := range it.Layers {
			if i == len(sum) {
				sum = append(sum, 0)
				cnt = append(cnt, 0)
			}
			sum[i] += float64(l)
			cnt[i]++
		}
	}
	for i := range sum {
		sum[i] /= float64(cnt[i])
	}
	return sum
}
