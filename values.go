package dredge

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"unicode/utf8"

	"github.com/dredge-cli/dredge/internal/jsonx"
)

// Values is one named input of an inference request: a flat column of
// numbers (Width 0) or rows of Width numbers each, stored row-major.
type Values struct {
	Data  []float64
	Width int
}

// Column returns a flat column of values.
func Column(v ...float64) Values { return Values{Data: v} }

// Rows returns row-major values from rows of equal width.
func Rows(rows ...[]float64) Values {
	if len(rows) == 0 {
		return Values{}
	}
	w := len(rows[0])
	d := make([]float64, 0, len(rows)*w)
	for _, r := range rows {
		d = append(d, r...)
	}
	return Values{Data: d, Width: w}
}

// MarshalJSON encodes a flat column as an array and rows as an array of arrays.
func (v Values) MarshalJSON() ([]byte, error) {
	return appendMatrix(nil, v.Data, v.Width)
}

// UnmarshalJSON decodes an array of numbers or an array of equally long
// arrays of numbers. Errors are *FieldError values naming the element
// ("[3]", or "[2][1]" in rows).
func (v *Values) UnmarshalJSON(b []byte) error {
	s := numScanner{b: b}
	if s.peek() != '[' {
		return invalid("inputs", "must be an array of numbers or an array of arrays of numbers")
	}
	m, err := s.matrix("")
	if err == nil {
		err = s.end("inputs")
	}
	if err != nil {
		return err
	}
	*v = m
	return nil
}

// Inputs are the named inputs of an inference request: "x" and "t" for the
// 1D waves, "x", "y", "z", "t" for 4D, "x1" … "x5", "t" for 6D; "x" rows
// (and "t" for the interference basis) for the other models. A JSON array
// in place of the object is taken as {"x": array}.
type Inputs map[string]Values

// UnmarshalJSON decodes the inputs object in one pass over b, naming the
// field of any error as inputs.<name>[i] (inputs.<name>[i][j] in rows).
// null gives nil Inputs.
func (in *Inputs) UnmarshalJSON(b []byte) error {
	s := numScanner{b: b}
	switch s.peek() {
	case '[':
		m, err := s.matrix("inputs")
		if err == nil {
			err = s.end("inputs")
		}
		if err != nil {
			return err
		}
		*in = Inputs{"x": m}
		return nil
	case 'n':
		if s.word("null") {
			if err := s.end("inputs"); err != nil {
				return err
			}
			*in = nil
			return nil
		}
	case '{':
		out, err := s.inputs()
		if err == nil {
			err = s.end("inputs")
		}
		if err != nil {
			return err
		}
		*in = out
		return nil
	}
	return invalid("inputs", "must be an object of named arrays of numbers")
}

// Floats is a list of numbers that decodes strictly from JSON: null,
// strings, booleans and numbers out of the float64 range in the array are
// errors (a *json.UnmarshalTypeError whose Field is the element, "[1]"),
// where a plain []float64 would read null as 0.
type Floats []float64

// UnmarshalJSON implements json.Unmarshaler.
func (f *Floats) UnmarshalJSON(b []byte) error {
	return strictArray(b, (*Floats)(f), (*numScanner).floats, floatType)
}

// Ints is a list of integers that decodes strictly from JSON: null,
// strings, booleans, fractions and numbers out of the int range in the
// array are errors (a *json.UnmarshalTypeError whose Field is the element,
// "[0]"), where a plain []int would read null as 0.
type Ints []int

// UnmarshalJSON implements json.Unmarshaler.
func (n *Ints) UnmarshalJSON(b []byte) error {
	return strictArray(b, (*Ints)(n), (*numScanner).ints, intType)
}

// strictArray decodes the JSON array b into *dst with read, reporting a
// bad element as a *json.UnmarshalTypeError of elem on "[i]".
func strictArray[S ~[]E, E any](b []byte, dst *S, read func(*numScanner, []E) ([]E, *badElement), elem reflect.Type) error {
	s := numScanner{b: b}
	if s.peek() != '[' {
		return &json.UnmarshalTypeError{Value: s.what(), Type: reflect.SliceOf(elem)}
	}
	v, bad := read(&s, make([]E, 0, 4))
	if bad == nil {
		bad = s.rest()
	}
	if bad != nil {
		return bad.typeError(elem)
	}
	*dst = v
	return nil
}

// A numScanner reads JSON arrays of numbers straight from their bytes, in
// one pass and without reflection: the float matrices of inference inputs
// are the one place where encoding/json's cost shows. It checks the JSON
// it reads (whatever calls UnmarshalJSON may pass any bytes) and stops at
// the first fault.
type numScanner struct {
	b []byte
	i int
}

