package tensor

import (
	"golang.org/x/sys/cpu"

	"github.com/d3-project/d3/internal/cpufeat"
)

// level is the widest instruction set the weight kernels may use.
type level = cpufeat.Level

const (
	// levelGeneric is pure Go.
	levelGeneric = cpufeat.Generic
	// levelAVX2 (with FMA and F16C) runs the row kernels on 256-bit
	// vectors, the integer ones with VPMADDUBSW/VPMADDWD.
	levelAVX2 = cpufeat.AVX2
	// levelAVX512 adds AVX-512 F/BW/VL and VNNI: 512-bit row kernels with
	// VPDPBUSD, the matrix-matrix kernels and the activation quantizer.
	levelAVX512 = cpufeat.AVX512
)

// hostLevel is what the CPU and OS support (capped by $D3_SIMD); simd is
// what the kernels use.
var (
	hostLevel = min(detectLevel(), cpufeat.Cap())
	simd      = hostLevel
)

func detectLevel() level {
	x := &cpu.X86
	switch {
	case !hasAsm || !x.HasAVX2 || !x.HasFMA || !x.HasF16C:
		return levelGeneric
	case x.HasAVX512F && x.HasAVX512BW && x.HasAVX512VL && x.HasAVX512VNNI:
		return levelAVX512
	}
	return levelAVX2
}

// setLevel restricts the kernels to at most l (never more than the host
// supports) and returns the previous setting. Tests use it to run the
// narrower and pure-Go paths on a machine that has the wider ones.
func setLevel(l level) level {
	prev := simd
	simd = min(l, hostLevel)
	return prev
}
