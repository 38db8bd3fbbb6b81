package app

import (
	"bytes"
	"strings"
)

// GraphQL over WebSocket, in its two protocols:
//
//   - graphql-transport-ws (the graphql-ws library's PROTOCOL.md;
//     subprotocol graphql-transport-ws): connection_init, connection_ack,
//     ping, pong, subscribe, next, error, complete.
//   - subscriptions-transport-ws (Apollo's legacy PROTOCOL.md; subprotocol
//     graphql-ws, a name that says nothing of the graphql-ws library):
//     connection_init, connection_ack, connection_error, ka, start, data,
//     error, complete, stop, connection_terminate.
//
// Every message is a JSON object with a "type" string and optional "id"
// and "payload". The name of a subscribe/start is its operationName, else
// the name of the operation in its query text (`subscription OnMessage {`
// gives "OnMessage"), else null; next, data, error, complete and stop take
// the name of the subscribe/start with the same id (up to 1,024 open
// operations per connection, oldest forgotten first; complete, stop and
// error close one, and the last 32 closed stay known for late messages).
//
// Detection: the subprotocols above; else the content of one of the
// first messages: {"type":"connection_init"} (only type and payload
// members), {"type":"connection_ack"}, or a subscribe with an id and a
// payload with a query says GraphQL; a start with an id and a query
// payload, or {"type":"ka"}, says the legacy protocol. Both protocols
// begin with connection_init and connection_ack, so a connection found by
// its content is reported as graphql-transport-ws until a message of a type
// only the legacy protocol has (start, data, stop, ka, connection_error,
// connection_terminate) shows it is legacy; from then on its units are
// subscriptions-transport-ws (and a subscribe, next, ping or pong settles
// it as graphql-transport-ws). The subprotocol or --app settles it at once.
//
// AWS AppSync's variant of the legacy protocol (its start carries the
// request as a JSON string in payload.data, answered by start_ack) is
// decoded as the legacy protocol, the query taken from payload.data.
//
// A message that is not a JSON object with a "type" string is
// app_malformed. What the protocol forbids but parses (a second
// connection_init, a subscribe before connection_ack, an id already in
// use, a type of the other direction, a type the protocol does not have)
// is decoded as sent and noted at the end of the Info line, with the close
// code the graphql-transport-ws server answers it with, e.g.
// `(second connection_init: close 4429)`.
var protoGraphQLTransportWS = &protocol{
	name:         "graphql-transport-ws",
	aliases:      []string{"graphql"},
	subprotocols: []string{"graphql-transport-ws"},
	sniff:        gqlSniff,
	new: func(h *Handshake, c *Config) decoder {
		d := &gqlDecoder{}
		if gqlSettled(h, c, "graphql-transport-ws") {
			d.mode = gqlTransport
		}
		return d
	},
	ref:     "https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md",
	summary: "GraphQL over WebSocket (graphql-ws library): message type, operation name (also on next/error/complete), id, payload, query",
}

var protoSubscriptionsTransportWS = &protocol{
	name:         "subscriptions-transport-ws",
	aliases:      []string{"graphql-legacy", "apollo"},
	subprotocols: []string{"graphql-ws"},
	sniff:        gqlLegacySniff,
	new: func(*Handshake, *Config) decoder {
		return &gqlDecoder{mode: gqlLegacy}
	},
	ref:     "https://github.com/apollographql/subscriptions-transport-ws/blob/master/PROTOCOL.md",
	summary: "GraphQL over WebSocket, legacy Apollo protocol (subprotocol graphql-ws): message type, operation name (also on data/error/complete), id, payload, query",
}

// gqlSettled reports whether --app or the subprotocol chose name (rather than
// the content of the messages).
func gqlSettled(h *Handshake, c *Config, name string) bool {
	return c.Force == name || c.Ports[h.Server.Port()] == name || strings.EqualFold(strings.TrimSpace(h.Protocol), name)
}

const (
	gqlLazy      = iota // found by content: transport-ws until shown legacy
	gqlTransport        // graphql-transport-ws
	gqlLegacy           // subscriptions-transport-ws
)

// gqlMsg is the members of one message.
type gqlMsg struct {
	typ              string
	id, payload      []byte
	hasType, typeStr bool
	other            bool // a member other than type, id, payload
}

