package output

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wscap/wscap/decode"
	"github.com/wscap/wscap/dfilter"
)

var harT0 = time.Date(2024, 5, 1, 10, 0, 0, 123456789, time.UTC)

// harWS returns the events of one WebSocket: conn, handshake, the given
// middle events, and both ends.
func harWS(conn int, stream uint32, at time.Duration, hs *decode.Handshake, mid ...decode.Event) []decode.Event {
	t := harT0.Add(at)
	info := &decode.ConnInfo{
		Client: netip.MustParseAddrPort("10.0.0.1:40000"),
		Server: netip.MustParseAddrPort("[2001:db8::1]:443"),
	}
	evs := []decode.Event{{Kind: decode.KindConn, Conn: conn, H2Stream: stream, Time: t, Info: info}}
	if hs != nil {
		if hs.RequestTime.IsZero() {
			hs.RequestTime = t
		}
		evs = append(evs, decode.Event{Kind: decode.KindHandshake, Conn: conn, H2Stream: stream, Time: t.Add(2 * time.Millisecond), Handshake: hs})
	}
	for _, e := range mid {
		e.Conn, e.H2Stream = conn, stream
		if e.Time.IsZero() {
			e.Time = t.Add(10 * time.Millisecond)
		}
		evs = append(evs, e)
	}
	end := t.Add(time.Second)
	return append(evs,
		decode.Event{Kind: decode.KindEnd, Conn: conn, H2Stream: stream, From: decode.RoleClient, Time: end},
		decode.Event{Kind: decode.KindEnd, Conn: conn, H2Stream: stream, From: decode.RoleServer, Time: end})
}

func harMsgEv(from decode.Role, op decode.Opcode, p string, mod func(*decode.Message)) decode.Event {
	m := decode.Message{N: 1, Opcode: op, Payload: []byte(p), Len: uint64(len(p)), UTF8Valid: op == decode.OpText}
	if mod != nil {
		mod(&m)
	}
	return decode.Event{Kind: decode.KindMessage, From: from, Message: m}
}

func upgrade(path string, req ...decode.HeaderField) *decode.Handshake {
	return &decode.Handshake{Method: "GET", Path: path, Proto: "HTTP/1.1", Host: "example.com", Request: req,
		Status: 101, Reason: "Switching Protocols", Upgraded: true,
		Response: []decode.HeaderField{{Name: "Upgrade", Value: "websocket"}}}
}

type harDoc struct {
	Log struct {
		Version string           `json:"version"`
		Creator map[string]any   `json:"creator"`
		Pages   []any            `json:"pages"`
		Entries []map[string]any `json:"entries"`
	} `json:"log"`
}

func runHAR(t *testing.T, opt HAROptions, batches ...[]decode.Event) (harDoc, []byte) {
	t.Helper()
	var buf bytes.Buffer
	x := NewHAR(&buf, opt)
	for _, b := range batches {
		if err := x.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	var d harDoc
	if err := json.Unmarshal(buf.Bytes(), &d); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, buf.Bytes())
	}
	return d, buf.Bytes()
}

