package app

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/wscap/wscap/decode"
)

// swoMsg is one message of a test sequence (the STOMP, WAMP and OCPP tests
// share these helpers).
type swoMsg struct {
	fromServer bool
	text       string
	binary     bool
	incomplete bool
}

// swoCli and swoSrv are a client's and a server's text message.
func swoCli(t string) swoMsg { return swoMsg{text: t} }
func swoSrv(t string) swoMsg { return swoMsg{fromServer: true, text: t} }

// swoOut is what the layer said about one message.
type swoOut struct {
	units     []Unit
	partial   bool
	anomalies []decode.Anomaly
}

// swoRun runs msgs through the layer of a WebSocket whose server selected
// subprotocol sub ("" for none), as the decoder would.
func swoRun(t testing.TB, sub string, cfg *Config, msgs ...swoMsg) (*Conn, []swoOut) {
	t.Helper()
	if cfg == nil {
		cfg = &Config{}
	}
	h := &decode.Handshake{Method: "GET", Path: "/ws", Status: 101, Protocol: sub}
	if sub != "" {
		h.OfferedProtocols = []string{sub}
	}
	l := cfg.New(h, netip.MustParseAddrPort("10.0.0.1:50000"), netip.MustParseAddrPort("10.0.0.2:8080"))
	var out []swoOut
	for _, m := range msgs {
		dm := &decode.Message{Opcode: decode.OpText, Payload: []byte(m.text), Truncated: m.incomplete}
		if m.binary {
			dm.Opcode = decode.OpBinary
		}
		role := decode.RoleClient
		if m.fromServer {
			role = decode.RoleServer
		}
		app, an := l.Message(dm, role, nil)
		o := swoOut{anomalies: an}
		if app != nil {
			o.units = app.Units
			o.partial = app.Partial
		}
		for _, u := range o.units {
			swoCheckUnit(t, u)
		}
		out = append(out, o)
	}
	return l, out
}

// swoCheckUnit fails when a unit's values are not valid JSON or its Info
// has a line break.
func swoCheckUnit(t testing.TB, u Unit) {
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
		t.Fatalf("%s %s: line break in Info %q", u.Proto, u.Type, u.Info)
	}
}

// swoDesc is a unit in one line: "TYPE name id {fields}" for comparisons.
func swoDesc(u Unit) string {
	var b strings.Builder
	b.WriteString(u.Type)
	if u.HasName {
		fmt.Fprintf(&b, " %q", u.Name)
	} else {
		b.WriteString(" -")
	}
	if u.ID != nil {
		fmt.Fprintf(&b, " id=%s", u.ID)
	}
	for _, f := range u.Fields {
		fmt.Fprintf(&b, " %s=%s", f.Key, f.Value)
	}
	return b.String()
}

// swoAll is every unit of every message in order, described.
func swoAll(out []swoOut) []string {
	var all []string
	for _, o := range out {
		for _, u := range o.units {
			all = append(all, swoDesc(u))
		}
	}
	return all
}

// swoCheck checks a run of a layer: the protocol it ended with (after:
// "" for proto, "-" for none), its units' lines and its anomalies.
func swoCheck(t *testing.T, l *Conn, out []swoOut, proto, after string, want []string, bad int) {
	t.Helper()
	switch after {
	case "":
		after = proto
	case "-":
		after = ""
	}
	if l.Protocol() != after {
		t.Fatalf("protocol %q, want %q", l.Protocol(), after)
	}
	got := swoAll(out)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("units:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := swoAnomalies(out); n != bad {
		t.Errorf("%d anomalies, want %d: %v", n, bad, out)
	}
}

func swoAnomalies(out []swoOut) int {
	n := 0
	for _, o := range out {
		n += len(o.anomalies)
	}
	return n
}

// stompForced decodes a conversation taken anywhere, without waiting for
// the client's CONNECT (as --app stomp does).
var stompForced = &Config{Force: "stomp"}

