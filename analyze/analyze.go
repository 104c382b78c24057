// Package analyze measures the two observations D³ rests on, on a model and
// a set of prompt+answer texts: how much each layer changes the hidden state
// (the cosine similarity of its input and output: layers that change it
// little are the ones worth skipping, the others are the core), and the loss
// of answer tokens by their position in the answer (the paper's observation
// that later tokens are easier).
//
// It runs one full-depth forward pass per text (several texts per pass) with
// model.State's layer hook and the logits of every position: the same
// forward pass the engine decodes with, no copy of the transformer.
package analyze

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/d3-project/d3/engine"
	"github.com/d3-project/d3/eval"
	"github.com/d3-project/d3/model"
)

// Text is one prompt and its answer. The analysed sequence is BOS + the
// tokens of Prompt + " " + Answer + EOS; the answer positions start at the
// first token after BOS + the tokens of Prompt.
type Text struct {
	Prompt, Answer string
}

// LoadTexts reads GSM8K-format JSONL (question, answer) as arithmetic-format
// texts: prompt `Question: {question}\nAnswer:`, the answer after a space.
func LoadTexts(path string, limit int) ([]Text, error) {
	recs, err := eval.ReadQA(path, limit)
	if err != nil {
		return nil, err
	}
	out := make([]Text, len(recs))
	for i, r := range recs {
		out[i] = Text{Prompt: eval.ArithPrompt(r.Question), Answer: r.Answer}
	}
	return out, nil
}

// PositionLoss is the mean loss of the answer tokens at one position.
type PositionLoss struct {
	Position int     `json:"position"`
	Loss     float64 `json:"loss"`
	Count    int     `json:"count"`
}

// Result is the analysis of a model over a set of texts.
type Result struct {
	NumLayers int `json:"num_layers"`
	Texts     int `json:"texts"`
	// LayerCosine[l] is the mean over texts of the mean over positions of
	// cos(input of layer l, output of layer l).
	LayerCosine []float64 `json:"layer_cosine"`
	// AnswerLoss is the mean cross-entropy of answer tokens at each answer
	// position that at least MinCount texts reach.
	AnswerLoss []PositionLoss `json:"answer_loss_by_position"`
	// Recommendation suggests core layer counts from LayerCosine.
	Recommendation Recommendation `json:"recommendation"`
}

// Options controls Analyze.
type Options struct {
	// Rows bounds the token rows of one forward pass (default 512); whole
	// texts are packed into each pass.
	Rows int
	// MinCount is the fewest texts an answer position needs to be reported
	// (default 20).
	MinCount int
	// Progress, when set, is called after each pass with texts done and
	// the total.
	Progress func(done, total int)
}

// Analyze runs the texts through e's model at full depth.
func Analyze(ctx context.Context, e *engine.Engine, texts []Text, opt Options) (*Result, error) {
	m := e.Model
	tok := m.Tokenizer
	if tok == nil {
		return nil, fmt.Errorf("analyze: %s has no tokenizer", m.Path)
	}
	if len(texts) == 0 {
		return nil, fmt.Errorf("analyze: no texts")
	}
	if opt.Rows <= 0 {
		opt.Rows = 512
	}
	if opt.MinCount <= 0 {
		opt.MinCount = 20
	}
	eos := tok.EOS()
	if eos < 0 {
		return nil, fmt.Errorf("analyze: the tokenizer has no EOS token")
	}
	type seq struct {
		ids       []int
		promptLen int
	}
	seqs := make([]seq, len(texts))
	maxLen := 0
	for i, t := range texts {
		p := tok.Encode(t.Prompt, true)
		ids := append(tok.Encode(t.Prompt+" "+t.Answer, true), eos)
		if len(p) >= len(ids) {
			return nil, fmt.Errorf("analyze: text %d has no answer tokens", i)
		}
		if len(ids) > e.Ctx {
			return nil, fmt.Errorf("analyze: text %d has %d tokens, more than the context of %d", i, len(ids), e.Ctx)
		}
		seqs[i] = seq{ids, len(p)}
		maxLen = max(maxLen, len(ids))
	}
	rows := max(opt.Rows, maxLen)
	L := m.Config.NumLayers
	st := model.NewState(m, e.Pool, rows)
	defer func() { st.Hook = nil }()

	cosText := make([][]float64, L) // per layer: sum over this pass's rows by text
	for l := range cosText {
		cosText[l] = make([]float64, len(texts))
	}
	var rowText []int // batch row -> text index
	st.Hook = func(layer, row int, in, out []float32) {
		cosText[layer][rowText[row]] += cosine(in, out)
	}
	var lossSum []float64
	var lossCnt []int
	b := &model.Batch{}
	for start := 0; start < len(seqs); {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// Pack whole texts into one pass.
		b.Tokens, b.Pos, b.Caches, rowText = b.Tokens[:0], b.Pos[:0], b.Caches[:0], rowText[:0]
		end := start
		for end < len(seqs) && (end == start || len(b.Tokens)+len(seqs[end].ids) <= rows) {
			c := model.NewCache(&m.Config, len(seqs[end].ids))
			for p, id := range seqs[end].ids {
				b.Tokens = append(b.Tokens, id)
				b.Pos = append(b.Pos, p)
				b.Caches = append(b.Caches, c)
				rowText = append(rowText, end)
			}
			end++
		}
		if err := st.Forward(b); err != nil {
			return nil, fmt.Errorf("analyze: %w", err)
		}
		r := 0
		for i := start; i < end; i++ {
			s := seqs[i]
			for p := range s.ids {
				// The logits at position p predict the token at p+1; the
				// answer's token k sits at promptLen+k.
				if k := p + 1 - s.promptLen; k >= 0 && p+1 < len(s.ids) {
					for len(lossSum) <= k {
						lossSum = append(lossSum, 0)
						lossCnt = append(lossCnt, 0)
					}
					lossSum[k] += crossEntropy(st.Logits(r+p), s.ids[p+1])
					lossCnt[k]++
				}
			}
			for l := 0; l < L; l++ {
				cosText[l][i] /= float64(len(s.ids))
			}
			r += len(s.ids)
		}
		start = end
		if opt.Progress != nil {
			opt.Progress(end, len(seqs))
		}
	}
	res := &Result{NumLayers: L, Texts: len(texts), LayerCosine: make([]float64, L)}
	for l := range cosText {
		var sum float64
		for _, c := range cosText[l] {
			sum += c
		}
		res.LayerCosine[l] = sum / float64(len(texts))
	}
	for k := range lossSum {
		if lossCnt[k] >= opt.MinCount {
			res.AnswerLoss = append(res.AnswerLoss, PositionLoss{Position: k, Loss: lossSum[k] / float64(lossCnt[k]), Count: lossCnt[k]})
		}
	}
	res.Recommendation = Recommend(res.LayerCosine)
	return res, nil
}

