package deploytest

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPrometheusConfig runs promtool check config on the configuration
// compose mounts into Prometheus, and checks that it scrapes every DREDGE
// service of the compose file.
func TestPrometheusConfig(t *testing.T) {
	promtool := needTool(t, "promtool", "apt-get install prometheus")
	out, err := exec.Command(promtool, "check", "config", deployPath("prometheus", "prometheus.yml")).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check config: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "SUCCESS") {
		t.Errorf("promtool check config: no SUCCESS:\n%s", out)
	}
}
