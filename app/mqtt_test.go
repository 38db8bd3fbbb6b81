package app

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wscap/wscap/decode"
)

// mqttMsg is one message of a test sequence.
type mqttMsg struct {
	client bool
	text   bool
	p      []byte
	cut    bool // Truncated
}

func cl(p ...[]byte) mqttMsg { return mqttMsg{client: true, p: bytes.Join(p, nil)} }
func sv(p ...[]byte) mqttMsg { return mqttMsg{p: bytes.Join(p, nil)} }

// mqttRun runs msgs through a connection's application layer as the
// decoder would and renders what each message got: its units (one line
// each), "partial", and anomalies as "! detail". proto is the selected
// subprotocol ("-": no handshake).
func mqttRun(t testing.TB, proto string, msgs []mqttMsg) (string, []string) {
	t.Helper()
	return mqttRunCfg(t, &Config{}, proto, msgs)
}

// mqttRunCfg is mqttRun with a configuration (cfg.Force to decode a
// conversation taken anywhere, without waiting for its opening).
func mqttRunCfg(t testing.TB, cfg *Config, proto string, msgs []mqttMsg) (string, []string) {
	t.Helper()
	var hs *decode.Handshake
	if proto != "-" {
		hs = &decode.Handshake{Method: "GET", Path: "/mqtt", Status: 101, Protocol: proto}
		if proto != "" {
			hs.OfferedProtocols = []string{proto}
		}
	}
	c := cfg.New(hs, netip.MustParseAddrPort("10.0.0.1:5000"), netip.MustParseAddrPort("10.0.0.2:80"))
	var out []string
	for i, m := range msgs {
		dm := &decode.Message{N: i + 1, Opcode: decode.OpBinary, Payload: bytes.Clone(m.p), Truncated: m.cut}
		if m.text {
			dm.Opcode = decode.OpText
		}
		role := decode.RoleServer
		if m.client {
			role = decode.RoleClient
		}
		info, an := c.Message(dm, role, nil)
		clear(dm.Payload) // units must not alias the payload
		var s []string
		if info != nil {
			if info.Partial {
				s = append(s, "partial")
			}
			for _, u := range info.Units {
				s = append(s, renderUnit(t, &u))
			}
		}
		for _, a := range an {
			if a.Code != CodeMalformed || a.Severity != decode.SeverityWarning || a.Ref == "" {
				t.Errorf("anomaly %+v", a)
			}
			s = append(s, "! "+a.Detail)
		}
		out = append(out, strings.Join(s, " | "))
	}
	return c.Protocol(), out
}

// renderUnit renders a unit as `proto TYPE name=N id=I key=value... : info`
// and checks that its JSON is valid and its Info one line.
func renderUnit(t testing.TB, u *Unit) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(u.Proto + " " + u.Type)
	if u.HasName {
		b.WriteString(" name=" + string(jstr(u.Name)))
	}
	if u.ID != nil {
		if !json.Valid(u.ID) {
			t.Errorf("id %q is not JSON", u.ID)
		}
		b.WriteString(" id=" + string(u.ID))
	}
	for _, f := range u.Fields {
		if !json.Valid(f.Value) {
			t.Errorf("%s: %s = %q is not JSON", u.Type, f.Key, f.Value)
		}
		b.WriteString(" " + f.Key + "=" + string(f.Value))
	}
	if strings.ContainsAny(u.Info, "\r\n") {
		t.Errorf("info %q has a line break", u.Info)
	}
	b.WriteString(" : " + u.Info)
	return b.String()
}

// ---- MQTT packet builders ----

func mqttPkt(b0 byte, body ...[]byte) []byte {
	bd := bytes.Join(body, nil)
	out := []byte{b0}
	n := len(bd)
	for {
		c := byte(n & 0x7f)
		n >>= 7
		if n > 0 {
			out = append(out, c|0x80)
			continue
		}
		out = append(out, c)
		break
	}
	return append(out, bd...)
}

