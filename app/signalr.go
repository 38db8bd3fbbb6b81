package app

import (
	"bytes"
	"strconv"
	"strings"
)

// ASP.NET Core SignalR hub protocol
// (https://github.com/dotnet/aspnetcore/blob/main/src/SignalR/docs/specs/HubProtocol.md).
//
// The client opens with a handshake request, the JSON text
// {"protocol":"json"|"messagepack","version":1} and the record separator
// 0x1E; the server answers {} or {"error":..}, also 0x1E-terminated. Then,
// with the JSON protocol, text messages carry records each ended by 0x1E;
// with the MessagePack protocol, binary messages carry messages each
// prefixed by its length as a VarInt, each a MessagePack array whose first
// element is the message type (1 Invocation .. 9 Sequence).
//
// Detection: no subprotocol and no unambiguous path (the negotiate's id=
// query is shared by other ASP.NET transports), so the content: the
// handshake request (a JSON object with "protocol" and "version" ended by
// 0x1E), or, when the capture starts later, messages that consist only of
// 0x1E-terminated JSON hub messages or of VarInt-framed MessagePack hub
// messages, parsing exactly.

var protoSignalR = &protocol{
	name:    "signalr",
	sniff:   signalrSniff,
	new:     func(*Handshake, *Config) decoder { return &signalrDecoder{} },
	ref:     signalrRef,
	summary: "ASP.NET Core SignalR (JSON and MessagePack hub protocols): handshake, Invocation target and arguments, StreamItem/Completion tied to their invocation, Ping, Close, Ack, Sequence",
}

const signalrRef = "https://github.com/dotnet/aspnetcore/blob/main/src/SignalR/docs/specs/HubProtocol.md"

var protoSignalRRef = &protocol{name: "signalr", ref: signalrRef}

const (
	signalrRS       = 0x1e
	signalrMaxPend  = 1 << 20 // bytes of a record kept across messages
	signalrMaxIDs   = 1024    // open invocation and stream ids per direction
	signalrMaxFrame = 1 << 31 // the VarInt's limit (2 GB)
)

var signalrTypes = [...]string{1: "Invocation", 2: "StreamItem", 3: "Completion", 4: "StreamInvocation", 5: "CancelInvocation", 6: "Ping", 7: "Close", 8: "Ack", 9: "Sequence"}

// signalrSniff accepts the handshake request, or a message made only of
// well-formed hub messages (JSON records or MessagePack frames).
func signalrSniff(m *Msg) bool {
	p := m.Payload
	if len(p) < 3 {
		return false
	}
	if p[0] == '{' && p[len(p)-1] == signalrRS {
		n := 0
		for rec := range bytes.SplitSeq(p[:len(p)-1], []byte{signalrRS}) {
			if !signalrJSONPlausible(rec, n == 0, m.FromClient) {
				return false
			}
			n++
		}
		return true
	}
	if !m.Binary {
		return false
	}
	for i := 0; i < len(p); {
		n, h, ok := signalrVarInt(p[i:])
		if !ok || n == 0 || n > len(p)-i-h {
			return false
		}
		f := p[i+h : i+h+n]
		if !signalrFramePlausible(f) {
			return false
		}
		i += h + n
	}
	return true
}

// signalrJSONPlausible reports whether rec is a handshake request or
// response (when first) or a JSON hub message with the members its type
// requires.
func signalrJSONPlausible(rec []byte, first, fromClient bool) bool {
	var typ int64 = -1
	var hasProto, hasVersion, hasTarget, hasID, hasSeq, hasError bool
	members := 0
	ok := jsonObject(rec, func(k, v []byte) bool {
		members++
		switch {
		case keyIs(k, "error"):
			hasError = jsonKind(v) == '"'

		case keyIs(k, "type"):
			if n, ok := jsonInt(v); ok {
				typ = n
			}
		case keyIs(k, "protocol"):
			hasProto = jsonKind(v) == '"'
		case keyIs(k, "version"):
			hasVersion = jsonKind(v) == '0'
		case keyIs(k, "target"):
			hasTarget = jsonKind(v) == '"'
		case keyIs(k, "invocationId"):
			hasID = jsonKind(v) == '"'
		case keyIs(k, "sequenceId"):
			hasSeq = jsonKind(v) == '0'
		}
		return true
	})
	if !ok {
		return false
	}
	if first && typ == -1 {
		if fromClient {
			return hasProto && hasVersion
		}
		return members == 0 || members == 1 && hasError
	}
	switch typ {
	case 1, 4:
		return hasTarget
	case 2, 3, 5:
		return hasID
	case 6, 7:
		return true
	case 8, 9:
		return hasSeq
	}
	return false
}