func TestSTOMPFrames(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sub   string
		force bool // --app stomp: frames taken after the CONNECT
		msgs  []swoMsg
		want  []string
		bad   int
		after string // the protocol after the messages ("stomp" when empty, "-" none)
	}{{
		// STOMP 1.2 §"Connecting" and §"SEND" examples.
		name: "1.2 session",
		sub:  "v12.stomp",
		msgs: []swoMsg{
			swoCli("CONNECT\naccept-version:1.2\nhost:stomp.github.org\n\n\x00"),
			swoSrv("CONNECTED\nversion:1.2\nheart-beat:10000,10000\n\n\x00\n"),
			swoCli("SUBSCRIBE\nid:0\ndestination:/queue/foo\nack:client\n\n\x00"),
			swoCli("SEND\ndestination:/queue/a\ncontent-type:text/plain\n\nhello queue a\n\x00"),
			swoSrv("MESSAGE\nsubscription:0\nmessage-id:007\ndestination:/queue/a\ncontent-type:text/plain\n\nhello queue a\x00"),
			swoCli("ACK\nid:12345\ntransaction:tx1\n\n\x00"),
			swoCli("NACK\nid:12345\n\n\x00"),
			swoCli("BEGIN\ntransaction:tx1\n\n\x00"),
			swoCli("COMMIT\ntransaction:tx1\n\n\x00"),
			swoCli("ABORT\ntransaction:tx1\n\n\x00"),
			swoCli("UNSUBSCRIBE\nid:0\n\n\x00"),
			swoCli("DISCONNECT\nreceipt:77\n\n\x00"),
			swoSrv("RECEIPT\nreceipt-id:77\n\n\x00"),
		},
		want: []string{
			`CONNECT - headers={"accept-version":"1.2","host":"stomp.github.org"}`,
			`CONNECTED - headers={"version":"1.2","heart-beat":"10000,10000"}`,
			`SUBSCRIBE "/queue/foo" id="0" headers={"id":"0","destination":"/queue/foo","ack":"client"}`,
			`SEND "/queue/a" headers={"destination":"/queue/a","content-type":"text/plain"} body="hello queue a\n"`,
			`MESSAGE "/queue/a" id="007" headers={"subscription":"0","message-id":"007","destination":"/queue/a","content-type":"text/plain"} body="hello queue a"`,
			`ACK - id="12345" headers={"id":"12345","transaction":"tx1"}`,
			`NACK - id="12345" headers={"id":"12345"}`,
			`BEGIN - headers={"transaction":"tx1"}`,
			`COMMIT - headers={"transaction":"tx1"}`,
			`ABORT - headers={"transaction":"tx1"}`,
			`UNSUBSCRIBE - id="0" headers={"id":"0"}`,
			`DISCONNECT - id="77" headers={"receipt":"77"}`,
			`RECEIPT - headers={"receipt-id":"77"}`,
		},
	}, {
		// STOMP 1.2 §"Augmented BNF": EOL may be CRLF; §"Value Encoding".
		name: "CRLF and escapes",
		sub:  "v12.stomp",
		msgs: []swoMsg{
			swoCli("STOMP\r\naccept-version:1.2\r\nhost:a\\cb\r\n\r\n\x00"),
			swoSrv("CONNECTED\r\nversion:1.2\r\n\r\n\x00\r\n"),
			swoCli("SEND\r\ndestination:/q/a\\cb\r\nx\\\\y:line1\\nline2\\r\r\n\r\n\x00"),
		},
		want: []string{
			`STOMP - headers={"accept-version":"1.2","host":"a:b"}`,
			`CONNECTED - headers={"version":"1.2"}`,
			`SEND "/q/a:b" headers={"destination":"/q/a:b","x\\y":"line1\nline2\r"} body=""`,
		},
	}, {
		// STOMP 1.1 defines no \r, but stompjs sends it with 1.1 too.
		name:  "1.1 and \\r",
		sub:   "v11.stomp",
		force: true,
		msgs:  []swoMsg{swoSrv("MESSAGE\ndestination:/a\\c\nx:a\\rb\n\nhi\x00")},
		want:  []string{`MESSAGE "/a:" headers={"destination":"/a:","x":"a\rb"} body="hi"`},
	}, {
		name:  "undefined escape in 1.2",
		sub:   "v12.stomp",
		force: true,
		msgs:  []swoMsg{swoSrv("MESSAGE\ndestination:/a\\t\n\nhi\x00")},
		bad:   1,
	}, {
		name: "CONNECT is not escaped",
		sub:  "v12.stomp",
		msgs: []swoMsg{swoCli("CONNECT\naccept-version:1.2\nlogin:a\\cb\n\n\x00")},
		want: []string{`CONNECT - headers={"accept-version":"1.2","login":"a\\cb"}`},
	}, {
		name:  "1.0 does not escape",
		sub:   "v10.stomp",
		force: true,
		msgs:  []swoMsg{swoCli("SEND\ndestination: C:\\temp\\n\n\nx\x00")},
		want:  []string{`SEND "C:\\temp\\n" headers={"destination":"C:\\temp\\n"} body="x"`},
	}, {
		name:  "version from CONNECTED",
		sub:   "stomp",
		force: true,
		msgs: []swoMsg{
			swoSrv("CONNECTED\nversion:1.0\n\n\x00"),
			swoSrv("MESSAGE\ndestination:a\\tb\n\n\x00"),
		},
		want: []string{
			`CONNECTED - headers={"version":"1.0"}`,
			`MESSAGE "a\\tb" headers={"destination":"a\\tb"} body=""`,
		},
	}, {
		// STOMP 1.2 §"Repeated Header Entries": the first value is kept.
		name:  "repeated header",
		sub:   "v12.stomp",
		force: true,
		msgs:  []swoMsg{swoSrv("MESSAGE\nmessage-id:1\ndestination:/a\nfoo:World\nfoo:Hello\n\n\x00")},
		want:  []string{`MESSAGE "/a" id="1" headers={"message-id":"1","destination":"/a","foo":"World"} body=""`},
	}, {
		// §"Header content-length": the body may hold NULs.
		name:  "content-length body with NULs",
		sub:   "v12.stomp",
		force: true,
		msgs:  []swoMsg{{text: "SEND\ndestination:/b\ncontent-length:4\n\n\x00\x01\xff\x00\x00", binary: true}},
		want:  []string{`SEND "/b" headers={"destination":"/b","content-length":"4"} body_base64="AAH/AA=="`},
	}, {
		name:  "content-length body then NUL missing",
		sub:   "v12.stomp",
		force: true,
		msgs:  []swoMsg{swoCli("SEND\ndestination:/b\ncontent-length:2\n\nabc\x00")},
		bad:   1,
	}, {
		// §"Heart-beating": an EOL alone.
		name:  "heart-beats",
		sub:   "v12.stomp",
		force: true,
		msgs:  []swoMsg{swoCli("\n"), swoSrv("\r\n"), swoSrv("\n\nRECEIPT\nreceipt-id:1\n\n\x00")},
		want:  []string{"heart-beat -", "heart-beat -", "heart-beat -", "heart-beat -", `RECEIPT - headers={"receipt-id":"1"}`},
	}, {
		name:  "batched frames",
		sub:   "v12.stomp",
		force: true,
		msgs:  []swoMsg{swoSrv("MESSAGE\ndestination:/a\nmessage-id:1\n\nx\x00\nMESSAGE\ndestination:/a\nmessage-id:2\n\ny\x00MESSAGE\ndestination:/a\nmessage-id:3\n\nz\x00\n\n")},
		want: []string{
			`MESSAGE "/a" id="1" headers={"destination":"/a","message-id":"1"} body="x"`,
			`MESSAGE "/a" id="2" headers={"destination":"/a","message-id":"2"} body="y"`,
			`MESSAGE "/a" id="3" headers={"destination":"/a","message-id":"3"} body="z"`,
		},
	}, {
		name:  "each direction has its own buffer",
		sub:   "v12.stomp",
		force: true,
		msgs: []swoMsg{
			swoCli("SEND\ndestination:/a\n\nfirst "),
			swoSrv("MESSAGE\ndestination:/b\nmessage-id:9\n\nx\x00MESSAGE\ndest"),
			swoCli("half\x00SEND\ndestination:/c\n\n\x00"),
			swoSrv("ination:/d\n\ny\x00"),
		},
		want: []string{
			`MESSAGE "/b" id="9" headers={"destination":"/b","message-id":"9"} body="x"`,
			`SEND "/a" headers={"destination":"/a"} body="first half"`,
			`SEND "/c" headers={"destination":"/c"} body=""`,
			`MESSAGE "/d" headers={"destination":"/d"} body="y"`,
		},
	}, {
		name:  "unknown command",
		sub:   "v12.stomp",
		force: true,
		msgs:  []swoMsg{swoCli("HELLO\nfoo:bar\n\n\x00SEND\ndestination:/x\n\n\x00")},
		want:  []string{`SEND "/x" headers={"destination":"/x"} body=""`},
		bad:   1,
	}, {
		name:  "header without colon",
		sub:   "v12.stomp",
		force: true,
		msgs:  []swoMsg{swoCli("SEND\ndestination\n\n\x00")},
		bad:   1,
	}, {
		name:  "free text on a STOMP connection",
		sub:   "v12.stomp",
		force: true,
		msgs:  []swoMsg{swoCli("hello there, how are you doing today?")},
		bad:   1,
	}, {
		// Not forced, the subprotocol only claims STOMP: the client opens
		// with CONNECT or STOMP (STOMP 1.2 "Connecting"), or the
		// connection is not decoded (one anomaly, no units after).
		name:  "claimed, not opened by CONNECT",
		sub:   "v12.stomp",
		msgs:  []swoMsg{swoCli("hello there, how are you doing today?"), swoCli("CONNECT\naccept-version:1.2\nhost:a\n\n\x00"), swoSrv("CONNECTED\nversion:1.2\n\n\x00")},
		bad:   1,
		after: "-",
	}, {
		// What the server sends before the client's first frame is not
		// decoded; the CONNECT then confirms STOMP.
		name: "claimed, server first",
		sub:  "v12.stomp",
		msgs: []swoMsg{swoSrv("MESSAGE\ndestination:/a\n\nx\x00"), swoCli("STOMP\naccept-version:1.2\nhost:a\n\n\x00"), swoSrv("CONNECTED\nversion:1.2\n\n\x00")},
		want: []string{`STOMP - headers={"accept-version":"1.2","host":"a"}`, `CONNECTED - headers={"version":"1.2"}`},
	}, {
		// Opened by CONNECT, but 3 messages in a row do not parse before
		// any frame did: the connection is given up.
		name: "claimed, given up",
		sub:  "v12.stomp",
		msgs: []swoMsg{
			swoCli("CONNECT\naccept-version\n\n\x00"),
			swoSrv("HELLO\n\n\x00"),
			swoCli("SEND\ndestination\n\n\x00"),
			swoCli("SEND\ndestination:/a\n\n\x00"),
		},
		bad:   3,
		after: "-",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &Config{}
			if tc.force {
				cfg = stompForced
			}
			l, out := swoRun(t, tc.sub, cfg, tc.msgs...)
			swoCheck(t, l, out, "stomp", tc.after, tc.want, tc.bad)
		})
	}
}

