package dfilter

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/wscap/wscap/decode"
)

var t0 = time.Date(2024, 5, 1, 10, 0, 0, 123456789, time.UTC)

// events is one event of each kind, enough to tell the fields apart.
func events() []decode.Event {
	cli := netip.MustParseAddrPort("10.0.0.2:51512")
	srv := netip.MustParseAddrPort("10.0.0.1:8080")
	return []decode.Event{
		{Kind: decode.KindConn, Conn: 2, Seq: 1, Packet: 4, Time: t0, Info: &decode.ConnInfo{Client: cli, Server: srv}},
		{Kind: decode.KindHandshake, Conn: 2, Seq: 2, Packet: 6, Time: t0, Handshake: &decode.Handshake{
			Method: "GET", Path: "/chat?room=1", Proto: "HTTP/1.1", Host: "example.com", Version: "13",
			Status: 101, Protocol: "chat.v2", Upgraded: true, AcceptValid: true, RequestPacket: 4, ResponsePacket: 6}},
		{Kind: decode.KindFrame, Conn: 2, Seq: 3, Packet: 7, From: decode.RoleClient, Time: t0, Frame: decode.Frame{
			Header:  decode.Header{Fin: true, Opcode: decode.OpText, Masked: true, MaskKey: [4]byte{1, 2, 3, 0xab}, PayloadLen: 300, LenBits: 16, Len: 8},
			Payload: []byte(`{"type":"hello"}`), Message: 1, Seen: 300}},
		{Kind: decode.KindMessage, Conn: 2, Seq: 4, Packet: 7, From: decode.RoleClient, Time: t0, Message: decode.Message{
			N: 1, Opcode: decode.OpText, Frames: 1, Len: 300, WireLen: 300, UTF8Valid: true, Payload: []byte(`{"type":"hello","error":"none"}`)}},
		{Kind: decode.KindMessage, Conn: 2, Seq: 5, Packet: 9, From: decode.RoleServer, Time: t0, Message: decode.Message{
			N: 1, Opcode: decode.OpBinary, Frames: 3, Len: 4, Payload: []byte{0, 1, 2, 'x'}, Compressed: true}},
		{Kind: decode.KindFrame, Conn: 2, Seq: 6, Packet: 10, From: decode.RoleServer, Time: t0, Frame: decode.Frame{
			Header:  decode.Header{Fin: true, Opcode: decode.OpPing, PayloadLen: 2, LenBits: 7, Len: 2},
			Payload: []byte("hi")}},
		{Kind: decode.KindFrame, Conn: 2, Seq: 7, Packet: 11, From: decode.RoleServer, Time: t0, Frame: decode.Frame{
			Header: decode.Header{Fin: true, Opcode: decode.OpClose, PayloadLen: 5, LenBits: 7, Len: 2},
			Close:  decode.Close{HasCode: true, Code: 1000, Reason: []byte("bye")}}},
		{Kind: decode.KindAnomaly, Conn: 3, Seq: 1, Packet: 12, From: decode.RoleServer, Time: t0, Anomaly: decode.Anomaly{
			Code: decode.CodeCloseCodeInvalid, Severity: decode.SeverityError, Detail: "close code 999", Ref: "RFC 6455 §7.4"}},
		{Kind: decode.KindAnomaly, Conn: 3, Seq: 2, Packet: 12, Time: t0, Anomaly: decode.Anomaly{
			Code: decode.CodeStreamTruncated, Severity: decode.SeverityWarning}},
		{Kind: decode.KindGap, Conn: 3, Seq: 3, Packet: 13, From: decode.RoleClient, Time: t0, Gap: 1400},
		{Kind: decode.KindEnd, Conn: 3, Seq: 4, Packet: 14, From: decode.RoleClient, Time: t0, End: decode.End{Bytes: 5000, Frames: 3, Messages: 2}},
		{Kind: decode.KindTLS, Conn: 4, Seq: 1, Packet: 20, Time: t0, TLS: &decode.TLSInfo{Client: cli, Server: srv, Version: "TLS 1.3", SNI: "example.com", Decrypted: true}},
	}
}

