package app

import (
	"bytes"
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"github.com/wscap/wscap/decode"
)

// srUnit is what a test expects of one unit.
type srUnit struct {
	typ, name, id string // name "" = null; id "" = none
	fields        string // the fields as a JSON object, "" to skip
}

func srFields(u *Unit) string {
	return string(jobj(u.Fields...))
}

func srCheck(t *testing.T, what string, units []Unit, want []srUnit) {
	t.Helper()
	if len(units) != len(want) {
		t.Fatalf("%s: %d units, want %d: %+v", what, len(units), len(want), units)
	}
	for i, w := range want {
		u := &units[i]
		name := ""
		if u.HasName {
			name = u.Name
		}
		id := ""
		if u.ID != nil {
			id = string(u.ID)
		}
		if u.Proto != "signalr" || u.Type != w.typ || name != w.name || id != w.id || w.fields != "" && srFields(u) != w.fields {
			t.Errorf("%s unit %d = %s %q %s %s; want %s %q %s %s", what, i, u.Type, name, id, srFields(u), w.typ, w.name, w.id, w.fields)
		}
	}
}

const rs = "\x1e"

// TestSignalRJSON: the JSON hub protocol, with the examples of
// HubProtocol.md §JSON Encoding, several records per message and a record
// split across messages.
func TestSignalRJSON(t *testing.T) {
	l := (&Config{}).New(nil, fmtClientAP, fmtServerAP)
	steps := []struct {
		client bool
		in     string
		want   []srUnit
		part   bool
	}{
		{true, `{"protocol":"json","version":1}` + rs, []srUnit{{"handshake", "", "", `{"protocol":"json","version":1,"encoding":"json"}`}}, false},
		{false, `{}` + rs + `{"type":6}` + rs, []srUnit{{"handshake", "", "", `{"encoding":"json"}`}, {"Ping", "", "", `{"encoding":"json"}`}}, false},
		{true, `{"type":1,"invocationId":"123","target":"Send","arguments":[42,"Test Message"]}` + rs, []srUnit{{"Invocation", "Send", `"123"`, `{"arguments":[42,"Test Message"],"encoding":"json"}`}}, false},
		{true, `{"type":1,"target":"Send","arguments":[42,"Test Message"],"headers":{"Foo":"Bar"}}` + rs, []srUnit{{"Invocation", "Send", "", `{"arguments":[42,"Test Message"],"headers":{"Foo":"Bar"},"encoding":"json"}`}}, false},
		{false, `{"type":3,"invocationId":"123","result":42}` + rs + `{"type":3,"invocationId":"9","error":"It didn't work!"}` + rs, []srUnit{
			{"Completion", "Send", `"123"`, `{"result":42,"encoding":"json"}`},
			{"Completion", "", `"9"`, `{"error":"It didn't work!","encoding":"json"}`}}, false},
		{true, `{"type":4,"invocationId":"7","target":"Stream","arguments":[1],"streamIds":["8"]}` + rs, []srUnit{{"StreamInvocation", "Stream", `"7"`, `{"arguments":[1],"stream_ids":["8"],"encoding":"json"}`}}, false},
		{false, `{"type":2,"invocationId":"7","item":{"a":1}}` + rs + `{"type":2,"invoc`, []srUnit{{"StreamItem", "Stream", `"7"`, `{"item":{"a":1},"encoding":"json"}`}}, true},
		{false, `ationId":"7","item":2}` + rs, []srUnit{{"StreamItem", "Stream", `"7"`, `{"item":2,"encoding":"json"}`}}, false},
		{false, `{"type":3,"invocationId":"7"}` + rs, []srUnit{{"Completion", "Stream", `"7"`, `{"encoding":"json"}`}}, false},
		{true, `{"type":5,"invocationId":"7"}` + rs, []srUnit{{"CancelInvocation", "", `"7"`, `{"encoding":"json"}`}}, false},
		{true, `{"type":2,"invocationId":"8","item":"up"}` + rs, []srUnit{{"StreamItem", "", `"8"`, `{"item":"up","encoding":"json"}`}}, false},
		{true, `{"type":8,"sequenceId":1394}` + rs + `{"type":9,"sequenceId":1394}` + rs, []srUnit{{"Ack", "", "", `{"sequence_id":1394,"encoding":"json"}`}, {"Sequence", "", "", `{"sequence_id":1394,"encoding":"json"}`}}, false},
		{false, `{"type":99,"x":1}` + rs + `{"type":6}` + rs, []srUnit{{"Ping", "", "", ""}}, false}, // unknown types are ignored
		{false, `{"type":7,"error":"Connection closed because of an error!","allowReconnect":true}` + rs, []srUnit{{"Close", "", "", `{"error":"Connection closed because of an error!","allow_reconnect":true,"encoding":"json"}`}}, false},
	}
	for i, s := range steps {
		info, an := fmtSend(t, l, s.client, false, []byte(s.in))
		if l.Protocol() != "signalr" {
			t.Fatalf("step %d: protocol %q", i, l.Protocol())
		}
		if len(an) > 0 {
			t.Fatalf("step %d: anomalies %v", i, an)
		}
		if info == nil {
			t.Fatalf("step %d: no app", i)
		}
		srCheck(t, s.in, info.Units, s.want)
		if s.part != (len(l.dec.(*signalrDecoder).pend[1]) > 0) {
			t.Errorf("step %d: pending %q", i, l.dec.(*signalrDecoder).pend[1])
		}
	}
	// A handshake error answer.
	l = (&Config{}).New(nil, fmtClientAP, fmtServerAP)
	fmtSend(t, l, true, false, []byte(`{"protocol":"foo","version":1}`+rs))
	info, _ := fmtSend(t, l, false, false, []byte(`{"error":"The protocol 'foo' is not supported."}`+rs))
	srCheck(t, "error", info.Units, []srUnit{{"handshake", "", "", `{"error":"The protocol 'foo' is not supported.","encoding":"foo"}`}})
	// A record that only starts: partial.
	info, _ = fmtSend(t, l, false, false, []byte(`{"type":1,"target":"x","argu`))
	if info == nil || !info.Partial || len(info.Units) != 0 {
		t.Errorf("partial: %+v", info)
	}
}