// stompjs splits frames larger than maxWebSocketChunkSize over several
// messages.
func TestSTOMPSplit(t *testing.T) {
	frame := "SEND\ndestination:/queue/big\ncontent-length:10\n\n0123\x0056789\x00"
	for size := 1; size < len(frame); size++ {
		var msgs []swoMsg
		for i := 0; i < len(frame); i += size {
			msgs = append(msgs, swoCli(frame[i:min(i+size, len(frame))]))
		}
		_, out := swoRun(t, "v12.stomp", stompForced, msgs...)
		got := swoAll(out)
		want := `SEND "/queue/big" headers={"destination":"/queue/big","content-length":"10"} body="0123\u000056789"`
		if len(got) != 1 || got[0] != want || swoAnomalies(out) != 0 {
			t.Fatalf("chunks of %d: %q %d anomalies", size, got, swoAnomalies(out))
		}
		for i, o := range out[:len(out)-1] {
			if !o.partial {
				t.Errorf("chunks of %d: message %d not partial", size, i)
			}
		}
	}
}

// TestSTOMPSplitLinear: a frame sent a byte a message (the most a
// direction buffers, 1 MiB) is appended to, not scanned again at every
// message (quadratic: about 30 s for this one), in the headers and in
// the body, with and without a content-length.
func TestSTOMPSplitLinear(t *testing.T) {
	if testing.Short() {
		t.Skip("a million messages")
	}
	const n = 1_000_000
	for _, head := range []string{"SEND\ndestination:/q\n\n", "SEND\ndestination:/q\ncontent-length:1000000\n\n", "SEND\ndestination:/"} {
		l := (&Config{Force: "stomp"}).New(nil, fmtClientAP, fmtServerAP)
		start := time.Now()
		fmtSend(t, l, true, false, []byte(head))
		one := []byte("a")
		for range n {
			if a, an := fmtSend(t, l, true, false, one); a == nil || !a.Partial || len(an) > 0 {
				t.Fatalf("%q: %+v %v", head, a, an)
			}
		}
		tail := "\x00"
		if head == "SEND\ndestination:/" {
			tail = "\n\n\x00"
		}
		a, _ := fmtSend(t, l, true, false, []byte(tail))
		if a == nil || len(a.Units) != 1 || a.Units[0].Type != "SEND" {
			t.Errorf("%q: the frame's end gives %+v", head, a)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%q: %v for %d one-byte messages", head, d, n)
		}
	}

	// A header line a message: each new line is checked once, as the
	// frame's parser checks it; a line that is not a header is found at
	// the message that ends it.
	for _, bad := range []bool{false, true} {
		l := (&Config{Force: "stomp"}).New(&decode.Handshake{Protocol: "v12.stomp"}, fmtClientAP, fmtServerAP)
		start := time.Now()
		fmtSend(t, l, true, false, []byte("SEND\n"))
		for i := range 200_000 {
			line := []byte("a:b\n")
			if bad && i == 150_000 {
				line = []byte("a\\qb:c\n") // an undefined escape (1.2)
			}
			a, an := fmtSend(t, l, true, false, line)
			if bad && i == 150_000 {
				if len(an) != 1 {
					t.Fatalf("the bad header line gives %v", an)
				}
				break
			}
			if a == nil || !a.Partial || len(an) > 0 {
				t.Fatalf("line %d: %+v %v", i, a, an)
			}
		}
		if !bad {
			a, _ := fmtSend(t, l, true, false, []byte("\nbody\x00"))
			if a == nil || len(a.Units) != 1 || a.Units[0].Type != "SEND" {
				t.Errorf("the frame's end gives %+v", a)
			}
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("bad=%v: %v for 200,000 header lines", bad, d)
		}
	}
}