func ms(s string) []byte  { return append([]byte{byte(len(s) >> 8), byte(len(s))}, s...) }
func mb(b ...byte) []byte { return b }
func mprops(p ...[]byte) []byte {
	b := bytes.Join(p, nil)
	return append(mqttVarintBytes(len(b)), b...)
}
func mqttVarintBytes(n int) []byte {
	p := mqttPkt(0, make([]byte, n))
	return p[1 : len(p)-n]
}

var (
	// MQTT 3.1.1 §3.1.2.10 example variable header (flags 0xCE), with a
	// payload: client id, will topic and message, user name, password.
	connect311 = mqttPkt(0x10, ms("MQTT"), mb(4, 0xCE, 0, 10), ms("c1"), ms("w/t"), ms("bye"), ms("user"), ms("pw"))
	// MQTT 5.0 §3.1.2.11 example variable header: level 5, flags 0xC2,
	// keep alive 10, Session Expiry Interval 10.
	connect5 = mqttPkt(0x10, ms("MQTT"), mb(5, 0xC2, 0, 10, 5, 0x11, 0, 0, 0, 10), ms("c5"), ms("u"), ms("p"))
	connack  = mqttPkt(0x20, mb(0, 0))
)

func TestMQTT(t *testing.T) {
	for _, tc := range []struct {
		name  string
		proto string
		force bool // --app mqtt: a conversation taken after its CONNECT
		msgs  []mqttMsg
		want  []string
	}{
		{"3.1.1 connect", "mqtt", false, []mqttMsg{cl(connect311), sv(mqttPkt(0x20, mb(1, 5)))}, []string{
			`mqtt CONNECT protocol_name="MQTT" protocol_level=4 clean_session=true keep_alive=10 client_id="c1" will_topic="w/t" will_qos=1 will_retain=false will_payload="bye" username="user" password="pw" : client_id="c1" v3.1.1 clean keep_alive=10 will="w/t" username="user"`,
			`mqtt CONNACK session_present=true return_code=5 : Connection Refused, not authorized session_present`,
		}},
		{"3.1 MQIsdp", "mqttv3.1", false, []mqttMsg{cl(mqttPkt(0x10, ms("MQIsdp"), mb(3, 0, 0, 0), ms("old"))), sv(connack)}, []string{
			`mqtt CONNECT protocol_name="MQIsdp" protocol_level=3 clean_session=false keep_alive=0 client_id="old" : client_id="old" v3.1 keep_alive=0`,
			`mqtt CONNACK session_present=false return_code=0 : Connection Accepted`,
		}},
		{"5.0 connect", "mqtt", false, []mqttMsg{
			cl(connect5),
			sv(mqttPkt(0x20, mb(0, 0x87), mprops(mb(0x1F), ms("nope"), mb(0x26), ms("k"), ms("v"), mb(0x26), ms("k"), ms("w"), mb(0x22, 0, 10)))),
			sv(mqttPkt(0x20, mb(0, 0), mprops(mb(0x12), ms("assigned"), mb(0x24, 1), mb(0x27, 0, 1, 0, 0)))),
		}, []string{
			`mqtt CONNECT protocol_name="MQTT" protocol_level=5 clean_session=true keep_alive=10 client_id="c5" username="u" password="p" properties={"session_expiry_interval":10} : client_id="c5" v5.0 clean keep_alive=10 username="u"`,
			`mqtt CONNACK session_present=false reason_code=135 properties={"reason_string":"nope","topic_alias_maximum":10,"user_property":[["k","v"],["k","w"]]} : Not authorized "nope"`,
			`mqtt CONNACK session_present=false reason_code=0 properties={"assigned_client_identifier":"assigned","maximum_qos":1,"maximum_packet_size":65536} : Success`,
		}},
		{"3.1.1 publish flow", "mqtt", false, []mqttMsg{
			cl(connect311), sv(connack),
			// §3.3.2.3 example: topic "a/b", packet identifier 10.
			cl(mqttPkt(0x32, ms("a/b"), mb(0, 10), []byte("hello"))),
			sv(mqttPkt(0x40, mb(0, 10))),
			cl(mqttPkt(0x3D, ms("a/b"), mb(0, 11), []byte{0xff, 0})),
			sv(mqttPkt(0x50, mb(0, 11))),
			cl(mqttPkt(0x62, mb(0, 11))),
			sv(mqttPkt(0x70, mb(0, 11))),
			cl(mqttPkt(0x31, ms("x"))),
		}, []string{
			`*`, `*`,
			`mqtt PUBLISH name="a/b" id=10 qos=1 retain=false dup=false payload="hello" : "a/b" qos=1 id=10 (5 bytes)`,
			`mqtt PUBACK id=10 : id=10`,
			`mqtt PUBLISH name="a/b" id=11 qos=2 retain=true dup=true payload_base64="/wA=" : "a/b" qos=2 id=11 retain dup (2 bytes)`,
			`mqtt PUBREC id=11 : id=11`,
			`mqtt PUBREL id=11 : id=11`,
			`mqtt PUBCOMP id=11 : id=11`,
			`mqtt PUBLISH name="x" qos=0 retain=true dup=false payload="" : "x" qos=0 retain (0 bytes)`,
		}},
		{"3.1.1 subscribe", "mqtt", false, []mqttMsg{
			cl(connect311),
			// §3.8.3 example: "a/b" QoS 1, "c/d" QoS 2; §3.9.3: 0, 2, 0x80.
			cl(mqttPkt(0x82, mb(0, 10), ms("a/b"), mb(1), ms("c/d"), mb(2))),
			sv(mqttPkt(0x90, mb(0, 10, 0, 2, 0x80))),
			cl(mqttPkt(0xA2, mb(0, 12), ms("a/b"), ms("c/d"))),
			sv(mqttPkt(0xB0, mb(0, 12))),
			cl(mqttPkt(0xC0)), sv(mqttPkt(0xD0)), cl(mqttPkt(0xE0)),
		}, []string{
			`*`,
			`mqtt SUBSCRIBE name="a/b" id=10 topics=[{"topic":"a/b","qos":1},{"topic":"c/d","qos":2}] : "a/b" qos=1, "c/d" qos=2 (2 filters) id=10`,
			`mqtt SUBACK id=10 codes=[0,2,128] : id=10 Success - Maximum QoS 0, Success - Maximum QoS 2, Failure`,
			`mqtt UNSUBSCRIBE name="a/b" id=12 topics=["a/b","c/d"] : "a/b", "c/d" (2 filters) id=12`,
			`mqtt UNSUBACK id=12 : id=12`,
			`mqtt PINGREQ : `, `mqtt PINGRESP : `, `mqtt DISCONNECT : `,
		}},
		{"5.0 packets", "mqtt", false, []mqttMsg{
			cl(connect5),
			cl(mqttPkt(0x32, ms("t"), mb(0, 1), mprops(mb(0x01, 1, 0x02, 0, 0, 0, 60, 0x03), ms("text/plain"), mb(0x08), ms("r"), mb(0x09), ms("\x00\xff"), mb(0x23, 0, 3), mb(0x0B, 0x81, 1)), []byte("hi"))),
			cl(mqttPkt(0x30, ms(""), mprops(mb(0x23, 0, 3)), []byte("again"))),
			sv(mqttPkt(0x40, mb(0, 1))),
			sv(mqttPkt(0x40, mb(0, 1, 0x10))),
			sv(mqttPkt(0x50, mb(0, 1, 0x80), mprops(mb(0x1F), ms("why")))),
			cl(mqttPkt(0x82, mb(0, 2), mprops(mb(0x0B, 7)), ms("s/+"), mb(0x2D), ms("q"), mb(0))),
			sv(mqttPkt(0x90, mb(0, 2), mprops(), mb(1, 0x8F))),
			cl(mqttPkt(0xA2, mb(0, 3), mprops(), ms("s/+"))),
			sv(mqttPkt(0xB0, mb(0, 3), mprops(), mb(0x11))),
			cl(mqttPkt(0xE0, mb(4), mprops(mb(0x11, 0, 0, 0, 0)))),
			sv(mqttPkt(0xE0, mb(0x8B))),
			cl(mqttPkt(0xF0, mb(0x19), mprops(mb(0x15), ms("SCRAM"), mb(0x16), ms("data")))),
			sv(mqttPkt(0xF0)),
		}, []string{
			`*`,
			`mqtt PUBLISH name="t" id=1 qos=1 retain=false dup=false payload="hi" properties={"payload_format_indicator":1,"message_expiry_interval":60,"content_type":"text/plain","response_topic":"r","correlation_data_base64":"AP8=","topic_alias":3,"subscription_identifier":129} : "t" qos=1 id=1 (2 bytes)`,
			`mqtt PUBLISH name="t" qos=0 retain=false dup=false payload="again" properties={"topic_alias":3} : "t" qos=0 (5 bytes)`,
			`mqtt PUBACK id=1 reason_code=0 : id=1 Success`,
			`mqtt PUBACK id=1 reason_code=16 : id=1 No matching subscribers`,
			`mqtt PUBREC id=1 reason_code=128 properties={"reason_string":"why"} : id=1 Unspecified error "why"`,
			`mqtt SUBSCRIBE name="s/+" id=2 topics=[{"topic":"s/+","qos":1,"no_local":true,"retain_as_published":true,"retain_handling":2},{"topic":"q","qos":0}] properties={"subscription_identifier":7} : "s/+" qos=1, "q" qos=0 (2 filters) id=2`,
			`mqtt SUBACK id=2 codes=[1,143] : id=2 Granted QoS 1, Topic Filter invalid`,
			`mqtt UNSUBSCRIBE name="s/+" id=3 topics=["s/+"] : "s/+" id=3`,
			`mqtt UNSUBACK id=3 codes=[17] : id=3 No subscription existed`,
			`mqtt DISCONNECT reason_code=4 properties={"session_expiry_interval":0} : Disconnect with Will Message`,
			`mqtt DISCONNECT reason_code=139 : Server shutting down`,
			`mqtt AUTH reason_code=25 properties={"authentication_method":"SCRAM","authentication_data":"data"} : Re-authenticate`,
			`mqtt AUTH reason_code=0 : Success`,
		}},
		{"packets across and within messages", "mqtt", false, func() []mqttMsg {
			// mqtt.js writes the pieces of one packet as separate messages.
			var ms []mqttMsg
			for _, b := range connect311 {
				ms = append(ms, cl([]byte{b}))
			}
			pub := mqttPkt(0x30, []byte{0, 1, 'a'}, []byte("xyz"))
			ms = append(ms, sv(connack, pub, pub[:3]), sv(pub[3:], mqttPkt(0xD0)))
			return ms
		}(), append(append(func() []string {
			s := make([]string, len(connect311)-1)
			for i := range s {
				s[i] = "partial"
			}
			return s
		}(), `mqtt CONNECT protocol_name="MQTT" protocol_level=4 clean_session=true keep_alive=10 client_id="c1" will_topic="w/t" will_qos=1 will_retain=false will_payload="bye" username="user" password="pw" : client_id="c1" v3.1.1 clean keep_alive=10 will="w/t" username="user"`),
			`mqtt CONNACK session_present=false return_code=0 : Connection Accepted | mqtt PUBLISH name="a" qos=0 retain=false dup=false payload="xyz" : "a" qos=0 (3 bytes)`,
			`mqtt PUBLISH name="a" qos=0 retain=false dup=false payload="xyz" : "a" qos=0 (3 bytes) | mqtt PINGRESP : `)},
		{"malformed and resync", "mqtt", false, []mqttMsg{
			cl(connect311),
			cl(mqttPkt(0x00)),
			cl(mqttPkt(0xF0)),
			cl(mqttPkt(0x82, mb(0, 1), ms("a"), mb(1))[:4]), // partial, then a bad continuation
			cl(mb(0xff, 0xff, 0xff, 0xff)),
			cl(mb(0xC0, 0xff, 0xff, 0xff, 0xff, 0x7f)),
			cl(mqttPkt(0x83, mb(0, 1), ms("a"), mb(1))),
			cl(mqttPkt(0x36, ms("a"), mb(0, 1))),
			cl(mqttPkt(0xC0, mb(0))),
			cl(mqttPkt(0x82, mb(0, 1))),
			cl(mqttPkt(0x82, mb(0, 1), ms("a"), mb(3))),
			cl(mqttPkt(0x32, ms("a"), mb(0, 0))),
			cl(mqttPkt(0x30, mb(0, 9, 'a'))),
			cl(mqttPkt(0x10, ms("MQTT"), mb(4, 1, 0, 0), ms(""))),
			cl(mqttPkt(0x10, ms("MQTT"), mb(4, 0x18, 0, 0), ms(""))),
			cl(mqttPkt(0xC0), mqttPkt(0x00)),
			cl(mqttPkt(0xC0)),
		}, []string{
			`*`,
			`! mqtt: reserved packet type 0 at byte 0`,
			`! mqtt: reserved packet type 15 at byte 0`,
			`partial`,
			`! mqtt: SUBSCRIBE: packet shorter than its fields (remaining length 6)`,
			`! mqtt: remaining length longer than 4 bytes at byte 0`,
			`! mqtt: SUBSCRIBE with flags 3 (must be 2) at byte 0`,
			`! mqtt: PUBLISH with QoS 3 at byte 0`,
			`! mqtt: PINGREQ: 1 bytes after the packet's fields`,
			`! mqtt: SUBSCRIBE: no topic filter`,
			`! mqtt: SUBSCRIBE: bad subscription options 0x3`,
			`! mqtt: PUBLISH: packet identifier 0`,
			`! mqtt: PUBLISH: packet shorter than its fields (remaining length 3)`,
			`! mqtt: CONNECT: reserved connect flag set`,
			`! mqtt: CONNECT: will QoS 3`,
			`mqtt PINGREQ :  | ! mqtt: reserved packet type 0 at byte 2`,
			`mqtt PINGREQ : `,
		}},
		{"5.0 malformed properties", "mqtt", false, []mqttMsg{
			cl(connect5),
			sv(mqttPkt(0x40, mb(0, 1, 0), mprops(mb(0x7f, 1)))),
			sv(mqttPkt(0x40, mb(0, 1, 0), mb(3, 0x1F, 0, 5))),
			sv(mqttPkt(0x40, mb(0, 1, 0), mb(9, 0x1F, 0, 1, 'a'))),
			sv(mqttPkt(0x30, ms("t"), mb(2, 0x23, 0))),
		}, []string{
			`*`,
			`! mqtt: PUBACK: unknown property 0x7f`,
			`! mqtt: PUBACK: property list overruns its length`,
			`! mqtt: PUBACK: packet shorter than its fields (remaining length 8)`,
			`! mqtt: PUBLISH: property list overruns its length`,
		}},
		{"level 5 guessed without CONNECT", "mqtt", true, []mqttMsg{
			sv(mqttPkt(0x40, mb(0, 1, 0x10))),
			sv(mqttPkt(0x90, mb(0, 2), mprops(), mb(1))),
		}, []string{
			`mqtt PUBACK id=1 reason_code=16 : id=1 No matching subscribers`,
			`mqtt SUBACK id=2 codes=[1] : id=2 Granted QoS 1`,
		}},
		{"mqttv5 subprotocol", "mqttv5", true, []mqttMsg{
			sv(mqttPkt(0x30, ms("t"), mprops(), []byte("p"))),
		}, []string{
			`mqtt PUBLISH name="t" qos=0 retain=false dup=false payload="p" : "t" qos=0 (1 bytes)`,
		}},
		{"incomplete message", "mqtt", false, []mqttMsg{
			cl(connect311),
			{client: true, p: append(mqttPkt(0xC0), mqttPkt(0x30, ms("t"), []byte("abc"))[:5]...), cut: true},
			cl([]byte("bc")), // the rest of the cut packet: no packet starts here
			cl(mqttPkt(0xC0)),
		}, []string{
			`*`,
			`mqtt PINGREQ : `,
			``,
			`mqtt PINGREQ : `,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &Config{}
			if tc.force {
				cfg.Force = "mqtt"
			}
			p, got := mqttRunCfg(t, cfg, tc.proto, tc.msgs)
			if p != "mqtt" {
				t.Errorf("protocol %q", p)
			}
			checkLines(t, got, tc.want, nil)
		})
	}
}

