package app

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/wscap/wscap/decode"
)

func jrpcHS(sub, path string) *decode.Handshake {
	h := &decode.Handshake{Method: "GET", Path: path, Status: 101, Protocol: sub}
	if sub != "" {
		h.OfferedProtocols = []string{sub}
	}
	return h
}

// jrpcAll renders every unit of a message, one per line.
func jrpcAll(t *testing.T, info *decode.AppInfo) string {
	t.Helper()
	if info == nil {
		return ""
	}
	var out []string
	for i := range info.Units {
		gqlCheckValid(t, &info.Units[i])
		out = append(out, gqlUnitString(&info.Units[i]))
	}
	return strings.Join(out, "\n")
}

// The examples of the JSON-RPC 2.0 specification, §7, as one conversation
// (the client's requests, the server's answers), detected by content.
func TestJSONRPCSpecExamples(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []gqlStep
		want  []string // all units of each message; "!" = app_malformed
	}{
		{"positional parameters", []gqlStep{
			gqlC(`{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}`),
			gqlS(`{"jsonrpc": "2.0", "result": 19, "id": 1}`),
			gqlC(`{"jsonrpc": "2.0", "method": "subtract", "params": [23, 42], "id": 2}`),
			gqlS(`{"jsonrpc": "2.0", "result": -19, "id": 2}`),
		}, []string{
			`json-rpc request name="subtract" id=1 params=[42,23] | "subtract" id=1 [42,23]`,
			`json-rpc response name="subtract" id=1 result=19 | "subtract" id=1 19`,
			`json-rpc request name="subtract" id=2 params=[23,42] | "subtract" id=2 [23,42]`,
			`json-rpc response name="subtract" id=2 result=-19 | "subtract" id=2 -19`,
		}},
		{"named parameters", []gqlStep{
			gqlC(`{"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, "id": 3}`),
			gqlS(`{"jsonrpc": "2.0", "result": 19, "id": 3}`),
		}, []string{
			`json-rpc request name="subtract" id=3 params={"subtrahend":23,"minuend":42} | "subtract" id=3 {"subtrahend":23,"minuend":42}`,
			`json-rpc response name="subtract" id=3 result=19 | "subtract" id=3 19`,
		}},
		{"notification", []gqlStep{
			gqlC(`{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}`),
			gqlC(`{"jsonrpc": "2.0", "method": "foobar"}`),
		}, []string{
			`json-rpc notification name="update" params=[1,2,3,4,5] | "update" [1,2,3,4,5]`,
			`json-rpc notification name="foobar" | "foobar"`,
		}},
		{"non-existent method", []gqlStep{
			gqlC(`{"jsonrpc": "2.0", "method": "foobar", "id": "1"}`),
			gqlS(`{"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "1"}`),
		}, []string{
			`json-rpc request name="foobar" id="1" | "foobar" id="1"`,
			`json-rpc error name="foobar" id="1" error={"code":-32601,"message":"Method not found"} | "foobar" id="1" -32601 Method not found`,
		}},
		{"invalid JSON", []gqlStep{
			gqlC(`{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]`), // not detected yet
			gqlC(`{"jsonrpc": "2.0", "method": "x"}`),
			gqlC(`{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]`),
			gqlS(`{"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": null}`),
		}, []string{
			``,
			`json-rpc notification name="x" | "x"`,
			`!`,
			`json-rpc error name=null error={"code":-32700,"message":"Parse error"} | id=null -32700 Parse error`,
		}},
		{"invalid request object", []gqlStep{
			gqlC(`{"jsonrpc": "2.0", "method": "x", "id": 0}`), // detection
			gqlC(`{"jsonrpc": "2.0", "method": 1, "params": "bar"}`),
			gqlS(`{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}`),
		}, []string{
			`json-rpc request name="x" id=0 | "x" id=0`,
			`!`,
			`json-rpc error name=null error={"code":-32600,"message":"Invalid Request"} | id=null -32600 Invalid Request`,
		}},
		{"batch, invalid JSON", []gqlStep{
			gqlC(`{"jsonrpc": "2.0", "method": "x"}`),
			gqlC(`[
  {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
  {"jsonrpc": "2.0", "method"
]`),
		}, []string{`json-rpc notification name="x" | "x"`, `!`}},
		{"empty batch", []gqlStep{
			gqlC(`{"jsonrpc": "2.0", "method": "x"}`),
			gqlC(`[]`),
		}, []string{`json-rpc notification name="x" | "x"`, `json-rpc batch name=null count=0 | count=0 (empty: Invalid Request)`}},
		{"invalid batch", []gqlStep{
			gqlC(`{"jsonrpc": "2.0", "method": "x"}`),
			gqlC(`[1]`),
			gqlC(`[1,2,3]`),
		}, []string{
			`json-rpc notification name="x" | "x"`,
			`!`, // an array none of whose elements is JSON-RPC is malformed, not a batch
			`!`,
		}},
		{"batch", []gqlStep{
			gqlC(`[
        {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
        {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},
        {"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"},
        {"foo": "boo"},
        {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
        {"jsonrpc": "2.0", "method": "get_data", "id": "9"}
    ]`),
			gqlS(`[
        {"jsonrpc": "2.0", "result": 7, "id": "1"},
        {"jsonrpc": "2.0", "result": 19, "id": "2"},
        {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null},
        {"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "5"},
        {"jsonrpc": "2.0", "result": ["hello", 5], "id": "9"}
    ]`),
		}, []string{
			`json-rpc batch name=null count=6 | count=6 (1 not JSON-RPC): request "sum", notification "notify_hello", request "subtract", request "foo.get", …
json-rpc request name="sum" id="1" params=[1,2,4] | "sum" id="1" [1,2,4]
json-rpc notification name="notify_hello" params=[7] | "notify_hello" [7]
json-rpc request name="subtract" id="2" params=[42,23] | "subtract" id="2" [42,23]
json-rpc request name="foo.get" id="5" params={"name":"myself"} | "foo.get" id="5" {"name":"myself"}
json-rpc request name="get_data" id="9" | "get_data" id="9"`,
			`json-rpc batch name=null count=5 | count=5: response "sum", response "subtract", error, error "foo.get", …
json-rpc response name="sum" id="1" result=7 | "sum" id="1" 7
json-rpc response name="subtract" id="2" result=19 | "subtract" id="2" 19
json-rpc error name=null error={"code":-32600,"message":"Invalid Request"} | id=null -32600 Invalid Request
json-rpc error name="foo.get" id="5" error={"code":-32601,"message":"Method not found"} | "foo.get" id="5" -32601 Method not found
json-rpc response name="get_data" id="9" result=["hello",5] | "get_data" id="9" ["hello",5]`,
		}},
		{"batch of notifications", []gqlStep{
			gqlC(`[{"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]}, {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}]`),
		}, []string{`json-rpc batch name=null count=2 | count=2: notification "notify_sum", notification "notify_hello"
json-rpc notification name="notify_sum" params=[1,2,4] | "notify_sum" [1,2,4]
json-rpc notification name="notify_hello" params=[7] | "notify_hello" [7]`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, infos, anoms := gqlRun(t, nil, jrpcHS("", "/"), tc.steps)
			for i, w := range tc.want {
				got := jrpcAll(t, infos[i])
				if len(anoms[i]) > 0 {
					a := anoms[i][0]
					if a.Code != CodeMalformed || a.Ref != protoJSONRPC.ref || !strings.HasPrefix(a.Detail, "json-rpc: ") || len(anoms[i]) != 1 {
						t.Errorf("message %d: anomalies %+v", i+1, anoms[i])
					}
					got += "!"
				}
				if got != w {
					t.Errorf("message %d:\n got %s\nwant %s", i+1, got, w)
				}
			}
		})
	}
}

