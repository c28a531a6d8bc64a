package batch

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A result line longer than maxIDPrefix (an inference of many points)
// still counts as done: its id is read from the line's first bytes.
func TestLoadDoneLongLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	long := `{"id":"a","result":{"output":[` + strings.Repeat("0.5,", 30_000) + `0.5]}}`
	if err := os.WriteFile(path, []byte(long+"\n"+`{"id":"b","result":{}}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	done, lines, dups, err := loadDone(f)
	if err != nil || lines != 2 || dups != 0 || !done.has("a") || !done.has("b") {
		t.Fatalf("loadDone: lines %d, dups %d, err %v, has a %v, has b %v", lines, dups, err, done != nil && done.has("a"), done != nil && done.has("b"))
	}
}