func TestMQTTBigPacket(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789"), 150_000) // 1.5 MB
	pub := mqttPkt(0x32, ms("big"), mb(0, 5), payload)
	var msgs []mqttMsg
	msgs = append(msgs, cl(connect311))
	for i := 0; i < len(pub); i += 100_000 {
		msgs = append(msgs, cl(pub[i:min(len(pub), i+100_000)]))
	}
	msgs[len(msgs)-1].p = append(msgs[len(msgs)-1].p, mqttPkt(0xC0)...)
	_, got := mqttRun(t, "mqtt", msgs)
	for i := 1; i < len(got)-1; i++ {
		if got[i] != "partial" {
			t.Errorf("message %d: %s", i+1, got[i])
		}
	}
	last := got[len(got)-1]
	want := `mqtt PUBLISH name="big" id=5 qos=1 retain=false dup=false payload="` + string(payload[:mqttKeep-7]) + `" payload_truncated=true : "big" qos=1 id=5 (1500000 bytes) | mqtt PINGREQ : `
	if last != want {
		t.Errorf("last message: %.200s ... %.100s", last, last[max(0, len(last)-100):])
	}
	// The whole packet in one message is cut the same way.
	forced := &Config{Force: "mqtt"}
	_, got = mqttRunCfg(t, forced, "mqtt", []mqttMsg{cl(pub)})
	if !strings.HasSuffix(got[0], `" payload_truncated=true : "big" qos=1 id=5 (1500000 bytes)`) || len(got[0]) > mqttKeep+200 {
		t.Errorf("one message: %.100s", got[0])
	}
	// A large SUBSCRIBE is cut at mqttKeep.
	var filters [][]byte
	for i := 0; len(filters)*11 < 1_100_000; i++ {
		filters = append(filters, append(ms("t/"+strconv.Itoa(100000+i)), 0))
	}
	sub := mqttPkt(0x82, mb(0, 9), bytes.Join(filters, nil))
	_, got = mqttRunCfg(t, forced, "mqtt", []mqttMsg{cl(sub[:1000]), cl(sub[1000:])})
	if got[0] != "partial" || !strings.Contains(got[1], `mqtt SUBSCRIBE name="t/100000" id=9 topics=[{"topic":"t/100000","qos":0},`) || !strings.HasSuffix(got[1], "(1100002 bytes, cut)") {
		t.Errorf("subscribe: %.100s ... %s", got[1], got[1][max(0, len(got[1])-100):])
	}
}

