package httpapi

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dredge-cli/dredge"
)

func TestConfigFromEnv(t *testing.T) {
	dir := t.TempDir()
	keysFile := filepath.Join(dir, "keys")
	if err := os.WriteFile(keysFile, []byte("# service keys\nkey-one\n\n  key-two  \n# key-old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	emptyFile := filepath.Join(dir, "empty")
	if err := os.WriteFile(emptyFile, []byte("# nothing\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     map[string]string
		want    Config
		errName string // the variable the error names
	}{
		{name: "defaults", env: nil, want: Config{}},
		{name: "empty values keep defaults", env: map[string]string{"AUTH_ENABLED": " ", "MAX_BODY_BYTES": ""}, want: Config{}},
		{name: "all set", env: map[string]string{
			"AUTH_ENABLED": "true", "API_KEY": "k0", "API_KEYS_FILE": keysFile, "RATE_LIMIT_ENABLED": "1",
			"RATE_LIMIT_REQUESTS": "20", "RATE_LIMIT_WINDOW": "1.5", "MAX_BODY_BYTES": "1024",
			"TRUST_PROXY": "yes"},
			want: Config{AuthEnabled: true, APIKeys: []string{"k0"}, RateLimitEnabled: true,
				RateLimitRequests: 20, RateLimitWindow: 1500 * time.Millisecond, MaxBodyBytes: 1024,
				TrustProxy: true}},
		{name: "keys without auth", env: map[string]string{"API_KEY": "k"}, want: Config{APIKeys: []string{"k"}}},
		{name: "auth without key", env: map[string]string{"AUTH_ENABLED": "true"}, errName: "API_KEY"},
		{name: "bad AUTH_ENABLED", env: map[string]string{"AUTH_ENABLED": "maybe"}, errName: "AUTH_ENABLED"},
		{name: "missing keys file", env: map[string]string{"API_KEYS_FILE": filepath.Join(dir, "nope")}, errName: "API_KEYS_FILE"},
		{name: "empty keys file", env: map[string]string{"API_KEYS_FILE": emptyFile}, errName: "API_KEYS_FILE"},
		{name: "bad RATE_LIMIT_ENABLED", env: map[string]string{"RATE_LIMIT_ENABLED": "2"}, errName: "RATE_LIMIT_ENABLED"},
		{name: "bad RATE_LIMIT_REQUESTS", env: map[string]string{"RATE_LIMIT_REQUESTS": "ten"}, errName: "RATE_LIMIT_REQUESTS"},
		{name: "zero RATE_LIMIT_REQUESTS", env: map[string]string{"RATE_LIMIT_REQUESTS": "0"}, errName: "RATE_LIMIT_REQUESTS"},
		{name: "bad RATE_LIMIT_WINDOW", env: map[string]string{"RATE_LIMIT_WINDOW": "1m"}, errName: "RATE_LIMIT_WINDOW"},
		{name: "zero RATE_LIMIT_WINDOW", env: map[string]string{"RATE_LIMIT_WINDOW": "0"}, errName: "RATE_LIMIT_WINDOW"},
		{name: "NaN RATE_LIMIT_WINDOW", env: map[string]string{"RATE_LIMIT_WINDOW": "NaN"}, errName: "RATE_LIMIT_WINDOW"},
		{name: "negative MAX_BODY_BYTES", env: map[string]string{"MAX_BODY_BYTES": "-1"}, errName: "MAX_BODY_BYTES"},
		{name: "bad TRUST_PROXY", env: map[string]string{"TRUST_PROXY": "sometimes"}, errName: "TRUST_PROXY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := configFromLookup(func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }, LoadKeys)
			if tt.errName != "" {
				var ce *ConfigError
				if !errors.As(err, &ce) || ce.Name != tt.errName || !errors.Is(err, dredge.ErrInvalidArgument) {
					t.Fatalf("err = %v, want a ConfigError naming %s", err, tt.errName)
				}
				if !strings.Contains(err.Error(), tt.errName) {
					t.Errorf("message %q does not name %s", err, tt.errName)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Keys != nil {
				// The file's single-field lines are keys of the default tenant.
				for _, k := range []string{"key-one", "key-two"} {
					if tenant, _, ok := got.Keys.Lookup(k); !ok || tenant != "" {
						t.Errorf("Keys.Lookup(%s) = %q, %v", k, tenant, ok)
					}
				}
				if _, _, ok := got.Keys.Lookup("# key-old"); ok || got.Keys.Len() != 2 {
					t.Errorf("Keys holds %d keys, want 2", got.Keys.Len())
				}
				got.Keys = nil
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestConfigFromEnvKeysNeverInErrors(t *testing.T) {
	env := map[string]string{"API_KEY": "super-secret", "RATE_LIMIT_REQUESTS": "super-secret"}
	_, err := configFromLookup(func(k string) (string, bool) { v, ok := env[k]; return v, ok }, LoadKeys)
	if err == nil || !strings.Contains(err.Error(), "RATE_LIMIT_REQUESTS") {
		t.Fatalf("err = %v", err)
	}
	// A directory as the keys file: the error names the path, not content.
	dir := t.TempDir()
	env = map[string]string{"API_KEYS_FILE": dir}
	_, err = configFromLookup(func(k string) (string, bool) { v, ok := env[k]; return v, ok }, LoadKeys)
	if err == nil || !strings.Contains(err.Error(), dir) {
		t.Fatalf("err = %v", err)
	}
}

func TestConfigFromEnvProcess(t *testing.T) {
	t.Setenv("RATE_LIMIT_ENABLED", "true")
	t.Setenv("RATE_LIMIT_REQUESTS", "7")
	cfg, err := ConfigFromEnv()
	if err != nil || !cfg.RateLimitEnabled || cfg.RateLimitRequests != 7 {
		t.Fatalf("ConfigFromEnv() = %+v, %v", cfg, err)
	}
}

func TestParseKeysSingleFields(t *testing.T) {
	k, err := ParseKeys("a\r\n # comment\n\n\tb \nc")
	if err != nil || k.Len() != 3 {
		t.Fatalf("ParseKeys = %v, %v; want 3 keys", k, err)
	}
	for _, key := range []string{"a", "b", "c"} {
		if tenant, _, ok := k.Lookup(key); !ok || tenant != "" {
			t.Errorf("Lookup(%s) = %q, %v; want the default tenant", key, tenant, ok)
		}
	}
}
