// Package cpufeat is what the kernel packages (tensor, kernels) share about
// instruction sets: the levels they dispatch on and the $D3_SIMD cap. Each
// package decides for itself which CPU features a level needs.
package cpufeat

import "os"

// Level is an instruction-set width a package's kernels may use.
type Level int

const (
	Generic Level = iota // pure Go
	AVX2                 // 256-bit vectors
	AVX512               // 512-bit vectors
)

func (l Level) String() string {
	return [...]string{"generic", "avx2", "avx512"}[l]
}

// Cap is the widest level $D3_SIMD allows, so whole test suites (or a
// suspicious result) can run on the narrower paths.
func Cap() Level { return Parse(os.Getenv("D3_SIMD")) }

// Parse reads a $D3_SIMD value: off (also generic, none) for pure Go, avx2,
// or avx512 / anything else for no cap.
func Parse(v string) Level {
	switch v {
	case "off", "generic", "none":
		return Generic
	case "avx2":
		return AVX2
	}
	return AVX512
}
