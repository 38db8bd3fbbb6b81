package output

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wscap/wscap/decode"
)

// coreFields is a copy of the field tables of json-lines.md (schema 1):
// field -> JSON type. A trailing "?" marks a field that is only present
// in some cases. "*" holds the fields of every event.
var coreFields = map[string]map[string]string{
	"*":    {"type": "string", "conn": "int", "ts": "string", "pkt": "int"},
	"conn": {"client": "string", "server": "string", "midstream": "bool"},
	"handshake": {
		"client": "string", "server": "string",
		"method": "string", "path": "string", "host": "string", "origin": "string", "version": "string",
		"key": "string", "accept": "string", "accept_valid": "bool", "status": "int",
		"offered_protocols": "[string]", "protocol": "string",
		"offered_extensions": "string", "extensions": "string", "upgraded": "bool",
	},
	"frame": {
		"from": "string", "fin": "bool", "rsv": "int", "opcode": "string", "masked": "bool",
		"mask_key": "string", "len": "int", "data": "string?", "close_code": "int?", "close_reason": "string?",
	},
	"message": {
		"from": "string", "opcode": "string", "len": "int", "frames": "int", "compressed": "bool",
		"text": "string?", "data": "string?", "truncated": "bool?", "lost_bytes": "int?", "decode_error": "string?",
	},
	"anomaly": {"code": "string", "severity": "string", "from": "string?", "detail": "string", "ref": "string"},
	"gap":     {"from": "string", "bytes": "int"},
	// The app object of message events (TestAppJSON checks the types).
	"app": {"app.proto": "string", "app.type": "string", "app.name": "string or null", "app.id": "string or int?", "app.value": "any?"},
}

// jsonType names the JSON type of a value decoded with UseNumber.
func jsonType(v any) string {
	switch v := v.(type) {
	case string:
		return "string"
	case bool:
		return "bool"
	case json.Number:
		if strings.ContainsAny(string(v), ".eE") {
			return "float"
		}
		return "int"
	case []any:
		for _, e := range v {
			if _, ok := e.(string); !ok {
				return "array"
			}
		}
		return "[string]"
	case map[string]any:
		return "object"
	case nil:
		return "null"
	}
	return "?"
}

func parseLines(t *testing.T, out []byte) []map[string]any {
	t.Helper()
	var objs []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		if !json.Valid(line) {
			t.Fatalf("line %d is not valid JSON: %s", n, line)
		}
		d := json.NewDecoder(bytes.NewReader(line))
		d.UseNumber()
		var m map[string]any
		if err := d.Decode(&m); err != nil {
			t.Fatalf("line %d: %v", n, err)
		}
		objs = append(objs, m)
	}
	return objs
}

var tsRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$`)

// TestJSONLines checks every line against the core of json-lines.md:
// the common fields, each type's fields and their JSON types, and the
// rules for fields that are only sometimes present.
func TestJSONLines(t *testing.T) {
	evs := sampleEvents()
	out := render(t, func(b *bytes.Buffer) Renderer { return NewJSON(b, Options{Summary: true}) }, evs)
	objs := parseLines(t, out)
	if len(objs) != len(evs)+5 {
		t.Fatalf("got %d lines, want %d events + 5 summaries", len(objs), len(evs))
	}
	for i, m := range objs {
		for f, typ := range coreFields["*"] {
			if got := jsonType(m[f]); got != typ {
				t.Errorf("line %d: %q is %s, want %s: %v", i+1, f, got, typ, m)
			}
		}
		ts, _ := m["ts"].(string)
		if !tsRE.MatchString(ts) {
			t.Errorf("line %d: ts %q is not RFC 3339 UTC with 9 digits", i+1, ts)
		} else if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
			t.Errorf("line %d: ts: %v", i+1, err)
		}
		if i >= len(evs) {
			if m["type"] != "summary" {
				t.Errorf("line %d: type %v, want summary", i+1, m["type"])
			}
			continue
		}
		ev := &evs[i]
		typ := m["type"].(string)
		if typ != ev.Kind.String() {
			t.Errorf("line %d: type %q, want %q", i+1, typ, ev.Kind)
		}
		for f, want := range coreFields[typ] {
			v, ok := m[f]
			optional := strings.HasSuffix(want, "?")
			want = strings.TrimSuffix(want, "?")
			if !ok {
				if !optional {
					t.Errorf("line %d (%s): field %q missing", i+1, typ, f)
				}
				continue
			}
			if got := jsonType(v); got != want {
				t.Errorf("line %d (%s): %q is %s, want %s", i+1, typ, f, got, want)
			}
		}
		checkConditional(t, i+1, ev, m)
	}
}

// checkConditional checks when the optional core fields are present.
func checkConditional(t *testing.T, line int, ev *decode.Event, m map[string]any) {
	t.Helper()
	has := func(f string) bool { _, ok := m[f]; return ok }
	switch ev.Kind {
	case decode.KindFrame:
		f := &ev.Frame
		ctl := f.Opcode == decode.OpPing || f.Opcode == decode.OpPong
		if has("data") != ctl {
			t.Errorf("line %d: data present=%v for opcode %v", line, has("data"), f.Opcode)
		}
		if has("close_code") != (f.Opcode == decode.OpClose && f.Close.HasCode) {
			t.Errorf("line %d: close_code present=%v", line, has("close_code"))
		}
		if has("close_reason") != (f.Opcode == decode.OpClose) {
			t.Errorf("line %d: close_reason present=%v", line, has("close_reason"))
		}
		if key := m["mask_key"].(string); f.Masked != (len(key) == 8) || (!f.Masked && key != "") {
			t.Errorf("line %d: mask_key %q with masked=%v", line, key, f.Masked)
		}
		if m["from"] != "client" && m["from"] != "server" {
			t.Errorf("line %d: from %v", line, m["from"])
		}
	case decode.KindMessage:
		msg := &ev.Message
		wantText := msg.Opcode == decode.OpText && msg.UTF8Valid && msg.DecodeError == ""
		if has("text") != wantText || has("data") == wantText {
			t.Errorf("line %d: text present=%v data present=%v, want text=%v", line, has("text"), has("data"), wantText)
		}
		if has("truncated") != msg.Truncated || has("lost_bytes") != (msg.Lost > 0) || has("decode_error") != (msg.DecodeError != "") {
			t.Errorf("line %d: truncated/lost_bytes/decode_error presence wrong: %v", line, m)
		}
		if wantText && !msg.Truncated && m["text"] != string(msg.Payload) {
			t.Errorf("line %d: text %q, want %q", line, m["text"], msg.Payload)
		}
	case decode.KindAnomaly:
		if has("from") == (ev.From == decode.RoleNone) {
			t.Errorf("line %d: anomaly from present=%v for role %v", line, has("from"), ev.From)
		}
		switch m["severity"] {
		case "error", "warning", "info":
		default:
			t.Errorf("line %d: severity %v", line, m["severity"])
		}
	case decode.KindHandshake:
		if _, ok := m["offered_protocols"].([]any); !ok {
			t.Errorf("line %d: offered_protocols is not an array: %v", line, m["offered_protocols"])
		}
	}
}

// notYet lists the objects json-lines.md documents that wscap does not
// write yet, with the issue that adds them.
var notYet = map[string]string{}

// TestCoreFieldsMatchDoc checks coreFields against the tables of
// json-lines.md (in ../shared beside the checkout) when the design
// document is at hand.
func TestCoreFieldsMatchDoc(t *testing.T) {
	doc, err := os.ReadFile("../../shared/design/json-lines.md")
	if err != nil {
		t.Skipf("json-lines.md not available: %v", err)
	}
	parsed := map[string]map[string]string{}
	section := ""
	heading := regexp.MustCompile("^#{2,4} (?:`([a-z_]+)`|Fields on every event)")
	row := regexp.MustCompile("^\\| (`[^|]+`) \\| ([^|]+) \\|")
	for _, line := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(line, "#") {
			// Sections of fields on several types ("field | on | type |
			// meaning") extend the core; their rows are not parsed here.
			section = ""
			if h := heading.FindStringSubmatch(line); h != nil {
				section = h[1]
				if section == "" {
					section = "*"
				}
			}
			continue
		}
		r := row.FindStringSubmatch(line)
		if r == nil || section == "" {
			continue
		}
		typ := strings.TrimSpace(r[2])
		for _, f := range strings.Split(r[1], ",") {
			f = strings.Trim(strings.TrimSpace(f), "`")
			if parsed[section] == nil {
				parsed[section] = map[string]string{}
			}
			parsed[section][f] = typ
		}
	}
	if len(parsed) == 0 {
		t.Fatal("no tables found in json-lines.md")
	}
	for sec, fields := range parsed {
		if why, ok := notYet[sec]; ok {
			t.Logf("json-lines.md documents %q, not written yet: %s", sec, why)
			continue
		}
		mine, ok := coreFields[sec]
		if !ok {
			t.Errorf("json-lines.md has type %q that the test does not know", sec)
			continue
		}
		for f, typ := range fields {
			if got := strings.TrimSuffix(mine[f], "?"); got != typ {
				t.Errorf("%s.%s: doc says %s, test copy says %q", sec, f, typ, got)
			}
		}
		for f := range mine {
			if _, ok := fields[f]; !ok {
				t.Errorf("%s.%s is in the test copy but not in json-lines.md", sec, f)
			}
		}
	}
	for sec := range coreFields {
		if _, ok := parsed[sec]; !ok {
			t.Errorf("type %q is in the test copy but not in json-lines.md", sec)
		}
	}
}

