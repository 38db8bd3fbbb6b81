package app

import (
	"bytes"
	"encoding/base64"
	"strconv"
	"strings"
)

// Engine.IO (protocol v3 and v4) over WebSocket, and Socket.IO (protocol 4,
// the socket.io 2.x library, and protocol 5, socket.io 3.x and 4.x) on top.
//
// Over WebSocket every message is one engine.io packet: a text message is
// the packet type as an ASCII digit (0 open, 1 close, 2 ping, 3 pong,
// 4 message, 5 upgrade, 6 noop) followed by its data; a binary message is
// a message packet carrying raw bytes (in v3 its first byte is the packet
// type as a byte, 4; v3 clients without binary support send "b4" and
// base64 in a text message instead). The polling-to-WebSocket upgrade is
// the probe "2probe", answered "3probe", then "5". The data of a message
// packet is a socket.io packet:
//
//	<type>[<attachments>-][<namespace>,][<ack id>][JSON data]
//
// and the attachments of a BINARY_EVENT or BINARY_ACK follow it as binary
// messages in the same direction; the unit is reported on the message that
// carries the last one, the messages before it are partial.
//
// Choosing (in the registry's order): the request path /socket.io/ is
// socket.io; /engine.io/ is engine.io alone; any other path whose query
// has EIO= is engine.io, and socket.io is decided by the first message
// packet of the connection: socket.io when it parses strictly as a
// socket.io packet (a CONNECT, DISCONNECT, CONNECT_ERROR, or an EVENT or
// ACK with a JSON array), engine.io alone otherwise. Without a handshake
// the content decides: the server's open packet 0{"sid":...} with
// "upgrades" or "pingInterval", or the probe 2probe/3probe, is engine.io
// (socket.io decided as above); a socket.io packet carrying JSON data
// (42["event",...], 43[...], 40{...}, 44{...}, BINARY_*) is socket.io. A
// bare "40" or "2" is never enough (free text could say that).
//
// The engine.io version is the query's EIO; without it, the open packet's
// maxPayload (v4), the direction of the pings (v3: the client pings; v4:
// the server does) or the socket.io CONNECT (protocol 5 clients send
// CONNECT to "/", its answer carries the sid) tell; until one does, binary
// messages are read as v4 (no type byte).

var protoSocketIO = &protocol{
	name:    "socket.io",
	aliases: []string{"socketio"},
	path: func(h *Handshake) bool {
		return strings.Contains(h.Path+"/", "/socket.io/")
	},
	sniff: sniffSocketIO,
	new: func(h *Handshake, _ *Config) decoder {
		return newEIO(h, sioYes)
	},
	ref:     "https://socket.io/docs/v4/socket-io-protocol/",
	summary: "Socket.IO v2-v4 over engine.io v3/v4: packet type, namespace, event name, args, ack id, binary attachments; engine.io open/ping/pong/upgrade",
}

var protoEngineIO = &protocol{
	name:    "engine.io",
	aliases: []string{"engineio"},
	path: func(h *Handshake) bool {
		return strings.Contains(h.Path+"/", "/engine.io/") || queryValue(h.Query, "EIO") != ""
	},
	sniff: sniffEngineIO,
	new: func(h *Handshake, _ *Config) decoder {
		mode := sioUnknown
		if strings.Contains(h.Path+"/", "/engine.io/") {
			mode = sioNo
		}
		return newEIO(h, mode)
	},
	ref:     "https://github.com/socketio/engine.io-protocol",
	summary: "Engine.IO v3/v4 without socket.io: open handshake, ping/pong (probe), upgrade, message data",
}

// Engine.IO packet types, and Socket.IO packet types.
var (
	eioTypes = [...]string{"open", "close", "ping", "pong", "message", "upgrade", "noop"}
	sioTypes = [...]string{"CONNECT", "DISCONNECT", "EVENT", "ACK", "CONNECT_ERROR", "BINARY_EVENT", "BINARY_ACK"}
)

