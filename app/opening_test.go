package app

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/wscap/wscap/decode"
)

// opening accepts each protocol's real first messages (as the libraries
// send them), rejects the others, and leaves undecided what cannot open
// the connection (the other direction, binary for engine.io).
func TestOpening(t *testing.T) {
	type c struct {
		client, binary bool
		p              string
		ok, decided    bool
	}
	accept := func(client, binary bool, p string) c { return c{client, binary, p, true, true} }
	reject := func(client, binary bool, p string) c { return c{client, binary, p, false, true} }
	wait := func(client, binary bool, p string) c { return c{client, binary, p, false, false} }
	const cl, sv, bin, txt = true, false, true, false
	for _, tc := range []struct {
		p     *protocol
		cases []c
	}{
		{protoMQTT, []c{
			// MQTT §3.1: the client's first packet is CONNECT; mqtt.js
			// writes its fixed header's first byte as a message of its own.
			accept(cl, bin, "\x10"),
			accept(cl, bin, "\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00"),
			accept(cl, bin, "\x10\x0d\x00\x06MQIsdp\x03\x02\x00\x3c"),
			reject(cl, bin, "\xc0\x00"),                   // PINGREQ
			reject(cl, bin, "\x30\x05\x00\x01ahi"),        // PUBLISH
			reject(cl, bin, "\x20\x02\x00\x00"),           // CONNACK from the client
			reject(cl, txt, "\x10\x0c\x00\x04MQTT\x04"),   // a text message
			reject(cl, txt, `{"type":"connection_init"}`), // wsgen's JSON
			wait(cl, bin, ""),
			wait(sv, bin, "\x20\x02\x00\x00"), // the server never speaks first
			wait(sv, bin, "\x10\x0c\x00\x04MQTT"),
			wait(sv, txt, "hello"),
		}},
		{protoGraphQLTransportWS, []c{
			accept(cl, txt, `{"type":"connection_init"}`),
			accept(cl, txt, `{"type":"connection_init","payload":{"token":"x"}}`),
			accept(cl, txt, ` {"payload":{},"type":"connection_init"}`),
			reject(cl, txt, `{"id":"1","type":"subscribe","payload":{"query":"{ a }"}}`),
			reject(cl, txt, `{"type":"ping"}`),
			reject(cl, txt, `{"event":"connection_init"}`),
			reject(cl, txt, `connection_init`),
			reject(cl, bin, `{"type":"connection_init"}`),
			wait(sv, txt, `{"type":"connection_ack"}`),
			wait(sv, txt, `{"type":"connection_init"}`),
		}},
		{protoSubscriptionsTransportWS, []c{
			accept(cl, txt, `{"type":"connection_init","payload":{}}`),
			reject(cl, txt, `{"id":"1","type":"start","payload":{"query":"{ a }"}}`),
			reject(cl, txt, `{"type":"connection_terminate"}`),
			wait(sv, txt, `{"type":"ka"}`),
		}},
		{protoWAMP, []c{
			// WAMP §5.1.1: HELLO, [1, Realm, Details].
			accept(cl, txt, `[1,"realm1",{"roles":{"caller":{}}}]`),
			accept(cl, txt, ` [ 1 , "realm1", {}]`),
			accept(cl, txt, "[1,\"realm1\",{}]\x1e"), // batched
			reject(cl, txt, `[48,7,{},"com.math.add"]`),
			reject(cl, txt, `[10,"x",{}]`),
			reject(cl, txt, `[1]`),
			reject(cl, txt, `{"a":1}`),
			reject(cl, txt, `hello`),
			reject(cl, bin, `[1,"realm1",{}]`),
			wait(sv, txt, `[2,1,{}]`),
			wait(sv, txt, `[1,"realm1",{}]`),
		}},
		{protoSTOMP, []c{
			// STOMP 1.2 "Connecting": CONNECT or STOMP.
			accept(cl, txt, "CONNECT\naccept-version:1.2,1.1,1.0\nheart-beat:10000,10000\n\n\x00"),
			accept(cl, txt, "STOMP\r\naccept-version:1.2\r\nhost:a\r\n\r\n\x00"),
			accept(cl, bin, "CONNECT\nhost:/\n\n\x00"),
			reject(cl, txt, "SEND\ndestination:/a\n\nx\x00"),
			reject(cl, txt, "CONNECTED\nversion:1.2\n\n\x00"),
			reject(cl, txt, "CONNECT to the server please"),
			reject(cl, txt, "\n"),
			reject(cl, txt, "hello"),
			wait(sv, txt, "CONNECTED\nversion:1.2\n\n\x00"),
			wait(sv, txt, "MESSAGE\ndestination:/a\n\nx\x00"),
		}},
		{protoSignalR, []c{
			// HubProtocol.md: the handshake request, JSON then 0x1E.
			accept(cl, txt, "{\"protocol\":\"json\",\"version\":1}\x1e"),
			accept(cl, txt, "{\"protocol\":\"messagepack\",\"version\":1}\x1e"),
			reject(cl, txt, "{\"type\":1,\"target\":\"Send\",\"arguments\":[]}\x1e"),
			reject(cl, txt, `{"protocol":"json","version":1}`),
			reject(cl, txt, "{}\x1e"),
			wait(sv, txt, "{}\x1e"),
		}},
		{protoEngineIO, []c{
			// engine.io protocol: the server's open packet, or the probe
			// after long-polling (client 2probe, server 3probe).
			accept(sv, txt, `0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`),
			accept(cl, txt, "2probe"),
			accept(sv, txt, "3probe"),
			reject(cl, txt, `42["chat message","hi"]`),
			reject(cl, txt, "40"),
			reject(sv, txt, "2"),
			reject(sv, txt, "0"),
			reject(cl, txt, "4hello"),
			reject(cl, txt, `{"seq":1}`),
			wait(cl, bin, "\x01\x02"),
			wait(sv, bin, `0{"sid":"a"}`),
		}},
		{protoSocketIO, []c{
			accept(sv, txt, `0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":5000}`),
			accept(cl, txt, "2probe"),
			reject(sv, txt, `40{"sid":"a"}`),
			reject(cl, txt, `42["x"]`),
			wait(cl, bin, "\x83\xa4type\x00"),
		}},
	} {
		open := opening(tc.p)
		if open == nil {
			t.Errorf("%s: no opening", tc.p.name)
			continue
		}
		for _, k := range tc.cases {
			ok, decided := open(&Msg{FromClient: k.client, Binary: k.binary, Payload: []byte(k.p)})
			if ok != k.ok || decided != k.decided {
				t.Errorf("%s: client=%v binary=%v %q: ok=%v decided=%v, want %v %v", tc.p.name, k.client, k.binary, k.p, ok, decided, k.ok, k.decided)
			}
		}
	}
	// The others have no fixed opening.
	for _, p := range []*protocol{protoJSONRPC, protoOCPP, protoPhoenix, protoSIP, protoJSON, protoMsgpack, protoCBOR, protoProtobuf} {
		if opening(p) != nil {
			t.Errorf("%s: an opening", p.name)
		}
	}
}

