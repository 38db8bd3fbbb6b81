package app

import (
	"bytes"
	"strings"
	"testing"
)

func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

func sipText(client bool, s string) mqttMsg { return mqttMsg{client: client, text: true, p: crlf(s)} }

// RFC 7118 §8.1: a REGISTER over WebSocket and its 200 OK (folded Contact).
var (
	sipRegister = `REGISTER sip:proxy.example.com SIP/2.0
Via: SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bKasudf
From: sip:alice@example.com;tag=65bnmj.34asd
To: sip:alice@example.com
Call-ID: aiuy7k9njasd
CSeq: 1 REGISTER
Max-Forwards: 70
Supported: path, outbound, gruu
Contact: <sip:alice@df7jal23ls0d.invalid;transport=ws>
  ;reg-id=1
  ;+sip.instance="<urn:uuid:f81-7dec-14a06cf1>"

`
	sipRegisterOK = `SIP/2.0 200 OK
Via: SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bKasudf
From: sip:alice@example.com;tag=65bnmj.34asd
To: sip:alice@example.com;tag=12isjljn8
Call-ID: aiuy7k9njasd
CSeq: 1 REGISTER
Supported: outbound, gruu
Contact: <sip:alice@df7jal23ls0d.invalid;transport=ws>
  ;reg-id=1
  ;expires=3600

`
	// RFC 3261 §24.2 F1 in compact form (§7.3.3), with its SDP body.
	sipInvite = `INVITE sip:bob@biloxi.example.com SIP/2.0
v: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9
Max-Forwards: 70
f: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl
t: Bob <sip:bob@biloxi.example.com>
i: 3848276298220188511@atlanta.example.com
CSeq: 2 INVITE
m: <sip:alice@client.atlanta.example.com;transport=tcp>
c: application/sdp
l: 151

v=0
o=alice 2890844526 2890844526 IN IP4 client.atlanta.example.com
s=-
c=IN IP4 192.0.2.101
t=0 0
m=audio 49172 RTP/AVP 0
a=rtpmap:0 PCMU/8000
`
)

