package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/dredge-cli/dredge/internal/tenant"
)

// Keys maps API keys to tenants. It holds only the keys' SHA-256 digests.
// It is safe for concurrent use: [Keys.Reload] replaces the whole set
// atomically, so a request sees either the old keys or the new ones.
//
// The text of a keys file (see [ParseKeys]) is one entry per line:
//
//	# comment
//	tenant key [quota]
//	key
//
// Fields are separated by spaces or tabs; blank lines and lines starting
// with # are ignored. A line with a single field is a key of the default
// tenant "" (the format of earlier keys files). Quota, a positive integer,
// is the tenant's budget in requests per rate limit window, shared by all
// of its keys and enforced when rate limiting is on ([Config.RateLimitEnabled]);
// a tenant without one has [Config.RateLimitRequests]. A tenant's quota
// may be given on any of its entries (on one, or repeated on several);
// two different quotas for one tenant are an error. A text whose first
// non-blank character is [ or { is JSON instead: an array of objects
// {"tenant": ..., "key": ..., "quota": ...}, or a stream of such objects
// (one per line); tenant and quota may be left out, other members are
// refused.
//
// A tenant name is 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' and '-',
// starting with a letter or digit.
// Errors name the line, never its content, so that no key reaches a log.
type Keys struct {
	path string // the file of LoadKeys; "" for ParseKeys
	set  atomic.Pointer[keySet]
}

// keySet is one immutable generation of a Keys.
type keySet struct {
	sums    [][sha256.Size]byte
	tenants []string
	quotas  map[string]int // tenant → quota, for the tenants that have one
	names   []string       // the named tenants, sorted, each once
}

// add adds a key's digest with its tenant (while s is built).
func (s *keySet) add(sum [sha256.Size]byte, tenant string) {
	s.sums = append(s.sums, sum)
	s.tenants = append(s.tenants, tenant)
}

// quota returns tenant's quota, 0 when it has none. It is 0 on a nil set.
func (s *keySet) quota(tenant string) int {
	if s == nil {
		return 0
	}
	return s.quotas[tenant]
}

// ParseKeys returns the keys of a keys file's text (see [Keys]). An error
// names the line at fault and wraps [dredge.ErrInvalidArgument]; a text
// without keys is an error.
func ParseKeys(text string) (*Keys, error) {
	s, err := parseKeySet(text)
	if err != nil {
		return nil, err
	}
	k := new(Keys)
	k.set.Store(s)
	return k, nil
}

// LoadKeys reads and parses the keys file at path (see [Keys]). Errors
// name the path and the line, never the file's content.
func LoadKeys(path string) (*Keys, error) {
	s, err := loadKeySet(path)
	if err != nil {
		return nil, err
	}
	k := &Keys{path: path}
	k.set.Store(s)
	return k, nil
}

// Reload reads the file of [LoadKeys] again and replaces the keys with its
// own, atomically: requests that have been admitted run on, and the next
// request that presents a removed key is refused. On error the keys stay
// as they were. Keys from [ParseKeys] have no file to reload.
func (k *Keys) Reload() error {
	if k.path == "" {
		return errors.New("httpapi: these keys were not loaded from a file")
	}
	s, err := loadKeySet(k.path)
	if err != nil {
		return err
	}
	k.set.Store(s)
	return nil
}

// Len returns the number of keys.
func (k *Keys) Len() int {
	if s := k.set.Load(); s != nil {
		return len(s.sums)
	}
	return 0
}

// Lookup returns the tenant of key and the tenant's quota (0: none),
// comparing the key's SHA-256 digest with every stored one in constant
// time.
func (k *Keys) Lookup(key string) (tenant string, quota int, ok bool) {
	sum := sha256.Sum256([]byte(key))
	s := k.set.Load()
	i := s.find(&sum)
	if i < 0 {
		return "", 0, false
	}
	return s.tenants[i], s.quota(s.tenants[i]), true
}

// Tenants returns the tenants the keys name, sorted, without the default
// tenant "". These, and only these, become the tenant label of the
// metrics (see [New]).
func (k *Keys) Tenants() []string {
	if s := k.set.Load(); s != nil {
		return slices.Clone(s.names)
	}
	return nil
}

// find returns the index of the digest sum, or -1. It compares sum with
// every digest, without an early exit.
// It is -1 on a nil set.
func (s *keySet) find(sum *[sha256.Size]byte) int {
	found := -1
	if s == nil {
		return found
	}
	for i := range s.sums {
		if subtle.ConstantTimeCompare(sum[:], s.sums[i][:]) == 1 {
			found = i
		}
	}
	return found
}

func loadKeySet(path string) (*keySet, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if pe, ok := errors.AsType[*fs.PathError](err); ok {
			err = pe.Err
		}
		return nil, &ConfigError{Name: "API_KEYS_FILE", Reason: "cannot read " + strconv.Quote(path) + ": " + err.Error()}
	}
	s, err := parseKeySet(string(b))
	if ce, ok := errors.AsType[*ConfigError](err); ok {
		ce.Reason = strconv.Quote(path) + ": " + ce.Reason
	}
	return s, err
}

