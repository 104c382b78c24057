//go:build !amd64 || purego

package tensor

// No packed kernels: HasPacked is false without the assembly.
var packedKernels [3][MaxPackedK + 1]packedKernel

var packedQ8Kernels [MaxPackedK + 1]packedQ8Kernel

var packedQ4Kernels [MaxPackedK + 1]packedQ8Kernel