func gqlParse(b []byte) (gqlMsg, bool) {
	var g gqlMsg
	ok := jsonObject(b, func(k, v []byte) bool {
		switch {
		case keyIs(k, "type"):
			g.hasType = true
			g.typ, g.typeStr = jsonString(v)
		case keyIs(k, "id"):
			g.id = v
		case keyIs(k, "payload"):
			g.payload = v
		default:
			g.other = true
		}
		return true
	})
	return g, ok
}

// gqlSniffParse parses a candidate first message cheaply: a text JSON
// object that mentions "type".
func gqlSniffParse(m *Msg) (gqlMsg, bool) {
	if m.Binary {
		return gqlMsg{}, false
	}
	b := trimWS(m.Payload)
	if len(b) < 10 || b[0] != '{' || !bytes.Contains(b, []byte(`"type"`)) {
		return gqlMsg{}, false
	}
	// Stop at a type no sniff accepts (most JSON with a "type" is not
	// GraphQL): the rest of a long message is not scanned.
	var g gqlMsg
	ok := jsonObject(b, func(k, v []byte) bool {
		switch {
		case keyIs(k, "type"):
			g.hasType = true
			g.typ, g.typeStr = jsonString(v)
			switch g.typ {
			case "connection_init", "connection_ack", "subscribe", "start", "ka":
			default:
				g.typeStr = false
				return false
			}
		case keyIs(k, "id"):
			g.id = v
		case keyIs(k, "payload"):
			g.payload = v
		default:
			g.other = true
		}
		return true
	})
	return g, ok && g.typeStr
}

func gqlSniff(m *Msg) bool {
	g, ok := gqlSniffParse(m)
	if !ok {
		return false
	}
	switch g.typ {
	case "connection_init":
		return m.FromClient && !g.other && g.id == nil && (g.payload == nil || gqlObjOrNull(g.payload))
	case "connection_ack":
		return !m.FromClient && !g.other && g.id == nil && (g.payload == nil || gqlObjOrNull(g.payload))
	case "subscribe":
		return m.FromClient && gqlOperation(g)
	}
	return false
}

func gqlLegacySniff(m *Msg) bool {
	g, ok := gqlSniffParse(m)
	if !ok {
		return false
	}
	switch g.typ {
	case "start":
		return m.FromClient && gqlOperation(g)
	case "ka":
		return !m.FromClient && !g.other && g.id == nil && g.payload == nil
	}
	return false
}

func gqlObjOrNull(v []byte) bool {
	k := jsonKind(v)
	return k == '{' || k == 'n'
}

// gqlOperation: a string id and a payload object with a query member.
func gqlOperation(g gqlMsg) bool {
	return !g.other && jsonKind(g.id) == '"' && jsonKind(g.payload) == '{' && jsonMember(g.payload, "query") != nil
}

// gqlType says what a type is in each protocol.
type gqlType struct {
	transport, legacy bool
	dir               byte // 'c' client to server, 's' server to client, 'b' both
}

var gqlTypes = map[string]gqlType{
	"connection_init":      {true, true, 'c'},
	"connection_ack":       {true, true, 's'},
	"ping":                 {true, false, 'b'},
	"pong":                 {true, false, 'b'},
	"subscribe":            {true, false, 'c'},
	"next":                 {true, false, 's'},
	"error":                {true, true, 's'},
	"complete":             {true, true, 'b'}, // legacy: server only
	"connection_error":     {false, true, 's'},
	"ka":                   {false, true, 's'},
	"start":                {false, true, 'c'},
	"data":                 {false, true, 's'},
	"stop":                 {false, true, 'c'},
	"connection_terminate": {false, true, 'c'},
	"start_ack":            {false, true, 's'}, // AWS AppSync's answer to start
}

type gqlDecoder struct {
	mode  int
	inits int  // connection_init messages seen
	acked bool // connection_ack seen
	ops   idNameTable
}

func (d *gqlDecoder) size() int { return 64 + d.ops.size() }

