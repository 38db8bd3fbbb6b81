package app

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"

	"github.com/wscap/wscap/decode"
)

var (
	fmtClientAP = netip.MustParseAddrPort("10.0.0.1:50000")
	fmtServerAP = netip.MustParseAddrPort("10.0.0.2:8080")
)

// fmtSend runs one message through the layer as decode would and returns
// what it said.
func fmtSend(t testing.TB, l *Conn, fromClient, binary bool, payload []byte) (*decode.AppInfo, []decode.Anomaly) {
	t.Helper()
	m := &decode.Message{Opcode: decode.OpText, Payload: payload}
	if binary {
		m.Opcode = decode.OpBinary
	}
	role := decode.RoleServer
	if fromClient {
		role = decode.RoleClient
	}
	app, an := l.Message(m, role, nil)
	if app != nil {
		for _, u := range app.Units {
			fmtCheckUnit(t, &u)
		}
	}
	return app, an
}

// fmtCheckUnit checks that every JSON of u is valid and Info is one line.
func fmtCheckUnit(t testing.TB, u *Unit) {
	t.Helper()
	for _, v := range [][]byte{u.ID, u.Value} {
		if v != nil && !json.Valid(v) {
			t.Fatalf("%s %s: invalid JSON %q", u.Proto, u.Type, v)
		}
	}
	for _, f := range u.Fields {
		if !json.Valid(f.Value) {
			t.Fatalf("%s %s: field %s: invalid JSON %q", u.Proto, u.Type, f.Key, f.Value)
		}
	}
	if strings.ContainsAny(u.Info, "\r\n") {
		t.Fatalf("%s %s: Info has a line break: %q", u.Proto, u.Type, u.Info)
	}
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMsgpackValue covers every type of the spec (§Formats) and its
// extension timestamp (§Timestamp extension type).
func TestMsgpackValue(t *testing.T) {
	for _, tc := range []struct {
		in, want, typ string
	}{
		{"00", `0`, "number"},
		{"7f", `127`, "number"},
		{"ff", `-1`, "number"},
		{"e0", `-32`, "number"},
		{"c0", `null`, "null"},
		{"c2", `false`, "boolean"},
		{"c3", `true`, "boolean"},
		{"cc ff", `255`, "number"},
		{"cd ffff", `65535`, "number"},
		{"ce ffffffff", `4294967295`, "number"},
		{"cf ffffffffffffffff", `18446744073709551615`, "number"},
		{"d0 80", `-128`, "number"},
		{"d1 8000", `-32768`, "number"},
		{"d2 80000000", `-2147483648`, "number"},
		{"d3 8000000000000000", `-9223372036854775808`, "number"},
		{"ca 3fc00000", `1.5`, "number"},
		{"cb 3ff8000000000000", `1.5`, "number"},
		{"cb 7ff8000000000000", `"NaN"`, "number"},
		{"cb fff0000000000000", `"-Infinity"`, "number"},
		{"cb 3eb0c6f7a0b5ed8d", `0.000001`, "number"},
		{"cb 3eb0c6f7a0b5ed8c", `9.999999999999997e-7`, "number"},
		{"cb 444b1ae4d6e2ef50", `1e+21`, "number"},
		{"a0", `""`, "string"},
		{"a3 616263", `"abc"`, "string"},
		{"d9 03 0a22ff", `"\n\"\ufffd"`, "string"},
		{"da 0001 78", `"x"`, "string"},
		{"db 00000001 78", `"x"`, "string"},
		{"c4 03 0102ff", `{"base64":"AQL/"}`, "bytes"},
		{"c5 0000", `{"base64":""}`, "bytes"},
		{"c6 00000001 00", `{"base64":"AA=="}`, "bytes"},
		{"90", `[]`, "array"},
		{"93 01 a178 c0", `[1,"x",null]`, "array"},
		{"dc 0002 01 02", `[1,2]`, "array"},
		{"dd 00000001 c3", `[true]`, "array"},
		{"80", `{}`, "object"},
		{"82 a161 01 a162 92 01 02", `{"a":1,"b":[1,2]}`, "object"},
		{"82 a162 01 a161 02", `{"b":1,"a":2}`, "object"}, // wire order kept
		{"de 0001 a161 c0", `{"a":null}`, "object"},
		{"df 00000001 a161 c0", `{"a":null}`, "object"},
		{"83 01 a1 61 c3 02 92 01 02 c0", `{"1":"a","true":2,"[1,2]":null}`, "object"},
		{"81 81 a161 01 02", `{"{\"a\":1}":2}`, "object"},
		{"d4 05 aa", `{"ext":5,"base64":"qg=="}`, "ext"},
		{"d5 01 aabb", `{"ext":1,"base64":"qrs="}`, "ext"},
		{"d8 7f 000102030405060708090a0b0c0d0e0f", `{"ext":127,"base64":"AAECAwQFBgcICQoLDA0ODw=="}`, "ext"},
		{"c7 02 80 0102", `{"ext":-128,"base64":"AQI="}`, "ext"},
		{"c8 0000 07", `{"ext":7,"base64":""}`, "ext"},
		{"c9 00000001 07 ff", `{"ext":7,"base64":"/w=="}`, "ext"},
		// timestamp 32, 64 and 96 (from @msgpack/msgpack)
		{"d6 ff 5fefe2a5", `"2021-01-02T03:04:05Z"`, "timestamp"},
		{"d7 ff a1a5d600 5fefe2a5", `"2021-01-02T03:04:05.678Z"`, "timestamp"},
		{"c7 0c ff 1dcd6500 ffffffffffffffff", `"1969-12-31T23:59:59.5Z"`, "timestamp"},
		{"d6 ff 00000000", `"1970-01-01T00:00:00Z"`, "timestamp"},
		// nanoseconds out of range, or a year RFC 3339 cannot write: plain ext
		{"d7 ff ffffffff 00000000", `{"ext":-1,"base64":"/////wAAAAA="}`, "ext"},
		{"c7 0c ff 00000000 7fffffffffffffff", `{"ext":-1,"base64":"AAAAAH//////////"}`, "ext"},
		{"d5 ff 0000", `{"ext":-1,"base64":"AAA="}`, "ext"},
		// a timestamp as a key stays a string
		{"81 d6ff00000000 01", `{"1970-01-01T00:00:00Z":1}`, "object"},
	} {
		b := unhex(t, tc.in)
		v, next, typ, ok := msgpackValue(b, 0)
		if !ok || next != len(b) || string(v) != tc.want || typ != tc.typ {
			t.Errorf("msgpackValue(%s) = %s %d %s %v; want %s %d %s", tc.in, v, next, typ, ok, tc.want, len(b), tc.typ)
		}
		if ok && !json.Valid(v) {
			t.Errorf("msgpackValue(%s) = %s: invalid JSON", tc.in, v)
		}
	}
}

// TestMsgpackBad: truncated values, the unused 0xc1, and counts that
// claim more than the bytes present fail without allocating.
func TestMsgpackBad(t *testing.T) {
	for _, in := range []string{
		"", "c1", "cc", "cd 00", "cf 00000000000000", "ca 000000", "cb 00",
		"a2 61", "d9", "d9 05 6161", "da 0001", "db ffffffff 61",
		"c4 02 00", "c6 ffffffff", "c7 01", "c7 02 01 00", "d4 01", "d8 01 00",
		"91", "93 01 02", "dc 0003 01 02", "dd ffffffff 01 02",
		"81 a161", "82 a161 01 a162", "df ffffffff a161 01", "de ffff 00 00",
	} {
		b := unhex(t, in)
		if v, _, _, ok := msgpackValue(b, 0); ok {
			t.Errorf("msgpackValue(%s) = %s; want failure", in, v)
		}
	}
	// 2^32 entries claimed in 10 bytes: fails at once.
	b := unhex(t, "df ffffffff a1 61 01 a1 62")
	if n := testing.AllocsPerRun(10, func() { msgpackValue(b, 0) }); n > 2 {
		t.Errorf("map32 claiming 2^32 entries: %v allocations", n)
	}
	// Deep nesting is bounded.
	deep := append(bytes.Repeat([]byte{0x91}, fmtMaxDepth+2), 0x01)
	if _, _, _, ok := msgpackValue(deep, 0); ok {
		t.Errorf("nesting of %d accepted", fmtMaxDepth+2)
	}
	ok := append(bytes.Repeat([]byte{0x91}, fmtMaxDepth), 0x01)
	if _, _, _, good := msgpackValue(ok, 0); !good {
		t.Errorf("nesting of %d refused", fmtMaxDepth)
	}
	// Keys that are maps nested in keys: quoting doubles at each level;
	// the output bound stops it.
	var nest []byte
	for range 40 {
		nest = append([]byte{0x81}, nest...)
	}
	nest = append(nest, 0xa1, 'k', 0x01)
	for range 40 {
		nest = append(nest, 0x01)
	}
	if v, _, _, ok := msgpackValue(nest, 0); ok && len(v) > outLimit(len(nest)) {
		t.Errorf("nested keys made %d bytes of JSON", len(v))
	}
}

// TestBareBinary: maps with string keys are labelled; arrays, scalars,
// empty maps, maps with other keys and trailing bytes are not.
func TestBareBinary(t *testing.T) {
	for _, tc := range []struct {
		in, proto, want string
	}{
		{"82 a161 01 a162 92 01 02", "msgpack", `{"a":1,"b":[1,2]}`},
		{"8aa16101a16293c3c2c0a163a668c3a96c6c6fa164fba165cb3ff8000000000000a166c4030102ffa16781a17881a179920181a17a02a3626967cf0000010000000000a36e6567d3ffffff0000000000a174d7ffa1a5d6005fefe2a5", "msgpack",
			`{"a":1,"b":[true,false,null],"c":"héllo","d":-5,"e":1.5,"f":{"base64":"AQL/"},"g":{"x":{"y":[1,{"z":2}]}},"big":1099511627776,"neg":-1099511627776,"t":"2021-01-02T03:04:05.678Z"}`},
		{"de 0001 a3 6b6579 a3 76616c", "msgpack", `{"key":"val"}`},
		{"a2 6161 01 6162 f5", "cbor", `{"a":1,"b":true}`},
		{"bf 6161 01 ff", "cbor", `{"a":1}`},
		{"b9000a616101616283f5f4f661636668c3a96c6c6f6164246165fb3ff80000000000006166d840430102ff6167b900016178b9000161798201b90001617a0263626967fb4270000000000000636e6567fbc2700000000000006174c1fb41d7fbf8a96b645a", "cbor",
			`{"a":1,"b":[true,false,null],"c":"héllo","d":-5,"e":1.5,"f":{"tag":64,"value":{"base64":"AQL/"}},"g":{"x":{"y":[1,{"z":2}]}},"big":1099511627776,"neg":-1099511627776,"t":{"tag":1,"value":1609556645.678}}`},
		{"80", "", ""},
		{"a0", "", ""},
		{"bf ff", "", ""},
		{"92 01 02", "", ""},
		{"82 01 02 03 04", "", ""},
		{"81 a161 01 00", "", ""},     // trailing byte
		{"81 a1 0a 01", "", ""},       // control character in the key
		{"81 a1 ff 01", "", ""},       // key is not UTF-8
		{"a1 01 02", "", ""},          // CBOR map with an integer key
		{"a1 41 61 02", "", ""},       // CBOR map with a byte string key
		{"a1 7f 61 61 ff 02", "", ""}, // indefinite text key: not guessed
		{"fe ca 00 01 02 03", "", ""}, // wsgen record
		{"83 a161 01", "", ""},        // truncated
	} {
		r := &Result{}
		bareBinary(&Msg{Binary: true, Payload: unhex(t, tc.in)}, r)
		got := ""
		if len(r.Units) == 1 {
			got = r.Units[0].Proto
			if string(r.Units[0].Value) != tc.want || r.Units[0].Type != "object" {
				t.Errorf("bareBinary(%.20s) = %s %s; want %s", tc.in, r.Units[0].Type, r.Units[0].Value, tc.want)
			}
		}
		if got != tc.proto || len(r.Units) > 1 || len(r.Anomalies) > 0 {
			t.Errorf("bareBinary(%.20s) = %q (%d units, %d anomalies); want %q", tc.in, got, len(r.Units), len(r.Anomalies), tc.proto)
		}
	}
}

// TestBareBinaryRandom: random bytes of 1..4096 bytes are never labelled,
// nor are wsgen's binary records (0xfe 0xca ...).
func TestBareBinaryRandom(t *testing.T) {
	n := 100000
	if testing.Short() {
		n = 10000
	}
	rng := rand.New(rand.NewPCG(14, 1))
	src := rand.NewChaCha8([32]byte{14})
	buf := make([]byte, 4096)
	labels := 0
	for i := 0; i < n; i++ {
		b := buf[:1+rng.IntN(4096)]
		src.Read(b)
		if i%4 == 0 { // start like a map half the time, to reach the parsers
			b[0] = []byte{0x81, 0x82, 0x8f, 0xde, 0xdf, 0xa1, 0xa2, 0xbf}[rng.IntN(8)]
		}
		r := &Result{}
		bareBinary(&Msg{Binary: true, Payload: b}, r)
		if len(r.Units) > 0 {
			labels++
			t.Logf("labelled %s: %x", r.Units[0].Proto, b)
		}
		if i%50 == 0 && len(b) >= 2 {
			b[0], b[1] = 0xfe, 0xca
			r := &Result{}
			bareBinary(&Msg{Binary: true, Payload: b}, r)
			if len(r.Units) > 0 {
				t.Errorf("wsgen-like record labelled %s", r.Units[0].Proto)
			}
		}
	}
	if labels > 0 {
		t.Errorf("%d of %d random messages labelled", labels, n)
	}
}

// TestMsgpackForced: --app msgpack decodes every binary message (a
// sequence of values is one unit each); what does not parse is malformed.
func TestMsgpackForced(t *testing.T) {
	c := &Config{}
	if err := c.Set("msgpack"); err != nil {
		t.Fatal(err)
	}
	l := c.New(nil, fmtClientAP, fmtServerAP)
	info, an := fmtSend(t, l, true, true, unhex(t, "93 01 02 03 c3"))
	if info == nil || len(info.Units) != 2 || info.Units[0].Type != "array" || string(info.Units[0].Value) != "[1,2,3]" || info.Units[1].Type != "boolean" || len(an) != 0 {
		t.Fatalf("sequence: %+v %v", info, an)
	}
	info, an = fmtSend(t, l, false, true, unhex(t, "c1"))
	if info != nil || len(an) != 1 || an[0].Code != CodeMalformed || !strings.Contains(an[0].Detail, "msgpack") {
		t.Fatalf("0xc1: %+v %v", info, an)
	}
	// Text is as on a connection no protocol claims (JSON only with --app json).
	if info, an := fmtSend(t, l, false, false, []byte(`{"a":1}`)); info != nil || len(an) != 0 {
		t.Fatalf("text: %+v %v", info, an)
	}
	// bare detection on an unforced connection
	l = (&Config{}).New(nil, fmtClientAP, fmtServerAP)
	info, _ = fmtSend(t, l, false, true, unhex(t, "81 a4 74797065 a4 70696e67"))
	if info == nil || info.Units[0].Proto != "msgpack" || string(info.Units[0].Value) != `{"type":"ping"}` || info.Units[0].Info != `{"type":"ping"}` {
		t.Fatalf("bare: %+v", info)
	}
}

// FuzzMsgpack: no panic, valid JSON, bounded output, and agreement between
// the JSON writer and the checker.
func FuzzMsgpack(f *testing.F) {
	for _, s := range []string{"82a16101a162920102", "c70cff1dcd6500ffffffffffffffff", "df ffffffff a161", "81 81 a161 01 02", "d6ff5fefe2a5"} {
		b, _ := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, next, _, ok := msgpackValue(b, 0)
		_, next2, ok2 := msgpackSkip(b, 0, 0)
		if ok {
			if !json.Valid(v) || strings.ContainsAny(string(v), "\r\n") {
				t.Fatalf("msgpackValue(%x) = %q", b, v)
			}
			if len(v) > outLimit(len(b)) {
				t.Fatalf("msgpackValue(%x): %d bytes of JSON", b, len(v))
			}
			if !ok2 || next2 != next {
				t.Fatalf("skip disagrees: %v %d vs %d", ok2, next2, next)
			}
		}
		r := &Result{}
		bareBinary(&Msg{Binary: true, Payload: b}, r)
		for _, u := range r.Units {
			fmtCheckUnit(t, &u)
		}
		l := (&Config{Force: "msgpack"}).New(nil, fmtClientAP, fmtServerAP)
		fmtSend(t, l, true, true, b)
	})
}

