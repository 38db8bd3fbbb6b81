package app

import (
	"bytes"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
)

// JSON-RPC 2.0 (https://www.jsonrpc.org/specification) over WebSocket: one
// request, notification, response or batch per text message.
//
// Detection: the subprotocols jsonrpc, json-rpc, jsonrpc2, jsonrpc2.0,
// jsonrpc-2.0, json-rpc-2.0; a request path with a segment jsonrpc,
// json-rpc or jsonrpc2; else the content of one of the first messages: a
// JSON object whose "jsonrpc" member is exactly "2.0" and that has a
// "method", "result" or "error" member, or a batch (array) whose first
// element is such an object. The "jsonrpc" member is checked by the JSON
// scanner, never as a substring.
//
// Shapes: "jsonrpc":"2.0" objects as the spec says (a request without
// "id" is a notification); where the subprotocol, the path or --app says
// JSON-RPC, also JSON-RPC 1.0 shapes without "jsonrpc" (a request whose id
// is null is a notification; a response carries both result and error,
// one null). rpc-websockets sends its events as {"notification": EVENT,
// "params": ...} without "jsonrpc": these are notifications named by the
// event on any JSON-RPC connection. A response with an id and neither
// result nor error (rpc-websockets when a method returns nothing) is a
// response without result.
//
// The name of a response or error is the method of the request with the
// same id sent the other way (up to 1,024 requests awaiting an answer per
// connection, oldest forgotten first). A batch is a "batch" unit with the
// count of its members, then one unit per member; members that are not
// JSON-RPC objects are counted in its Info. A message that is not JSON, or
// JSON that is not a JSON-RPC message, is app_malformed.
var protoJSONRPC = &protocol{
	name:         "json-rpc",
	aliases:      []string{"jsonrpc"},
	subprotocols: jrpcSubprotocols,
	path:         jrpcPath,
	sniff:        jrpcSniff,
	new: func(h *Handshake, c *Config) decoder {
		d := &jrpcDecoder{}
		// JSON-RPC 1.0 shapes only where something other than the
		// content said JSON-RPC.
		d.v1 = c.Force == "json-rpc" || c.Ports[h.Server.Port()] == "json-rpc" ||
			slices.Contains(jrpcSubprotocols, strings.ToLower(strings.TrimSpace(h.Protocol))) || jrpcPath(h)
		return d
	},
	ref:     "https://www.jsonrpc.org/specification",
	summary: "JSON-RPC 2.0 (and 1.0 where the subprotocol or path says so): request, notification, response, error, batch; the method, also on responses",
}

var jrpcSubprotocols = []string{"jsonrpc", "json-rpc", "jsonrpc2", "jsonrpc2.0", "jsonrpc-2.0", "json-rpc-2.0"}

// jrpcPath reports whether a segment of the request path names JSON-RPC.
func jrpcPath(h *Handshake) bool {
	for seg := range strings.SplitSeq(h.Path, "/") {
		switch strings.ToLower(seg) {
		case "jsonrpc", "json-rpc", "jsonrpc2":
			return true
		}
	}
	return false
}

// jrpcSniff: a JSON-RPC 2.0 object, or a batch whose first element is one.
func jrpcSniff(m *Msg) bool {
	if m.Binary {
		return false
	}
	b := trimWS(m.Payload)
	if len(b) < 20 || b[0] != '{' && b[0] != '[' || !bytes.Contains(b, []byte("jsonrpc")) {
		return false
	}
	if b[0] == '[' {
		first := []byte(nil)
		if !jsonArray(b, func(i int, v []byte) bool {
			first = v
			return false
		}) || first == nil {
			return false
		}
		b = first
	}
	v2, kind := false, false
	ok := jsonObject(b, func(k, v []byte) bool {
		switch {
		case keyIs(k, "jsonrpc"):
			s, isStr := jsonString(v)
			v2 = isStr && s == "2.0"
		case keyIs(k, "method"), keyIs(k, "result"), keyIs(k, "error"):
			kind = true
		}
		return true
	})
	return ok && v2 && kind
}

// jrpcMsg is the members of one JSON-RPC object.
type jrpcMsg struct {
	version                    []byte // "jsonrpc" value, nil when absent
	method, params, id         []byte
	result, err, notification  []byte
	hasID, hasResult, hasError bool
}

