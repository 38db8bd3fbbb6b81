package app

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/wscap/wscap/decode"
)

// wm is one test message: c from the client, b binary, inc incomplete.
type wm struct {
	c, b, inc bool
	p         string
}

func cli(p string) wm  { return wm{c: true, p: p} }
func srv(p string) wm  { return wm{p: p} }
func cliB(p string) wm { return wm{c: true, b: true, p: p} }
func srvB(p string) wm { return wm{b: true, p: p} }

// appRun runs msgs through a connection's layer as decode would (path
// "" : no handshake) and returns the protocol chosen and one line per
// message: its units ("; " between), "partial", and "!" anomalies.
func appRun(t testing.TB, path, sub string, msgs []wm) (string, []string) {
	return appRunCfg(t, &Config{}, path, sub, msgs)
}

// appRunCfg is appRun with a configuration (cfg.Force to decode a
// conversation taken anywhere, without waiting for its opening).
// checkLines compares the lines rendered for messages with want, line by
// line ("*" in want takes any line); name, if set, names message i in
// the errors.
func checkLines(t *testing.T, got, want []string, name func(i int) string) {
	t.Helper()
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w && w != "*" {
			about := ""
			if name != nil {
				about = name(i)
			}
			t.Errorf("message %d%s:\n got %s\nwant %s", i+1, about, g, w)
		}
	}
}

func appRunCfg(t testing.TB, cfg *Config, path, sub string, msgs []wm) (string, []string) {
	var h *decode.Handshake
	if path != "" || sub != "" {
		h = &decode.Handshake{Method: "GET", Path: path, Status: 101, Protocol: sub}
	}
	l := cfg.New(h, netip.MustParseAddrPort("10.0.0.1:5000"), netip.MustParseAddrPort("10.0.0.2:80"))
	var out []string
	for _, m := range msgs {
		op := decode.OpText
		if m.b {
			op = decode.OpBinary
		}
		dm := &decode.Message{Opcode: op, Payload: []byte(m.p), Truncated: m.inc}
		from := decode.RoleServer
		if m.c {
			from = decode.RoleClient
		}
		app, an := l.Message(dm, from, nil)
		var parts []string
		if app != nil {
			if app.Partial {
				parts = append(parts, "partial")
			}
			for i := range app.Units {
				parts = append(parts, unitLine(t, &app.Units[i]))
			}
		}
		for _, a := range an {
			parts = append(parts, "!"+string(a.Code)+": "+a.Detail)
		}
		out = append(out, strings.Join(parts, "; "))
	}
	return l.Protocol(), out
}

// unitLine renders u compactly and checks its JSON and Info.
func unitLine(t testing.TB, u *Unit) string {
	var b strings.Builder
	b.WriteString(u.Proto + " " + u.Type)
	if u.HasName {
		b.WriteString(" name=" + string(jstr(u.Name)))
	}
	if u.ID != nil {
		b.WriteString(" id=" + string(u.ID))
		if !json.Valid(u.ID) {
			t.Errorf("id %q is not JSON", u.ID)
		}
	}
	for _, f := range u.Fields {
		b.WriteString(" " + f.Key + "=" + string(f.Value))
		if !json.Valid(f.Value) {
			t.Errorf("field %s %q is not JSON", f.Key, f.Value)
		}
	}
	if u.Value != nil && !json.Valid(u.Value) {
		t.Errorf("value %q is not JSON", u.Value)
	}
	if strings.ContainsAny(u.Info, "\r\n") {
		t.Errorf("info %q has a line break", u.Info)
	}
	b.WriteString(" | " + u.Info)
	return b.String()
}