// BenchmarkBareBinary: the cost of the guess on a binary message that is
// not a map (most binary traffic) and on one that is.
func BenchmarkBareBinary(b *testing.B) {
	other := bytes.Repeat([]byte{0xfe, 0xca, 1, 2}, 256)
	mp := unhex(b, "8aa16101a16293c3c2c0a163a668c3a96c6c6fa164fba165cb3ff8000000000000a166c4030102ffa16781a17881a179920181a17a02a3626967cf0000010000000000a36e6567d3ffffff0000000000a174d7ffa1a5d6005fefe2a5")
	for _, tc := range []struct {
		name string
		in   []byte
	}{{"other", other}, {"msgpack", mp}} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(tc.in)))
			for b.Loop() {
				var r Result
				bareBinary(&Msg{Binary: true, Payload: tc.in}, &r)
				signalrSniff(&Msg{Binary: true, Payload: tc.in})
			}
		})
	}
}

// TestFormatConnection: a connection whose binary message is a map with
// string keys is chosen as that format; its later binary messages are
// decoded when they are exactly one value (arrays and scalars too), left
// raw otherwise, with no anomaly; its text stays bare JSON. As in the
// formats-msgpack and formats-cbor recordings (@msgpack/msgpack, cbor-x).
func TestFormatConnection(t *testing.T) {
	for _, tc := range []struct {
		proto            string
		mapMsg, arrayMsg string
		array            string
	}{
		{"msgpack", "81 a4 74797065 a7 72656164696e67", "93 01 ff c0", `[1,-1,null]`},
		{"cbor", "a1 64 74797065 67 72656164696e67", "83 01 20 f6", `[1,-1,null]`},
	} {
		l := (&Config{}).New(nil, fmtClientAP, fmtServerAP)
		if info, _ := fmtSend(t, l, true, false, []byte(`{"type":"hello"}`)); info != nil || l.Protocol() != "" {
			t.Fatalf("%s hello: %+v", tc.proto, info)
		}
		// An array first is not enough.
		if info, _ := fmtSend(t, l, true, true, unhex(t, tc.arrayMsg)); info != nil || l.Protocol() != "" {
			t.Fatalf("%s array first: %+v %q", tc.proto, info, l.Protocol())
		}
		info, _ := fmtSend(t, l, true, true, unhex(t, tc.mapMsg))
		if l.Protocol() != tc.proto || info == nil || info.Units[0].Proto != tc.proto || string(info.Units[0].Value) != `{"type":"reading"}` {
			t.Fatalf("%s map: %+v %q", tc.proto, info, l.Protocol())
		}
		info, an := fmtSend(t, l, false, true, unhex(t, tc.arrayMsg))
		if info == nil || info.Units[0].Type != "array" || string(info.Units[0].Value) != tc.array || len(an) != 0 {
			t.Fatalf("%s array: %+v %v", tc.proto, info, an)
		}
		if info, an := fmtSend(t, l, false, true, unhex(t, "c1 ff ff 00")); info != nil || len(an) != 0 {
			t.Fatalf("%s garbage: %+v %v", tc.proto, info, an)
		}
		if info, an := fmtSend(t, l, false, false, []byte(`[{"type":"bye"}]`)); info != nil || len(an) != 0 {
			t.Fatalf("%s bye: %+v", tc.proto, info)
		}
	}
	// --app PORT=msgpack forces the format on that port only.
	c := &Config{}
	if err := c.Set("8080=msgpack"); err != nil {
		t.Fatal(err)
	}
	l := c.New(&decode.Handshake{Path: "/"}, fmtClientAP, fmtServerAP)
	if _, an := fmtSend(t, l, true, true, unhex(t, "c1")); len(an) != 1 {
		t.Errorf("forced by port: %v", an)
	}
}

