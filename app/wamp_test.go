package app

import (
	"testing"
)

// wampForced decodes a conversation taken anywhere, without waiting for
// the client's HELLO (as --app wamp does).
var wampForced = &Config{Force: "wamp"}

func TestWAMP(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sub   string
		force bool // --app wamp: messages taken after the HELLO
		msgs  []swoMsg
		want  []string
		bad   int
		after string // the protocol after the messages ("wamp" when empty, "-" none)
	}{{
		// The spec's §"Session Lifecycle" and §"Authentication" examples.
		name: "session",
		sub:  "wamp.2.json",
		msgs: []swoMsg{
			swoCli(`[1,"somerealm",{"roles":{"publisher":{},"subscriber":{}}}]`),
			swoSrv(`[4,"wampcra",{"challenge":"{\"nonce\":\"LHRTC9zeOIrt_9U3\"}"}]`),
			swoCli(`[5,"gir1mSx+deCDUV7wRM5SGIn/+R/ClqLZuH4m7FJeBVI=",{}]`),
			swoSrv(`[2,9129137332,{"roles":{"broker":{}}}]`),
			swoCli(`[6,{"message":"The host is shutting down now."},"wamp.close.system_shutdown"]`),
			swoSrv(`[6,{},"wamp.close.goodbye_and_out"]`),
			swoSrv(`[3,{"message":"The realm does not exist."},"wamp.error.no_such_realm"]`),
		},
		want: []string{
			`HELLO "somerealm" details={"roles":{"publisher":{},"subscriber":{}}}`,
			`CHALLENGE - auth_method="wampcra" extra={"challenge":"{\"nonce\":\"LHRTC9zeOIrt_9U3\"}"}`,
			`AUTHENTICATE - signature="gir1mSx+deCDUV7wRM5SGIn/+R/ClqLZuH4m7FJeBVI=" extra={}`,
			`WELCOME - session=9129137332 details={"roles":{"broker":{}}}`,
			`GOODBYE "wamp.close.system_shutdown" details={"message":"The host is shutting down now."}`,
			`GOODBYE "wamp.close.goodbye_and_out" details={}`,
			`ABORT "wamp.error.no_such_realm" details={"message":"The realm does not exist."}`,
		},
	}, {
		// §"Publish and Subscribe" examples: EVENT named by its subscription.
		name:  "pubsub",
		sub:   "wamp.2.json",
		force: true,
		msgs: []swoMsg{
			swoCli(`[32,713845233,{},"com.myapp.mytopic1"]`),
			swoSrv(`[33,713845233,5512315355]`),
			swoCli(`[16,239714735,{"acknowledge":true},"com.myapp.mytopic1",["Hello, world!"],{"color":"orange","sizes":[23,42,7]}]`),
			swoSrv(`[17,239714735,4429313566]`),
			swoSrv(`[36,5512315355,4429313566,{},["Hello, world!"]]`),
			swoSrv(`[36,999,4429313567,{"topic":"com.myapp.pattern.x"}]`),
			swoCli(`[34,85346237,5512315355]`),
			swoSrv(`[35,85346237]`),
			swoSrv(`[8,32,713845234,{},"wamp.error.not_authorized"]`),
		},
		want: []string{
			`SUBSCRIBE "com.myapp.mytopic1" id=713845233 options={}`,
			`SUBSCRIBED - id=713845233 topic="com.myapp.mytopic1" subscription=5512315355`,
			`PUBLISH "com.myapp.mytopic1" id=239714735 options={"acknowledge":true} args=["Hello, world!"] kwargs={"color":"orange","sizes":[23,42,7]}`,
			`PUBLISHED - id=239714735 topic="com.myapp.mytopic1" publication=4429313566`,
			`EVENT "com.myapp.mytopic1" subscription=5512315355 publication=4429313566 details={} args=["Hello, world!"]`,
			`EVENT "com.myapp.pattern.x" subscription=999 publication=4429313567 details={"topic":"com.myapp.pattern.x"}`,
			`UNSUBSCRIBE - id=85346237 subscription=5512315355 topic="com.myapp.mytopic1"`,
			`UNSUBSCRIBED - id=85346237 topic="com.myapp.mytopic1"`,
			`ERROR "wamp.error.not_authorized" id=713845234 request_type="SUBSCRIBE" details={}`,
		},
	}, {
		// §"Remote Procedure Calls" examples: caller, router and callee.
		// Only RESULT, EVENT and INVOCATION are named by what they answer;
		// the other answers carry its URI as topic or procedure.
		name:  "rpc",
		sub:   "wamp.2.json",
		force: true,
		msgs: []swoMsg{
			swoCli(`[64,25349185,{},"com.myapp.myprocedure1"]`),
			swoSrv(`[65,25349185,2103333224]`),
			swoCli(`[48,7814135,{},"com.myapp.ping"]`),
			swoSrv(`[50,7814135,{},[30]]`),
			swoCli(`[48,7814136,{"receive_progress":true},"com.myapp.compute",[],{"n":5}]`),
			swoCli(`[49,7814136,{"mode":"kill"}]`),
			swoSrv(`[8,48,7814136,{},"wamp.error.canceled",["cancelled"]]`),
			swoSrv(`[68,6131533,2103333224,{},["Hello, world!"]]`),
			swoSrv(`[69,6131533,{}]`),
			swoCli(`[70,6131533,{},["Hello, world!"],{"x":1}]`),
			swoCli(`[8,68,6131533,{},"com.myapp.error.object_write_protected",["Object is write protected."],{"severity":3}]`),
			swoCli(`[66,788923562,2103333224]`),
			swoSrv(`[67,788923562]`),
			swoSrv(`[50,1,{}]`),
		},
		want: []string{
			`REGISTER "com.myapp.myprocedure1" id=25349185 options={}`,
			`REGISTERED - id=25349185 procedure="com.myapp.myprocedure1" registration=2103333224`,
			`CALL "com.myapp.ping" id=7814135 options={}`,
			`RESULT "com.myapp.ping" id=7814135 details={} args=[30]`,
			`CALL "com.myapp.compute" id=7814136 options={"receive_progress":true} args=[] kwargs={"n":5}`,
			`CANCEL - id=7814136 procedure="com.myapp.compute" options={"mode":"kill"}`,
			`ERROR "wamp.error.canceled" id=7814136 request_type="CALL" details={} args=["cancelled"]`,
			`INVOCATION "com.myapp.myprocedure1" id=6131533 registration=2103333224 details={} args=["Hello, world!"]`,
			`INTERRUPT - id=6131533 procedure="com.myapp.myprocedure1" options={}`,
			`YIELD - id=6131533 procedure="com.myapp.myprocedure1" options={} args=["Hello, world!"] kwargs={"x":1}`,
			`ERROR "com.myapp.error.object_write_protected" id=6131533 request_type="INVOCATION" details={} args=["Object is write protected."] kwargs={"severity":3}`,
			`UNREGISTER - id=788923562 registration=2103333224 procedure="com.myapp.myprocedure1"`,
			`UNREGISTERED - id=788923562 procedure="com.myapp.myprocedure1"`,
			`RESULT - id=1 details={}`,
		},
	}, {
		// wamp.2.json.batched: each message followed by 0x1E.
		// Routers that send null for an absent Arguments or ArgumentsKw.
		name:  "null args",
		sub:   "wamp.2.json",
		force: true,
		msgs:  []swoMsg{swoSrv(`[50,1,{},[5],null]`), swoSrv(`[68,2,3,{},null,{"x":1.5}]`)},
		want: []string{
			`RESULT - id=1 details={} args=[5] kwargs=null`,
			`INVOCATION - id=2 registration=3 details={} args=null kwargs={"x":1.5}`,
		},
	}, {
		name:  "batched",
		sub:   "wamp.2.json.batched",
		force: true,
		msgs: []swoMsg{
			swoCli("[48,1,{},\"a.b\"]\x1e[48,2,{},\"c.d\"]\x1e"),
			swoSrv("[50,2,{}]\x1e[99]\x1e[50,1,{}]\x1e"),
		},
		want: []string{
			`CALL "a.b" id=1 options={}`,
			`CALL "c.d" id=2 options={}`,
			`RESULT "c.d" id=2 details={}`,
			`RESULT "a.b" id=1 details={}`,
		},
		bad: 1,
	}, {
		name:  "malformed",
		sub:   "wamp.2.json",
		force: true,
		msgs: []swoMsg{
			swoCli(`{"a":1}`),
			swoCli(`[7,{}]`),
			swoCli(`[48,1,{}]`),
			swoCli(`[48,"x",{},"a.b"]`),
			swoCli(`[48,1,[],"a.b"]`),
			swoCli(`[48,1,{},"a.b",{}]`),
			swoCli(`[1,2,{}]`),
			swoCli(`hello`),
			swoCli(`[]`),
		},
		bad: 9,
	}, {
		// Not forced, the subprotocol only claims WAMP: the client opens
		// with HELLO (§5.1.1), or the connection is not decoded (one
		// anomaly, no units after); the server's messages before it are
		// not decoded.
		name: "claimed, not opened by HELLO",
		sub:  "wamp.2.json",
		msgs: []swoMsg{
			swoSrv(`[2,1,{}]`),
			swoCli(`[48,7,{},"com.math.add",[2,3]]`),
			swoCli(`[1,"realm1",{"roles":{}}]`),
			swoSrv(`[2,1,{}]`),
		},
		bad:   1,
		after: "-",
	}, {
		name: "claimed, opened by HELLO",
		sub:  "wamp.2.json",
		msgs: []swoMsg{
			swoSrv(`[2,1,{}]`),
			swoCli(` [ 1 , "realm1" , {"roles":{}}]`),
			swoSrv(`[2,1,{}]`),
		},
		want: []string{`HELLO "realm1" details={"roles":{}}`, `WELCOME - session=1 details={}`},
	}, {
		// Opened by a HELLO that does not parse, then 2 more messages
		// that do not: the connection is given up.
		name: "claimed, given up",
		sub:  "wamp.2.json",
		msgs: []swoMsg{
			swoCli(`[1,2,{}]`),
			swoSrv(`[2,"x"]`),
			swoCli(`hello`),
			swoCli(`[48,7,{},"com.math.add"]`),
		},
		bad:   3,
		after: "-",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &Config{}
			if tc.force {
				cfg = wampForced
			}
			l, out := swoRun(t, tc.sub, cfg, tc.msgs...)
			swoCheck(t, l, out, "wamp", tc.after, tc.want, tc.bad)
		})
	}
}

