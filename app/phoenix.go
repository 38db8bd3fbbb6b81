package app

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Phoenix channels (the Elixir framework's Phoenix.Socket, and LiveView
// on it). Each text message is one message of the JSON serializer: v2
// (vsn=2.0.0, the default since Phoenix 1.4) is the array
//
//	[join_ref, ref, topic, event, payload]
//
// v1 (vsn=1.0.0) the object {"topic","event","payload","ref"[,"join_ref"]}.
// A reply is the event phx_reply whose payload is {"status","response"}.
// Binary messages are the v2 serializer's binary form: a kind byte (0
// push, 1 reply, 2 broadcast), one length byte per field, the fields, then
// the payload bytes. A push from the client has join_ref, ref, topic and
// event; a push from the server has no ref; a reply has join_ref, ref,
// topic and the status (its payload is the response); a broadcast has
// topic and event only.
//
// Choosing: the request path ends in /websocket and the query has vsn=1.x
// or vsn=2.x (Phoenix's socket is /socket/websocket, LiveView's
// /live/websocket); without the handshake, a message of either serializer
// that joins a channel (event phx_join) or is the heartbeat (event
// heartbeat on topic "phoenix").

var protoPhoenix = &protocol{
	name: "phoenix",
	path: func(h *Handshake) bool {
		if !strings.HasSuffix(h.Path, "/websocket") {
			return false
		}
		v := queryValue(h.Query, "vsn")
		return strings.HasPrefix(v, "1.") || strings.HasPrefix(v, "2.")
	},
	sniff: sniffPhoenix,
	new: func(*Handshake, *Config) decoder {
		return phoenixDecoder{}
	},
	ref:     "https://hexdocs.pm/phoenix/writing_a_channels_client.html",
	summary: "Phoenix channels (v1 object and v2 array JSON serializers, v2 binary): event, topic, ref, join_ref, reply status, payload",
}

// Binary serializer kinds.
const (
	phxPush      = 0
	phxReply     = 1
	phxBroadcast = 2
)

// phxMsg is one Phoenix message, its values raw JSON (nil: absent).
type phxMsg struct {
	joinRef, ref, payload []byte
	topic, event          string
}

// parsePhoenixJSON parses a text message of either JSON serializer.
func parsePhoenixJSON(b []byte) (m phxMsg, ok bool) {
	b = trimWS(b)
	if len(b) == 0 {
		return m, false
	}
	var topic, event []byte
	switch b[0] {
	case '[':
		n := 0
		if !jsonArray(b, func(i int, v []byte) bool {
			switch i {
			case 0:
				m.joinRef = v
			case 1:
				m.ref = v
			case 2:
				topic = v
			case 3:
				event = v
			case 4:
				m.payload = v
			}
			n++
			return n <= 5
		}) || n != 5 {
			return m, false
		}
	case '{':
		if !jsonObject(b, func(k, v []byte) bool {
			switch {
			case keyIs(k, "topic"):
				topic = v
			case keyIs(k, "event"):
				event = v
			case keyIs(k, "payload"):
				m.payload = v
			case keyIs(k, "ref"):
				m.ref = v
			case keyIs(k, "join_ref"):
				m.joinRef = v
			}
			return true
		}) || m.payload == nil {
			return m, false
		}
	default:
		return m, false
	}
	if !phxRef(m.joinRef) || !phxRef(m.ref) {
		return m, false
	}
	var okT, okE bool
	m.topic, okT = jsonString(topic)
	m.event, okE = jsonString(event)
	return m, okT && okE && m.event != ""
}

// phxRef reports whether v is a valid ref: absent, null, a string or an
// integer.
func phxRef(v []byte) bool {
	switch jsonKind(v) {
	case 0, 'n', '"':
		return true
	case '0':
		_, ok := jsonInt(v)
		return ok
	}
	return false
}

func sniffPhoenix(m *Msg) bool {
	p := m.Payload
	if m.Binary || len(p) < 20 || p[0] != '[' && p[0] != '{' {
		return false
	}
	// Cheap check before parsing: the signal's words must be there.
	if !bytes.Contains(p, []byte(`"phx_join"`)) && !bytes.Contains(p, []byte(`"heartbeat"`)) {
		return false
	}
	pm, ok := parsePhoenixJSON(p)
	if !ok || jsonKind(pm.payload) != '{' {
		return false
	}
	return pm.event == "phx_join" || pm.event == "heartbeat" && pm.topic == "phoenix"
}

type phoenixDecoder struct{}

func (phoenixDecoder) size() int { return 0 }

func (phoenixDecoder) decode(m *Msg, r *Result) {
	if m.Incomplete {
		return
	}
	if m.Binary {
		phoenixBinary(m, r)
		return
	}
	pm, ok := parsePhoenixJSON(m.Payload)
	if !ok {
		r.Malformed(protoPhoenix, "text message is not a Phoenix message ([join_ref, ref, topic, event, payload] or {\"topic\",\"event\",\"payload\",\"ref\"})")
		return
	}
	u := Unit{Proto: "phoenix", Type: pm.event, Name: pm.topic, HasName: true}
	if k := jsonKind(pm.ref); k == '"' || k == '0' {
		u.ID = jraw(pm.ref)
	}
	if pm.joinRef != nil {
		u.Fields = append(u.Fields, Field{Key: "join_ref", Value: jraw(pm.joinRef)})
	}
	payload := jraw(pm.payload)
	u.Fields = append(u.Fields, Field{Key: "payload", Value: payload})
	shown := payload
	var status string
	if pm.event == "phx_reply" {
		if s, ok := jsonString(jsonMember(payload, "status")); ok {
			status = s
			u.Fields = append(u.Fields, Field{Key: "status", Value: jstr(s)})
			if resp := jsonMember(payload, "response"); resp != nil {
				shown = resp
			}
		}
	}
	u.Info = phxInfo(pm.topic, status, shorten(shown, infoLen), u.ID)
	r.Add(u)
}

// phxInfo is the Info line: the topic, the reply status, the payload (or
// the reply's response) and the ref.
func phxInfo(topic, status, payload string, ref []byte) string {
	var b strings.Builder
	b.Write(jstr(topic))
	if status != "" {
		b.WriteString(" " + infoWord(status))
	}
	if payload != "" {
		b.WriteString(" " + payload)
	}
	if ref != nil {
		b.WriteString(" ref=")
		if s, ok := jsonString(ref); ok {
			b.WriteString(infoWord(s))
		} else {
			b.Write(ref)
		}
	}
	return b.String()
}

// phoenixBinary decodes a message of the v2 binary serializer.
func phoenixBinary(m *Msg, r *Result) {
	p := m.Payload
	if len(p) == 0 {
		r.Malformed(protoPhoenix, "empty binary message")
		return
	}
	kind := p[0]
	var names []string
	switch {
	case kind == phxPush && m.FromClient:
		names = []string{"join_ref", "ref", "topic", "event"}
	case kind == phxPush:
		names = []string{"join_ref", "topic", "event"}
	case kind == phxReply && !m.FromClient:
		names = []string{"join_ref", "ref", "topic", "status"}
	case kind == phxBroadcast && !m.FromClient:
		names = []string{"topic", "event"}
	default:
		r.Malformed(protoPhoenix, "binary message of kind %d from the %s", kind, map[bool]string{true: "client", false: "server"}[m.FromClient])
		return
	}
	head := 1 + len(names)
	if len(p) < head {
		r.Malformed(protoPhoenix, "binary message of %d bytes is shorter than its %d-byte header", len(p), head)
		return
	}
	vals := map[string]string{}
	off := head
	for i, n := range names {
		l := int(p[1+i])
		if off+l > len(p) {
			r.Malformed(protoPhoenix, "binary message: %s of %d bytes past the end (%d bytes)", n, l, len(p))
			return
		}
		v := p[off : off+l]
		if !utf8.Valid(v) {
			r.Malformed(protoPhoenix, "binary message: %s is not UTF-8", n)
			return
		}
		vals[n] = string(v)
		off += l
	}
	data := p[off:]
	event := vals["event"]
	if kind == phxReply {
		event = "phx_reply"
	}
	if event == "" {
		r.Malformed(protoPhoenix, "binary message without an event")
		return
	}
	u := Unit{Proto: "phoenix", Type: event, Name: vals["topic"], HasName: true}
	if ref, ok := vals["ref"]; ok {
		u.ID = jstr(ref)
	}
	if jr, ok := vals["join_ref"]; ok {
		u.Fields = append(u.Fields, Field{Key: "join_ref", Value: jstr(jr)})
	} else {
		u.Fields = append(u.Fields, Field{Key: "join_ref", Value: jnull()})
	}
	u.Fields = append(u.Fields, blob("payload", data))
	if kind == phxReply {
		u.Fields = append(u.Fields, Field{Key: "status", Value: jstr(vals["status"])})
	}
	u.Info = phxInfo(u.Name, vals["status"], "("+strconv.Itoa(len(data))+" bytes)", u.ID)
	r.Add(u)
}

// plainWord reports whether s is a short word that an Info line can show
// unquoted: printable ASCII without spaces, quotes or backslashes.
func plainWord(s string) bool {
	if s == "" || len(s) > 60 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// infoWord returns s for an Info line: as is when it is a plain word,
// else as a shortened JSON string.
func infoWord(s string) string {
	if plainWord(s) {
		return s
	}
	return shorten(jstr(s), infoLen)
}
