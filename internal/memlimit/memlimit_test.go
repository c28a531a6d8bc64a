package memlimit

import (
	"io/fs"
	"testing"
)

func fakeFS(files map[string]string) func(string) ([]byte, error) {
	return func(name string) ([]byte, error) {
		if s, ok := files[name]; ok {
			return []byte(s), nil
		}
		return nil, fs.ErrNotExist
	}
}

const meminfo = "MemTotal:       24683736 kB\nMemFree:         1000 kB\n"

func TestTotal(t *testing.T) {
	phys := int64(24683736) << 10
	cases := []struct {
		name  string
		files map[string]string
		want  int64
		src   string
	}{
		{"nothing readable", nil, 0, ""},
		{"physical only", map[string]string{"/proc/meminfo": meminfo}, phys, "physical"},
		{"v2 unlimited", map[string]string{
			"/proc/meminfo": meminfo, "/proc/self/cgroup": "0::/\n", "/sys/fs/cgroup/memory.max": "max\n",
		}, phys, "physical"},
		{"v2 limit in the namespace root", map[string]string{
			"/proc/meminfo": meminfo, "/proc/self/cgroup": "0::/\n", "/sys/fs/cgroup/memory.max": "536870912\n",
		}, 512 << 20, "cgroup"},
		{"v2 nested, parent tighter", map[string]string{
			"/proc/meminfo": meminfo, "/proc/self/cgroup": "0::/a/b\n",
			"/sys/fs/cgroup/a/b/memory.max": "max", "/sys/fs/cgroup/a/memory.max": "1073741824",
		}, 1 << 30, "cgroup"},
		{"v1 unlimited", map[string]string{
			"/proc/meminfo": meminfo, "/proc/self/cgroup": "4:memory:/x\n0::/\n",
			"/sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712",
		}, phys, "physical"},
		{"v1 limit", map[string]string{
			"/proc/meminfo": meminfo, "/proc/self/cgroup": "4:cpu,memory:/x\n",
			"/sys/fs/cgroup/memory/x/memory.limit_in_bytes": "2147483648",
		}, 2 << 30, "cgroup"},
		{"limit above physical memory", map[string]string{
			"/proc/meminfo": meminfo, "/proc/self/cgroup": "0::/\n", "/sys/fs/cgroup/memory.max": "1099511627776",
		}, phys, "physical"},
		{"garbage", map[string]string{"/proc/meminfo": "MemTotal: lots kB", "/sys/fs/cgroup/memory.max": "-3"}, 0, ""},
	}
	for _, c := range cases {
		got, src := total(fakeFS(c.files))
		if got != c.want || src != c.src {
			t.Errorf("%s: Total = %d, %q; want %d, %q", c.name, got, src, c.want, c.src)
		}
	}
}

func TestSetGoLimitKeepsGOMEMLIMIT(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "1GiB")
	if got := SetGoLimit(1 << 30); got != 0 {
		t.Errorf("SetGoLimit with GOMEMLIMIT set = %d, want 0 (left alone)", got)
	}
}
