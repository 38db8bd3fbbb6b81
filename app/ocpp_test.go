package app

import (
	"strconv"
	"strings"
	"testing"
)

func TestOCPP(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sub   string
		force bool // --app ocpp: the decoder on anything, never given up
		msgs  []swoMsg
		want  []string
		bad   int
		after string // the protocol after the messages ("ocpp" when empty)
	}{{
		// OCPP-J 1.6 §4.2 examples, answered both ways.
		name: "1.6 calls both ways",
		sub:  "ocpp1.6",
		msgs: []swoMsg{
			swoCli(`[2,"19223201","BootNotification",{"chargePointVendor":"VendorX","chargePointModel":"SingleSocketCharger"}]`),
			swoSrv(`[3,"19223201",{"status":"Accepted","currentTime":"2013-02-01T20:53:32.486Z","heartbeatInterval":300}]`),
			swoSrv(` [ 2 , "srv-1" , "Reset" , { "type" : "Soft" } ] `),
			swoCli(`[4,"srv-1","NotImplemented","Unable to handle 'Reset' calls",{}]`),
			swoCli(`[3,"unseen",{}]`),
		},
		want: []string{
			`CALL "BootNotification" id="19223201" payload={"chargePointVendor":"VendorX","chargePointModel":"SingleSocketCharger"} version="1.6"`,
			`CALLRESULT "BootNotification" id="19223201" payload={"status":"Accepted","currentTime":"2013-02-01T20:53:32.486Z","heartbeatInterval":300} version="1.6"`,
			`CALL "Reset" id="srv-1" payload={"type":"Soft"} version="1.6"`,
			`CALLERROR "Reset" id="srv-1" error_code="NotImplemented" error_description="Unable to handle 'Reset' calls" error_details={} version="1.6"`,
			`CALLRESULT - id="unseen" payload={} version="1.6"`,
		},
	}, {
		// A CALLRESULT names the CALL of the other side only.
		name: "same id both sides",
		sub:  "ocpp2.0.1",
		msgs: []swoMsg{
			swoCli(`[2,"1","Heartbeat",{}]`),
			swoSrv(`[2,"1","GetVariables",{"getVariableData":[]}]`),
			swoCli(`[3,"1",{"getVariableResult":[]}]`),
			swoSrv(`[3,"1",{"currentTime":"2024-01-01T00:00:00Z"}]`),
		},
		want: []string{
			`CALL "Heartbeat" id="1" payload={} version="2.0.1"`,
			`CALL "GetVariables" id="1" payload={"getVariableData":[]} version="2.0.1"`,
			`CALLRESULT "GetVariables" id="1" payload={"getVariableResult":[]} version="2.0.1"`,
			`CALLRESULT "Heartbeat" id="1" payload={"currentTime":"2024-01-01T00:00:00Z"} version="2.0.1"`,
		},
	}, {
		// OCPP 2.1 adds CALLRESULTERROR (answers a CALLRESULT: names the
		// sender's own CALL) and SEND (no answer).
		name: "2.1 CALLRESULTERROR and SEND",
		sub:  "ocpp2.1",
		msgs: []swoMsg{
			swoCli(`[2,"a1","Authorize",{"idToken":{"idToken":"X","type":"ISO14443"}}]`),
			swoSrv(`[3,"a1",{"bogus":true}]`),
			swoCli(`[5,"a1","FormationViolation","bad result",{"field":"bogus"}]`),
			swoCli(`[6,"n1","NotifyPeriodicEventStream",{"id":1,"pending":0,"basetime":"2024-01-01T00:00:00Z","data":[]}]`),
		},
		want: []string{
			`CALL "Authorize" id="a1" payload={"idToken":{"idToken":"X","type":"ISO14443"}} version="2.1"`,
			`CALLRESULT "Authorize" id="a1" payload={"bogus":true} version="2.1"`,
			`CALLRESULTERROR "Authorize" id="a1" error_code="FormationViolation" error_description="bad result" error_details={"field":"bogus"} version="2.1"`,
			`SEND "NotifyPeriodicEventStream" id="n1" payload={"id":1,"pending":0,"basetime":"2024-01-01T00:00:00Z","data":[]} version="2.1"`,
		},
	}, {
		name:  "malformed",
		sub:   "ocpp1.6",
		force: true,
		msgs: []swoMsg{
			swoCli(`{"not":"an array"}`),
			swoCli(`[9,"x",{}]`),
			swoCli(`[2,"x","Heartbeat"]`),
			swoCli(`[2,7.5e,"Heartbeat",{}]`),
			swoCli(`[2,{},"Heartbeat",{}]`),
			swoCli(`[2,"x",5,{}]`),
			swoCli(`[3,"x",{},{}]`),
			swoCli(`[4,"x",1,"",{}]`),
			swoCli(`hello`),
			swoCli(`[2,"x","Heartbeat",{}`),
		},
		bad: 10,
	}, {
		// Chosen by the subprotocol, not forced: 3 messages in a row that
		// do not parse, before any did, and the connection is given up.
		name: "given up",
		sub:  "ocpp1.6",
		msgs: []swoMsg{
			swoCli(`{"not":"an array"}`),
			swoSrv(`hello`),
			swoCli(`[9,"x",{}]`),
			swoCli(`[2,"1","Heartbeat",{}]`),
		},
		bad:   3,
		after: "-",
	}, {
		// A message that parses resets the count, and once a unit was
		// decoded the connection is never given up.
		name: "not given up after a unit",
		sub:  "ocpp1.6",
		msgs: []swoMsg{
			swoCli(`hello`),
			swoCli(`hello`),
			swoCli(`[2,"1","Heartbeat",{}]`),
			swoCli(`hello`), swoCli(`hello`), swoCli(`hello`),
			swoSrv(`[3,"1",{}]`),
		},
		want: []string{
			`CALL "Heartbeat" id="1" payload={} version="1.6"`,
			`CALLRESULT "Heartbeat" id="1" payload={} version="1.6"`,
		},
		bad: 5,
	}, {
		name: "lenient CALLERROR and numeric id",
		sub:  "ocpp1.6",
		msgs: []swoMsg{swoSrv(`[2,17,"Reset",{"type":"Hard"}]`), swoCli(`[4,17,"InternalError"]`)},
		want: []string{
			`CALL "Reset" id="17" payload={"type":"Hard"} version="1.6"`,
			`CALLERROR "Reset" id="17" error_code="InternalError" version="1.6"`,
		},
	}, {
		name: "cut message",
		sub:  "ocpp1.6",
		msgs: []swoMsg{{text: `[2,"1","Heartbeat",{`, incomplete: true}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &Config{}
			if tc.force {
				cfg.Force = "ocpp"
			}
			l, out := swoRun(t, tc.sub, cfg, tc.msgs...)
			swoCheck(t, l, out, "ocpp", tc.after, tc.want, tc.bad)
		})
	}
}