// keyEntry is one entry of a JSON keys file.
type keyEntry struct {
	Tenant string `json:"tenant"`
	Key    string `json:"key"`
	Quota  int    `json:"quota"`
}

func parseKeySet(text string) (*keySet, error) {
	s := &keySet{quotas: make(map[string]int)}
	quotaLine := make(map[string]int) // tenant → the line that gave its quota
	named := make(map[string]bool)
	bad := func(line int, reason string) error {
		return &ConfigError{Name: "API_KEYS_FILE", Reason: "line " + strconv.Itoa(line) + ": " + reason}
	}
	add := func(line int, e keyEntry) error {
		if e.Tenant != "" && !tenant.Valid(e.Tenant) {
			return bad(line, "a tenant name is 1 to 64 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit")
		}
		if e.Key == "" {
			return bad(line, "no key")
		}
		if e.Quota < 0 {
			return bad(line, "the quota must be a positive integer")
		}
		sum := sha256.Sum256([]byte(e.Key))
		if s.find(&sum) >= 0 {
			return bad(line, "duplicate key")
		}
		if q, ok := s.quotas[e.Tenant]; ok && e.Quota > 0 && e.Quota != q {
			// The tenant name is not secret: it is what the operator
			// needs to find the other line.
			return bad(line, "quota "+strconv.Itoa(e.Quota)+" of tenant "+strconv.Quote(e.Tenant)+
				" differs from its quota "+strconv.Itoa(q)+" on line "+strconv.Itoa(quotaLine[e.Tenant]))
		} else if !ok && e.Quota > 0 {
			s.quotas[e.Tenant], quotaLine[e.Tenant] = e.Quota, line
		}
		if e.Tenant != "" && !named[e.Tenant] {
			named[e.Tenant] = true
			s.names = append(s.names, e.Tenant)
		}
		s.add(sum, e.Tenant)
		return nil
	}
	if t := strings.TrimSpace(text); strings.HasPrefix(t, "[") || strings.HasPrefix(t, "{") {
		if err := parseKeysJSON(text, bad, add); err != nil {
			return nil, err
		}
	} else {
		n := 0
		for line := range strings.Lines(text) {
			n++
			f := strings.Fields(line)
			if len(f) == 0 || strings.HasPrefix(f[0], "#") {
				continue
			}
			var e keyEntry
			switch len(f) {
			case 1:
				e.Key = f[0]
			case 2, 3:
				e.Tenant, e.Key = f[0], f[1]
				if len(f) == 3 {
					q, err := strconv.Atoi(f[2])
					if err != nil || q <= 0 {
						return nil, bad(n, "the quota must be a positive integer")
					}
					e.Quota = q
				}
			default:
				return nil, bad(n, "want \"tenant key [quota]\" or a single key")
			}
			if err := add(n, e); err != nil {
				return nil, err
			}
		}
	}
	if len(s.sums) == 0 {
		return nil, &ConfigError{Name: "API_KEYS_FILE", Reason: "no keys"}
	}
	slices.Sort(s.names)
	return s, nil
}

// parseKeysJSON decodes an array or a stream of key entries. Decoding
// errors are rewritten so that they carry a line number and no input.
func parseKeysJSON(text string, bad func(int, string) error, add func(int, keyEntry) error) error {
	lineAt := func(off int64) int {
		off = min(off, int64(len(text)))
		// The entry starts after the separators that precede it.
		for off < int64(len(text)) && strings.IndexByte(" \t\r\n,", text[off]) >= 0 {
			off++
		}
		return 1 + strings.Count(text[:off], "\n")
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.DisallowUnknownFields()
	array := strings.HasPrefix(strings.TrimSpace(text), "[")
	if array {
		if _, err := dec.Token(); err != nil {
			return bad(1, "malformed JSON")
		}
	}
	for {
		if array && !dec.More() {
			break
		}
		start := dec.InputOffset()
		var e keyEntry
		err := dec.Decode(&e)
		if !array && err == io.EOF {
			break
		}
		if err != nil {
			line := lineAt(start)
			var se *json.SyntaxError
			var te *json.UnmarshalTypeError
			switch {
			case errors.As(err, &se):
				return bad(1+strings.Count(text[:min(se.Offset, int64(len(text)))], "\n"), "malformed JSON")
			case errors.As(err, &te):
				return bad(line, "member "+strconv.Quote(te.Field)+" has the wrong type")
			case strings.HasPrefix(err.Error(), "json: unknown field "):
				return bad(line, "unknown member (want tenant, key and quota)")
			default:
				return bad(line, "malformed JSON entry")
			}
		}
		if err := add(lineAt(start), e); err != nil {
			return err
		}
	}
	if array {
		if _, err := dec.Token(); err != nil {
			return bad(lineAt(dec.InputOffset()), "malformed JSON")
		}
		if _, err := dec.Token(); err != io.EOF {
			return bad(lineAt(dec.InputOffset()), "text after the JSON array")
		}
	}
	return nil
}

var _ fmt.Stringer = (*Keys)(nil)

// String describes the keys without revealing any: their number.
func (k *Keys) String() string { return "httpapi.Keys(" + strconv.Itoa(k.Len()) + " keys)" }
