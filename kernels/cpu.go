package kernels

import (
	"os"

	"golang.org/x/sys/cpu"
)

// level is the widest instruction set the float vector kernels may use.
// The assembly needs AVX2+FMA for the 256-bit path and AVX-512F for the
// 512-bit one (masked loads handle the tails, so no scalar epilogue).
type level int

const (
	levelGeneric level = iota // pure Go
	levelAVX2                 // AVX2 + FMA, 256-bit
	levelAVX512               // AVX-512F, 512-bit
)

// hostLevel is what the CPU (and OS) supports, capped by $D3_SIMD (off,
// avx2, avx512: see package tensor); simd is what the kernels use.
var (
	hostLevel = min(detectLevel(), envLevel(os.Getenv("D3_SIMD")))
	simd      = hostLevel
)

func envLevel(v string) level {
	switch v {
	case "off", "generic", "none":
		return levelGeneric
	case "avx2":
		return levelAVX2
	}
	return levelAVX512
}

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
