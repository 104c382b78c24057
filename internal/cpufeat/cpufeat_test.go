package cpufeat

import "testing"

func TestParse(t *testing.T) {
	for v, want := range map[string]Level{"off": Generic, "none": Generic, "generic": Generic, "avx2": AVX2, "avx512": AVX512, "": AVX512} {
		if got := Parse(v); got != want {
			t.Errorf("Parse(%q) = %v, want %v", v, got, want)
		}
	}
	if AVX2.String() != "avx2" || Generic.String() != "generic" {
		t.Errorf("String: %v %v", AVX2, Generic)
	}
}