func (d *gqlDecoder) decode(m *Msg, r *Result) {
	if m.Incomplete {
		return
	}
	p := protoGraphQLTransportWS
	if d.mode == gqlLegacy {
		p = protoSubscriptionsTransportWS
	}
	if jsonKind(m.Payload) != '{' {
		r.Malformed(p, "%s message of %d bytes is not a JSON object", kindOfMsg(m), len(m.Payload))
		return
	}
	g, ok := gqlParse(m.Payload)
	switch {
	case !ok:
		r.Malformed(p, "message of %d bytes is not well-formed JSON", len(m.Payload))
		return
	case !g.hasType:
		r.Malformed(p, `message has no "type" member`)
		return
	case !g.typeStr:
		r.Malformed(p, `"type" is %s, not a string`, kindName(jsonKind(jsonMember(m.Payload, "type"))))
		return
	case g.typ == "":
		r.Malformed(p, `"type" is empty`)
		return
	}
	t, known := gqlTypes[g.typ]
	if d.mode == gqlLazy && known {
		switch {
		case t.legacy && !t.transport:
			d.mode = gqlLegacy
		case t.transport && !t.legacy:
			d.mode = gqlTransport
		}
	}
	legacy := d.mode == gqlLegacy
	if legacy {
		p = protoSubscriptionsTransportWS
	}

	u := Unit{Proto: p.name, Type: g.typ}
	if !known {
		// As sent, but one short line: app.type is shown in the timeline.
		u.Type = shortenText(oneLine(g.typ), 40)
	}
	var notes []string
	if !known || legacy && !t.legacy || !legacy && !t.transport {
		note := "not a " + p.name + " type"
		if !legacy {
			note += ": close 4400"
		}
		notes = append(notes, note)
	}
	if known {
		switch {
		case t.dir == 'c' && !m.FromClient:
			notes = append(notes, "sent by the server")
		case t.dir == 's' && m.FromClient:
			notes = append(notes, "sent by the client")
		case legacy && g.typ == "complete" && m.FromClient:
			notes = append(notes, "sent by the client")
		}
	}

	var key string
	if g.id != nil {
		switch jsonKind(g.id) {
		case '"', '0':
			u.ID = jraw(g.id)
			key = jrpcKey(true, g.id)
		case 'n':
		default:
			notes = append(notes, "id is "+kindName(jsonKind(g.id))+", not a string")
		}
	}

	var info []string
	var payload []byte
	if g.payload != nil {
		payload = jraw(g.payload)
		u.Fields = append(u.Fields, Field{Key: "payload", Value: payload})
	}
	switch g.typ {
	case "connection_init":
		if m.FromClient {
			d.inits++
			if d.inits > 1 && !legacy {
				notes = append(notes, "second connection_init: close 4429")
			}
		}
	case "connection_ack":
		if !m.FromClient {
			d.acked = true
		}
	case "subscribe", "start":
		if !m.FromClient {
			break
		}
		var query []byte
		if jsonKind(g.payload) == '{' {
			op := g.payload
			query = jsonMember(op, "query")
			if query == nil {
				// AWS AppSync: the request is a JSON string in payload.data.
				if s, ok := jsonString(jsonMember(op, "data")); ok && jsonKind([]byte(s)) == '{' {
					if q := jsonMember([]byte(s), "query"); q != nil {
						op, query = []byte(s), q
					}
				}
			}
			u.Name, u.HasName = gqlName(op, query)
		}
		if query != nil {
			u.Fields = append(u.Fields, Field{Key: "query", Value: jraw(query)})
		} else {
			notes = append(notes, "no query")
		}
		if key != "" {
			if d.ops.open(key) && !legacy {
				notes = append(notes, "id already in use: close 4409")
			}
			d.ops.put(key, u.Name, u.HasName)
		}
		if !legacy && d.inits > 0 && !d.acked {
			notes = append(notes, "before connection_ack: close 4401")
		}
		if u.HasName {
			info = append(info, infoName(u.Name))
		}
		if u.ID != nil {
			info = append(info, infoID(u.ID))
		}
		if s, ok := jsonString(query); ok {
			info = append(info, shortenText(collapseSpace(s), infoLen))
		} else if query != nil {
			info = append(info, shorten(jraw(query), infoLen))
		}
		if vars := jsonMember(g.payload, "variables"); vars != nil && jsonKind(vars) != 'n' && string(jraw(vars)) != "{}" {
			info = append(info, "variables="+shorten(jraw(vars), 40))
		}
		u.Info = strings.Join(append(info, gqlNotes(notes)...), " ")
		r.Add(u)
		return
	}

	// Everything else names the operation of its id.
	if key != "" {
		var found bool
		switch g.typ {
		case "complete", "stop", "error":
			u.Name, u.HasName, found = d.ops.take(key)
		default:
			u.Name, u.HasName, found = d.ops.get(key)
		}
		if !found {
			u.Name, u.HasName = "", false
		}
	}
	if u.HasName {
		info = append(info, infoName(u.Name))
	}
	if u.ID != nil {
		info = append(info, infoID(u.ID))
	}
	if payload != nil && !(jsonKind(payload) == 'n' || string(payload) == "{}") {
		info = append(info, shorten(payload, infoLen))
	}
	u.Info = strings.Join(append(info, gqlNotes(notes)...), " ")
	r.Add(u)
}

