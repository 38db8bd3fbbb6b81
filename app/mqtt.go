package app

import (
	"strconv"
	"strings"
)

// MQTT 3.1, 3.1.1 and 5.0 over WebSocket (MQTT 5.0 §6, MQTT 3.1.1 §6):
// binary messages carry a byte stream of control packets. A packet may
// span several messages (mqtt.js writes the pieces of one packet as
// separate messages) and several packets may share one, so each direction
// keeps a stream buffer of the packet in progress. A packet whose
// remaining length exceeds mqttMaxPacket is not buffered whole: its first
// mqttKeep bytes are kept, the rest counted, and it is reported with its
// payload cut (payload_truncated). The protocol level of the CONNECT
// (3 = 3.1, 4 = 3.1.1, 5 = 5.0) decides how both directions are parsed;
// before a CONNECT is seen a packet that does not parse as 3.1.1 is tried
// as 5.0.
//
// Detection: the subprotocols mqtt, mqttv3.1, mqttv3.1.1 and mqttv5
// (mqtt.js and Paho always offer one); without one, a first client binary
// message that starts a CONNECT: 0x10, a valid remaining length, then the
// protocol name "MQTT" with level 4 or 5 or "MQIsdp" with level 3 and a
// connect flags byte whose reserved bit is clear. A message that is only
// the fixed header (mqtt.js writes 0x10 and the remaining length as
// separate messages) is not accepted: two bytes are no signature.

var protoMQTT = &protocol{
	name:         "mqtt",
	subprotocols: []string{"mqtt", "mqttv3.1", "mqttv3.1.1", "mqttv311", "mqttv5", "mqttv5.0"},
	sniff:        sniffMQTT,
	new: func(h *Handshake, _ *Config) decoder {
		d := &mqttDecoder{}
		if p := strings.ToLower(h.Protocol); strings.HasPrefix(p, "mqttv5") {
			d.hint = 5
		}
		return d
	},
	ref:     "MQTT 5.0 §2, §3; MQTT 3.1.1 §2, §3",
	summary: "MQTT 3.1/3.1.1/5.0 control packets across and within messages: type, topic, packet id, QoS, payload, v5 properties and reason codes",
}

const (
	// mqttMaxPacket is the largest remaining length buffered whole.
	mqttMaxPacket = 1 << 20
	// mqttKeep is how many bytes of a larger packet are kept to decode.
	mqttKeep = 64 << 10
	// mqttMaxAliases bounds the v5 topic aliases remembered per direction.
	mqttMaxAliases = 1024
)