// Responses are named by requests sent the other way; ids of both
// directions and kinds (string "1" vs number 1) stay apart.
func TestJSONRPCNames(t *testing.T) {
	steps := []gqlStep{
		gqlC(`{"jsonrpc":"2.0","method":"a","id":1}`),
		gqlC(`{"jsonrpc":"2.0","method":"b","id":"1"}`),
		gqlS(`{"jsonrpc":"2.0","method":"c","id":1}`), // a request by the server
		gqlS(`{"jsonrpc":"2.0","result":"B","id":"1"}`),
		gqlC(`{"jsonrpc":"2.0","result":"C","id":1}`),
		gqlS(`{"jsonrpc":"2.0","result":"A","id":1}`),
		gqlS(`{"jsonrpc":"2.0","result":"?","id":77}`),
		gqlS(`{"jsonrpc":"2.0","id":1}`),                                  // rpc-websockets: a method that returned nothing
		gqlS(`{"notification":"feed","params":{"seq":1,"price":101.25}}`), // rpc-websockets event
		gqlC(`{"jsonrpc":"2.0","method":"x","id":1.5e3}`),
		gqlS(`{"jsonrpc":"2.0","error":{"code":-32000,"message":"Error","data":"the sensor\nis offline"},"id":1.5e3}`),
		gqlS(`{"jsonrpc":"2.0","error":"just text","id":5}`),
	}
	_, infos, anoms := gqlRun(t, nil, jrpcHS("", "/"), steps)
	want := []string{
		`json-rpc request name="a" id=1 | "a" id=1`,
		`json-rpc request name="b" id="1" | "b" id="1"`,
		`json-rpc request name="c" id=1 | "c" id=1`,
		`json-rpc response name="b" id="1" result="B" | "b" id="1" "B"`,
		`json-rpc response name="c" id=1 result="C" | "c" id=1 "C"`,
		`json-rpc response name="a" id=1 result="A" | "a" id=1 "A"`,
		`json-rpc response name=null id=77 result="?" | id=77 "?"`,
		`json-rpc response name="a" id=1 | "a" id=1 (no result)`,
		`json-rpc notification name="feed" params={"seq":1,"price":101.25} | "feed" {"seq":1,"price":101.25}`,
		`json-rpc request name="x" id=1.5e3 | "x" id=1.5e3`,
		`json-rpc error name="x" id=1.5e3 error={"code":-32000,"message":"Error","data":"the sensor\nis offline"} | "x" id=1.5e3 -32000 Error data="the sensor\nis offline"`,
		`json-rpc error name=null id=5 error="just text" | id=5 "just text"`,
	}
	for i, w := range want {
		if got := jrpcAll(t, infos[i]); got != w {
			t.Errorf("message %d:\n got %s\nwant %s", i+1, got, w)
		}
		if len(anoms[i]) > 0 {
			t.Errorf("message %d: %v", i+1, anoms[i])
		}
	}
}

