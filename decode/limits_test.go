package decode

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// A browser's Upgrade request with a 17 KB Cookie header is decoded with
// the default head limit (it was 16 KiB and lost the WebSocket).
func TestLargeCookieHead(t *testing.T) {
	req := strings.Replace(testReq, "\r\n\r\n", "\r\nCookie: session="+strings.Repeat("c", 17000)+"\r\n\r\n", 1)
	steps := []step{c2s(str(req)), s2c(str(testResp)), s2c(sf(true, OpText, "hello"))}
	for _, split := range []func(int) []int{nil, every(1400)} {
		evs := run(Options{}, steps, split)
		assertNoAnomalies(t, evs)
		if m := kinds(evs, KindMessage); len(m) != 1 || string(m[0].Message.Payload) != "hello" {
			t.Fatalf("%s", describe(evs))
		}
	}
}

// connCost returns the heap bytes per Conn that n Conns hold after each
// was fed steps (and released its events), measured with runtime.MemStats
// after a GC.
func connCost(n int, steps []step) float64 {
	conns := make([]*Conn, n)
	var dst []Event
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	// Warm the pools (shared by all Conns) with one connection first.
	warm := NewConn(testMeta, Options{})
	for _, st := range steps {
		dst = warm.Feed(dst[:0], st.side, st.data, Seg{})
	}
	warm.Close(dst[:0], Seg{}, EndCaptureEnd)
	warm.Release()
	before := heap()
	for i := range conns {
		c := NewConn(testMeta, Options{})
		for _, st := range steps {
			dst = c.Feed(dst[:0], st.side, st.data, Seg{})
		}
		c.Release()
		conns[i] = c
	}
	after := heap()
	runtime.KeepAlive(conns)
	return float64(int64(after)-int64(before)) / float64(n)
}

// chatText is n bytes of varied chat-like JSON (compresses about 4:1).
func chatText(seed, n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, `{"id":%d,"user":"user%d","text":"message %d of seed %d","ts":%d}`, i*7919%100003, (i*31+seed)%977, i, seed, 1700000000+i*i%86400)
	}
	return b.String()[:n]
}

// openFragmentSteps: a handshake, then each side leaves a fragmented
// message open after a 100-byte first frame.
func openFragmentSteps() []step {
	return []step{c2s(str(testReq)), s2c(str(testResp)),
		c2s(fb{op: OpText, mask: true, key: testKey, payload: []byte(chatText(1, 100))}.bytes()),
		s2c(sf(false, OpText, chatText(2, 100)))}
}

// deflateFullSteps: permessage-deflate with context takeover both ways,
// and enough messages each way to fill both 32 KiB windows.
func deflateFullSteps() []step {
	steps := []step{c2s(str(testReqDeflate)), s2c(str(respWithExt("permessage-deflate")))}
	cd, sd := newDeflater(true), newDeflater(true)
	for i := 0; i < 20; i++ {
		steps = append(steps,
			c2s(fb{fin: true, rsv: 4, op: OpText, mask: true, key: testKey, payload: cd.compress(chatText(i, 2500))}.bytes()),
			s2c(fb{fin: true, rsv: 4, op: OpText, payload: sd.compress(chatText(100+i, 2500))}.bytes()))
	}
	return steps
}

// TestConnCost bounds the memory a Conn holds in states that thousands of
// connections are in at once (issue 11: an open fragmented message each
// way cost ~25 KB, deflate with context takeover ~170 KB).
func TestConnCost(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation sizes")
	}
	tests := []struct {
		name  string
		steps []step
		max   float64
	}{
		{"handshake only", []step{c2s(str(testReq)), s2c(str(testResp))}, 2000},
		{"open fragmented message each way", openFragmentSteps(), 3000},
		{"deflate with takeover, windows full", deflateFullSteps(), 90000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := connCost(2000, tc.steps)
			t.Logf("%.0f bytes per connection", got)
			if got > tc.max {
				t.Errorf("%.0f bytes per connection, want at most %.0f", got, tc.max)
			}
		})
	}
}