func TestSTOMPOverflow(t *testing.T) {
	big := strings.Repeat("x", 300<<10)
	msgs := []swoMsg{swoCli("SEND\ndestination:/a\n\n")}
	for range 4 {
		msgs = append(msgs, swoCli(big))
	}
	msgs = append(msgs, swoCli(big+"\x00"), swoCli("SEND\ndestination:/b\n\nok\x00"))
	l, out := swoRun(t, "v12.stomp", stompForced, msgs...)
	if n := swoAnomalies(out); n != 1 {
		t.Errorf("%d anomalies, want 1", n)
	}
	if got := swoAll(out); len(got) != 1 || !strings.HasPrefix(got[0], `SEND "/b"`) {
		t.Errorf("units %q", got)
	}
	if l.MemSize() > 200<<10 {
		t.Errorf("MemSize %d after the frame was dropped", l.MemSize())
	}

	// With a content-length, the dropped frame is skipped to its end even
	// when its body holds NULs.
	body := strings.Repeat("\x00y", 800<<10)
	_, out = swoRun(t, "v12.stomp", stompForced,
		swoMsg{text: fmt.Sprintf("SEND\ndestination:/a\ncontent-length:%d\n\n%s", len(body), body[:700<<10]), binary: true},
		swoMsg{text: body[700<<10 : 1400<<10], binary: true},
		swoMsg{text: body[1400<<10:] + "\x00", binary: true},
		swoCli("SEND\ndestination:/b\n\nok\x00"))
	if n := swoAnomalies(out); n != 1 {
		t.Errorf("content-length: %d anomalies, want 1", n)
	}
	if got := swoAll(out); len(got) != 1 || !strings.HasPrefix(got[0], `SEND "/b"`) {
		t.Errorf("content-length: %d units", len(got))
	}
}