// TestFormatRandomConnections: connections of random binary messages are
// never chosen as a format.
func TestFormatRandomConnections(t *testing.T) {
	src := rand.NewChaCha8([32]byte{8})
	rng := rand.New(rand.NewPCG(8, 8))
	for c := 0; c < 2000; c++ {
		l := (&Config{}).New(nil, fmtClientAP, fmtServerAP)
		for range sniffMessages + 2 {
			b := make([]byte, 1+rng.IntN(64))
			src.Read(b)
			if info, _ := fmtSend(t, l, c%2 == 0, true, b); info != nil {
				t.Fatalf("random %x labelled %+v", b, info.Units)
			}
		}
		if l.Protocol() != "" {
			t.Fatalf("random connection chosen as %s", l.Protocol())
		}
	}
}

// TestJSONConnectionBinary: with --app json, a connection's binary
// messages are MessagePack or CBOR from its first binary map on (as the
// formats recordings send JSON text beside MessagePack or CBOR arrays).
func TestJSONConnectionBinary(t *testing.T) {
	l := (&Config{Force: "json"}).New(nil, fmtClientAP, fmtServerAP)
	if info, _ := fmtSend(t, l, true, true, unhex(t, "93 01 02 03")); info != nil {
		t.Fatalf("array first: %+v", info)
	}
	if info, _ := fmtSend(t, l, true, true, unhex(t, "81 a1 61 01")); info == nil || info.Units[0].Proto != "msgpack" {
		t.Fatalf("map: %+v", info)
	}
	if info, _ := fmtSend(t, l, false, true, unhex(t, "93 01 02 03")); info == nil || string(info.Units[0].Value) != "[1,2,3]" {
		t.Fatalf("array: %+v", info)
	}
	if info, an := fmtSend(t, l, false, true, unhex(t, "c1")); info != nil || len(an) != 0 {
		t.Fatalf("garbage: %+v %v", info, an)
	}
	if info, _ := fmtSend(t, l, false, false, []byte(`[1]`)); info == nil || info.Units[0].Proto != "json" {
		t.Fatalf("text: %+v", info)
	}
}