// TestSignalRMalformed: records that are not hub messages are reported,
// one anomaly per message and no unit.
func TestSignalRMalformed(t *testing.T) {
	for _, in := range []string{
		`{"type":1,"arguments":[]}` + rs, // no target
		`{"type":"1","target":"x"}` + rs, // type not an integer
		`{"type":1,"target":5}` + rs,     // target not a string
		`{"type":3}` + rs,                // no invocationId
		`{"type":8}` + rs,                // no sequenceId
		`{"type":1,"target":"x","arguments":{}}` + rs,
		`{"type":6}` + rs + `not json` + rs,
		`[1,2]` + rs,
	} {
		l := (&Config{Force: "signalr"}).New(nil, fmtClientAP, fmtServerAP)
		info, an := fmtSend(t, l, true, false, []byte(in))
		if info != nil || len(an) != 1 || an[0].Code != CodeMalformed || an[0].Ref != signalrRef {
			t.Errorf("%q: %+v %v", in, info, an)
		}
	}
	// Incomplete messages are never malformed.
	l := (&Config{Force: "signalr"}).New(nil, fmtClientAP, fmtServerAP)
	m := &Msg{FromClient: true, Payload: []byte(`{"type":6}` + rs + `{"type":1,"tar`), Incomplete: true}
	r := &Result{}
	l.dec.decode(m, r)
	if len(r.Anomalies) != 0 || len(r.Units) != 1 || r.Partial || len(l.dec.(*signalrDecoder).pend[0]) != 0 {
		t.Errorf("incomplete: %+v", r)
	}
}

// srFrame prefixes a MessagePack hub message with its VarInt length.
func srFrame(t *testing.T, hexs string) []byte {
	b := unhex(t, hexs)
	var out []byte
	n := len(b)
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
	return append(out, b...)
}