func jrpcParse(b []byte) (jrpcMsg, bool) {
	var o jrpcMsg
	ok := jsonObject(b, func(k, v []byte) bool {
		switch {
		case keyIs(k, "jsonrpc"):
			o.version = v
		case keyIs(k, "method"):
			o.method = v
		case keyIs(k, "params"):
			o.params = v
		case keyIs(k, "id"):
			o.id, o.hasID = v, true
		case keyIs(k, "result"):
			o.result, o.hasResult = v, true
		case keyIs(k, "error"):
			o.err, o.hasError = v, true
		case keyIs(k, "notification"):
			o.notification = v
		}
		return true
	})
	return o, ok
}

// jrpcMaxBatch bounds the member units of one batch (the rest are counted).
const jrpcMaxBatch = maxUnits - 1

type jrpcDecoder struct {
	v1      bool // JSON-RPC 1.0 shapes are accepted
	pending idNameTable
}

func (d *jrpcDecoder) size() int { return 64 + d.pending.size() }

func (d *jrpcDecoder) decode(m *Msg, r *Result) {
	if m.Incomplete {
		return
	}
	b := trimWS(m.Payload)
	switch jsonKind(b) {
	case '{':
		u, why := d.unit(b, m.FromClient)
		if why != "" {
			r.Malformed(protoJSONRPC, "%s", why)
			return
		}
		r.Add(u)
	case '[':
		d.batch(b, m.FromClient, r)
	default:
		r.Malformed(protoJSONRPC, "%s message of %d bytes is not a JSON object or array", kindOfMsg(m), len(m.Payload))
	}
}

func kindOfMsg(m *Msg) string {
	if m.Binary {
		return "binary"
	}
	return "text"
}

func (d *jrpcDecoder) batch(b []byte, fromClient bool, r *Result) {
	var members []Unit
	count, invalid := 0, 0
	var first string
	ok := jsonArray(b, func(i int, v []byte) bool {
		count++
		if jsonKind(v) != '{' {
			invalid++
			return true
		}
		u, why := d.unit(v, fromClient)
		if why != "" {
			invalid++
			if first == "" {
				first = why
			}
			return true
		}
		if len(members) < jrpcMaxBatch {
			members = append(members, u)
		} else {
			r.More++
		}
		return true
	})
	if !ok {
		r.Malformed(protoJSONRPC, "batch of %d bytes is not a JSON array", len(b))
		return
	}
	if count > 0 && invalid == count {
		// An array none of whose elements is JSON-RPC is other JSON,
		// not a batch (JSON-RPC 2.0 §6 answers it with one error, but
		// it is shown raw here).
		r.Malformed(protoJSONRPC, "array of %d elements, none a JSON-RPC request or response", count)
		return
	}
	info := "count=" + strconv.Itoa(count)
	switch {
	case count == 0:
		info += " (empty: Invalid Request)"
	case invalid > 0:
		info += " (" + strconv.Itoa(invalid) + " not JSON-RPC)"
	}
	var kinds []string
	for i := range members {
		if len(kinds) == 4 {
			kinds = append(kinds, "…")
			break
		}
		s := members[i].Type
		if members[i].HasName {
			s += " " + infoName(members[i].Name)
		}
		kinds = append(kinds, s)
	}
	if len(kinds) > 0 {
		info += ": " + strings.Join(kinds, ", ")
	}
	r.Add(Unit{Proto: protoJSONRPC.name, Type: "batch", Fields: []Field{{Key: "count", Value: jint(int64(count))}}, Info: shortenText(info, 120)})
	for _, u := range members {
		r.Add(u)
	}
}

