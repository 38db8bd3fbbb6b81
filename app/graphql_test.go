package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/wscap/wscap/decode"
)

// gqlStep is one message of a test conversation.
type gqlStep struct {
	client bool
	text   string
}

func gqlC(s string) gqlStep { return gqlStep{true, s} }
func gqlS(s string) gqlStep { return gqlStep{false, s} }

// gqlRun runs the steps through a connection's layer as the decoder would
// (detection included) and returns each message's AppInfo and anomalies.
func gqlRun(t testing.TB, cfg *Config, hs *decode.Handshake, steps []gqlStep) (*Conn, []*decode.AppInfo, [][]decode.Anomaly) {
	t.Helper()
	if cfg == nil {
		cfg = &Config{}
	}
	l := cfg.New(hs, netip.MustParseAddrPort("10.0.0.1:40000"), netip.MustParseAddrPort("10.0.0.2:8080"))
	var infos []*decode.AppInfo
	var anoms [][]decode.Anomaly
	for _, s := range steps {
		m := &decode.Message{Opcode: decode.OpText, Payload: []byte(s.text)}
		from := decode.RoleServer
		if s.client {
			from = decode.RoleClient
		}
		app, a := l.Message(m, from, nil)
		// The layer must not alias the payload.
		for i := range m.Payload {
			m.Payload[i] = 'X'
		}
		infos = append(infos, app)
		anoms = append(anoms, a)
	}
	return l, infos, anoms
}

// gqlUnitString is a unit as one comparable line:
// proto type name id fields... | info
func gqlUnitString(u *Unit) string {
	var b strings.Builder
	b.WriteString(u.Proto + " " + u.Type)
	if u.HasName {
		b.WriteString(" name=" + string(jstr(u.Name)))
	} else {
		b.WriteString(" name=null")
	}
	if u.ID != nil {
		b.WriteString(" id=" + string(u.ID))
	}
	for _, f := range u.Fields {
		b.WriteString(" " + f.Key + "=" + string(f.Value))
	}
	b.WriteString(" | " + u.Info)
	return b.String()
}

func gqlHS(sub string) *decode.Handshake {
	h := &decode.Handshake{Method: "GET", Path: "/graphql", Status: 101, Protocol: sub}
	if sub != "" {
		h.OfferedProtocols = []string{sub}
	}
	return h
}

// gqlCheckUnits checks the first unit of each message against want ("" =
// no unit) and that every value is valid JSON.
func gqlCheckUnits(t *testing.T, infos []*decode.AppInfo, want []string) {
	t.Helper()
	for i, w := range want {
		var got string
		if infos[i] != nil && len(infos[i].Units) > 0 {
			u := &infos[i].Units[0]
			got = gqlUnitString(u)
			gqlCheckValid(t, u)
		}
		if got != w {
			t.Errorf("message %d:\n got %s\nwant %s", i+1, got, w)
		}
	}
}

func gqlCheckValid(t testing.TB, u *Unit) {
	t.Helper()
	if u.ID != nil && !json.Valid(u.ID) {
		t.Fatalf("id %q is not JSON", u.ID)
	}
	if u.Value != nil && !json.Valid(u.Value) {
		t.Fatalf("value %q is not JSON", u.Value)
	}
	for _, f := range u.Fields {
		if !json.Valid(f.Value) || bytes.ContainsAny(f.Value, "\n\r") {
			t.Fatalf("field %s = %q is not compact JSON", f.Key, f.Value)
		}
	}
	if strings.ContainsAny(u.Info+u.Type, "\n\r") || u.Type == "" {
		t.Fatalf("info %q has a line break", u.Info)
	}
}