// seqs returns "conn.seq" of the events f matches.
func seqs(f *Filter, evs []decode.Event) string {
	var out []string
	info := &decode.ConnInfo{Client: netip.MustParseAddrPort("10.0.0.2:51512"), Server: netip.MustParseAddrPort("10.0.0.1:8080")}
	for i := range evs {
		if f.Match(&evs[i], info) {
			out = append(out, strings.TrimPrefix(evs[i].Kind.String()+"", "")+":"+itoa(evs[i].Conn)+"."+itoa(evs[i].Seq))
		}
	}
	return strings.Join(out, " ")
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

func TestMatch(t *testing.T) {
	evs := events()
	for _, tc := range []struct{ expr, want string }{
		{`type == "message"`, "message:2.4 message:2.5"},
		{`type == message`, "message:2.4 message:2.5"},
		{`type == "message" and from == "server"`, "message:2.5"},
		{`type == "message" && from == "client" && text contains "error"`, "message:2.4"},
		{`text contains "error"`, "message:2.4"},
		{`conn == 3`, "anomaly:3.1 anomaly:3.2 gap:3.3 end:3.4"},
		{`conn == 03`, "anomaly:3.1 anomaly:3.2 gap:3.3 end:3.4"}, // decimal, not octal
		{`conn == 0x3`, "anomaly:3.1 anomaly:3.2 gap:3.3 end:3.4"},
		{`conn != 2 and conn < 4`, "anomaly:3.1 anomaly:3.2 gap:3.3 end:3.4"},
		{`conn >= 3 && !(type == gap || type eq end)`, "anomaly:3.1 anomaly:3.2 tls:4.1"},
		{`code in {close_code_invalid text_invalid_utf8}`, "anomaly:3.1"},
		{`code in {"close_code_invalid", stream_truncated}`, "anomaly:3.1 anomaly:3.2"},
		{`severity == "error"`, "anomaly:3.1"},
		{`code in {tls_no_key memcap_evicted}`, ""}, // TLS codes are anomaly codes too
		{`from == "server" and type == "anomaly"`, "anomaly:3.1"},
		{`not from`, "conn:2.1 handshake:2.2 anomaly:3.2 tls:4.1"},
		{`opcode in {ping, pong, close}`, "frame:2.6 frame:2.7"},
		{`len > 125`, "frame:2.3 message:2.4"},
		{`len <= 5`, "message:2.5 frame:2.6 frame:2.7"},
		{`fin`, "frame:2.3 frame:2.6 frame:2.7"},
		{`fin == false`, ""},
		{`masked`, "frame:2.3"},
		{`mask_key == "010203ab"`, "frame:2.3"},
		{`compressed`, "message:2.5"},
		{`data contains "x"`, "message:2.5"},
		{`data == "hi"`, "frame:2.6"},
		{`close_code == 1000 and close_reason == "bye"`, "frame:2.7"},
		{`close_code`, "frame:2.7"},
		{`path matches "^/chat\\?room=[0-9]+$"`, "handshake:2.2"},
		{`path ~ "room"`, "handshake:2.2"},
		{`status == 101 and upgraded and accept_valid`, "handshake:2.2"},
		{`version == "13"`, "handshake:2.2"},
		{`version == "TLS 1.3"`, "tls:4.1"},
		{`tls.handshake.version == "TLS 1.3" and tls.handshake.extensions_server_name == "example.com"`, "tls:4.1"},
		{`tls.handshake.version`, "tls:4.1"},
		{`client == "10.0.0.2:51512"`, "conn:2.1 handshake:2.2 tls:4.1"},
		{`server contains ":8080" and type == handshake`, "handshake:2.2"},
		{`sni == "example.com" and decrypted`, "tls:4.1"},
		{`bytes > 1000`, "gap:3.3 end:3.4"},
		{`frames == 3`, "message:2.5 end:3.4"},
		{`pkt == 12 or seq == 5`, "message:2.5 anomaly:3.1 anomaly:3.2"},
		{`ts == "2024-05-01T10:00:00.123456789Z" and conn == 4`, "tls:4.1"},
		{`websocket.opcode == 9`, "frame:2.6"},
		{`websocket.payload_length == 126 and websocket.payload_length_ext_16 == 300`, "frame:2.3"},
		{`websocket.masking_key == "010203ab"`, "frame:2.3"},
		{`websocket.payload.text contains "hello"`, "frame:2.3 message:2.4"},
		{`websocket.payload.close.status_code == 1000`, "frame:2.7"},
		{`websocket.payload.ping == "hi"`, "frame:2.6"},
		{`websocket.payload contains "x" or websocket.pmc`, "message:2.5"},
		{`NOT conn == 2 AND NOT conn == 3`, "tls:4.1"},
	} {
		f, err := Compile(tc.expr)
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		if got := seqs(f, evs); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.expr, got, tc.want)
		}
	}
}