// cosine is the cosine similarity of a and b, accumulated in float64.
func cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		dot += x * y
		na += x * x
		nb += y * y
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}

// crossEntropy is −log softmax(logits)[target], in float64.
func crossEntropy(logits []float32, target int) float64 {
	mx := math.Inf(-1)
	for _, v := range logits {
		mx = math.Max(mx, float64(v))
	}
	var sum float64
	for _, v := range logits {
		sum += math.Exp(float64(v) - mx)
	}
	return mx + math.Log(sum) - float64(logits[target])
}

// Recommendation is the suggested split into core and flexible layers.
type Recommendation struct {
	CoreHead int `json:"core_head"`
	CoreTail int `json:"core_tail"`
	// Threshold is the cosine a layer needs to count as flexible.
	Threshold float64 `json:"threshold"`
	// FlexibleCosine is the mean cosine of the flexible layers.
	FlexibleCosine float64 `json:"flexible_cosine"`
	Text           string  `json:"text"`
}

// Recommend splits the layers: a layer whose output is close to its input
// (cosine at least the median of all layers minus 0.02) is flexible; the
// runs of other layers at the two ends of the stack are the core. Layers
// with low cosine in the middle stay flexible (D³ drops only from the
// middle block) but are named in the text.
func Recommend(cos []float64) Recommendation {
	L := len(cos)
	if L == 0 {
		return Recommendation{Text: "no layers"}
	}
	sorted := append([]float64(nil), cos...)
	sort.Float64s(sorted)
	median := sorted[L/2]
	if L%2 == 0 {
		median = (sorted[L/2-1] + sorted[L/2]) / 2
	}
	thr := median - 0.02
	r := Recommendation{Threshold: thr}
	for r.CoreHead < L && cos[r.CoreHead] < thr {
		r.CoreHead++
	}
	for r.CoreTail < L-r.CoreHead && cos[L-1-r.CoreTail] < thr {
		r.CoreTail++
	}
	var sum float64
	var low []string
	n := 0
	for l := r.CoreHead; l < L-r.CoreTail; l++ {
		sum += cos[l]
		n++
		if cos[l] < thr {
			low = append(low, fmt.Sprintf("%d (%.3f)", l, cos[l]))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "--d3-core-head %d --d3-core-tail %d: ", r.CoreHead, r.CoreTail)
	if n == 0 {
		b.WriteString("every layer changes the hidden state a lot; there is nothing to skip safely.")
		r.Text = b.String()
		return r
	}
	r.FlexibleCosine = sum / float64(n)
	fmt.Fprintf(&b, "the layers at the ends change the hidden state most (cosine below %.3f); the %d flexible layers average cosine %.3f", thr, n, r.FlexibleCosine)
	switch {
	case r.FlexibleCosine >= 0.97:
		b.WriteString(", so they are largely redundant: depth decay should cost little.")
	case r.FlexibleCosine >= 0.95:
		b.WriteString(", moderately redundant: tune α on a validation set and compare with uniform depth (--d3-keep).")
	default:
		b.WriteString(", so each one matters: depth decay will cost accuracy; keep α close to 1.")
	}
	if len(low) > 0 {
		fmt.Fprintf(&b, " Middle layers that change the state much: %s.", strings.Join(low, ", "))
	}
	r.Text = b.String()
	return r
}

// Trend summarizes the answer loss over position: the mean loss of the
// first and the last third of the reported positions.
func Trend(loss []PositionLoss) (early, late float64) {
	n := len(loss)
	if n < 3 {
		return math.NaN(), math.NaN()
	}
	third := n / 3
	for _, p := range loss[:third] {
		early += p.Loss
	}
	for _, p := range loss[n-third:] {
		late += p.Loss
	}
	return early / float64(third), late / float64(third)
}
