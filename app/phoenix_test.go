package app

import (
	"fmt"
	"strings"
	"testing"
)

// phxBin builds a message of Phoenix's v2 binary serializer.
func phxBin(kind byte, fields []string, payload string) string {
	b := []byte{kind}
	for _, f := range fields {
		b = append(b, byte(len(f)))
	}
	for _, f := range fields {
		b = append(b, f...)
	}
	return string(append(b, payload...))
}

func TestPhoenix(t *testing.T) {
	for _, tc := range []struct {
		name, path string
		force      string // --app: the decoder on anything, never given up
		msgs       []wm
		proto      string
		want       []string
	}{
		{
			// "Writing a channels client": join, reply, push, broadcast,
			// heartbeat, leave (v2 array serializer).
			name: "v2", path: "/socket/websocket?token=x&vsn=2.0.0",
			msgs: []wm{
				cli(`["3","3","room:lobby","phx_join",{"token":"abc"}]`),
				srv(`["3","3","room:lobby","phx_reply",{"response":{},"status":"ok"}]`),
				cli(`["3","4","room:lobby","new_msg",{"body":"hi"}]`),
				srv(`[null,null,"room:lobby","new_msg",{"body":"hi"}]`),
				cli(`[null,"5","phoenix","heartbeat",{}]`),
				srv(`[null,"5","phoenix","phx_reply",{"response":{},"status":"ok"}]`),
				srv(`["3","6","room:lobby","phx_reply",{"response":{"reason":"unauthorized"},"status":"error"}]`),
				cli(`["3","7","room:lobby","phx_leave",{}]`),
				srv(`["3","3","room:lobby","phx_close",{}]`),
				srv(`["3",null,"room:lobby","phx_error",{}]`),
			},
			proto: "phoenix",
			want: []string{
				`phoenix phx_join name="room:lobby" id="3" join_ref="3" payload={"token":"abc"} | "room:lobby" {"token":"abc"} ref=3`,
				`phoenix phx_reply name="room:lobby" id="3" join_ref="3" payload={"response":{},"status":"ok"} status="ok" | "room:lobby" ok {} ref=3`,
				`phoenix new_msg name="room:lobby" id="4" join_ref="3" payload={"body":"hi"} | "room:lobby" {"body":"hi"} ref=4`,
				`phoenix new_msg name="room:lobby" join_ref=null payload={"body":"hi"} | "room:lobby" {"body":"hi"}`,
				`phoenix heartbeat name="phoenix" id="5" join_ref=null payload={} | "phoenix" {} ref=5`,
				`phoenix phx_reply name="phoenix" id="5" join_ref=null payload={"response":{},"status":"ok"} status="ok" | "phoenix" ok {} ref=5`,
				`phoenix phx_reply name="room:lobby" id="6" join_ref="3" payload={"response":{"reason":"unauthorized"},"status":"error"} status="error" | "room:lobby" error {"reason":"unauthorized"} ref=6`,
				`phoenix phx_leave name="room:lobby" id="7" join_ref="3" payload={} | "room:lobby" {} ref=7`,
				`phoenix phx_close name="room:lobby" id="3" join_ref="3" payload={} | "room:lobby" {} ref=3`,
				`phoenix phx_error name="room:lobby" join_ref="3" payload={} | "room:lobby" {}`,
			},
		},
		{
			// v1 object serializer, sniffed without a handshake.
			name: "v1 sniffed",
			msgs: []wm{
				cli(`{"topic":"rooms:lobby","event":"phx_join","payload":{},"ref":"1","join_ref":"1"}`),
				srv(`{"topic":"rooms:lobby","ref":"1","payload":{"status":"ok","response":{"n":1}},"event":"phx_reply"}`),
				cli(`{"topic":"phoenix","event":"heartbeat","payload":{},"ref":2}`),
				srv(`{"topic":"rooms:lobby","ref":null,"payload":{"body":"x"},"event":"new_msg"}`),
			},
			proto: "phoenix",
			want: []string{
				`phoenix phx_join name="rooms:lobby" id="1" join_ref="1" payload={} | "rooms:lobby" {} ref=1`,
				`phoenix phx_reply name="rooms:lobby" id="1" payload={"status":"ok","response":{"n":1}} status="ok" | "rooms:lobby" ok {"n":1} ref=1`,
				`phoenix heartbeat name="phoenix" id=2 payload={} | "phoenix" {} ref=2`,
				`phoenix new_msg name="rooms:lobby" payload={"body":"x"} | "rooms:lobby" {"body":"x"}`,
			},
		},
		{
			// The v2 binary serializer (phoenix.js serializer.js).
			name: "v2 binary", path: "/socket/websocket?vsn=2.0.0",
			msgs: []wm{
				cliB(phxBin(0, []string{"1", "2", "room:bin", "upload"}, "\x00\x01\xff")),
				srvB(phxBin(1, []string{"1", "2", "room:bin", "ok"}, "done")),
				srvB(phxBin(0, []string{"1", "room:bin", "pushed"}, "\x01")),
				srvB(phxBin(2, []string{"room:bin", "bcast"}, "")),
				srvB("\x02\x05\x01ab"),
				srvB("\x07"),
				cliB(phxBin(2, []string{"t", "e"}, "")),
				srvB("\x02\x01"),
			},
			proto: "phoenix",
			want: []string{
				`phoenix upload name="room:bin" id="2" join_ref="1" payload_base64="AAH/" | "room:bin" (3 bytes) ref=2`,
				`phoenix phx_reply name="room:bin" id="2" join_ref="1" payload="done" status="ok" | "room:bin" ok (4 bytes) ref=2`,
				`phoenix pushed name="room:bin" join_ref="1" payload="\u0001" | "room:bin" (1 bytes)`,
				`phoenix bcast name="room:bin" join_ref=null payload="" | "room:bin" (0 bytes)`,
				`!app_malformed: phoenix: binary message: topic of 5 bytes past the end (5 bytes)`,
				`!app_malformed: phoenix: binary message of kind 7 from the server`,
				`!app_malformed: phoenix: binary message of kind 2 from the client`,
				`!app_malformed: phoenix: binary message of 2 bytes is shorter than its 3-byte header`,
			},
		},
		{
			name: "malformed", path: "/live/websocket?vsn=2.0.0&_csrf_token=x", force: "phoenix",
			msgs: []wm{
				cli(`hello`),
				cli(`[null,"1","t","e"]`),
				cli(`[null,"1","t","e",{},6]`),
				cli(`[null,"1",3,"e",{}]`),
				cli(`[null,{},"t","e",{}]`),
				cli(`{"topic":"t","event":"e"}`),
				cli(`[null,"1","t","",{}]`),
				{c: true, inc: true, p: `[null,"1","t","e",{`},
				cli(` [ "4", "4", "lv:phx-F", "event", {"type": "click", "value": {"x": 1}} ] `),
			},
			proto: "phoenix",
			want: []string{
				`!app_malformed: phoenix: text message is not a Phoenix message ([join_ref, ref, topic, event, payload] or {"topic","event","payload","ref"})`,
				`!app_malformed: phoenix: text message is not a Phoenix message ([join_ref, ref, topic, event, payload] or {"topic","event","payload","ref"})`,
				`!app_malformed: phoenix: text message is not a Phoenix message ([join_ref, ref, topic, event, payload] or {"topic","event","payload","ref"})`,
				`!app_malformed: phoenix: text message is not a Phoenix message ([join_ref, ref, topic, event, payload] or {"topic","event","payload","ref"})`,
				`!app_malformed: phoenix: text message is not a Phoenix message ([join_ref, ref, topic, event, payload] or {"topic","event","payload","ref"})`,
				`!app_malformed: phoenix: text message is not a Phoenix message ([join_ref, ref, topic, event, payload] or {"topic","event","payload","ref"})`,
				`!app_malformed: phoenix: text message is not a Phoenix message ([join_ref, ref, topic, event, payload] or {"topic","event","payload","ref"})`,
				``,
				`phoenix event name="lv:phx-F" id="4" join_ref="4" payload={"type":"click","value":{"x":1}} | "lv:phx-F" {"type":"click","value":{"x":1}} ref=4`,
			},
		},
		{
			// Chosen by the path, not forced: 3 messages in a row that do
			// not parse, before any did, and the connection is given up.
			name: "given up", path: "/live/websocket?vsn=2.0.0&_csrf_token=x",
			msgs: []wm{
				cli(`hello`),
				srv(`[null,"1","t","e"]`),
				cli(`{"topic":"t","event":"e"}`),
				cli(`[null,"5","phoenix","heartbeat",{}]`),
			},
			proto: "",
			want: []string{
				`!app_malformed: phoenix: text message is not a Phoenix message ([join_ref, ref, topic, event, payload] or {"topic","event","payload","ref"})`,
				`!app_malformed: phoenix: text message is not a Phoenix message ([join_ref, ref, topic, event, payload] or {"topic","event","payload","ref"})`,
				`!app_malformed: phoenix: text message is not a Phoenix message ([join_ref, ref, topic, event, payload] or {"topic","event","payload","ref"}); 3 messages in a row did not parse: the connection is not decoded as phoenix any more`,
				``,
			},
		},
		{
			// A message that parses resets the count, and once one did the
			// connection is never given up; an incomplete message is no
			// malformed one.
			name: "not given up", path: "/live/websocket?vsn=2.0.0&_csrf_token=x",
			msgs: []wm{
				cli(`hello`),
				cli(`hello`),
				{c: true, inc: true, p: `[null,"1","t","e",{`},
				cli(`[null,"5","phoenix","heartbeat",{}]`),
				cli(`hello`), cli(`hello`), cli(`hello`),
				srv(`[null,"5","phoenix","phx_reply",{"response":{},"status":"ok"}]`),
			},
			proto: "phoenix",
			want: []string{
				`!app_malformed: phoenix: text message is not a Phoenix message ([join_ref, ref, topic, event, payload] or {"topic","event","payload","ref"})`,
				`!app_malformed: phoenix: text message is not a Phoenix message ([join_ref, ref, topic, event, payload] or {"topic","event","payload","ref"})`,
				``,
				`phoenix heartbeat name="phoenix" id="5" join_ref=null payload={} | "phoenix" {} ref=5`,
				`!app_malformed: phoenix: text message is not a Phoenix message ([join_ref, ref, topic, event, payload] or {"topic","event","payload","ref"})`,
				`!app_malformed: phoenix: text message is not a Phoenix message ([join_ref, ref, topic, event, payload] or {"topic","event","payload","ref"})`,
				`!app_malformed: phoenix: text message is not a Phoenix message ([join_ref, ref, topic, event, payload] or {"topic","event","payload","ref"})`,
				`phoenix phx_reply name="phoenix" id="5" join_ref=null payload={"response":{},"status":"ok"} status="ok" | "phoenix" ok {} ref=5`,
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

func TestPhoenixDetection(t *testing.T) {
	for _, tc := range []struct {
		path  string
		msgs  []wm
		proto string
	}{
		{"/socket/websocket?vsn=2.0.0", nil, "phoenix"},
		{"/live/websocket?_csrf_token=a&vsn=2.0.0", nil, "phoenix"},
		{"/socket/websocket?vsn=1.0.0", nil, "phoenix"},
		{"/socket/websocket", nil, ""},
		{"/websocket?vsn=3.0.0", nil, ""},
		{"/socket/longpoll?vsn=2.0.0", nil, ""},
		{"/ws", []wm{cli(`[null,"1","phoenix","heartbeat",{}]`)}, "phoenix"},
		{"/ws", []wm{cli(`["1","1","room:1","phx_join",{}]`)}, "phoenix"},
		{"/ws", []wm{cli(`{"topic":"room:1","event":"phx_join","payload":{},"ref":"1"}`)}, "phoenix"},
		// Not enough: other topics' heartbeats, other events, free text
		// that names the events, other protocols' JSON.
		{"/ws", []wm{
			cli(`[null,"1","room","heartbeat",{}]`),
			cli(`[null,"1","phoenix","ping",{}]`),
			cli(`let's phx_join "heartbeat" later`),
			cli(`["phx_join","heartbeat"]`),
			cli(`{"type":"heartbeat","event":"phx_join"}`),
			cli(`[null,"1","phoenix","heartbeat","x"]`),
			cli(`[{},"1","phoenix","heartbeat",{}]`),
		}, ""},
		// A JSON-RPC request naming Phoenix's events is JSON-RPC.
		{"/ws", []wm{cli(`{"jsonrpc":"2.0","method":"phx_join","params":["heartbeat"],"id":1}`)}, "json-rpc"},
	} {
		proto, _ := appRun(t, tc.path, "", tc.msgs)
		if proto != tc.proto {
			t.Errorf("%s %v: protocol %q, want %q", tc.path, tc.msgs, proto, tc.proto)
		}
	}
}

// FuzzPhoenix feeds arbitrary message sequences to the Phoenix decoder.
func FuzzPhoenix(f *testing.F) {
	for _, s := range []string{
		"t[\"1\",\"1\",\"room:lobby\",\"phx_join\",{}]\x00T[\"1\",\"1\",\"room:lobby\",\"phx_reply\",{\"status\":\"ok\",\"response\":{}}]",
		"t{\"topic\":\"phoenix\",\"event\":\"heartbeat\",\"payload\":{},\"ref\":\"1\"}",
		"b" + phxBin(0, []string{"1", "2", "t", "e"}, "x") + "\x00B" + phxBin(1, []string{"1", "2", "t", "ok"}, "\xff"),
		"B" + phxBin(2, []string{"t", "e"}, "") + "\x00B" + phxBin(0, []string{"1", "t", "e"}, ""),
	} {
		f.Add(true, []byte(s))
		f.Add(false, []byte(s))
	}
	f.Fuzz(func(t *testing.T, withPath bool, b []byte) {
		var msgs []wm
		for _, part := range strings.Split(string(b), "\x00") {
			if part == "" {
				continue
			}
			k := part[0]
			msgs = append(msgs, wm{c: k == 't' || k == 'b' || k&1 == 1, b: k == 'b' || k == 'B', inc: k == 'i', p: part[1:]})
		}
		path := ""
		if withPath {
			path = "/socket/websocket?vsn=2.0.0"
		}
		appRun(t, path, "", msgs)
		appRunCfg(t, &Config{Force: "phoenix"}, path, "", msgs)
	})
}