// TestPrecedence: not binds tighter than and, and than or, as in Wireshark.
func TestPrecedence(t *testing.T) {
	evs := events()
	for _, tc := range [][2]string{
		{`conn == 4 or conn == 3 and type == gap`, `conn == 4 or (conn == 3 and type == gap)`},
		{`not conn == 2 and type == anomaly`, `(not conn == 2) and type == anomaly`},
		{`!fin || masked && fin`, `(!fin) || (masked && fin)`},
	} {
		a, err1 := Compile(tc[0])
		b, err2 := Compile(tc[1])
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if x, y := seqs(a, evs), seqs(b, evs); x != y {
			t.Errorf("%s = %q, %s = %q", tc[0], x, tc[1], y)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct {
		expr string
		col  int
		msg  string
	}{
		{`type == "message" and lenght > 5`, 23, `unknown field "lenght" (did you mean "len"?)`},
		{`conn == "2"`, 9, `conn is a number field`},
		{`text == 42`, 9, `text is a text field: compare it with a string in double quotes, not the number 42`},
		{`fin > 1`, 5, `fin is a boolean field`},
		{`fin == maybe`, 8, `compare it with true or false`},
		{`len contains "x"`, 5, `contains applies to text fields`},
		{`type == "mesage"`, 9, `type is never "mesage"`},
		{`code == close_code_invalidd`, 9, `code is never`},
		{`opcode == texts`, 11, `opcode is never`},
		{`(conn == 1`, 11, `expected ")" to close the "(" at column 1`},
		{`conn == 1)`, 10, `unexpected ")"`},
		{`conn = 1`, 6, `"=" is not an operator`},
		{`conn == 010x`, 9, `conn is a number field`},
		{`conn == 0b11`, 9, `conn is a number field`},
		{`conn == 1_0`, 9, `conn is a number field`},
		{`conn == 1 & fin`, 11, `'&' is not an operator: use "&&"`},
		{`conn ==`, 8, `expected a value after ==, found the end`},
		{`text contains "abc`, 15, `unterminated string`},
		{`text matches "("`, 14, `bad regular expression`},
		{`code in {}`, 10, `empty set`},
		{`code in {stream_truncated`, 26, `expected "}"`},
		{`code in a`, 9, `expected "{" after in`},
		{``, 1, `empty expression`},
		{`and`, 1, `expected a field name, found "and"`},
		{`conn == 1 fin`, 11, `expected and, or or the end`},
		{`text contains "\q"`, 16, `unknown escape`},
		{`conn == 1 and $`, 15, `unexpected character '$'`},
		{`ü == 1`, 1, `unknown field "ü"`},
		{`ü == 1 and x`, 1, `unknown field`},
		{`text == "ü" and lenx`, 17, `unknown field "lenx"`},
	} {
		_, err := Compile(tc.expr)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%q: error %v, want a *Error", tc.expr, err)
			continue
		}
		if e.Column() != tc.col || !strings.Contains(e.Msg, tc.msg) {
			t.Errorf("%q: column %d %q, want column %d %q", tc.expr, e.Column(), e.Msg, tc.col, tc.msg)
		}
	}
}

func TestCaret(t *testing.T) {
	_, err := Compile(`type == "message" and lenght > 5`)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatal(err)
	}
	want := "type == \"message\" and lenght > 5\n                      ^"
	if e.Caret() != want {
		t.Errorf("caret:\n%s\nwant\n%s", e.Caret(), want)
	}
	if got := e.Error(); got != `column 23: unknown field "lenght" (did you mean "len"?)` {
		t.Errorf("Error() = %q", got)
	}
}

// TestDeepNesting: a long chain of parentheses or nots is an error, not a
// stack overflow.
func TestDeepNesting(t *testing.T) {
	for _, expr := range []string{
		strings.Repeat("(", 100000) + "fin" + strings.Repeat(")", 100000),
		strings.Repeat("!", 100000) + "fin",
		strings.Repeat("not ", 1000) + "fin",
	} {
		if _, err := Compile(expr); err == nil {
			t.Errorf("nesting %d: no error", len(expr))
		}
	}
	if _, err := Compile(strings.Repeat("(", 50) + "fin" + strings.Repeat(")", 50)); err != nil {
		t.Error(err)
	}
	// A long flat chain is fine (it is not nested).
	if _, err := Compile("fin" + strings.Repeat(" or fin", 5000)); err != nil {
		t.Error(err)
	}
}

func TestFieldsDocumented(t *testing.T) {
	for _, f := range Fields() {
		if f.Name == "" || f.On == "" || (f.Type != "string" && f.Type != "number" && f.Type != "boolean" && f.Type != "string or number") {
			t.Errorf("field %+v", f)
		}
	}
	if len(Values("code")) < 10 || len(Values("type")) != 8 {
		t.Errorf("values: %d codes, types %v", len(Values("code")), Values("type"))
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`type == "message" and from == "server" and text contains "error"`,
		`conn == 2`, `code in {close_code_invalid text_invalid_utf8}`, `!(fin || masked) && len >= 0x10`,
		`path matches "^/a\\d+$"`, `text contains "\x00\""`, `websocket.payload.close.status_code != 1000`,
	} {
		f.Add(s)
	}
	evs := events()
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := Compile(s)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("%q: error %T %v", s, err, err)
			}
			if c := e.Column(); c < 1 || c > len([]rune(s))+1 {
				t.Fatalf("%q: column %d", s, c)
			}
			_ = e.Caret()
			return
		}
		for i := range evs {
			flt.Match(&evs[i], nil)
		}
	})
}