// The graphql-transport-ws conversation of PROTOCOL.md's examples
// (successful connection initialisation, streaming and single result
// operations), with the subprotocol selected.
func TestGraphQLTransportWS(t *testing.T) {
	steps := []gqlStep{
		gqlC(`{"type":"connection_init","payload":{"token":"abc"}}`),
		gqlS(`{"type":"connection_ack"}`),
		gqlC(`{"id":"1","type":"subscribe","payload":{"query":"subscription OnMessage {\n  messageAdded { text }\n}","variables":{}}}`),
		gqlS(`{"id":"1","type":"next","payload":{"data":{"messageAdded":{"text":"hi"}}}}`),
		gqlC(`{"id":"2","type":"subscribe","payload":{"operationName":"Greet","query":"query Hello { hello }","variables":{"x":1}}}`),
		gqlS(`{"id":"2","type":"next","payload":{"data":{"hello":"world"}}}`),
		gqlS(`{"id":"2","type":"complete"}`),
		gqlC(`{"id":"3","type":"subscribe","payload":{"query":"{ hello }"}}`),
		gqlS(`{"id":"3","type":"error","payload":[{"message":"Cannot query field \"hello\""}]}`),
		gqlC(`{"type":"ping","payload":{"t":1}}`),
		gqlS(`{"type":"pong"}`),
		gqlS(`{"type":"ping"}`),
		gqlC(`{"type":"pong"}`),
		gqlC(`{"id":"1","type":"complete"}`),
		gqlS(`{"id":"1","type":"next","payload":{"data":null}}`), // late: still named
		gqlS(`{"id":"9","type":"next","payload":{}}`),            // unknown id
	}
	_, infos, anoms := gqlRun(t, nil, gqlHS("graphql-transport-ws"), steps)
	gqlCheckUnits(t, infos, []string{
		`graphql-transport-ws connection_init name=null payload={"token":"abc"} | {"token":"abc"}`,
		`graphql-transport-ws connection_ack name=null | `,
		`graphql-transport-ws subscribe name="OnMessage" id="1" payload={"query":"subscription OnMessage {\n  messageAdded { text }\n}","variables":{}} query="subscription OnMessage {\n  messageAdded { text }\n}" | "OnMessage" id="1" subscription OnMessage { messageAdded { text } }`,
		`graphql-transport-ws next name="OnMessage" id="1" payload={"data":{"messageAdded":{"text":"hi"}}} | "OnMessage" id="1" {"data":{"messageAdded":{"text":"hi"}}}`,
		`graphql-transport-ws subscribe name="Greet" id="2" payload={"operationName":"Greet","query":"query Hello { hello }","variables":{"x":1}} query="query Hello { hello }" | "Greet" id="2" query Hello { hello } variables={"x":1}`,
		`graphql-transport-ws next name="Greet" id="2" payload={"data":{"hello":"world"}} | "Greet" id="2" {"data":{"hello":"world"}}`,
		`graphql-transport-ws complete name="Greet" id="2" | "Greet" id="2"`,
		`graphql-transport-ws subscribe name=null id="3" payload={"query":"{ hello }"} query="{ hello }" | id="3" { hello }`,
		`graphql-transport-ws error name=null id="3" payload=[{"message":"Cannot query field \"hello\""}] | id="3" [{"message":"Cannot query field \"hello\""}]`,
		`graphql-transport-ws ping name=null payload={"t":1} | {"t":1}`,
		`graphql-transport-ws pong name=null | `,
		`graphql-transport-ws ping name=null | `,
		`graphql-transport-ws pong name=null | `,
		`graphql-transport-ws complete name="OnMessage" id="1" | "OnMessage" id="1"`,
		`graphql-transport-ws next name="OnMessage" id="1" payload={"data":null} | "OnMessage" id="1" {"data":null}`,
		`graphql-transport-ws next name=null id="9" payload={} | id="9"`,
	})
	for i, a := range anoms {
		if len(a) > 0 {
			t.Errorf("message %d: anomalies %v", i+1, a)
		}
	}
}

// The legacy protocol of subscriptions-transport-ws PROTOCOL.md, selected
// by the subprotocol graphql-ws.
func TestSubscriptionsTransportWS(t *testing.T) {
	steps := []gqlStep{
		gqlC(`{"type":"connection_init","payload":{}}`),
		gqlS(`{"type":"connection_ack"}`),
		gqlS(`{"type":"ka"}`),
		gqlC(`{"id":"1","type":"start","payload":{"variables":{},"extensions":{},"operationName":null,"query":"subscription onPost {\n  postAdded {\n    id\n  }\n}\n"}}`),
		gqlS(`{"type":"data","id":"1","payload":{"data":{"postAdded":{"id":"7"}}}}`),
		gqlC(`{"id":"1","type":"stop"}`),
		gqlS(`{"id":"1","type":"complete"}`),
		gqlC(`{"id":"2","type":"start","payload":{"query":"query { x }"}}`),
		gqlS(`{"id":"2","type":"error","payload":{"message":"bad"}}`),
		gqlS(`{"type":"connection_error","payload":{"message":"auth"}}`),
		gqlC(`{"type":"connection_terminate"}`),
	}
	_, infos, _ := gqlRun(t, nil, gqlHS("graphql-ws"), steps)
	gqlCheckUnits(t, infos, []string{
		`subscriptions-transport-ws connection_init name=null payload={} | `,
		`subscriptions-transport-ws connection_ack name=null | `,
		`subscriptions-transport-ws ka name=null | `,
		`subscriptions-transport-ws start name="onPost" id="1" payload={"variables":{},"extensions":{},"operationName":null,"query":"subscription onPost {\n  postAdded {\n    id\n  }\n}\n"} query="subscription onPost {\n  postAdded {\n    id\n  }\n}\n" | "onPost" id="1" subscription onPost { postAdded { id } }`,
		`subscriptions-transport-ws data name="onPost" id="1" payload={"data":{"postAdded":{"id":"7"}}} | "onPost" id="1" {"data":{"postAdded":{"id":"7"}}}`,
		`subscriptions-transport-ws stop name="onPost" id="1" | "onPost" id="1"`,
		`subscriptions-transport-ws complete name="onPost" id="1" | "onPost" id="1"`,
		`subscriptions-transport-ws start name=null id="2" payload={"query":"query { x }"} query="query { x }" | id="2" query { x }`,
		`subscriptions-transport-ws error name=null id="2" payload={"message":"bad"} | id="2" {"message":"bad"}`,
		`subscriptions-transport-ws connection_error name=null payload={"message":"auth"} | {"message":"auth"}`,
		`subscriptions-transport-ws connection_terminate name=null | `,
	})
}

