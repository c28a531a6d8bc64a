package tenant

import (
	"strings"
	"testing"
)

func TestValid(t *testing.T) {
	for _, name := range []string{"a", "acme", "Team-7", "x.y_z", "0", strings.Repeat("a", MaxLen)} {
		if !Valid(name) {
			t.Errorf("Valid(%q) = false, want true", name)
		}
	}
	for _, name := range []string{"", ".", "..", ".hidden", "-x", "_x", "a/b", "a b", "a:b", "ä", strings.Repeat("a", MaxLen+1)} {
		if Valid(name) {
			t.Errorf("Valid(%q) = true, want false", name)
		}
	}
}
