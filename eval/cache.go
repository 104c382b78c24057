package eval

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// The resume cache is a JSONL file: a header line {"version", "fingerprint"}
// then one record per finished item, appended as groups finish. An
// interrupted run leaves a valid prefix (at worst a torn last line, which
// is ignored), so --resume redoes only the items it lacks.

const cacheVersion = 1

type cacheHeader struct {
	Version     int    `json:"version"`
	Fingerprint string `json:"fingerprint"`
}

type itemCache struct {
	path string
	f    *os.File
	w    *bufio.Writer
	recs map[string]*record // by item id
}

func openCache(path, fingerprint string, resume bool) (*itemCache, error) {
	c := &itemCache{path: path, recs: map[string]*record{}}
	if path == "" {
		return c, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("eval: cache: %w", err)
	}
	if resume {
		if err := c.load(fingerprint); err != nil {
			return nil, err
		}
	}
	// Rewrite the file with what was kept (through a rename, so the old
	// records are never lost), so a torn last line never sits between
	// records; then append to it.
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return nil, fmt.Errorf("eval: cache: %w", err)
	}
	c.f, c.w = f, bufio.NewWriter(f)
	if err := c.writeLine(cacheHeader{Version: cacheVersion, Fingerprint: fingerprint}); err != nil {
		c.close()
		return nil, err
	}
	for _, r := range c.recs {
		if err := c.writeLine(r); err != nil {
			c.close()
			return nil, err
		}
	}
	if err := c.flush(); err != nil {
		c.close()
		return nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		c.close()
		return nil, fmt.Errorf("eval: cache: %w", err)
	}
	return c, nil
}

func (c *itemCache) load(fingerprint string) error {
	data, err := os.ReadFile(c.path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("eval: cache: %w", err)
	}
	lines := bytes.Split(data, []byte("\n"))
	lastLine := len(lines) - 1
	for lastLine > 0 && len(bytes.TrimSpace(lines[lastLine])) == 0 {
		lastLine--
	}
	for i, l := range lines {
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		last := i == lastLine
		if i == 0 {
			var h cacheHeader
			if err := json.Unmarshal(l, &h); err != nil || h.Version != cacheVersion {
				return fmt.Errorf("eval: cache %s:1: not a d3 eval cache (version %d); remove it or drop --resume", c.path, cacheVersion)
			}
			if h.Fingerprint != fingerprint {
				return fmt.Errorf("eval: cache %s was written by a different run (model, task, data or setting); remove it or drop --resume", c.path)
			}
			continue
		}
		var r record
		if err := json.Unmarshal(l, &r); err != nil || r.Item.ID == "" {
			if last {
				break // torn write of an interrupted run
			}
			return fmt.Errorf("eval: cache %s:%d: malformed record; remove the file or drop --resume", c.path, i+1)
		}
		c.recs[r.Item.ID] = &r
	}
	return nil
}

// lookup returns the cached record of item id if it was made from the same
// prompt and limits.
func (c *itemCache) lookup(id, hash string) *record {
	if r := c.recs[id]; r != nil && r.Hash == hash {
		return r
	}
	return nil
}

func (c *itemCache) write(r *record) error {
	if c.f == nil {
		return nil
	}
	if err := c.writeLine(r); err != nil {
		return err
	}
	return c.flush()
}

func (c *itemCache) writeLine(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("eval: cache: %w", err)
	}
	b = append(b, '\n')
	if _, err := c.w.Write(b); err != nil {
		return fmt.Errorf("eval: cache %s: %w", c.path, err)
	}
	return nil
}

func (c *itemCache) flush() error {
	if err := c.w.Flush(); err != nil {
		return fmt.Errorf("eval: cache %s: %w", c.path, err)
	}
	return nil
}

func (c *itemCache) close() {
	if c.f != nil {
		c.w.Flush()
		c.f.Close()
	}
}
