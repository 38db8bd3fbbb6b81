// Package app is wscap's application layer: it reads the messages of a
// WebSocket in order and says what the application said in them, for the
// protocols that run over WebSocket (socket.io, MQTT, STOMP, GraphQL over
// WebSocket, JSON-RPC, OCPP, SignalR, Phoenix, WAMP, SIP) and for payloads
// in a bare format (JSON, MessagePack, CBOR, protobuf).
//
// Like package decode it is a pure incremental state machine: it does no
// I/O, never fails (what does not parse is an anomaly) and keeps bounded
// state per connection. It plugs into the decoder with [Config.Factory].
//
// # Choosing the protocol
//
// Once per WebSocket, in this order: what the user forced (--app), the
// subprotocol the server selected, the request path, then the content of
// the first messages where a protocol's signal is unambiguous (see each
// protocol's sniff). A connection with none of them gets bare formats,
// message by message: JSON for text that is a JSON object or array,
// MessagePack or CBOR for binary that is a map with string keys and parses
// exactly; protobuf only when forced.
package app

import (
	"encoding/hex"
	"net/netip"
	"strings"

	"github.com/wscap/wscap/decode"
)

// Unit and Field are the decoder's types for what the layer reports.
type (
	Unit  = decode.AppUnit
	Field = decode.AppField
)

// Msg is one complete WebSocket data message as a protocol decoder sees it.
type Msg struct {
	FromClient bool
	Binary     bool
	Payload    []byte // valid only during the call
	// Incomplete: Payload is not the whole message (cut by a limit, bytes
	// lost from the capture, not decodable, or the stream ended inside it).
	Incomplete bool
}

// Result collects what a protocol decoder found in one message.
type Result struct {
	Units     []Unit
	More      int  // units not kept past maxUnits
	Partial   bool // the message carries only part of a unit
	Anomalies []decode.Anomaly
}

// maxUnits is how many units of one message are kept; the rest are only
// counted (AppInfo.More).
const maxUnits = 1000

// Add appends u unless the message already has maxUnits units.
func (r *Result) Add(u Unit) {
	if len(r.Units) >= maxUnits {
		r.More++
		return
	}
	r.Units = append(r.Units, u)
}

// Malformed reports that a message does not parse as the protocol: an
// app_malformed anomaly whose reference is the protocol's spec.
func (r *Result) Malformed(p *protocol, format string, args ...any) {
	a := newAnomaly(CodeMalformed, format, args...)
	a.Detail = p.name + ": " + a.Detail
	a.Ref = p.ref
	r.Anomalies = append(r.Anomalies, a)
}

// decoder is the per-connection state of one protocol.
type decoder interface {
	// decode reads one message and adds what it found to r. It never
	// fails: what does not parse is an anomaly in r, and the message is
	// then shown raw.
	decode(m *Msg, r *Result)
	// size is the bytes of state it holds (for the memory budget).
	size() int
}

// Handshake is what the protocols may use of the WebSocket handshake.
type Handshake struct {
	Protocol string   // subprotocol selected by the server ("" when none)
	Offered  []string // subprotocols the client offered
	Path     string   // request path without the query
	Query    string   // raw query, without '?'
	Client   netip.AddrPort
	Server   netip.AddrPort
}

// Config says how protocols are chosen (the --app flag).
type Config struct {
	// Off turns the layer off (--app none).
	Off bool
	// Force is the protocol of every connection ("" to choose).
	Force string
	// Ports forces a protocol on the connections to a server port.
	Ports map[uint16]string
	// binary is the format of binary messages when Force is "json" and a
	// binary format was forced too.
	binary string
	// Schema decodes protobuf payloads with a message type of a .proto
	// file (--proto): binary messages of connections no protocol claims,
	// and every binary message with Force "protobuf"; nil for
	// schema-less protobuf (only forced).
	Schema *Schema
}

