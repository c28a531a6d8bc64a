package dredge

import (
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/dredge-cli/dredge/stringtheory"
)

// The hand-written JSON encoders, kept where they pay: the unified result
// (written on every unified_inference) and the float matrices of inference
// outputs and parameters. TestAppendJSONMatchesEncodingJSON checks each
// against encoding/json.

// MarshalJSON implements json.Marshaler with AppendJSON.
func (r *UnifiedResult) MarshalJSON() ([]byte, error) { return r.AppendJSON(nil) }

// defaultField is the unified field every unified_inference answers
// (UnifiedField(0, 1, 100)), and defaultFieldJSON the encoding of its
// coordinates and amplitudes, made once: encoding those 200 floats costs
// far more than the rest of a unified inference.
var (
	defaultField     = stringtheory.DefaultUnifiedField()
	defaultFieldJSON = [2][]byte{mustAppendFloats(defaultField.X), mustAppendFloats(defaultField.Amplitudes)}
)

func mustAppendFloats(v []float64) []byte {
	b, err := appendFloats(nil, v)
	if err != nil {
		panic(err)
	}
	return b
}

// appendUnifiedField appends the field's JSON encoding, reusing the
// default field's when the values are unchanged.
func appendUnifiedField(b []byte, f *stringtheory.UnifiedFieldResult) ([]byte, error) {
	b = append(b, `{"x_coordinates":`...)
	var err error
	if b, err = appendFloatsOr(b, f.X, defaultField.X, defaultFieldJSON[0]); err != nil {
		return nil, err
	}
	b = append(b, `,"field_amplitudes":`...)
	if b, err = appendFloatsOr(b, f.Amplitudes, defaultField.Amplitudes, defaultFieldJSON[1]); err != nil {
		return nil, err
	}
	b = append(b, `,"dimensions":`...)
	b = strconv.AppendInt(b, int64(f.Dimensions), 10)
	return append(b, '}'), nil
}

// appendFloatsOr appends v, as the encoding enc of def when v equals def.
func appendFloatsOr(b []byte, v, def []float64, enc []byte) ([]byte, error) {
	if slices.Equal(v, def) {
		return append(b, enc...), nil
	}
	if v == nil {
		return append(b, "null"...), nil
	}
	return appendFloats(b, v)
}

// AppendJSON appends the result's JSON encoding to b, as json.Marshal
// would write it but without its reflection and validation costs.
func (r *UnifiedResult) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"success":`...)
	b = strconv.AppendBool(b, r.Success)
	b = append(b, `,"quasimoto_coordinates":`...)
	var err error
	if r.QuasimotoCoordinates == nil {
		b = append(b, "null"...)
	} else if b, err = appendFloats(b, r.QuasimotoCoordinates); err != nil {
		return nil, err
	}
	b = append(b, `,"dredge_insight":`...)
	b = appendString(b, r.Insight)
	b = append(b, `,"quasimoto_coords":`...)
	if b, err = appendFloats(b, r.Coords); err != nil {
		return nil, err
	}
	b = append(b, `,"string_modes":[`...)
	for i, m := range r.Modes {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(m), 10)
	}
	b = append(b, `],"coupled_amplitude":`...)
	if b, err = appendFloat(b, r.CoupledAmplitude); err != nil {
		return nil, err
	}
	b = append(b, `,"unified_field":`...)
	if b, err = appendUnifiedField(b, &r.UnifiedField); err != nil {
		return nil, err
	}
	b = append(b, `,"device":`...)
	b = appendString(b, r.Device)
	b = append(b, `,"cached":`...)
	b = strconv.AppendBool(b, r.Cached)
	return append(b, '}'), nil
}

// AppendJSON appends the result's JSON encoding to b, as json.Marshal
// would write it.
func (r *InferenceResult) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"success":`...)
	b = strconv.AppendBool(b, r.Success)
	b = append(b, `,"model_id":`...)
	b = appendString(b, r.ModelID)
	b = append(b, `,"output":`...)
	var err error
	if b, err = appendMatrix(b, r.Output.Data, r.Output.Width); err != nil {
		return nil, err
	}
	b = append(b, `,"cached":`...)
	b = strconv.AppendBool(b, r.Cached)
	return append(b, '}'), nil
}

// appendNested encodes v as nested arrays of the given shape.
func appendNested(b []byte, v []float64, shape []int) ([]byte, error) {
	if len(shape) <= 1 {
		return appendFloats(b, v)
	}
	step := len(v) / shape[0]
	b = append(b, '[')
	for i := 0; i < shape[0]; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendNested(b, v[i*step:(i+1)*step], shape[1:]); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
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
