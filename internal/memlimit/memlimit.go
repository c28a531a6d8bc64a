package memlimit

import (
	"bufio"
	"bytes"
	"os"
	"path"
	"runtime/debug"
	"strconv"
	"strings"
)

// Total reports the memory the process may use in bytes, and where the
// figure comes from ("cgroup" or "physical"); 0 and "" when unknown.
func Total() (int64, string) {
	return total(os.ReadFile)
}

func total(read func(string) ([]byte, error)) (int64, string) {
	phys := physical(read)
	limit, src := phys, "physical"
	if cg := cgroupLimit(read); cg > 0 && (phys == 0 || cg < phys) {
		limit, src = cg, "cgroup"
	}
	if limit <= 0 {
		return 0, ""
	}
	return limit, src
}

// physical reads MemTotal from /proc/meminfo.
func physical(read func(string) ([]byte, error)) int64 {
	b, err := read("/proc/meminfo")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil || kb <= 0 {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// cgroupLimit returns the tightest memory limit of the process's cgroup
// and its ancestors, v2 or v1, or 0 when none is set.
func cgroupLimit(read func(string) ([]byte, error)) int64 {
	var v1, v2 string
	if b, err := read("/proc/self/cgroup"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			parts := strings.SplitN(line, ":", 3)
			if len(parts) != 3 {
				continue
			}
			switch {
			case parts[0] == "0" && parts[1] == "":
				v2 = parts[2]
			case strings.Contains(","+parts[1]+",", ",memory,"):
				v1 = parts[2]
			}
		}
	}
	best := int64(0)
	consider := func(file string) {
		b, err := read(file)
		if err != nil {
			return
		}
		s := strings.TrimSpace(string(b))
		n, err := strconv.ParseInt(s, 10, 64)
		// "max" (v2) or a value near MaxInt64 (v1) means no limit.
		if err != nil || n <= 0 || n >= 1<<62 {
			return
		}
		if best == 0 || n < best {
			best = n
		}
	}
	// The cgroup's own directory and each ancestor up to the mount's root,
	// which is the cgroup itself inside a cgroup namespace.
	for _, c := range []struct{ root, rel, file string }{
		{"/sys/fs/cgroup", v2, "memory.max"},
		{"/sys/fs/cgroup/memory", v1, "memory.limit_in_bytes"},
	} {
		dir := path.Clean("/" + c.rel)
		for {
			consider(path.Join(c.root, dir, c.file))
			if dir == "/" {
				break
			}
			dir = path.Dir(dir)
		}
	}
	return best
}

// SetGoLimit sets Go's soft memory limit (debug.SetMemoryLimit) to limit,
// so that the collector works harder before the kernel's OOM killer would
// act, unless the user set GOMEMLIMIT or limit is not positive. It returns
// the limit set, 0 when it set none.
func SetGoLimit(limit int64) int64 {
	if v, ok := os.LookupEnv("GOMEMLIMIT"); ok && strings.TrimSpace(v) != "" {
		return 0
	}
	if limit <= 0 {
		return 0
	}
	debug.SetMemoryLimit(limit)
	return limit
}