func TestSIP(t *testing.T) {
	for _, tc := range []struct {
		name  string
		proto string
		force bool // --app sip: the decoder on anything, never given up
		msgs  []mqttMsg
		want  []string
	}{
		{"register", "sip", false, []mqttMsg{sipText(true, sipRegister), sipText(false, sipRegisterOK)}, []string{
			`sip REGISTER name="sip:proxy.example.com" id=1 method="REGISTER" call_id="aiuy7k9njasd" from="sip:alice@example.com;tag=65bnmj.34asd" to="sip:alice@example.com" cseq="1 REGISTER" headers={"Via":"SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bKasudf","From":"sip:alice@example.com;tag=65bnmj.34asd","To":"sip:alice@example.com","Call-ID":"aiuy7k9njasd","CSeq":"1 REGISTER","Max-Forwards":"70","Supported":"path, outbound, gruu","Contact":"<sip:alice@df7jal23ls0d.invalid;transport=ws> ;reg-id=1 ;+sip.instance=\"<urn:uuid:f81-7dec-14a06cf1>\""} : "sip:proxy.example.com" id=1`,
			`sip response id=1 status=200 reason="OK" method="REGISTER" call_id="aiuy7k9njasd" from="sip:alice@example.com;tag=65bnmj.34asd" to="sip:alice@example.com;tag=12isjljn8" cseq="1 REGISTER" headers={"Via":"SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bKasudf","From":"sip:alice@example.com;tag=65bnmj.34asd","To":"sip:alice@example.com;tag=12isjljn8","Call-ID":"aiuy7k9njasd","CSeq":"1 REGISTER","Supported":"outbound, gruu","Contact":"<sip:alice@df7jal23ls0d.invalid;transport=ws> ;reg-id=1 ;expires=3600"} : 200 OK REGISTER id=1`,
		}},
		{"invite compact, binary, keep-alive", "SIP", false, []mqttMsg{
			{client: true, p: crlf(sipInvite)},
			sipText(false, "SIP/2.0 180 Ringing\nVia: a\nVia: b\nCSeq:2 INVITE\nContent-Length: 0\n\n"),
			sipText(true, "\n\n"), sipText(false, "\n"),
			sipText(false, "SIP/2.0 486 Busy Here\nl: 3\n\nabcdef"),
			{p: []byte("MESSAGE sip:a@b SIP/2.0\nCSeq: 7 MESSAGE\nContent-Type: application/octet-stream\n\n\xff\x00")},
		}, []string{
			`sip INVITE name="sip:bob@biloxi.example.com" id=2 method="INVITE" call_id="3848276298220188511@atlanta.example.com" from="Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl" to="Bob <sip:bob@biloxi.example.com>" cseq="2 INVITE" headers={"Via":"SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9","Max-Forwards":"70","From":"Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl","To":"Bob <sip:bob@biloxi.example.com>","Call-ID":"3848276298220188511@atlanta.example.com","CSeq":"2 INVITE","Contact":"<sip:alice@client.atlanta.example.com;transport=tcp>","Content-Type":"application/sdp","Content-Length":"151"} body="v=0\r\no=alice 2890844526 2890844526 IN IP4 client.atlanta.example.com\r\ns=-\r\nc=IN IP4 192.0.2.101\r\nt=0 0\r\nm=audio 49172 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n" : "sip:bob@biloxi.example.com" id=2 (application/sdp, 151 bytes)`,
			`sip response id=2 status=180 reason="Ringing" method="INVITE" cseq="2 INVITE" headers={"Via":"a, b","CSeq":"2 INVITE","Content-Length":"0"} : 180 Ringing INVITE id=2`,
			`sip keep-alive : ping`, `sip keep-alive : pong`,
			`sip response status=486 reason="Busy Here" headers={"Content-Length":"3"} body="abc" : 486 Busy Here (3 bytes)`,
			`sip MESSAGE name="sip:a@b" id=7 method="MESSAGE" cseq="7 MESSAGE" headers={"CSeq":"7 MESSAGE","Content-Type":"application/octet-stream"} body_base64="/wA=" : "sip:a@b" id=7 (application/octet-stream, 2 bytes)`,
		}},
		{"malformed", "sip", true, []mqttMsg{
			sipText(true, "hello"),
			sipText(true, "hello world\n\n"),
			sipText(true, "INVITE sip:a@b SIP/3.0\n\n"),
			sipText(false, "SIP/2.0 2000 OK\n\n"),
			sipText(true, "INVITE sip:a@b SIP/2.0\nVia x\n\n"),
			sipText(true, "INVITE sip:a@b SIP/2.0\n folded\n\n"),
			sipText(true, "INVITE sip:a@b SIP/2.0\nVia: x\n"),
			sipText(true, "INVITE sip:a@b SIP/2.0\nl: 10\n\nabc"),
			sipText(true, "INVITE sip:a@b SIP/2.0\nl: -1\n\n"),
			sipText(true, "INVITE sip:a@b SIP/2.0\nCSeq: x INVITE\n\n"),
			{client: true, text: true, p: crlf("INVITE sip:a@b SIP/2.0\nl: 10\n\nabc"), cut: true},
			{client: true, text: true, p: crlf("INVITE sip:a@b SIP/2.0\nCSeq: 3 INVITE\nVia: x"), cut: true},
		}, []string{
			`! sip: no line end after the start line`,
			`! sip: bad start line "hello world"`,
			`! sip: bad SIP version "SIP/3.0"`,
			`! sip: bad status code "2000"`,
			`! sip: header line without a field name "Via x"`,
			`! sip: header continuation before any header field`,
			`! sip: no empty line after the header fields`,
			`! sip: Content-Length 10 exceeds the 3 bytes of body`,
			`! sip: bad Content-Length "-1"`,
			`! sip: bad CSeq "x INVITE"`,
			`sip INVITE name="sip:a@b" headers={"Content-Length":"10"} body="abc" : "sip:a@b" (3 bytes)`,
			`sip INVITE name="sip:a@b" id=3 method="INVITE" cseq="3 INVITE" headers={"CSeq":"3 INVITE"} : "sip:a@b" id=3`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &Config{}
			if tc.force {
				cfg.Force = "sip"
			}
			p, got := mqttRunCfg(t, cfg, tc.proto, tc.msgs)
			if p != "sip" {
				t.Errorf("protocol %q", p)
			}
			checkLines(t, got, tc.want, nil)
		})
	}
}

