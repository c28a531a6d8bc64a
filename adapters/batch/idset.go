package batch

import (
	"hash/maphash"
	"slices"
)

// idSet holds the ids already in an output file as a sorted slice of
// 64-bit hashes: 8 bytes an id, whatever the ids' length. Two different
// ids share a hash with probability 2⁻⁶⁴, so a rerun that checks m input
// ids against n stored ones skips a task wrongly with probability at most
// n·m/2⁶⁴: below 10⁻⁵ for ten million of each. The seed is random per
// process; the hashes never leave it.
type idSet struct {
	seed   maphash.Seed
	hashes []uint64
}

func newIDSet() *idSet { return &idSet{seed: maphash.MakeSeed()} }

func (s *idSet) add(id string) {
	s.hashes = append(s.hashes, maphash.String(s.seed, id))
}

// seal sorts the hashes and returns how many were duplicates (ids present
// more than once), which it drops.
func (s *idSet) seal() (dups int64) {
	slices.Sort(s.hashes)
	n := len(s.hashes)
	s.hashes = slices.Compact(s.hashes)
	return int64(n - len(s.hashes))
}

// has reports whether id was added; the set must be sealed.
func (s *idSet) has(id string) bool {
	if len(s.hashes) == 0 {
		return false
	}
	_, ok := slices.BinarySearch(s.hashes, maphash.String(s.seed, id))
	return ok
}