func TestSocketIO(t *testing.T) {
	const v4open = `0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`
	for _, tc := range []struct {
		name, path string
		force      string // --app: the decoder on a conversation taken anywhere
		msgs       []wm
		proto      string
		want       []string
	}{
		{
			// socket.io-protocol "Connection to a namespace", "Sending
			// and receiving data", "Acknowledgement", v5 over EIO 4.
			name: "v5 session", path: "/socket.io/?EIO=4&transport=websocket",
			msgs: []wm{
				srv(v4open),
				cli("40"),
				srv(`40{"sid":"wZX3oN0bSVIhsaknAAAI"}`),
				cli(`42["chat message","hi"]`),
				cli(`42/admin,13["project:delete",123]`),
				srv(`43/admin,13[]`),
				srv(`4212["hello",{"a":1}]`),
				cli(`4312["ok"]`),
				srv("2"),
				cli("3"),
				cli(`41/admin,`),
				srv(`44{"message":"Not authorized"}`),
				srv(`44/admin,{"message":"Not authorized","data":{"x":1}}`),
				cli(`40/admin,{"token":"123"}`),
				srv("1"),
			},
			proto: "socket.io",
			want: []string{
				`engine.io open data={"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000} | {"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":[],"pingInterval":…`,
				`socket.io CONNECT namespace="/" | `,
				`socket.io CONNECT namespace="/" data={"sid":"wZX3oN0bSVIhsaknAAAI"} | {"sid":"wZX3oN0bSVIhsaknAAAI"}`,
				`socket.io EVENT name="chat message" namespace="/" args=["hi"] | "chat message" ["hi"]`,
				`socket.io EVENT name="project:delete" id=13 namespace="/admin" args=[123] | /admin "project:delete" [123] ack=13`,
				`socket.io ACK id=13 namespace="/admin" args=[] | /admin [] ack=13`,
				`socket.io EVENT name="hello" id=12 namespace="/" args=[{"a":1}] | "hello" [{"a":1}] ack=12`,
				`socket.io ACK id=12 namespace="/" args=["ok"] | ["ok"] ack=12`,
				`engine.io ping | `,
				`engine.io pong | `,
				`socket.io DISCONNECT namespace="/admin" | /admin`,
				`socket.io CONNECT_ERROR namespace="/" data={"message":"Not authorized"} | {"message":"Not authorized"}`,
				`socket.io CONNECT_ERROR namespace="/admin" data={"message":"Not authorized","data":{"x":1}} | /admin {"message":"Not authorized","data":{"x":1}}`,
				`socket.io CONNECT namespace="/admin" data={"token":"123"} | /admin {"token":"123"}`,
				`engine.io close | `,
			},
		},
		{
			// Polling upgraded to WebSocket: the probe (engine.io-protocol
			// "Upgrade"), then binary events whose attachments follow.
			name: "upgrade and binary v4", path: "/socket.io/?EIO=4&transport=websocket&sid=lv_VI97HAXpY6yYWAAAC",
			msgs: []wm{
				cli("2probe"),
				srv("3probe"),
				cli("5"),
				cli(`451-["baz",{"_placeholder":true,"num":0}]`),
				cliB("\x01\x02\x03"),
				srv(`462-/admin,15[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`),
				srvB("\xff"),
				srvB("ab"),
				srv("6"),
			},
			proto: "socket.io",
			want: []string{
				`engine.io ping data="probe" | "probe"`,
				`engine.io pong data="probe" | "probe"`,
				`engine.io upgrade | `,
				`partial`,
				`socket.io BINARY_EVENT name="baz" namespace="/" args=[{"_placeholder":true,"num":0}] attachments=1 attachments_base64=["AQID"] | "baz" [{"_placeholder":true,"num":0}] (1 attachment, 3 bytes)`,
				`partial`,
				`partial`,
				`socket.io BINARY_ACK id=15 namespace="/admin" args=[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}] attachments=2 attachments_base64=["/w==","YWI="] | /admin [{"_placeholder":true,"num":0},{"_placeholder":true,"num":1… ack=15 (2 attachments, 3 bytes)`,
				`engine.io noop | `,
			},
		},
		{
			// socket.io 2.x (protocol 4) over engine.io v3: the server
			// connects "/" itself, the client pings, binary messages
			// carry the packet type byte 4, namespaces may carry a query.
			name: "v2 over EIO 3", path: "/socket.io/?EIO=3&transport=websocket",
			msgs: []wm{
				srv(`0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":5000}`),
				srv("40"),
				cli(`40/chat?token=x,`),
				srv(`40/chat`),
				cli("2"),
				srv("3"),
				srv(`451-/chat,["file",{"_placeholder":true,"num":0}]`),
				srvB("\x04hello"),
				cli(`44"Not authorized"`),
				cliB("\x04\x00"),
				cli("b4AQID"),
			},
			proto: "socket.io",
			want: []string{
				`engine.io open data={"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":5000} | {"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeou…`,
				`socket.io CONNECT namespace="/" | `,
				`socket.io CONNECT namespace="/chat" | /chat`,
				`socket.io CONNECT namespace="/chat" | /chat`,
				`engine.io ping | `,
				`engine.io pong | `,
				`partial`,
				`socket.io BINARY_EVENT name="file" namespace="/chat" args=[{"_placeholder":true,"num":0}] attachments=1 attachments_base64=["aGVsbG8="] | /chat "file" [{"_placeholder":true,"num":0}] (1 attachment, 5 bytes)`,
				`socket.io CONNECT_ERROR namespace="/" data="Not authorized" | "Not authorized"`,
				`!app_malformed: socket.io: binary message of 1 bytes without a BINARY_EVENT or BINARY_ACK waiting for attachments`,
				`!app_malformed: socket.io: binary message of 3 bytes without a BINARY_EVENT or BINARY_ACK waiting for attachments`,
			},
		},
		{
			// Without a handshake: the open packet says engine.io, the
			// first message packet says socket.io; the server's pings
			// make it v4, so binary has no type byte.
			name: "sniffed", path: "",
			msgs: []wm{
				srv(`0{"sid":"x","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000}`),
				cli(`40`),
				srv("2"),
				cli("3"),
				cli(`451-["up",{"_placeholder":true,"num":0}]`),
				cliB("\x04\x05"),
			},
			proto: "engine.io",
			want: []string{
				`engine.io open data={"sid":"x","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000} | {"sid":"x","upgrades":["websocket"],"pingInterval":25000,"p…`,
				`socket.io CONNECT namespace="/" | `,
				`engine.io ping | `,
				`engine.io pong | `,
				`partial`,
				`socket.io BINARY_EVENT name="up" namespace="/" args=[{"_placeholder":true,"num":0}] attachments=1 attachments_base64=["BAU="] | "up" [{"_placeholder":true,"num":0}] (1 attachment, 2 bytes)`,
			},
		},
		{
			name: "sniffed event", path: "",
			msgs: []wm{
				cli(`42["chat message","hi"]`),
				srv(`42["chat message","hi"]`),
			},
			proto: "socket.io",
			want: []string{
				`socket.io EVENT name="chat message" namespace="/" args=["hi"] | "chat message" ["hi"]`,
				`socket.io EVENT name="chat message" namespace="/" args=["hi"] | "chat message" ["hi"]`,
			},
		},
		{
			// engine.io alone (its own path): message data as is.
			name: "engine.io only", path: "/engine.io/?EIO=4&transport=websocket",
			msgs: []wm{
				srv(v4open),
				cli("4hello"),
				srv(`42["not socket.io here"]`),
				cliB("\x01\x02\xff"),
				srvB("text"),
				cli(`4`),
				cli(`7x`),
				cli(``),
			},
			proto: "engine.io",
			want: []string{
				`engine.io open data={"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000} | {"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":[],"pingInterval":…`,
				`engine.io message data="hello" | "hello"`,
				`engine.io message data="2[\"not socket.io here\"]" | "2[\"not socket.io here\"]"`,
				`engine.io message data_base64="AQL/" | (3 bytes)`,
				`engine.io message data="text" | "text"`,
				`engine.io message data="" | ""`,
				`!app_malformed: engine.io: unknown packet type '7'`,
				`!app_malformed: engine.io: empty text message`,
			},
		},
		{
			// A custom path with EIO: the first message packet is not
			// socket.io, so it stays engine.io.
			name: "custom path engine.io", path: "/rt/?EIO=4&transport=websocket",
			msgs:  []wm{srv(v4open), cli("4hello"), cli(`42["x"]`)},
			proto: "engine.io",
			want: []string{
				`engine.io open data={"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000} | {"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":[],"pingInterval":…`,
				`engine.io message data="hello" | "hello"`,
				`engine.io message data="2[\"x\"]" | "2[\"x\"]"`,
			},
		},
		{
			name: "custom path socket.io", path: "/rt/?EIO=4&transport=websocket",
			msgs:  []wm{srv(v4open), cli("40"), cli(`42["x"]`)},
			proto: "engine.io",
			want: []string{
				`engine.io open data={"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000} | {"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":[],"pingInterval":…`,
				`socket.io CONNECT namespace="/" | `,
				`socket.io EVENT name="x" namespace="/" args=[] | "x" []`,
			},
		},
		{
			name: "malformed socket.io", path: "/socket.io/?EIO=4&transport=websocket", force: "socket.io",
			msgs: []wm{
				cli(`4hello`),
				cli(`42{"a":1}`),
				cli(`42[1`),
				cli(`45["x"]`),
				cli(`41{}`),
				cli(`40"x"`),
				cli(`452-["x",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`),
				cliB("a"),
				cli(`42[7,"numbered"]`),
				cli(`42[{"a":1}]`),
				cli("41/a\nb,"),
			},
			proto: "socket.io",
			want: []string{
				`!app_malformed: socket.io: message packet is not a socket.io packet: "hello"`,
				`!app_malformed: socket.io: message packet is not a socket.io packet: "2{\"a\":1}"`,
				`!app_malformed: socket.io: message packet is not a socket.io packet: "2[1"`,
				`!app_malformed: socket.io: message packet is not a socket.io packet: "5[\"x\"]"`,
				`!app_malformed: socket.io: message packet is not a socket.io packet: "1{}"`,
				`!app_malformed: socket.io: message packet is not a socket.io packet: "0\"x\""`,
				`partial`,
				`partial`,
				`socket.io EVENT name="7" namespace="/" args=["numbered"] | "7" ["numbered"]; !app_malformed: socket.io: BINARY_EVENT ended after 1 of its 2 attachments`,
				`!app_malformed: socket.io: message packet is not a socket.io packet: "2[{\"a\":1}]"`,
				`socket.io DISCONNECT namespace="/a\nb" | "/a\nb"`,
			},
		},
		{
			// socket.io-msgpack-parser: every packet is a binary
			// message; shown as engine.io messages.
			name: "other parser", path: "/socket.io/?EIO=4&transport=websocket",
			msgs: []wm{
				srv(v4open),
				cliB("\x83\xa4type\x00\xa4data\xc0\xa3nsp\xa1/"),
				srv("2"),
			},
			proto: "socket.io",
			want: []string{
				`engine.io open data={"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000} | {"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":[],"pingInterval":…`,
				`engine.io message data_base64="g6R0eXBlAKRkYXRhwKNuc3ChLw==" | (19 bytes)`,
				`engine.io ping | `,
			},
		},
		{
			// An incomplete message drops the packet waiting for its
			// attachments, without an anomaly.
			name: "incomplete", path: "/socket.io/?EIO=4", force: "socket.io",
			msgs: []wm{
				srv(`451-["x",{"_placeholder":true,"num":0}]`),
				{b: true, inc: true, p: "\x00\x01"},
				srvB("\x02"),
				{inc: true, p: `42["cut`},
				srv(`42["next"]`),
			},
			proto: "socket.io",
			want: []string{
				`partial`,
				``,
				`!app_malformed: socket.io: binary message of 1 bytes without a BINARY_EVENT or BINARY_ACK waiting for attachments`,
				``,
				`socket.io EVENT name="next" namespace="/" args=[] | "next" []`,
			},
		},
		{
			// Attachments pending in one direction are not disturbed by
			// the other direction.
			name: "directions", path: "/socket.io/?EIO=4", force: "socket.io",
			msgs: []wm{
				cli(`451-["x",{"_placeholder":true,"num":0}]`),
				srv(`42["y"]`),
				srv("2"),
				cliB("z"),
			},
			proto: "socket.io",
			want: []string{
				`partial`,
				`socket.io EVENT name="y" namespace="/" args=[] | "y" []`,
				`engine.io ping | `,
				`socket.io BINARY_EVENT name="x" namespace="/" args=[{"_placeholder":true,"num":0}] attachments=1 attachments_base64=["eg=="] | "x" [{"_placeholder":true,"num":0}] (1 attachment, 1 bytes)`,
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			proto, got := appRunCfg(t, &Config{Force: tc.force}, tc.path, "", tc.msgs)
			if proto != tc.proto {
				t.Errorf("protocol %q, want %q", proto, tc.proto)
			}
			checkLines(t, got, tc.want, func(i int) string { return fmt.Sprintf(" (%q)", tc.msgs[min(i, len(tc.msgs)-1)].p) })
		})
	}
}