// signalrArity is the least and most elements of each MessagePack hub
// message type.
var signalrArity = [...][2]int{1: {5, 6}, 2: {4, 4}, 3: {4, 5}, 4: {5, 6}, 5: {3, 3}, 6: {1, 1}, 7: {2, 3}, 8: {2, 2}, 9: {2, 2}}

// signalrFramePlausible reports whether f is one MessagePack hub message:
// an array of the length its type has, headers a map.
func signalrFramePlausible(f []byte) bool {
	els, ok := msgpackElems(f)
	if !ok || len(els) == 0 {
		return false
	}
	typ, ok := msgpackInt(els[0])
	if !ok {
		return false
	}
	if typ < 1 || typ >= int64(len(signalrArity)) {
		return false
	}
	if mm := signalrArity[typ]; len(els) < mm[0] || len(els) > mm[1] {
		return false
	}
	if typ <= 5 && (len(els[1]) == 0 || !msgpackIsMap(els[1][0]) && els[1][0] != 0x80) {
		return false
	}
	return true
}

// signalrVarInt reads the length prefix of a MessagePack hub message: 7
// bits a byte, least significant first, at most 5 bytes.
func signalrVarInt(b []byte) (n, h int, ok bool) {
	var v uint64
	for i := 0; i < 5 && i < len(b); i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i]&0x80 == 0 {
			if v >= signalrMaxFrame {
				return 0, 0, false
			}
			return int(v), i + 1, true
		}
	}
	return 0, 0, false
}

// msgpackElems splits the MessagePack array f (exactly one value) into
// its elements' bytes.
func msgpackElems(f []byte) ([][]byte, bool) {
	if len(f) == 0 {
		return nil, false
	}
	var n, i int
	switch c := f[0]; {
	case c >= 0x90 && c <= 0x9f:
		n, i = int(c&0x0f), 1
	case c == 0xdc && len(f) >= 3:
		n, i = int(f[1])<<8|int(f[2]), 3
	case c == 0xdd && len(f) >= 5:
		n, i = int(beUint(f[1:5])), 5
	default:
		return nil, false
	}
	if n > len(f)-i {
		return nil, false
	}
	els := make([][]byte, 0, n)
	for k := 0; k < n; k++ {
		_, j, ok := msgpackSkip(f, i, 1)
		if !ok {
			return nil, false
		}
		els = append(els, f[i:j])
		i = j
	}
	return els, i == len(f)
}

// msgpackInt reads the integer that is all of e.
func msgpackInt(e []byte) (int64, bool) {
	if len(e) == 0 {
		return 0, false
	}
	c := e[0]
	switch {
	case c <= 0x7f && len(e) == 1:
		return int64(c), true
	case c >= 0xe0 && len(e) == 1:
		return int64(int8(c)), true
	case c >= 0xcc && c <= 0xcf && len(e) == 1+1<<(c-0xcc):
		v := beUint(e[1:])
		if v > 1<<63-1 {
			return 0, false
		}
		return int64(v), true
	case c >= 0xd0 && c <= 0xd3 && len(e) == 1+1<<(c-0xd0):
		shift := 64 - 8*(len(e)-1)
		return int64(beUint(e[1:])<<shift) >> shift, true
	}
	return 0, false
}

// msgpackString reads the string that is all of e.
func msgpackString(e []byte) (string, bool) {
	s, j, ok := msgpackStr(e, 0)
	if !ok || j != len(e) {
		return "", false
	}
	return string(s), true
}

// idNames maps invocation ids to targets, the oldest forgotten first.
type idNames struct {
	m     map[string]string
	order []string
	bytes int
}

