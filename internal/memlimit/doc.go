// Package memlimit finds how much memory the process may use: the limit
// of its cgroup (v2 memory.max or v1 memory.limit_in_bytes) where one is
// set, otherwise the machine's physical memory. The Engine's default
// model-memory budget and the example binaries' Go soft memory limit are
// derived from it.
//
// # Platforms
//
// Both are read from /sys/fs/cgroup and /proc/meminfo, so [Total] knows
// them on Linux only; elsewhere it reports 0 and callers use their
// fixed defaults.
package memlimit