func TestSIPPayloadUntouched(t *testing.T) {
	p := crlf("OPTIONS sip:a@b SIP/2.0\nContact: <sip:x>\n ;a=1\n\t;b=2\nVia: 1\nVia: 2\n\n")
	orig := bytes.Clone(p)
	var r Result
	sipDecoder{}.decode(&Msg{FromClient: true, Payload: p}, &r)
	if !bytes.Equal(p, orig) {
		t.Errorf("payload written: %q", p)
	}
	if len(r.Units) != 1 || !strings.Contains(string(r.Units[0].Field("headers")), `"Contact":"<sip:x> ;a=1 ;b=2","Via":"1, 2"`) {
		t.Errorf("units %+v", r.Units)
	}
}

func TestSIPDetect(t *testing.T) {
	for _, tc := range []struct {
		name  string
		proto string
		m     mqttMsg
		want  string
	}{
		{"subprotocol", "sip", sipText(true, "\n\n"), "sip"},
		{"register", "", sipText(true, sipRegister), "sip"},
		{"response", "", sipText(false, sipRegisterOK), "sip"},
		{"binary invite", "", mqttMsg{client: true, p: crlf(sipInvite)}, "sip"},
		{"tel uri", "", sipText(true, "MESSAGE tel:+15551234 SIP/2.0\n\n"), "sip"},
		{"lf only", "", mqttMsg{client: true, text: true, p: []byte("REGISTER sip:a SIP/2.0\n\n")}, ""},
		{"http", "", sipText(true, "GET / HTTP/1.1\nHost: x\n\n"), ""},
		{"stomp", "", mqttMsg{client: true, text: true, p: []byte("CONNECT\naccept-version:1.2\nhost:x\n\n\x00")}, ""},
		{"text", "", sipText(true, "SEND sip:me a note SIP/2.0 please\n"), ""},
		{"status 099", "", sipText(false, "SIP/2.0 099 Odd\n\n"), ""},
		{"hello", "", sipText(true, "hello"), ""},
		{"json", "", sipText(true, `{"method":"REGISTER","uri":"sip:a"}`), ""},
		{"random", "", mqttMsg{client: true, p: []byte("\x93\x01\xffSIP/2.0 200 OK\r\n")}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := mqttRun(t, tc.proto, []mqttMsg{tc.m})
			if p != "sip" {
				p = ""
			}
			if p != tc.want {
				t.Errorf("protocol %q, want %q", p, tc.want)
			}
		})
	}
}

// Chosen by the subprotocol, not forced: 3 messages in a row that do not
// parse, before any did, and the connection is not decoded as SIP any
// more; once one parsed, it never is given up.
func TestSIPGiveUp(t *testing.T) {
	p, got := mqttRun(t, "sip", []mqttMsg{
		sipText(true, "hello"),
		sipText(false, "hello world\n\n"),
		sipText(true, "INVITE sip:a@b SIP/3.0\n\n"),
		sipText(true, sipRegister),
	})
	want := []string{
		`! sip: no line end after the start line`,
		`! sip: bad start line "hello world"`,
		`! sip: bad SIP version "SIP/3.0"; 3 messages in a row did not parse: the connection is not decoded as sip any more`,
		``,
	}
	if p != "" || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("protocol %q, got:\n%s\nwant:\n%s", p, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	p, got = mqttRun(t, "sip", []mqttMsg{
		sipText(true, "hello"),
		sipText(true, "\n\n"),
		sipText(true, "hello"), sipText(true, "hello"), sipText(true, "hello"),
		sipText(true, "\n\n"),
	})
	if p != "sip" || got[5] != `sip keep-alive : ping` {
		t.Errorf("protocol %q, got %q", p, got)
	}
}

// FuzzSIP runs arbitrary messages through a SIP connection ("||" separates
// messages; one starting with 0xEE is marked truncated).
func FuzzSIP(f *testing.F) {
	for _, s := range []string{sipRegister, sipRegisterOK, sipInvite, "\n\n", "SIP/2.0 180 Ringing\nv: a\n b\nv: c\nl: 0\n\n"} {
		f.Add(crlf(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var msgs []mqttMsg
		for i, part := range bytes.Split(b, []byte("||")) {
			msgs = append(msgs, mqttMsg{client: i%2 == 0, text: i%3 != 0, p: part, cut: len(part) > 0 && part[0] == 0xEE})
		}
		mqttRun(t, "sip", msgs)
		mqttRunCfg(t, &Config{Force: "sip"}, "sip", msgs)
	})
}
