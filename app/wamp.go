package app

import (
	"bytes"
	"strconv"
)

// WAMP v2 with the JSON serializer (The Web Application Messaging
// Protocol, https://wamp-proto.org/spec.html, §"Messages"): each message
// is a JSON array [MessageCode, ...]. With wamp.2.json.batched a WebSocket
// message holds several, each followed by 0x1E (which JSON text cannot
// contain, so the separator is honoured on any WAMP connection).
//
// Requests carry a request id that its answer repeats; subscriptions and
// registrations get an id from the router that EVENT, INVOCATION,
// UNSUBSCRIBE and UNREGISTER then use. The decoder remembers (bounded, the
// last wampMaxIDs of each) the URI behind each request id of each side and
// behind each subscription and registration id: RESULT, EVENT and
// INVOCATION are named by the procedure or topic they answer; the other
// answers and references (SUBSCRIBED, PUBLISHED, UNSUBSCRIBE[D],
// REGISTERED, UNREGISTER[ED], YIELD, CANCEL, INTERRUPT) have no name, as
// the contract says, but carry that URI as the field topic or procedure.
// Arguments and ArgumentsKw may be null (some routers send that).
//
// Detection: the subprotocols wamp.2.json and wamp.2.json.batched (the
// MessagePack and CBOR serializers are not decoded here); otherwise a
// client message that is a HELLO [1, "realm", {"roles": {...}, ...}].

var protoWAMP = &protocol{
	name:         "wamp",
	subprotocols: []string{"wamp.2.json", "wamp.2.json.batched"},
	sniff:        sniffWAMP,
	new:          newWAMP,
	ref:          "WAMP v2 (https://wamp-proto.org/spec.html)",
	summary:      "WAMP v2 JSON (also batched): message type, realm/topic/procedure/error URI (answers named by their request, subscription or registration), request id, args, kwargs",
}

// wampMaxIDs bounds each map of ids to URIs.
const wampMaxIDs = 1024

func sniffWAMP(m *Msg) bool {
	if !m.FromClient || m.Binary {
		return false
	}
	p := trimWS(bytes.TrimSuffix(m.Payload, []byte{0x1e}))
	if len(p) < 16 || p[0] != '[' || p[len(p)-1] != ']' {
		return false
	}
	if q := trimWS(p[1:]); len(q) < 2 || q[0] != '1' || q[1] != ',' && q[1] != ' ' && q[1] != '\t' && q[1] != '\n' && q[1] != '\r' {
		return false
	}
	els, ok := jsonElems(p, 4)
	if !ok || len(els) != 3 || jsonKind(els[1]) != '"' || jsonKind(els[2]) != '{' {
		return false
	}
	roles := jsonMember(els[2], "roles")
	return jsonKind(roles) == '{'
}

// wampNames are the message types of WAMP v2 by code.
var wampNames = map[int64]string{
	1: "HELLO", 2: "WELCOME", 3: "ABORT", 4: "CHALLENGE", 5: "AUTHENTICATE",
	6: "GOODBYE", 8: "ERROR", 16: "PUBLISH", 17: "PUBLISHED", 32: "SUBSCRIBE",
	33: "SUBSCRIBED", 34: "UNSUBSCRIBE", 35: "UNSUBSCRIBED", 36: "EVENT",
	48: "CALL", 49: "CANCEL", 50: "RESULT", 64: "REGISTER", 65: "REGISTERED",
	66: "UNREGISTER", 67: "UNREGISTERED", 68: "INVOCATION", 69: "INTERRUPT",
	70: "YIELD",
}

// wampMin is the fewest elements (the code included) of each type.
var wampMin = map[int64]int{
	1: 3, 2: 3, 3: 3, 4: 3, 5: 3, 6: 3, 8: 5, 16: 4, 17: 3, 32: 4, 33: 3,
	34: 3, 35: 2, 36: 4, 48: 4, 49: 3, 50: 3, 64: 4, 65: 3, 66: 3, 67: 2,
	68: 4, 69: 3, 70: 3,
}

type wampDecoder struct {
	reqs [2]capMap[int64, string] // URI of each request id [0] the client, [1] the server sent
	subs capMap[int64, string]    // topic of each subscription id
	regs capMap[int64, string]    // procedure of each registration id
}

func newWAMP(*Handshake, *Config) decoder {
	d := &wampDecoder{}
	d.reqs[0].max, d.reqs[1].max, d.subs.max, d.regs.max = wampMaxIDs, wampMaxIDs, wampMaxIDs, wampMaxIDs
	return d
}

func (d *wampDecoder) size() int {
	return 64 + d.reqs[0].size() + d.reqs[1].size() + d.subs.size() + d.regs.size()
}

func (d *wampDecoder) decode(m *Msg, r *Result) {
	if m.Incomplete {
		return
	}
	p := m.Payload
	if bytes.IndexByte(p, 0x1e) < 0 {
		if err := d.message(p, m.FromClient, r); err != "" {
			r.Malformed(protoWAMP, "%s", err)
		}
		return
	}
	bad := false
	for n := 0; len(p) > 0; n++ {
		var one []byte
		one, p, _ = bytes.Cut(p, []byte{0x1e})
		if err := d.message(one, m.FromClient, r); err != "" && !bad {
			r.Malformed(protoWAMP, "batched message %d: %s", n+1, err)
			bad = true
		}
	}
}

