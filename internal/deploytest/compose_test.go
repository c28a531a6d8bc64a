package deploytest

import (
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// composeConfig runs docker-compose config on deploy/compose.yaml with
// the extra arguments and returns its normalised YAML.
func composeConfig(t *testing.T, args ...string) string {
	t.Helper()
	bin := needTool(t, "docker-compose", "apt-get install docker-compose (it validates without an engine)")
	args = append([]string{"-f", deployPath("compose.yaml")}, args...)
	cmd := exec.Command(bin, args...)
	cmd.Stderr = new(strings.Builder)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("docker-compose %s: %v\n%s", strings.Join(args, " "), err, cmd.Stderr)
	}
	return string(out)
}

// services splits docker-compose config's output into the block of each
// service, keyed by name: its lines indented under "  name:".
func services(config string) map[string]string {
	out := map[string]string{}
	in, name := false, ""
	for line := range strings.Lines(config) {
		switch {
		case line == "services:\n":
			in = true
		case in && !strings.HasPrefix(line, " "):
			in = false
		case in && strings.HasPrefix(line, "  ") && !strings.HasPrefix(line, "   "):
			name = strings.TrimSuffix(strings.TrimSpace(line), ":")
		case in && name != "":
			out[name] += line
		}
	}
	return out
}

// dredgeServices are the compose services that run the DREDGE image, with
// the port Prometheus scrapes on each.
var dredgeServices = map[string]string{
	"service":     "3001",
	"mcp-server":  "3002",
	"worker":      "9090",
	"service-gpu": "3001",
	"worker-gpu":  "9090",
}

func TestCompose(t *testing.T) {
	for _, profile := range []string{"", "gpu"} {
		var args []string
		if profile != "" {
			args = []string{"--profile", profile}
		}
		t.Run("profile="+profile, func(t *testing.T) {
			svcs := services(composeConfig(t, append(args, "config")...))
			var names []string
			for n := range svcs {
				names = append(names, n)
			}
			slices.Sort(names)
			want := []string{"grafana", "mcp-server", "prometheus", "redis", "service", "service-gpu", "worker", "worker-gpu"}
			if !slices.Equal(names, want) {
				t.Fatalf("services %v, want %v", names, want)
			}
			checkServices(t, svcs)
		})
	}
	if p := strings.Fields(composeConfig(t, "config", "--profiles")); !slices.Equal(p, []string{"gpu"}) {
		t.Errorf("profiles %v, want [gpu]", p)
	}
}

func checkServices(t *testing.T, svcs map[string]string) {
	redis := svcs["redis"]
	for _, want := range []string{"- --appendonly\n    - \"yes\"", "- redis-cli\n      - ping", "- redis-data:/data"} {
		if !strings.Contains(redis, want) {
			t.Errorf("redis: no %q in\n%s", want, redis)
		}
	}
	for name := range dredgeServices {
		s := svcs[name]
		for _, want := range []string{
			"REDIS_URL: redis://redis:6379/0", "QUEUE_BACKEND: redis", "CACHE_BACKEND: redis", "MODEL_STORE: redis",
			"redis:\n        condition: service_healthy",
			"dockerfile: deploy/Dockerfile",
			"- /usr/local/bin/healthcheck\n      - http://127.0.0.1:" + dredgeServices[name] + "/health",
		} {
			if !strings.Contains(s, want) {
				t.Errorf("%s: no %q in\n%s", name, want, s)
			}
		}
		gpu := strings.HasSuffix(name, "-gpu")
		if got := strings.Contains(s, "target: cuda"); got != gpu {
			t.Errorf("%s: built from the cuda target: %v, want %v", name, got, gpu)
		}
		if gpu && !strings.Contains(s, "driver: nvidia") {
			t.Errorf("%s: no nvidia device reservation:\n%s", name, s)
		}
		if gpu != strings.Contains(s, "profiles:\n    - gpu") {
			t.Errorf("%s: in the gpu profile: %v", name, !gpu)
		}
	}
	// The service and the MCP server only enqueue: the workers run jobs.
	for _, name := range []string{"service", "mcp-server", "service-gpu"} {
		if !strings.Contains(svcs[name], "NUM_WORKERS: '0'") {
			t.Errorf("%s: NUM_WORKERS is not 0", name)
		}
	}
	// --scale worker=N: no fixed name or host port may clash.
	for _, name := range []string{"worker", "worker-gpu"} {
		for _, bad := range []string{"container_name:", "ports:"} {
			if strings.Contains(svcs[name], bad) {
				t.Errorf("%s: has %s, which --scale %s=N would clash on", name, bad, name)
			}
		}
	}
}

// TestPrometheusScrapesEveryService checks that prometheus.yml has a
// target for each compose service that runs DREDGE, on the port its
// /metrics is served on, and finds the scalable ones through DNS.
func TestPrometheusScrapesEveryService(t *testing.T) {
	b, err := os.ReadFile(deployPath("prometheus", "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	conf := string(b)
	for name, port := range dredgeServices {
		static := regexp.MustCompile(`targets: \[.*"` + regexp.QuoteMeta(name+":"+port) + `"`)
		dns := regexp.MustCompile(`names: \["` + regexp.QuoteMeta(name) + `"\]\s+type: A\s+port: ` + port)
		if !static.MatchString(conf) && !dns.MatchString(conf) {
			t.Errorf("prometheus.yml scrapes no %s:%s", name, port)
		}
		if strings.HasPrefix(name, "worker") && !dns.MatchString(conf) {
			t.Errorf("prometheus.yml: %s scales, so it needs dns_sd_configs", name)
		}
	}
}