func (t *idNames) put(id, name string) {
	if t.m == nil {
		t.m = map[string]string{}
	}
	if _, ok := t.m[id]; !ok {
		if len(t.order) >= signalrMaxIDs {
			old := t.order[0]
			t.order = t.order[1:]
			if v, ok := t.m[old]; ok {
				t.bytes -= len(old) + len(v)
				delete(t.m, old)
			}
		}
		t.order = append(t.order, id)
	} else {
		t.bytes -= len(id) + len(t.m[id])
	}
	t.m[id] = name
	t.bytes += len(id) + len(name)
}

func (t *idNames) get(id string) (string, bool) {
	v, ok := t.m[id]
	return v, ok
}

type signalrDecoder struct {
	enc       string  // "json" or "messagepack" from the handshake request
	handshook [2]bool // the direction's handshake record was seen (or hub messages were)
	pend      [2][]byte
	// calls are the targets of the invocations each direction sent.
	calls [2]idNames
}

func (d *signalrDecoder) size() int {
	n := len(d.pend[0]) + len(d.pend[1])
	for i := range 2 {
		n += d.calls[i].bytes + 48*len(d.calls[i].order)
	}
	return n
}

func dirIndex(fromClient bool) int {
	if fromClient {
		return 0
	}
	return 1
}

func (d *signalrDecoder) decode(m *Msg, r *Result) {
	dir := dirIndex(m.FromClient)
	data := m.Payload
	if len(d.pend[dir]) > 0 {
		if !m.Incomplete && d.stillPending(d.pend[dir], m) {
			// The pending record does not end in this message: append
			// (amortized) rather than parse and copy it again, which
			// would be quadratic in a record sent in small messages.
			if len(d.pend[dir])+len(m.Payload) > signalrMaxPend {
				d.pend[dir] = nil
				r.Malformed(protoSignalRRef, "a record of more than %d bytes did not end; dropped", signalrMaxPend)
				return
			}
			d.pend[dir] = append(d.pend[dir], m.Payload...)
			r.Partial = true
			return
		}
		data = append(d.pend[dir], data...)
		d.pend[dir] = nil
	}
	var units []Unit
	rest, err := d.records(data, m, &units)
	switch {
	case m.Incomplete:
		// Decode what is there; what is cut is lost and never malformed.
	case err != "":
		r.Malformed(protoSignalRRef, "%s", err)
		return
	case len(rest) > signalrMaxPend:
		r.Malformed(protoSignalRRef, "a record of more than %d bytes did not end; dropped", signalrMaxPend)
	case len(rest) > 0:
		d.pend[dir] = bytes.Clone(rest)
		r.Partial = true
	}
	for _, u := range units {
		r.Add(u)
	}
}

// stillPending reports whether the record pending in pend (one that did
// not end) still does not end once m is added: a text record ends at the
// separator; a MessagePack one at the length its VarInt gives.
func (d *signalrDecoder) stillPending(pend []byte, m *Msg) bool {
	if !m.Binary {
		return bytes.IndexByte(m.Payload, signalrRS) < 0
	}
	if !d.handshook[dirIndex(m.FromClient)] && pend[0] == '{' {
		return false // maybe a JSON handshake (see records)
	}
	n, h, ok := signalrVarInt(pend)
	return ok && len(pend)+len(m.Payload) < h+n
}