// message decodes one WAMP message, or says what is wrong with it.
func (d *wampDecoder) message(p []byte, fromClient bool, r *Result) string {
	els, ok := jsonElems(p, 8)
	if !ok || len(els) == 0 {
		return "message of " + strconv.Itoa(len(p)) + " bytes is not a JSON array"
	}
	code, ok := jsonInt(els[0])
	typ := wampNames[code]
	if !ok || typ == "" {
		return "unknown message code " + shorten(els[0], 20)
	}
	if len(els) < wampMin[code] {
		return typ + " has " + strconv.Itoa(len(els)) + " elements, fewer than " + strconv.Itoa(wampMin[code])
	}
	own, other := &d.reqs[0], &d.reqs[1]
	if !fromClient {
		own, other = other, own
	}
	u := Unit{Proto: "wamp", Type: typ}
	// el returns element i when present.
	el := func(i int) []byte {
		if i < len(els) {
			return els[i]
		}
		return nil
	}
	// id parses element i as an id (an integer, §"Identifiers").
	var err string
	id := func(i int) int64 {
		n, ok := jsonInt(el(i))
		if !ok && err == "" {
			err = typ + " element " + strconv.Itoa(i) + " is not an id"
		}
		return n
	}
	uri := func(i int) string {
		s, ok := jsonString(el(i))
		if !ok && err == "" {
			err = typ + " element " + strconv.Itoa(i) + " is not a URI string"
		}
		return s
	}
	name := func(s string, ok bool) {
		u.Name, u.HasName = s, ok
	}
	// tied is the URI behind an answer's or a reference's id when it is not
	// the unit's name (the contract names only RESULT, EVENT and
	// INVOCATION by what they answer): a field key, topic or procedure.
	var tied string
	var tiedOK bool
	tie := func(key string) func(string, bool) {
		return func(s string, ok bool) {
			tied, tiedOK = s, ok
			if ok {
				u.Fields = append(u.Fields, Field{Key: key, Value: jstr(s)})
			}
		}
	}
	dict := func(key string, i int) {
		if v := el(i); v != nil {
			if jsonKind(v) != '{' && err == "" {
				err = typ + " " + key + " is not an object"
			}
			u.Fields = append(u.Fields, Field{Key: key, Value: jraw(v)})
		}
	}
	field := func(key string, n int64) {
		u.Fields = append(u.Fields, Field{Key: key, Value: jint(n)})
	}
	// payload adds Arguments|list and ArgumentsKw|dict from element i.
	// Some routers send null for an absent Arguments or ArgumentsKw.
	payload := func(i int) {
		if v := el(i); v != nil {
			if k := jsonKind(v); k != '[' && k != 'n' && err == "" {
				err = typ + " Arguments is not a list"
			}
			u.Fields = append(u.Fields, Field{Key: "args", Value: jraw(v)})
		}
		if v := el(i + 1); v != nil {
			if k := jsonKind(v); k != '{' && k != 'n' && err == "" {
				err = typ + " ArgumentsKw is not a dict"
			}
			u.Fields = append(u.Fields, Field{Key: "kwargs", Value: jraw(v)})
		}
	}
	var req int64
	hasReq := false
	request := func(i int) int64 {
		req, hasReq = id(i), true
		return req
	}
	switch code {
	case 1: // HELLO [1, Realm|uri, Details|dict]
		name(uri(1), true)
		dict("details", 2)
	case 2: // WELCOME [2, Session|id, Details|dict]
		field("session", id(1))
		dict("details", 2)
	case 3, 6: // ABORT, GOODBYE [_, Details|dict, Reason|uri]
		dict("details", 1)
		name(uri(2), true)
	case 4: // CHALLENGE [4, AuthMethod|string, Extra|dict]
		u.Fields = append(u.Fields, Field{Key: "auth_method", Value: jstr(uri(1))})
		dict("extra", 2)
	case 5: // AUTHENTICATE [5, Signature|string, Extra|dict]
		u.Fields = append(u.Fields, Field{Key: "signature", Value: jstr(uri(1))})
		dict("extra", 2)
	case 8: // ERROR [8, REQUEST.Type|int, REQUEST.Request|id, Details|dict, Error|uri, Arguments|list, ArgumentsKw|dict]
		rt := id(1)
		request(2)
		name(uri(4), true)
		if n := wampNames[rt]; n != "" {
			u.Fields = append(u.Fields, Field{Key: "request_type", Value: jstr(n)})
		} else {
			field("request_type", rt)
		}
		dict("details", 3)
		payload(5)
	case 16: // PUBLISH [16, Request|id, Options|dict, Topic|uri, Arguments|list, ArgumentsKw|dict]
		request(1)
		dict("options", 2)
		name(uri(3), true)
		payload(4)
		own.put(req, u.Name)
	case 17: // PUBLISHED [17, PUBLISH.Request|id, Publication|id]
		tie("topic")(other.get(request(1)))
		field("publication", id(2))
	case 32: // SUBSCRIBE [32, Request|id, Options|dict, Topic|uri]
		request(1)
		dict("options", 2)
		name(uri(3), true)
		own.put(req, u.Name)
	case 33: // SUBSCRIBED [33, SUBSCRIBE.Request|id, Subscription|id]
		tie("topic")(other.get(request(1)))
		sub := id(2)
		field("subscription", sub)
		if tiedOK && err == "" {
			d.subs.put(sub, tied)
		}
	case 34: // UNSUBSCRIBE [34, Request|id, SUBSCRIBED.Subscription|id]
		request(1)
		sub := id(2)
		field("subscription", sub)
		tie("topic")(d.subs.get(sub))
		if tiedOK && err == "" {
			own.put(req, tied)
		}
	case 35, 67: // UNSUBSCRIBED, UNREGISTERED [_, Request|id, Details|dict]
		if code == 35 {
			tie("topic")(other.get(request(1)))
		} else {
			tie("procedure")(other.get(request(1)))
		}
		dict("details", 2)
	case 36: // EVENT [36, SUBSCRIBED.Subscription|id, PUBLISHED.Publication|id, Details|dict, Arguments|list, ArgumentsKw|dict]
		sub := id(1)
		name(d.subs.get(sub))
		if !u.HasName {
			// Pattern-based subscriptions carry the topic in Details.
			name(jsonString(jsonMember(el(3), "topic")))
		}
		field("subscription", sub)
		field("publication", id(2))
		dict("details", 3)
		payload(4)
	case 48: // CALL [48, Request|id, Options|dict, Procedure|uri, Arguments|list, ArgumentsKw|dict]
		request(1)
		dict("options", 2)
		name(uri(3), true)
		payload(4)
		own.put(req, u.Name)
	case 49, 69: // CANCEL [49, CALL.Request|id, Options|dict], INTERRUPT [69, INVOCATION.Request|id, Options|dict]
		tie("procedure")(own.get(request(1)))
		dict("options", 2)
	case 50: // RESULT [50, CALL.Request|id, Details|dict, YIELD.Arguments|list, YIELD.ArgumentsKw|dict]
		name(other.get(request(1)))
		dict("details", 2)
		payload(3)
	case 70: // YIELD [70, INVOCATION.Request|id, Options|dict, Arguments|list, ArgumentsKw|dict]
		tie("procedure")(other.get(request(1)))
		dict("options", 2)
		payload(3)
	case 64: // REGISTER [64, Request|id, Options|dict, Procedure|uri]
		request(1)
		dict("options", 2)
		name(uri(3), true)
		own.put(req, u.Name)
	case 65: // REGISTERED [65, REGISTER.Request|id, Registration|id]
		tie("procedure")(other.get(request(1)))
		reg := id(2)
		field("registration", reg)
		if tiedOK && err == "" {
			d.regs.put(reg, tied)
		}
	case 66: // UNREGISTER [66, Request|id, REGISTERED.Registration|id]
		request(1)
		reg := id(2)
		field("registration", reg)
		tie("procedure")(d.regs.get(reg))
		if tiedOK && err == "" {
			own.put(req, tied)
		}
	case 68: // INVOCATION [68, Request|id, REGISTERED.Registration|id, Details|dict, CALL.Arguments|list, CALL.ArgumentsKw|dict]
		request(1)
		reg := id(2)
		name(d.regs.get(reg))
		if !u.HasName {
			// Pattern-based registrations carry the procedure in Details.
			name(jsonString(jsonMember(el(3), "procedure")))
		}
		field("registration", reg)
		dict("details", 3)
		payload(4)
		if u.HasName && err == "" {
			own.put(req, u.Name)
		}
	}
	if err != "" {
		return err
	}
	if hasReq {
		u.ID = jint(req)
	}
	u.Info = wampInfo(&u)
	r.Add(u)
	return ""
}

// wampInfo is the Info line: the URI, the request id, then the most
// telling fields.
func wampInfo(u *Unit) string {
	var b []byte
	if u.HasName {
		b = appendJSONString(b, u.Name)
	}
	if u.ID != nil {
		b = appendSep(b)
		b = append(b, "id="...)
		b = append(b, u.ID...)
	}
	for _, f := range u.Fields {
		switch f.Key {
		case "topic", "procedure":
			b = appendSep(b)
			b = append(b, '(')
			b = append(b, shorten(f.Value, 50)...)
			b = append(b, ')')
		case "session", "subscription", "publication", "registration", "request_type", "auth_method":
			b = appendSep(b)
			b = append(b, f.Key...)
			b = append(b, '=')
			b = append(b, shorten(f.Value, 30)...)
		case "args", "kwargs":
			b = appendSep(b)
			b = append(b, shorten(f.Value, infoLen)...)
		}
	}
	return string(b)
}
