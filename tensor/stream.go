package tensor

import "encoding/binary"

// SumWords returns the sum (mod 2^64) of b read as little-endian 64-bit
// words, the last partial word zero-padded. Its point is the read: it
// streams b at the speed memory delivers it, which is what a memory-bound
// decode step can hope for, so `d3 bench` uses it to measure the
// bandwidth its decode speed is held against.
func SumWords(b []byte) uint64 {
	var s uint64
	if simd >= levelAVX2 && len(b) >= 128 {
		n := len(b) &^ 127
		s = sumWordsAVX2(&b[0], n)
		b = b[n:]
	}
	return s + sumWordsGo(b)
}

func sumWordsGo(b []byte) uint64 {
	var s0, s1, s2, s3 uint64
	for len(b) >= 32 {
		s0 += binary.LittleEndian.Uint64(b)
		s1 += binary.LittleEndian.Uint64(b[8:])
		s2 += binary.LittleEndian.Uint64(b[16:])
		s3 += binary.LittleEndian.Uint64(b[24:])
		b = b[32:]
	}
	for len(b) >= 8 {
		s0 += binary.LittleEndian.Uint64(b)
		b = b[8:]
	}
	var last [8]byte
	copy(last[:], b)
	return s0 + s1 + s2 + s3 + binary.LittleEndian.Uint64(last[:])
}
