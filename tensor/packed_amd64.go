//go:build amd64 && !purego

package tensor

// The packed float kernels (packed_amd64.s), indexed by packedIndex and
// the number of activation rows.
var packedKernels = [3][MaxPackedK + 1]packedKernel{
	{nil, packedF32x1, packedF32x2, packedF32x3, packedF32x4, packedF32x5, packedF32x6, packedF32x7, packedF32x8},
	{nil, packedF16x1, packedF16x2, packedF16x3, packedF16x4, packedF16x5, packedF16x6, packedF16x7, packedF16x8},
	{nil, packedBF16x1, packedBF16x2, packedBF16x3, packedBF16x4, packedBF16x5, packedBF16x6, packedBF16x7, packedBF16x8},
}

var packedQ8Kernels = [MaxPackedK + 1]packedQ8Kernel{nil, packedQ8x1, packedQ8x2, packedQ8x3, packedQ8x4, packedQ8x5, packedQ8x6, packedQ8x7, packedQ8x8}

var packedQ4Kernels = [MaxPackedK + 1]packedQ8Kernel{nil, packedQ4x1, packedQ4x2, packedQ4x3, packedQ4x4, packedQ4x5, packedQ4x6, packedQ4x7, packedQ4x8}

// Packed float kernels (packed_amd64.s): tiles of 32 weight rows times the
// first N of up to eight activation rows; see packed.go.

//go:noescape
func packedF32x1(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)

//go:noescape
func packedF32x2(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)

//go:noescape
func packedF32x3(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)

//go:noescape
func packedF32x4(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)

//go:noescape
func packedF32x5(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)

//go:noescape
func packedF32x6(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)

//go:noescape
func packedF32x7(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)

//go:noescape
func packedF32x8(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)

//go:noescape
func packedF16x1(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)

//go:noescape
func packedF16x2(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)

//go:noescape
func packedF16x3(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)

//go:noescape
func packedF16x4(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)

//go:noescape
func packedF16x5(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)

//go:noescape
func packedF16x6(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)

//go:noescape
func packedF16x7(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)

//go:noescape
func packedF16x8(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)

//go:noescape
func packedBF16x1(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)

//go:noescape
func packedBF16x2(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)

//go:noescape
func packedBF16x3(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)

//go:noescape
func packedBF16x4(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)

//go:noescape
func packedBF16x5(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)

//go:noescape
func packedBF16x6(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)

//go:noescape
func packedBF16x7(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)

//go:noescape
func packedBF16x8(w *byte, gstride, pairs int, x *float32, xstride int, out *float32, ostride, tiles, mask int)

//go:noescape
func packedQ8x1(w *byte, gstride, blocks int, x *byte, xstride int, out *float32, ostride, units, mask int)

//go:noescape
func packedQ8x2(w *byte, gstride, blocks int, x *byte, xstride int, out *float32, ostride, units, mask int)

//go:noescape
func packedQ8x3(w *byte, gstride, blocks int, x *byte, xstride int, out *float32, ostride, units, mask int)

//go:noescape
func packedQ8x4(w *byte, gstride, blocks int, x *byte, xstride int, out *float32, ostride, units, mask int)

//go:noescape
func packedQ8x5(w *byte, gstride, blocks int, x *byte, xstride int, out *float32, ostride, units, mask int)

//go:noescape
func packedQ8x6(w *byte, gstride, blocks int, x *byte, xstride int, out *float32, ostride, units, mask int)

//go:noescape
func packedQ8x7(w *byte, gstride, blocks int, x *byte, xstride int, out *float32, ostride, units, mask int)

//go:noescape
func packedQ8x8(w *byte, gstride, blocks int, x *byte, xstride int, out *float32, ostride, units, mask int)

//go:noescape
func packedQ4x1(w *byte, gstride, blocks int, x *byte, xstride int, out *float32, ostride, units, mask int)

//go:noescape
func packedQ4x2(w *byte, gstride, blocks int, x *byte, xstride int, out *float32, ostride, units, mask int)

//go:noescape
func packedQ4x3(w *byte, gstride, blocks int, x *byte, xstride int, out *float32, ostride, units, mask int)

//go:noescape
func packedQ4x4(w *byte, gstride, blocks int, x *byte, xstride int, out *float32, ostride, units, mask int)

//go:noescape
func packedQ4x5(w *byte, gstride, blocks int, x *byte, xstride int, out *float32, ostride, units, mask int)

//go:noescape
func packedQ4x6(w *byte, gstride, blocks int, x *byte, xstride int, out *float32, ostride, units, mask int)

//go:noescape
func packedQ4x7(w *byte, gstride, blocks int, x *byte, xstride int, out *float32, ostride, units, mask int)

//go:noescape
func packedQ4x8(w *byte, gstride, blocks int, x *byte, xstride int, out *float32, ostride, units, mask int)
