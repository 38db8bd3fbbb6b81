package flowgen

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

func TestFrameBytes(t *testing.T) {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	tests := []struct {
		name string
		f    Frame
		want string // hex prefix of the encoding (whole encoding when short)
	}{
		// RFC 6455 §5.7.
		{"unmasked hello", text("Hello"), "81 05 48656c6c6f"},
		{"masked hello", text("Hello").Masked(key), "81 85 37fa213d 7f9f4d5158"},
		{"fragment Hel", Frame{Op: OpText, Payload: []byte("Hel")}, "01 03 48656c"},
		{"fragment lo", cont(true, "lo"), "80 02 6c6f"},
		{"ping", ping("Hello"), "89 05 48656c6c6f"},
		{"masked pong", pong("Hello").Masked(key), "8a 85 37fa213d 7f9f4d5158"},
		{"256 bytes", bin(make([]byte, 256)), "82 7e 0100"},
		{"64 KiB", bin(make([]byte, 65536)), "82 7f 0000000000010000"},
		// Knobs for broken frames.
		{"rsv bits", Frame{Fin: true, Rsv: Rsv1 | Rsv3, Op: OpText}, "d1 00"},
		{"reserved opcode", Frame{Fin: true, Op: 0xB}, "8b 00"},
		{"opcode high bits dropped", Frame{Op: 0x1f}, "0f 00"},
		{"non-minimal 16", Frame{Fin: true, Op: OpText, LenBits: 16, Payload: []byte("a")}, "81 7e 0001 61"},
		{"non-minimal 64", Frame{Fin: true, Op: OpText, LenBits: 64, Payload: []byte("a")}, "81 7f 0000000000000001 61"},
		{"msb set", Frame{Fin: true, Op: OpBinary, LenBits: 64, DeclaredLen: 1<<63 | 2, Payload: []byte("ab")}, "82 7f 8000000000000002 6162"},
		{"lying 7-bit", Frame{Fin: true, Op: OpText, DeclaredLen: 100, Payload: []byte("a")}, "81 64 61"},
		{"forced 7 cut", Frame{Fin: true, Op: OpText, LenBits: 7, DeclaredLen: 300}, "81 2c"},
		{"close", closeFrame(1000, "bye"), "88 05 03e8 627965"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.f.Bytes()
			want := hexb(tt.want)
			if !bytes.HasPrefix(got, want) {
				t.Errorf("Bytes() = % x…, want prefix % x", got[:min(len(got), 16)], want)
			}
		})
	}
}

func TestFrameMaskDoesNotTouchPayload(t *testing.T) {
	p := []byte("Hello")
	_ = Frame{Op: OpText, Payload: p, Mask: MaskKey(1)}.Bytes()
	if string(p) != "Hello" {
		t.Fatalf("payload modified: %q", p)
	}
}

func TestFragment(t *testing.T) {
	fs := Fragment(OpText, []byte("abcdef"), 2, 0, 3)
	var got []string
	for _, f := range fs {
		got = append(got, f.Op.hex()+map[bool]string{true: "F", false: "-"}[f.Fin]+string(f.Payload))
	}
	if s := strings.Join(got, " "); s != "1-ab 0- 0-cde 0Ff" {
		t.Errorf("Fragment = %q", s)
	}
	if fs := Fragment(OpBinary, []byte("x")); len(fs) != 1 || !fs[0].Fin || fs[0].Op != OpBinary {
		t.Errorf("unfragmented = %+v", fs)
	}
	if fs := Fragment(OpText, []byte("ab"), 5); len(fs) != 2 || string(fs[0].Payload) != "ab" || len(fs[1].Payload) != 0 {
		t.Errorf("oversized first fragment = %+v", fs)
	}
}

func (op Opcode) hex() string { return string("0123456789abcdef"[op&0xf]) }

func TestAccept(t *testing.T) {
	// RFC 6455 §1.3.
	if got := Accept(rfcKey); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Errorf("Accept = %q", got)
	}
}

func TestKeyAndMaskKeyDeterministic(t *testing.T) {
	if Key(1) != Key(1) || Key(1) == Key(2) {
		t.Error("Key is not a deterministic function of its seed")
	}
	b, err := base64.StdEncoding.DecodeString(Key(7))
	if err != nil || len(b) != 16 {
		t.Errorf("Key(7) = %q: not base64 of 16 bytes", Key(7))
	}
	if *MaskKey(3) != *MaskKey(3) || *MaskKey(3) == *MaskKey(4) {
		t.Error("MaskKey is not a deterministic function of its index")
	}
}

func TestHandshakeText(t *testing.T) {
	req := string(UpgradeRequest("/chat", "example.com", rfcKey, "Origin: http://example.com"))
	want := "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
		"Origin: http://example.com\r\n\r\n"
	if req != want {
		t.Errorf("UpgradeRequest =\n%q\nwant\n%q", req, want)
	}
	resp := string(Response101(rfcKey, "Sec-WebSocket-Protocol: chat"))
	want = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n"
	if resp != want {
		t.Errorf("Response101 =\n%q\nwant\n%q", resp, want)
	}
}