const (
	eioOpen    = 0
	eioPing    = 2
	eioPong    = 3
	eioMessage = 4

	sioConnect      = 0
	sioDisconnect   = 1
	sioEvent        = 2
	sioAck          = 3
	sioConnectError = 4
	sioBinaryEvent  = 5
	sioBinaryAck    = 6
)

// Whether a connection's message packets carry socket.io.
const (
	sioUnknown = iota // decided by the first message packet
	sioYes
	sioNo
)

// Bounds on the attachments of one BINARY_* packet: bytes kept, and the
// count a header may claim.
const (
	sioMaxPending     = 8 << 20
	sioMaxAttachments = 1 << 20
)

// eioVersion returns the EIO query parameter as 3 or 4 (0 when absent or
// another value).
func eioVersion(q string) int {
	switch queryValue(q, "EIO") {
	case "3":
		return 3
	case "4":
		return 4
	}
	return 0
}

func sniffEngineIO(m *Msg) bool {
	p := m.Payload
	if m.Binary || len(p) < 6 {
		return false
	}
	if len(p) == 6 && (string(p) == "2probe" || string(p) == "3probe") {
		return true
	}
	// The open packet, with the members in any order (python-engineio
	// and other servers differ from the reference in order and spacing).
	if p[0] != '0' || p[1] != '{' || !bytes.Contains(p, []byte(`"sid"`)) {
		return false
	}
	sid, other := false, false
	if !jsonObject(p[1:], func(k, v []byte) bool {
		switch {
		case keyIs(k, "sid"):
			sid = jsonKind(v) == '"'
		case keyIs(k, "upgrades"), keyIs(k, "pingInterval"):
			other = true
		}
		return true
	}) {
		return false
	}
	return sid && other
}

func sniffSocketIO(m *Msg) bool {
	p := m.Payload
	if m.Binary || len(p) < 4 || p[0] != '4' || p[1] < '0' || p[1] > '6' {
		return false
	}
	pk, ok := parseSIO(p[1:])
	if !ok || pk.data == nil {
		return false
	}
	if pk.typ == sioEvent || pk.typ == sioBinaryEvent {
		return jsonKind(pk.data) == '[' && eventName(pk.data) != ""
	}
	return true
}

// eioDir is the state of one direction: a BINARY_* packet waiting for its
// attachments.
type eioDir struct {
	unit  *Unit // the packet, without its attachments; nil: none pending
	want  int   // attachments announced
	atts  [][]byte
	n     int  // attachments seen
	bytes int  // bytes kept in atts
	over  bool // more than sioMaxPending: the bytes are not kept
}

func (d *eioDir) reset() { *d = eioDir{} }

type eioDecoder struct {
	sio int
	ver int // 3, 4 or 0 (unknown)
	// sioText: a socket.io packet was seen in a text message. Until one
	// is, binary message packets are shown as engine.io messages: the
	// connection may use another socket.io parser (socket.io-msgpack-parser
	// sends every packet as a binary message).
	sioText bool
	dir     [2]eioDir
}

func newEIO(h *Handshake, mode int) *eioDecoder {
	return &eioDecoder{sio: mode, ver: eioVersion(h.Query)}
}

func (d *eioDecoder) size() int {
	n := 64
	for i := range d.dir {
		n += d.dir[i].bytes + 24*len(d.dir[i].atts)
		if u := d.dir[i].unit; u != nil {
			n += unitSize + len(u.Info)
			for _, f := range u.Fields {
				n += len(f.Key) + len(f.Value) + 32
			}
		}
	}
	return n
}

