package dredge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
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
// arrays of numbers. Errors are *FieldError values naming the element.
func (v *Values) UnmarshalJSON(b []byte) error {
	d, w, err := decodeMatrix("", b)
	if err != nil {
		return err
	}
	v.Data, v.Width = d, w
	return nil
}

// Inputs are the named inputs of an inference request: "x" and "t" for the
// 1D waves, "x", "y", "z", "t" for 4D, "x1" … "x5", "t" for 6D; "x" rows
// (and "t" for the interference basis) for the other models. A JSON array
// in place of the object is taken as {"x": array}.
type Inputs map[string]Values

// UnmarshalJSON decodes the inputs object, naming the field of any error
// as inputs.<name>[i].
func (in *Inputs) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	out := make(Inputs)
	if len(b) > 0 && b[0] == '[' {
		d, w, err := decodeMatrix("inputs", b)
		if err != nil {
			return err
		}
		out["x"] = Values{Data: d, Width: w}
		*in = out
		return nil
	}
	if bytes.Equal(b, []byte("null")) {
		*in = nil
		return nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return invalid("inputs", "must be an object of named arrays of numbers")
	}
	for name, r := range raw {
		d, w, err := decodeMatrix("inputs."+truncate(name, 32), r)
		if err != nil {
			return err
		}
		out[name] = Values{Data: d, Width: w}
	}
	*in = out
	return nil
}

// decodeMatrix decodes an array of numbers (width 0) or of arrays of
// numbers of one width, row-major.
func decodeMatrix(field string, b []byte) ([]float64, int, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '[' {
		return nil, 0, invalid(orField(field), "must be an array of numbers or an array of arrays of numbers")
	}
	// Find the first non-space byte after '[' to tell the two shapes apart.
	i := 1
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	if i < len(b) && b[i] == '[' {
		var rows []json.RawMessage
		if err := json.Unmarshal(b, &rows); err != nil {
			return nil, 0, invalid(orField(field), "malformed array: %v", err)
		}
		width := -1
		var data []float64
		for r, raw := range rows {
			vals, err := decodeNumbers(fmt.Sprintf("%s[%d]", field, r), raw)
			if err != nil {
				return nil, 0, err
			}
			if width < 0 {
				width = len(vals)
				if width == 0 {
					return nil, 0, invalid(fmt.Sprintf("%s[0]", field), "rows must not be empty")
				}
				data = make([]float64, 0, width*len(rows))
			} else if len(vals) != width {
				return nil, 0, invalid(fmt.Sprintf("%s[%d]", field, r), "row has %d values, the first row has %d", len(vals), width)
			}
			data = append(data, vals...)
		}
		return data, width, nil
	}
	vals, err := decodeNumbers(field, b)
	return vals, 0, err
}

func orField(f string) string {
	if f == "" {
		return "inputs"
	}
	return f
}

// decodeNumbers decodes an array of finite numbers, naming a bad element.
func decodeNumbers(field string, b []byte) ([]float64, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, invalid(orField(field), "must be an array of numbers")
	}
	out := make([]float64, len(raw))
	for i, r := range raw {
		r = bytes.TrimSpace(r)
		if len(r) == 0 || !(r[0] == '-' || (r[0] >= '0' && r[0] <= '9')) {
			return nil, invalid(fmt.Sprintf("%s[%d]", field, i), "must be a number, got %s", truncate(string(r), 32))
		}
		f, err := strconv.ParseFloat(string(r), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, invalid(fmt.Sprintf("%s[%d]", field, i), "must be a finite number, got %s", truncate(string(r), 32))
		}
		out[i] = f
	}
	return out, nil
}

// appendMatrix appends values as a JSON array (width ≤ 1 and flat) or an
// array of rows.
func appendMatrix(b []byte, v []float64, width int) ([]byte, error) {
	if width <= 0 {
		return appendFloats(b, v)
	}
	b = append(b, '[')
	for r := 0; r*width < len(v); r++ {
		if r > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendFloats(b, v[r*width:(r+1)*width]); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}

func appendFloats(b []byte, v []float64) ([]byte, error) {
	b = append(b, '[')
	for i, f := range v {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendFloat(b, f); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}

// appendFloat formats f as encoding/json does.
func appendFloat(b []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, invalid("output", "the result holds %v: the model's parameters or inputs are out of range", f)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

// appendString appends s as a JSON string, escaped as encoding/json does
// (HTML characters included, invalid UTF-8 replaced).
func appendString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