func TestOCPPSniff(t *testing.T) {
	boot16 := `[2,"1a044cb0-4923-4c51-9a92-47d5dfee0f66","BootNotification",{"chargePointVendor":"wscap","chargePointModel":"R-1"}]`
	boot201 := `[2, "d633", "BootNotification", {"reason":"PowerUp","chargingStation":{"model":"R-2","vendorName":"wscap"}}]`
	for _, tc := range []struct {
		msg  swoMsg
		want bool
	}{
		{swoCli(boot16), true},
		{swoCli(boot201), true},
		{swoSrv(boot16), false},
		{swoCli(`[2,"1","Heartbeat",{}]`), false},
		{swoCli(`[2,"1","BootNotification"]`), false},
		{swoCli(`[2,1,"BootNotification",{}]`), false},
		{swoCli(`[3,"1",{"BootNotification":1}]`), false},
		{swoCli(`"BootNotification"`), false},
		{swoCli(`BootNotification please`), false},
		{swoCli(`{"jsonrpc":"2.0","method":"BootNotification","id":1}`), false},
		{swoCli(`[1,"realm1",{"roles":{}}]`), false},
	} {
		l, _ := swoRun(t, "", nil, tc.msg)
		if got := l.Protocol() == "ocpp"; got != tc.want {
			t.Errorf("sniff %q = %v, want %v", tc.msg.text, got, tc.want)
		}
	}
	// The version is guessed from a 1.6 BootNotification only.
	_, out := swoRun(t, "", nil, swoCli(boot16), swoSrv(`[3,"1a044cb0-4923-4c51-9a92-47d5dfee0f66",{"status":"Accepted"}]`))
	if got := swoAll(out); len(got) != 2 || !strings.HasSuffix(got[1], `version="1.6"`) || !strings.HasPrefix(got[1], `CALLRESULT "BootNotification"`) {
		t.Errorf("1.6 sniffed: %q", got)
	}
	_, out = swoRun(t, "", nil, swoCli(boot201))
	if got := swoAll(out); len(got) != 1 || strings.Contains(got[0], "version") {
		t.Errorf("2.0.1 sniffed: %q", got)
	}
	for sub, v := range map[string]string{"ocpp1.6": "1.6", "OCPP2.0.1": "2.0.1", "ocpp2.0": "2.0", "ocpp2.1": "2.1"} {
		l, out := swoRun(t, sub, nil, swoCli(`[2,"1","Heartbeat",{}]`))
		if l.Protocol() != "ocpp" || len(out[0].units) != 1 || string(out[0].units[0].Field("version")) != `"`+v+`"` {
			t.Errorf("subprotocol %s: %q %q", sub, l.Protocol(), swoAll(out))
		}
	}
}

