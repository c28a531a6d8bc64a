package modelstore

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"

	"github.com/dredge-cli/dredge/stringtheory"
)

// The record forms shared by the stores that keep bytes ([Dir], [Redis]):
// values as little-endian IEEE 754 doubles (NaN and infinities included,
// bit for bit), the configuration as JSON.

func appendValues(b []byte, v []float64) []byte {
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
	}
	return b
}

func decodeValues(b []byte) ([]float64, error) {
	if len(b)%8 != 0 {
		return nil, fmt.Errorf("%w: values of %d bytes are not doubles", ErrUnavailable, len(b))
	}
	v := make([]float64, len(b)/8)
	for i := range v {
		v[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return v, nil
}

func encodeConfig(c stringtheory.Config) ([]byte, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("%w: config: %w", ErrInvalidArgument, err)
	}
	return b, nil
}

func decodeConfig(b []byte) (stringtheory.Config, error) {
	var c stringtheory.Config
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("%w: stored config: %w", ErrUnavailable, err)
	}
	return c, nil
}
