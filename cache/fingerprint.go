package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"reflect"
	"slices"
)

// Fingerprint returns the hex SHA-256 of a canonical binary encoding of v,
// for use in cache keys and as a parameter version.
//
// Equal values give equal fingerprints whatever the map iteration order:
// map entries are sorted by their encoded keys. Floats are encoded by their
// IEEE-754 bits (float32 widened to float64), so 0.1 and 0.1000000001 differ
// and -0 differs from +0; NaN and ±Inf are ErrInvalidArgument. Every value
// carries a kind tag, so the string "1", the int 1 and the float 1 differ;
// ints of every size are one kind, as are uints. Nil and empty slices and maps
// are equal. Pointers and interfaces are followed (a nil one encodes as
// nil); struct fields are encoded by name, unexported ones skipped.
// Channels, functions and unsafe pointers, and nesting deeper than 64, are
// ErrInvalidArgument.
//
// The encoding, which key strings depend on (a change needs a new key
// format version): nil 'n'; false 'F', true 'T'; integers 'i' and uints 'u'
// then 8 bytes big-endian; floats 'f' then the 8 bytes of math.Float64bits
// big-endian; complex 'c' then two floats; strings 's', uvarint length,
// bytes; slices and arrays 'l', uvarint length, elements; maps 'm', uvarint
// length, then key and value encodings sorted by key encoding; structs 'S',
// uvarint number of exported fields, then name (as a string) and value of
// each in declaration order.
//
// Fingerprint is safe for concurrent use.
func Fingerprint(v any) (string, error) {
	var e encoder
	if err := e.encode(v); err != nil {
		return "", err
	}
	sum := sha256.Sum256(e.buf)
	return hex.EncodeToString(sum[:]), nil
}

// Tags of the canonical encoding.
const (
	tagNil    = 'n'
	tagFalse  = 'F'
	tagTrue   = 'T'
	tagInt    = 'i'
	tagUint   = 'u'
	tagFloat  = 'f'
	tagCplx   = 'c'
	tagString = 's'
	tagList   = 'l'
	tagMap    = 'm'
	tagStruct = 'S'
)

const maxFingerprintDepth = 64

type encoder struct {
	buf   []byte
	depth int
}

func (e *encoder) uvarint(n uint64) { e.buf = binary.AppendUvarint(e.buf, n) }

func (e *encoder) str(s string) {
	e.header(tagString, len(s))
	e.buf = append(e.buf, s...)
}

func (e *encoder) float(f float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("cache: fingerprint of %v: %w", f, ErrInvalidArgument)
	}
	e.buf = append(e.buf, tagFloat)
	e.buf = binary.BigEndian.AppendUint64(e.buf, math.Float64bits(f))
	return nil
}

// header writes a tag and its count: the elements of a list, map or
// struct, the bytes of a string.
func (e *encoder) header(tag byte, n int) {
	e.buf = append(e.buf, tag)
	e.uvarint(uint64(n))
}

func (e *encoder) floats(fs []float64) error {
	e.header(tagList, len(fs))
	for _, f := range fs {
		if err := e.float(f); err != nil {
			return err
		}
	}
	return nil
}

func (e *encoder) int(n int64) {
	e.buf = append(e.buf, tagInt)
	e.buf = binary.BigEndian.AppendUint64(e.buf, uint64(n))
}

func (e *encoder) ints(v []int) {
	e.header(tagList, len(v))
	for _, n := range v {
		e.int(int64(n))
	}
}

// encode has fast paths for common types and falls back to reflection.
func (e *encoder) encode(v any) error {
	switch v := v.(type) {
	case nil:
		e.buf = append(e.buf, tagNil)
	case string:
		e.str(v)
	case float64:
		return e.float(v)
	case int:
		e.int(int64(v))
	case []float64:
		return e.floats(v)
	case [][]float64:
		e.header(tagList, len(v))
		for _, row := range v {
			if err := e.floats(row); err != nil {
				return err
			}
		}
	case []int:
		e.ints(v)
	default:
		return e.value(reflect.ValueOf(v))
	}
	return nil
}

func (e *encoder) value(v reflect.Value) error {
	e.depth++
	defer func() { e.depth-- }()
	if e.depth > maxFingerprintDepth {
		return fmt.Errorf("cache: fingerprint: nesting deeper than %d: %w", maxFingerprintDepth, ErrInvalidArgument)
	}
	switch v.Kind() {
	case reflect.Invalid:
		e.buf = append(e.buf, tagNil)
	case reflect.Bool:
		if v.Bool() {
			e.buf = append(e.buf, tagTrue)
		} else {
			e.buf = append(e.buf, tagFalse)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.int(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		e.buf = append(e.buf, tagUint)
		e.buf = binary.BigEndian.AppendUint64(e.buf, v.Uint())
	case reflect.Float32, reflect.Float64:
		return e.float(v.Float())
	case reflect.Complex64, reflect.Complex128:
		c := v.Complex()
		e.buf = append(e.buf, tagCplx)
		if err := e.float(real(c)); err != nil {
			return err
		}
		return e.float(imag(c))
	case reflect.String:
		e.str(v.String())
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			e.buf = append(e.buf, tagNil)
			return nil
		}
		return e.value(v.Elem())
	case reflect.Slice, reflect.Array:
		e.header(tagList, v.Len())
		for i := range v.Len() {
			if err := e.value(v.Index(i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		type pair struct{ k, v []byte }
		pairs := make([]pair, 0, v.Len())
		for it := v.MapRange(); it.Next(); {
			k, err := e.sub(it.Key())
			if err != nil {
				return err
			}
			val, err := e.sub(it.Value())
			if err != nil {
				return err
			}
			pairs = append(pairs, pair{k, val})
		}
		slices.SortFunc(pairs, func(a, b pair) int { return bytes.Compare(a.k, b.k) })
		e.header(tagMap, len(pairs))
		for _, p := range pairs {
			e.buf = append(e.buf, p.k...)
			e.buf = append(e.buf, p.v...)
		}
	case reflect.Struct:
		t := v.Type()
		n := 0
		for i := range t.NumField() {
			if t.Field(i).IsExported() {
				n++
			}
		}
		e.header(tagStruct, n)
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() {
				e.str(f.Name)
				if err := e.value(v.Field(i)); err != nil {
					return err
				}
			}
		}
	default:
		return fmt.Errorf("cache: fingerprint of a %s: %w", v.Type(), ErrInvalidArgument)
	}
	return nil
}

// sub returns the encoding of v on its own, at e's depth.
func (e *encoder) sub(v reflect.Value) ([]byte, error) {
	s := encoder{depth: e.depth}
	err := s.value(v)
	return s.buf, err
}