// Without a subprotocol, the content decides, lazily.
func TestGraphQLSniff(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []gqlStep
		want  []string // proto of each message's first unit ("" none; "json" bare)
	}{
		{"transport", []gqlStep{
			gqlC(`{"type":"connection_init"}`), gqlS(`{"type":"connection_ack"}`),
			gqlC(`{"id":"a","type":"subscribe","payload":{"query":"subscription S { s }"}}`),
			gqlS(`{"id":"a","type":"next","payload":{"data":{"s":1}}}`),
		}, []string{"graphql-transport-ws", "graphql-transport-ws", "graphql-transport-ws", "graphql-transport-ws"}},
		{"legacy by ka", []gqlStep{
			gqlC(`{"type":"connection_init","payload":{}}`), gqlS(`{"type":"connection_ack"}`), gqlS(`{"type":"ka"}`),
			gqlC(`{"id":"1","type":"start","payload":{"query":"subscription S { s }"}}`),
			gqlS(`{"id":"1","type":"data","payload":{"data":{"s":1}}}`),
			gqlS(`{"id":"1","type":"complete"}`),
		}, []string{"graphql-transport-ws", "graphql-transport-ws", "subscriptions-transport-ws", "subscriptions-transport-ws", "subscriptions-transport-ws", "subscriptions-transport-ws"}},
		{"legacy by start", []gqlStep{
			gqlC(`{"type":"connection_init","payload":{}}`), gqlS(`{"type":"connection_ack"}`),
			gqlC(`{"id":"1","type":"start","payload":{"query":"subscription S { s }"}}`),
			gqlS(`{"id":"1","type":"error","payload":{}}`),
		}, []string{"graphql-transport-ws", "graphql-transport-ws", "subscriptions-transport-ws", "subscriptions-transport-ws"}},
		{"capture starts at a start", []gqlStep{
			gqlS(`{"id":"1","type":"data","payload":{"data":{"s":0}}}`),
			gqlC(`{"id":"2","type":"start","payload":{"query":"subscription S { s }"}}`),
			gqlS(`{"id":"2","type":"data","payload":{"data":{"s":1}}}`),
		}, []string{"", "subscriptions-transport-ws", "subscriptions-transport-ws"}}, // bare JSON: only with --app json
		{"capture starts at a subscribe", []gqlStep{
			gqlC(`{"id":"2","type":"subscribe","payload":{"query":"subscription S { s }"}}`),
			gqlS(`{"id":"2","type":"next","payload":{"data":{"s":1}}}`),
		}, []string{"graphql-transport-ws", "graphql-transport-ws"}},
		{"not graphql", []gqlStep{
			gqlC(`hello`), gqlS(`42`), gqlC(`{"type":"message","text":"connection_init"}`),
			gqlC(`{"type":"connection_init","user":"bob"}`), // other members: not the protocol's
			gqlS(`{"type":"connection_init"}`),              // from the server
			gqlC(`{"type":"subscribe","channel":"prices"}`),
			gqlC(`{"event":"connection_init"}`),
			gqlC(`42["connection_init",{}]`),
			gqlC(`{"jsonrpc":"2.0","method":"connection_init","id":1}`),
		}, []string{"", "", "", "", "", "", "", "socket.io", ""}}, // socket.io's signature (message 8) takes the connection; '{' is no engine.io packet type
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, infos, _ := gqlRun(t, nil, gqlHS(""), tc.steps)
			for i, w := range tc.want {
				got := ""
				if infos[i] != nil && len(infos[i].Units) > 0 {
					got = infos[i].Units[0].Proto
				}
				if got != w {
					t.Errorf("message %d (%s): proto %q, want %q", i+1, tc.steps[i].text, got, w)
				}
			}
		})
	}
	// Random binary is never GraphQL.
	for _, b := range []string{"\x82\xa4type\xafconnection_init", "\x00\x01\x02", "{\"type\":\"connection_init\"}"} {
		m := &Msg{FromClient: true, Binary: true, Payload: []byte(b)}
		if gqlSniff(m) || gqlLegacySniff(m) {
			t.Errorf("sniff accepted binary %q", b)
		}
	}
}

