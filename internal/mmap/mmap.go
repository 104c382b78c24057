// Package mmap maps whole files read-only into memory, so model weights can
// be used in place without copying them onto the Go heap.
package mmap

import (
	"fmt"
	"math"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Mapping is a read-only view of a whole file. Data must not be used after
// Close.
type Mapping struct {
	Data   []byte
	mapped bool // false for empty files, which have nothing to unmap
}

// Open maps the file at path read-only. A zero-length file yields an empty
// Data without a mapping, since mmap rejects zero lengths.
func Open(path string) (*Mapping, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("mmap: %w", err)
	}
	// The mapping stays valid after the descriptor is closed.
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("mmap: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("mmap: %s: not a regular file", path)
	}
	size := st.Size()
	if size == 0 {
		return &Mapping{Data: []byte{}}, nil
	}
	if size < 0 || uint64(size) > math.MaxInt {
		return nil, fmt.Errorf("mmap: %s: size %d cannot be mapped", path, size)
	}
	data, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap: %s: %w", path, err)
	}
	return &Mapping{Data: data, mapped: true}, nil
}

// Close unmaps the file. Calling it again is a no-op.
func (m *Mapping) Close() error {
	if m == nil || !m.mapped {
		return nil
	}
	data := m.Data
	m.Data, m.mapped = nil, false
	if err := unix.Munmap(data); err != nil {
		return fmt.Errorf("mmap: munmap: %w", err)
	}
	return nil
}

// Release tells the kernel that b, a part of a mapping, is not needed for
// now: its pages leave the process's resident set (a later read faults
// them back in from the page cache or the file). Only the whole pages
// inside b are released. It must only be given memory from Open: on
// anonymous memory the same advice discards the contents.
func Release(b []byte) {
	page := os.Getpagesize()
	if len(b) < page {
		return
	}
	start := uintptr(unsafe.Pointer(&b[0]))
	lo := int((uintptr(page) - start%uintptr(page)) % uintptr(page))
	hi := len(b) - int((start+uintptr(len(b)))%uintptr(page))
	if hi-lo < page {
		return
	}
	_ = unix.Madvise(b[lo:hi], unix.MADV_DONTNEED) // advice only: nothing to do if refused
}