func (d *eioDecoder) decode(m *Msg, r *Result) {
	dir := &d.dir[0]
	if m.FromClient {
		dir = &d.dir[1]
	}
	if m.Incomplete {
		// Not the whole packet: nothing reliable to report, and a
		// packet waiting for attachments cannot be completed.
		dir.reset()
		return
	}
	p := m.Payload
	if m.Binary {
		typ := eioMessage
		if d.ver == 3 {
			if len(p) == 0 || p[0] > 6 {
				r.Malformed(protoEngineIO, "binary message does not start with an engine.io v3 packet type byte")
				return
			}
			typ, p = int(p[0]), p[1:]
		}
		d.packet(m, dir, typ, p, true, r)
		return
	}
	if len(p) == 0 {
		r.Malformed(protoEngineIO, "empty text message")
		return
	}
	if p[0] == 'b' {
		// v3 without binary support: "b" <type digit> <base64>.
		if len(p) < 2 || p[1] < '0' || p[1] > '6' {
			r.Malformed(protoEngineIO, "base64 packet without a packet type")
			return
		}
		raw, err := base64.StdEncoding.DecodeString(string(p[2:]))
		if err != nil {
			r.Malformed(protoEngineIO, "base64 packet does not decode")
			return
		}
		d.packet(m, dir, int(p[1]-'0'), raw, true, r)
		return
	}
	if p[0] < '0' || p[0] > '6' {
		r.Malformed(protoEngineIO, "unknown packet type %q", p[0])
		return
	}
	d.packet(m, dir, int(p[0]-'0'), p[1:], false, r)
}

// packet reports one engine.io packet of type typ with data p.
func (d *eioDecoder) packet(m *Msg, dir *eioDir, typ int, p []byte, binary bool, r *Result) {
	if typ == eioMessage {
		d.message(m, dir, p, binary, r)
		return
	}
	u := Unit{Proto: "engine.io", Type: eioTypes[typ]}
	switch {
	case typ == eioOpen && !binary:
		if jsonKind(p) != '{' {
			r.Malformed(protoEngineIO, "open packet without a handshake object")
			return
		}
		v, ok := compactJSON(p)
		if !ok {
			r.Malformed(protoEngineIO, "open packet: handshake is not JSON")
			return
		}
		if d.ver == 0 && jsonMember(v, "maxPayload") != nil {
			d.ver = 4
		}
		u.Fields = []Field{{Key: "data", Value: v}}
		u.Info = shorten(v, infoLen)
	case len(p) > 0:
		f := blob("data", p)
		u.Fields = []Field{f}
		if f.Key == "data" {
			u.Info = shorten(f.Value, infoLen)
		} else {
			u.Info = "(" + strconv.Itoa(len(p)) + " bytes)"
		}
	}
	if d.ver == 0 && len(p) == 0 && typ == eioPing {
		// v3: the client pings; v4: the server does.
		if m.FromClient {
			d.ver = 3
		} else {
			d.ver = 4
		}
	}
	r.Add(u)
}

// message reports an engine.io message packet: a socket.io packet or
// attachment, or the data itself.
func (d *eioDecoder) message(m *Msg, dir *eioDir, p []byte, binary bool, r *Result) {
	if d.sio == sioUnknown && !binary {
		if pk, ok := parseSIO(p); ok && sioPlausible(&pk) {
			d.sio = sioYes
		} else {
			d.sio = sioNo
		}
	}
	if d.sio != sioYes || binary && dir.unit == nil && !d.sioText {
		f := blob("data", p)
		u := Unit{Proto: "engine.io", Type: "message", Fields: []Field{f}}
		if f.Key == "data" {
			u.Info = shorten(f.Value, infoLen)
		} else {
			u.Info = "(" + strconv.Itoa(len(p)) + " bytes)"
		}
		r.Add(u)
		return
	}
	if binary {
		d.attachment(dir, p, r)
		return
	}
	if dir.unit != nil {
		r.Malformed(protoSocketIO, "%s ended after %d of its %d attachments", dir.unit.Type, dir.n, dir.want)
		dir.reset()
	}
	pk, ok := parseSIO(p)
	if !ok {
		r.Malformed(protoSocketIO, "message packet is not a socket.io packet: %s", shorten(jstr(string(p)), 40))
		return
	}
	d.sioText = true
	if d.ver == 0 && pk.typ == sioConnect && pk.nsp == "/" {
		// Protocol 5 (engine.io v4) clients connect to "/" and the
		// server's answer carries the sid; protocol 4 servers send a
		// bare CONNECT to "/".
		if m.FromClient || jsonMember(pk.data, "sid") != nil {
			d.ver = 4
		}
	}
	u := sioUnit(&pk)
	if (pk.typ == sioBinaryEvent || pk.typ == sioBinaryAck) && pk.attachments > 0 {
		*dir = eioDir{unit: &u, want: pk.attachments}
		r.Partial = true
		return
	}
	r.Add(u)
}

