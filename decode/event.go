package decode

import (
	"fmt"
	"net/netip"
	"time"
)

// Side is one end of a TCP connection as the caller knows it: Side0 is the
// TCP originator when the caller saw the SYN (otherwise the side of the first
// packet), Side1 is the other end. The decoder works out which side is the
// WebSocket client; see [Role].
type Side uint8

const (
	Side0 Side = 0
	Side1 Side = 1
)

// Other returns the opposite side.
func (s Side) Other() Side { return s ^ 1 }

// Role is the WebSocket role of a side: the client is the side that sent
// the Upgrade request (or, mid-stream, the side whose frames are masked).
type Role uint8

const (
	RoleNone   Role = iota // not tied to a side
	RoleClient             // "client"
	RoleServer             // "server"
)

func (r Role) String() string {
	switch r {
	case RoleClient:
		return "client"
	case RoleServer:
		return "server"
	}
	return ""
}

// Seg says where bytes came from in the capture.
type Seg struct {
	Time   time.Time // capture time of the packet that delivered the bytes
	Packet int       // 1-based capture index of that packet (Wireshark's "No.")
}

// Kind is the type of an [Event]. Its String form is the JSON "type" value.
type Kind uint8

const (
	KindConn      Kind = iota // first event of a WebSocket connection: endpoints
	KindHandshake             // the HTTP Upgrade exchange (request + response)
	KindFrame                 // one WebSocket frame
	KindMessage               // one reassembled (and inflated) data message
	KindAnomaly               // a protocol violation or capture problem
	KindGap                   // bytes of one direction missing from the capture
	KindEnd                   // one direction ended (FIN, RST, idle flush or end of capture: End.Reason)
	KindTLS                   // the TLS session a connection runs in (wss://), decrypted or not
)

var kindNames = [...]string{
	KindConn:      "conn",
	KindHandshake: "handshake",
	KindFrame:     "frame",
	KindMessage:   "message",
	KindAnomaly:   "anomaly",
	KindGap:       "gap",
	KindEnd:       "end",
	KindTLS:       "tls",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind%d", uint8(k))
}

// Event is one row of the timeline. The fields that apply depend on Kind;
// the others are zero.
//
// # Ownership
//
// Byte slices inside an Event (Frame.Payload, Message.Payload,
// Frame.Close.Reason) point into buffers owned by the [Conn]; they are valid
// only until the next call of a method of that Conn (or [Conn.Release]).
// Use [Event.Clone] to keep an Event longer.
type Event struct {
	Kind Kind
	Conn int  // connection id (ConnMeta.ID)
	Seq  int  // per-connection sequence number, from 1
	From Role // side that sent what the event describes (RoleNone: both/neither)
	// H2Stream is the HTTP/2 stream of a WebSocket over HTTP/2
	// (ConnMeta.H2Stream), 0 for one over HTTP/1.1.
	H2Stream uint32
	Time     time.Time
	Packet   int // packet that completed the event

	Info      *ConnInfo  // KindConn
	Handshake *Handshake // KindHandshake
	Frame     Frame      // KindFrame
	Message   Message    // KindMessage
	Anomaly   Anomaly    // KindAnomaly
	Gap       int64      // KindGap: bytes lost
	End       End        // KindEnd
	TLS       *TLSInfo   // KindTLS
	// App is what the application said in a KindMessage event
	// (Options.App), nil when nothing was recognised.
	App *AppInfo
}

// TLSInfo describes the TLS session a connection runs in (wss://). The
// decoder does not decrypt; the caller does and reports it with
// [Conn.TLS].
type TLSInfo struct {
	Client, Server netip.AddrPort // TLS client and server
	Version        string         // "TLS 1.3"
	Cipher         string         // "TLS_AES_128_GCM_SHA256"
	SNI, ALPN      string
	ClientRandom   string // hex
	Decrypted      bool   // application data is being decrypted
}

// Clone returns a deep copy of e whose slices do not alias Conn buffers.
func (e Event) Clone() Event {
	e.Frame.Payload = clone(e.Frame.Payload)
	e.Frame.Close.Reason = clone(e.Frame.Close.Reason)
	e.Message.Payload = clone(e.Message.Payload)
	return e
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append(make([]byte, 0, len(b)), b...)
}

// ConnMeta is what the caller tells the decoder about a TCP connection.
type ConnMeta struct {
	ID    int               // 1-based, in order of first packet
	Addr  [2]netip.AddrPort // address of Side0 and Side1
	SynOK bool              // Side0 is known to be the originator (its SYN was seen)
	// H2Stream is the HTTP/2 stream of a WebSocket over HTTP/2 (RFC
	// 8441; see Conn.ExtendedConnect), 0 for one over HTTP/1.1. Every
	// event of the Conn carries it.
	H2Stream uint32
}