// records decodes the records of data; it returns the bytes of a trailing
// record that has not ended, or what did not parse.
func (d *signalrDecoder) records(data []byte, m *Msg, units *[]Unit) ([]byte, string) {
	dir := dirIndex(m.FromClient)
	if m.Binary && !d.handshook[dir] && len(data) > 0 && data[0] == '{' {
		// The handshake is JSON even before MessagePack; the server's
		// answer travels in a binary message on a binary connection.
		// A MessagePack frame of 123 bytes starts with '{' too: only a
		// JSON object ended by the separator is a handshake.
		if end := bytes.IndexByte(data, signalrRS); end >= 0 && jsonKind(data[:end]) == '{' && jsonSkip(data[:end], 0) == end {
			if e := d.jsonRecord(data[:end], m, units); e != "" {
				return nil, e
			}
			data = data[end+1:]
		}
	}
	if !m.Binary {
		for len(data) > 0 {
			end := bytes.IndexByte(data, signalrRS)
			if end < 0 {
				return data, ""
			}
			if e := d.jsonRecord(data[:end], m, units); e != "" {
				return nil, e
			}
			data = data[end+1:]
		}
		return nil, ""
	}
	for off := 0; len(data) > 0; {
		n, h, ok := signalrVarInt(data)
		if !ok {
			if len(data) < 5 && data[len(data)-1]&0x80 != 0 {
				return data, "" // the VarInt goes on in the next message
			}
			return nil, "bad VarInt length of a MessagePack hub message at offset " + strconv.Itoa(off)
		}
		if n > len(data)-h {
			if n > signalrMaxPend {
				return nil, "MessagePack hub message of " + strconv.Itoa(n) + " bytes is longer than the message and the limit on pending bytes"
			}
			return data, ""
		}
		if e := d.msgpackRecord(data[h:h+n], m, units); e != "" {
			return nil, e + " at offset " + strconv.Itoa(off)
		}
		data = data[h+n:]
		off += h + n
	}
	return nil, ""
}

// jsonRecord decodes one JSON record (without its separator).
func (d *signalrDecoder) jsonRecord(rec []byte, m *Msg, units *[]Unit) string {
	dir := dirIndex(m.FromClient)
	var typ int64 = -1
	var typRaw, proto, version, target, id, args, streamIDs, headers, result, errV, item, allow, seq []byte
	ok := jsonObject(rec, func(k, v []byte) bool {
		switch {
		case keyIs(k, "type"):
			typRaw = v
		case keyIs(k, "protocol"):
			proto = v
		case keyIs(k, "version"):
			version = v
		case keyIs(k, "target"):
			target = v
		case keyIs(k, "invocationId"):
			id = v
		case keyIs(k, "arguments"):
			args = v
		case keyIs(k, "streamIds"):
			streamIDs = v
		case keyIs(k, "headers"):
			headers = v
		case keyIs(k, "result"):
			result = v
		case keyIs(k, "error"):
			errV = v
		case keyIs(k, "item"):
			item = v
		case keyIs(k, "allowReconnect"):
			allow = v
		case keyIs(k, "sequenceId"):
			seq = v
		}
		return true
	})
	if !ok {
		return "JSON record of " + strconv.Itoa(len(rec)) + " bytes is not a JSON object"
	}
	if typRaw == nil {
		d.handshook[dir] = true
		*units = append(*units, d.handshake(m.FromClient, proto, version, errV))
		return ""
	}
	d.handshook[dir] = true
	n, ok := jsonInt(typRaw)
	if !ok {
		return "JSON record's type is not an integer"
	}
	typ = n
	if typ < 1 || typ >= int64(len(signalrTypes)) {
		return "" // §Message types: unknown types are ignored
	}
	h := hubMsg{typ: int(typ), headers: headers, args: args, streamIDs: streamIDs, result: result, item: item, allow: allow, seq: seq, hasResult: result != nil}
	if target != nil {
		s, ok := jsonString(target)
		if !ok {
			return signalrTypes[typ] + ": target is not a string"
		}
		h.target, h.hasTarget = s, true
	}
	if id != nil && jsonKind(id) != 'n' {
		s, ok := jsonString(id)
		if !ok {
			return signalrTypes[typ] + ": invocationId is not a string"
		}
		h.id, h.hasID = s, true
	}
	if errV != nil && jsonKind(errV) != 'n' {
		h.err = errV
	}
	return d.hub(&h, "json", m.FromClient, units)
}

// handshake makes the unit of a handshake request or response.
func (d *signalrDecoder) handshake(fromClient bool, proto, version, errV []byte) Unit {
	u := Unit{Proto: "signalr", Type: "handshake"}
	var info []string
	if fromClient && proto != nil {
		if s, ok := jsonString(proto); ok {
			d.enc = strings.ToLower(s)
		}
		u.Fields = append(u.Fields, Field{Key: "protocol", Value: jraw(proto)})
		info = append(info, shorten(jraw(proto), 40))
		if version != nil {
			u.Fields = append(u.Fields, Field{Key: "version", Value: jraw(version)})
			info = append(info, "v"+shorten(jraw(version), 10))
		}
	} else {
		if errV != nil {
			u.Fields = append(u.Fields, Field{Key: "error", Value: jraw(errV)})
			info = append(info, "error="+shorten(jraw(errV), infoLen))
		} else {
			info = append(info, "ok")
		}
	}
	if d.enc != "" {
		u.Fields = append(u.Fields, Field{Key: "encoding", Value: jstr(d.enc)})
	}
	u.Info = strings.Join(info, " ")
	return u
}

