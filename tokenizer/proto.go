package tokenizer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// A minimal protobuf wire-format reader, enough for sentencepiece's
// ModelProto. Unknown fields are skipped, as protobuf requires.

const (
	wireVarint = 0
	wireI64    = 1
	wireLen    = 2
	wireI32    = 5
)

type protoField struct {
	num  int
	wire int
	u    uint64 // varint, i32 and i64 values
	b    []byte // length-delimited payload
}

type protoReader struct {
	data []byte
	off  int
}

var errTruncated = errors.New("truncated protobuf message")

func (r *protoReader) varint() (uint64, error) {
	var v uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if r.off >= len(r.data) {
			return 0, errTruncated
		}
		c := r.data[r.off]
		r.off++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v, nil
		}
	}
	return 0, errors.New("protobuf varint longer than 10 bytes")
}

// next returns the next field, or ok=false at the end of the message.
func (r *protoReader) next() (f protoField, ok bool, err error) {
	if r.off >= len(r.data) {
		return f, false, nil
	}
	key, err := r.varint()
	if err != nil {
		return f, false, err
	}
	f.num = int(key >> 3)
	f.wire = int(key & 7)
	if f.num <= 0 || key>>3 > math.MaxInt32 {
		return f, false, fmt.Errorf("invalid protobuf field number %d at offset %d", key>>3, r.off)
	}
	switch f.wire {
	case wireVarint:
		f.u, err = r.varint()
	case wireI64:
		if len(r.data)-r.off < 8 {
			return f, false, errTruncated
		}
		f.u = binary.LittleEndian.Uint64(r.data[r.off:])
		r.off += 8
	case wireI32:
		if len(r.data)-r.off < 4 {
			return f, false, errTruncated
		}
		f.u = uint64(binary.LittleEndian.Uint32(r.data[r.off:]))
		r.off += 4
	case wireLen:
		var n uint64
		n, err = r.varint()
		if err == nil && n > uint64(len(r.data)-r.off) {
			err = errTruncated
		}
		if err == nil {
			f.b = r.data[r.off : r.off+int(n)]
			r.off += int(n)
		}
	default:
		// Groups (3, 4) are long deprecated and never used by sentencepiece.
		return f, false, fmt.Errorf("unsupported protobuf wire type %d for field %d", f.wire, f.num)
	}
	if err != nil {
		return f, false, err
	}
	return f, true, nil
}

// Piece types of sentencepiece's ModelProto.SentencePiece.Type, which GGUF's
// tokenizer.ggml.token_type reuses.
const (
	typeNormal      = 1
	typeUnknown     = 2
	typeControl     = 3
	typeUserDefined = 4
	typeUnused      = 5
	typeByte        = 6
)

type spProto struct {
	pieces []string
	scores []float32
	types  []int32

	modelType               int // 1 unigram, 2 BPE, 3 word, 4 char
	byteFallback            bool
	treatWhitespaceAsSuffix bool
	unkID, bosID, eosID     int
	unkSurface              string

	normName         string
	charsmap         []byte
	addDummyPrefix   bool
	removeExtraWS    bool
	escapeWhitespace bool
}

// parseSPModel decodes a sentencepiece ModelProto.
func parseSPModel(data []byte) (*spProto, error) {
	m := &spProto{
		modelType: 1, unkID: 0, bosID: 1, eosID: 2,
		unkSurface:     " \u2047 ",
		addDummyPrefix: true, removeExtraWS: true, escapeWhitespace: true,
	}
	r := protoReader{data: data}
	sawNormalizer := false
	for {
		f, ok, err := r.next()
		if err != nil {
			return nil, fmt.Errorf("ModelProto: %w", err)
		}
		if !ok {
			break
		}
		switch f.num {
		case 1:
			if f.wire != wireLen {
				return nil, fmt.Errorf("ModelProto.pieces: wire type %d, want length-delimited", f.wire)
			}
			if err := m.parsePiece(f.b); err != nil {
				return nil, fmt.Errorf("ModelProto.pieces[%d]: %w", len(m.pieces), err)
			}
		case 2:
			if f.wire != wireLen {
				return nil, fmt.Errorf("ModelProto.trainer_spec: wire type %d, want length-delimited", f.wire)
			}
			if err := m.parseTrainer(f.b); err != nil {
				return nil, fmt.Errorf("ModelProto.trainer_spec: %w", err)
			}
		case 3:
			if f.wire != wireLen {
				return nil, fmt.Errorf("ModelProto.normalizer_spec: wire type %d, want length-delimited", f.wire)
			}
			sawNormalizer = true
			if err := m.parseNormalizer(f.b); err != nil {
				return nil, fmt.Errorf("ModelProto.normalizer_spec: %w", err)
			}
		}
	}
	if len(m.pieces) == 0 {
		return nil, errors.New("ModelProto has no pieces (not a sentencepiece model?)")
	}
	if !sawNormalizer {
		// Every model written by spm_train has one; its absence means the
		// bytes are most likely not a ModelProto at all.
		return nil, errors.New("ModelProto has no normalizer_spec (not a sentencepiece model?)")
	}
	return m, nil
}

func (m *spProto) parsePiece(b []byte) error {
	r := protoReader{data: b}
	piece, score, typ := "", float32(0), int32(typeNormal)
	havePiece := false
	for {
		f, ok, err := r.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		switch {
		case f.num == 1 && f.wire == wireLen:
			piece, havePiece = string(f.b), true
		case f.num == 2 && f.wire == wireI32:
			score = math.Float32frombits(uint32(f.u))
		case f.num == 3 && f.wire == wireVarint:
			if f.u < typeNormal || f.u > typeByte {
				return fmt.Errorf("piece %q: invalid type %d", piece, f.u)
			}
			typ = int32(f.u)
		case f.num <= 3:
			return fmt.Errorf("field %d has wire type %d", f.num, f.wire)
		}
	}
	if !havePiece {
		return errors.New("piece without text")
	}
	m.pieces = append(m.pieces, piece)
	m.scores = append(m.scores, score)
	m.types = append(m.types, typ)
	return nil
}

func int32Field(f protoField) int {
	// int32 fields are varint-encoded two's complement, sign-extended to 64 bits.
	return int(int32(uint32(f.u)))
}

func (m *spProto) parseTrainer(b []byte) error {
	r := protoReader{data: b}
	for {
		f, ok, err := r.next()
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		if f.wire == wireVarint {
			switch f.num {
			case 3:
				m.modelType = int(f.u)
			case 24:
				m.treatWhitespaceAsSuffix = f.u != 0
			case 35:
				m.byteFallback = f.u != 0
			case 40:
				m.unkID = int32Field(f)
			case 41:
				m.bosID = int32Field(f)
			case 42:
				m.eosID = int32Field(f)
			}
		} else if f.wire == wireLen && f.num == 44 {
			m.unkSurface = string(f.b)
		}
	}
}

func (m *spProto) parseNormalizer(b []byte) error {
	r := protoReader{data: b}
	for {
		f, ok, err := r.next()
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		switch {
		case f.num == 1 && f.wire == wireLen:
			m.normName = string(f.b)
		case f.num == 2 && f.wire == wireLen:
			m.charsmap = f.b
		case f.num == 3 && f.wire == wireVarint:
			m.addDummyPrefix = f.u != 0
		case f.num == 4 && f.wire == wireVarint:
			m.removeExtraWS = f.u != 0
		case f.num == 5 && f.wire == wireVarint:
			m.escapeWhitespace = f.u != 0
		}
	}
}