// badElement reports what stands where a number should be.
type badElement struct {
	path string // the element: "[1]", "[2][1]"; "" for the value itself
	got  string // what is there: "null", "true", "string", "1e400"
	num  bool   // got is a number literal that does not fit
}

// floatType and intType are the element types that typeError reports.
var (
	floatType = reflect.TypeFor[float64]()
	intType   = reflect.TypeFor[int]()
)

// typeError returns b as encoding/json reports a type mismatch, so that
// it prefixes the struct field's path to the element's.
func (b *badElement) typeError(t reflect.Type) error {
	v := b.got
	if b.num {
		v = "number " + v
	}
	return &json.UnmarshalTypeError{Value: v, Type: t, Field: b.path}
}

// fieldError returns b as a *FieldError of the element of field.
func (b *badElement) fieldError(field string) error {
	if b.got == "malformed JSON" {
		return invalid(field+b.path, "malformed JSON")
	}
	if b.num {
		return invalid(field+b.path, "must be a finite number, got %s", b.got)
	}
	return invalid(field+b.path, "must be a number, got %s", b.got)
}

func (s *numScanner) skipSpace() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek skips space and returns the next byte, or 0 at the end.
func (s *numScanner) peek() byte {
	s.skipSpace()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// word reads the literal w if it comes next.
func (s *numScanner) word(w string) bool {
	if bytes.HasPrefix(s.b[s.i:], []byte(w)) {
		s.i += len(w)
		return true
	}
	return false
}

// end reports anything but space after the value as an error of field.
func (s *numScanner) end(field string) error {
	if s.skipSpace(); s.i < len(s.b) {
		return invalid(field, "malformed JSON at byte %d", s.i)
	}
	return nil
}

// rest is end for the strict lists.
func (s *numScanner) rest() *badElement {
	if s.skipSpace(); s.i < len(s.b) {
		return &badElement{got: "malformed JSON"}
	}
	return nil
}

// what names the JSON value that starts at the next byte.
func (s *numScanner) what() string {
	switch c := s.peek(); {
	case c == 'n' && s.word("null"):
		return "null"
	case c == 't' && s.word("true"):
		return "true"
	case c == 'f' && s.word("false"):
		return "false"
	case c == '"':
		return "string"
	case c == '[':
		return "array"
	case c == '{':
		return "object"
	case c == '-' || c >= '0' && c <= '9':
		start := s.i
		if lit, ok := s.literal(); ok {
			return truncate(string(lit), 32)
		}
		s.i = start
	}
	return "malformed JSON"
}

// literal reads a JSON number literal.
func (s *numScanner) literal() ([]byte, bool) {
	b, i := s.b, s.i
	digits := func() bool {
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return nil, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return nil, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return nil, false
		}
	}
	lit := b[s.i:i]
	s.i = i
	return lit, true
}

// bad reports the element at index i, which is not a number that fits.
func (s *numScanner) bad(i int) *badElement {
	e := &badElement{path: "[" + strconv.Itoa(i) + "]"}
	c := s.peek()
	e.got = s.what()
	e.num = c == '-' || c >= '0' && c <= '9'
	if e.num && e.got == "malformed JSON" {
		e.num = false
	}
	return e
}

// elements reads a JSON array at the next byte ('['), calling elem for
// each element (with the scanner at it) until elem or the syntax fails.
func (s *numScanner) elements(elem func(i int) *badElement) *badElement {
	s.i++ // '['
	if s.peek() == ']' {
		s.i++
		return nil
	}
	for i := 0; ; i++ {
		s.skipSpace()
		if bad := elem(i); bad != nil {
			return bad
		}
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			return nil
		default:
			return &badElement{path: "[" + strconv.Itoa(i) + "]", got: "malformed JSON"}
		}
	}
}

// floats appends the finite numbers of the JSON array at the next byte
// to dst.
func (s *numScanner) floats(dst []float64) ([]float64, *badElement) {
	bad := s.elements(func(i int) *badElement {
		lit, ok := s.literal()
		if !ok {
			return s.bad(i)
		}
		f, err := strconv.ParseFloat(string(lit), 64)
		if err != nil || math.IsInf(f, 0) {
			return &badElement{path: "[" + strconv.Itoa(i) + "]", got: truncate(string(lit), 32), num: true}
		}
		dst = append(dst, f)
		return nil
	})
	return dst, bad
}

// ints appends the integers of the JSON array at the next byte to dst.
func (s *numScanner) ints(dst []int) ([]int, *badElement) {
	bad := s.elements(func(i int) *badElement {
		lit, ok := s.literal()
		if !ok {
			return s.bad(i)
		}
		n, err := strconv.ParseInt(string(lit), 10, strconv.IntSize)
		if err != nil {
			return &badElement{path: "[" + strconv.Itoa(i) + "]", got: truncate(string(lit), 32), num: true}
		}
		dst = append(dst, int(n))
		return nil
	})
	return dst, bad
}