// What the protocol forbids is decoded and noted.
func TestGraphQLMisuse(t *testing.T) {
	steps := []gqlStep{
		gqlC(`{"type":"connection_init"}`),
		gqlC(`{"id":"1","type":"subscribe","payload":{"query":"subscription A { a }"}}`),
		gqlC(`{"type":"connection_init"}`),
		gqlS(`{"type":"connection_ack"}`),
		gqlC(`{"id":"2","type":"subscribe","payload":{"query":"subscription B { b }"}}`),
		gqlC(`{"id":"2","type":"subscribe","payload":{"query":"subscription C { c }"}}`),
		gqlS(`{"id":"2","type":"next","payload":{}}`),
		gqlC(`{"id":"2","type":"next","payload":{}}`),
		gqlS(`{"type":"hello"}`),
		gqlS(`{"type":"ka"}`),
		gqlS(`{"type":"a\nvery long type that goes on and on and on and on"}`),
		gqlC(`{"id":3,"type":"subscribe","payload":{"query":"{ a }"}}`),
		gqlC(`{"id":"4","type":"subscribe","payload":{}}`),
	}
	_, infos, anoms := gqlRun(t, nil, gqlHS("graphql-transport-ws"), steps)
	gqlCheckUnits(t, infos, []string{
		`graphql-transport-ws connection_init name=null | `,
		`graphql-transport-ws subscribe name="A" id="1" payload={"query":"subscription A { a }"} query="subscription A { a }" | "A" id="1" subscription A { a } (before connection_ack: close 4401)`,
		`graphql-transport-ws connection_init name=null | (second connection_init: close 4429)`,
		`graphql-transport-ws connection_ack name=null | `,
		`graphql-transport-ws subscribe name="B" id="2" payload={"query":"subscription B { b }"} query="subscription B { b }" | "B" id="2" subscription B { b }`,
		`graphql-transport-ws subscribe name="C" id="2" payload={"query":"subscription C { c }"} query="subscription C { c }" | "C" id="2" subscription C { c } (id already in use: close 4409)`,
		`graphql-transport-ws next name="C" id="2" payload={} | "C" id="2"`,
		`graphql-transport-ws next name="C" id="2" payload={} | "C" id="2" (sent by the client)`,
		`graphql-transport-ws hello name=null | (not a graphql-transport-ws type: close 4400)`,
		`graphql-transport-ws ka name=null | (not a graphql-transport-ws type: close 4400)`,
		`graphql-transport-ws a very long type that goes on and on an… name=null | (not a graphql-transport-ws type: close 4400)`,
		`graphql-transport-ws subscribe name=null id=3 payload={"query":"{ a }"} query="{ a }" | id=3 { a }`,
		`graphql-transport-ws subscribe name=null id="4" payload={} | id="4" (no query)`,
	})
	for i, a := range anoms {
		if len(a) > 0 {
			t.Errorf("message %d: anomalies %v", i+1, a)
		}
	}
}