func TestSocketIODetection(t *testing.T) {
	for _, tc := range []struct {
		path  string
		msgs  []wm
		proto string
	}{
		{"/socket.io/?EIO=4&transport=websocket", nil, "socket.io"},
		{"/socket.io", nil, "socket.io"},
		{"/app/socket.io/?EIO=3&transport=websocket", nil, "socket.io"},
		{"/engine.io/?EIO=4&transport=websocket", nil, "engine.io"},
		{"/custom/?EIO=4&transport=websocket", nil, "engine.io"},
		{"/chat", []wm{cli("2probe")}, "engine.io"},
		{"/chat", []wm{srv(`0{"sid":"a","upgrades":[],"pingInterval":25000,"pingTimeout":20000}`)}, "engine.io"},
		{"/chat", []wm{srv(`0{"upgrades": ["websocket"], "sid": "a", "pingInterval": 25000}`)}, "engine.io"},
		{"/chat", []wm{srv(`40{"sid":"a"}`)}, "socket.io"},
		{"/chat", []wm{srv(`42["x",1]`)}, "socket.io"},
		{"/chat", []wm{srv(`430[]`)}, "socket.io"},
		{"/chat", []wm{srv(`451-["x",{"_placeholder":true,"num":0}]`)}, "socket.io"},
		// Not enough.
		{"/chat", []wm{cli("40"), cli("2"), cli("3"), cli("41"), cli("hello"), cli("42"), cli("4hello")}, ""},
		{"/chat", []wm{cli(`0{"sid":"a"}`), cli(`0{"id":1,"upgrades":[]}`), cli(`0{"sid":1,"upgrades":[]}`), cli(`0{"sid":"a","upgrades":[]`)}, ""},
		{"/chat", []wm{cli(`42[1`), cli(`42{"a":1}`), cli(`42[{"a":1}]`), cli(`4`), cli(`2probe `)}, ""},
		{"/chat", []wm{cliB("2probe"), cliB(`42["x"]`), cliB("\x04\x01")}, "msgpack"},
		{"/chat?eio=4&EIO", []wm{cli(`4hello`)}, ""},
	} {
		proto, _ := appRun(t, tc.path, "", tc.msgs)
		if tc.proto == "msgpack" {
			tc.proto = "" // binary junk: bare, no protocol
		}
		if proto != tc.proto {
			t.Errorf("%s %v: protocol %q, want %q", tc.path, tc.msgs, proto, tc.proto)
		}
	}
}