func TestMQTTDetect(t *testing.T) {
	for _, tc := range []struct {
		name  string
		proto string
		m     mqttMsg
		want  string
	}{
		{"subprotocol mqtt", "mqtt", cl(connect311), "mqtt"},
		{"subprotocol MQTTv3.1", "MQTTv3.1", cl(mqttPkt(0x10, ms("MQIsdp"), mb(3, 2, 0, 60), ms("x"))), "mqtt"},
		{"subprotocol mqttv3.1.1", "mqttv3.1.1", cl(connect311), "mqtt"},
		{"subprotocol mqtt, opened by the fixed header alone", "mqtt", cl(mb(0x10)), "mqtt"},            // mqtt.js writes it first
		{"subprotocol mqtt, server speaks first", "mqtt", sv(connack), "mqtt"},                          // not decided yet
		{"subprotocol mqtt, not opened by CONNECT", "mqtt", cl(mqttPkt(0xC0)), ""},                      // MQTT §3.1
		{"subprotocol mqtt, text", "mqtt", mqttMsg{client: true, text: true, p: []byte(`{"a":1}`)}, ""}, // wsgen's claim
		{"sniff 3.1.1", "", cl(connect311), "mqtt"},
		{"sniff 5.0", "", cl(connect5), "mqtt"},
		{"sniff 3.1", "", cl(mqttPkt(0x10, ms("MQIsdp"), mb(3, 2, 0, 60), ms("x"))), "mqtt"},
		{"sniff no handshake", "-", cl(connect5), "mqtt"},
		{"fixed header alone", "", cl(mb(0x10, 0x1a)), ""},
		{"connect head without flags", "", cl(mb(0x10, 0x0c), ms("MQTT"), mb(4)), ""},
		{"server connect", "", sv(connect311), ""},
		{"text connect", "", mqttMsg{client: true, text: true, p: connect311}, ""},
		{"wrong level", "", cl(mqttPkt(0x10, ms("MQTT"), mb(6, 2, 0, 60), ms("x"))), ""},
		{"reserved flag", "", cl(mqttPkt(0x10, ms("MQTT"), mb(4, 3, 0, 60), ms("x"))), ""},
		{"other name", "", cl(mqttPkt(0x10, ms("MQTX"), mb(4, 2, 0, 60), ms("x"))), ""},
		{"publish", "", cl(mqttPkt(0x30, ms("t"), []byte("hello"))), ""},
		{"free text", "", mqttMsg{client: true, text: true, p: []byte("hello")}, ""},
		{"random", "", cl(mb(0x10, 0x93, 0x22, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x07, 0x00, 0x11, 0x22)), ""},
		{"bad varint", "", cl(mb(0x10, 0xff, 0xff, 0xff, 0xff, 0x04, 'M', 'Q', 'T', 'T', 4, 2, 0, 0)), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := mqttRun(t, tc.proto, []mqttMsg{tc.m})
			if p == "json" || p == "msgpack" || p == "cbor" {
				p = ""
			}
			if p != tc.want {
				t.Errorf("protocol %q, want %q", p, tc.want)
			}
		})
	}
}

