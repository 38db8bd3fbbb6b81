package output

import (
	"net/netip"
	"time"

	"github.com/wscap/wscap/decode"
)

// t0 is the capture time of the first packet of the hand-built capture.
var t0 = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

// builder makes events with increasing times and per-connection sequence
// numbers.
type builder struct {
	evs []decode.Event
	seq map[int]int
}

func (b *builder) add(conn, pkt int, us int64, from decode.Role, ev decode.Event) {
	if b.seq == nil {
		b.seq = map[int]int{}
	}
	b.seq[conn]++
	ev.Conn, ev.Seq, ev.Packet, ev.From = conn, b.seq[conn], pkt, from
	ev.Time = t0.Add(time.Duration(us) * time.Microsecond)
	b.evs = append(b.evs, ev)
}

func frame(fin bool, op decode.Opcode, masked bool, payload string) decode.Frame {
	f := decode.Frame{Header: decode.Header{
		Fin: fin, Opcode: op, Masked: masked,
		PayloadLen: uint64(len(payload)), LenBits: 7, Len: 2,
	}}
	if masked {
		f.MaskKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}
		f.Len += 4
	}
	if len(payload) > 125 {
		f.LenBits = 16
		f.Len += 2
	}
	f.Payload = []byte(payload)
	f.Seen = uint64(len(payload))
	return f
}

func textMsg(n int, payload string) decode.Message {
	return decode.Message{
		N: n, Opcode: decode.OpText, Frames: 1, Len: uint64(len(payload)),
		WireLen: uint64(len(payload)), Payload: []byte(payload), UTF8Valid: true,
	}
}

func anomaly(code decode.Code, detail string) decode.Anomaly {
	sev, ref, _, ok := code.Info()
	if !ok {
		sev, ref = decode.SeverityWarning, "test"
	}
	return decode.Anomaly{Code: code, Severity: sev, Detail: detail, Ref: ref}
}

