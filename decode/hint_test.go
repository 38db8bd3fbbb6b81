package decode

import (
	"bytes"
	"testing"
)

func TestLooksLikeClientFrames(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 2000)
	for _, tt := range []struct {
		name string
		p    []byte
		want bool
	}{
		{"one text frame", cf(true, OpText, "hello"), true},
		{"two frames", append(cf(true, OpText, "hello"), cf(true, OpPing, "")...), true},
		{"frame then half a header", append(cf(true, OpBinary, "abc"), 0x82), false},
		{"start of a long frame in a full segment", fb{fin: true, op: OpBinary, mask: true, payload: big}.bytes()[:1400], true},
		{"start of a long frame in a short segment", fb{fin: true, op: OpBinary, mask: true, payload: big}.bytes()[:200], false},
		{"deflated (RSV1)", fb{fin: true, rsv: 4, op: OpText, mask: true, payload: []byte("z")}.bytes(), true},
		{"unmasked (server)", sf(true, OpText, "hello"), false},
		{"RSV2", fb{fin: true, rsv: 2, op: OpText, mask: true, payload: []byte("z")}.bytes(), false},
		{"reserved opcode", fb{fin: true, op: 3, mask: true, payload: []byte("z")}.bytes(), false},
		{"fragmented ping", fb{op: OpPing, mask: true}.bytes(), false},
		{"16-bit length under 126", fb{fin: true, op: OpText, mask: true, payload: []byte("z"), lenBits: 16}.bytes(), false},
		{"frame then garbage header", append(cf(true, OpText, "hi"), 0x17, 0x03, 0x03, 0, 5), false},
		{"TLS record", []byte{0x17, 0x03, 0x03, 0x00, 0x05, 1, 2, 3, 4, 5}, false},
		{"SSH banner", []byte("SSH-2.0-OpenSSH_9.6\r\n"), false},
		{"one byte", []byte{0x81}, false},
	} {
		if got := looksLikeClientFrames(tt.p); got != tt.want {
			t.Errorf("%s: looksLikeClientFrames = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestTakeHint: a connection without handshake whose client starts with
// masked frames hints at its server port, once; with a handshake, with
// decode-as, or with other bytes, it does not.
func TestTakeHint(t *testing.T) {
	frames := append(cf(true, OpText, "hello"), cf(true, OpText, "again")...)
	for _, tt := range []struct {
		name string
		opt  Options
		side Side
		data [][]byte
		want uint16
	}{
		{"midstream client", Options{}, Side0, [][]byte{frames}, 8080},
		{"midstream client on side 1", Options{}, Side1, [][]byte{frames}, 51512},
		{"decode-as", Options{DecodeAs: true}, Side0, [][]byte{frames}, 0},
		{"handshake", Options{}, Side0, [][]byte{str(testReq), frames}, 0},
		{"server frames", Options{}, Side1, [][]byte{sf(true, OpText, "hello")}, 0},
		{"binary protocol", Options{}, Side0, [][]byte{{0x00, 0x01, 0x02, 0x03}}, 0},
	} {
		c := NewConn(testMeta, tt.opt)
		for _, d := range tt.data {
			c.Feed(nil, tt.side, d, Seg{Time: t0, Packet: 1})
		}
		if got := c.TakeHint(); got != tt.want {
			t.Errorf("%s: TakeHint = %d, want %d", tt.name, got, tt.want)
		}
		if got := c.TakeHint(); got != 0 {
			t.Errorf("%s: second TakeHint = %d, want 0", tt.name, got)
		}
	}
}