func TestOCPPInfo(t *testing.T) {
	_, out := swoRun(t, "ocpp1.6", nil,
		swoCli(`[2,"19223201","BootNotification",{"chargePointVendor":"VendorX"}]`),
		swoSrv(`[4,"19223201","InternalError","boom",{"a":1}]`))
	for i, want := range []string{
		`"BootNotification" id=19223201 {"chargePointVendor":"VendorX"}`,
		`"BootNotification" id=19223201 InternalError "boom" {"a":1}`,
	} {
		if got := out[i].units[0].Info; got != want {
			t.Errorf("info %q, want %q", got, want)
		}
	}
}

// The map of open CALLs keeps the last ocppMaxCalls of each side.
func TestOCPPBounded(t *testing.T) {
	var msgs []swoMsg
	for i := range ocppMaxCalls + 10 {
		msgs = append(msgs, swoCli(`[2,"`+strings.Repeat("x", 30)+strconv.Itoa(i)+`","Heartbeat",{}]`))
	}
	msgs = append(msgs, swoSrv(`[3,"`+strings.Repeat("x", 30)+`0",{}]`), swoSrv(`[3,"`+strings.Repeat("x", 30)+strconv.Itoa(ocppMaxCalls+9)+`",{}]`))
	l, out := swoRun(t, "ocpp1.6", nil, msgs...)
	n := len(out)
	if out[n-2].units[0].HasName || out[n-1].units[0].Name != "Heartbeat" {
		t.Errorf("eviction: %q %q", swoDesc(out[n-2].units[0]), swoDesc(out[n-1].units[0]))
	}
	if sz := l.MemSize(); sz > 200<<10 {
		t.Errorf("MemSize %d", sz)
	}
}

func FuzzOCPP(f *testing.F) {
	f.Add(`[2,"1","BootNotification",{"chargePointVendor":"x"}]`, `[3,"1",{}]`, false)
	f.Add(`[4,"1","NotImplemented","",{}]`, `[5,"1","X","y",{}]`, true)
	f.Add(`[6,"1","Send",[1,2]]`, `[2,1e400,"A",null]`, false)
	f.Fuzz(func(t *testing.T, a, b string, server bool) {
		for _, sub := range []string{"ocpp1.6", ""} {
			swoRun(t, sub, nil, swoMsg{text: a}, swoMsg{text: b, fromServer: server}, swoMsg{text: a, fromServer: !server})
		}
		swoRun(t, "", &Config{Force: "ocpp"}, swoMsg{text: a}, swoMsg{text: b, fromServer: server}, swoMsg{text: a, fromServer: !server})
	})
}