func TestWAMPSniff(t *testing.T) {
	for _, tc := range []struct {
		msg  swoMsg
		want bool
	}{
		{swoCli(`[1,"realm1",{"roles":{"caller":{"features":{}},"callee":{}},"authmethods":["anonymous"]}]`), true},
		{swoCli(` [ 1 , "realm1" , { "agent":"x", "roles" : { } } ] `), true},
		{swoCli("[1,\"realm1\",{\"roles\":{}}]\x1e"), true},
		{swoSrv(`[1,"realm1",{"roles":{}}]`), false},
		{swoCli(`[1,"realm1",{}]`), false},
		{swoCli(`[1,"realm1",{"roles":1}]`), false},
		{swoCli(`[1,2,3]`), false},
		{swoCli(`[10,"realm1",{"roles":{}}]`), false},
		{swoCli(`[1,"realm1",{"roles":{}},4]`), false},
		{swoCli(`[2,"1","BootNotification",{}]`), false},
		{swoCli(`hello`), false},
		{swoMsg{text: `[1,"realm1",{"roles":{}}]`, binary: true}, false},
	} {
		l, _ := swoRun(t, "", nil, tc.msg)
		if got := l.Protocol() == "wamp"; got != tc.want {
			t.Errorf("sniff %q = %v, want %v", tc.msg.text, got, tc.want)
		}
	}
	if l, _ := swoRun(t, "wamp.2.msgpack", nil); l.Protocol() == "wamp" {
		t.Errorf("wamp.2.msgpack decoded as JSON")
	}
}

