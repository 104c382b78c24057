//go:build !unix

package tensor

func allocWeights(n int) ([]byte, bool) { return make([]byte, n), false }

func freeWeights(b []byte) {}