// Set parses one --app value: "PROTO", "PORT=PROTO" or "none".
func (c *Config) Set(v string) error {
	if v == "none" {
		c.Off = true
		return nil
	}
	port, name, hasPort := strings.Cut(v, "=")
	if !hasPort {
		name = v
	}
	p := lookup(name)
	if p == nil {
		return &UnknownError{Name: name}
	}
	if !hasPort {
		// --app json with --app msgpack (cbor, protobuf): text is JSON,
		// binary that format.
		switch {
		case p == protoJSON && isBinaryFormat(c.Force):
			c.binary, c.Force = c.Force, p.name
		case isBinaryFormat(p.name) && c.Force == protoJSON.name:
			c.binary = p.name
		default:
			c.Force, c.binary = p.name, ""
		}
		return nil
	}
	n, ok := parsePort(port)
	if !ok {
		return &PortError{Value: v}
	}
	if c.Ports == nil {
		c.Ports = map[uint16]string{}
	}
	c.Ports[n] = p.name
	return nil
}

// UnknownError is a --app value that names no protocol.
type UnknownError struct{ Name string }

func (e *UnknownError) Error() string {
	return "unknown application protocol " + strings.TrimSpace(e.Name) + " (one of " + strings.Join(Names(), ", ") + ", none)"
}

// PortError is a --app PORT=PROTO value whose port is not a port.
type PortError struct{ Value string }

func (e *PortError) Error() string {
	return "the port must be a number from 1 to 65535"
}

func isBinaryFormat(name string) bool {
	return name == "msgpack" || name == "cbor" || name == "protobuf"
}

func parsePort(s string) (uint16, bool) {
	n := 0
	if s == "" || len(s) > 5 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return uint16(n), n >= 1 && n <= 65535
}

// Factory returns the decoder option that makes the layer of each
// WebSocket, or nil when the layer is off.
func (c *Config) Factory() decode.AppFactory {
	if c == nil || c.Off {
		return nil
	}
	return func(h *decode.Handshake, client, server netip.AddrPort) decode.AppLayer {
		return c.New(h, client, server)
	}
}

// New returns the layer of one WebSocket.
func (c *Config) New(h *decode.Handshake, client, server netip.AddrPort) *Conn {
	hs := Handshake{Client: client, Server: server}
	if h != nil {
		hs.Protocol, hs.Offered = h.Protocol, h.OfferedProtocols
		hs.Path, hs.Query, _ = strings.Cut(h.Path, "?")
		if h.Status == 0 && hs.Protocol == "" && len(h.OfferedProtocols) == 1 {
			// No response captured: the only offer is the best guess.
			hs.Protocol = h.OfferedProtocols[0]
		}
	}
	l := &Conn{cfg: c, hs: hs}
	forced := c.Force
	if f, ok := c.Ports[server.Port()]; ok {
		forced = f
	}
	switch {
	case forced != "":
		l.choose(lookup(forced), true)
	case hs.Protocol != "":
		l.choose(bySubprotocol(hs.Protocol), false)
	}
	if l.proto == nil && h != nil {
		l.choose(byPath(&hs), false)
	}
	if l.proto != nil && !l.forced {
		l.open = opening(l.proto)
	}
	return l
}

// sniffMessages is how many first messages of a connection are looked at
// for a protocol's signal.
const sniffMessages = 8

// Conn is the application layer of one WebSocket (a decode.AppLayer).
type Conn struct {
	cfg    *Config
	hs     Handshake
	proto  *protocol
	dec    decoder
	forced bool
	seen   int // messages looked at for a protocol's signal
	res    Result

	// open confirms a protocol the handshake claimed by its first message
	// (see opening); nil once confirmed, or when there is nothing to wait for.
	open   func(m *Msg) (ok, decided bool)
	units  bool // the decoder produced a unit
	failed int  // messages in a row that did not parse, before any unit
	gaveUp bool // the connection is not decoded as a protocol any more

	schemaDec decoder // --proto's decoder of binary messages no protocol claims
}

func (l *Conn) choose(p *protocol, forced bool) {
	if p == nil || p.new == nil {
		return
	}
	l.proto, l.forced = p, forced
	l.dec = p.new(&l.hs, l.cfg)
}

