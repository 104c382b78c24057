package eval

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCache(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "c.jsonl")
	c, err := openCache(path, "fp1", false)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b"} {
		if err := c.write(&record{Hash: "h" + id, Item: ItemResult{ID: id, Generated: "x"}, WallS: 1}); err != nil {
			t.Fatal(err)
		}
	}
	c.close()
	// A torn last line (an interrupted write) is dropped on resume.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"hash":"hc","item":{"id":"c","gen`)
	f.Close()
	c, err = openCache(path, "fp1", true)
	if err != nil {
		t.Fatal(err)
	}
	if c.lookup("a", "ha") == nil || c.lookup("b", "hb") == nil || c.lookup("c", "hc") != nil {
		t.Errorf("resumed records %v", c.recs)
	}
	if c.lookup("a", "other") != nil {
		t.Error("a record with another prompt hash was reused")
	}
	c.close()
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), `"id":"c"`) || strings.Count(string(data), "\n") != 3 {
		t.Errorf("rewritten cache:\n%s", data)
	}
	// Another run's cache is refused on resume, ignored (overwritten) without.
	if _, err := openCache(path, "fp2", true); err == nil || !strings.Contains(err.Error(), "different run") {
		t.Errorf("fingerprint mismatch: %v", err)
	}
	c, err = openCache(path, "fp2", false)
	if err != nil || len(c.recs) != 0 {
		t.Errorf("fresh cache: %v, %d records", err, len(c.recs))
	}
	c.close()
	// A malformed record in the middle is an error naming the line.
	os.WriteFile(path, []byte(`{"version":1,"fingerprint":"fp3"}`+"\nnot json\n"+`{"hash":"h","item":{"id":"z"}}`+"\n"), 0o644)
	if _, err := openCache(path, "fp3", true); err == nil || !strings.Contains(err.Error(), "c.jsonl:2") {
		t.Errorf("malformed record: %v", err)
	}
	os.WriteFile(path, []byte("garbage\n"), 0o644)
	if _, err := openCache(path, "fp3", true); err == nil || !strings.Contains(err.Error(), "not a d3 eval cache") {
		t.Errorf("not a cache: %v", err)
	}
}