// TestSignalRMsgpack: the MessagePack hub protocol (HubProtocol.md
// §MessagePack Encoding), every message type, several per message, one
// split across messages, and a length prefix of several bytes.
func TestSignalRMsgpack(t *testing.T) {
	l := (&Config{}).New(nil, fmtClientAP, fmtServerAP)
	info, _ := fmtSend(t, l, true, false, []byte(`{"protocol":"messagepack","version":1}`+rs))
	srCheck(t, "handshake", info.Units, []srUnit{{"handshake", "", "", `{"protocol":"messagepack","version":1,"encoding":"messagepack"}`}})
	// The server's answer in a binary message, with a Ping behind it.
	info, _ = fmtSend(t, l, false, true, append([]byte("{}"+rs), srFrame(t, "91 06")...))
	srCheck(t, "answer", info.Units, []srUnit{{"handshake", "", "", ""}, {"Ping", "", "", `{"encoding":"messagepack"}`}})
	enc := `"encoding":"messagepack"`
	big := strings.Repeat("x", 200)
	steps := []struct {
		client bool
		in     []byte
		want   []srUnit
	}{
		// [1, {}, "xyz", "method", [42]] and without an id, with headers, with streamIds
		{true, srFrame(t, "95 01 80 a3 78797a a6 6d6574686f64 91 2a"), []srUnit{{"Invocation", "method", `"xyz"`, `{"arguments":[42],` + enc + `}`}}},
		{true, append(srFrame(t, "95 01 81 a3466f6f a3426172 c0 a6 6d6574686f64 92 2a c3"), srFrame(t, "96 04 80 a1 37 a6 53747265616d 90 91 a1 38")...), []srUnit{
			{"Invocation", "method", "", `{"arguments":[42,true],"headers":{"Foo":"Bar"},` + enc + `}`},
			{"StreamInvocation", "Stream", `"7"`, `{"arguments":[],"stream_ids":["8"],` + enc + `}`}}},
		{false, srFrame(t, "94 02 80 a1 37 92 01 02"), []srUnit{{"StreamItem", "Stream", `"7"`, `{"item":[1,2],` + enc + `}`}}},
		{false, srFrame(t, "95 03 80 a3 78797a 03 2a"), []srUnit{{"Completion", "method", `"xyz"`, `{"result":42,` + enc + `}`}}},
		{false, srFrame(t, "95 03 80 a1 37 01 a5 4572726f72"), []srUnit{{"Completion", "Stream", `"7"`, `{"error":"Error",` + enc + `}`}}},
		{false, srFrame(t, "94 03 80 a1 37 02"), []srUnit{{"Completion", "Stream", `"7"`, `{` + enc + `}`}}},
		{true, srFrame(t, "93 05 80 a1 37"), []srUnit{{"CancelInvocation", "", `"7"`, `{` + enc + `}`}}},
		{false, srFrame(t, "93 07 a5 4572726f72 c3"), []srUnit{{"Close", "", "", `{"error":"Error","allow_reconnect":true,` + enc + `}`}}},
		{false, srFrame(t, "92 07 c0"), []srUnit{{"Close", "", "", `{` + enc + `}`}}},
		{true, append(srFrame(t, "92 08 cd 0572"), srFrame(t, "92 09 01")...), []srUnit{{"Ack", "", "", `{"sequence_id":1394,` + enc + `}`}, {"Sequence", "", "", `{"sequence_id":1,` + enc + `}`}}},
		{true, srFrame(t, "92 63 01"), nil}, // unknown type: ignored
		// a message of 2xx bytes: a two-byte VarInt
		{true, srFrame(t, "95 01 80 c0 a4 42696767 91 d9 c8"+strings.Repeat("78", 200)), []srUnit{{"Invocation", "Bigg", "", `{"arguments":["` + big + `"],` + enc + `}`}}},
	}
	for i, s := range steps {
		info, an := fmtSend(t, l, s.client, true, s.in)
		if len(an) > 0 {
			t.Fatalf("step %d: anomalies %v", i, an)
		}
		if s.want == nil {
			if info != nil {
				t.Errorf("step %d: %+v", i, info)
			}
			continue
		}
		if info == nil {
			t.Fatalf("step %d: no app", i)
		}
		srCheck(t, "step", info.Units, s.want)
	}
	// Split: the VarInt, then the rest.
	f := append(srFrame(t, "91 06"), srFrame(t, "95 01 80 c0 a4 42696767 91 d9 c8"+strings.Repeat("78", 200))...)
	info, _ = fmtSend(t, l, true, true, f[:4])
	srCheck(t, "split 1", info.Units, []srUnit{{"Ping", "", "", ""}})
	if len(l.dec.(*signalrDecoder).pend[0]) != 1 {
		t.Errorf("split: pending %x", l.dec.(*signalrDecoder).pend[0])
	}
	info, _ = fmtSend(t, l, true, true, f[4:100])
	if info == nil || !info.Partial || len(info.Units) != 0 {
		t.Errorf("split 2: %+v", info)
	}
	info, an := fmtSend(t, l, true, true, f[100:])
	if len(an) > 0 {
		t.Fatal(an)
	}
	srCheck(t, "split 3", info.Units, []srUnit{{"Invocation", "Bigg", "", ""}})
	// Malformed frames.
	for _, in := range [][]byte{
		srFrame(t, "81 a1 61 01"),                           // not an array
		srFrame(t, "92 a1 31 01"),                           // type not an integer
		srFrame(t, "94 01 80 c0 a1 61"),                     // Invocation too short
		srFrame(t, "95 01 80 01 a1 61 90"),                  // invocationId an integer
		srFrame(t, "95 03 80 a1 37 07 01"),                  // result kind 7
		unhex(t, "ff ff ff ff ff 01"),                       // VarInt of 6 bytes
		append(srFrame(t, "91 06"), 0x80, 0x80, 0x80, 0x40), // 2^27 bytes claimed: over the pending limit
	} {
		l := (&Config{Force: "signalr"}).New(nil, fmtClientAP, fmtServerAP)
		info, an := fmtSend(t, l, false, true, in)
		if info != nil || len(an) != 1 || an[0].Code != CodeMalformed {
			t.Errorf("%x: %+v %v", in, info, an)
		}
	}
}

