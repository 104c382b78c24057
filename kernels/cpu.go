package kernels

import (
	"golang.org/x/sys/cpu"

	"github.com/d3-project/d3/internal/cpufeat"
)

// level is the widest instruction set the float vector kernels may use.
// The assembly needs AVX2+FMA for the 256-bit path and AVX-512F for the
// 512-bit one (masked loads handle the tails, so no scalar epilogue).
type level = cpufeat.Level

const (
	levelGeneric = cpufeat.Generic // pure Go
	levelAVX2    = cpufeat.AVX2    // AVX2 + FMA, 256-bit
	levelAVX512  = cpufeat.AVX512  // AVX-512F, 512-bit
)

// hostLevel is what the CPU (and OS) supports, capped by $D3_SIMD; simd is
// what the kernels use.
var (
	hostLevel = min(detectLevel(), cpufeat.Cap())
	simd      = hostLevel
)

func detectLevel() level {
	switch {
	case !hasAsm:
		return levelGeneric
	case cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL && cpu.X86.HasFMA && cpu.X86.HasAVX2:
		return levelAVX512
	case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		return levelAVX2
	}
	return levelGeneric
}

// setLevel makes the kernels use at most l (never more than the host
// supports) and returns the previous setting; tests use it to run the
// narrower and pure-Go paths on a machine that has the wider ones.
func setLevel(l level) level {
	prev := simd
	simd = min(l, hostLevel)
	return prev
}
