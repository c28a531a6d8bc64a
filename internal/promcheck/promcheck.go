// Package promcheck lints Prometheus exposition text in tests with
// Prometheus's own promtool, so that what /metrics serves is what
// Prometheus accepts.
package promcheck

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// Metrics runs `promtool check metrics` on body and fails t on any
// problem, lint warnings included. It skips t when promtool is not on
// PATH (Debian: apt-get install prometheus; CI installs it).
func Metrics(t testing.TB, body string) {
	t.Helper()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not on PATH (Debian/Ubuntu: apt-get install prometheus); skipping exposition lint")
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("promtool check metrics: %v\n%s\nexposition:\n%s", err, out, body)
	}
}