// attachment takes one binary attachment of the packet waiting in dir.
func (d *eioDecoder) attachment(dir *eioDir, p []byte, r *Result) {
	if dir.unit == nil {
		r.Malformed(protoSocketIO, "binary message of %d bytes without a BINARY_EVENT or BINARY_ACK waiting for attachments", len(p))
		return
	}
	dir.n++
	if !dir.over {
		// Each kept attachment costs its slice too (as size counts it):
		// empty attachments are not free.
		if dir.bytes+24*(len(dir.atts)+1)+len(p) > sioMaxPending {
			dir.over, dir.atts, dir.bytes = true, nil, 0
		} else {
			dir.atts = append(dir.atts, bytes.Clone(p))
			dir.bytes += len(p)
		}
	}
	if dir.n < dir.want {
		r.Partial = true
		return
	}
	u := *dir.unit
	count := "1 attachment, "
	if dir.want != 1 {
		count = strconv.Itoa(dir.want) + " attachments, "
	}
	if dir.over {
		u.Info += " (" + count + "over " + strconv.Itoa(sioMaxPending>>20) + " MiB, not kept)"
	} else {
		vs := make([][]byte, len(dir.atts))
		total := 0
		for i, a := range dir.atts {
			vs[i] = jb64(a)
			total += len(a)
		}
		u.Fields = append(u.Fields[:len(u.Fields):len(u.Fields)], Field{Key: "attachments_base64", Value: jarr(vs...)})
		u.Info += " (" + count + strconv.Itoa(total) + " bytes)"
	}
	dir.reset()
	r.Add(u)
}

// sioPacket is a parsed socket.io packet.
type sioPacket struct {
	typ         int
	attachments int // BINARY_*: announced attachments
	nsp         string
	id          int64
	hasID       bool
	data        []byte // raw JSON data; nil when none
}

// parseSIO parses the socket.io packet p (the data of an engine.io
// message packet), checking the data against the packet type as the
// reference parser does.
func parseSIO(p []byte) (pk sioPacket, ok bool) {
	if len(p) == 0 || p[0] < '0' || p[0] > '6' {
		return pk, false
	}
	pk.typ = int(p[0] - '0')
	i := 1
	if pk.typ == sioBinaryEvent || pk.typ == sioBinaryAck {
		j := i
		for j < len(p) && p[j] >= '0' && p[j] <= '9' {
			j++
		}
		if j == i || j-i > 9 || j >= len(p) || p[j] != '-' {
			return pk, false
		}
		n, _ := strconv.Atoi(string(p[i:j]))
		if n > sioMaxAttachments {
			return pk, false
		}
		pk.attachments = n
		i = j + 1
	}
	pk.nsp = "/"
	if i < len(p) && p[i] == '/' {
		j := bytes.IndexByte(p[i:], ',')
		end := len(p)
		if j >= 0 {
			end = i + j
		}
		nsp := p[i:end]
		if q := bytes.IndexByte(nsp, '?'); q >= 0 {
			nsp = nsp[:q] // protocol 4: the namespace's query
		}
		pk.nsp = string(nsp)
		i = end
		if i < len(p) {
			i++ // ','
		}
	}
	j := i
	for j < len(p) && p[j] >= '0' && p[j] <= '9' {
		j++
	}
	if j > i {
		if j-i > 15 {
			return pk, false
		}
		pk.id, _ = strconv.ParseInt(string(p[i:j]), 10, 64)
		pk.hasID = true
		i = j
	}
	if i < len(p) {
		pk.data = p[i:]
		if ok, _ := jsonValid(pk.data); !ok {
			return pk, false
		}
	}
	k := jsonKind(pk.data)
	switch pk.typ {
	case sioConnect:
		return pk, k == 0 || k == '{'
	case sioDisconnect:
		return pk, k == 0
	case sioConnectError:
		return pk, k != 0
	case sioEvent, sioBinaryEvent:
		return pk, k == '[' && eventNameKind(pk.data)
	default: // ACK, BINARY_ACK
		return pk, k == '['
	}
}