// A subprotocol only claims MQTT: the client's first packet must be
// CONNECT (MQTT §3.1); what comes before it is not decoded, a connection
// that opens otherwise is not decoded at all, and one whose first messages
// do not parse is given up after 3 of them.
func TestMQTTOpening(t *testing.T) {
	notOpen := `! mqtt: the connection does not open as mqtt does (first client message: binary c000); it is not decoded as mqtt`
	for _, tc := range []struct {
		name  string
		proto string
		msgs  []mqttMsg
		want  []string
		after string // the protocol after the messages
	}{
		{"server first, then CONNECT", "mqtt", []mqttMsg{sv(connack), cl(connect311), sv(connack)}, []string{
			``,
			`mqtt CONNECT protocol_name="MQTT" protocol_level=4 clean_session=true keep_alive=10 client_id="c1" will_topic="w/t" will_qos=1 will_retain=false will_payload="bye" username="user" password="pw" : client_id="c1" v3.1.1 clean keep_alive=10 will="w/t" username="user"`,
			`mqtt CONNACK session_present=false return_code=0 : Connection Accepted`,
		}, "mqtt"},
		{"mqtt.js: the fixed header alone", "mqtt", []mqttMsg{cl(connect311[:1]), cl(connect311[1:2]), cl(connect311[2:])}, []string{
			`partial`, `partial`,
			`mqtt CONNECT protocol_name="MQTT" protocol_level=4 clean_session=true keep_alive=10 client_id="c1" will_topic="w/t" will_qos=1 will_retain=false will_payload="bye" username="user" password="pw" : client_id="c1" v3.1.1 clean keep_alive=10 will="w/t" username="user"`,
		}, "mqtt"},
		{"opened by PINGREQ", "mqtt", []mqttMsg{cl(mqttPkt(0xC0)), cl(connect311), sv(connack)}, []string{
			notOpen, ``, ``,
		}, ""},
		{"forced: no opening needed", "force", []mqttMsg{cl(mqttPkt(0xC0))}, []string{`mqtt PINGREQ : `}, "mqtt"},
		{"3 malformed in a row", "mqtt", []mqttMsg{
			cl(mqttPkt(0x10)),
			sv(mqttPkt(0x00)),
			cl(mqttPkt(0xF0)),
			cl(connect311),
		}, []string{
			`! mqtt: CONNECT: packet shorter than its fields (remaining length 0)`,
			`! mqtt: reserved packet type 0 at byte 0`,
			`! mqtt: reserved packet type 15 at byte 0; 3 messages in a row did not parse: the connection is not decoded as mqtt any more`,
			``,
		}, ""},
		{"2 malformed, then a packet", "mqtt", []mqttMsg{
			cl(mqttPkt(0x10)),
			sv(mqttPkt(0x00)),
			sv(connack),
			sv(mqttPkt(0x00)),
			sv(mqttPkt(0x00)),
		}, []string{
			`! mqtt: CONNECT: packet shorter than its fields (remaining length 0)`,
			`! mqtt: reserved packet type 0 at byte 0`,
			`mqtt CONNACK session_present=false return_code=0 : Connection Accepted`,
			`! mqtt: reserved packet type 0 at byte 0`,
			`! mqtt: reserved packet type 0 at byte 0`,
		}, "mqtt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, proto := &Config{}, tc.proto
			if proto == "force" {
				cfg.Force, proto = "mqtt", ""
			}
			p, got := mqttRunCfg(t, cfg, proto, tc.msgs)
			if p != tc.after {
				t.Errorf("protocol %q, want %q", p, tc.after)
			}
			checkLines(t, got, tc.want, nil)
		})
	}
}