// get walks a decoded JSON value by object keys and array indexes.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func TestHAREntry(t *testing.T) {
	tls := &decode.TLSInfo{Version: "TLS 1.3", Decrypted: true}
	h2 := &decode.Handshake{Method: "CONNECT", Path: "/ws", Proto: "HTTP/2", Host: "h2.example", H2Stream: 5, Status: 200, Upgraded: true,
		Request: []decode.HeaderField{{Name: ":method", Value: "CONNECT"}, {Name: ":scheme", Value: "https"}, {Name: ":authority", Value: "h2.example"}}}
	withTLS := upgrade("/s")
	withTLS.TLS = tls
	tests := []struct {
		name string
		evs  []decode.Event
		want map[string]any // path (dot-separated) -> value
	}{
		{"url, query and cookies", harWS(1, 0, 0, upgrade("/chat?room=a%20b&x&=v#frag", decode.HeaderField{Name: "Cookie", Value: "sid=42; theme=dark"})),
			map[string]any{
				"request.url": "ws://example.com/chat?room=a%20b&x&=v", "request.method": "GET", "request.httpVersion": "HTTP/1.1",
				"request.queryString.0.name": "room", "request.queryString.0.value": "a b",
				"request.queryString.1.name": "x", "request.queryString.2.value": "v",
				"request.cookies.0.name": "sid", "request.cookies.1.value": "dark",
				"response.status": 101.0, "response.statusText": "Switching Protocols",
				"response.content.size": 0.0, "response.content.mimeType": "x-unknown",
				"_resourceType": "websocket", "serverIPAddress": "2001:db8::1", "connection": "1",
				"startedDateTime": "2024-05-01T10:00:00.123Z",
				"time":            1000.0, "timings.wait": 2.0, "timings.receive": 998.0, "timings.connect": -1.0, "timings.send": 0.0,
			}},
		{"wss from TLS", harWS(2, 0, 0, withTLS), map[string]any{"request.url": "wss://example.com/s", "_wscap.tls": "TLS 1.3", "_wscap.decrypted": true}},
		{"RFC 8441 stream", harWS(3, 5, 0, h2), map[string]any{
			"request.url": "wss://h2.example/ws", "request.httpVersion": "HTTP/2.0", "request.method": "CONNECT",
			"response.status": 200.0, "_wscap.h2_stream": 5.0, "connection": "3"}},
		{"absolute-form target", harWS(4, 0, 0, upgrade("http://proxy.example/x?q=1")), map[string]any{
			"request.url": "ws://proxy.example/x?q=1", "request.queryString.0.value": "1"}},
		{"no Host", harWS(5, 0, 0, &decode.Handshake{Method: "GET", Path: "/", Status: 101}), map[string]any{
			"request.url": "ws://[2001:db8::1]:443/"}},
		{"refused", harWS(6, 0, 0, &decode.Handshake{Method: "GET", Path: "/", Host: "h", Status: 403, Reason: "Forbidden",
			Response: []decode.HeaderField{{Name: "Set-Cookie", Value: "a=b; Path=/"}, {Name: "Location", Value: "/login"}}}), map[string]any{
			"response.status": 403.0, "response.cookies.0.name": "a", "response.cookies.0.value": "b", "response.redirectURL": "/login",
			"_webSocketMessages": []any{}}},
		{"midstream", harWS(7, 0, 0, nil, harMsgEv(decode.RoleServer, decode.OpText, "hi", nil)), map[string]any{
			"request.url": "ws://[2001:db8::1]:443/", "response.status": 0.0, "_webSocketMessages.0.type": "receive",
			"_webSocketMessages.0.data": "hi"}},
		{"messages as Chrome writes them", harWS(8, 0, 0, upgrade("/"),
			harMsgEv(decode.RoleClient, decode.OpText, "héllo", nil),
			harMsgEv(decode.RoleServer, decode.OpBinary, "\x00\x01\xff", nil),
			harMsgEv(decode.RoleServer, decode.OpText, "caf\xe9", func(m *decode.Message) { m.UTF8Valid = false }),
			harMsgEv(decode.RoleClient, decode.OpText, "abc", func(m *decode.Message) { m.Truncated, m.Len = true, 5000 }),
			decode.Event{Kind: decode.KindFrame, From: decode.RoleClient, Frame: decode.Frame{Header: decode.Header{Opcode: decode.OpPing}}},
			decode.Event{Kind: decode.KindFrame, From: decode.RoleServer, Frame: decode.Frame{Header: decode.Header{Opcode: decode.OpPong}}},
			decode.Event{Kind: decode.KindFrame, From: decode.RoleClient, Frame: decode.Frame{Header: decode.Header{Opcode: decode.OpClose},
				Close: decode.Close{HasCode: true, Code: 1000, Reason: []byte("bye")}}},
		), map[string]any{
			"_webSocketMessages.0.type": "send", "_webSocketMessages.0.opcode": 1.0, "_webSocketMessages.0.data": "héllo",
			"_webSocketMessages.0.time": 1714557600.133456,
			"_webSocketMessages.1.type": "receive", "_webSocketMessages.1.opcode": 2.0, "_webSocketMessages.1.data": "AAH/",
			"_webSocketMessages.2.data": "café", "_webSocketMessages.2._wscap.encoding": "latin1",
			"_webSocketMessages.3._wscap.truncated": true, "_webSocketMessages.3._wscap.len": 5000.0,
			"_webSocketMessages.4": nil, // control frames are not messages (as in Chrome)
			"_wscap.send.pings":    1.0, "_wscap.receive.pongs": 1.0, "_wscap.send.messages": 2.0,
			"_wscap.send.close.code": 1000.0, "_wscap.send.close.reason": "bye", "_wscap.truncated_messages": 1.0,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, raw := runHAR(t, HAROptions{}, tt.evs)
			if d.Log.Version != "1.2" || get(d.Log.Creator, "name") != "wscap" || d.Log.Pages == nil {
				t.Fatalf("log head: %s", raw)
			}
			if len(d.Log.Entries) != 1 {
				t.Fatalf("%d entries, want 1:\n%s", len(d.Log.Entries), raw)
			}
			e := d.Log.Entries[0]
			for p, want := range tt.want {
				var path []any
				for _, s := range strings.Split(p, ".") {
					if n, err := strconv.Atoi(s); err == nil {
						path = append(path, n)
					} else {
						path = append(path, s)
					}
				}
				got := get(any(e), path...)
				gb, _ := json.Marshal(got)
				wb, _ := json.Marshal(want)
				if !bytes.Equal(gb, wb) {
					t.Errorf("%s = %s, want %s", p, gb, wb)
				}
			}
			if t.Failed() {
				t.Logf("%s", raw)
			}
		})
	}
}