// sampleEvents is a hand-built capture that exercises every event kind and
// the edge cases of rendering.
func sampleEvents() []decode.Event {
	var b builder
	C, S, N := decode.RoleClient, decode.RoleServer, decode.RoleNone
	cli := netip.MustParseAddrPort("10.0.0.2:51512")
	srv := netip.MustParseAddrPort("10.0.0.1:8080")

	// Connection 1: a permessage-deflate chat session.
	b.add(1, 4, 1200, N, decode.Event{Kind: decode.KindConn, Info: &decode.ConnInfo{Client: cli, Server: srv}})
	b.add(1, 6, 1500, N, decode.Event{Kind: decode.KindHandshake, Handshake: &decode.Handshake{
		Method: "GET", Path: "/chat", Proto: "HTTP/1.1", Host: "server.example.com",
		Origin: "http://example.com", UserAgent: "test/1.0",
		Key: "dGhlIHNhbXBsZSBub25jZQ==", Version: "13",
		OfferedProtocols:  []string{"chat", "superchat"},
		OfferedExtensions: "permessage-deflate; client_max_window_bits",
		Request:           hdr("Host", "server.example.com", "Upgrade", "websocket", "Connection", "Upgrade", "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version", "13", "Sec-WebSocket-Protocol", "chat, superchat", "Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"),
		RequestPacket:     4,
		Status:            101, Reason: "Switching Protocols",
		Accept: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", AcceptValid: true,
		Protocol: "chat", Extensions: "permessage-deflate; server_max_window_bits=12",
		Response:       hdr("Upgrade", "websocket", "Connection", "Upgrade", "Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "Sec-WebSocket-Protocol", "chat", "Sec-WebSocket-Extensions", "permessage-deflate; server_max_window_bits=12"),
		ResponsePacket: 6, Upgraded: true,
		Deflate: &decode.DeflateParams{ServerMaxWindowBits: 12, ClientMaxWindowBits: 15},
	}})
	f := frame(true, decode.OpText, true, "Hello")
	f.Offset, f.FirstPacket, f.Message = 0, 8, 1
	b.add(1, 8, 2000, C, decode.Event{Kind: decode.KindFrame, Frame: f})
	m := textMsg(1, "Hello")
	m.FirstPacket = 8
	b.add(1, 8, 2000, C, decode.Event{Kind: decode.KindMessage, Message: m})

	// A compressed server message: the frame shows its size, the message
	// the inflated text.
	f = frame(true, decode.OpText, false, "\xf2\x48\xcd\xc9\xc9\x07\x00")
	f.Rsv, f.Compressed, f.Message, f.Offset, f.FirstPacket = 4, true, 1, 0, 9
	b.add(1, 9, 2100, S, decode.Event{Kind: decode.KindFrame, Frame: f})
	m = textMsg(1, "Hello, \"world\"\n\tline 2 \\ caf\u00e9 \U0001F600")
	m.Compressed, m.WireLen, m.FirstPacket = true, 7, 9
	b.add(1, 9, 2100, S, decode.Event{Kind: decode.KindMessage, Message: m})

	// A fragmented binary message with a ping between its fragments.
	f = frame(false, decode.OpBinary, true, "\x00\x01\x02\xff")
	f.Message, f.Offset, f.FirstPacket = 2, 11, 10
	b.add(1, 10, 3000, C, decode.Event{Kind: decode.KindFrame, Frame: f})
	f = frame(true, decode.OpPing, true, "ping!")
	f.Offset, f.FirstPacket = 21, 10
	b.add(1, 10, 3000, C, decode.Event{Kind: decode.KindFrame, Frame: f})
	f = frame(true, decode.OpPong, false, "ping!")
	f.Offset, f.FirstPacket = 9, 11
	b.add(1, 11, 3100, S, decode.Event{Kind: decode.KindFrame, Frame: f})
	f = frame(true, decode.OpContinuation, true, "\x7fELF")
	f.Message, f.Offset, f.FirstPacket = 2, 32, 12
	b.add(1, 12, 3200, C, decode.Event{Kind: decode.KindFrame, Frame: f})
	b.add(1, 12, 3200, C, decode.Event{Kind: decode.KindMessage, Message: decode.Message{
		N: 2, Opcode: decode.OpBinary, Frames: 2, Len: 8, WireLen: 8,
		Payload: []byte("\x00\x01\x02\xff\x7fELF"), FirstPacket: 10,
	}})

	// Text with invalid UTF-8 and control characters.
	bad := "bad \xff\xfe utf8 \x1b[31m red\u202e"
	f = frame(true, decode.OpText, true, bad)
	f.Message, f.Offset, f.FirstPacket = 3, 42, 13
	b.add(1, 13, 4000, C, decode.Event{Kind: decode.KindFrame, Frame: f})
	m = textMsg(3, bad)
	m.UTF8Valid, m.FirstPacket = false, 13
	b.add(1, 13, 4000, C, decode.Event{Kind: decode.KindMessage, Message: m})
	b.add(1, 13, 4000, C, decode.Event{Kind: decode.KindAnomaly,
		Anomaly: anomaly(decode.CodeTextInvalidUTF8, "text message 3 is not valid UTF-8 at byte 4")})

	// An empty text message.
	f = frame(true, decode.OpText, true, "")
	f.Message, f.Offset, f.FirstPacket = 4, 78, 14
	b.add(1, 14, 4500, C, decode.Event{Kind: decode.KindFrame, Frame: f})
	m = textMsg(4, "")
	m.FirstPacket = 14
	b.add(1, 14, 4500, C, decode.Event{Kind: decode.KindMessage, Message: m})

	// A long message whose payload was cut by MaxPayload, ending in the
	// middle of a multi-byte character, and whose frame shows a preview.
	long := ""
	for len(long) < 300 {
		long += "0123456789abcdef "
	}
	f = frame(true, decode.OpText, false, long)
	f.PayloadLen = 100000
	f.LenBits, f.Len = 64, 10
	f.Seen = 100000
	f.Message, f.Offset, f.FirstPacket = 2, 18, 15
	b.add(1, 16, 5000, S, decode.Event{Kind: decode.KindFrame, Frame: f})
	m = textMsg(2, long[:60]+"\xc3")
	m.Len, m.WireLen, m.Truncated, m.FirstPacket = 100000, 100000, true, 15
	b.add(1, 16, 5000, S, decode.Event{Kind: decode.KindMessage, Message: m})

	// A compressed message that could not be inflated.
	f = frame(true, decode.OpText, false, "\x01\x02\x03garbage")
	f.Rsv, f.Compressed, f.Message, f.Offset, f.FirstPacket = 4, true, 3, 100028, 17
	b.add(1, 17, 5500, S, decode.Event{Kind: decode.KindFrame, Frame: f})
	m = textMsg(3, "\x01\x02\x03garbage")
	m.Compressed, m.WireLen, m.FirstPacket = true, 10, 17
	m.UTF8Valid, m.DecodeError = false, "inflate: flate: corrupt input before offset 1"
	b.add(1, 17, 5500, S, decode.Event{Kind: decode.KindMessage, Message: m})
	b.add(1, 17, 5500, S, decode.Event{Kind: decode.KindAnomaly,
		Anomaly: anomaly(decode.CodeInflateFailed, "message 3 does not inflate: corrupt input before offset 1")})

	// A gap inside a payload: the frame and message report lost bytes.
	b.add(1, 19, 6000, C, decode.Event{Kind: decode.KindGap, Gap: 1000})
	f = frame(true, decode.OpBinary, true, "abc")
	f.PayloadLen, f.LenBits, f.Len = 1203, 16, 8
	f.Seen, f.Lost, f.Message, f.Offset, f.FirstPacket = 203, 1000, 5, 80, 18
	b.add(1, 20, 6100, C, decode.Event{Kind: decode.KindFrame, Frame: f})
	b.add(1, 20, 6100, C, decode.Event{Kind: decode.KindMessage, Message: decode.Message{
		N: 5, Opcode: decode.OpBinary, Frames: 1, Len: 1203, WireLen: 1203,
		Payload: []byte("abc"), Lost: 1000, FirstPacket: 18,
	}})

	// Closing handshake.
	f = frame(true, decode.OpClose, true, "\x03\xe8bye")
	f.Close = decode.Close{HasCode: true, Code: 1000, Reason: []byte("bye")}
	f.Offset, f.FirstPacket = 1291, 21
	b.add(1, 21, 7000, C, decode.Event{Kind: decode.KindFrame, Frame: f})
	f = frame(true, decode.OpClose, false, "\x03\xe8")
	f.Close = decode.Close{HasCode: true, Code: 1000}
	f.Offset, f.FirstPacket = 100038, 22
	b.add(1, 22, 7100, S, decode.Event{Kind: decode.KindFrame, Frame: f})
	b.add(1, 23, 7200, S, decode.Event{Kind: decode.KindEnd, End: decode.End{Bytes: 100202, Frames: 6, Messages: 3}})
	b.add(1, 24, 7300, C, decode.Event{Kind: decode.KindEnd, End: decode.End{Bytes: 1488, Frames: 8, Messages: 5}})

	// Connection 2: IPv6, picked up mid-stream, full of violations.
	cli6 := netip.MustParseAddrPort("[::1]:40000")
	srv6 := netip.MustParseAddrPort("[::1]:80")
	b.add(2, 30, 10000, N, decode.Event{Kind: decode.KindConn, Info: &decode.ConnInfo{Client: cli6, Server: srv6, Midstream: true, ClientSide: decode.Side1}})
	f = frame(true, decode.OpText, false, "unmasked")
	f.Message, f.FirstPacket = 1, 30
	b.add(2, 30, 10000, C, decode.Event{Kind: decode.KindFrame, Frame: f})
	b.add(2, 30, 10000, C, decode.Event{Kind: decode.KindAnomaly,
		Anomaly: anomaly(decode.CodeClientFrameUnmasked, "client frame at offset 0 is not masked")})
	m = textMsg(1, "unmasked")
	m.FirstPacket = 30
	b.add(2, 30, 10000, C, decode.Event{Kind: decode.KindMessage, Message: m})
	f = frame(true, 0x3, false, "??")
	f.Offset, f.FirstPacket = 0, 31
	b.add(2, 31, 10100, S, decode.Event{Kind: decode.KindFrame, Frame: f})
	b.add(2, 31, 10100, S, decode.Event{Kind: decode.KindAnomaly,
		Anomaly: anomaly(decode.CodeOpcodeReserved, "frame at offset 0 uses reserved opcode 0x3")})
	f = frame(true, decode.OpClose, true, "\x03")
	f.Offset, f.FirstPacket = 10, 32
	b.add(2, 32, 10200, C, decode.Event{Kind: decode.KindFrame, Frame: f})
	b.add(2, 32, 10200, C, decode.Event{Kind: decode.KindAnomaly,
		Anomaly: anomaly(decode.CodeCloseBodyOneByte, "close frame body is 1 byte")})
	f = frame(true, decode.OpClose, false, "\x0b\xb8\xffoops")
	f.Close = decode.Close{HasCode: true, Code: 3000, Reason: []byte("\xffoops")}
	f.Offset, f.FirstPacket = 4, 33
	b.add(2, 33, 10300, S, decode.Event{Kind: decode.KindFrame, Frame: f})
	// A frame the capture ended in the middle of.
	f = frame(false, decode.OpBinary, false, "0123")
	f.PayloadLen, f.Seen, f.Cut, f.Message, f.Offset, f.FirstPacket = 50, 4, true, 1, 10, 34
	b.add(2, 34, 10400, S, decode.Event{Kind: decode.KindFrame, Frame: f})
	b.add(2, 34, 10400, S, decode.Event{Kind: decode.KindAnomaly,
		Anomaly: anomaly(decode.CodeStreamTruncated, "server stream ended 46 bytes into a frame payload")})
	b.add(2, 34, 10400, S, decode.Event{Kind: decode.KindEnd, End: decode.End{Bytes: 16, Undecoded: 0, Frames: 3}})
	b.add(2, 34, 10400, C, decode.Event{Kind: decode.KindEnd, End: decode.End{Bytes: 20, Frames: 2, Messages: 1}})

	// Connection 3: a rejected upgrade with a non-ASCII path.
	b.add(3, 40, 20000, N, decode.Event{Kind: decode.KindConn, Info: &decode.ConnInfo{
		Client: netip.MustParseAddrPort("192.168.1.5:33000"), Server: netip.MustParseAddrPort("192.168.1.1:80")}})
	b.add(3, 42, 20500, N, decode.Event{Kind: decode.KindHandshake, Handshake: &decode.Handshake{
		Method: "GET", Path: "/caf\u00e9?q=\"x\"", Proto: "HTTP/1.1", Host: "h", Version: "13",
		Key: "dGhlIHNhbXBsZSBub25jZQ==", OfferedProtocols: nil,
		Request:       hdr("Host", "h", "X-Odd", "a\tb\x01"),
		RequestPacket: 40, Status: 403, Reason: "Forbidden", ResponsePacket: 42,
		Response: hdr("Content-Length", "0"),
	}})
	b.add(3, 42, 20500, N, decode.Event{Kind: decode.KindAnomaly,
		Anomaly: anomaly(decode.CodeHandshakeRejected, "the server answered 403 Forbidden")})

	// Connection 4: a wrong accept, and a request without a response.
	b.add(4, 50, 30000, N, decode.Event{Kind: decode.KindConn, Info: &decode.ConnInfo{
		Client: netip.MustParseAddrPort("10.0.0.9:1234"), Server: netip.MustParseAddrPort("10.0.0.1:8080")}})
	b.add(4, 51, 30100, N, decode.Event{Kind: decode.KindHandshake, Handshake: &decode.Handshake{
		Method: "GET", Path: "/", Proto: "HTTP/1.1", Key: "dGhlIHNhbXBsZSBub25jZQ==", Version: "13",
		RequestPacket: 50, Status: 101, Reason: "Switching Protocols",
		Accept: "N8ntNYkX6Qerw4tK3s/CYzpSZNc=-wrong", ResponsePacket: 51, Upgraded: true,
		DeflateFrame: true, Extensions: "x-webkit-deflate-frame",
	}})
	b.add(4, 51, 30100, N, decode.Event{Kind: decode.KindAnomaly,
		Anomaly: anomaly(decode.CodeAcceptMismatch, "expected s3pPLMBiTxaQ9kYGzzhZRbK+xOo=, found N8ntNYkX6Qerw4tK3s/CYzpSZNc=-wrong")})
	b.add(5, 60, 40000, N, decode.Event{Kind: decode.KindConn, Info: &decode.ConnInfo{
		Client: netip.MustParseAddrPort("10.0.0.7:999"), Server: netip.MustParseAddrPort("10.0.0.1:8080")}})
	b.add(5, 60, 40000, N, decode.Event{Kind: decode.KindHandshake, Handshake: &decode.Handshake{
		Method: "GET", Path: "/ws", Proto: "HTTP/1.1", RequestPacket: 60,
	}})
	b.add(5, 60, 40000, N, decode.Event{Kind: decode.KindAnomaly,
		Anomaly: anomaly(decode.CodeHandshakeIncomplete, "no response to the Upgrade request")})
	return b.evs
}

// hdr builds header fields from name, value pairs.
func hdr(kv ...string) []decode.HeaderField {
	var out []decode.HeaderField
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, decode.HeaderField{Name: kv[i], Value: kv[i+1]})
	}
	return out
}