// FuzzSocketIO feeds arbitrary message sequences to the engine.io and
// socket.io decoder: no panic, every value JSON, no line break in Info.
func FuzzSocketIO(f *testing.F) {
	for _, s := range []string{
		"T0{\"sid\":\"a\",\"upgrades\":[],\"pingInterval\":1}\x00t40\x00T40{\"sid\":\"b\"}\x00t42[\"a\",1]",
		"t451-[\"x\",{\"_placeholder\":true,\"num\":0}]\x00b\x01\x02\x00B\x04\x03",
		"t2probe\x00T3probe\x00t5\x00T2\x00t3\x00t4hi\x00tb4AQID",
		"t462-/a?x=1,15[{},{}]\x00b\x00\x00b\x00\x00t41/a,\x00T44\"no\"",
	} {
		f.Add(uint8(0), []byte(s))
		f.Add(uint8(1), []byte(s))
		f.Add(uint8(2), []byte(s))
		f.Add(uint8(3), []byte(s))
	}
	paths := []string{"", "/socket.io/?EIO=4", "/socket.io/?EIO=3", "/x/?EIO=4"}
	f.Fuzz(func(t *testing.T, path uint8, b []byte) {
		var msgs []wm
		for _, part := range strings.Split(string(b), "\x00") {
			if part == "" {
				continue
			}
			k := part[0]
			msgs = append(msgs, wm{c: k == 't' || k == 'b' || k&1 == 1, b: k == 'b' || k == 'B', inc: k == 'i', p: part[1:]})
		}
		appRun(t, paths[int(path)%len(paths)], "", msgs)
		appRunCfg(t, &Config{Force: "socket.io"}, paths[int(path)%len(paths)], "", msgs)
	})
}

