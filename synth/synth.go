package synth

import (
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/d3-project/d3/gguf"
	"github.com/d3-project/d3/tensor"
)

// Std is the standard deviation of the random weights.
const Std = 0.02

// Options control synthesis.
type Options struct {
	Seed uint64
	// Threads quantizing rows in parallel (<= 0: GOMAXPROCS). The output
	// does not depend on it: every row has its own random stream.
	Threads int
	// Progress, when set, is called after each chunk of rows is written
	// with the tensor bytes written so far and the total.
	Progress func(done, total int64)
}

// Summary describes a synthesized file.
type Summary struct {
	Tensors    int
	Parameters int64 // values in all tensors
	DataBytes  int64 // tensor data, without the header
	Types      map[tensor.DType]int
}

// NewWriter prepares a GGUF writer for shape s in file type t: metadata now,
// tensor data generated and quantized while the writer streams it, a chunk
// of rows at a time, so memory stays small whatever the model size.
func NewWriter(s Shape, t FileType, opt Options) (*gguf.Writer, Summary, error) {
	layout, err := Layout(s, t)
	if err != nil {
		return nil, Summary{}, err
	}
	voc, err := buildVocab(s.Vocab, s.VocabSize, s.VocabPad)
	if err != nil {
		return nil, Summary{}, err
	}
	w := gguf.NewWriter()
	for _, kv := range metadata(&s, t, voc) {
		if err := w.AddKV(kv.Key, kv.Value); err != nil {
			return nil, Summary{}, err
		}
	}
	sum := Summary{Tensors: len(layout), Types: map[tensor.DType]int{}}
	sizes := make([]int64, len(layout))
	for i := range layout {
		rb, err := layout[i].Type.RowBytes(int(layout[i].Dims[0]))
		if err != nil {
			return nil, Summary{}, fmt.Errorf("synth: %s: %w", layout[i].Name, err)
		}
		sizes[i] = int64(rb) * int64(layout[i].Rows())
		sum.DataBytes += sizes[i]
		sum.Parameters += layout[i].Elements()
		sum.Types[layout[i].Type]++
	}
	threads := opt.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	var done atomic.Int64
	for i := range layout {
		ti := layout[i]
		gen := &rowGen{t: &ti, shape: &s, seed: opt.Seed, threads: threads}
		write := func(out io.Writer) error {
			return gen.write(out, func(n int64) {
				d := done.Add(n)
				if opt.Progress != nil {
					opt.Progress(d, sum.DataBytes)
				}
			})
		}
		if err := w.AddTensorFunc(ti.Name, ti.Type, ti.Dims, uint64(sizes[i]), write); err != nil {
			return nil, Summary{}, err
		}
	}
	return w, sum, nil
}

// WriteFile synthesizes the file at path. It writes a temporary file beside
// it and renames it at the end, so an interrupted run leaves no partial
// model under the final name.
func WriteFile(path string, s Shape, t FileType, opt Options) (Summary, error) {
	w, sum, err := NewWriter(s, t, opt)
	if err != nil {
		return sum, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return sum, fmt.Errorf("synth: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := w.WriteTo(tmp); err != nil {
		tmp.Close()
		return sum, fmt.Errorf("synth: writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return sum, fmt.Errorf("synth: writing %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return sum, fmt.Errorf("synth: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return sum, fmt.Errorf("synth: %w", err)
	}
	return sum, nil
}

// rowGen produces one tensor's bytes.
type rowGen struct {
	t       *Tensor
	shape   *Shape
	seed    uint64
	threads int
}

// chunkBytes bounds the rows encoded between two writes.
const chunkBytes = 4 << 20

func (g *rowGen) write(out io.Writer, progress func(int64)) error {
	t := g.t
	cols, rows := int(t.Dims[0]), t.Rows()
	rb, err := t.Type.RowBytes(cols)
	if err != nil {
		return err
	}
	switch t.Fill {
	case FillOnes, FillRopeFreqs:
		// Small vectors: encoded whole.
		var vals []float32
		if t.Fill == FillOnes {
			vals = make([]float32, cols*rows)
			for i := range vals {
				vals[i] = 1
			}
		} else {
			vals = RopeFreqs(g.shape.RopeTheta, g.shape.HeadDim, *g.shape.Scaling)
		}
		buf := make([]byte, rb*rows)
		for r := range rows {
			if err := tensor.Quantize(t.Type, vals[r*cols:(r+1)*cols], buf[r*rb:(r+1)*rb]); err != nil {
				return err
			}
		}
		_, err := out.Write(buf)
		progress(int64(len(buf)))
		return err
	}
	h := fnv.New64a()
	h.Write([]byte(t.Name))
	stream := h.Sum64()
	chunk := max(1, min(rows, chunkBytes/rb))
	buf := make([]byte, chunk*rb)
	workers := max(1, min(g.threads, chunk))
	scratch := make([][]float32, workers)
	for i := range scratch {
		scratch[i] = make([]float32, cols)
	}
	for lo := 0; lo < rows; lo += chunk {
		hi := min(rows, lo+chunk)
		n := hi - lo
		var wg sync.WaitGroup
		errs := make([]error, workers)
		per := (n + workers - 1) / workers
		for w := range workers {
			a, b := lo+w*per, min(hi, lo+(w+1)*per)
			if a >= b {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				x := scratch[w]
				pcg := rand.NewPCG(0, 0)
				rng := rand.New(pcg)
				for r := a; r < b; r++ {
					// Each row has its own stream: the bytes do not depend
					// on the thread count or the chunking.
					pcg.Seed(g.seed, stream^uint64(r)*0x9E3779B97F4A7C15)
					for i := range x {
						x[i] = float32(rng.NormFloat64() * Std)
					}
					if err := tensor.Quantize(t.Type, x, buf[(r-lo)*rb:(r-lo+1)*rb]); err != nil {
						errs[w] = err
						return
					}
				}
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
		if _, err := out.Write(buf[:n*rb]); err != nil {
			return err
		}
		progress(int64(n * rb))
	}
	return nil
}