// hubMsg is one hub message, its values as JSON (nil when absent).
type hubMsg struct {
	typ                              int
	target, id                       string
	hasTarget, hasID, hasResult      bool
	headers, args, streamIDs, result []byte
	err, item, allow, seq            []byte
	streamIDList                     []string
	hasStreamIDList                  bool
}

// hub makes the unit of a hub message and keeps the targets of ids.
func (d *signalrDecoder) hub(h *hubMsg, enc string, fromClient bool, units *[]Unit) string {
	dir := dirIndex(fromClient)
	tname := signalrTypes[h.typ]
	u := Unit{Proto: "signalr", Type: tname}
	if h.hasID {
		u.ID = jstr(h.id)
	}
	var info []string
	switch h.typ {
	case 1, 4:
		if !h.hasTarget {
			return tname + " without a target"
		}
		u.Name, u.HasName = h.target, true
		info = append(info, string(jstr(h.target)))
		if h.args != nil {
			if jsonKind(h.args) != '[' {
				return tname + ": arguments is not an array"
			}
			u.Fields = append(u.Fields, Field{Key: "arguments", Value: jraw(h.args)})
			info = append(info, shorten(jraw(h.args), infoLen))
		}
		if h.streamIDs != nil {
			u.Fields = append(u.Fields, Field{Key: "stream_ids", Value: jraw(h.streamIDs)})
			ids := h.streamIDList
			if !h.hasStreamIDList {
				jsonArray(h.streamIDs, func(_ int, v []byte) bool {
					if s, ok := jsonString(v); ok {
						ids = append(ids, s)
					}
					return len(ids) < signalrMaxIDs
				})
			}
			if len(ids) > 0 {
				info = append(info, "streams="+strings.Join(ids, ","))
			}
		}
		if h.hasID {
			d.calls[dir].put(h.id, h.target)
		}
	case 2, 3:
		if !h.hasID {
			return tname + " without an invocationId"
		}
		if t, ok := d.targetOf(dir, h.id); ok {
			u.Name, u.HasName = t, true
			info = append(info, string(jstr(t)))
		}
		if h.typ == 2 {
			v := jnull()
			if h.item != nil {
				v = jraw(h.item)
			}
			u.Fields = append(u.Fields, Field{Key: "item", Value: v})
			info = append(info, shorten(v, infoLen))
		} else {
			switch {
			case h.err != nil:
				u.Fields = append(u.Fields, Field{Key: "error", Value: jraw(h.err)})
				info = append(info, "error="+shorten(jraw(h.err), infoLen))
			case h.hasResult:
				u.Fields = append(u.Fields, Field{Key: "result", Value: jraw(h.result)})
				info = append(info, "result="+shorten(jraw(h.result), infoLen))
			default:
				info = append(info, "(void)")
			}
		}
	case 5:
		if !h.hasID {
			return tname + " without an invocationId"
		}
	case 7:
		if h.err != nil {
			u.Fields = append(u.Fields, Field{Key: "error", Value: jraw(h.err)})
			info = append(info, "error="+shorten(jraw(h.err), infoLen))
		}
		if h.allow != nil {
			u.Fields = append(u.Fields, Field{Key: "allow_reconnect", Value: jraw(h.allow)})
			info = append(info, "allow_reconnect="+string(jraw(h.allow)))
		}
	case 8, 9:
		if h.seq == nil || jsonKind(h.seq) != '0' {
			return tname + " without a sequenceId"
		}
		u.Fields = append(u.Fields, Field{Key: "sequence_id", Value: jraw(h.seq)})
		info = append(info, "seq="+string(jraw(h.seq)))
	}
	if h.headers != nil && len(trimWS(h.headers)) > 2 {
		u.Fields = append(u.Fields, Field{Key: "headers", Value: jraw(h.headers)})
	}
	u.Fields = append(u.Fields, Field{Key: "encoding", Value: jstr(enc)})
	if h.hasID {
		info = append(info, "id="+h.id)
	}
	u.Info = strings.Join(info, " ")
	*units = append(*units, u)
	return ""
}