func TestGraphQLMalformed(t *testing.T) {
	for _, tc := range []struct{ in, detail string }{
		{`hello`, "graphql-transport-ws: text message of 5 bytes is not a JSON object"},
		{`["connection_init"]`, "graphql-transport-ws: text message of 19 bytes is not a JSON object"},
		{`{"type":"next",`, "graphql-transport-ws: message of 15 bytes is not well-formed JSON"},
		{`{"id":"1"}`, `graphql-transport-ws: message has no "type" member`},
		{`{"type":7}`, `graphql-transport-ws: "type" is number, not a string`},
		{``, "graphql-transport-ws: text message of 0 bytes is not a JSON object"},
		{`{"type":""}`, `graphql-transport-ws: "type" is empty`},
	} {
		_, infos, anoms := gqlRun(t, &Config{Force: "graphql-transport-ws"}, gqlHS("graphql-transport-ws"), []gqlStep{gqlS(tc.in)})
		if infos[0] != nil {
			t.Errorf("%q: units %+v", tc.in, infos[0])
		}
		if len(anoms[0]) != 1 || anoms[0][0].Code != CodeMalformed || anoms[0][0].Detail != tc.detail ||
			anoms[0][0].Ref != protoGraphQLTransportWS.ref || anoms[0][0].Severity != decode.SeverityWarning {
			t.Errorf("%q: anomalies %+v, want %s", tc.in, anoms[0], tc.detail)
		}
	}
	// An incomplete message is neither decoded nor malformed, forced or
	// before the opening of a claimed connection.
	for _, cfg := range []*Config{{Force: "subscriptions-transport-ws"}, {}} {
		l := cfg.New(gqlHS("graphql-ws"), netip.AddrPort{}, netip.AddrPort{})
		for _, from := range []decode.Role{decode.RoleServer, decode.RoleClient} {
			m := &decode.Message{Opcode: decode.OpText, Payload: []byte(`{"type":"da`), Truncated: true}
			if app, a := l.Message(m, from, nil); len(a) > 0 || app != nil {
				t.Errorf("truncated (%q): %v %+v", cfg.Force, a, app)
			}
		}
		if l.Protocol() != "subscriptions-transport-ws" {
			t.Errorf("truncated (%q): protocol %q", cfg.Force, l.Protocol())
		}
	}
}

// A subprotocol only claims GraphQL over WebSocket: both protocols open
// with the client's connection_init (PROTOCOL.md). The server's messages
// before it are not decoded; a connection that opens otherwise is not
// decoded at all (one app_malformed); one whose first messages do not
// parse is given up after 3 of them.
func TestGraphQLOpening(t *testing.T) {
	for _, tc := range []struct {
		name, sub string
		steps     []gqlStep
		want      []string // first unit of each message ("" none)
		anoms     []string // anomaly of each message ("" none)
		after     string
	}{
		{"server first", "graphql-transport-ws", []gqlStep{
			gqlS(`{"type":"ping"}`), gqlC(`{"type":"connection_init"}`), gqlS(`{"type":"connection_ack"}`),
		}, []string{
			``,
			`graphql-transport-ws connection_init name=null | `,
			`graphql-transport-ws connection_ack name=null | `,
		}, nil, "graphql-transport-ws"},
		{"not opened by connection_init", "graphql-transport-ws", []gqlStep{
			gqlC(`{"id":"1","type":"subscribe","payload":{"query":"{ a }"}}`), gqlS(`{"id":"1","type":"next","payload":{}}`), gqlC(`{"type":"connection_init"}`),
		}, []string{``, ``, ``}, []string{
			`graphql-transport-ws: the connection does not open as graphql-transport-ws does (first client message: text "{\"id\":\"1\",\"type\""...); it is not decoded as graphql-transport-ws`,
		}, ""},
		{"legacy: not opened by connection_init", "graphql-ws", []gqlStep{
			gqlC(`{"id":"1","type":"start","payload":{"query":"{ a }"}}`), gqlC(`{"type":"connection_init"}`),
		}, []string{``, ``}, []string{
			`subscriptions-transport-ws: the connection does not open as subscriptions-transport-ws does (first client message: text "{\"id\":\"1\",\"type\""...); it is not decoded as subscriptions-transport-ws`,
		}, ""},
		{"wsgen: other JSON", "graphql-transport-ws", []gqlStep{
			gqlC(`{"seq":1,"data":"x"}`), gqlS(`{"seq":1,"data":"x"}`),
		}, []string{``, ``}, []string{
			`graphql-transport-ws: the connection does not open as graphql-transport-ws does (first client message: text "{\"seq\":1,\"data\":"...); it is not decoded as graphql-transport-ws`,
		}, ""},
		{"given up", "graphql-transport-ws", []gqlStep{
			gqlC(`{"type":"connection_init",`), gqlS(`{"id":"1"}`), gqlS(`[1]`), gqlS(`{"type":"connection_ack"}`),
		}, []string{``, ``, ``, ``}, []string{
			`graphql-transport-ws: message of 26 bytes is not well-formed JSON`,
			`graphql-transport-ws: message has no "type" member`,
			`graphql-transport-ws: text message of 3 bytes is not a JSON object; 3 messages in a row did not parse: the connection is not decoded as graphql-transport-ws any more`,
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, infos, anoms := gqlRun(t, nil, gqlHS(tc.sub), tc.steps)
			gqlCheckUnits(t, infos, tc.want)
			for i := range anoms {
				var got, want string
				if len(anoms[i]) > 1 {
					t.Errorf("message %d: %d anomalies", i+1, len(anoms[i]))
				}
				if len(anoms[i]) > 0 {
					got = anoms[i][0].Detail
				}
				if i < len(tc.anoms) {
					want = tc.anoms[i]
				}
				if got != want {
					t.Errorf("message %d: anomaly\n got %s\nwant %s", i+1, got, want)
				}
			}
			if l.Protocol() != tc.after {
				t.Errorf("protocol %q, want %q", l.Protocol(), tc.after)
			}
		})
	}
}