// openRun runs msgs through the layer of a WebSocket with handshake h and
// renders each message: its units' proto and type, "partial", and "!" and
// the anomaly's detail.
func openRun(t *testing.T, cfg *Config, h *decode.Handshake, msgs []swoMsg) (string, []string) {
	t.Helper()
	l := cfg.New(h, netip.MustParseAddrPort("10.0.0.1:50000"), netip.MustParseAddrPort("10.0.0.2:8080"))
	var out []string
	for _, m := range msgs {
		dm := &decode.Message{Opcode: decode.OpText, Payload: []byte(m.text), Truncated: m.incomplete}
		if m.binary {
			dm.Opcode = decode.OpBinary
		}
		role := decode.RoleClient
		if m.fromServer {
			role = decode.RoleServer
		}
		info, an := l.Message(dm, role, nil)
		var s []string
		if info != nil {
			if info.Partial {
				s = append(s, "partial")
			}
			for _, u := range info.Units {
				s = append(s, u.Proto+" "+u.Type)
			}
		}
		for _, a := range an {
			if a.Code != CodeMalformed || a.Severity != decode.SeverityWarning || a.Ref == "" {
				t.Errorf("anomaly %+v", a)
			}
			s = append(s, "! "+a.Detail)
		}
		out = append(out, strings.Join(s, "; "))
	}
	return l.Protocol(), out
}

func hsSub(sub string) *decode.Handshake {
	return &decode.Handshake{Method: "GET", Path: "/ws", Status: 101, Protocol: sub, OfferedProtocols: []string{sub}}
}

func hsPath(path string) *decode.Handshake {
	return &decode.Handshake{Method: "GET", Path: path, Status: 101}
}

