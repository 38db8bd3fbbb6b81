package decode

import (
	"runtime"
	"strings"
	"testing"
)

func TestGapInPayloadKeepsFraming(t *testing.T) {
	big := strings.Repeat("abcdefgh", 100) // 800 bytes
	f := cf(true, OpText, big)
	hdr := 4 + 4 // 16-bit length + mask
	steps := hs(
		c2s(f[:hdr+100]),
		step{side: Side0, gap: 50},
		c2s(f[hdr+150:]),
		c2s(cf(true, OpText, "after")),
	)
	evs := run(Options{}, steps, nil)
	msgs := kinds(evs, KindMessage)
	if len(msgs) != 2 {
		t.Fatalf("%s", describe(evs))
	}
	m := msgs[0].Message
	if m.Lost != 50 || m.Len != 750 || m.UTF8Valid {
		t.Errorf("message: %+v", m)
	}
	// Unmasking stays aligned after the gap: the tail is intact.
	if !strings.HasSuffix(string(m.Payload), big[150:]) {
		t.Errorf("tail misaligned: %q", trim(m.Payload[len(m.Payload)-20:]))
	}
	if string(msgs[1].Message.Payload) != "after" {
		t.Errorf("framing lost after gap")
	}
	if g := kinds(evs, KindGap); len(g) != 1 || g[0].Gap != 50 || g[0].From != RoleClient {
		t.Errorf("gap events %s", describe(g))
	}
	if hasCode(evs, CodeFramingLost) {
		t.Error("framing_lost raised")
	}
}

func TestMaxPayloadTruncates(t *testing.T) {
	evs := run(Options{MaxPayload: 10}, hs(s2c(sf(true, OpText, "0123456789abcdef"))), nil)
	m := kinds(evs, KindMessage)[0].Message
	if string(m.Payload) != "0123456789" || !m.Truncated || m.Len != 16 || !m.UTF8Valid {
		t.Errorf("%+v", m)
	}
}

func TestHugeDeclaredLength(t *testing.T) {
	// A header claiming 2^63-1 bytes allocates nothing by that length.
	f := fb{fin: true, op: OpBinary, declLen: 1<<63 - 1, payload: []byte("abc")}.bytes()
	evs := run(Options{}, hs(s2c(f)), nil)
	fr := kinds(evs, KindFrame)
	if len(fr) != 1 || !fr[0].Frame.Cut || fr[0].Frame.Seen != 3 {
		t.Errorf("%s", describe(evs))
	}
}

func TestRejectedThenRetried(t *testing.T) {
	steps := []step{
		c2s(str(testReq)),
		s2c(str("HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\n\r\nauth")),
		c2s(str(strings.Replace(testReq, "Host:", "Authorization: Basic eDp5\r\nHost:", 1))),
		s2c(str(testResp)),
		s2c(sf(true, OpText, "in")),
	}
	evs := run(Options{}, steps, nil)
	h := kinds(evs, KindHandshake)
	if len(h) != 2 || h[0].Handshake.Upgraded || h[0].Handshake.Status != 401 || !h[1].Handshake.Upgraded {
		t.Fatalf("%s", describe(evs))
	}
	if m := kinds(evs, KindMessage); len(m) != 1 {
		t.Errorf("%s", describe(evs))
	}
	if len(kinds(evs, KindConn)) != 1 {
		t.Error("conn announced twice")
	}
}

func TestClientFramesBeforeResponseReplayed(t *testing.T) {
	steps := []step{c2s(str(testReq), cf(true, OpText, "eager")), s2c(str(testResp))}
	evs := run(Options{}, steps, nil)
	m := kinds(evs, KindMessage)
	if len(m) != 1 || string(m[0].Message.Payload) != "eager" || m[0].Packet != 1 {
		t.Fatalf("%s", describe(evs))
	}
	// Same packet as the request: the client did send before the 101, but
	// in one segment with it; RFC 6455 still forbids it.
	if !hasCode(evs, CodeClientDataBeforeUpgrade) {
		t.Errorf("%s", describe(evs))
	}
}

func TestResponseBeforeRequest(t *testing.T) {
	// The server side is delivered first (reordered reassembly).
	steps := []step{s2c(str(testResp), sf(true, OpText, "hi")), c2s(str(testReq))}
	evs := run(Options{}, steps, nil)
	if h := kinds(evs, KindHandshake); len(h) != 1 || !h[0].Handshake.AcceptValid {
		t.Fatalf("%s", describe(evs))
	}
	if m := kinds(evs, KindMessage); len(m) != 1 || string(m[0].Message.Payload) != "hi" {
		t.Errorf("%s", describe(evs))
	}
}

func TestNotHTTP(t *testing.T) {
	c := NewConn(testMeta, Options{})
	dst := c.Feed(nil, Side0, []byte("SSH-2.0-OpenSSH_9.6\r\n"), Seg{Packet: 1})
	dst = c.Feed(dst, Side1, []byte{0x16, 0x03, 0x01, 0x00}, Seg{Packet: 2})
	if len(dst) != 0 || !c.Idle() || c.IsWebSocket() {
		t.Errorf("%s idle=%v", describe(dst), c.Idle())
	}
	if dst = c.Close(dst, Seg{}, EndCaptureEnd); len(dst) != 0 {
		t.Errorf("events for a non-WebSocket connection: %s", describe(dst))
	}
}

// TestDeclaredLengthsAllocateNothing: headers that claim large payloads
// but carry a few bytes must not make the decoder allocate by the claim
// (1,000 connections claiming 1 MiB each would be 1 GB).
func TestDeclaredLengthsAllocateNothing(t *testing.T) {
	claim := fb{fin: true, op: OpBinary, declLen: 1 << 20, payload: []byte("0123456789")}.bytes()
	compressed := fb{fin: true, rsv: 4, op: OpBinary, declLen: 1 << 20, payload: []byte("0123456789")}.bytes()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	conns := make([]*Conn, 1000)
	for i := range conns {
		c := NewConn(testMeta, Options{})
		c.Feed(nil, Side0, []byte(testReqDeflate), Seg{})
		c.Feed(nil, Side1, []byte(respWithExt("permessage-deflate")), Seg{})
		c.Feed(nil, Side1, claim, Seg{})
		c.Feed(nil, Side0, compressed, Seg{})
		conns[i] = c
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 64<<20 {
		t.Errorf("1,000 connections with 1 MiB claims hold %d MiB", grew>>20)
	}
	runtime.KeepAlive(conns)
}