// TestJSONSummary checks the summary line of the first connection.
func TestJSONSummary(t *testing.T) {
	out := render(t, func(b *bytes.Buffer) Renderer { return NewJSON(b, Options{Summary: true}) }, sampleEvents())
	objs := parseLines(t, out)
	var s map[string]any
	for _, m := range objs {
		if m["type"] == "summary" && m["conn"] == json.Number("1") {
			s = m
		}
	}
	if s == nil {
		t.Fatal("no summary line for conn 1")
	}
	want := map[string]any{
		"client": "10.0.0.2:51512", "server": "10.0.0.1:8080", "path": "/chat", "protocol": "chat",
		"accept": "ok", "status": json.Number("101"),
		"client_frames": json.Number("8"), "client_messages": json.Number("5"),
		"server_frames": json.Number("5"), "server_messages": json.Number("3"),
		"client_close_code": json.Number("1000"), "client_close_reason": "bye",
		"server_close_code": json.Number("1000"), "duration": json.Number("0.0061"),
		"pkt": json.Number("24"),
	}
	for k, v := range want {
		if s[k] != v {
			t.Errorf("summary %s = %v, want %v", k, s[k], v)
		}
	}
	an := s["anomalies"].(map[string]any)
	if an["error"] != json.Number("2") || an["warning"] != json.Number("0") {
		t.Errorf("anomalies = %v", an)
	}
}

// TestSchemaDocumented checks that the README's JSON Lines section
// documents every field the JSON renderer writes, and that every core
// field is marked core there.
func TestSchemaDocumented(t *testing.T) {
	doc, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]map[string]bool{} // type -> field -> core
	section := ""
	heading := regexp.MustCompile("^#{2,4} (?:`([a-z_]+)`|Fields on every event)")
	row := regexp.MustCompile("^\\| (`[^|]+`) \\|[^|]+\\|([^|]*)\\|")
	for _, line := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(line, "#") {
			section = ""
		}
		if h := heading.FindStringSubmatch(line); h != nil {
			section = h[1]
			if section == "" {
				section = "*"
			}
			documented[section] = map[string]bool{}
			continue
		}
		r := row.FindStringSubmatch(line)
		if r == nil || section == "" {
			continue
		}
		for _, f := range strings.Split(r[1], ",") {
			documented[section][strings.Trim(strings.TrimSpace(f), "`")] = strings.TrimSpace(r[2]) == "core"
		}
	}
	out := render(t, func(b *bytes.Buffer) Renderer { return NewJSON(b, Options{Summary: true}) }, sampleEvents())
	for i, m := range parseLines(t, out) {
		typ := m["type"].(string)
		for f := range m {
			if _, ok := documented["*"][f]; ok {
				continue
			}
			if _, ok := documented[typ][f]; !ok {
				t.Errorf("line %d: %s.%s is not documented in README.md", i+1, typ, f)
			}
		}
	}
	for typ, fields := range coreFields {
		for f := range fields {
			if core, ok := documented[typ][f]; !ok || !core {
				t.Errorf("core field %s.%s is not documented as core in README.md", typ, f)
			}
		}
	}
}