// JSON-RPC 1.0 shapes are decoded where the subprotocol, the path or
// --app says JSON-RPC, and are app_malformed on a connection found by
// its content.
func TestJSONRPCVersion1(t *testing.T) {
	steps := []gqlStep{
		gqlC(`{"method": "echo", "params": ["Hello JSON-RPC"], "id": 1}`),
		gqlS(`{"result": "Hello JSON-RPC", "error": null, "id": 1}`),
		gqlC(`{"method": "postMessage", "params": ["Hello all!"], "id": 99}`),
		gqlS(`{"result": null, "error": {"code": 1, "message": "no"}, "id": 99}`),
		gqlS(`{"method": "userLeft", "params": ["bob"], "id": null}`),
		gqlC(`{"jsonrpc": "1.0", "method": "x", "id": 2}`),
		gqlC(`{"hello": "world"}`),
	}
	want := []string{
		`json-rpc request name="echo" id=1 params=["Hello JSON-RPC"] | "echo" id=1 ["Hello JSON-RPC"]`,
		`json-rpc response name="echo" id=1 result="Hello JSON-RPC" | "echo" id=1 "Hello JSON-RPC"`,
		`json-rpc request name="postMessage" id=99 params=["Hello all!"] | "postMessage" id=99 ["Hello all!"]`,
		`json-rpc error name="postMessage" id=99 error={"code":1,"message":"no"} | "postMessage" id=99 1 no`,
		`json-rpc notification name="userLeft" params=["bob"] | "userLeft" ["bob"]`,
		`json-rpc request name="x" id=2 | "x" id=2`,
		`!`,
	}
	for _, tc := range []struct {
		name string
		cfg  *Config
		hs   *decode.Handshake
	}{
		{"subprotocol", nil, jrpcHS("jsonrpc", "/")},
		{"path", nil, jrpcHS("", "/api/JSON-RPC")},
		{"forced", &Config{Force: "json-rpc"}, jrpcHS("", "/")},
		{"forced by alias", func() *Config { c := &Config{}; _ = c.Set("jsonrpc"); return c }(), jrpcHS("", "/")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, infos, anoms := gqlRun(t, tc.cfg, tc.hs, steps)
			if l.Protocol() != "json-rpc" {
				t.Fatalf("protocol %q", l.Protocol())
			}
			for i, w := range want {
				got := jrpcAll(t, infos[i])
				if len(anoms[i]) > 0 {
					got += "!"
				}
				if got != w {
					t.Errorf("message %d:\n got %s\nwant %s", i+1, got, w)
				}
			}
		})
	}
	// Found by content: 1.0 shapes are not JSON-RPC 2.0.
	_, infos, anoms := gqlRun(t, nil, jrpcHS("", "/"), []gqlStep{
		gqlC(`{"jsonrpc":"2.0","method":"x","id":1}`),
		gqlS(`{"result": 1, "error": null, "id": 1}`),
		gqlC(`{"method": "echo", "params": [], "id": 2}`),
		gqlC(`{"jsonrpc": "1.0", "method": "echo", "params": [], "id": 3}`),
		gqlC(`"text"`),
	})
	for i, d := range []string{"", `json-rpc: response without "jsonrpc":"2.0"`, `json-rpc: request without "jsonrpc":"2.0"`, `json-rpc: "jsonrpc" member is "1.0", not "2.0"`, "json-rpc: text message of 6 bytes is not a JSON object or array"} {
		if d == "" {
			continue
		}
		if infos[i] != nil || len(anoms[i]) != 1 || anoms[i][0].Detail != d {
			t.Errorf("message %d: %+v %+v, want %s", i+1, infos[i], anoms[i], d)
		}
	}
}

