package decode

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

func benchConn(b *testing.B, frame []byte, chunk int) {
	c := NewConn(testMeta, Options{})
	var dst []Event
	dst = c.Feed(dst, Side0, []byte(testReq), Seg{})
	dst = c.Feed(dst, Side1, []byte(testResp), Seg{})
	stream := bytes.Repeat(frame, max(1, (64<<10)/len(frame)))
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		for off := 0; off < len(stream); off += chunk {
			dst = c.Feed(dst[:0], Side0, stream[off:min(off+chunk, len(stream))], Seg{})
		}
	}
}

func BenchmarkFeedSmallFrames(b *testing.B) {
	benchConn(b, cf(true, OpText, `{"type":"tick","seq":123456,"price":"101.25"}`), 1460)
}

func BenchmarkFeedLargeFrames(b *testing.B) {
	benchConn(b, cf(true, OpBinary, string(bytes.Repeat([]byte{1, 2, 3, 4}, 16<<10))), 1460)
}

func BenchmarkFeedServerText64K(b *testing.B) {
	benchConn(b, sf(true, OpText, string(bytes.Repeat([]byte("héllo wörld "), 5000))), 16<<10)
}

func BenchmarkFeedBytewise(b *testing.B) {
	benchConn(b, cf(true, OpText, "Hello, world"), 1)
}

func BenchmarkUnmask(b *testing.B) {
	buf := make([]byte, 64<<10)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		unmask(buf, testKey, 1)
	}
}

func BenchmarkUnmaskSimple(b *testing.B) {
	buf := make([]byte, 64<<10)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		unmaskSimple(buf, testKey, 1)
	}
}

// TestFeedAllocs: steady-state frames allocate nothing.
func TestFeedAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop buffers")
	}
	c := NewConn(testMeta, Options{})
	var dst []Event
	dst = c.Feed(dst, Side0, []byte(testReq), Seg{})
	dst = c.Feed(dst, Side1, []byte(testResp), Seg{})
	small := bytes.Repeat(cf(true, OpText, "hello, world"), 20)
	large := cf(true, OpBinary, string(bytes.Repeat([]byte{9}, 40000)))
	srv := bytes.Repeat(sf(true, OpText, "server text ✓"), 20)
	for range 3 { // warm up buffers
		dst = c.Feed(dst[:0], Side0, small, Seg{})
		dst = c.Feed(dst[:0], Side0, large, Seg{})
		dst = c.Feed(dst[:0], Side1, srv, Seg{})
	}
	allocs := testing.AllocsPerRun(100, func() {
		dst = c.Feed(dst[:0], Side0, small, Seg{})
		dst = c.Feed(dst[:0], Side0, large[:7000], Seg{})
		dst = c.Feed(dst[:0], Side0, large[7000:], Seg{})
		dst = c.Feed(dst[:0], Side1, srv, Seg{})
	})
	if allocs != 0 {
		t.Errorf("%v allocations per run", allocs)
	}
}

// benchInflate measures ns per compressed message through the whole
// decoder (frame parse, unmask, inflate, UTF-8 check, payload copy).
func benchInflate(b *testing.B, msg string, takeover bool) {
	benchInflateMsgs(b, func(i int) string { return fmt.Sprintf("%s %d", msg, i) }, takeover)
}

// benchInflateMsgs is benchInflate with message i made by gen.
func benchInflateMsgs(b *testing.B, gen func(int) string, takeover bool) {
	ext := "permessage-deflate"
	if !takeover {
		ext += "; client_no_context_takeover"
	}
	c := NewConn(testMeta, Options{})
	var dst []Event
	dst = c.Feed(dst, Side0, []byte(testReqDeflate), Seg{})
	dst = c.Feed(dst, Side1, []byte(respWithExt(ext)), Seg{})
	// 64 different messages, compressed as the client would send them.
	d := newDeflater(takeover)
	var stream []byte
	const n = 64
	size := 0
	for i := range n {
		m := gen(i)
		size += len(m)
		stream = append(stream, fb{fin: true, rsv: 4, op: OpText, mask: true, key: testKey, payload: d.compress(m)}.bytes()...)
	}
	b.ReportAllocs()
	b.SetBytes(int64(size))
	for b.Loop() {
		dst = c.Feed(dst[:0], Side0, stream, Seg{})
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/msg")
}

var smallJSON = `{"type":"tick","symbol":"EURUSD","bid":1.08412,"ask":1.08415,"ts":1709294400}`

func BenchmarkInflateSmallTakeover(b *testing.B)   { benchInflate(b, smallJSON, true) }
func BenchmarkInflateSmallNoTakeover(b *testing.B) { benchInflate(b, smallJSON, false) }
func BenchmarkInflateLargeTakeover(b *testing.B) {
	benchInflate(b, strings.Repeat(smallJSON+`,"note":"héllo wörld"`, 400), true)
}
func BenchmarkInflateLargeNoTakeover(b *testing.B) {
	benchInflate(b, strings.Repeat(smallJSON+`,"note":"héllo wörld"`, 400), false)
}

// variedJSON makes message i of a feed like wsgen's: JSON records with
// random numbers, ids and words, 1-3 KB, so that literals are common and
// matches short (unlike the repeated text above).
func variedJSON(i int) string {
	rng := rand.New(rand.NewPCG(uint64(i), 9))
	words := []string{"socket", "frame", "packet", "update", "build", "ok", "ünïcode", "Grüße", "→"}
	var sb strings.Builder
	fmt.Fprintf(&sb, `{"type":"presence","seq":%d,"ts":%d,"data":[`, i, 1709294400000+rng.IntN(1e6))
	for k := range 8 + rng.IntN(16) {
		if k > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"user":"user%d","p":%d.%02d,"text":"%s %s %s","id":%d}`, rng.IntN(100), rng.IntN(30000), rng.IntN(100),
			words[rng.IntN(len(words))], words[rng.IntN(len(words))], words[rng.IntN(len(words))], rng.Int64N(1e12))
	}
	sb.WriteString("]}")
	return sb.String()
}

func BenchmarkInflateVariedTakeover(b *testing.B)   { benchInflateMsgs(b, variedJSON, true) }
func BenchmarkInflateVariedNoTakeover(b *testing.B) { benchInflateMsgs(b, variedJSON, false) }