// unit decodes one JSON-RPC object; why says what is wrong when it is not one.
func (d *jrpcDecoder) unit(b []byte, fromClient bool) (Unit, string) {
	o, ok := jrpcParse(b)
	if !ok {
		return Unit{}, "object is not well-formed JSON"
	}
	v2 := false
	if o.version != nil {
		s, isStr := jsonString(o.version)
		v2 = isStr && s == "2.0"
		if !v2 && !d.v1 {
			return Unit{}, `"jsonrpc" member is ` + shorten(o.version, 20) + `, not "2.0"`
		}
	}
	u := Unit{Proto: protoJSONRPC.name}
	if o.hasID && jsonKind(o.id) != 'n' {
		switch jsonKind(o.id) {
		case '"', '0':
			u.ID = jraw(o.id)
		default:
			return Unit{}, "id is " + kindName(jsonKind(o.id)) + ", not a string or number"
		}
	}
	switch {
	case o.method != nil:
		method, isStr := jsonString(o.method)
		if !isStr {
			return Unit{}, "method is not a string"
		}
		if o.version == nil && !d.v1 {
			return Unit{}, `request without "jsonrpc":"2.0"`
		}
		u.Name, u.HasName = method, true
		// 2.0: a notification has no id; 1.0: its id is null.
		if o.hasID && (v2 || jsonKind(o.id) != 'n') {
			u.Type = "request"
			d.pending.put(jrpcKey(fromClient, o.id), method, true)
		} else {
			u.Type = "notification"
		}
		var info []string
		info = append(info, infoName(method))
		if o.hasID && u.Type == "request" {
			info = append(info, infoID(jraw(o.id)))
		}
		if o.params != nil {
			p := jraw(o.params)
			u.Fields = append(u.Fields, Field{Key: "params", Value: p})
			info = append(info, shorten(p, infoLen))
		}
		u.Info = strings.Join(info, " ")
		return u, ""
	case o.hasResult || o.hasError || o.hasID && v2:
		if o.version == nil && !d.v1 {
			return Unit{}, `response without "jsonrpc":"2.0"`
		}
		if !o.hasID {
			return Unit{}, "response without id"
		}
		isErr := o.hasError && jsonKind(o.err) != 'n'
		var info []string
		if jsonKind(o.id) != 'n' {
			if name, has, found := d.pending.take(jrpcKey(!fromClient, o.id)); found {
				u.Name, u.HasName = name, has
				info = append(info, infoName(name))
			}
		}
		info = append(info, infoID(jraw(o.id)))
		if isErr {
			u.Type = "error"
			e := jraw(o.err)
			u.Fields = append(u.Fields, Field{Key: "error", Value: e})
			info = append(info, jrpcErrorInfo(o.err, e))
		} else {
			u.Type = "response"
			if o.hasResult {
				res := jraw(o.result)
				u.Fields = append(u.Fields, Field{Key: "result", Value: res})
				info = append(info, shorten(res, infoLen))
			} else {
				info = append(info, "(no result)")
			}
		}
		u.Info = strings.Join(info, " ")
		return u, ""
	case o.notification != nil:
		// rpc-websockets' events.
		event, isStr := jsonString(o.notification)
		if !isStr {
			return Unit{}, "notification is not a string"
		}
		u.Type, u.Name, u.HasName = "notification", event, true
		u.Info = infoName(event)
		if o.params != nil {
			p := jraw(o.params)
			u.Fields = append(u.Fields, Field{Key: "params", Value: p})
			u.Info += " " + shorten(p, infoLen)
		}
		return u, ""
	}
	return Unit{}, "object has no method, result or error member"
}

// jrpcErrorInfo shows an error object as `-32601 Method not found`
// (and its data, shortened).
func jrpcErrorInfo(raw, compact []byte) string {
	if jsonKind(raw) != '{' {
		return shorten(compact, infoLen)
	}
	code, msg, data := jsonMember(raw, "code"), jsonMember(raw, "message"), jsonMember(raw, "data")
	var parts []string
	if code != nil {
		parts = append(parts, shorten(jraw(code), 24))
	}
	if s, ok := jsonString(msg); ok {
		parts = append(parts, shortenText(oneLine(s), infoLen))
	} else if msg != nil {
		parts = append(parts, shorten(jraw(msg), infoLen))
	}
	if data != nil && jsonKind(data) != 'n' {
		parts = append(parts, "data="+shorten(jraw(data), 40))
	}
	if len(parts) == 0 {
		return shorten(compact, infoLen)
	}
	return strings.Join(parts, " ")
}

// jrpcKey is the pending-request key of id for a request sent by the client
// (fromClient) or by the server: strings and numbers never collide.
func jrpcKey(fromClient bool, id []byte) string {
	dir := "s"
	if fromClient {
		dir = "c"
	}
	if s, ok := jsonString(id); ok {
		return dir + "\"" + s
	}
	return dir + "#" + string(trimWS(id))
}

// oneLine replaces line breaks and other control characters by spaces.
func oneLine(s string) string {
	if !strings.ContainsFunc(s, isCtl) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isCtl(r) {
			return ' '
		}
		return r
	}, s)
}

