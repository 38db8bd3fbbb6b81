package flowgen

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"hash/fnv"
	"strings"
)

// Opcode is a WebSocket frame opcode (RFC 6455 §5.2). Any 4-bit value can
// be written, including reserved ones.
type Opcode uint8

// The opcodes defined by RFC 6455.
const (
	OpCont   Opcode = 0x0
	OpText   Opcode = 0x1
	OpBinary Opcode = 0x2
	OpClose  Opcode = 0x8
	OpPing   Opcode = 0x9
	OpPong   Opcode = 0xA
)

// Reserved bits, as stored in [Frame.Rsv] (RSV1..RSV3 as bits 2..0).
const (
	Rsv1 uint8 = 4 // "compressed" with permessage-deflate
	Rsv2 uint8 = 2
	Rsv3 uint8 = 1
)

// Frame is a WebSocket frame to encode. The zero LenBits and DeclaredLen
// give a correct minimal header; the other knobs produce broken frames on
// purpose.
type Frame struct {
	Fin     bool
	Rsv     uint8    // RSV1..RSV3 as bits 2..0 (see Rsv1)
	Op      Opcode   // low 4 bits are written
	Mask    *[4]byte // nil: unmasked; else the masking key (Payload is given unmasked)
	Payload []byte
	// LenBits forces the length encoding: 7, 16 or 64 (0: minimal). A
	// length that does not fit the forced 7-bit field is cut to 7 bits.
	LenBits int
	// DeclaredLen, if non-zero, is written as the payload length instead
	// of len(Payload) (a lying header; with the MSB set for an illegal
	// 64-bit length).
	DeclaredLen uint64
}

// Bytes encodes the frame, masking the payload when Mask is set.
func (f Frame) Bytes() []byte {
	n := uint64(len(f.Payload))
	if f.DeclaredLen != 0 {
		n = f.DeclaredLen
	}
	bits := f.LenBits
	if bits == 0 {
		switch {
		case n <= 125:
			bits = 7
		case n <= 0xffff:
			bits = 16
		default:
			bits = 64
		}
	}
	b := make([]byte, 0, 14+len(f.Payload))
	b0 := f.Rsv&7<<4 | byte(f.Op)&0xf
	if f.Fin {
		b0 |= 0x80
	}
	var m byte
	if f.Mask != nil {
		m = 0x80
	}
	switch bits {
	case 16:
		b = append(b, b0, m|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	case 64:
		b = append(b, b0, m|127)
		b = binary.BigEndian.AppendUint64(b, n)
	default:
		b = append(b, b0, m|byte(n&0x7f))
	}
	if f.Mask == nil {
		return append(b, f.Payload...)
	}
	b = append(b, f.Mask[:]...)
	for i, c := range f.Payload {
		b = append(b, c^f.Mask[i&3])
	}
	return b
}

// Masked returns a copy of f masked with key.
func (f Frame) Masked(key [4]byte) Frame {
	f.Mask = &key
	return f
}

// Frames concatenates encoded frames (several frames in one write).
func Frames(fs ...Frame) []byte {
	var b []byte
	for _, f := range fs {
		b = append(b, f.Bytes()...)
	}
	return b
}

// Fragment splits a message into frames carrying sizes[0], sizes[1]… bytes
// of payload and the rest in a last frame: the first frame has opcode op,
// the others are continuations, and only the last has FIN. Without sizes it
// returns one frame.
func Fragment(op Opcode, payload []byte, sizes ...int) []Frame {
	var fs []Frame
	for _, s := range sizes {
		s = min(max(s, 0), len(payload))
		fs = append(fs, Frame{Op: OpCont, Payload: payload[:s]})
		payload = payload[s:]
	}
	fs = append(fs, Frame{Op: OpCont, Fin: true, Payload: payload})
	fs[0].Op = op
	return fs
}

// MaskKey returns a deterministic, random-looking masking key: the i-th of
// a fixed sequence.
func MaskKey(i int) *[4]byte {
	h := fnv.New32a()
	h.Write([]byte{'m', byte(i), byte(i >> 8), byte(i >> 16), byte(i >> 24)})
	var k [4]byte
	binary.BigEndian.PutUint32(k[:], h.Sum32())
	return &k
}

// Key returns a deterministic Sec-WebSocket-Key (base64 of 16 bytes) for
// seed i.
func Key(i int) string {
	var b [16]byte
	for j := 0; j < 16; j += 4 {
		copy(b[j:], MaskKey(i*4 + j/4 + 1<<20)[:])
	}
	return base64.StdEncoding.EncodeToString(b[:])
}

// websocketGUID is the magic string of RFC 6455 §1.3.
const websocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// Accept returns the Sec-WebSocket-Accept value for key:
// base64(SHA-1(key + GUID)) (RFC 6455 §4.2.2).
func Accept(key string) string {
	h := sha1.Sum([]byte(key + websocketGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

// UpgradeRequest returns an HTTP/1.1 WebSocket opening request for path on
// host with Sec-WebSocket-Key key and version 13. Each extra element is a
// whole header line ("Name: value") added, in order, after the standard
// ones.
func UpgradeRequest(path, host, key string, extra ...string) []byte {
	var b strings.Builder
	b.WriteString("GET " + path + " HTTP/1.1\r\n")
	b.WriteString("Host: " + host + "\r\n")
	b.WriteString("Upgrade: websocket\r\n")
	b.WriteString("Connection: Upgrade\r\n")
	b.WriteString("Sec-WebSocket-Key: " + key + "\r\n")
	b.WriteString("Sec-WebSocket-Version: 13\r\n")
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

// Response101 returns a "101 Switching Protocols" response with the
// correct Sec-WebSocket-Accept for key, plus the extra header lines.
func Response101(key string, extra ...string) []byte {
	return Response101Accept(Accept(key), extra...)
}

// Response101Accept is like [Response101] but sends accept as given (to
// write a wrong one).
func Response101Accept(accept string, extra ...string) []byte {
	var b strings.Builder
	b.WriteString("HTTP/1.1 101 Switching Protocols\r\n")
	b.WriteString("Upgrade: websocket\r\n")
	b.WriteString("Connection: Upgrade\r\n")
	b.WriteString("Sec-WebSocket-Accept: " + accept + "\r\n")
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

// ClosePayload returns a close frame body: the 2-byte status code followed
// by the reason.
func ClosePayload(code uint16, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, code), reason...)
}
