package dredge

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf8"
)

// Hand-written decoders for the request envelope and the parameters of the
// operations on the hot path.
//
// A fast decoder either declines (returns false, leaving its receiver as it
// was) or decodes exactly as json.Unmarshal would: to the same value under
// reflect.DeepEqual. It reads a subset of JSON and declines the rest, valid
// or not, so that encoding/json decodes that and reports any error as it
// always has: the fast path never makes an error of its own. It declines
//   - keys with escapes or non-ASCII bytes, and keys that match a field only
//     case-insensitively (encoding/json matches keys to fields so, and with
//     Unicode folding: "ſ" (U+017F) matches "s", "K" (U+212A) matches "k");
//   - strings decoded into fields that hold escapes, control bytes or invalid
//     UTF-8 (which encoding/json would replace with U+FFFD);
//   - numbers that do not fit the field's type, values of the wrong type, and
//     null in an array;
//   - nesting deeper than maxFastDepth, and anything but JSON space after the
//     object.
//
// Values of unknown keys are skipped and fully validated, as encoding/json
// validates the whole input before it decodes. As in encoding/json, the last
// of duplicate keys wins and null leaves a non-pointer field unchanged.

// fastDecoder is implemented by the types with a fast decoder.
type fastDecoder interface {
	// decodeFast decodes the JSON object data into the receiver as
	// json.Unmarshal would, or returns false and leaves it unchanged. It
	// writes no memory the receiver points to, and the values it stores do
	// not share data's memory.
	decodeFast(data []byte) bool
}

// fastDecodeOff turns the fast decoders off, for tests that compare them
// with encoding/json.
var fastDecodeOff atomic.Bool

// maxFastDepth bounds the nesting the fast decoders read; the top-level
// object is at depth 1.
const maxFastDepth = 64

func (r *Request) decodeFast(data []byte) bool {
	s := fastScanner{data: data}
	// Decode into a copy, so that a decline leaves r unchanged; fields
	// absent from data keep their values, as with json.Unmarshal.
	q := *r
	for key, more := s.open(); more; key, more = s.next() {
		switch string(key) {
		case "operation":
			if !s.null() {
				if b := s.strBytes(); !s.bad {
					q.Operation = operationName(b)
				}
			}
		case "params":
			// json.RawMessage keeps the value's bytes, even for null.
			start := s.i
			s.skip(2)
			if !s.bad {
				q.Params = append(json.RawMessage(nil), data[start:s.i]...)
			}
		default:
			s.skipUnknown(key, "operation", "params")
		}
	}
	if !s.end() {
		return false
	}
	*r = q
	return true
}

// operationName returns b as a string: for a known operation, the table's
// string, which saves an allocation.
func operationName(b []byte) string {
	if o, ok := operationTable()[string(b)]; ok {
		return o.Name
	}
	return string(b)
}

func (p *UnifiedParams) decodeFast(data []byte) bool {
	s := fastScanner{data: data}
	q := *p
	for key, more := s.open(); more; key, more = s.next() {
		switch string(key) {
		case "dredge_insight":
			if !s.null() { // null leaves a string as it is
				q.Insight = s.str()
			}
		case "quasimoto_coords":
			q.Coords = nil
			if !s.null() {
				v := s.floats()
				q.Coords = &v
			}
		case "string_modes":
			q.Modes = nil
			if !s.null() {
				v := s.ints()
				q.Modes = &v
			}
		default:
			s.skipUnknown(key, "dredge_insight", "quasimoto_coords", "string_modes")
		}
	}
	if !s.end() {
		return false
	}
	*p = q
	return true
}

func (p *LiftParams) decodeFast(data []byte) bool {
	s := fastScanner{data: data}
	q := *p
	for key, more := s.open(); more; key, more = s.next() {
		switch string(key) {
		case "insight_text":
			q.InsightText = nil
			if !s.null() {
				v := s.str()
				q.InsightText = &v
			}
		default:
			s.skipUnknown(key, "insight_text")
		}
	}
	if !s.end() {
		return false
	}
	*p = q
	return true
}