func TestGraphQLQueryName(t *testing.T) {
	for _, tc := range []struct {
		q    string
		want string // "" = anonymous
	}{
		{"subscription OnMessage {\n messageAdded { text } }", "OnMessage"},
		{"query Q($id: ID!) { user(id: $id) { name } }", "Q"},
		{"mutation\tAddPost { add }", "AddPost"},
		{"{ hello }", ""},
		{"query { hello }", ""},
		{"query ($x: Int = 3) { a(x: $x) }", ""},
		{"subscription @live { a }", ""},
		{"# subscription Commented {\nsubscription Real { a }", "Real"},
		{"\uFEFF , query _Q1 { a }", "_Q1"},
		{"fragment F on Query { a }\nquery WithFragment { ...F }", "WithFragment"},
		{"fragment query on Query @dir(a: {b: \"}\"}) { a }\nsubscription S { ...query }", "S"},
		{`query A($s: String = "query B { x }") { a }`, "A"},
		{"\"\"\"doc \\\"\"\" query X\"\"\"\nquery Y { a }", "Y"},
		{"{ a } query Second { b }", ""},
		{"", ""},
		{"query", ""},
		{"hello world", ""},
		{"query Q", "Q"},
		{`"unterminated`, ""},
		{"}}}} query Z { z }", "Z"},
	} {
		got, ok := gqlQueryName(tc.q)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("gqlQueryName(%q) = %q %v, want %q", tc.q, got, ok, tc.want)
		}
	}
	// A parsed document node (legacy clients may send one).
	doc := []byte(`{"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"F"}},{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"Doc"}}]}`)
	if n, ok := gqlName([]byte(`{"query":0}`), doc); !ok || n != "Doc" {
		t.Errorf("document name = %q %v", n, ok)
	}
	if n, ok := gqlName([]byte(`{"operationName":""}`), []byte(`"query Q { a }"`)); !ok || n != "Q" {
		t.Errorf("empty operationName: %q %v", n, ok)
	}
}

// The table of open operations is bounded, oldest out.
func TestGraphQLBounded(t *testing.T) {
	var steps []gqlStep
	for i := range 3000 {
		steps = append(steps, gqlC(fmt.Sprintf(`{"id":"%d","type":"subscribe","payload":{"query":"subscription S%d { s }"}}`, i, i)))
	}
	steps = append(steps,
		gqlS(`{"id":"0","type":"next","payload":{}}`),
		gqlS(`{"id":"2999","type":"next","payload":{}}`),
		gqlS(`{"id":"1976","type":"next","payload":{}}`),
		gqlS(`{"id":"1975","type":"next","payload":{}}`))
	l, infos, _ := gqlRun(t, &Config{Force: "graphql-transport-ws"}, gqlHS("graphql-transport-ws"), steps)
	n := len(infos)
	for i, want := range []string{"", "S2999", "S1976", ""} {
		u := infos[n-4+i].Units[0]
		if u.Name != want || u.HasName != (want != "") {
			t.Errorf("next %d: name %q %v, want %q", i, u.Name, u.HasName, want)
		}
	}
	d := l.dec.(*gqlDecoder)
	if len(d.ops.m) != idTableMax || len(d.ops.order) > 2*idTableMax+64 {
		t.Errorf("table: %d open, %d in order", len(d.ops.m), len(d.ops.order))
	}
	if s := l.MemSize(); s > 200<<10 {
		t.Errorf("MemSize = %d", s)
	}
	// Huge ids and names are bounded too.
	big := strings.Repeat("x", 300<<10)
	_, infos, _ = gqlRun(t, &Config{Force: "graphql-transport-ws"}, gqlHS("graphql-transport-ws"), []gqlStep{
		gqlC(`{"id":"` + big + `","type":"subscribe","payload":{"operationName":"` + big + `","query":"{a}"}}`),
		gqlS(`{"id":"` + big + `","type":"next","payload":{}}`),
	})
	if u := infos[1].Units[0]; u.HasName {
		t.Errorf("huge name kept")
	}
}

