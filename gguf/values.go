package gguf

import "math"

// String returns a string value.
func (f *File) String(key string) (string, bool) {
	v, ok := f.values[key].(string)
	return v, ok
}

// Bool returns a bool value.
func (f *File) Bool(key string) (bool, bool) {
	v, ok := f.values[key].(bool)
	return v, ok
}

// Uint returns an integer value of any integer type that is non-negative.
func (f *File) Uint(key string) (uint64, bool) { return toUint(f.values[key]) }

// Int returns an integer value of any integer type that fits in an int64.
func (f *File) Int(key string) (int64, bool) { return toInt(f.values[key]) }

// Float returns a value of any numeric type as a float64.
func (f *File) Float(key string) (float64, bool) {
	switch v := f.values[key].(type) {
	case float32:
		return float64(v), true
	case float64:
		return v, true
	}
	if i, ok := toInt(f.values[key]); ok {
		return float64(i), true
	}
	if u, ok := toUint(f.values[key]); ok {
		return float64(u), true
	}
	return 0, false
}

// Strings returns a string array.
func (f *File) Strings(key string) ([]string, bool) {
	v, ok := f.values[key].([]string)
	return v, ok
}

// Float32s returns a numeric array of any element type converted to
// float32. A float32 array is returned without copying.
func (f *File) Float32s(key string) ([]float32, bool) {
	switch v := f.values[key].(type) {
	case []float32:
		return v, true
	case []float64:
		return convert(v, func(x float64) (float32, bool) { return float32(x), true })
	}
	return convertInts(f.values[key], func(x int64) (float32, bool) { return float32(x), true },
		func(x uint64) (float32, bool) { return float32(x), true })
}

// Int32s returns an integer array of any element type converted to int32;
// it fails when an element does not fit. An int32 array is returned without
// copying.
func (f *File) Int32s(key string) ([]int32, bool) {
	if v, ok := f.values[key].([]int32); ok {
		return v, true
	}
	return convertInts(f.values[key],
		func(x int64) (int32, bool) { return int32(x), x >= math.MinInt32 && x <= math.MaxInt32 },
		func(x uint64) (int32, bool) { return int32(x), x <= math.MaxInt32 })
}

func convert[S, D any](s []S, f func(S) (D, bool)) ([]D, bool) {
	out := make([]D, len(s))
	for i, x := range s {
		var ok bool
		if out[i], ok = f(x); !ok {
			return nil, false
		}
	}
	return out, true
}

func convertInts[D any](v any, fromInt func(int64) (D, bool), fromUint func(uint64) (D, bool)) ([]D, bool) {
	switch s := v.(type) {
	case []uint8:
		return convert(s, func(x uint8) (D, bool) { return fromUint(uint64(x)) })
	case []int8:
		return convert(s, func(x int8) (D, bool) { return fromInt(int64(x)) })
	case []uint16:
		return convert(s, func(x uint16) (D, bool) { return fromUint(uint64(x)) })
	case []int16:
		return convert(s, func(x int16) (D, bool) { return fromInt(int64(x)) })
	case []uint32:
		return convert(s, func(x uint32) (D, bool) { return fromUint(uint64(x)) })
	case []int32:
		return convert(s, func(x int32) (D, bool) { return fromInt(int64(x)) })
	case []uint64:
		return convert(s, fromUint)
	case []int64:
		return convert(s, fromInt)
	}
	return nil, false
}

func toUint(v any) (uint64, bool) {
	switch x := v.(type) {
	case uint8:
		return uint64(x), true
	case uint16:
		return uint64(x), true
	case uint32:
		return uint64(x), true
	case uint64:
		return x, true
	}
	if i, ok := toInt(v); ok && i >= 0 {
		return uint64(i), true
	}
	return 0, false
}

func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), true
		}
	}
	return 0, false
}
