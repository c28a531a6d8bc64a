package cache

import (
	"bytes"
	"testing"
)

// FuzzDecodeEntry feeds arbitrary file contents to the entry decoder: it
// must not panic, and whatever it accepts must re-encode to the same bytes.
func FuzzDecodeEntry(f *testing.F) {
	f.Add(encodeEntry("key", []byte("value"), 0))
	f.Add(encodeEntry("", nil, 1<<62))
	f.Add(encodeEntry("k", bytes.Repeat([]byte{0xff}, 100), -1))
	f.Add([]byte("DRC1"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		key, value, exp, err := decodeEntry(data)
		if err != nil {
			return
		}
		if again := encodeEntry(key, value, exp); !bytes.Equal(again, data) {
			t.Fatalf("decode/encode changed the entry:\n%x\n%x", data, again)
		}
	})
}
