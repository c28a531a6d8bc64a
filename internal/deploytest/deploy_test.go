package deploytest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// root is the repository root, relative to this package's directory.
const root = "../.."

// deployPath returns the path of a file under deploy/.
func deployPath(parts ...string) string {
	return filepath.Join(append([]string{root, "deploy"}, parts...)...)
}

// needTool returns the path of the named program, skipping t when it is
// not on PATH, or failing t when CI is set (CI installs it).
func needTool(t *testing.T, name, install string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		msg := name + " is not on PATH: " + install
		if os.Getenv("CI") != "" {
			t.Fatalf("%s (CI is set, so this test may not skip)", msg)
		}
		t.Skip(msg)
	}
	return path
}
