package tensor_test

import (
	"bytes"
	"math"
	"testing"

	"github.com/d3-project/d3/gguf"
	"github.com/d3-project/d3/internal/testutil"
	"github.com/d3-project/d3/tensor"
)

// These tests compare d3's decoders and quantizers with files written by
// llama.cpp (convert_hf_to_gguf and llama-quantize) from the same bf16
// weights: a wrong block layout shows up as a large error against the bf16
// original, a wrong quantization rule as bytes that differ from llama.cpp's.

func openModel(t *testing.T, variant string) *gguf.File {
	t.Helper()
	f, err := gguf.Open(testutil.Shared(t, "models", "gguf", "d3-tiny-layerdrop-"+variant+".gguf"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func decodeAll(t *testing.T, ti *gguf.TensorInfo) []float32 {
	t.Helper()
	m, err := ti.Matrix()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, m.Rows*m.Cols)
	for r := 0; r < m.Rows; r++ {
		m.DequantRow(r, out[r*m.Cols:])
	}
	return out
}

// crossTensors are checked by default; every 2-D tensor under D3_LONG=1.
var crossTensors = []string{
	"token_embd.weight", "output.weight",
	"blk.0.attn_q.weight", "blk.0.attn_v.weight", "blk.0.ffn_down.weight",
	"blk.3.ffn_down.weight", "blk.3.ffn_gate.weight", "blk.15.attn_k.weight",
}

func tensorNames(f *gguf.File) []string {
	if !testutil.Long() {
		return crossTensors
	}
	var names []string
	for _, ti := range f.Tensors {
		if len(ti.Dims) == 2 {
			names = append(names, ti.Name)
		}
	}
	return names
}

// maxRelRMS bounds ‖dequant(file) − bf16‖ / ‖bf16‖ per type. Measured
// values are roughly a third to a half of these.
var maxRelRMS = map[tensor.DType]float64{
	tensor.Q8_0: 0.01,
	tensor.Q6_K: 0.03,
	tensor.Q4_K: 0.10,
	tensor.Q4_0: 0.12,
}

func TestDequantAgainstBF16(t *testing.T) {
	ref := openModel(t, "bf16")
	for _, variant := range []string{"q8_0", "q4_0", "q4_k_m"} {
		f := openModel(t, variant)
		for _, name := range tensorNames(f) {
			qt, ok := f.Tensor(name)
			if !ok {
				t.Fatalf("%s: no tensor %s", variant, name)
			}
			rt, ok := ref.Tensor(name)
			if !ok || rt.Type != tensor.BF16 {
				t.Fatalf("bf16: tensor %s missing or not BF16", name)
			}
			bound, ok := maxRelRMS[qt.Type]
			if !ok {
				t.Fatalf("%s %s: unexpected type %s", variant, name, qt.Type)
			}
			got, want := decodeAll(t, qt), decodeAll(t, rt)
			var num, den float64
			for i, w := range want {
				e := float64(got[i] - w)
				num += e * e
				den += float64(w) * float64(w)
			}
			rel := math.Sqrt(num / den)
			t.Logf("%s %s (%s): relative RMS error %.4f", variant, name, qt.Type, rel)
			if !(rel < bound) {
				t.Errorf("%s %s (%s): relative RMS error %.4f ≥ %.4f", variant, name, qt.Type, rel, bound)
			}
			checkRowDots(t, qt)
		}
	}
}

// checkRowDots compares the dot kernel with a float64 dot over the decoded
// row for a few rows of a real tensor.
func checkRowDots(t *testing.T, ti *gguf.TensorInfo) {
	m, err := ti.Matrix()
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, m.Cols)
	for i := range x {
		x[i] = float32(math.Sin(float64(i)*0.37)) + 0.1
	}
	row := make([]float32, m.Cols)
	for r := 0; r < m.Rows; r += m.Rows/3 + 1 {
		m.DequantRow(r, row)
		var ref, mag float64
		for i, v := range row {
			ref += float64(v) * float64(x[i])
			mag += math.Abs(float64(v) * float64(x[i]))
		}
		if d := math.Abs(float64(m.DotRow(r, x)) - ref); d > 2e-6*mag {
			t.Errorf("%s row %d: dot off by %g (Σ|terms| %g)", ti.Name, r, d, mag)
		}
	}
}

// TestQuantizeMatchesLlamaCpp feeds the bf16 weights to d3's quantizers and
// compares the bytes with llama-quantize's output block by block. All four
// types reproduce llama.cpp exactly; the K-quant scale searches are long
// float32 computations, so any change in their operation order shows up
// here.
func TestQuantizeMatchesLlamaCpp(t *testing.T) {
	ref := openModel(t, "bf16")
	for _, variant := range []string{"q8_0", "q4_0", "q4_k_m"} {
		f := openModel(t, variant)
		for _, name := range tensorNames(f) {
			qt, _ := f.Tensor(name)
			rt, _ := ref.Tensor(name)
			src := decodeAll(t, rt)
			dst := make([]byte, len(qt.Data))
			if err := tensor.Quantize(qt.Type, src, dst); err != nil {
				t.Fatalf("%s %s: %v", variant, name, err)
			}
			bb := qt.Type.BlockBytes()
			nb := len(dst) / bb
			diff := 0
			for b := 0; b < nb; b++ {
				if !bytes.Equal(dst[b*bb:(b+1)*bb], qt.Data[b*bb:(b+1)*bb]) {
					if diff == 0 {
						t.Logf("%s %s: first differing block %d:\n ours  %x\n llama %x", variant, name, b, dst[b*bb:(b+1)*bb], qt.Data[b*bb:(b+1)*bb])
					}
					diff++
				}
			}
			if diff > 0 {
				t.Errorf("%s %s (%s): %d of %d blocks differ from llama.cpp", variant, name, qt.Type, diff, nb)
			}
		}
	}
}
