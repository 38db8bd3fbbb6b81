package decode

import (
	"bytes"
	"compress/flate"
	"fmt"
	"math/rand/v2"
	"testing"
)

// inflateRun is what one inflate call did.
type inflateRun struct {
	out   []byte
	res   string
	hist  []byte
	full  bool
	reset int
}

// runInflater inflates msgs in order with one inflater, fast or not.
func runInflater(msgs [][]byte, bits int, takeover bool, limits []int64, slow bool) []inflateRun {
	testSlowInflate = slow
	defer func() { testSlowInflate = false }()
	f := newInflater(bits, takeover, true)
	var runs []inflateRun
	for i, m := range msgs {
		// The compressed message in a buffer with or without room after it.
		comp := m
		if i%2 == 0 {
			comp = append(make([]byte, 0, len(m)+16), m...)
		}
		var r inflateRun
		res := f.inflate(comp, limits[i], func(b []byte) { r.out = append(r.out, b...) }, func() { r.out = r.out[:0]; r.reset++ })
		r.res = fmt.Sprintf("n=%d limited=%v window=%v noctx=%v before=%v err=%v", res.n, res.limited, res.windowExceeded, res.noContext, res.beforeStart, res.err)
		// Only the last window of the history matters (both keep a
		// suffix of the stream; how much beyond the window may differ).
		h := f.hist
		if len(h) > f.window {
			h = h[len(h)-f.window:]
		}
		r.hist = append([]byte(nil), h...)
		r.full = f.histFull
		runs = append(runs, r)
	}
	return runs
}

// compressMessages compresses msgs as one permessage-deflate sender would:
// a sync flush after each, the 00 00 ff ff tail removed; with takeover
// the compressor keeps its window.
func compressMessages(t testing.TB, msgs [][]byte, level int, takeover bool) [][]byte {
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, level)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, m := range msgs {
		if !takeover {
			w.Reset(&buf)
		}
		buf.Reset()
		w.Write(m)
		w.Flush()
		b := bytes.TrimSuffix(buf.Bytes(), []byte{0, 0, 0xff, 0xff})
		out = append(out, append([]byte(nil), b...))
	}
	return out
}

func randomMessage(rng *rand.Rand) []byte {
	n := rng.IntN(3000)
	if rng.IntN(8) == 0 {
		n = rng.IntN(200000)
	}
	b := make([]byte, 0, n)
	switch rng.IntN(4) {
	case 0: // JSON-ish text
		words := []string{`{"type":"quote",`, `"s":"NVDA",`, `"p":25225.71,`, `"q":4.6165,`, `"side":"sell"},`, "\u00e9t\u00e9 ", "\n", `"id":`}
		for len(b) < n {
			b = append(b, words[rng.IntN(len(words))]...)
			b = fmt.Appendf(b, "%d", rng.IntN(100000))
		}
	case 1: // random bytes
		for len(b) < n {
			b = append(b, byte(rng.Uint32()))
		}
	case 2: // long runs
		for len(b) < n {
			c := byte('a' + rng.IntN(3))
			for k := rng.IntN(300); k > 0 && len(b) < n; k-- {
				b = append(b, c)
			}
		}
	default: // a few symbols
		for len(b) < n {
			b = append(b, byte('0'+rng.IntN(2)))
		}
	}
	return b[:min(len(b), n)]
}

// TestFastInflate checks the table-driven decoder against compress/flate
// (testSlowInflate) on message sequences from every compression level,
// with and without context takeover, small windows, limits, and corrupted
// messages: outputs, results, error texts and the history must be equal.
func TestFastInflate(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	levels := []int{flate.NoCompression, flate.BestSpeed, 2, 6, flate.BestCompression, flate.HuffmanOnly}
	for iter := range 120 {
		takeover := rng.IntN(3) != 0
		level := levels[rng.IntN(len(levels))]
		bits := 15
		if rng.IntN(4) == 0 {
			bits = 8 + rng.IntN(8)
		}
		var msgs [][]byte
		for range 1 + rng.IntN(12) {
			msgs = append(msgs, randomMessage(rng))
		}
		comp := compressMessages(t, msgs, level, takeover)
		limits := make([]int64, len(comp))
		for i := range comp {
			limits[i] = 64 << 20
			if rng.IntN(6) == 0 {
				limits[i] = int64(rng.IntN(len(msgs[i]) + 2))
			}
			if rng.IntN(5) == 0 && len(comp[i]) > 0 {
				c := append([]byte(nil), comp[i]...)
				for range 1 + rng.IntN(3) {
					c[rng.IntN(len(c))] ^= byte(1 << rng.IntN(8))
				}
				if rng.IntN(3) == 0 {
					c = c[:rng.IntN(len(c))]
				}
				comp[i] = c
			}
		}
		fast := runInflater(comp, bits, takeover, limits, false)
		slow := runInflater(comp, bits, takeover, limits, true)
		for i := range fast {
			f, s := fast[i], slow[i]
			if !bytes.Equal(f.out, s.out) || f.res != s.res || !bytes.Equal(f.hist, s.hist) || f.full != s.full {
				t.Fatalf("iteration %d (level %d, takeover %v, bits %d) message %d:\nfast %s (%d bytes out, hist %d, full %v)\nslow %s (%d bytes out, hist %d, full %v)",
					iter, level, takeover, bits, i, f.res, len(f.out), len(f.hist), f.full, s.res, len(s.out), len(s.hist), s.full)
			}
		}
	}
}

// FuzzFastInflate feeds arbitrary bytes as a compressed message after a
// history: the fast decoder must agree with compress/flate.
func FuzzFastInflate(f *testing.F) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 8 {
		m := randomMessage(rng)
		c := compressMessages(f, [][]byte{m[:min(len(m), 2000)]}, 6, false)
		f.Add(c[0], []byte("history"), uint16(1000))
	}
	f.Fuzz(func(t *testing.T, comp, hist []byte, limit uint16) {
		msgs := [][]byte{hist, comp}
		h := compressMessages(t, [][]byte{hist}, 1, true)
		msgs[0] = h[0]
		limits := []int64{64 << 20, int64(limit)}
		fast := runInflater(msgs, 15, true, limits, false)
		slow := runInflater(msgs, 15, true, limits, true)
		for i := range fast {
			if !bytes.Equal(fast[i].out, slow[i].out) || fast[i].res != slow[i].res || !bytes.Equal(fast[i].hist, slow[i].hist) {
				t.Fatalf("message %d: fast %s, slow %s", i, fast[i].res, slow[i].res)
			}
		}
	})
}