// TestSignalRSniff: the handshake request and messages made only of hub
// messages select SignalR; free text, other JSON, other protocols and
// random bytes do not.
func TestSignalRSniff(t *testing.T) {
	for _, tc := range []struct {
		client, binary bool
		in             string
		want           bool
	}{
		{true, false, `{"protocol":"json","version":1}` + rs, true},
		{true, true, `{"protocol":"messagepack","version":1}` + rs, true},
		{false, false, `{"type":6}` + rs, true},
		{false, false, `{"type":1,"target":"ReceiveMessage","arguments":["a","b"]}` + rs + `{"type":6}` + rs, true},
		{false, false, `{}` + rs, true},
		{false, true, string(srFrame(t, "91 06")), true},
		{false, true, string(srFrame(t, "95 01 80 c0 a4 42696767 91 01")), true},
		{true, false, `{"protocol":"json","version":1}`, false},
		{true, false, `{"type":6}`, false},
		{true, false, `{"type":1}` + rs, false},
		{true, false, `{"type":10}` + rs, false},
		{true, false, `{"type":6}` + rs + `hello` + rs, false},
		{true, false, "hello" + rs, false},
		{true, false, `{"jsonrpc":"2.0","method":"x","id":1}`, false},
		{true, false, `42["chat message","hi"]`, false},
		{true, false, "CONNECT\naccept-version:1.2\n\n\x00", false},
		{true, true, "\x10\x10\x00\x04MQTT\x04\x02\x00\x3c\x00\x04abcd", false},
		{true, true, string(srFrame(t, "92 06")), false},             // Ping with an extra element
		{true, true, string(srFrame(t, "94 01 80 c0 a1 61")), false}, // too short
		{true, true, "\x02\x91\x06\x00", false},                      // trailing byte
		{true, true, "\xfe\xca\x00\x01", false},
	} {
		got := signalrSniff(&Msg{FromClient: tc.client, Binary: tc.binary, Payload: []byte(tc.in)})
		if got != tc.want {
			t.Errorf("signalrSniff(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestSignalRBounds: the id map and the pending buffer stay bounded.
func TestSignalRBounds(t *testing.T) {
	l := (&Config{Force: "signalr"}).New(nil, fmtClientAP, fmtServerAP)
	d := l.dec.(*signalrDecoder)
	var b bytes.Buffer
	for i := range 5000 {
		b.Reset()
		b.WriteString(`{"type":1,"invocationId":"`)
		b.WriteString(strings.Repeat("i", 10) + string(rune('a'+i%26)) + itoaTest(i))
		b.WriteString(`","target":"T","arguments":[]}` + rs)
		fmtSend(t, l, true, false, b.Bytes())
	}
	if len(d.calls[0].m) > signalrMaxIDs || len(d.calls[0].order) > signalrMaxIDs {
		t.Errorf("%d ids kept", len(d.calls[0].m))
	}
	if d.size() > 200000 {
		t.Errorf("size %d", d.size())
	}
	// A record that never ends is dropped at the limit.
	chunk := []byte(`{"type":1,"target":"x","arguments":["` + strings.Repeat("a", 1<<16))
	var an int
	for range 20 {
		_, a := fmtSend(t, l, false, false, chunk)
		an += len(a)
		chunk = bytes.Repeat([]byte("a"), 1<<16)
	}
	if an != 1 || len(d.pend[1]) > signalrMaxPend {
		t.Errorf("%d anomalies, %d bytes pending", an, len(d.pend[1]))
	}
}

// TestSignalRPendingLinear: a record sent a byte a message is kept by
// appending each message, not by copying what is pending at every one
// (a 3 MB capture of 1-byte messages would take minutes): the bytes
// allocated stay linear, and the record decodes once it ends.
func TestSignalRPendingLinear(t *testing.T) {
	const n = 20000
	for _, binary := range []bool{false, true} {
		l := (&Config{Force: "signalr"}).New(nil, fmtClientAP, fmtServerAP)
		rec := []byte(`{"type":1,"target":"T","arguments":["` + strings.Repeat("a", n) + `"]}` + rs)
		if binary {
			// [1, {}, null, "T", [str n]] with its VarInt length.
			body := []byte{0x95, 0x01, 0x80, 0xc0, 0xa1, 'T', 0x91, 0xda, byte(n >> 8), byte(n & 0xff)}
			body = append(body, bytes.Repeat([]byte("a"), n)...)
			rec = nil
			for v := len(body); ; v >>= 7 {
				if v < 0x80 {
					rec = append(rec, byte(v))
					break
				}
				rec = append(rec, byte(v&0x7f|0x80))
			}
			rec = append(rec, body...)
			fmtSend(t, l, true, false, []byte(`{"protocol":"messagepack","version":1}`+rs))
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		var last *decode.AppInfo
		for i := range rec {
			last, _ = fmtSend(t, l, true, binary, rec[i:i+1])
			if i < len(rec)-1 && (last == nil || !last.Partial) {
				t.Fatalf("binary=%v: byte %d: not partial", binary, i)
			}
		}
		runtime.ReadMemStats(&after)
		if got := after.TotalAlloc - before.TotalAlloc; got > 64<<20 {
			t.Errorf("binary=%v: %d bytes allocated for a record of %d bytes", binary, got, len(rec))
		}
		if last == nil || len(last.Units) != 1 || last.Units[0].Name != "T" || last.Partial {
			t.Errorf("binary=%v: the record's end gives %+v", binary, last)
		}
	}
}

func itoaTest(i int) string { b, _ := json.Marshal(i); return string(b) }

// FuzzSignalR: arbitrary messages in sequence (the first byte of each
// chunk picks direction and opcode) never panic and give valid units.
func FuzzSignalR(f *testing.F) {
	f.Add([]byte("\x00{\"protocol\":\"json\",\"version\":1}\x1e\x00\x01{}\x1e{\"type\":1,\"target\":\"a\",\"invocationId\":\"1\",\"arguments\":[]}\x1e\x00\x01{\"type\":3,\"invocationId\":\"1\",\"result\":1}\x1e"))
	f.Add([]byte("\x00{\"protocol\":\"messagepack\",\"version\":1}\x1e\x00\x03\x0c\x95\x01\x80\xa1\x30\xa3Add\x92\x02\x03\x00\x03\x07\x95\x03\x80\xa1\x30\x03\x05"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l := (&Config{Force: "signalr"}).New(nil, fmtClientAP, fmtServerAP)
		for _, part := range bytes.Split(data, []byte{0}) {
			if len(part) == 0 {
				continue
			}
			fmtSend(t, l, part[0]&1 == 0, part[0]&2 != 0, part[1:])
			signalrSniff(&Msg{FromClient: part[0]&1 == 0, Binary: part[0]&2 != 0, Payload: part[1:]})
		}
		if l.dec.size() > 4<<20 {
			t.Fatalf("size %d", l.dec.size())
		}
	})
}

// BenchmarkSignalRJSON: the cost of one JSON Invocation record.
func BenchmarkSignalRJSON(b *testing.B) {
	l := (&Config{Force: "signalr"}).New(nil, fmtClientAP, fmtServerAP)
	msg := []byte(`{"type":1,"invocationId":"12","target":"SendMessage","arguments":["user","a message of some length, as chats have"]}` + rs)
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		fmtSend(b, l, true, false, msg)
	}
}