// sioPlausible: on a connection not known to carry socket.io, the first
// message packet pk parsed as socket.io is taken as such only when it is a
// packet a socket.io peer starts with or commonly sends.
func sioPlausible(pk *sioPacket) bool {
	switch pk.typ {
	case sioConnect, sioDisconnect, sioConnectError, sioEvent, sioAck:
		return true
	}
	return pk.attachments > 0
}

// eventNameKind reports whether the first element of the array a is an
// event name (a string or a number).
func eventNameKind(a []byte) bool {
	first := -1
	jsonArray(a, func(_ int, v []byte) bool {
		first = int(jsonKind(v))
		return false
	})
	return first == '"' || first == '0'
}

// eventName returns the event name of an EVENT's data ("" when none).
func eventName(a []byte) string {
	var name string
	jsonArray(a, func(_ int, v []byte) bool {
		switch jsonKind(v) {
		case '"':
			name, _ = jsonString(v)
		case '0':
			name = string(trimWS(v))
		}
		return false
	})
	return name
}

// sioUnit builds the unit of the socket.io packet pk (without
// attachments).
func sioUnit(pk *sioPacket) Unit {
	u := Unit{Proto: "socket.io", Type: sioTypes[pk.typ]}
	if pk.hasID {
		u.ID = jint(pk.id)
	}
	u.Fields = append(u.Fields, Field{Key: "namespace", Value: jstr(pk.nsp)})
	var info strings.Builder
	if pk.nsp != "/" {
		info.WriteString(infoWord(pk.nsp))
	}
	sep := func() {
		if info.Len() > 0 {
			info.WriteByte(' ')
		}
	}
	switch pk.typ {
	case sioEvent, sioBinaryEvent, sioAck, sioBinaryAck:
		a := jraw(pk.data)
		if pk.typ == sioEvent || pk.typ == sioBinaryEvent {
			u.Name, u.HasName = eventName(a), true
			sep()
			info.Write(jstr(u.Name))
			a = restOfArray(a)
		}
		u.Fields = append(u.Fields, Field{Key: "args", Value: a})
		sep()
		info.WriteString(shorten(a, infoLen))
	default:
		if pk.data != nil {
			v := jraw(pk.data)
			u.Fields = append(u.Fields, Field{Key: "data", Value: v})
			sep()
			info.WriteString(shorten(v, infoLen))
		}
	}
	if pk.hasID {
		sep()
		info.WriteString("ack=" + strconv.FormatInt(pk.id, 10))
	}
	if pk.typ == sioBinaryEvent || pk.typ == sioBinaryAck {
		u.Fields = append(u.Fields, Field{Key: "attachments", Value: jint(int64(pk.attachments))})
		if pk.attachments == 0 {
			info.WriteString(" (0 attachments)")
		}
	}
	u.Info = info.String()
	return u
}

// restOfArray returns the compact array a without its first element.
func restOfArray(a []byte) []byte {
	end := jsonSkip(a, 1)
	if end < 0 || end >= len(a) || a[end] != ',' {
		return []byte("[]")
	}
	out := make([]byte, 0, len(a)-end)
	out = append(out, '[')
	return append(out, a[end+1:]...)
}