func TestSTOMPIncomplete(t *testing.T) {
	// A message cut by a limit: what it holds is decoded, no anomaly, and
	// the next message starts afresh.
	_, out := swoRun(t, "v12.stomp", stompForced,
		swoMsg{text: "MESSAGE\ndestination:/a\n\nx\x00MESSAGE\ndestination:/a\n\nyy", fromServer: true, incomplete: true},
		swoMsg{text: "yyy\x00", fromServer: true},
		swoSrv("MESSAGE\ndestination:/c\n\nz\x00"))
	got := swoAll(out)
	if len(got) != 2 || !strings.Contains(got[0], `body="x"`) || !strings.Contains(got[1], `"/c"`) {
		t.Errorf("units %q", got)
	}
	if n := swoAnomalies(out); n != 0 {
		t.Errorf("%d anomalies", n)
	}
}

func TestSTOMPSniff(t *testing.T) {
	for _, tc := range []struct {
		msg  swoMsg
		want bool
	}{
		{swoCli("CONNECT\naccept-version:1.2,1.1,1.0\nheart-beat:10000,10000\n\n\x00"), true},
		{swoCli("STOMP\r\naccept-version:1.2\r\nhost:localhost\r\n\r\n\x00"), true},
		{swoCli("CONNECT\nlogin:guest\npasscode:guest\n\n\x00"), true},
		{swoMsg{text: "CONNECT\nhost:/\n\n\x00", binary: true}, true},
		{swoSrv("CONNECT\naccept-version:1.2\n\n\x00"), false},
		{swoCli("CONNECT\nlogin:guest\n\n\x00"), false},
		{swoCli("CONNECT to the server please"), false},
		{swoCli("CONNECT\nhello everyone\n\n"), false},
		{swoCli("CONNECT\naccept-version:1.2\n"), false},
		{swoCli("CONNECTED\nversion:1.2\n\n\x00"), false},
		{swoCli("hello"), false},
		{swoCli("42"), false},
		{swoCli(`{"type":"connection_init"}`), false},
		{swoCli("SEND\ndestination:/a\n\n\x00"), false},
		{swoMsg{text: "\x10\x1c\x00\x04MQTT\x04\x02\x00<", binary: true}, false},
	} {
		l, _ := swoRun(t, "", nil, tc.msg)
		if got := l.Protocol() == "stomp"; got != tc.want {
			t.Errorf("sniff %q = %v, want %v", tc.msg.text, got, tc.want)
		}
	}
	// Detected by content, the session then decodes.
	l, out := swoRun(t, "", nil,
		swoCli("CONNECT\naccept-version:1.2\nhost:localhost\n\n\x00"),
		swoSrv("CONNECTED\nversion:1.2\n\n\x00"),
		swoCli("SEND\ndestination:/topic/chat\n\nhi\x00"))
	if l.Protocol() != "stomp" || len(swoAll(out)) != 3 {
		t.Errorf("%q %q", l.Protocol(), swoAll(out))
	}
	for _, sub := range []string{"v10.stomp", "V11.STOMP", "v12.stomp", "stomp"} {
		if l, _ := swoRun(t, sub, nil); l.Protocol() != "stomp" {
			t.Errorf("subprotocol %s: %q", sub, l.Protocol())
		}
	}
}

