package envvar

import "testing"

func TestParseBool(t *testing.T) {
	for s, want := range map[string]bool{"1": true, "true": true, " TRUE ": true, "t": true, "yes": true, "On": true,
		"0": false, "false": false, "F": false, "no": false, " off": false} {
		if got, err := ParseBool(s); err != nil || got != want {
			t.Errorf("ParseBool(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "maybe", "2", "yess"} {
		if _, err := ParseBool(s); err == nil {
			t.Errorf("ParseBool(%q) accepted", s)
		}
	}
}