var mqttTypes = [16]string{"", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP",
	"SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "AUTH"}

// sniffMQTT reports whether m starts a CONNECT packet (see above).
func sniffMQTT(m *Msg) bool {
	p := m.Payload
	if !m.FromClient || !m.Binary || len(p) < 12 || p[0] != 0x10 {
		return false
	}
	rl, n, st := mqttVarint(p[1:])
	if st != 0 {
		return false
	}
	rest := p[1+n:]
	switch {
	case len(rest) >= 8 && string(rest[:6]) == "\x00\x04MQTT" && (rest[6] == 4 || rest[6] == 5):
		return rl >= 10 && rest[7]&1 == 0 && rest[7]&0x18 != 0x18
	case len(rest) >= 10 && string(rest[:8]) == "\x00\x06MQIsdp" && rest[8] == 3:
		return rl >= 12 && rest[9]&1 == 0 && rest[9]&0x18 != 0x18
	}
	return false
}

// mqttVarint reads a Variable Byte Integer (§1.5.5): the value, its
// length, and a status: 0 ok, 1 more bytes needed, 2 malformed (more
// than four bytes).
func mqttVarint(b []byte) (v uint32, n int, status int) {
	var mul uint32 = 1
	for i := 0; i < 4; i++ {
		if i >= len(b) {
			return 0, 0, 1
		}
		v += uint32(b[i]&0x7f) * mul
		if b[i]&0x80 == 0 {
			return v, i + 1, 0
		}
		mul <<= 7
	}
	return 0, 0, 2
}

type mqttDecoder struct {
	level byte // protocol level of the CONNECT (0: none seen)
	hint  byte // level the subprotocol suggests (5 for mqttv5)
	dir   [2]mqttDir
}

// mqttDir is the stream state of one direction.
type mqttDir struct {
	buf     []byte // the start of a packet still incomplete
	big     []byte // the kept start of a packet larger than mqttMaxPacket
	bigLeft int    // bytes of that packet still to come
	lost    bool   // bytes were lost: wait for a message that starts a packet
	aliases map[uint16]string
	aliasN  int // bytes held by aliases
}

func (d *mqttDecoder) size() int {
	n := 64
	for i := range d.dir {
		n += cap(d.dir[i].buf) + cap(d.dir[i].big) + d.dir[i].aliasN
	}
	return n
}

// version is the protocol level to parse with.
func (d *mqttDecoder) version() byte {
	switch {
	case d.level == 5 || d.level == 0 && d.hint == 5:
		return 5
	case d.level == 0:
		return 4
	}
	return d.level
}

func (d *mqttDecoder) decode(m *Msg, r *Result) {
	var s *mqttDir
	if m.FromClient {
		s = &d.dir[0]
	} else {
		s = &d.dir[1]
	}
	p := m.Payload
	if m.Incomplete {
		// Decode the packets that are whole, then start over at the
		// next message that starts a packet.
		if s.bigLeft == 0 {
			data := p
			if len(s.buf) > 0 {
				data = append(s.buf, p...)
			}
			s.lost = true
			d.packets(m.FromClient, s, data, true, r)
		}
		s.reset()
		s.lost = true
		return
	}
	if s.bigLeft > 0 {
		k := min(len(p), s.bigLeft)
		if room := mqttKeep - len(s.big); room > 0 {
			s.big = append(s.big, p[:min(k, room)]...)
		}
		s.bigLeft -= k
		p = p[k:]
		if s.bigLeft > 0 {
			r.Partial = true
			return
		}
		big := s.big
		s.big = nil
		if err := d.bigPacket(m.FromClient, s, big, r); err != "" {
			r.Malformed(protoMQTT, "%s", err)
			s.reset()
			return
		}
		if len(p) == 0 {
			return
		}
	}
	if s.lost && len(s.buf) == 0 && !mqttStarts(p, d.version()) {
		return // still no packet boundary
	}
	data := p
	if len(s.buf) > 0 {
		data = append(s.buf, p...)
	}
	if err := d.packets(m.FromClient, s, data, false, r); err != "" {
		r.Malformed(protoMQTT, "%s", err)
		s.reset()
	}
}

func (s *mqttDir) reset() {
	s.buf, s.big, s.bigLeft = nil, nil, 0
}

// mqttStarts reports whether b starts with a plausible packet header:
// valid flags, and a remaining length that the packet type allows.
func mqttStarts(b []byte, v byte) bool {
	if len(b) == 0 || mqttFlagsErr(b[0], v) != "" {
		return false
	}
	rl, _, st := mqttVarint(b[1:])
	switch {
	case st == 2:
		return false
	case st == 1:
		return true
	}
	switch b[0] >> 4 {
	case 12, 13:
		return rl == 0
	case 14:
		return rl == 0 || v == 5
	case 2, 4, 5, 6, 7, 11:
		return rl == 2 || v == 5 && rl > 2
	case 1, 3, 8, 9, 10:
		return rl >= 3
	}
	return true
}

// mqttFlagsErr checks the first byte of a fixed header (§2.1.2, §2.1.3).
func mqttFlagsErr(b0, v byte) string {
	t, fl := b0>>4, b0&15
	switch {
	case t == 0 || t == 15 && v < 5:
		return "reserved packet type " + strconv.Itoa(int(t))
	case t == 3:
		if fl&6 == 6 {
			return "PUBLISH with QoS 3"
		}
	case t == 6 || t == 8 || t == 10:
		if fl != 2 {
			return mqttTypes[t] + " with flags " + strconv.Itoa(int(fl)) + " (must be 2)"
		}
	default:
		if fl != 0 {
			return mqttTypes[t] + " with flags " + strconv.Itoa(int(fl)) + " (must be 0)"
		}
	}
	return ""
}

// packets decodes the packets of data, which starts at a packet boundary,
// and keeps the start of an incomplete last one. On an incomplete message
// it keeps nothing. Until a packet parses after bytes were lost
// (s.lost), what does not parse is dropped quietly.
func (d *mqttDecoder) packets(fromClient bool, s *mqttDir, data []byte, incomplete bool, r *Result) string {
	quiet := incomplete || s.lost
	i := 0
	for i < len(data) {
		b := data[i:]
		if s.lost && !mqttStarts(b, d.version()) {
			s.buf = s.buf[:0]
			return ""
		}
		if err := mqttFlagsErr(b[0], d.version()); err != "" {
			if quiet {
				return ""
			}
			return err + " at byte " + strconv.Itoa(i)
		}
		rl, n, st := mqttVarint(b[1:])
		if st == 2 {
			if quiet {
				return ""
			}
			return "remaining length longer than 4 bytes at byte " + strconv.Itoa(i)
		}
		if st == 1 {
			break // the fixed header continues in the next message
		}
		total := 1 + n + int(rl)
		if rl > mqttMaxPacket {
			if quiet {
				s.buf = s.buf[:0]
				return ""
			}
			k := min(len(b), 1+n+mqttKeep)
			if len(b) >= total {
				if err := d.bigPacket(fromClient, s, b[:k], r); err != "" {
					return err
				}
				i += total
				continue
			}
			s.big = append([]byte(nil), b[:k]...)
			s.bigLeft = total - len(b)
			s.buf = s.buf[:0]
			r.Partial = true
			return ""
		}
		if len(b) < total {
			break
		}
		if err := d.packet(fromClient, s, b[0], b[1+n:total], 0, r); err != "" {
			if quiet {
				s.buf = s.buf[:0]
				return ""
			}
			return err
		}
		s.lost = false
		i += total
	}
	if incomplete {
		return ""
	}
	rest := data[i:]
	if len(rest) == 0 {
		if cap(s.buf) > 64<<10 {
			s.buf = nil
		} else {
			s.buf = s.buf[:0]
		}
		return ""
	}
	if i == 0 && len(s.buf) > 0 {
		// data is s.buf with the message appended (decode) and no packet
		// ended: keep it as it is rather than move it onto itself, which
		// is quadratic in a packet sent in small messages.
		s.buf = data
	} else {
		// copy handles the overlap when data is s.buf.
		s.buf = append(s.buf[:0], rest...)
	}
	r.Partial = true
	return ""
}

// bigPacket decodes the kept start b (fixed header included) of a packet
// larger than mqttMaxPacket.
func (d *mqttDecoder) bigPacket(fromClient bool, s *mqttDir, b []byte, r *Result) string {
	rl, n, _ := mqttVarint(b[1:])
	return d.packet(fromClient, s, b[0], b[1+n:], int(rl), r)
}

// packet decodes one control packet: b0 its first byte, body the rest
// after the remaining length. full > 0: body is only the start of a
// packet of that remaining length (payload_truncated).
func (d *mqttDecoder) packet(fromClient bool, s *mqttDir, b0 byte, body []byte, full int, r *Result) string {
	v := d.version()
	t := b0 >> 4
	if t == 1 {
		if lv, ok := mqttConnectLevel(body); ok {
			v = lv
		}
	}
	u, err := d.parse(s, b0, body, full, v)
	if err != "" && d.level == 0 && t != 1 && v != 5 {
		// No CONNECT seen: it may be 5.0.
		if u5, err5 := d.parse(s, b0, body, full, 5); err5 == "" {
			u, err, d.level = u5, "", 5
		}
	}
	if err != "" {
		return mqttTypes[t] + ": " + err
	}
	if t == 1 && fromClient {
		d.level = v
	}
	if t == 2 && d.level == 0 && v == 4 && len(body) > 2 {
		d.level = 5
	}
	r.Add(u)
	return ""
}

// mqttConnectLevel returns the protocol level a CONNECT body announces.
func mqttConnectLevel(body []byte) (byte, bool) {
	if len(body) < 2 {
		return 0, false
	}
	n := int(body[0])<<8 | int(body[1])
	if len(body) < 3+n {
		return 0, false
	}
	lv := body[2+n] & 0x7f // 0x80: mosquitto's bridge bit
	switch lv {
	case 3, 4, 5:
		return lv, true
	}
	return 0, false
}

// mqttReader reads the fields of a packet body.
type mqttReader struct {
	b     []byte
	i     int
	short bool // ran out of bytes
	bad   string
}

func (r *mqttReader) ok() bool  { return !r.short && r.bad == "" }
func (r *mqttReader) left() int { return len(r.b) - r.i }
func (r *mqttReader) fail(s string) {
	if r.ok() {
		r.bad = s
	}
}

func (r *mqttReader) take(n int) []byte {
	if !r.ok() {
		return nil
	}
	if r.left() < n {
		r.short = true
		r.i = len(r.b)
		return nil
	}
	b := r.b[r.i : r.i+n]
	r.i += n
	return b
}

func (r *mqttReader) u8() byte {
	if b := r.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *mqttReader) u16() uint16 {
	if b := r.take(2); b != nil {
		return uint16(b[0])<<8 | uint16(b[1])
	}
	return 0
}

func (r *mqttReader) u32() uint32 {
	if b := r.take(4); b != nil {
		return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	}
	return 0
}

func (r *mqttReader) varint() uint32 {
	if !r.ok() {
		return 0
	}
	v, n, st := mqttVarint(r.b[r.i:])
	switch st {
	case 1:
		r.short = true
		r.i = len(r.b)
	case 2:
		r.fail("variable byte integer longer than 4 bytes")
	}
	r.i += n
	return v
}

// bin reads Binary Data or a UTF-8 Encoded String (§1.5.4, §1.5.6).
func (r *mqttReader) bin() []byte {
	n := int(r.u16())
	if !r.ok() {
		return nil
	}
	if b := r.take(n); b != nil || n == 0 {
		return b
	}
	return nil
}

func (r *mqttReader) str() string { return string(r.bin()) }

// mqttProps are the decoded properties of a packet.
type mqttProps struct {
	fields []Field
	alias  uint16 // topic_alias, 0 when absent
	reason string // reason_string
}

var mqttPropNames = map[byte]string{
	0x01: "payload_format_indicator", 0x02: "message_expiry_interval", 0x03: "content_type",
	0x08: "response_topic", 0x09: "correlation_data", 0x0B: "subscription_identifier",
	0x11: "session_expiry_interval", 0x12: "assigned_client_identifier", 0x13: "server_keep_alive",
	0x15: "authentication_method", 0x16: "authentication_data", 0x17: "request_problem_information",
	0x18: "will_delay_interval", 0x19: "request_response_information", 0x1A: "response_information",
	0x1C: "server_reference", 0x1F: "reason_string", 0x21: "receive_maximum",
	0x22: "topic_alias_maximum", 0x23: "topic_alias", 0x24: "maximum_qos", 0x25: "retain_available",
	0x26: "user_property", 0x27: "maximum_packet_size", 0x28: "wildcard_subscription_available",
	0x29: "subscription_identifier_available", 0x2A: "shared_subscription_available",
}

// props reads a property list (MQTT 5.0 §2.2.2).
func (r *mqttReader) props() mqttProps {
	var p mqttProps
	n := int(r.varint())
	if !r.ok() {
		return p
	}
	cut := n > r.left() // a truncated packet: read what is there
	end := r.i + min(n, r.left())
	sub := mqttReader{b: r.b[:end], i: r.i}
	var users, subIDs [][]byte
	for sub.ok() && sub.i < end {
		id := sub.varint()
		if !sub.ok() {
			break
		}
		name, known := mqttPropNames[byte(id)]
		if !known || id > 0x7f {
			sub.fail("unknown property 0x" + strconv.FormatUint(uint64(id), 16))
			break
		}
		var val []byte
		key := name
		switch id {
		case 0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2A:
			val = jint(int64(sub.u8()))
		case 0x13, 0x21, 0x22, 0x23:
			x := sub.u16()
			val = jint(int64(x))
			if id == 0x23 {
				p.alias = x
			}
		case 0x02, 0x11, 0x18, 0x27:
			val = jint(int64(sub.u32()))
		case 0x0B:
			val = jint(int64(sub.varint()))
		case 0x09, 0x16:
			f := blob(name, sub.bin())
			key, val = f.Key, f.Value
		case 0x26:
			k := sub.str()
			v := sub.str()
			val = jarr(jstr(k), jstr(v))
		default:
			s := sub.str()
			val = jstr(s)
			if id == 0x1F {
				p.reason = s
			}
		}
		if !sub.ok() {
			break
		}
		switch {
		case id == 0x26:
			users = append(users, val)
		case id == 0x0B:
			subIDs = append(subIDs, val)
		case !p.has(key): // a repeated property is a protocol error: the first is kept
			p.fields = append(p.fields, Field{Key: key, Value: val})
		}
	}
	switch len(subIDs) {
	case 0:
	case 1:
		p.fields = append(p.fields, Field{Key: "subscription_identifier", Value: subIDs[0]})
	default:
		p.fields = append(p.fields, Field{Key: "subscription_identifier", Value: jarr(subIDs...)})
	}
	if len(users) > 0 {
		p.fields = append(p.fields, Field{Key: "user_property", Value: jarr(users...)})
	}
	r.i = sub.i
	switch {
	case sub.bad != "":
		r.fail(sub.bad)
	case sub.short && !cut:
		r.fail("property list overruns its length")
	case sub.short || cut:
		r.short = true
		r.i = len(r.b)
	}
	return p
}

func (p *mqttProps) has(key string) bool {
	for _, f := range p.fields {
		if f.Key == key {
			return true
		}
	}
	return false
}

// field appends the properties object to fs when there are any.
func (p *mqttProps) field(fs []Field, key string) []Field {
	if len(p.fields) == 0 {
		return fs
	}
	return append(fs, Field{Key: key, Value: jobj(p.fields...)})
}

// mqttReason names a reason code of MQTT 5.0 §2.4 in the context of
// packet type t.
func mqttReason(t byte, c byte) string {
	switch c {
	case 0x00:
		switch t {
		case 9:
			return "Granted QoS 0"
		case 14:
			return "Normal disconnection"
		}
		return "Success"
	case 0x01:
		return "Granted QoS 1"
	case 0x02:
		return "Granted QoS 2"
	case 0x04:
		return "Disconnect with Will Message"
	case 0x10:
		return "No matching subscribers"
	case 0x11:
		return "No subscription existed"
	case 0x18:
		return "Continue authentication"
	case 0x19:
		return "Re-authenticate"
	}
	if c >= 0x80 && int(c-0x80) < len(mqttErrReasons) {
		return mqttErrReasons[c-0x80]
	}
	return "0x" + strconv.FormatUint(uint64(c), 16)
}

var mqttErrReasons = [...]string{
	"Unspecified error", "Malformed Packet", "Protocol Error", "Implementation specific error",
	"Unsupported Protocol Version", "Client Identifier not valid", "Bad User Name or Password",
	"Not authorized", "Server unavailable", "Server busy", "Banned", "Server shutting down",
	"Bad authentication method", "Keep Alive timeout", "Session taken over", "Topic Filter invalid",
	"Topic Name invalid", "Packet Identifier in use", "Packet Identifier not found",
	"Receive Maximum exceeded", "Topic Alias invalid", "Packet too large", "Message rate too high",
	"Quota exceeded", "Administrative action", "Payload format invalid", "Retain not supported",
	"QoS not supported", "Use another server", "Server moved", "Shared Subscriptions not supported",
	"Connection rate exceeded", "Maximum connect time", "Subscription Identifiers not supported",
	"Wildcard Subscriptions not supported",
}

// mqttReturn names a CONNACK return code of MQTT 3.1.1 §3.2.2.3.
func mqttReturn(c byte) string {
	names := [...]string{"Connection Accepted", "Connection Refused, unacceptable protocol version",
		"Connection Refused, identifier rejected", "Connection Refused, Server unavailable",
		"Connection Refused, bad user name or password", "Connection Refused, not authorized"}
	if int(c) < len(names) {
		return names[c]
	}
	return "0x" + strconv.FormatUint(uint64(c), 16)
}

// mqttSubackName names a SUBACK return code of MQTT 3.1.1 §3.9.3.
func mqttSubackName(c byte, v byte) string {
	if v == 5 {
		return mqttReason(9, c)
	}
	switch c {
	case 0, 1, 2:
		return "Success - Maximum QoS " + strconv.Itoa(int(c))
	case 0x80:
		return "Failure"
	}
	return "0x" + strconv.FormatUint(uint64(c), 16)
}

var mqttVersions = map[byte]string{3: "v3.1", 4: "v3.1.1", 5: "v5.0"}

// parse decodes one packet at protocol level v into a unit.
func (d *mqttDecoder) parse(s *mqttDir, b0 byte, body []byte, full int, v byte) (Unit, string) {
	t, fl := b0>>4, b0&15
	u := Unit{Proto: "mqtt", Type: mqttTypes[t]}
	rd := &mqttReader{b: body}
	var fs []Field
	var info strings.Builder
	truncated := full > 0
	v5 := v == 5
	idInfo := func(id uint16) {
		u.ID = jint(int64(id))
		info.WriteString(" id=" + strconv.Itoa(int(id)))
	}
	switch t {
	case 1: // CONNECT §3.1
		name := rd.str()
		lv := rd.u8()
		flags := rd.u8()
		ka := rd.u16()
		if !rd.ok() {
			break
		}
		v5 = lv&0x7f == 5
		if flags&1 != 0 {
			rd.fail("reserved connect flag set")
			break
		}
		wqos := flags >> 3 & 3
		if wqos == 3 {
			rd.fail("will QoS 3")
			break
		}
		if flags&4 == 0 && flags&0x38 != 0 {
			rd.fail("will QoS or retain without the will flag")
			break
		}
		fs = append(fs, Field{Key: "protocol_name", Value: jstr(name)},
			Field{Key: "protocol_level", Value: jint(int64(lv))},
			Field{Key: "clean_session", Value: jbool(flags&2 != 0)},
			Field{Key: "keep_alive", Value: jint(int64(ka))})
		var props mqttProps
		if v5 {
			props = rd.props()
		}
		cid := rd.str()
		if !rd.ok() {
			break
		}
		fs = append(fs, Field{Key: "client_id", Value: jstr(cid)})
		info.WriteString("client_id=" + string(jstr(cid)))
		if vs, ok := mqttVersions[lv&0x7f]; ok {
			info.WriteString(" " + vs)
		} else {
			info.WriteString(" level=" + strconv.Itoa(int(lv)))
		}
		if flags&2 != 0 {
			info.WriteString(" clean")
		}
		info.WriteString(" keep_alive=" + strconv.Itoa(int(ka)))
		if flags&4 != 0 {
			var wp mqttProps
			if v5 {
				wp = rd.props()
			}
			wt := rd.str()
			wpay := rd.bin()
			if !rd.ok() {
				break
			}
			fs = append(fs, Field{Key: "will_topic", Value: jstr(wt)},
				Field{Key: "will_qos", Value: jint(int64(wqos))},
				Field{Key: "will_retain", Value: jbool(flags&0x20 != 0)},
				blob("will_payload", wpay))
			fs = wp.field(fs, "will_properties")
			info.WriteString(" will=" + string(jstr(wt)))
		}
		if flags&0x80 != 0 {
			user := rd.str()
			if !rd.ok() {
				break
			}
			fs = append(fs, Field{Key: "username", Value: jstr(user)})
			info.WriteString(" username=" + string(jstr(user)))
		}
		if flags&0x40 != 0 {
			pw := rd.bin()
			if !rd.ok() {
				break
			}
			fs = append(fs, blob("password", pw))
		}
		fs = props.field(fs, "properties")
	case 2: // CONNACK §3.2
		ack := rd.u8()
		code := rd.u8()
		if !rd.ok() {
			break
		}
		if ack&0xfe != 0 {
			rd.fail("reserved acknowledge flags set")
			break
		}
		fs = append(fs, Field{Key: "session_present", Value: jbool(ack&1 != 0)})
		if v5 {
			fs = append(fs, Field{Key: "reason_code", Value: jint(int64(code))})
			info.WriteString(mqttReason(t, code))
			if rd.left() > 0 {
				p := rd.props()
				fs = p.field(fs, "properties")
				if p.reason != "" {
					info.WriteString(" " + string(jstr(p.reason)))
				}
			}
		} else {
			fs = append(fs, Field{Key: "return_code", Value: jint(int64(code))})
			info.WriteString(mqttReturn(code))
		}
		if ack&1 != 0 {
			info.WriteString(" session_present")
		}
	case 3: // PUBLISH §3.3
		qos := fl >> 1 & 3
		topic := rd.str()
		var id uint16
		if qos > 0 {
			id = rd.u16()
			if rd.ok() && id == 0 {
				rd.fail("packet identifier 0")
			}
		}
		var props mqttProps
		if v5 {
			props = rd.props()
		}
		if !rd.ok() {
			break
		}
		if v5 && props.alias != 0 {
			topic = s.alias(props.alias, topic)
		}
		u.Name, u.HasName = topic, true
		info.WriteString(string(jstr(topic)))
		info.WriteString(" qos=" + strconv.Itoa(int(qos)))
		if qos > 0 {
			idInfo(id)
		}
		if fl&1 != 0 {
			info.WriteString(" retain")
		}
		if fl&8 != 0 {
			info.WriteString(" dup")
		}
		payload := rd.b[rd.i:]
		rd.i = len(rd.b)
		n := len(payload)
		if truncated {
			n = full - (len(body) - len(payload))
		}
		fs = append(fs, Field{Key: "qos", Value: jint(int64(qos))},
			Field{Key: "retain", Value: jbool(fl&1 != 0)},
			Field{Key: "dup", Value: jbool(fl&8 != 0)},
			blob("payload", payload))
		if truncated {
			fs = append(fs, Field{Key: "payload_truncated", Value: jbool(true)})
		}
		fs = props.field(fs, "properties")
		info.WriteString(" (" + strconv.Itoa(n) + " bytes)")
	case 4, 5, 6, 7: // PUBACK, PUBREC, PUBREL, PUBCOMP §3.4-§3.7
		id := rd.u16()
		if !rd.ok() {
			break
		}
		idInfo(id)
		if v5 {
			code := byte(0)
			if rd.left() > 0 {
				code = rd.u8()
			}
			fs = append(fs, Field{Key: "reason_code", Value: jint(int64(code))})
			info.WriteString(" " + mqttReason(t, code))
			if rd.left() > 0 {
				p := rd.props()
				fs = p.field(fs, "properties")
				if p.reason != "" {
					info.WriteString(" " + string(jstr(p.reason)))
				}
			}
		}
	case 8, 10: // SUBSCRIBE §3.8, UNSUBSCRIBE §3.10
		id := rd.u16()
		var props mqttProps
		if v5 {
			props = rd.props()
		}
		if !rd.ok() {
			break
		}
		var topics [][]byte
		first := ""
		var list strings.Builder
		for rd.ok() && rd.left() > 0 {
			f := rd.str()
			var o byte
			if t == 8 {
				o = rd.u8()
			}
			if !rd.ok() {
				break
			}
			if len(topics) == 0 {
				first = f
			}
			if list.Len() < 2*infoLen {
				if list.Len() > 0 {
					list.WriteString(", ")
				}
				list.WriteString(string(jstr(f)))
			}
			if t == 10 {
				topics = append(topics, jstr(f))
				continue
			}
			if o&3 == 3 || !v5 && o&0xfc != 0 || v5 && (o&0xc0 != 0 || o>>4&3 == 3) {
				rd.fail("bad subscription options 0x" + strconv.FormatUint(uint64(o), 16))
				break
			}
			if list.Len() < 2*infoLen {
				list.WriteString(" qos=" + strconv.Itoa(int(o&3)))
			}
			sub := []Field{{Key: "topic", Value: jstr(f)}, {Key: "qos", Value: jint(int64(o & 3))}}
			// v5 subscription options (§3.8.3.1), when not the defaults.
			if o&4 != 0 {
				sub = append(sub, Field{Key: "no_local", Value: jbool(true)})
			}
			if o&8 != 0 {
				sub = append(sub, Field{Key: "retain_as_published", Value: jbool(true)})
			}
			if o>>4&3 != 0 {
				sub = append(sub, Field{Key: "retain_handling", Value: jint(int64(o >> 4 & 3))})
			}
			topics = append(topics, jobj(sub...))
		}
		if rd.bad != "" || rd.short && !truncated {
			break
		}
		if len(topics) == 0 && !truncated {
			rd.fail("no topic filter")
			break
		}
		u.Name, u.HasName = first, true
		info.WriteString(shorten([]byte(list.String()), 2*infoLen))
		if len(topics) > 1 {
			info.WriteString(" (" + strconv.Itoa(len(topics)) + " filters)")
		}
		idInfo(id)
		fs = append(fs, Field{Key: "topics", Value: jarr(topics...)})
		fs = props.field(fs, "properties")
	case 9, 11: // SUBACK §3.9, UNSUBACK §3.11
		id := rd.u16()
		var props mqttProps
		if v5 {
			props = rd.props()
		}
		if !rd.ok() {
			break
		}
		idInfo(id)
		if t == 11 && !v5 {
			break
		}
		codes := make([][]byte, 0, rd.left())
		var list strings.Builder
		for _, c := range rd.b[rd.i:] {
			codes = append(codes, jint(int64(c)))
			if list.Len() < 2*infoLen {
				if list.Len() > 0 {
					list.WriteString(", ")
				}
				if t == 9 {
					list.WriteString(mqttSubackName(c, v))
				} else {
					list.WriteString(mqttReason(t, c))
				}
			}
		}
		rd.i = len(rd.b)
		if len(codes) == 0 && !truncated {
			rd.fail("no reason code")
			break
		}
		fs = append(fs, Field{Key: "codes", Value: jarr(codes...)})
		fs = props.field(fs, "properties")
		info.WriteString(" " + shorten([]byte(list.String()), 2*infoLen))
		if props.reason != "" {
			info.WriteString(" " + string(jstr(props.reason)))
		}
	case 12, 13: // PINGREQ, PINGRESP §3.12, §3.13
	case 14, 15: // DISCONNECT §3.14, AUTH §3.15
		if !v5 {
			break
		}
		code := byte(0)
		if rd.left() > 0 {
			code = rd.u8()
		}
		fs = append(fs, Field{Key: "reason_code", Value: jint(int64(code))})
		info.WriteString(mqttReason(t, code))
		if rd.left() > 0 {
			p := rd.props()
			fs = p.field(fs, "properties")
			if p.reason != "" {
				info.WriteString(" " + string(jstr(p.reason)))
			}
		}
	}
	switch {
	case rd.bad != "":
		return u, rd.bad
	case rd.short && !truncated:
		return u, "packet shorter than its fields (remaining length " + strconv.Itoa(len(body)) + ")"
	case rd.left() > 0 && !truncated:
		return u, strconv.Itoa(rd.left()) + " bytes after the packet's fields"
	}
	if truncated && t != 3 {
		fs = append(fs, Field{Key: "payload_truncated", Value: jbool(true)})
		info.WriteString(" (" + strconv.Itoa(full) + " bytes, cut)")
	}
	u.Fields = fs
	u.Info = strings.TrimPrefix(info.String(), " ")
	return u, ""
}

// alias resolves a v5 topic alias (§3.3.2.3.4): a PUBLISH with a topic
// sets the alias, one with an empty topic uses it.
func (s *mqttDir) alias(a uint16, topic string) string {
	if topic == "" {
		return s.aliases[a]
	}
	if s.aliases == nil {
		s.aliases = map[uint16]string{}
	}
	old, had := s.aliases[a]
	if !had && len(s.aliases) >= mqttMaxAliases || len(topic) > 4096 {
		return topic
	}
	s.aliasN += len(topic) - len(old)
	if !had {
		s.aliasN += 48
	}
	s.aliases[a] = topic
	return topic
}