// ConnInfo describes a WebSocket connection once its roles are known.
type ConnInfo struct {
	Client, Server netip.AddrPort
	ClientSide     Side
	Midstream      bool // picked up without its handshake (decode-as)
	// CommunityID is the Community ID v1 of the TCP connection (seed
	// Options.CommunityIDSeed), the flow hash Zeek and Suricata write;
	// for a WebSocket over HTTP/2 that of its TCP connection. "" when
	// the endpoints are not known.
	CommunityID string
}

// Opcode is a WebSocket frame opcode (RFC 6455 §5.2).
type Opcode uint8

const (
	OpContinuation Opcode = 0x0
	OpText         Opcode = 0x1
	OpBinary       Opcode = 0x2
	OpClose        Opcode = 0x8
	OpPing         Opcode = 0x9
	OpPong         Opcode = 0xA
)

// opcodeNames names all 16 opcodes, so String never allocates.
var opcodeNames = [16]string{
	OpContinuation: "continuation",
	OpText:         "text",
	OpBinary:       "binary",
	0x3:            "reserved-0x3",
	0x4:            "reserved-0x4",
	0x5:            "reserved-0x5",
	0x6:            "reserved-0x6",
	0x7:            "reserved-0x7",
	OpClose:        "close",
	OpPing:         "ping",
	OpPong:         "pong",
	0xB:            "reserved-0xB",
	0xC:            "reserved-0xC",
	0xD:            "reserved-0xD",
	0xE:            "reserved-0xE",
	0xF:            "reserved-0xF",
}

// String returns the JSON name of the opcode: "text", "ping", or
// "reserved-0xN" for the opcodes RFC 6455 reserves.
func (op Opcode) String() string {
	if int(op) < len(opcodeNames) {
		return opcodeNames[op]
	}
	return fmt.Sprintf("reserved-0x%X", uint8(op))
}

// IsControl reports whether op is a control opcode (0x8-0xF).
func (op Opcode) IsControl() bool { return op&0x8 != 0 }

// IsReserved reports whether RFC 6455 leaves op undefined (0x3-0x7, 0xB-0xF).
func (op Opcode) IsReserved() bool {
	return (op >= 0x3 && op <= 0x7) || op >= 0xB
}

// Header is a frame header exactly as on the wire (raw values, even illegal ones).
type Header struct {
	Fin        bool
	Rsv        uint8 // RSV1..RSV3 as bits 2..0 (RSV1 = 4)
	Opcode     Opcode
	Masked     bool
	MaskKey    [4]byte
	PayloadLen uint64 // declared payload length (raw 7/16/64-bit value)
	LenBits    uint8  // 7, 16 or 64: which encoding was used
	Len        int    // header size in bytes, 2..14
}

// Frame is one complete (or cut) frame.
type Frame struct {
	Header
	Offset      int64  // stream offset of the first header byte in this direction
	FirstPacket int    // packet that carried the first header byte
	Seen        uint64 // payload bytes present in the capture
	Lost        uint64 // payload bytes lost to capture gaps
	Cut         bool   // the stream ended before the frame did
	// Payload holds the unmasked payload of control frames (up to
	// Options.MaxControl bytes) and the first Options.PreviewLen unmasked
	// bytes of data frames (raw, not inflated).
	Payload    []byte
	Compressed bool  // first frame of a compressed message, or a deflate-frame frame
	Message    int   // ordinal of the data message this frame belongs to (0 for control)
	Close      Close // close frames only
}

// Close is the parsed body of a close frame.
type Close struct {
	HasCode bool
	Code    uint16
	Reason  []byte
}

// Message is a reassembled data message (one or more frames), unmasked and
// inflated.
type Message struct {
	N           int    // ordinal within this direction, from 1
	Opcode      Opcode // from the first frame: OpText or OpBinary
	Frames      int
	Len         uint64 // payload bytes after unmasking and inflation (counted even past the limits)
	WireLen     uint64 // sum of the frame payload lengths on the wire
	Compressed  bool   // RSV1 on the first frame with permessage-deflate (or deflate-frame)
	Payload     []byte // up to Options.MaxPayload bytes; raw wire bytes when DecodeError is set
	Truncated   bool   // Payload was cut by Options.MaxPayload or Options.MaxInflate
	Lost        uint64 // payload bytes lost to capture gaps
	UTF8Valid   bool   // text messages: the whole payload is valid UTF-8
	DecodeError string // why the payload could not be decoded (e.g. inflate failed)
	FirstPacket int
	Cut         bool // the stream ended before the message did
}