// maxNesting bounds the nesting of a parameter's arrays.
const maxNesting = 32

// nested appends the numbers of a number or a nested array of numbers at
// the next byte to dst, flattened.
func (s *numScanner) nested(dst []float64, depth int) ([]float64, *badElement) {
	if s.peek() != '[' {
		lit, ok := s.literal()
		if !ok {
			bad := s.bad(0)
			bad.path = "" // the value itself
			return dst, bad
		}
		f, err := strconv.ParseFloat(string(lit), 64)
		if err != nil || math.IsInf(f, 0) {
			return dst, &badElement{got: truncate(string(lit), 32), num: true}
		}
		return append(dst, f), nil
	}
	if depth >= maxNesting {
		return dst, &badElement{got: "arrays nested deeper than " + strconv.Itoa(maxNesting)}
	}
	bad := s.elements(func(i int) *badElement {
		var bad *badElement
		if s.peek() == '[' {
			if dst, bad = s.nested(dst, depth+1); bad != nil {
				bad.path = "[" + strconv.Itoa(i) + "]" + bad.path
			}
			return bad
		}
		lit, ok := s.literal()
		if !ok {
			return s.bad(i)
		}
		f, err := strconv.ParseFloat(string(lit), 64)
		if err != nil || math.IsInf(f, 0) {
			return &badElement{path: "[" + strconv.Itoa(i) + "]", got: truncate(string(lit), 32), num: true}
		}
		dst = append(dst, f)
		return nil
	})
	return dst, bad
}

// matrix reads an array of numbers (Width 0) or of arrays of numbers of
// one width at the next byte ('['), naming any error's element in field.
func (s *numScanner) matrix(field string) (Values, error) {
	start := s.i
	s.i++
	rows := s.peek() == '['
	s.i = start
	if !rows {
		d, bad := s.floats(make([]float64, 0, 16))
		if bad != nil {
			return Values{}, bad.fieldError(field)
		}
		return Values{Data: d}, nil
	}
	width := -1
	var data []float64
	var rowErr error
	bad := s.elements(func(r int) *badElement {
		if s.peek() != '[' {
			rowErr = invalid(field+"["+strconv.Itoa(r)+"]", "must be an array of numbers, got %s", s.what())
			return &badElement{}
		}
		n := len(data)
		var bad *badElement
		if data, bad = s.floats(data); bad != nil {
			bad.path = "[" + strconv.Itoa(r) + "]" + bad.path
			return bad
		}
		switch n = len(data) - n; {
		case n == 0 && r == 0:
			rowErr = invalid(field+"[0]", "rows must not be empty")
		case r == 0:
			width = n
		case n != width:
			rowErr = invalid(field+"["+strconv.Itoa(r)+"]", "row has %d values, the first row has %d", n, width)
		}
		if rowErr != nil {
			return &badElement{}
		}
		return nil
	})
	switch {
	case rowErr != nil:
		return Values{}, rowErr
	case bad != nil:
		return Values{}, bad.fieldError(field)
	}
	return Values{Data: data, Width: width}, nil
}

// inputs reads the object of named matrices at the next byte ('{').
func (s *numScanner) inputs() (Inputs, error) {
	out := make(Inputs)
	s.i++ // '{'
	if s.peek() == '}' {
		s.i++
		return out, nil
	}
	for {
		if s.peek() != '"' {
			return nil, invalid("inputs", "malformed JSON at byte %d", s.i)
		}
		name, ok := s.key()
		if !ok || s.peek() != ':' {
			return nil, invalid("inputs", "malformed JSON at byte %d", s.i)
		}
		s.i++
		field := "inputs." + truncate(name, 32)
		if s.peek() != '[' {
			return nil, invalid(field, "must be an array of numbers or an array of arrays of numbers, got %s", s.what())
		}
		m, err := s.matrix(field)
		if err != nil {
			return nil, err
		}
		out[name] = m
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return out, nil
		default:
			return nil, invalid("inputs", "malformed JSON at byte %d", s.i)
		}
	}
}

// key reads the JSON string at the next byte ('"').
func (s *numScanner) key() (string, bool) {
	start := s.i
	plain := true
	for s.i++; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			if plain {
				return string(s.b[start+1 : s.i-1]), true
			}
			// Escapes, control bytes and non-ASCII: as encoding/json reads them.
			var k string
			err := jsonx.Unmarshal(s.b[start:s.i], &k)
			return k, err == nil
		case c == '\\':
			plain = false
			s.i++
		case c < 0x20 || c >= utf8.RuneSelf:
			plain = false
		}
	}
	return "", false
}