func (p *SpectrumParams) decodeFast(data []byte) bool {
	s := fastScanner{data: data}
	q := *p
	for key, more := s.open(); more; key, more = s.next() {
		switch string(key) {
		case "max_modes":
			q.MaxModes = s.intPointer()
		case "dimensions":
			q.Dimensions = s.intPointer()
		default:
			s.skipUnknown(key, "max_modes", "dimensions")
		}
	}
	if !s.end() {
		return false
	}
	*p = q
	return true
}

// fastScanner reads the JSON in data from offset i. Instead of returning
// errors its methods set bad, after which the decoder declines; a method
// called when bad is set may read on, but the decode's result is dropped.
type fastScanner struct {
	data []byte
	i    int
	bad  bool
}

// peek returns the next byte, or 0 at the end of data.
func (s *fastScanner) peek() byte {
	if s.i < len(s.data) {
		return s.data[s.i]
	}
	return 0
}

// expect reads the byte c, or sets bad.
func (s *fastScanner) expect(c byte) {
	if s.peek() == c {
		s.i++
	} else {
		s.bad = true
	}
}

// space skips JSON space, which is only these four bytes.
func (s *fastScanner) space() {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// open reads the '{' of the top-level object and its first key; next reads
// the ',' and key of the following member. Both return false at the
// object's closing '}' and when bad is set.
func (s *fastScanner) open() (key []byte, more bool) {
	s.space()
	s.expect('{')
	s.space()
	if s.bad {
		return nil, false
	}
	if s.peek() == '}' {
		s.i++
		return nil, false
	}
	return s.key()
}

func (s *fastScanner) next() (key []byte, more bool) {
	if !s.more('}') {
		return nil, false
	}
	return s.key()
}

// more reads the space and ',' between two elements (and the space after
// it) or the closing byte end, reporting whether an element follows.
func (s *fastScanner) more(end byte) bool {
	if s.bad {
		return false
	}
	s.space()
	switch s.peek() {
	case ',':
		s.i++
		s.space()
		return true
	case end:
		s.i++
		return false
	}
	s.bad = true
	return false
}

// key reads a key of the top-level object, and the colon after it. Only
// ASCII without escapes or control bytes is read, so that whether
// encoding/json would match it to a field case-insensitively is easy to
// tell.
func (s *fastScanner) key() (key []byte, more bool) {
	key = s.plainString()
	for _, c := range key {
		if c >= utf8.RuneSelf {
			s.bad = true
		}
	}
	s.space()
	s.expect(':')
	s.space()
	return key, !s.bad
}

// skipUnknown skips the value of a member whose key is none of fields,
// setting bad where encoding/json would match the key to one of them
// case-insensitively (keys are ASCII here, so Unicode folding is ASCII's).
func (s *fastScanner) skipUnknown(key []byte, fields ...string) {
	for _, f := range fields {
		if strings.EqualFold(string(key), f) {
			s.bad = true
			return
		}
	}
	s.skip(2)
}

// null reads a null if one comes next.
func (s *fastScanner) null() bool {
	if s.literal("null") {
		s.i += 4
		return true
	}
	return false
}

// literal reports whether lit comes next.
func (s *fastScanner) literal(lit string) bool {
	return len(s.data)-s.i >= len(lit) && string(s.data[s.i:s.i+len(lit)]) == lit
}

// plainString reads a string without escapes or control bytes and returns
// its bytes, which are data's.
func (s *fastScanner) plainString() []byte {
	s.expect('"')
	if s.bad {
		return nil
	}
	rest := s.data[s.i:]
	// With no backslash before it, the first quote ends the string.
	n := bytes.IndexByte(rest, '"')
	if n < 0 {
		s.bad = true
		return nil
	}
	b := rest[:n]
	for _, c := range b {
		if c < ' ' || c == '\\' {
			s.bad = true
			return nil
		}
	}
	s.i += n + 1
	return b
}

// strBytes reads a plain string of valid UTF-8 and returns its bytes,
// which are data's.
func (s *fastScanner) strBytes() []byte {
	b := s.plainString()
	if !utf8.Valid(b) {
		s.bad = true
	}
	return b
}

// str reads a string as strBytes does, into memory of its own.
func (s *fastScanner) str() string {
	return string(s.strBytes())
}

// number reads a number in JSON's grammar
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? and returns its bytes.
func (s *fastScanner) number() []byte {
	start := s.i
	if s.peek() == '-' {
		s.i++
	}
	switch c := s.peek(); {
	case c == '0':
		s.i++
	case '1' <= c && c <= '9':
		s.digits()
	default:
		s.bad = true
		return nil
	}
	if s.peek() == '.' {
		s.i++
		if !s.digits() {
			s.bad = true
		}
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		s.i++
		if c := s.peek(); c == '+' || c == '-' {
			s.i++
		}
		if !s.digits() {
			s.bad = true
		}
	}
	return s.data[start:s.i]
}

// digits reads digits, reporting whether there was at least one.
func (s *fastScanner) digits() bool {
	start := s.i
	for s.i < len(s.data) && '0' <= s.data[s.i] && s.data[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}

// float reads a number into a float64 as encoding/json does; a number out
// of range sets bad.
func (s *fastScanner) float() float64 {
	n := s.number()
	if s.bad {
		return 0
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		s.bad = true
	}
	return f
}

// integer reads a number into an int as encoding/json does; a fraction, an
// exponent or a number out of range sets bad.
func (s *fastScanner) integer() int {
	n := s.number()
	if s.bad {
		return 0
	}
	v, err := strconv.ParseInt(string(n), 10, strconv.IntSize)
	if err != nil {
		s.bad = true
	}
	return int(v)
}

// intPointer reads null as a nil pointer and a number as a pointer to a
// new int.
func (s *fastScanner) intPointer() *int {
	if s.null() {
		return nil
	}
	v := s.integer()
	return &v
}

// openArray reads an array's '[' and reports whether an element follows;
// [] gives an empty slice, not a nil one, as in encoding/json.
func (s *fastScanner) openArray() bool {
	s.expect('[')
	s.space()
	if s.bad {
		return false
	}
	if s.peek() == ']' {
		s.i++
		return false
	}
	return true
}

// floats reads an array of numbers.
func (s *fastScanner) floats() []float64 {
	v := []float64{}
	for more := s.openArray(); more; more = s.more(']') {
		v = append(v, s.float())
	}
	return v
}

// ints reads an array of integers.
func (s *fastScanner) ints() []int {
	v := []int{}
	for more := s.openArray(); more; more = s.more(']') {
		v = append(v, s.integer())
	}
	return v
}

// skip reads any JSON value at nesting depth, validating it as encoding/json
// does: strings in it may hold escapes and any bytes but control bytes.
func (s *fastScanner) skip(depth int) {
	if depth > maxFastDepth {
		s.bad = true
		return
	}
	switch s.peek() {
	case '{':
		s.i++
		s.space()
		if s.peek() == '}' {
			s.i++
			return
		}
		for more := true; more; more = s.more('}') {
			s.skipString()
			s.space()
			s.expect(':')
			s.space()
			s.skip(depth + 1)
		}
	case '[':
		for more := s.openArray(); more; more = s.more(']') {
			s.skip(depth + 1)
		}
	case '"':
		s.skipString()
	case 't':
		s.word("true")
	case 'f':
		s.word("false")
	case 'n':
		s.word("null")
	default:
		s.number()
	}
}

// word reads the literal lit, or sets bad.
func (s *fastScanner) word(lit string) {
	if s.literal(lit) {
		s.i += len(lit)
	} else {
		s.bad = true
	}
}

// skipString reads a string, validating its escapes.
func (s *fastScanner) skipString() {
	s.expect('"')
	if s.bad {
		return
	}
	data, i := s.data, s.i
	for i < len(data) {
		c := data[i]
		i++
		switch {
		case c == '"':
			s.i = i
			return
		case c < ' ':
			s.bad = true
			return
		case c == '\\':
			n := escapeLen(data[i:])
			if n == 0 {
				s.bad = true
				return
			}
			i += n
		}
	}
	s.bad = true
}

// escapeLen returns the length of the escape that b starts with (after
// its backslash), or 0 if it is not a valid one.
func escapeLen(b []byte) int {
	if len(b) == 0 {
		return 0
	}
	switch b[0] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 1
	case 'u':
		if len(b) >= 5 && isHex(b[1]) && isHex(b[2]) && isHex(b[3]) && isHex(b[4]) {
			return 5
		}
	}
	return 0
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// end reports whether the decode succeeded: bad is not set and nothing
// but space follows the object.
func (s *fastScanner) end() bool {
	s.space()
	return !s.bad && s.i == len(s.data)
}