// FuzzMQTT runs arbitrary messages, in sequence, through an MQTT
// connection: the input is cut into messages at "||"; every third message
// is the server's, and a message starting with 0xEE is marked truncated.
func FuzzMQTT(f *testing.F) {
	seeds := [][]byte{
		bytes.Join([][]byte{connect311, connack, mqttPkt(0x32, ms("a/b"), mb(0, 10), []byte("hello"))}, nil),
		connect5,
		bytes.Join([][]byte{connect5, []byte("||"), mqttPkt(0x20, mb(0, 0), mprops(mb(0x26), ms("k"), ms("v"), mb(0x23, 0, 1))), []byte("||"), mqttPkt(0x30, ms(""), mprops(mb(0x23, 0, 1)))}, nil),
		mqttPkt(0x82, mb(0, 10), ms("a/b"), mb(1), ms("c/d"), mb(2)),
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var msgs []mqttMsg
		for i, part := range bytes.Split(b, []byte("||")) {
			msgs = append(msgs, mqttMsg{client: i%3 != 1, p: part, cut: len(part) > 0 && part[0] == 0xEE})
		}
		mqttRunCfg(t, &Config{Force: "mqtt"}, "mqtt", msgs) // the decoder on anything
		mqttRun(t, "mqtt", msgs)                            // the opening and give-up rules
	})
}

// TestMQTTSplitLinear: a packet sent a byte a message (up to the 1 MiB
// buffered whole) costs the same per message however much of it is
// buffered: four times the messages take about four times as long, not
// sixteen (the buffer was moved onto itself at every message).
func TestMQTTSplitLinear(t *testing.T) {
	if testing.Short() {
		t.Skip("a million messages")
	}
	run := func(n int) time.Duration {
		l := (&Config{Force: "mqtt"}).New(nil, fmtClientAP, fmtServerAP)
		start := time.Now()
		fmtSend(t, l, true, true, []byte{0x30, 0xff, 0xff, 0x3f}) // PUBLISH of 1 MiB - 1
		one := []byte("a")
		for range n {
			if a, an := fmtSend(t, l, true, true, one); a == nil || !a.Partial || len(an) > 0 {
				t.Fatalf("not partial, or %v", an)
			}
		}
		return time.Since(start)
	}
	small, big := run(1<<18), run(1<<20-16)
	if big > 7*small+100*time.Millisecond {
		t.Errorf("2^18 one-byte messages: %v; 2^20: %v", small, big)
	}
}
