// Package tenant holds the rule for tenant names, which the keys file
// (adapters/httpapi), the Engine, the model stores and the queues share:
// a name becomes a folder, a Redis key part and a metric label.
package tenant

// MaxLen bounds a tenant name.
const MaxLen = 64

// Valid reports whether name can name a tenant: 1 to 64 of A-Z, a-z, 0-9,
// '.', '_' and '-', starting with a letter or a digit (so that no
// tenant's folder is "." or "..").
func Valid(name string) bool {
	if name == "" || len(name) > MaxLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '.' && c != '_' && c != '-') {
			return false
		}
	}
	return true
}
