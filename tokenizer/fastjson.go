package tokenizer

import (
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Fast readers for the two big shapes of tokenizer.json, the vocabulary
// ({"token": id, ...}) and the merges (["a b", ...] or [["a", "b"], ...]),
// which encoding/json decodes several times slower. On any input they do not
// understand they fail, and the caller falls back to encoding/json, which
// also produces the error message.

var errFastJSON = errors.New("fastjson: unsupported input")

type jsonScan struct {
	b []byte
	i int
}

func (s *jsonScan) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *jsonScan) expect(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *jsonScan) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *jsonScan) str() (string, error) {
	if !s.expect('"') {
		return "", errFastJSON
	}
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			v := string(s.b[start:s.i])
			s.i++
			if !utf8.ValidString(v) {
				return "", errFastJSON
			}
			return v, nil
		case c == '\\':
			return s.strSlow(start)
		case c < 0x20:
			return "", errFastJSON
		}
		s.i++
	}
	return "", errFastJSON
}

// strSlow decodes a string with escapes, from its first byte at start.
func (s *jsonScan) strSlow(start int) (string, error) {
	out := append([]byte(nil), s.b[start:s.i]...)
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			if !utf8.Valid(out) {
				return "", errFastJSON
			}
			return string(out), nil
		case c < 0x20:
			return "", errFastJSON
		case c != '\\':
			out = append(out, c)
			s.i++
			continue
		}
		if s.i+1 >= len(s.b) {
			return "", errFastJSON
		}
		e := s.b[s.i+1]
		s.i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := s.hex4()
			if !ok {
				return "", errFastJSON
			}
			if utf16.IsSurrogate(r) {
				// A pair makes one character; a lone half is U+FFFD, as in
				// encoding/json.
				if s.i+1 < len(s.b) && s.b[s.i] == '\\' && s.b[s.i+1] == 'u' {
					save := s.i
					s.i += 2
					r2, ok := s.hex4()
					if d := utf16.DecodeRune(r, r2); ok && d != utf8.RuneError {
						r = d
					} else {
						s.i = save
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", errFastJSON
		}
	}
	return "", errFastJSON
}

func (s *jsonScan) hex4() (rune, bool) {
	if s.i+4 > len(s.b) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(s.b[s.i:s.i+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	s.i += 4
	return rune(v), true
}

func (s *jsonScan) int() (int, error) {
	s.ws()
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	v, err := strconv.Atoi(string(s.b[start:s.i]))
	if err != nil {
		return 0, errFastJSON
	}
	return v, nil
}

func (s *jsonScan) end() error {
	s.ws()
	if s.i != len(s.b) {
		return errFastJSON
	}
	return nil
}

// fastVocab reads {"token": id, ...}. A repeated key keeps its last id, as
// encoding/json does.
func fastVocab(b []byte) (map[string]int, error) {
	s := &jsonScan{b: b}
	if !s.expect('{') {
		return nil, errFastJSON
	}
	m := make(map[string]int, len(b)/16)
	if s.expect('}') {
		return m, s.end()
	}
	for {
		k, err := s.str()
		if err != nil {
			return nil, err
		}
		if !s.expect(':') {
			return nil, errFastJSON
		}
		v, err := s.int()
		if err != nil {
			return nil, err
		}
		m[k] = v
		if s.expect(',') {
			continue
		}
		if s.expect('}') {
			return m, s.end()
		}
		return nil, errFastJSON
	}
}

// fastMerges reads a list of "a b" strings or of [a, b] pairs. Strings are
// returned as pairs with the second element empty, for the caller to split.
func fastMerges(b []byte) (strs []string, pairs [][2]string, err error) {
	s := &jsonScan{b: b}
	if !s.expect('[') {
		return nil, nil, errFastJSON
	}
	if s.expect(']') {
		return nil, nil, s.end()
	}
	asPairs := s.peek() == '['
	for {
		if asPairs {
			var p [2]string
			if !s.expect('[') {
				return nil, nil, errFastJSON
			}
			if p[0], err = s.str(); err != nil {
				return nil, nil, err
			}
			if !s.expect(',') {
				return nil, nil, errFastJSON
			}
			if p[1], err = s.str(); err != nil {
				return nil, nil, err
			}
			if !s.expect(']') {
				return nil, nil, errFastJSON
			}
			pairs = append(pairs, p)
		} else {
			v, err := s.str()
			if err != nil {
				return nil, nil, err
			}
			strs = append(strs, v)
		}
		if s.expect(',') {
			continue
		}
		if s.expect(']') {
			return strs, pairs, s.end()
		}
		return nil, nil, errFastJSON
	}
}