func gqlNotes(notes []string) []string {
	if len(notes) == 0 {
		return nil
	}
	return []string{"(" + strings.Join(notes, "; ") + ")"}
}

// gqlName returns the operation's name: payload.operationName when it is a
// non-empty string, else the name of the operation in the query (a string
// or a parsed document node).
func gqlName(payload, query []byte) (string, bool) {
	if s, ok := jsonString(jsonMember(payload, "operationName")); ok && s != "" {
		return s, true
	}
	switch jsonKind(query) {
	case '"':
		if s, ok := jsonString(query); ok {
			return gqlQueryName(s)
		}
	case '{':
		return gqlDocumentName(query)
	}
	return "", false
}

// gqlQueryName returns the name of the first operation definition in the
// GraphQL document q (GraphQL spec §2 Language), skipping fragment
// definitions; false when that operation is anonymous or none is found.
func gqlQueryName(q string) (string, bool) {
	depth := 0
	expectName := false // after query/mutation/subscription at depth 0
	fragment := false   // inside a fragment definition's header
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',':
			i++
		case c == 0xEF && strings.HasPrefix(q[i:], "\uFEFF"):
			i += 3
		case c == '#':
			for i < len(q) && q[i] != '\n' && q[i] != '\r' {
				i++
			}
		case c == '"':
			i = gqlSkipString(q, i)
		case c == '{' || c == '(' || c == '[':
			if depth == 0 {
				switch {
				case expectName:
					return "", false // anonymous operation with variables or a selection set
				case c == '{' && !fragment:
					return "", false // query shorthand
				case c == '{':
					fragment = false
				}
			}
			depth++
			i++
		case c == '}' || c == ')' || c == ']':
			if depth > 0 {
				depth--
			}
			i++
		case c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z':
			j := i + 1
			for j < len(q) && (q[j] == '_' || q[j] >= 'A' && q[j] <= 'Z' || q[j] >= 'a' && q[j] <= 'z' || q[j] >= '0' && q[j] <= '9') {
				j++
			}
			name := q[i:j]
			i = j
			if depth > 0 || fragment {
				continue
			}
			switch {
			case expectName:
				return name, true
			case name == "query" || name == "mutation" || name == "subscription":
				expectName = true
			case name == "fragment":
				fragment = true
			}
		case c == '@' && depth == 0 && expectName:
			return "", false // anonymous operation with directives
		default:
			i++
		}
	}
	return "", false
}

// gqlSkipString returns the index after the string or block string at q[i].
func gqlSkipString(q string, i int) int {
	if strings.HasPrefix(q[i:], `"""`) {
		i += 3
		for i < len(q) {
			switch {
			case strings.HasPrefix(q[i:], `\"""`):
				i += 4
			case strings.HasPrefix(q[i:], `"""`):
				return i + 3
			default:
				i++
			}
		}
		return i
	}
	i++
	for i < len(q) {
		switch q[i] {
		case '\\':
			i += 2
		case '"':
			return i + 1
		case '\n', '\r':
			return i // unterminated
		default:
			i++
		}
	}
	return min(i, len(q))
}

// gqlDocumentName returns the name of the first OperationDefinition of a
// parsed document node ({"kind":"Document","definitions":[...]}).
func gqlDocumentName(doc []byte) (string, bool) {
	var name string
	var has bool
	jsonArray(jsonMember(doc, "definitions"), func(_ int, def []byte) bool {
		if k, _ := jsonString(jsonMember(def, "kind")); k != "OperationDefinition" {
			return true
		}
		name, has = jsonString(jsonMember(jsonMember(def, "name"), "value"))
		return false
	})
	return name, has && name != ""
}

// collapseSpace turns each run of white space (and other control
// characters) into one space and trims the ends.
func collapseSpace(s string) string {
	var b strings.Builder
	b.Grow(min(len(s), 4*infoLen))
	space := false
	for _, r := range s {
		if r == ' ' || isCtl(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
		if b.Len() > 8*infoLen {
			break // only a shortened form is shown
		}
	}
	return b.String()
}