// End to end: what the handshake claims is decoded only from its opening
// on; a connection that opens otherwise gets one anomaly and no label; a
// forced protocol needs no opening.
func TestOpeningConn(t *testing.T) {
	notOpen := func(p, first string) string {
		return "! " + p + ": the connection does not open as " + p + " does (" + first + "); it is not decoded as " + p
	}
	for _, tc := range []struct {
		name  string
		cfg   *Config
		h     *decode.Handshake
		msgs  []swoMsg
		want  []string
		after string
	}{
		{"mqtt opened", &Config{}, hsSub("mqtt"), []swoMsg{
			{fromServer: true, binary: true, text: "\x20\x02\x00\x00"},
			{binary: true, incomplete: true, text: "\xc0"},
			{binary: true, text: "\x10"},
			{binary: true, text: "\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00"},
			{fromServer: true, binary: true, text: "\x20\x02\x00\x00"},
		}, []string{"", "", "partial", "mqtt CONNECT", "mqtt CONNACK"}, "mqtt"},
		{"mqtt claimed by wsgen", &Config{}, hsSub("mqtt"), []swoMsg{
			swoCli(`{"seq":1}`),
			{binary: true, text: "\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00"},
			swoCli("CONNECT\naccept-version:1.2\nhost:a\n\n\x00"), // no other protocol's signature either
		}, []string{notOpen("mqtt", `first client message: text "{\"seq\":1}"`), "", ""}, ""},
		{"mqtt forced", &Config{Force: "mqtt"}, hsSub("mqtt"), []swoMsg{
			{binary: true, text: "\xc0\x00"},
		}, []string{"mqtt PINGREQ"}, "mqtt"},
		{"stomp claimed, binary bare after", &Config{}, hsSub("v12.stomp"), []swoMsg{
			swoCli("hello"),
			{binary: true, text: "\x81\xa1a\x01"}, // MessagePack {"a":1}: bare formats at most
		}, []string{notOpen("stomp", `first client message: text "hello"`), "msgpack object"}, ""},
		{"graphql opened", &Config{}, hsSub("graphql-transport-ws"), []swoMsg{
			swoSrv(`{"type":"ping"}`),
			swoCli(`{"type":"connection_init"}`),
			swoSrv(`{"type":"connection_ack"}`),
		}, []string{"", "graphql-transport-ws connection_init", "graphql-transport-ws connection_ack"}, "graphql-transport-ws"},
		{"wamp claimed by wsgen", &Config{}, hsSub("wamp.2.json"), []swoMsg{
			swoCli(`[48,7,{},"com.math.add"]`),
			swoCli(`[1,"realm1",{}]`),
		}, []string{notOpen("wamp", `first client message: text "[48,7,{},\"com.ma"...`), ""}, ""},
		{"socket.io path claimed by wsgen", &Config{}, hsPath("/socket.io/?EIO=4&transport=websocket"), []swoMsg{
			{binary: true, text: "\x01\x02\x03"},
			swoCli(`{"seq":1}`),
			swoSrv(`0{"sid":"a","upgrades":[],"pingInterval":25000,"pingTimeout":20000}`),
		}, []string{"", notOpen("socket.io", `first client message: text "{\"seq\":1}"`), ""}, ""},
		{"socket.io probe", &Config{}, hsPath("/socket.io/?EIO=4&transport=websocket&sid=x"), []swoMsg{
			swoCli("2probe"), swoSrv("3probe"), swoCli("5"), swoCli(`42["x"]`),
		}, []string{"engine.io ping", "engine.io pong", "engine.io upgrade", "socket.io EVENT"}, "socket.io"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, got := openRun(t, tc.cfg, tc.h, tc.msgs)
			if p != tc.after {
				t.Errorf("protocol %q, want %q", p, tc.after)
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// A protocol chosen by the handshake or the content, not forced, is given
// up after giveUpAfter messages in a row that do not parse, before any
// unit did; a message that parses or is not malformed resets the count;
// once a unit was decoded, or when forced, it never is.
func TestGiveUp(t *testing.T) {
	const suffix = "; 3 messages in a row did not parse: the connection is not decoded as "
	for _, tc := range []struct {
		name  string
		h     *decode.Handshake
		proto string
		bad   []swoMsg // giveUpAfter messages that do not parse
		good  swoMsg   // one that does
	}{
		{"ocpp subprotocol", hsSub("ocpp1.6"), "ocpp",
			[]swoMsg{swoCli(`hello`), swoSrv(`{"a":1}`), swoCli(`[9,"x",{}]`)}, swoCli(`[2,"1","Heartbeat",{}]`)},
		{"json-rpc subprotocol", hsSub("jsonrpc"), "json-rpc",
			[]swoMsg{swoCli(`hello`), swoSrv(`{"id":1}`), swoCli(`"x"`)}, swoCli(`{"jsonrpc":"2.0","method":"tick"}`)},
		{"phoenix path", hsPath("/socket/websocket?vsn=2.0.0"), "phoenix",
			[]swoMsg{swoCli(`hello`), swoSrv(`[1,2]`), swoCli(`{"topic":"t"}`)}, swoCli(`[null,"1","phoenix","heartbeat",{}]`)},
		{"sip subprotocol", hsSub("sip"), "sip",
			[]swoMsg{swoCli("hello"), swoSrv("SIP/2.0 2000 OK\r\n\r\n"), swoCli("INVITE sip:a@b SIP/3.0\r\n\r\n")}, swoCli("\r\n\r\n")},
		{"stomp opened by a bad CONNECT", hsSub("v12.stomp"), "stomp",
			[]swoMsg{swoCli("CONNECT\naccept-version\n\n\x00"), swoSrv("HELLO\n\n\x00"), swoCli("SEND\ndestination\n\n\x00")}, swoSrv("CONNECTED\nversion:1.2\n\n\x00")},
		{"engine.io path", hsPath("/engine.io/?EIO=4"), "engine.io",
			[]swoMsg{swoSrv("0{bad"), swoCli("7x"), swoCli("")}, swoSrv("2")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Given up at the third.
			msgs := append(append([]swoMsg{}, tc.bad...), tc.good)
			p, got := openRun(t, &Config{}, tc.h, msgs)
			if p != "" {
				t.Errorf("given up: protocol %q", p)
			}
			for i, g := range got[:len(tc.bad)] {
				if !strings.HasPrefix(g, "! "+tc.proto+": ") || strings.Count(g, "! ") != 1 || strings.HasSuffix(g, suffix+tc.proto+" any more") != (i == len(tc.bad)-1) {
					t.Errorf("message %d: %s", i+1, g)
				}
			}
			if g := got[len(tc.bad)]; g != "" {
				t.Errorf("after giving up: %s", g)
			}
			// A message that parses in between resets the count, and then
			// the connection is never given up.
			msgs = append(append(append([]swoMsg{}, tc.bad[:2]...), tc.good), tc.bad...)
			msgs = append(msgs, tc.bad...)
			msgs = append(msgs, tc.good)
			p, got = openRun(t, &Config{}, tc.h, msgs)
			if p != tc.proto || !strings.HasPrefix(got[len(got)-1], tc.proto+" ") {
				t.Errorf("with a unit: protocol %q, %q", p, got)
			}
			// Forced: never.
			p, got = openRun(t, &Config{Force: tc.proto}, tc.h, append(append(append([]swoMsg{}, tc.bad...), tc.bad...), tc.good))
			if p != tc.proto || !strings.HasPrefix(got[len(got)-1], tc.proto+" ") {
				t.Errorf("forced: protocol %q, %q", p, got)
			}
			for _, g := range got {
				if strings.Contains(g, suffix) {
					t.Errorf("forced: %s", g)
				}
			}
		})
	}
	// Chosen by content: the same rule.
	p, got := openRun(t, &Config{}, hsPath("/ws"), []swoMsg{
		swoCli(`[2,"1a","BootNotification",{"chargePointVendor":"v","chargePointModel":"m"}]`),
		swoCli(`hello`), swoCli(`hello`), swoCli(`hello`),
	})
	if p != "ocpp" || got[0] != "ocpp CALL" {
		t.Errorf("content, with a unit: %q %q", p, got)
	}
	// Giving up stops sniffing too: no other protocol takes the connection.
	p, got = openRun(t, &Config{}, hsSub("ocpp1.6"), []swoMsg{
		swoCli(`hello`), swoCli(`hello`), swoCli(`hello`),
		swoCli("CONNECT\naccept-version:1.2\nhost:a\n\n\x00"),
	})
	if p != "" || got[3] != "" {
		t.Errorf("sniffed after giving up: %q %q", p, got)
	}
}
