package envvar

import (
	"errors"
	"strconv"
	"strings"
)

// ErrNotBool reports a value that is not a boolean.
var ErrNotBool = errors.New("must be true or false")

// ParseBool parses a boolean as strconv.ParseBool does (1, t, true, 0, f,
// false in any case) and also yes/no and on/off, ignoring surrounding spaces.
func ParseBool(s string) (bool, error) {
	switch v := strings.ToLower(strings.TrimSpace(s)); v {
	case "yes", "on":
		return true, nil
	case "no", "off":
		return false, nil
	default:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false, ErrNotBool
		}
		return b, nil
	}
}
