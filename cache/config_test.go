package cache

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestConfigFromEnv(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		want    Config
		wantErr []string // variables the error must name
	}{
		{
			name: "nothing set",
			want: Config{Enabled: true, Backend: "memory", TTL: time.Hour},
		},
		{
			name: "file",
			env:  map[string]string{"CACHE_BACKEND": "File", "CACHE_TTL": "90", "FILE_CACHE_DIR": "/var/cache/dredge"},
			want: Config{Enabled: true, Backend: "file", TTL: 90 * time.Second, FileDir: "/var/cache/dredge"},
		},
		{
			name: "redis url",
			env:  map[string]string{"CACHE_BACKEND": "redis", "REDIS_URL": "redis://:pw@redis:6380/2", "CACHE_TTL": "1.5"},
			want: Config{Enabled: true, Backend: "redis", TTL: 1500 * time.Millisecond, Redis: RedisConfig{URL: "redis://:pw@redis:6380/2"}},
		},
		{
			name: "redis host",
			env:  map[string]string{"CACHE_BACKEND": "redis", "REDIS_HOST": "redis", "REDIS_PORT": "6380", "REDIS_DB": "3", "REDIS_PASSWORD": "pw"},
			want: Config{Enabled: true, Backend: "redis", TTL: time.Hour, Redis: RedisConfig{Host: "redis", Port: 6380, DB: 3, Password: "pw"}},
		},
		{
			name: "disabled, duration ttl",
			env:  map[string]string{"CACHE_ENABLED": "false", "CACHE_TTL": "2h"},
			want: Config{Enabled: false, Backend: "memory", TTL: 2 * time.Hour},
		},
		{
			name: "ttl 0 is no expiry",
			env:  map[string]string{"CACHE_TTL": "0"},
			want: Config{Enabled: true, Backend: "memory", TTL: NoExpiry},
		},
		{
			name: "max bytes",
			env:  map[string]string{"CACHE_MAX_BYTES": "16777216"},
			want: Config{Enabled: true, Backend: "memory", TTL: time.Hour, MaxBytes: 16 << 20},
		},
		{name: "bad max bytes", env: map[string]string{"CACHE_MAX_BYTES": "16MB"}, wantErr: []string{"CACHE_MAX_BYTES"}},
		{name: "zero max bytes", env: map[string]string{"CACHE_MAX_BYTES": "0"}, wantErr: []string{"CACHE_MAX_BYTES"}},
		{name: "bad enabled", env: map[string]string{"CACHE_ENABLED": "yes please"}, wantErr: []string{"CACHE_ENABLED"}},
		{name: "bad backend", env: map[string]string{"CACHE_BACKEND": "memcached"}, wantErr: []string{"CACHE_BACKEND"}},
		{name: "bad ttl", env: map[string]string{"CACHE_TTL": "soon"}, wantErr: []string{"CACHE_TTL"}},
		{name: "negative ttl", env: map[string]string{"CACHE_TTL": "-5"}, wantErr: []string{"CACHE_TTL"}},
		{name: "NaN ttl", env: map[string]string{"CACHE_TTL": "NaN"}, wantErr: []string{"CACHE_TTL"}},
		{name: "bad port", env: map[string]string{"REDIS_PORT": "99999"}, wantErr: []string{"REDIS_PORT"}},
		{name: "bad db", env: map[string]string{"REDIS_DB": "-1"}, wantErr: []string{"REDIS_DB"}},
		{name: "bad url", env: map[string]string{"REDIS_URL": "http://user:secret@host"}, wantErr: []string{"REDIS_URL"}},
		{name: "two bad", env: map[string]string{"CACHE_TTL": "x", "REDIS_PORT": "y"}, wantErr: []string{"CACHE_TTL", "REDIS_PORT"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := configFromLookup(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("no error, want one naming %v", tc.wantErr)
				}
				if !errors.Is(err, ErrInvalidArgument) {
					t.Errorf("error %v does not wrap ErrInvalidArgument", err)
				}
				for _, name := range tc.wantErr {
					if !strings.Contains(err.Error(), name) {
						t.Errorf("error %q does not name %s", err, name)
					}
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error %q repeats a password", err)
				}
				if ce, ok := errors.AsType[*ConfigError](err); !ok || ce.Name != tc.wantErr[0] {
					t.Errorf("error %v: no *ConfigError for %s", err, tc.wantErr[0])
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	for _, tc := range []struct {
		name        string
		cfg         Config
		wantBackend string
		wantErr     string
	}{
		{"zero is disabled", Config{}, BackendNone, ""},
		{"memory default", Config{Enabled: true}, BackendMemory, ""},
		{"memory", Config{Enabled: true, Backend: "memory", TTL: time.Minute}, BackendMemory, ""},
		{"file", Config{Enabled: true, Backend: "file", FileDir: t.TempDir()}, BackendFile, ""},
		{"unknown", Config{Enabled: true, Backend: "memcached"}, "", "CACHE_BACKEND"},
		{"bad redis url", Config{Enabled: true, Backend: "redis", Redis: RedisConfig{URL: "ftp://x"}}, "", "redis"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Open(t.Context(), tc.cfg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || c != nil {
					t.Fatalf("Open = %v, %v; want nil and an error naming %s", c, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			s, err := c.Stats(t.Context())
			if err != nil || s.Backend != tc.wantBackend {
				t.Errorf("Stats = %+v, %v; want backend %s", s, err, tc.wantBackend)
			}
		})
	}
}