// Protocol returns the protocol chosen for the connection ("" when none).
func (l *Conn) Protocol() string {
	if l.proto == nil {
		return ""
	}
	return l.proto.name
}

// Message implements decode.AppLayer.
func (l *Conn) Message(m *decode.Message, from decode.Role, dst []decode.Anomaly) (*decode.AppInfo, []decode.Anomaly) {
	msg := Msg{
		FromClient: from == decode.RoleClient,
		Binary:     m.Opcode == decode.OpBinary,
		Payload:    m.Payload,
		Incomplete: m.Truncated || m.Lost > 0 || m.DecodeError != "" || m.Cut,
	}
	if l.proto == nil && !l.gaveUp && l.seen < sniffMessages && !msg.Incomplete {
		l.seen++
		p := bySniff(&msg)
		if p != nil && l.cfg.Schema != nil && isBinaryFormat(p.name) {
			p = nil // --proto: binary payloads are the schema's
		}
		l.choose(p, false)
	}
	r := &l.res
	*r = Result{Units: r.Units[:0], Anomalies: r.Anomalies[:0]}
	if l.open != nil {
		if msg.Incomplete {
			return nil, dst
		}
		ok, decided := l.open(&msg)
		if !decided {
			return nil, dst // not decoded before the opening
		}
		l.open = nil
		if !ok {
			r.Malformed(l.proto, "the connection does not open as %s does (%s); it is not decoded as %s", l.proto.name, describeMsg(&msg), l.proto.name)
			l.stop()
			return nil, append(dst, r.Anomalies...)
		}
	}
	switch {
	case l.dec != nil:
		l.dec.decode(&msg, r)
		if !msg.Incomplete {
			l.judge(r)
		}
	case msg.Binary && l.cfg.Schema != nil:
		// --proto: binary messages no protocol claims are of the schema.
		if l.schemaDec == nil {
			l.schemaDec = protoProtobuf.new(&l.hs, l.cfg)
		}
		l.schemaDec.decode(&msg, r)
	default:
		bare(&msg, r)
	}
	var info *decode.AppInfo
	if len(r.Units) > 0 || r.Partial {
		info = decode.NewAppInfo(r.Units, r.More, r.Partial && len(r.Units) == 0)
	}
	clear(r.Units)
	return info, append(dst, r.Anomalies...)
}

// judge counts messages that did not parse before the decoder's first
// unit: after giveUpAfter of them in a row a connection that was not
// forced stops being decoded as the protocol.
func (l *Conn) judge(r *Result) {
	switch {
	case l.units || l.forced:
	case len(r.Units) > 0 || r.Partial:
		l.units = true
	case len(r.Anomalies) > 0:
		if l.failed++; l.failed >= giveUpAfter {
			a := &r.Anomalies[len(r.Anomalies)-1]
			a.Detail += "; " + itoa(giveUpAfter) + " messages in a row did not parse: the connection is not decoded as " + l.proto.name + " any more"
			l.stop()
		}
	default:
		l.failed = 0
	}
}

// stop ends decoding as a protocol: the rest of the connection gets bare
// formats at most.
func (l *Conn) stop() {
	l.proto, l.dec, l.open, l.gaveUp = nil, nil, nil, true
}

func itoa(n int) string {
	return string(jint(int64(n)))
}

// describeMsg says what a message is, for an anomaly: its direction, type
// and first bytes.
func describeMsg(m *Msg) string {
	from := "server"
	if m.FromClient {
		from = "client"
	}
	kind := "text"
	if m.Binary {
		kind = "binary"
	}
	p := m.Payload
	if len(p) > 16 {
		p = p[:16]
	}
	s := "first " + from + " message: " + kind + " "
	if m.Binary {
		s += hex.EncodeToString(p)
	} else {
		s += string(appendJSONString(nil, string(p)))
	}
	if len(m.Payload) > 16 {
		s += "..."
	}
	return s
}

// MemSize implements decode.AppLayer.
func (l *Conn) MemSize() int {
	n := 256 + cap(l.res.Units)*unitSize
	if l.dec != nil {
		n += l.dec.size()
	}
	return n
}

const unitSize = 160
