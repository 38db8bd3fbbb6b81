package decode

import (
	"math/rand/v2"
	"testing"
	"unicode/utf8"
)

// TestUTF8Bulk checks the bulk path of utf8Check (utf8.Valid over whole
// characters) against the byte-by-byte check and utf8.Valid, on long
// random texts split at random points.
func TestUTF8Bulk(t *testing.T) {
	parts := []string{"abcdefgh", "é", "✓", "𝄞", "\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xff", "\x80", "\xe2\x80", "{\"k\":1}"}
	rng := rand.New(rand.NewPCG(9, 10))
	for range 5000 {
		var s []byte
		for range rng.IntN(30) {
			s = append(s, parts[rng.IntN(len(parts))]...)
		}
		var bulk, slow utf8Check
		for rest := s; len(rest) > 0; {
			k := 1 + rng.IntN(len(rest))
			bulk.feed(rest[:k])
			slow.feedSlow(rest[:k])
			rest = rest[k:]
		}
		if bulk.ok() != slow.ok() || bulk.bad != slow.bad || bulk.ok() != utf8.Valid(s) {
			t.Fatalf("%q: bulk %+v, slow %+v, utf8.Valid %v", s, bulk, slow, utf8.Valid(s))
		}
	}
}