func TestSTOMPInfo(t *testing.T) {
	_, out := swoRun(t, "v12.stomp", stompForced,
		swoSrv("MESSAGE\ndestination:/topic/chat\nmessage-id:m 1\nsubscription:sub-0\n\n{\"text\":\"hello\"}\x00"),
		swoCli("CONNECT\naccept-version:1.2\nhost:/\n\n\x00"))
	for i, want := range []string{
		`"/topic/chat" id="m 1" subscription=sub-0 (16 bytes) "{\"text\":\"hello\"}"`,
		`accept-version=1.2 host=/`,
	} {
		if got := out[i].units[0].Info; got != want {
			t.Errorf("info %q, want %q", got, want)
		}
	}
}

// FuzzSTOMP runs arbitrary messages through a STOMP connection: no panic,
// valid JSON, Info on one line.
func FuzzSTOMP(f *testing.F) {
	f.Add([]byte("CONNECT\naccept-version:1.2\nhost:a\n\n\x00"), []byte("MESSAGE\ndestination:/a\\c\ncontent-length:3\n\na\x00b\x00\n"), uint8(3))
	f.Add([]byte("\r\n"), []byte("SEND\r\ndestination:/x\r\n\r\nbody"), uint8(1))
	f.Add([]byte("CONNECTED\nversion:1.1\n\n\x00"), []byte("ERROR\nmessage:bad\\rx\n\n\x00"), uint8(0))
	f.Fuzz(func(t *testing.T, a, b []byte, split uint8) {
		var msgs []swoMsg
		for _, p := range [][]byte{a, b} {
			k := min(int(split), len(p))
			msgs = append(msgs, swoMsg{text: string(p[:k]), fromServer: split&1 == 1}, swoMsg{text: string(p[k:]), binary: true})
		}
		for _, sub := range []string{"v12.stomp", "v10.stomp", "stomp"} {
			swoRun(t, sub, nil, msgs...)
			swoRun(t, sub, stompForced, msgs...)
		}
	})
}