// TestSocketIOAttachmentBounds: attachments past sioMaxPending are counted,
// not kept; a header cannot announce more than sioMaxAttachments.
func TestSocketIOAttachmentBounds(t *testing.T) {
	big := strings.Repeat("x", sioMaxPending/2+1)
	_, got := appRunCfg(t, &Config{Force: "socket.io"}, "/socket.io/?EIO=4", "", []wm{
		cli(`452-["big",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`),
		cliB(big),
		cliB(big),
		cli(`451048577-["x"]`),
		cli(`450-["none"]`),
	})
	want := []string{
		"partial",
		"partial",
		`socket.io BINARY_EVENT name="big" namespace="/" args=[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}] attachments=2 | "big" [{"_placeholder":true,"num":0},{"_placeholder":true,"num":1… (2 attachments, over 8 MiB, not kept)`,
		`!app_malformed: socket.io: message packet is not a socket.io packet: "51048577-[\"x\"]"`,
		`socket.io BINARY_EVENT name="none" namespace="/" args=[] attachments=0 | "none" [] (0 attachments)`,
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("message %d:\n got %s\nwant %s", i+1, got[i], want[i])
		}
	}
}

// TestSocketIOAttachmentsBounded: a BINARY_EVENT that announces 2^20
// attachments (the most parsed), followed by empty binary messages, keeps
// its state under the limit on pending bytes: empty ones count too.
func TestSocketIOAttachmentsBounded(t *testing.T) {
	l := (&Config{Force: "socket.io"}).New(nil, fmtClientAP, fmtServerAP)
	d := l.dec.(*eioDecoder)
	fmtSend(t, l, true, false, []byte(`451048576-["e",{"_placeholder":true,"num":0}]`))
	for range 1_000_000 {
		fmtSend(t, l, true, true, nil)
	}
	if n := d.size(); n > sioMaxPending+64<<10 {
		t.Errorf("%d bytes of state after a million empty attachments (%d kept)", n, len(d.dir[1].atts))
	}
}