// memSizeCases are the states TestMemSize compares MemSize with MemStats
// in.
func memSizeCases() map[string][]step {
	big := chatText(3, 200<<10)
	return map[string][]step{
		"handshake only": {c2s(str(testReq)), s2c(str(testResp))},
		"request, no response, client bytes held": {c2s(str(testReq)), c2s(cf(true, OpText, chatText(4, 20000)))},
		"open fragmented message each way":        openFragmentSteps(),
		"open 200 KiB message each way": {c2s(str(testReq)), s2c(str(testResp)),
			c2s(fb{op: OpText, mask: true, key: testKey, payload: []byte(big)}.bytes()),
			s2c(sf(false, OpText, big))},
		"deflate with takeover, windows full": deflateFullSteps(),
		"deflate, open compressed message": append(deflateFullSteps()[:4],
			s2c(fb{rsv: 4, op: OpText, payload: newDeflater(true).compress(big)}.bytes())),
	}
}

// TestMemSize checks MemSize against runtime.MemStats (within a factor of
// 1.5 either way) in the states connections are held in.
func TestMemSize(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation sizes")
	}
	for name, steps := range memSizeCases() {
		t.Run(name, func(t *testing.T) {
			n := 500
			if len(steps) > 10 {
				n = 200
			}
			measured := connCost(n, steps)
			c := NewConn(testMeta, Options{})
			var dst []Event
			for _, st := range steps {
				dst = c.Feed(dst[:0], st.side, st.data, Seg{})
			}
			c.Release()
			est := float64(c.MemSize())
			t.Logf("MemSize %.0f, MemStats %.0f bytes per connection", est, measured)
			if est > 1.5*measured || measured > 1.5*est {
				t.Errorf("MemSize %.0f, MemStats %.0f bytes per connection: more than 1.5x apart", est, measured)
			}
		})
	}
}

// TestMemcapEvictedTruncates: after the caller reports memcap_evicted and
// closes the Conn, the messages that were open are marked truncated (and
// cut), with no stream_truncated: the eviction is the cause.
func TestMemcapEvictedTruncates(t *testing.T) {
	steps := []step{c2s(str(testReq)), s2c(str(testResp)),
		c2s(fb{op: OpText, mask: true, key: testKey, payload: []byte("open client")}.bytes()),
		s2c(fb{fin: true, op: OpBinary, payload: []byte("a frame cut in its payload"), declLen: 1000}.bytes()),
		{side: Side1, report: CodeMemcapEvicted}}
	evs := run(Options{}, steps, nil)
	if got := codes(evs); !slices.Equal(got, []Code{CodeMemcapEvicted}) {
		t.Errorf("codes %v, want only memcap_evicted\n%s", got, describe(evs))
	}
	msgs := kinds(evs, KindMessage)
	if len(msgs) != 2 {
		t.Fatalf("%s", describe(evs))
	}
	for _, m := range msgs {
		if !m.Message.Truncated || !m.Message.Cut {
			t.Errorf("message not marked truncated and cut\n%s", describe(msgs))
		}
	}
	// Without the report, Close says stream_truncated and the messages are
	// only cut.
	evs = run(Options{}, steps[:4], nil)
	if !hasCode(evs, CodeStreamTruncated) || kinds(evs, KindMessage)[0].Message.Truncated {
		t.Errorf("%s", describe(evs))
	}
}

// TestLargeMessageBuffer: a large message's buffer ends about its size
// (it doubled to the next power of two: 32 MiB for 20 MiB, 128 MiB for
// 100 MB), and what the decoder allocates for it stays under 2.7x.
func TestLargeMessageBuffer(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation sizes")
	}
	const n = 20 << 20
	c := NewConn(testMeta, Options{MaxPayload: 1 << 30})
	var dst []Event
	dst = c.Feed(dst, Side0, []byte(testReq), Seg{})
	dst = c.Feed(dst, Side1, []byte(testResp), Seg{})
	dst = c.Feed(dst[:0], Side1, fb{fin: true, op: OpBinary, declLen: n}.bytes(), Seg{})
	chunk := make([]byte, 64<<10)
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	for i := 0; i < n/len(chunk); i++ {
		dst = c.Feed(dst[:0], Side1, chunk, Seg{})
	}
	runtime.ReadMemStats(&ms1)
	m := kinds(dst, KindMessage)
	if len(m) != 1 || len(m[0].Message.Payload) != n {
		t.Fatalf("%s", describe(dst))
	}
	total := ms1.TotalAlloc - ms0.TotalAlloc
	held := cap(c.lent[len(c.lent)-1].b)
	t.Logf("buffer %d bytes, allocated %d bytes for a %d-byte message", held, total, n)
	if held > n+n/16 || total > n*27/10 {
		t.Errorf("buffer %d bytes, allocated %d bytes for a %d-byte message", held, total, n)
	}
}