func TestJSONRPCSniff(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{`{"jsonrpc":"2.0","method":"sum","params":[2,3],"id":1}`, true},
		{` {"id":1, "result":5, "jsonrpc" : "2.0"}`, true},
		{`{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null}`, true},
		{`[{"jsonrpc":"2.0","method":"sum","id":"b1"},{"jsonrpc":"2.0","method":"log"}]`, true},
		{`{"jsonrpc":"1.0","method":"sum","id":1}`, false},
		{`{"jsonrpc":2.0,"method":"sum","id":1}`, false},
		{`{"jsonrpc":"2.0","id":1}`, false},
		{`{"jsonrpc":"2.0","method":"sum","id":1`, false},
		{`{"text":"\"jsonrpc\":\"2.0\",\"method\":\"x\""}`, false},
		{`{"data":{"jsonrpc":"2.0","method":"x"}}`, false},
		{`[1,{"jsonrpc":"2.0","method":"x"}]`, false},
		{`[]`, false},
		{`hello "jsonrpc":"2.0" method`, false},
		{`{"method":"x","params":[],"id":1}`, false},
		{`{"type":"connection_init"}`, false},
		{`42["jsonrpc",{"jsonrpc":"2.0","method":"x"}]`, false},
	} {
		if got := jrpcSniff(&Msg{FromClient: true, Payload: []byte(tc.in)}); got != tc.want {
			t.Errorf("sniff(%s) = %v", tc.in, got)
		}
		if jrpcSniff(&Msg{Binary: true, Payload: []byte(tc.in)}) {
			t.Errorf("sniff(binary %s) = true", tc.in)
		}
	}
	// End to end: free text, then the first JSON-RPC message.
	l, infos, _ := gqlRun(t, nil, jrpcHS("", "/"), []gqlStep{
		gqlC(`hello`), gqlC(`{"a":1}`), gqlS(`{"jsonrpc":"2.0","method":"tick","params":[1]}`),
	})
	if l.Protocol() != "json-rpc" || infos[0] != nil || infos[1] != nil || infos[2].Units[0].Type != "notification" {
		t.Errorf("detection: %q %+v %+v %+v", l.Protocol(), infos[0], infos[1], infos[2])
	}
	for _, sub := range []string{"jsonrpc", "JSON-RPC", "jsonrpc2.0", "jsonrpc-2.0"} {
		if l := (&Config{}).New(jrpcHS(sub, "/"), l.hs.Client, l.hs.Server); l.Protocol() != "json-rpc" {
			t.Errorf("subprotocol %s: %q", sub, l.Protocol())
		}
	}
	for _, p := range []string{"/rpc", "/ws", "/jsonrpcx", "/"} {
		if jrpcPath(&Handshake{Path: p}) {
			t.Errorf("path %s selects JSON-RPC", p)
		}
	}
	// Claimed by the subprotocol or found by content, not forced: 3
	// messages in a row that do not parse, before any did, and the
	// connection is not decoded as JSON-RPC any more; forced, never.
	for _, tc := range []struct {
		name  string
		cfg   *Config
		hs    *decode.Handshake
		after string
	}{
		{"subprotocol", nil, jrpcHS("jsonrpc", "/"), ""},
		{"path", nil, jrpcHS("", "/jsonrpc"), ""},
		{"forced", &Config{Force: "json-rpc"}, jrpcHS("jsonrpc", "/"), "json-rpc"},
	} {
		l, infos, anoms := gqlRun(t, tc.cfg, tc.hs, []gqlStep{
			gqlC(`hello`), gqlS(`{"id":1}`), gqlC(`"text"`), gqlC(`{"jsonrpc":"2.0","method":"tick","id":1}`),
		})
		for i := range 3 {
			if infos[i] != nil || len(anoms[i]) != 1 || strings.Contains(anoms[i][0].Detail, "any more") != (i == 2 && tc.after == "") {
				t.Errorf("%s: message %d: %+v %+v", tc.name, i+1, infos[i], anoms[i])
			}
		}
		if l.Protocol() != tc.after || (infos[3] != nil) != (tc.after != "") {
			t.Errorf("%s: protocol %q, last message %+v", tc.name, l.Protocol(), infos[3])
		}
	}
	// A unit before: never given up.
	l, infos, _ = gqlRun(t, nil, jrpcHS("jsonrpc", "/"), []gqlStep{
		gqlC(`{"jsonrpc":"2.0","method":"tick"}`), gqlC(`hello`), gqlS(`{"id":1}`), gqlC(`"text"`), gqlC(`{"jsonrpc":"2.0","method":"tick"}`),
	})
	if l.Protocol() != "json-rpc" || infos[4] == nil {
		t.Errorf("given up after a unit: %q", l.Protocol())
	}
}

