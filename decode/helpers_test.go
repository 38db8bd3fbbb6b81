package decode

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// dehex decodes readable hex ("81 85 37fa213d 7f9f4d5158").
func dehex(s string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		panic(err)
	}
	return b
}

var testKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// fb builds a frame.
type fb struct {
	fin     bool
	rsv     uint8
	op      Opcode
	mask    bool
	key     [4]byte
	payload []byte
	lenBits uint8  // force 16 or 64
	declLen uint64 // lie about the length when non-zero
}

func (f fb) bytes() []byte {
	b0 := byte(f.op) | f.rsv<<4
	if f.fin {
		b0 |= 0x80
	}
	n := uint64(len(f.payload))
	if f.declLen != 0 {
		n = f.declLen
	}
	var mb byte
	if f.mask {
		mb = 0x80
	}
	out := []byte{b0}
	bits := f.lenBits
	if bits == 0 {
		switch {
		case n < 126:
			bits = 7
		case n < 65536:
			bits = 16
		default:
			bits = 64
		}
	}
	switch bits {
	case 7:
		out = append(out, mb|byte(n))
	case 16:
		out = append(out, mb|126)
		out = binary.BigEndian.AppendUint16(out, uint16(n))
	default:
		out = append(out, mb|127)
		out = binary.BigEndian.AppendUint64(out, n)
	}
	p := append([]byte(nil), f.payload...)
	if f.mask {
		out = append(out, f.key[:]...)
		unmaskSimple(p, f.key, 0)
	}
	return append(out, p...)
}

// cf is a masked client frame, sf an unmasked server frame.
func cf(fin bool, op Opcode, payload string) []byte {
	return fb{fin: fin, op: op, mask: true, key: testKey, payload: []byte(payload)}.bytes()
}
func sf(fin bool, op Opcode, payload string) []byte {
	return fb{fin: fin, op: op, payload: []byte(payload)}.bytes()
}

func closeBody(code uint16, reason string) string {
	return string(binary.BigEndian.AppendUint16(nil, code)) + reason
}

const (
	testReq = "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\n" +
		"Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n"
	testResp = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n"
	testReqDeflate = "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
)

func respWithExt(ext string) string {
	return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Extensions: " + ext + "\r\n\r\n"
}

// step is one capture event of a scripted conversation.
type step struct {
	side Side
	data []byte
	gap  int64
	end  bool
	// report: an anomaly found outside the decoder (Conn.Report), e.g.
	// memcap_evicted; run then Closes the Conn, as the caller does.
	report Code
	// h2: the extended CONNECT exchange of an HTTP/2 stream
	// (Conn.ExtendedConnect), side its client.
	h2 *H2Connect
}

func c2s(parts ...[]byte) step { return step{side: Side0, data: bytes.Join(parts, nil)} }
func s2c(parts ...[]byte) step { return step{side: Side1, data: bytes.Join(parts, nil)} }
func str(s string) []byte      { return []byte(s) }

var testMeta = ConnMeta{ID: 1, Addr: [2]netip.AddrPort{
	netip.MustParseAddrPort("10.0.0.2:51512"), netip.MustParseAddrPort("10.0.0.1:8080")}}

var t0 = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

// run feeds a script, cutting every data step with split, overwriting each
// fed buffer afterwards (to catch retained slices), and returns cloned events.
func run(opt Options, steps []step, split func(n int) []int) []Event {
	c := NewConn(testMeta, opt)
	var all, dst []Event
	for i, st := range steps {
		s := Seg{Time: t0.Add(time.Duration(i) * time.Millisecond), Packet: i + 1}
		dst = dst[:0]
		switch {
		case st.end:
			dst = c.End(dst, st.side, s, EndFIN)
		case st.report != "":
			dst = c.Report(dst, st.side, newAnomaly(st.report, "reported by the caller"), s)
			if st.report == CodeMemcapEvicted {
				dst = c.Close(dst, s, EndIdle)
			}
		case st.gap > 0:
			dst = c.Gap(dst, st.side, st.gap, s)
		case st.h2 != nil:
			x := *st.h2
			x.RequestSeg, x.ResponseSeg = s, s
			dst = c.ExtendedConnect(dst, st.side, &x)
		default:
			cuts := []int{len(st.data)}
			if split != nil {
				cuts = split(len(st.data))
			}
			prev := 0
			for _, cut := range cuts {
				buf := append([]byte(nil), st.data[prev:cut]...)
				dst = c.Feed(dst, st.side, buf, s)
				for j := range buf {
					buf[j] = 0xEE
				}
				// Events of earlier Feeds in this step must survive.
				all = appendClones(all, dst)
				dst = dst[:0]
				prev = cut
			}
		}
		all = appendClones(all, dst)
	}
	dst = c.Close(dst[:0], Seg{Time: t0.Add(time.Second), Packet: len(steps) + 1}, EndCaptureEnd)
	return appendClones(all, dst)
}