// TestJSONH2 checks the fields of a WebSocket over HTTP/2 (RFC 8441) in
// json-lines.md: h2_stream on every event, transport "h2" on conn and
// handshake, no accept_valid (RFC 8441 has no Accept).
func TestJSONH2(t *testing.T) {
	meta := decode.ConnMeta{ID: 3, H2Stream: 7, Addr: [2]netip.AddrPort{
		netip.MustParseAddrPort("10.0.0.2:51512"), netip.MustParseAddrPort("10.0.0.1:443")}}
	c := decode.NewConn(meta, decode.Options{})
	req := []decode.HeaderField{{Name: ":method", Value: "CONNECT"}, {Name: ":protocol", Value: "websocket"},
		{Name: ":scheme", Value: "https"}, {Name: ":path", Value: "/chat"}, {Name: ":authority", Value: "example.com"},
		{Name: "sec-websocket-version", Value: "13"}}
	var evs []decode.Event
	for _, e := range c.ExtendedConnect(nil, decode.Side0, &decode.H2Connect{Request: req,
		Response: []decode.HeaderField{{Name: ":status", Value: "200"}}, ConnectProtocol: true}) {
		evs = append(evs, e.Clone())
	}
	for _, e := range c.Feed(nil, decode.Side1, []byte{0x81, 0x02, 'h', 'i'}, decode.Seg{Time: t0, Packet: 9}) {
		evs = append(evs, e.Clone())
	}
	objs := parseLines(t, render(t, func(b *bytes.Buffer) Renderer { return NewJSON(b, Options{Summary: true}) }, evs))
	if len(objs) != 5 {
		t.Fatalf("%d lines, want conn, handshake, frame, message, summary", len(objs))
	}
	for _, o := range objs {
		if fmt.Sprint(o["h2_stream"]) != "7" || fmt.Sprint(o["conn"]) != "3" {
			t.Errorf("%v: conn %v h2_stream %v, want 3 and 7", o["type"], o["conn"], o["h2_stream"])
		}
		switch o["type"] {
		case "conn", "handshake", "summary":
			if o["transport"] != "h2" {
				t.Errorf("%v: transport %v, want h2", o["type"], o["transport"])
			}
		}
	}
	hs := objs[1]
	if _, ok := hs["accept_valid"]; ok || hs["method"] != "CONNECT" || hs["path"] != "/chat" || hs["host"] != "example.com" ||
		hs["key"] != "" || hs["accept"] != "" || fmt.Sprint(hs["status"]) != "200" || hs["h2_protocol"] != "websocket" {
		t.Errorf("handshake %v", hs)
	}
}

// TestTextH2Streams checks that two WebSockets over HTTP/2 on one TCP
// connection are two conversations in the timeline and the summary
// ("#3/5" and "#3/7"), whose rows never lend each other flags.
func TestTextH2Streams(t *testing.T) {
	var evs []decode.Event
	conns := map[uint32]*decode.Conn{}
	for _, st := range []uint32{5, 7} {
		meta := decode.ConnMeta{ID: 3, H2Stream: st, Addr: [2]netip.AddrPort{
			netip.MustParseAddrPort("10.0.0.2:51512"), netip.MustParseAddrPort("10.0.0.1:443")}}
		c := decode.NewConn(meta, decode.Options{})
		conns[st] = c
		req := []decode.HeaderField{{Name: ":method", Value: "CONNECT"}, {Name: ":protocol", Value: "websocket"},
			{Name: ":scheme", Value: "https"}, {Name: ":path", Value: "/s" + strconv.Itoa(int(st))}, {Name: ":authority", Value: "example.com"},
			{Name: "sec-websocket-version", Value: "13"}}
		for _, e := range c.ExtendedConnect(nil, decode.Side0, &decode.H2Connect{Request: req,
			Response: []decode.HeaderField{{Name: ":status", Value: "200"}}, ConnectProtocol: true,
			RequestSeg: decode.Seg{Time: t0, Packet: 4}, ResponseSeg: decode.Seg{Time: t0, Packet: 5}}) {
			evs = append(evs, e.Clone())
		}
	}
	// Interleaved: a frame of stream 5, then one of stream 7, in one
	// packet each, then the messages.
	for i, st := range []uint32{5, 7} {
		for _, e := range conns[st].Feed(nil, decode.Side1, []byte{0x81, 0x02, 'h', byte('0' + i)}, decode.Seg{Time: t0, Packet: 9 + i}) {
			evs = append(evs, e.Clone())
		}
	}
	out := string(render(t, func(b *bytes.Buffer) Renderer { return NewText(b, Options{Timeline: true, Summary: true}) }, evs))
	verbose := string(render(t, func(b *bytes.Buffer) Renderer { return NewText(b, Options{Timeline: true, Verbose: true}) }, evs))
	for _, want := range []string{"http2.streamid: 5\n", "http2.streamid: 7\n", "http2.headers.protocol: websocket\n", "http2.headers.path: /s7\n", "http2.headers.status: 200\n"} {
		if !strings.Contains(verbose, want) {
			t.Errorf("-V lacks %q:\n%s", want, verbose)
		}
	}
	for _, want := range []string{"#3/5 10.0.0.2:51512 -> 10.0.0.1:443 h2 stream 5 CONNECT /s5 accept=n/a", "#3/7 10.0.0.2:51512 -> 10.0.0.1:443 h2 stream 7 CONNECT /s7 accept=n/a",
		"#3/5 S>C TEXT", "#3/7 S>C TEXT", "| #3/5 ", "| #3/7 "} {
		if !strings.Contains(strings.Join(strings.Fields(out), " "), strings.Join(strings.Fields(want), " ")) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
