package safetensors

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// IndexFile names the index of a sharded checkpoint.
const IndexFile = "model.safetensors.index.json"

// maxIndexBytes bounds the index JSON; real ones are a few hundred KB.
const maxIndexBytes = 64 << 20

// Set is the weights of a model directory, possibly split over shards.
type Set struct {
	Dir     string
	Files   []*File
	Tensors map[string]*Tensor
}

// OpenDir opens the weights in dir: the shards listed by
// model.safetensors.index.json, else model.safetensors, else the directory's
// only *.safetensors file.
func OpenDir(dir string) (*Set, error) {
	s := &Set{Dir: dir, Tensors: map[string]*Tensor{}}
	idxPath := filepath.Join(dir, IndexFile)
	raw, err := readSmall(idxPath, maxIndexBytes)
	switch {
	case err == nil:
		if err := s.openIndexed(idxPath, raw); err != nil {
			s.Close()
			return nil, err
		}
		return s, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("safetensors: %w", err)
	}

	name := filepath.Join(dir, "model.safetensors")
	if _, err := os.Stat(name); err != nil {
		matches, gerr := filepath.Glob(filepath.Join(dir, "*.safetensors"))
		if gerr != nil {
			return nil, fmt.Errorf("safetensors: %s: %w", dir, gerr)
		}
		switch len(matches) {
		case 0:
			return nil, fmt.Errorf("safetensors: %s: no %s, model.safetensors or other *.safetensors file", dir, IndexFile)
		case 1:
			name = matches[0]
		default:
			return nil, fmt.Errorf("safetensors: %s: %d *.safetensors files and no %s to say how they fit together", dir, len(matches), IndexFile)
		}
	}
	f, err := Open(name)
	if err != nil {
		return nil, err
	}
	s.Files = []*File{f}
	for n, t := range f.Tensors {
		s.Tensors[n] = t
	}
	return s, nil
}

func readSmall(path string, limit int64) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("%s: %d bytes exceeds the %d-byte limit", path, st.Size(), limit)
	}
	return os.ReadFile(path)
}

func (s *Set) openIndexed(idxPath string, raw []byte) error {
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(raw, &idx); err != nil {
		return fmt.Errorf("safetensors: %s: malformed index JSON: %w", idxPath, err)
	}
	if len(idx.WeightMap) == 0 {
		return fmt.Errorf("safetensors: %s: index has no weight_map entries", idxPath)
	}
	// Sorted names keep the checks, and so the errors, deterministic.
	names := make([]string, 0, len(idx.WeightMap))
	for tname := range idx.WeightMap {
		names = append(names, tname)
	}
	sort.Strings(names)
	var shards []string
	byShard := map[string]*File{}
	for _, tname := range names {
		file := idx.WeightMap[tname]
		if file == "" || file == "." || file == ".." || strings.ContainsAny(file, `/\`) {
			return fmt.Errorf("safetensors: %s: tensor %q: shard name %q is not a plain file name", idxPath, tname, file)
		}
		if _, ok := byShard[file]; !ok {
			byShard[file] = nil
			shards = append(shards, file)
		}
	}
	sort.Strings(shards)
	for _, name := range shards {
		f, err := Open(filepath.Join(s.Dir, name))
		if err != nil {
			return err
		}
		s.Files = append(s.Files, f)
		byShard[name] = f
		for _, tn := range f.Names {
			if _, dup := s.Tensors[tn]; dup {
				return fmt.Errorf("safetensors: %s: tensor %q appears in more than one shard", s.Dir, tn)
			}
			s.Tensors[tn] = f.Tensors[tn]
		}
	}
	for _, tname := range names {
		file := idx.WeightMap[tname]
		if _, ok := byShard[file].Tensors[tname]; !ok {
			return fmt.Errorf("safetensors: %s: tensor %q is listed in shard %s but that file does not hold it", idxPath, tname, file)
		}
	}
	return nil
}

// Tensor looks a tensor up by name across all files.
func (s *Set) Tensor(name string) (*Tensor, bool) {
	t, ok := s.Tensors[name]
	return t, ok
}

// Close releases every file; it returns the first error.
func (s *Set) Close() error {
	var first error
	for _, f := range s.Files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	s.Files = nil
	return first
}