func isCtl(r rune) bool { return r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029' || r == 0x85 }

// infoName is a name (method, operation, event) for an Info line: a JSON
// string, shortened.
func infoName(s string) string { return shorten(jstr(s), 48) }

// infoID is an id for an Info line: id=JSON, shortened (UUIDs to their
// first characters).
func infoID(id []byte) string { return "id=" + shorten(id, 16) }

// shortenText cuts the text s to at most n runes, with "…" where it was cut.
func shortenText(s string, n int) string { return shorten([]byte(s), n) }

// ---- bounded id -> name table (also used by the GraphQL decoders) ----

const (
	idTableMax      = 1024    // open ids kept per connection
	idTableMaxBytes = 1 << 18 // bytes of keys and names kept
	idKeyMax        = 256     // longer keys are kept as a hash
	idDoneMax       = 32      // recently answered ids kept for late messages
)

type idEntry struct {
	name string
	has  bool
	seq  uint64
}

type idDone struct {
	key, name string
	has       bool
}

// idNameTable maps the ids of open requests (operations) to their names:
// at most idTableMax of them and idTableMaxBytes of text, the oldest
// forgotten first; the last idDoneMax ids taken out stay known for
// messages that arrive after the answer.
type idNameTable struct {
	m     map[string]idEntry
	order []idKey // insertion order; stale entries skipped
	seq   uint64
	bytes int
	done  [idDoneMax]idDone
	doneN int // entries written to done (ring position = doneN % idDoneMax)
}

type idKey struct {
	key string
	seq uint64
}

func idTableKey(k string) string {
	if len(k) <= idKeyMax {
		return k
	}
	h := fnv.New64a()
	h.Write([]byte(k))
	return "\x00" + strconv.Itoa(len(k)) + ":" + strconv.FormatUint(h.Sum64(), 16)
}

// put records name for key; it reports whether key was already open.
func (t *idNameTable) put(key, name string, has bool) bool {
	key = idTableKey(key)
	if len(name) > idTableMaxBytes/4 {
		name, has = "", false
	}
	if t.m == nil {
		t.m = map[string]idEntry{}
	}
	old, dup := t.m[key]
	if dup {
		t.bytes -= len(key) + len(old.name)
	}
	t.seq++
	t.m[key] = idEntry{name: name, has: has, seq: t.seq}
	t.bytes += len(key) + len(name)
	t.order = append(t.order, idKey{key, t.seq})
	for len(t.m) > idTableMax || t.bytes > idTableMaxBytes {
		t.evictOldest()
	}
	if len(t.order) > 2*len(t.m)+64 {
		t.compact()
	}
	return dup
}

func (t *idNameTable) evictOldest() {
	for len(t.order) > 0 {
		k := t.order[0]
		t.order = t.order[1:]
		if e, ok := t.m[k.key]; ok && e.seq == k.seq {
			delete(t.m, k.key)
			t.bytes -= len(k.key) + len(e.name)
			return
		}
	}
}

func (t *idNameTable) compact() {
	out := make([]idKey, 0, len(t.m)+16)
	for _, k := range t.order {
		if e, ok := t.m[k.key]; ok && e.seq == k.seq {
			out = append(out, k)
		}
	}
	t.order = out
}

// open reports whether key is an open id.
func (t *idNameTable) open(key string) bool {
	_, ok := t.m[idTableKey(key)]
	return ok
}

// get returns the name of key, open or recently taken out.
func (t *idNameTable) get(key string) (name string, has, found bool) {
	key = idTableKey(key)
	if e, ok := t.m[key]; ok {
		return e.name, e.has, true
	}
	n := min(t.doneN, idDoneMax)
	for i := 1; i <= n; i++ {
		d := &t.done[(t.doneN-i)%idDoneMax]
		if d.key == key {
			return d.name, d.has, true
		}
	}
	return "", false, false
}

// take returns the name of key like get and closes key.
func (t *idNameTable) take(key string) (name string, has, found bool) {
	k := idTableKey(key)
	e, ok := t.m[k]
	if !ok {
		return t.get(key)
	}
	delete(t.m, k)
	t.bytes -= len(k) + len(e.name)
	if len(e.name) <= idKeyMax {
		t.done[t.doneN%idDoneMax] = idDone{key: k, name: e.name, has: e.has}
		t.doneN++
	}
	if len(t.m) == 0 {
		t.order = t.order[:0]
	}
	return e.name, e.has, true
}

func (t *idNameTable) size() int {
	n := t.bytes + len(t.m)*64 + cap(t.order)*24
	for i := range min(t.doneN, idDoneMax) {
		n += len(t.done[i].key) + len(t.done[i].name)
	}
	return n
}
