package jsonx

import (
	stdjson "encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/segmentio/encoding/json"
)

// Unmarshal decodes the JSON data into v as json.Unmarshal does. On an
// error v may be partly written.
func Unmarshal(data []byte, v any) error {
	err := json.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	var se *stdjson.SyntaxError
	if errors.As(err, &se) {
		// Malformed input: encoding/json reports where.
		if serr := stdjson.Unmarshal(data, new(any)); serr != nil {
			return serr
		}
		return err
	}
	var te *stdjson.UnmarshalTypeError
	if errors.As(err, &te) {
		te.Value = Kind(te.Value)
	}
	return err
}

// Kind names the JSON value that v starts with as encoding/json words
// a *json.UnmarshalTypeError's Value: "string", "number 1e400", "bool",
// "array", "object"; it returns words it does not recognise unchanged.
func Kind(v string) string {
	if u, err := strconv.Unquote(v); err == nil && strings.HasPrefix(v, `"`) {
		v = u // segmentio quotes the input where the value starts
	} else if n, ok := strings.CutSuffix(v, " overflows"); ok {
		v = strings.TrimPrefix(n, "number ") // segmentio: "number 1e400} overflows"
	} else {
		return v
	}
	if v == "" {
		return v
	}
	switch c := v[0]; {
	case c == '"':
		return "string"
	case c == '[':
		return "array"
	case c == '{':
		return "object"
	case strings.HasPrefix(v, "true"), strings.HasPrefix(v, "false"):
		return "bool"
	case strings.HasPrefix(v, "null"):
		return "null"
	case c == '-' || c >= '0' && c <= '9':
		end := strings.IndexAny(v, ",]} \t\r\n")
		if end < 0 {
			end = len(v)
		}
		return "number " + v[:end]
	}
	return v
}