// TestHARLog: ordering, the filter, a second Upgrade, the spool and an
// empty run.
func TestHARLog(t *testing.T) {
	// conn 1 starts later than conn 2 but ends first.
	a := harWS(1, 0, 5*time.Second, upgrade("/a"), harMsgEv(decode.RoleClient, decode.OpText, "a", nil))
	b := harWS(2, 0, 0, upgrade("/b"), harMsgEv(decode.RoleClient, decode.OpText, "b", nil), harMsgEv(decode.RoleServer, decode.OpText, "B", nil))
	bEnd := b[len(b)-2:]
	b = b[:len(b)-2]
	t.Run("sorted by startedDateTime", func(t *testing.T) {
		d, _ := runHAR(t, HAROptions{}, b, a, bEnd)
		if len(d.Log.Entries) != 2 || get(d.Log.Entries[0], "request", "url") != "ws://example.com/b" {
			t.Fatalf("entries: %v", d.Log.Entries)
		}
	})
	t.Run("open at close", func(t *testing.T) {
		d, _ := runHAR(t, HAROptions{}, b)
		if len(d.Log.Entries) != 1 || get(d.Log.Entries[0], "_webSocketMessages", 1, "data") != "B" {
			t.Fatalf("entries: %v", d.Log.Entries)
		}
	})
	t.Run("filter", func(t *testing.T) {
		f, err := dfilter.Compile(`conn == 2 and from == "server"`)
		if err != nil {
			t.Fatal(err)
		}
		d, _ := runHAR(t, HAROptions{Filter: f}, b, a, bEnd)
		if len(d.Log.Entries) != 1 || get(d.Log.Entries[0], "_webSocketMessages", 0, "data") != "B" ||
			get(d.Log.Entries[0], "_webSocketMessages", 1) != nil {
			t.Fatalf("entries: %v", d.Log.Entries)
		}
	})
	t.Run("second upgrade", func(t *testing.T) {
		refused := harWS(3, 0, 0, &decode.Handshake{Method: "GET", Path: "/", Host: "h", Status: 401})
		again := harWS(3, 0, time.Millisecond, upgrade("/"), harMsgEv(decode.RoleClient, decode.OpText, "x", nil))
		evs := append(refused[:2:2], again[1:]...)
		d, _ := runHAR(t, HAROptions{}, evs)
		if len(d.Log.Entries) != 2 || get(d.Log.Entries[0], "response", "status") != 401.0 ||
			get(d.Log.Entries[1], "_webSocketMessages", 0, "data") != "x" {
			t.Fatalf("entries: %v", d.Log.Entries)
		}
	})
	t.Run("spool", func(t *testing.T) {
		big := strings.Repeat("x", 100<<10)
		var evs []decode.Event
		for c := 1; c <= 5; c++ {
			evs = append(evs, harWS(c, 0, time.Duration(c)*time.Second, upgrade("/"),
				harMsgEv(decode.RoleClient, decode.OpText, big, nil), harMsgEv(decode.RoleServer, decode.OpBinary, big, nil))...)
		}
		_, mem := runHAR(t, HAROptions{}, evs)
		x := NewHAR(new(bytes.Buffer), HAROptions{MemBudget: 1}).(*harExporter)
		var spooled bytes.Buffer
		x.w = &spooled
		if err := x.Write(evs); err != nil {
			t.Fatal(err)
		}
		if x.spool == nil || x.memUsed > 1 {
			t.Fatalf("spool not used (mem %d)", x.memUsed)
		}
		if err := x.Close(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(mem, spooled.Bytes()) {
			t.Fatal("spooled HAR differs from the in-memory one")
		}
	})
	t.Run("empty", func(t *testing.T) {
		d, raw := runHAR(t, HAROptions{})
		if d.Log.Entries == nil || len(d.Log.Entries) != 0 {
			t.Fatalf("%s", raw)
		}
	})
	t.Run("not WebSocket", func(t *testing.T) {
		d, _ := runHAR(t, HAROptions{}, []decode.Event{{Kind: decode.KindTLS, Conn: 9, TLS: &decode.TLSInfo{}}, {Kind: decode.KindEnd, Conn: 9}})
		if len(d.Log.Entries) != 0 {
			t.Fatalf("entries: %v", d.Log.Entries)
		}
	})
}

// FuzzHARHead: whatever the handshake holds (path, host, cookies,
// headers), the log is valid JSON with one entry whose URL is ws(s)://.
func FuzzHARHead(f *testing.F) {
	f.Add("/chat?a=b&c=%zz#x", "example.com", "a=1; b", "text", []byte("\xff\xfe"))
	f.Add("http://x/", "", ";;=;", "", []byte{})
	f.Fuzz(func(t *testing.T, path, host, cookie, hname string, payload []byte) {
		hs := upgrade(path, decode.HeaderField{Name: "Cookie", Value: cookie}, decode.HeaderField{Name: hname, Value: string(payload)})
		hs.Host = host
		evs := harWS(1, 0, 0, hs, harMsgEv(decode.RoleClient, decode.OpText, string(payload), func(m *decode.Message) {
			m.UTF8Valid = false
		}), harMsgEv(decode.RoleServer, decode.OpBinary, string(payload), nil))
		d, raw := runHAR(t, HAROptions{}, evs)
		if len(d.Log.Entries) != 1 {
			t.Fatalf("%s", raw)
		}
		u, _ := get(d.Log.Entries[0], "request", "url").(string)
		if !strings.HasPrefix(u, "ws://") {
			t.Fatalf("url %q", u)
		}
	})
}
