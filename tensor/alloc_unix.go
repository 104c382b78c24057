//go:build unix

package tensor

import "golang.org/x/sys/unix"

// allocWeights returns n zero bytes for a packed weight copy, mapped
// outside the Go heap (mapped reports it): gigabytes of live weights on
// the heap would let the collector's pacing (GOGC) keep as much garbage
// again before collecting.
func allocWeights(n int) (b []byte, mapped bool) {
	if n == 0 {
		return nil, false
	}
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return make([]byte, n), false // no mapping: the heap still works
	}
	return b, true
}

// freeWeights releases memory that allocWeights mapped.
func freeWeights(b []byte) { _ = unix.Munmap(b) }