// targetOf is the target of the invocation answered by a StreamItem or
// Completion with id sent by dir: an invocation the other side sent. (An
// item of a stream the sender itself announced in stream_ids answers no
// invocation: its name stays null, as the libraries report it.)
func (d *signalrDecoder) targetOf(dir int, id string) (string, bool) {
	return d.calls[1-dir].get(id)
}

// msgpackRecord decodes one MessagePack hub message (HubProtocol.md
// §MessagePack Encoding).
func (d *signalrDecoder) msgpackRecord(f []byte, m *Msg, units *[]Unit) string {
	dir := dirIndex(m.FromClient)
	d.handshook[dir] = true
	els, ok := msgpackElems(f)
	if !ok || len(els) == 0 {
		return "MessagePack hub message is not an array"
	}
	typ, ok := msgpackInt(els[0])
	if !ok {
		return "MessagePack hub message type is not an integer"
	}
	if typ < 1 || typ >= int64(len(signalrTypes)) {
		return "" // unknown types are ignored
	}
	name := signalrTypes[typ]
	h := hubMsg{typ: int(typ)}
	need := func(n int) bool { return len(els) >= n }
	val := func(e []byte) []byte {
		v, _, _, ok := msgpackValue(e, 0)
		if !ok {
			return nil
		}
		return v
	}
	id := func(e []byte) bool {
		if len(e) == 1 && e[0] == 0xc0 {
			return true
		}
		s, ok := msgpackString(e)
		h.id, h.hasID = s, ok
		return ok
	}
	switch typ {
	case 1, 4: // [type, headers, invocationId, target, arguments, streamIds?]
		if !need(5) || !id(els[2]) {
			return name + ": too short or bad invocationId"
		}
		h.headers = val(els[1])
		t, ok := msgpackString(els[3])
		if !ok {
			return name + ": target is not a string"
		}
		h.target, h.hasTarget = t, true
		h.args = val(els[4])
		if len(els) > 5 {
			h.streamIDs = val(els[5])
			h.hasStreamIDList = true
			if sub, ok := msgpackElems(els[5]); ok {
				for _, e := range sub {
					if s, ok := msgpackString(e); ok && len(h.streamIDList) < signalrMaxIDs {
						h.streamIDList = append(h.streamIDList, s)
					}
				}
			}
		}
	case 2: // [2, headers, invocationId, item]
		if !need(4) || !id(els[2]) {
			return name + ": too short or bad invocationId"
		}
		h.headers, h.item = val(els[1]), val(els[3])
	case 3: // [3, headers, invocationId, resultKind, result?]
		if !need(4) || !id(els[2]) {
			return name + ": too short or bad invocationId"
		}
		h.headers = val(els[1])
		kind, ok := msgpackInt(els[3])
		if !ok {
			return name + ": result kind is not an integer"
		}
		switch kind {
		case 1:
			if !need(5) {
				return name + ": error result without the error"
			}
			h.err = val(els[4])
		case 2:
		case 3:
			if !need(5) {
				return name + ": non-void result without the result"
			}
			h.result, h.hasResult = val(els[4]), true
		default:
			return name + ": result kind " + strconv.FormatInt(kind, 10)
		}
	case 5: // [5, headers, invocationId]
		if !need(3) || !id(els[2]) {
			return name + ": too short or bad invocationId"
		}
		h.headers = val(els[1])
	case 7: // [7, error, allowReconnect?]
		if need(2) && !(len(els[1]) == 1 && els[1][0] == 0xc0) {
			h.err = val(els[1])
		}
		if need(3) {
			h.allow = val(els[2])
		}
	case 8, 9: // [8|9, sequenceId]
		if need(2) {
			h.seq = val(els[1])
		}
	}
	return d.hub(&h, "messagepack", m.FromClient, units)
}