// End describes the end of one direction.
type End struct {
	Bytes     int64 // bytes seen in this direction
	Undecoded int64 // bytes that were not decoded (framing lost, not WebSocket)
	Frames    int
	Messages  int
	Reason    EndReason // what ended the direction
}

// EndReason says what ended a direction. Its String form is the JSON
// "reason" of an end event.
type EndReason uint8

const (
	// EndCaptureEnd: the capture ended (or was stopped) with the
	// direction still open. It is the zero value.
	EndCaptureEnd EndReason = iota
	// EndFIN: the sender's FIN (for a WebSocket over HTTP/2, the
	// END_STREAM flag of its stream).
	EndFIN
	// EndRST: a TCP RST, which aborts both directions (over HTTP/2, a
	// RST_STREAM, or a GOAWAY that the stream was above).
	EndRST
	// EndIdle: the connection was silent for the idle timeout
	// (--conn-timeout), or the memory budget evicted it (a
	// memcap_evicted anomaly says so), or a new connection reused its
	// 4-tuple, before a FIN or RST.
	EndIdle
)

var endReasonNames = [...]string{
	EndCaptureEnd: "capture_end",
	EndFIN:        "fin",
	EndRST:        "rst",
	EndIdle:       "idle",
}

func (r EndReason) String() string {
	if int(r) < len(endReasonNames) {
		return endReasonNames[r]
	}
	return fmt.Sprintf("reason%d", uint8(r))
}

// HeaderField is one HTTP header line as sent (name case preserved).
type HeaderField struct {
	Name, Value string
}

// Handshake holds both halves of the HTTP/1.1 Upgrade exchange (RFC 6455 §4).
type Handshake struct {
	// Request.
	Method, Path, Proto     string // "GET", "/chat", "HTTP/1.1"
	Host, Origin, UserAgent string
	Key, Version            string   // Sec-WebSocket-Key, -Version (as sent; repeated values joined by ", ")
	OfferedProtocols        []string // Sec-WebSocket-Protocol tokens of the request
	OfferedExtensions       string   // raw Sec-WebSocket-Extensions of the request (repeated headers joined by ", ")
	Request                 []HeaderField
	RequestPacket           int
	RequestTime             time.Time // capture time of RequestPacket (zero when no request was seen)

	// Response (Status 0 when none was captured).
	Status         int
	Reason         string
	Accept         string // Sec-WebSocket-Accept as sent
	AcceptValid    bool   // Accept == base64(SHA-1(Key + GUID))
	Protocol       string // subprotocol selected by the server
	Extensions     string // raw Sec-WebSocket-Extensions of the response
	Response       []HeaderField
	ResponsePacket int

	H2Stream   uint32 // RFC 8441: the HTTP/2 stream of the extended CONNECT (0: HTTP/1.1)
	H2Protocol string // RFC 8441: the request's :protocol

	Upgraded     bool           // the connection switched to WebSocket framing
	Deflate      *DeflateParams // agreed permessage-deflate parameters (RFC 7692), nil if none
	DeflateFrame bool           // x-webkit-deflate-frame / deflate-frame agreed (per-frame compression)
	TLS          *TLSInfo       // the TLS session the handshake ran in (wss://), nil for ws://
}

// DeflateParams are the agreed permessage-deflate parameters (RFC 7692 §7).
type DeflateParams struct {
	ServerNoContextTakeover bool
	ClientNoContextTakeover bool
	ServerMaxWindowBits     int // 8..15 (15 when not given)
	ClientMaxWindowBits     int // 8..15 (15 when not given)
}

// String formats the parameters the way they appear in the legend:
// "permessage-deflate(server_max_window_bits=12, client_no_context_takeover)".
func (p *DeflateParams) String() string {
	if p == nil {
		return ""
	}
	s := "permessage-deflate"
	var parts []string
	if p.ServerNoContextTakeover {
		parts = append(parts, "server_no_context_takeover")
	}
	if p.ClientNoContextTakeover {
		parts = append(parts, "client_no_context_takeover")
	}
	if p.ServerMaxWindowBits != 0 && p.ServerMaxWindowBits != 15 {
		parts = append(parts, fmt.Sprintf("server_max_window_bits=%d", p.ServerMaxWindowBits))
	}
	if p.ClientMaxWindowBits != 0 && p.ClientMaxWindowBits != 15 {
		parts = append(parts, fmt.Sprintf("client_max_window_bits=%d", p.ClientMaxWindowBits))
	}
	for i, x := range parts {
		if i == 0 {
			s += "("
		} else {
			s += ", "
		}
		s += x
	}
	if len(parts) > 0 {
		s += ")"
	}
	return s
}