func TestWAMPInfo(t *testing.T) {
	_, out := swoRun(t, "wamp.2.json", wampForced,
		swoCli(`[48,7,{},"com.math.add",[2,3],{"round":true}]`),
		swoSrv(`[2,42,{}]`))
	for i, want := range []string{
		`"com.math.add" id=7 [2,3] {"round":true}`,
		`session=42`,
	} {
		if got := out[i].units[0].Info; got != want {
			t.Errorf("info %q, want %q", got, want)
		}
	}
}

func TestWAMPBounded(t *testing.T) {
	var msgs []swoMsg
	for i := range wampMaxIDs * 3 {
		msgs = append(msgs, swoCli(`[48,`+string(jint(int64(i)))+`,{},"com.example.a.rather.long.procedure.name"]`))
	}
	l, out := swoRun(t, "wamp.2.json", wampForced, msgs...)
	if len(swoAll(out)) != len(msgs) {
		t.Fatalf("%d units for %d calls", len(swoAll(out)), len(msgs))
	}
	if sz := l.MemSize(); sz > 256<<10 {
		t.Errorf("MemSize %d", sz)
	}
}

func FuzzWAMP(f *testing.F) {
	f.Add(`[32,1,{},"a"]`, `[33,1,5]`, `[36,5,9,{},[1],{"a":2}]`)
	f.Add(`[64,1,{},"p"]`, "[65,1,7]\x1e[68,3,7,{}]\x1e", `[70,3,{},[]]`)
	f.Add(`[8,48,1,{},"e",[],{}]`, `[1,"r",{"roles":{}}]`, `[67,0,{"registration":7}]`)
	f.Fuzz(func(t *testing.T, a, b, c string) {
		for _, sub := range []string{"wamp.2.json", ""} {
			swoRun(t, sub, nil, swoMsg{text: a}, swoMsg{text: b, fromServer: true}, swoMsg{text: c})
		}
		swoRun(t, "wamp.2.json", wampForced, swoMsg{text: a}, swoMsg{text: b, fromServer: true}, swoMsg{text: c})
	})
}