// FuzzGraphQL: arbitrary conversations never panic and every unit is valid.
func FuzzGraphQL(f *testing.F) {
	f.Add(uint8(0), []byte("{\"type\":\"connection_init\"}\x00{\"type\":\"connection_ack\"}\x00{\"id\":\"1\",\"type\":\"subscribe\",\"payload\":{\"query\":\"subscription S { s }\"}}\x00{\"id\":\"1\",\"type\":\"next\",\"payload\":{}}\x00{\"id\":\"1\",\"type\":\"complete\"}"))
	f.Add(uint8(1), []byte("{\"type\":\"connection_init\",\"payload\":{}}\x00{\"type\":\"ka\"}\x00{\"id\":\"1\",\"type\":\"start\",\"payload\":{\"query\":\"fragment F on Q { a } query \\\"X\\\" { ...F }\",\"operationName\":null}}\x00{\"id\":\"1\",\"type\":\"data\"}"))
	f.Add(uint8(2), []byte("{\"type\":\"connection_init\"}\x00{\"type\":7}\x00[1]\x00{\"id\":{},\"type\":\"subscribe\",\"payload\":{\"query\":{\"definitions\":[{\"kind\":\"OperationDefinition\",\"name\":{\"value\":\"D\"}}]}}}"))
	f.Fuzz(func(t *testing.T, mode uint8, in []byte) {
		sub := []string{"", "graphql-transport-ws", "graphql-ws"}[mode%3]
		var steps []gqlStep
		for i, p := range bytes.Split(in, []byte{0}) {
			steps = append(steps, gqlStep{client: (i+int(mode))%2 == 0, text: string(p)})
		}
		for _, cfg := range []*Config{nil, {Force: []string{"graphql-transport-ws", "subscriptions-transport-ws"}[mode%2]}} {
			l, infos, _ := gqlRun(t, cfg, gqlHS(sub), steps)
			for _, info := range infos {
				if info == nil {
					continue
				}
				for i := range info.Units {
					gqlCheckValid(t, &info.Units[i])
				}
			}
			if l.MemSize() > 4<<20 {
				t.Fatalf("MemSize %d", l.MemSize())
			}
		}
	})
}

// AWS AppSync speaks the legacy protocol with the request as a JSON string.
func TestGraphQLAppSync(t *testing.T) {
	_, infos, _ := gqlRun(t, nil, gqlHS("graphql-ws"), []gqlStep{
		gqlC(`{"type":"connection_init"}`),
		gqlS(`{"type":"connection_ack","payload":{"connectionTimeoutMs":300000}}`),
		gqlC(`{"id":"ee849ef0","type":"start","payload":{"data":"{\"query\":\"subscription OnCreate { onCreateTodo { id } }\",\"variables\":{}}","extensions":{"authorization":{"host":"x.appsync-api.amazonaws.com"}}}}`),
		gqlS(`{"id":"ee849ef0","type":"start_ack"}`),
		gqlS(`{"id":"ee849ef0","type":"data","payload":{"data":{"onCreateTodo":{"id":"1"}}}}`),
	})
	gqlCheckUnits(t, infos, []string{
		`subscriptions-transport-ws connection_init name=null | `,
		`subscriptions-transport-ws connection_ack name=null payload={"connectionTimeoutMs":300000} | {"connectionTimeoutMs":300000}`,
		`subscriptions-transport-ws start name="OnCreate" id="ee849ef0" payload={"data":"{\"query\":\"subscription OnCreate { onCreateTodo { id } }\",\"variables\":{}}","extensions":{"authorization":{"host":"x.appsync-api.amazonaws.com"}}} query="subscription OnCreate { onCreateTodo { id } }" | "OnCreate" id="ee849ef0" subscription OnCreate { onCreateTodo { id } }`,
		`subscriptions-transport-ws start_ack name="OnCreate" id="ee849ef0" | "OnCreate" id="ee849ef0"`,
		`subscriptions-transport-ws data name="OnCreate" id="ee849ef0" payload={"data":{"onCreateTodo":{"id":"1"}}} | "OnCreate" id="ee849ef0" {"data":{"onCreateTodo":{"id":"1"}}}`,
	})
}