func appendClones(all, evs []Event) []Event {
	for _, e := range evs {
		all = append(all, e.Clone())
	}
	return all
}

func whole(n int) []int { return []int{n} }
func bytewise(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i + 1
	}
	return out
}
func every(k int) func(int) []int {
	return func(n int) []int {
		var out []int
		for i := k; i < n; i += k {
			out = append(out, i)
		}
		return append(out, n)
	}
}
func randomSplit(seed int64) func(int) []int {
	r := rand.New(rand.NewSource(seed))
	return func(n int) []int {
		var out []int
		for i := 0; i < n; {
			i += 1 + r.Intn(9)
			if i > n {
				i = n
			}
			out = append(out, i)
		}
		if len(out) == 0 || out[len(out)-1] != n {
			out = append(out, n)
		}
		return out
	}
}

// codes lists the anomaly codes among events.
func codes(evs []Event) []Code {
	var out []Code
	for _, e := range evs {
		if e.Kind == KindAnomaly {
			out = append(out, e.Anomaly.Code)
		}
	}
	return out
}

func hasCode(evs []Event, c Code) bool {
	for _, x := range codes(evs) {
		if x == c {
			return true
		}
	}
	return false
}

func kinds(evs []Event, k Kind) []Event {
	var out []Event
	for _, e := range evs {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

// describe renders events compactly for failure messages and comparisons.
func describe(evs []Event) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "#%d pkt%d %s %s", e.Seq, e.Packet, e.Kind, e.From)
		switch e.Kind {
		case KindConn:
			fmt.Fprintf(&b, " client=%s server=%s mid=%v", e.Info.Client, e.Info.Server, e.Info.Midstream)
		case KindHandshake:
			h := e.Handshake
			fmt.Fprintf(&b, " %s %s status=%d accept=%v upgraded=%v proto=%q deflate=%v", h.Method, h.Path, h.Status, h.AcceptValid, h.Upgraded, h.Protocol, h.Deflate)
		case KindFrame:
			f := e.Frame
			fmt.Fprintf(&b, " fin=%v rsv=%d op=%s mask=%v len=%d seen=%d lost=%d cut=%v msg=%d comp=%v off=%d first=%d payload=%q", f.Fin, f.Rsv, f.Opcode, f.Masked, f.PayloadLen, f.Seen, f.Lost, f.Cut, f.Message, f.Compressed, f.Offset, f.FirstPacket, f.Payload)
			if f.Close.HasCode {
				fmt.Fprintf(&b, " close=%d %q", f.Close.Code, f.Close.Reason)
			}
		case KindMessage:
			m := e.Message
			fmt.Fprintf(&b, " n=%d op=%s frames=%d len=%d wire=%d comp=%v trunc=%v lost=%d utf8=%v err=%q cut=%v payload=%q", m.N, m.Opcode, m.Frames, m.Len, m.WireLen, m.Compressed, m.Truncated, m.Lost, m.UTF8Valid, m.DecodeError, m.Cut, m.Payload)
		case KindAnomaly:
			fmt.Fprintf(&b, " %s %s: %s", e.Anomaly.Severity, e.Anomaly.Code, e.Anomaly.Detail)
		case KindGap:
			fmt.Fprintf(&b, " %d", e.Gap)
		case KindEnd:
			fmt.Fprintf(&b, " %+v", e.End)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// deflater compresses messages the RFC 7692 way (sync flush, tail stripped).
type deflater struct {
	buf      bytes.Buffer
	w        *flate.Writer
	takeover bool
}

func newDeflater(takeover bool) *deflater {
	d := &deflater{takeover: takeover}
	d.w, _ = flate.NewWriter(&d.buf, 6)
	return d
}

func (d *deflater) compress(p string) []byte {
	if !d.takeover {
		d.w.Reset(&d.buf)
	}
	d.buf.Reset()
	d.w.Write([]byte(p))
	d.w.Flush()
	out := append([]byte(nil), d.buf.Bytes()...)
	if bytes.HasSuffix(out, []byte{0, 0, 0xff, 0xff}) {
		out = out[:len(out)-4]
	}
	return out
}

func assertNoAnomalies(t *testing.T, evs []Event) {
	t.Helper()
	if c := codes(evs); len(c) != 0 {
		t.Errorf("unexpected anomalies %v\n%s", c, describe(evs))
	}
}
