package dfilter

import (
	"encoding/hex"
	"net/netip"
	"strings"
	"unsafe"

	"github.com/wscap/wscap/decode"
)

type fieldType uint8

const (
	typString fieldType = iota
	typInt
	typBool
	typAny // app.* fields: text, or a number when compared with one
)

func (t fieldType) String() string {
	switch t {
	case typInt:
		return "number"
	case typBool:
		return "boolean"
	case typAny:
		return "string or number"
	}
	return "string"
}

type (
	strFunc  func(ev *decode.Event, c *decode.ConnInfo) ([]byte, bool)
	numFunc  func(ev *decode.Event, c *decode.ConnInfo) (int64, bool)
	boolFunc func(ev *decode.Event, c *decode.ConnInfo) (bool, bool)
)

// field is one name a filter may use: its type and how to read it from an
// event (the bool result says whether the event has the field).
type field struct {
	name string
	typ  fieldType
	on   string // event types, for documentation
	str  strFunc
	num  numFunc
	bol  boolFunc

	values    func(string) bool // enumerated text fields: the valid values
	valueHint string

	app bool // an app.* field: a test matches when a unit of the message matches
}

// bs returns the bytes of s without copying; they are only read.
func bs(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

func u64(v uint64) int64 { return int64(min(v, 1<<63-1)) }

func is(ev *decode.Event, kinds ...decode.Kind) bool {
	for _, k := range kinds {
		if ev.Kind == k {
			return true
		}
	}
	return false
}

func sf(name, on string, f func(ev *decode.Event, c *decode.ConnInfo) ([]byte, bool)) *field {
	return &field{name: name, typ: typString, on: on, str: f}
}

func nf(name, on string, f func(ev *decode.Event, c *decode.ConnInfo) (int64, bool)) *field {
	return &field{name: name, typ: typInt, on: on, num: f}
}

func bf(name, on string, f func(ev *decode.Event, c *decode.ConnInfo) (bool, bool)) *field {
	return &field{name: name, typ: typBool, on: on, bol: f}
}

// hs returns the handshake of ev, if it is a handshake event.
func hs(ev *decode.Event) *decode.Handshake {
	if ev.Kind == decode.KindHandshake {
		return ev.Handshake
	}
	return nil
}

func hsStr(name string, get func(h *decode.Handshake) string) *field {
	return sf(name, "handshake", func(ev *decode.Event, _ *decode.ConnInfo) ([]byte, bool) {
		if h := hs(ev); h != nil {
			return bs(get(h)), true
		}
		return nil, false
	})
}

func tlsStr(name string, get func(t *decode.TLSInfo) string) *field {
	return sf(name, "tls", func(ev *decode.Event, _ *decode.ConnInfo) ([]byte, bool) {
		if ev.Kind == decode.KindTLS && ev.TLS != nil {
			return bs(get(ev.TLS)), true
		}
		return nil, false
	})
}

func addr(a netip.AddrPort) []byte {
	if !a.IsValid() {
		return nil
	}
	return a.AppendTo(nil)
}

// endpoint reads client (0) or server (1) of a conn, handshake or tls event.
func endpoint(side int) strFunc {
	pick := func(c, s netip.AddrPort) []byte {
		if side == 0 {
			return addr(c)
		}
		return addr(s)
	}
	return func(ev *decode.Event, c *decode.ConnInfo) ([]byte, bool) {
		switch ev.Kind {
		case decode.KindConn:
			if ev.Info == nil {
				return nil, true
			}
			return pick(ev.Info.Client, ev.Info.Server), true
		case decode.KindHandshake:
			if c == nil {
				return nil, true
			}
			return pick(c.Client, c.Server), true
		case decode.KindTLS:
			if ev.TLS == nil {
				return nil, true
			}
			return pick(ev.TLS.Client, ev.TLS.Server), true
		}
		return nil, false
	}
}

// textPayload reports whether a message's payload is shown as text (the
// JSON "text" field) rather than as "data".
func textPayload(m *decode.Message) bool {
	return m.Opcode == decode.OpText && m.UTF8Valid && m.DecodeError == ""
}

// fieldList is every field, in documentation order.
var fieldList = []*field{
	sf("type", "every event", func(ev *decode.Event, _ *decode.ConnInfo) ([]byte, bool) {
		return bs(ev.Kind.String()), true
	}),
	nf("conn", "every event", func(ev *decode.Event, _ *decode.ConnInfo) (int64, bool) { return int64(ev.Conn), true }),
	nf("pkt", "every event", func(ev *decode.Event, _ *decode.ConnInfo) (int64, bool) { return int64(ev.Packet), true }),
	nf("seq", "every event", func(ev *decode.Event, _ *decode.ConnInfo) (int64, bool) { return int64(ev.Seq), true }),
	nf("h2_stream", "every event of a WebSocket over HTTP/2", func(ev *decode.Event, _ *decode.ConnInfo) (int64, bool) {
		return int64(ev.H2Stream), ev.H2Stream != 0
	}),
	sf("ts", "every event", func(ev *decode.Event, _ *decode.ConnInfo) ([]byte, bool) {
		return ev.Time.UTC().AppendFormat(nil, "2006-01-02T15:04:05.000000000Z"), true
	}),
	sf("from", "frame, message, gap, end, anomaly", func(ev *decode.Event, _ *decode.ConnInfo) ([]byte, bool) {
		switch ev.Kind {
		case decode.KindFrame, decode.KindMessage, decode.KindGap, decode.KindEnd:
			return bs(ev.From.String()), true
		case decode.KindAnomaly:
			if ev.From != decode.RoleNone {
				return bs(ev.From.String()), true
			}
		}
		return nil, false
	}),
	sf("client", "conn, handshake, tls", endpoint(0)),
	sf("server", "conn, handshake, tls", endpoint(1)),
	sf("community_id", "conn, handshake", func(ev *decode.Event, c *decode.ConnInfo) ([]byte, bool) {
		switch ev.Kind {
		case decode.KindConn:
			c = ev.Info
		case decode.KindHandshake:
		default:
			return nil, false
		}
		if c == nil || c.CommunityID == "" {
			return nil, false
		}
		return bs(c.CommunityID), true
	}),
	bf("midstream", "conn", func(ev *decode.Event, _ *decode.ConnInfo) (bool, bool) {
		if ev.Kind != decode.KindConn {
			return false, false
		}
		return ev.Info != nil && ev.Info.Midstream, true
	}),

	// handshake
	hsStr("method", func(h *decode.Handshake) string { return h.Method }),
	hsStr("path", func(h *decode.Handshake) string { return h.Path }),
	hsStr("http_version", func(h *decode.Handshake) string { return h.Proto }),
	hsStr("host", func(h *decode.Handshake) string { return h.Host }),
	hsStr("origin", func(h *decode.Handshake) string { return h.Origin }),
	hsStr("user_agent", func(h *decode.Handshake) string { return h.UserAgent }),
	sf("version", "handshake, tls", func(ev *decode.Event, _ *decode.ConnInfo) ([]byte, bool) {
		if h := hs(ev); h != nil {
			return bs(h.Version), true
		}
		if ev.Kind == decode.KindTLS && ev.TLS != nil {
			return bs(ev.TLS.Version), true
		}
		return nil, false
	}),
	hsStr("key", func(h *decode.Handshake) string { return h.Key }),
	hsStr("accept", func(h *decode.Handshake) string { return h.Accept }),
	bf("accept_valid", "handshake", func(ev *decode.Event, _ *decode.ConnInfo) (bool, bool) {
		if h := hs(ev); h != nil {
			return h.AcceptValid, true
		}
		return false, false
	}),
	nf("status", "handshake", func(ev *decode.Event, _ *decode.ConnInfo) (int64, bool) {
		if h := hs(ev); h != nil {
			return int64(h.Status), true
		}
		return 0, false
	}),
	hsStr("reason", func(h *decode.Handshake) string { return h.Reason }),
	hsStr("protocol", func(h *decode.Handshake) string { return h.Protocol }),
	hsStr("offered_extensions", func(h *decode.Handshake) string { return h.OfferedExtensions }),
	hsStr("extensions", func(h *decode.Handshake) string { return h.Extensions }),
	bf("upgraded", "handshake", func(ev *decode.Event, _ *decode.ConnInfo) (bool, bool) {
		if h := hs(ev); h != nil {
			return h.Upgraded, true
		}
		return false, false
	}),
	nf("request_pkt", "handshake", func(ev *decode.Event, _ *decode.ConnInfo) (int64, bool) {
		if h := hs(ev); h != nil {
			return int64(h.RequestPacket), true
		}
		return 0, false
	}),
	nf("response_pkt", "handshake", func(ev *decode.Event, _ *decode.ConnInfo) (int64, bool) {
		if h := hs(ev); h != nil {
			return int64(h.ResponsePacket), true
		}
		return 0, false
	}),

	// tls
	tlsStr("cipher", func(t *decode.TLSInfo) string { return t.Cipher }),
	tlsStr("sni", func(t *decode.TLSInfo) string { return t.SNI }),
	tlsStr("alpn", func(t *decode.TLSInfo) string { return t.ALPN }),
	tlsStr("client_random", func(t *decode.TLSInfo) string { return t.ClientRandom }),
	bf("decrypted", "tls", func(ev *decode.Event, _ *decode.ConnInfo) (bool, bool) {
		if ev.Kind == decode.KindTLS && ev.TLS != nil {
			return ev.TLS.Decrypted, true
		}
		return false, false
	}),

	// frame and message
	sf("opcode", "frame, message", func(ev *decode.Event, _ *decode.ConnInfo) ([]byte, bool) {
		switch ev.Kind {
		case decode.KindFrame:
			return bs(ev.Frame.Opcode.String()), true
		case decode.KindMessage:
			return bs(ev.Message.Opcode.String()), true
		}
		return nil, false
	}),
	nf("len", "frame (as declared), message (decoded)", func(ev *decode.Event, _ *decode.ConnInfo) (int64, bool) {
		switch ev.Kind {
		case decode.KindFrame:
			return u64(ev.Frame.PayloadLen), true
		case decode.KindMessage:
			return u64(ev.Message.Len), true
		}
		return 0, false
	}),
	bf("fin", "frame", func(ev *decode.Event, _ *decode.ConnInfo) (bool, bool) {
		return ev.Frame.Fin, ev.Kind == decode.KindFrame
	}),
	nf("rsv", "frame", func(ev *decode.Event, _ *decode.ConnInfo) (int64, bool) {
		return int64(ev.Frame.Rsv), ev.Kind == decode.KindFrame
	}),
	bf("masked", "frame", func(ev *decode.Event, _ *decode.ConnInfo) (bool, bool) {
		return ev.Frame.Masked, ev.Kind == decode.KindFrame
	}),
	sf("mask_key", "frame", func(ev *decode.Event, _ *decode.ConnInfo) ([]byte, bool) {
		if ev.Kind != decode.KindFrame {
			return nil, false
		}
		if !ev.Frame.Masked {
			return nil, true
		}
		return hex.AppendEncode(nil, ev.Frame.MaskKey[:]), true
	}),
	nf("header_len", "frame", func(ev *decode.Event, _ *decode.ConnInfo) (int64, bool) {
		return int64(ev.Frame.Len), ev.Kind == decode.KindFrame
	}),
	nf("payload_len_bits", "frame", func(ev *decode.Event, _ *decode.ConnInfo) (int64, bool) {
		return int64(ev.Frame.LenBits), ev.Kind == decode.KindFrame
	}),
	nf("offset", "frame", func(ev *decode.Event, _ *decode.ConnInfo) (int64, bool) {
		return ev.Frame.Offset, ev.Kind == decode.KindFrame
	}),
	nf("first_pkt", "frame, message", func(ev *decode.Event, _ *decode.ConnInfo) (int64, bool) {
		switch ev.Kind {
		case decode.KindFrame:
			return int64(ev.Frame.FirstPacket), true
		case decode.KindMessage:
			return int64(ev.Message.FirstPacket), true
		}
		return 0, false
	}),
	nf("msg", "frame (data frames)", func(ev *decode.Event, _ *decode.ConnInfo) (int64, bool) {
		return int64(ev.Frame.Message), ev.Kind == decode.KindFrame && ev.Frame.Message > 0
	}),
	bf("compressed", "frame, message", func(ev *decode.Event, _ *decode.ConnInfo) (bool, bool) {
		switch ev.Kind {
		case decode.KindFrame:
			return ev.Frame.Compressed, true
		case decode.KindMessage:
			return ev.Message.Compressed, true
		}
		return false, false
	}),
	nf("seen", "frame", func(ev *decode.Event, _ *decode.ConnInfo) (int64, bool) {
		return u64(ev.Frame.Seen), ev.Kind == decode.KindFrame
	}),
	nf("lost_bytes", "frame, message (when > 0)", func(ev *decode.Event, _ *decode.ConnInfo) (int64, bool) {
		switch ev.Kind {
		case decode.KindFrame:
			return u64(ev.Frame.Lost), ev.Frame.Lost > 0
		case decode.KindMessage:
			return u64(ev.Message.Lost), ev.Message.Lost > 0
		}
		return 0, false
	}),
	bf("cut", "frame, message (when true)", func(ev *decode.Event, _ *decode.ConnInfo) (bool, bool) {
		switch ev.Kind {
		case decode.KindFrame:
			return true, ev.Frame.Cut
		case decode.KindMessage:
			return true, ev.Message.Cut
		}
		return false, false
	}),
	nf("close_code", "frame (close, with a code)", func(ev *decode.Event, _ *decode.ConnInfo) (int64, bool) {
		f := &ev.Frame
		return int64(f.Close.Code), ev.Kind == decode.KindFrame && f.Opcode == decode.OpClose && f.Close.HasCode
	}),
	sf("close_reason", "frame (close)", func(ev *decode.Event, _ *decode.ConnInfo) ([]byte, bool) {
		return ev.Frame.Close.Reason, ev.Kind == decode.KindFrame && ev.Frame.Opcode == decode.OpClose
	}),
	nf("frames", "message, end", func(ev *decode.Event, _ *decode.ConnInfo) (int64, bool) {
		switch ev.Kind {
		case decode.KindMessage:
			return int64(ev.Message.Frames), true
		case decode.KindEnd:
			return int64(ev.End.Frames), true
		}
		return 0, false
	}),
	nf("wire_len", "message", func(ev *decode.Event, _ *decode.ConnInfo) (int64, bool) {
		return u64(ev.Message.WireLen), ev.Kind == decode.KindMessage
	}),
	nf("n", "message", func(ev *decode.Event, _ *decode.ConnInfo) (int64, bool) {
		return int64(ev.Message.N), ev.Kind == decode.KindMessage
	}),
	bf("truncated", "message (when true)", func(ev *decode.Event, _ *decode.ConnInfo) (bool, bool) {
		return true, ev.Kind == decode.KindMessage && ev.Message.Truncated
	}),
	sf("decode_error", "message (when set)", func(ev *decode.Event, _ *decode.ConnInfo) ([]byte, bool) {
		return bs(ev.Message.DecodeError), ev.Kind == decode.KindMessage && ev.Message.DecodeError != ""
	}),
	sf("text", "message (text, valid UTF-8)", func(ev *decode.Event, _ *decode.ConnInfo) ([]byte, bool) {
		return ev.Message.Payload, ev.Kind == decode.KindMessage && textPayload(&ev.Message)
	}),
	sf("data", "message (binary, or text that is not valid UTF-8), frame (ping, pong)", func(ev *decode.Event, _ *decode.ConnInfo) ([]byte, bool) {
		switch ev.Kind {
		case decode.KindMessage:
			return ev.Message.Payload, !textPayload(&ev.Message)
		case decode.KindFrame:
			op := ev.Frame.Opcode
			return ev.Frame.Payload, op == decode.OpPing || op == decode.OpPong
		}
		return nil, false
	}),

	// anomaly
	withValues(sf("code", "anomaly", func(ev *decode.Event, _ *decode.ConnInfo) ([]byte, bool) {
		return bs(string(ev.Anomaly.Code)), ev.Kind == decode.KindAnomaly
	}), "see Anomalies in the README"),
	withValues(sf("severity", "anomaly", func(ev *decode.Event, _ *decode.ConnInfo) ([]byte, bool) {
		return bs(ev.Anomaly.Severity.String()), ev.Kind == decode.KindAnomaly
	}), "error, warning or info"),
	sf("detail", "anomaly", func(ev *decode.Event, _ *decode.ConnInfo) ([]byte, bool) {
		return bs(ev.Anomaly.Detail), ev.Kind == decode.KindAnomaly
	}),
	sf("ref", "anomaly", func(ev *decode.Event, _ *decode.ConnInfo) ([]byte, bool) {
		return bs(ev.Anomaly.Ref), ev.Kind == decode.KindAnomaly
	}),

	// gap and end
	nf("bytes", "gap (missing), end (seen)", func(ev *decode.Event, _ *decode.ConnInfo) (int64, bool) {
		switch ev.Kind {
		case decode.KindGap:
			return ev.Gap, true
		case decode.KindEnd:
			return ev.End.Bytes, true
		}
		return 0, false
	}),
	nf("undecoded", "end", func(ev *decode.Event, _ *decode.ConnInfo) (int64, bool) {
		return ev.End.Undecoded, ev.Kind == decode.KindEnd
	}),
	nf("messages", "end", func(ev *decode.Event, _ *decode.ConnInfo) (int64, bool) {
		return int64(ev.End.Messages), ev.Kind == decode.KindEnd
	}),

	// Wireshark's names, as -V shows them.
	bf("websocket.fin", "frame", func(ev *decode.Event, _ *decode.ConnInfo) (bool, bool) {
		return ev.Frame.Fin, ev.Kind == decode.KindFrame
	}),
	nf("websocket.rsv", "frame", func(ev *decode.Event, _ *decode.ConnInfo) (int64, bool) {
		return int64(ev.Frame.Rsv), ev.Kind == decode.KindFrame
	}),
	nf("websocket.opcode", "frame", func(ev *decode.Event, _ *decode.ConnInfo) (int64, bool) {
		return int64(ev.Frame.Opcode), ev.Kind == decode.KindFrame
	}),
	bf("websocket.mask", "frame", func(ev *decode.Event, _ *decode.ConnInfo) (bool, bool) {
		return ev.Frame.Masked, ev.Kind == decode.KindFrame
	}),
	nf("websocket.payload_length", "frame (the 7-bit field: 126 or 127 for longer payloads)", func(ev *decode.Event, _ *decode.ConnInfo) (int64, bool) {
		f := &ev.Frame
		switch f.LenBits {
		case 16:
			return 126, ev.Kind == decode.KindFrame
		case 64:
			return 127, ev.Kind == decode.KindFrame
		}
		return u64(f.PayloadLen), ev.Kind == decode.KindFrame
	}),
	nf("websocket.payload_length_ext_16", "frame (16-bit length)", func(ev *decode.Event, _ *decode.ConnInfo) (int64, bool) {
		return u64(ev.Frame.PayloadLen), ev.Kind == decode.KindFrame && ev.Frame.LenBits == 16
	}),
	nf("websocket.payload_length_ext_64", "frame (64-bit length)", func(ev *decode.Event, _ *decode.ConnInfo) (int64, bool) {
		return u64(ev.Frame.PayloadLen), ev.Kind == decode.KindFrame && ev.Frame.LenBits == 64
	}),
	sf("websocket.masking_key", "frame (masked)", func(ev *decode.Event, _ *decode.ConnInfo) ([]byte, bool) {
		if ev.Kind != decode.KindFrame || !ev.Frame.Masked {
			return nil, false
		}
		return hex.AppendEncode(nil, ev.Frame.MaskKey[:]), true
	}),
	bf("websocket.pmc", "frame", func(ev *decode.Event, _ *decode.ConnInfo) (bool, bool) {
		return ev.Frame.Compressed, ev.Kind == decode.KindFrame
	}),
	nf("websocket.payload.close.status_code", "frame (close, with a code)", func(ev *decode.Event, _ *decode.ConnInfo) (int64, bool) {
		f := &ev.Frame
		return int64(f.Close.Code), ev.Kind == decode.KindFrame && f.Opcode == decode.OpClose && f.Close.HasCode
	}),
	sf("websocket.payload.close.reason", "frame (close)", func(ev *decode.Event, _ *decode.ConnInfo) ([]byte, bool) {
		return ev.Frame.Close.Reason, ev.Kind == decode.KindFrame && ev.Frame.Opcode == decode.OpClose
	}),
	sf("websocket.payload.ping", "frame (ping)", func(ev *decode.Event, _ *decode.ConnInfo) ([]byte, bool) {
		return ev.Frame.Payload, ev.Kind == decode.KindFrame && ev.Frame.Opcode == decode.OpPing
	}),
	sf("websocket.payload.pong", "frame (pong)", func(ev *decode.Event, _ *decode.ConnInfo) ([]byte, bool) {
		return ev.Frame.Payload, ev.Kind == decode.KindFrame && ev.Frame.Opcode == decode.OpPong
	}),
	sf("websocket.payload.text", "message (text, valid UTF-8), frame (uncompressed text: the bytes kept)", func(ev *decode.Event, _ *decode.ConnInfo) ([]byte, bool) {
		switch ev.Kind {
		case decode.KindMessage:
			return ev.Message.Payload, textPayload(&ev.Message)
		case decode.KindFrame:
			f := &ev.Frame
			return f.Payload, f.Opcode == decode.OpText && !f.Compressed
		}
		return nil, false
	}),
	sf("websocket.payload", "frame (the bytes kept, unmasked), message", func(ev *decode.Event, _ *decode.ConnInfo) ([]byte, bool) {
		switch ev.Kind {
		case decode.KindMessage:
			return ev.Message.Payload, true
		case decode.KindFrame:
			return ev.Frame.Payload, true
		}
		return nil, false
	}),
}

// The tls.* names -V shows for the tls event.
func init() {
	for _, a := range [][2]string{
		{"tls.handshake.version", "version"},
		{"tls.handshake.ciphersuite", "cipher"},
		{"tls.handshake.extensions_server_name", "sni"},
		{"tls.handshake.extensions_alpn_str", "alpn"},
	} {
		f := *fields[a[1]]
		f.name, f.on = a[0], "tls"
		if a[1] == "version" {
			f.str = func(ev *decode.Event, _ *decode.ConnInfo) ([]byte, bool) {
				if ev.Kind == decode.KindTLS && ev.TLS != nil {
					return bs(ev.TLS.Version), true
				}
				return nil, false
			}
		}
		fields[f.name] = &f
		fieldList = append(fieldList, &f)
	}
}

func withValues(f *field, hint string) *field {
	f.values = oneOf(Values(f.name))
	f.valueHint = hint
	return f
}

var fields = func() map[string]*field {
	fieldList = append(fieldList, appFields...)
	m := make(map[string]*field, len(fieldList))
	for _, f := range fieldList {
		if _, dup := m[f.name]; dup || strings.ToLower(f.name) != f.name && !f.app {
			panic("dfilter: bad field " + f.name)
		}
		m[f.name] = f
	}
	for _, name := range []string{"type", "from", "opcode"} {
		m[name].values = oneOf(Values(name))
	}
	m["type"].valueHint = "conn, handshake, frame, message, anomaly, gap, end or tls"
	m["from"].valueHint = "client or server"
	m["opcode"].valueHint = "continuation, text, binary, close, ping, pong or reserved-0xN"
	return m
}()
