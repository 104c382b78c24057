package tensor

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func BenchmarkTmpL3(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	// 16 matrices of 768x256 bf16 (6 MB) + ... total ~25 MB, cycled so each pass comes from L3
	var ms []*Matrix
	for i := 0; i < 64; i++ {
		m := randomMatrix(rng, BF16, 768, 256)
		m.Pack()
		ms = append(ms, m)
	}
	x := randomVec(rng, 8*256)
	out := make([]float32, 8*768)
	for _, k := range []int{1, 2, 4, 5, 8} {
		b.Run(fmt.Sprintf("k=%d", k), func(b *testing.B) {
			for b.Loop() {
				for _, m := range ms {
					m.MulPacked(0, m.PackedTiles(), x, 256, k, out, 768)
				}
			}
			bytes := float64(len(ms) * 768 * 256 * 2)
			b.ReportMetric(bytes*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
			b.ReportMetric(bytes/2*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
		})
	}
}

func BenchmarkTmpDRAM(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	m := randomMatrix(rng, BF16, 1024, 2048)
	m.Pack()
	// 200 copies of the packed panel share data? no: build distinct matrices by copying the packed data
	var ms []*Matrix
	for i := 0; i < 100; i++ {
		c := &Matrix{Name: m.Name, Type: m.Type, Rows: m.Rows, Cols: m.Cols, RowBytes: m.RowBytes, Data: m.Data}
		c.packOnce.Do(func() {
			p := *m.packed
			p.data = append([]byte(nil), m.packed.data...)
			c.packed = &p
		})
		ms = append(ms, c)
	}
	x := randomVec(rng, 8*2048)
	out := make([]float32, 8*1024)
	for _, k := range []int{1, 4} {
		b.Run(fmt.Sprintf("k=%d", k), func(b *testing.B) {
			for b.Loop() {
				for _, m := range ms {
					m.MulPacked(0, m.PackedTiles(), x, 2048, k, out, 1024)
				}
			}
			bytes := float64(len(ms) * 1024 * 2048 * 2)
			b.ReportMetric(bytes*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
		})
	}
}
