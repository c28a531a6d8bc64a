package dredge

import (
	"math"
	"strconv"
)

// Param states what an operation's validation enforces of one parameter:
// its bounds, enumeration and default. Validation reads these very values,
// and adapters derive what they publish from them (the MCP adapter's input
// schemas, say), so a bound is written once.
type Param struct {
	// Path names the parameter: "max_modes", "config.n_waves";
	// "string_modes[]" stands for each item of string_modes.
	Path string
	// Min and Max bound a number, inclusively; nil for none.
	Min, Max *float64
	// Positive requires a number greater than 0.
	Positive bool
	// MaxItems bounds an array's length (0: no bound).
	MaxItems int
	// Enum lists the accepted strings (nil: any).
	Enum []string
	// Default is the value a request that leaves the parameter out gets;
	// nil where there is none or it depends on other parameters. A
	// top-level parameter with a default is not required.
	Default any
}

// intParam is an integer parameter in [lo, hi]; def is its default or nil.
func intParam(path string, lo, hi int, def any) Param {
	l, h := float64(lo), float64(hi)
	return Param{Path: path, Min: &l, Max: &h, Default: def}
}

// positiveParam is a finite number greater than 0; def is its default or nil.
func positiveParam(path string, def any) Param {
	return Param{Path: path, Positive: true, Default: def}
}

// intOf resolves an optional integer: nil gives the default (0 without
// one); a given value must lie within the bounds.
func (p Param) intOf(v *int) (int, error) {
	if v == nil {
		d, _ := p.Default.(int)
		return d, nil
	}
	if p.Min != nil && float64(*v) < *p.Min || p.Max != nil && float64(*v) > *p.Max {
		return 0, invalid(p.Path, "must be between %d and %d, got %d", int(*p.Min), int(*p.Max), *v)
	}
	return *v, nil
}

// itemOf checks the i-th item of an integer array against the bounds.
func (p Param) itemOf(i, v int) error {
	if p.Min != nil && float64(v) < *p.Min || p.Max != nil && float64(v) > *p.Max {
		return invalid(p.Path[:len(p.Path)-2]+"["+strconv.Itoa(i)+"]", "must be between %d and %d, got %d", int(*p.Min), int(*p.Max), v)
	}
	return nil
}

// floatOf resolves an optional number: nil gives the default (0 without
// one); a given value must be finite, and greater than 0 where Positive.
func (p Param) floatOf(v *float64) (float64, error) {
	if v == nil {
		d, _ := p.Default.(float64)
		return d, nil
	}
	x := *v
	if math.IsNaN(x) || math.IsInf(x, 0) || (p.Positive && !(x > 0)) {
		return 0, invalid(p.Path, "must be a finite positive number, got %v", x)
	}
	return x, nil
}

// itemsOf checks an array's length against MaxItems.
func (p Param) itemsOf(n int) error {
	if p.MaxItems > 0 && n > p.MaxItems {
		return invalid(p.Path, "at most %d items, got %d", p.MaxItems, n)
	}
	return nil
}