func TestJSONRPCBounded(t *testing.T) {
	var steps []gqlStep
	for i := range 2000 {
		steps = append(steps, gqlC(fmt.Sprintf(`{"jsonrpc":"2.0","method":"m%d","id":%d}`, i, i)))
	}
	steps = append(steps, gqlS(`{"jsonrpc":"2.0","result":0,"id":0}`), gqlS(`{"jsonrpc":"2.0","result":0,"id":1999}`))
	l, infos, _ := gqlRun(t, nil, jrpcHS("", "/"), steps)
	n := len(infos)
	if u := infos[n-2].Units[0]; u.HasName {
		t.Errorf("evicted id still named %q", u.Name)
	}
	if u := infos[n-1].Units[0]; u.Name != "m1999" {
		t.Errorf("id 1999 named %q", u.Name)
	}
	if d := l.dec.(*jrpcDecoder); len(d.pending.m) != idTableMax-1 {
		t.Errorf("%d pending", len(d.pending.m))
	}
	// A batch larger than the units kept for one message.
	var b strings.Builder
	b.WriteString("[")
	for i := range 1500 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"jsonrpc":"2.0","method":"n","params":[%d]}`, i)
	}
	b.WriteString("]")
	_, infos, _ = gqlRun(t, nil, jrpcHS("jsonrpc", "/"), []gqlStep{gqlC(b.String())})
	if len(infos[0].Units) != maxUnits || infos[0].More != 501 || string(infos[0].Units[0].Field("count")) != "1500" {
		t.Errorf("big batch: %d units, %d more", len(infos[0].Units), infos[0].More)
	}
}

// FuzzJSONRPC: arbitrary conversations never panic and every unit is valid.
func FuzzJSONRPC(f *testing.F) {
	f.Add(uint8(0), []byte(`{"jsonrpc":"2.0","method":"sum","params":[2,3],"id":1}`+"\x00"+`{"jsonrpc":"2.0","result":5,"id":1}`))
	f.Add(uint8(1), []byte(`[{"jsonrpc":"2.0","method":"sum","id":"b1"},{"jsonrpc":"2.0","method":"log"},7]`+"\x00"+`[{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":"b1"}]`))
	f.Add(uint8(2), []byte(`{"method":"echo","params":["x"],"id":null}`+"\x00"+`{"result":null,"error":{"code":1},"id":1}`+"\x00"+`{"notification":"feed","params":{}}`))
	f.Fuzz(func(t *testing.T, mode uint8, in []byte) {
		hs := [...]*decode.Handshake{jrpcHS("", "/"), jrpcHS("jsonrpc", "/"), jrpcHS("", "/jsonrpc")}[mode%3]
		var steps []gqlStep
		for i, p := range bytes.Split(in, []byte{0}) {
			steps = append(steps, gqlStep{client: (i+int(mode))%2 == 0, text: string(p)})
		}
		for _, cfg := range []*Config{nil, {Force: "json-rpc"}} {
			l, infos, _ := gqlRun(t, cfg, hs, steps)
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