// Messages as the libraries send them (graphql-ws 6.4 client and server;
// subscriptions-transport-ws 0.11 client and server, recorded with node):
// UUID ids, a legacy start sent before connection_ack, data after stop.
func TestGraphQLLibraryTraffic(t *testing.T) {
	_, infos, anoms := gqlRun(t, nil, gqlHS("graphql-transport-ws"), []gqlStep{
		gqlC(`{"type":"connection_init"}`),
		gqlS(`{"type":"connection_ack"}`),
		gqlC(`{"id":"4a90164f-7346-437c-986b-99a81ec7f1b6","type":"subscribe","payload":{"query":"{ nope }"}}`),
		gqlS(`{"id":"4a90164f-7346-437c-986b-99a81ec7f1b6","type":"error","payload":[{"message":"Cannot query field \"nope\" on type \"Query\".","locations":[{"line":1,"column":3}]}]}`),
		gqlC(`{"id":"ca10a593-5858-4bb1-a851-9455ee584778","type":"subscribe","payload":{"query":"subscription Greetings { greetings }"}}`),
		gqlS(`{"id":"ca10a593-5858-4bb1-a851-9455ee584778","type":"next","payload":{"data":{"greetings":"hi"}}}`),
		gqlC(`{"id":"ca10a593-5858-4bb1-a851-9455ee584778","type":"complete"}`),
	})
	gqlCheckUnits(t, infos, []string{
		`graphql-transport-ws connection_init name=null | `,
		`graphql-transport-ws connection_ack name=null | `,
		`graphql-transport-ws subscribe name=null id="4a90164f-7346-437c-986b-99a81ec7f1b6" payload={"query":"{ nope }"} query="{ nope }" | id="4a90164f-7346-… { nope }`,
		`graphql-transport-ws error name=null id="4a90164f-7346-437c-986b-99a81ec7f1b6" payload=[{"message":"Cannot query field \"nope\" on type \"Query\".","locations":[{"line":1,"column":3}]}] | id="4a90164f-7346-… [{"message":"Cannot query field \"nope\" on type \"Query\".…`,
		`graphql-transport-ws subscribe name="Greetings" id="ca10a593-5858-4bb1-a851-9455ee584778" payload={"query":"subscription Greetings { greetings }"} query="subscription Greetings { greetings }" | "Greetings" id="ca10a593-5858-… subscription Greetings { greetings }`,
		`graphql-transport-ws next name="Greetings" id="ca10a593-5858-4bb1-a851-9455ee584778" payload={"data":{"greetings":"hi"}} | "Greetings" id="ca10a593-5858-… {"data":{"greetings":"hi"}}`,
		`graphql-transport-ws complete name="Greetings" id="ca10a593-5858-4bb1-a851-9455ee584778" | "Greetings" id="ca10a593-5858-…`,
	})
	_, infos, _ = gqlRun(t, nil, gqlHS("graphql-ws"), []gqlStep{
		gqlC(`{"type":"connection_init","payload":{}}`),
		gqlC(`{"id":"5","type":"start","payload":{"query":"subscription Greetings { greetings }"}}`),
		gqlS(`{"type":"connection_ack"}`),
		gqlS(`{"type":"ka"}`),
		gqlS(`{"type":"data","id":"5","payload":{"data":{"greetings":"hi"}}}`),
		gqlC(`{"id":"5","type":"stop"}`),
		gqlS(`{"type":"data","id":"5","payload":{"data":{"greetings":"hey"}}}`),
		gqlS(`{"type":"complete","id":"5","payload":null}`),
		gqlC(`{"type":"connection_terminate","payload":null}`),
	})
	gqlCheckUnits(t, infos, []string{
		`subscriptions-transport-ws connection_init name=null payload={} | `,
		`subscriptions-transport-ws start name="Greetings" id="5" payload={"query":"subscription Greetings { greetings }"} query="subscription Greetings { greetings }" | "Greetings" id="5" subscription Greetings { greetings }`,
		`subscriptions-transport-ws connection_ack name=null | `,
		`subscriptions-transport-ws ka name=null | `,
		`subscriptions-transport-ws data name="Greetings" id="5" payload={"data":{"greetings":"hi"}} | "Greetings" id="5" {"data":{"greetings":"hi"}}`,
		`subscriptions-transport-ws stop name="Greetings" id="5" | "Greetings" id="5"`,
		`subscriptions-transport-ws data name="Greetings" id="5" payload={"data":{"greetings":"hey"}} | "Greetings" id="5" {"data":{"greetings":"hey"}}`,
		`subscriptions-transport-ws complete name="Greetings" id="5" payload=null | "Greetings" id="5"`,
		`subscriptions-transport-ws connection_terminate name=null payload=null | `,
	})
	for i, a := range anoms {
		if len(a) > 0 {
			t.Errorf("message %d: %v", i+1, a)
		}
	}
}
