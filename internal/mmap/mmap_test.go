package mmap

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	want := bytes.Repeat([]byte("d3 mmap test "), 1000)
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, want, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.Data, want) {
		t.Fatalf("mapped %d bytes differ from the %d written", len(m.Data), len(want))
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestOpenEmpty(t *testing.T) {
	p := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	if m.Data == nil || len(m.Data) != 0 {
		t.Fatalf("empty file: Data = %v, want empty non-nil", m.Data)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing")
	if _, err := Open(missing); err == nil || !bytes.Contains([]byte(err.Error()), []byte("missing")) {
		t.Fatalf("missing file: err = %v, want one naming the path", err)
	}
	if _, err := Open(dir); err == nil {
		t.Fatal("directory: want error")
	}
}

// TestRelease: released pages of a mapping read back unchanged.
func TestRelease(t *testing.T) {
	dir := t.TempDir()
	want := bytes.Repeat([]byte("release me "), 4000)
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, want, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if !bytes.Equal(m.Data, want) {
		t.Fatal("mapping differs from the file")
	}
	Release(m.Data[100:])
	Release(m.Data[:10]) // less than a page: nothing to release
	if !bytes.Equal(m.Data, want) {
		t.Fatal("released pages read back differently")
	}
}
