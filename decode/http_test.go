package decode

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestHeadEnd(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"", -1},
		{"GET / HTTP/1.1", -1},
		{"GET / HTTP/1.1\r\n", -1},
		{"GET / HTTP/1.1\r\nHost: a\r\n", -1},
		{"GET / HTTP/1.1\r\nHost: a\r\n\r", -1},
		{"GET / HTTP/1.1\r\n\r\n", 18},
		{"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 27},
		{"GET / HTTP/1.1\r\nHost: a\r\n\r\nbody", 27},
		{"GET / HTTP/1.1\nHost: a\n\n", 24},
		{"GET / HTTP/1.1\nHost: a\n\nxx", 24},
		{"GET / HTTP/1.1\r\nHost: a\n\r\n", 26}, // mixed line ends
		{"GET / HTTP/1.1\r\nHost: a\r\n\n", 26}, // CRLF then bare LF
		{"\r\nGET / HTTP/1.1\r\n\r\n", 20},      // empty line before the request line
		{"\r\n\r\nGET / HTTP/1.1\r\n\r\n", 22},  // two of them
		{"\r\n", -1},                            // only empty lines so far
		{"\r\n\r\n", -1},                        // still nothing but empty lines
		{"\r", -1},                              //
		{"HTTP/1.1 101 \r\nUpgrade: x\r\n\r\n", 29},
		{"a\r\rb\r\n\r\n", 8},
	}
	for _, tt := range tests {
		if got := headEnd([]byte(tt.in)); got != tt.want {
			t.Errorf("headEnd(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestHeadEndGrowing(t *testing.T) {
	// Fed a growing buffer, headEnd finds the end exactly when the last
	// byte of the empty line arrives.
	for _, c := range corpusHeads {
		for _, head := range []string{c.req, c.resp} {
			full := head + "\x81\x05hello"
			for i := 0; i <= len(full); i++ {
				got := headEnd([]byte(full[:i]))
				want := -1
				if i >= len(head) {
					want = len(head)
				}
				if got != want {
					t.Fatalf("%s: headEnd(first %d bytes) = %d, want %d", c.name, i, got, want)
				}
			}
		}
	}
}

func TestHTTPPrefix(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"", 0},
		{"G", 0},
		{"GE", 0},
		{"GET", 0},
		{"GET ", 0},
		{"GET /", 1},
		{"GET /chat HTTP/1.1\r\n", 1},
		{"POST /x", 1},
		{"OPTIONS *", 1},
		{"CONNECT example.com:443", 1},
		{"CONNECT 10.0.0.1:443", 1},
		{"M-SEARCH * HTTP/1.1", 1},
		{"PRI * HTTP/2.0", 1},
		{"H", 0},
		{"HTTP", 0},
		{"HTTP/", 0},
		{"HTTP/1.1 101 Switching Protocols", 1},
		{"HTTP/x", -1},
		{"HTTPS /", 1}, // an upper-case token: could be a method
		{"\r\nGET /", 1},
		{"\r\n", 0},
		{"\r", 0},
		{"get / HTTP/1.1", -1},
		{"GET\t/", -1},
		{"GET  /", -1},
		{" GET /", -1},
		{"\x81\x05hello", -1},
		{"\x16\x03\x01\x02\x00", -1},
		{"SSH-2.0-OpenSSH", -1},
		{"ABCDEFGHIJKLMNOPQRST", 0},   // 20 letters: a method may still follow
		{"ABCDEFGHIJKLMNOPQRSTU", -1}, // 21: too long for a method
		{"GET ~", -1},
	}
	for _, tt := range tests {
		if got := httpPrefix([]byte(tt.in)); got != tt.want {
			t.Errorf("httpPrefix(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestParseHead(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
		want httpHead
	}{
		{
			name: "request",
			in:   "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\r\n",
			ok:   true,
			want: httpHead{isRequest: true, method: "GET", target: "/chat", proto: "HTTP/1.1", fields: []HeaderField{
				{"Host", "server.example.com"}, {"Upgrade", "websocket"},
			}},
		},
		{
			name: "response with reason",
			in:   "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
			ok:   true,
			want: httpHead{proto: "HTTP/1.1", status: 101, reason: "Switching Protocols", fields: []HeaderField{{"Upgrade", "websocket"}}},
		},
		{
			name: "empty reason",
			in:   "HTTP/1.1 101 \r\nUpgrade: WebSocket\r\n\r\n",
			ok:   true,
			want: httpHead{proto: "HTTP/1.1", status: 101, fields: []HeaderField{{"Upgrade", "WebSocket"}}},
		},
		{
			name: "no reason no space",
			in:   "HTTP/1.0 200\r\n\r\n",
			ok:   true,
			want: httpHead{proto: "HTTP/1.0", status: 200},
		},
		{
			name: "LF only, spaces around values, space before colon",
			in:   "GET / HTTP/1.1\nHost:   a.b  \nX-Y :\tz\t\n\n",
			ok:   true,
			want: httpHead{isRequest: true, method: "GET", target: "/", proto: "HTTP/1.1", fields: []HeaderField{
				{"Host", "a.b"}, {"X-Y", "z"},
			}},
		},
		{
			name: "obs-fold",
			in:   "GET / HTTP/1.1\r\nX-Long: one\r\n  two\r\n\tthree\r\nHost: h\r\n\r\n",
			ok:   true,
			want: httpHead{isRequest: true, method: "GET", target: "/", proto: "HTTP/1.1", fields: []HeaderField{
				{"X-Long", "one two three"}, {"Host", "h"},
			}},
		},
		{
			name: "obs-fold onto an empty value",
			in:   "GET / HTTP/1.1\r\nX-Long:\r\n two\r\n\r\n",
			ok:   true,
			want: httpHead{isRequest: true, method: "GET", target: "/", proto: "HTTP/1.1", fields: []HeaderField{{"X-Long", "two"}}},
		},
		{
			name: "whitespace line before first field is ignored",
			in:   "GET / HTTP/1.1\r\n junk\r\nHost: h\r\n\r\n",
			ok:   true,
			want: httpHead{isRequest: true, method: "GET", target: "/", proto: "HTTP/1.1", fields: []HeaderField{{"Host", "h"}}},
		},
		{
			name: "leading empty line",
			in:   "\r\nGET / HTTP/1.1\r\n\r\n",
			ok:   true,
			want: httpHead{isRequest: true, method: "GET", target: "/", proto: "HTTP/1.1"},
		},
		{
			name: "duplicates kept in order, names as sent",
			in:   "HTTP/1.1 200 OK\r\nset-cookie: a=1\r\nSet-Cookie: b=2\r\nEmpty:\r\n\r\n",
			ok:   true,
			want: httpHead{proto: "HTTP/1.1", status: 200, reason: "OK", fields: []HeaderField{
				{"set-cookie", "a=1"}, {"Set-Cookie", "b=2"}, {"Empty", ""},
			}},
		},
		{
			name: "CR and NUL in a value become SP",
			in:   "GET / HTTP/1.1\r\nX: a\rb\x00c\r\n\r\n",
			ok:   true,
			want: httpHead{isRequest: true, method: "GET", target: "/", proto: "HTTP/1.1", fields: []HeaderField{{"X", "a b c"}}},
		},
		{
			name: "no terminating empty line",
			in:   "GET / HTTP/1.1\r\nHost: h",
			ok:   true,
			want: httpHead{isRequest: true, method: "GET", target: "/", proto: "HTTP/1.1", fields: []HeaderField{{"Host", "h"}}},
		},
		{
			name: "target with query and absolute form",
			in:   "GET http://a.example/x?y=1 HTTP/1.1\r\n\r\n",
			ok:   true,
			want: httpHead{isRequest: true, method: "GET", target: "http://a.example/x?y=1", proto: "HTTP/1.1"},
		},
		{name: "empty", in: "", ok: false},
		{name: "only CRLF", in: "\r\n\r\n", ok: false},
		{name: "HTTP/2 preface is a request line", in: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", ok: true,
			want: httpHead{isRequest: true, method: "PRI", target: "*", proto: "HTTP/2.0"}},
		{name: "lower-case version", in: "GET / http/1.1\r\n\r\n", ok: false},
		{name: "no version", in: "GET /\r\n\r\n", ok: false},
		{name: "HTTP/0.9 style", in: "GET / \r\n\r\n", ok: false},
		{name: "bad method", in: "G(T / HTTP/1.1\r\n\r\n", ok: false},
		{name: "control in target", in: "GET /\x01 HTTP/1.1\r\n\r\n", ok: true,
			want: httpHead{isRequest: true, method: "GET", target: "/\x01", proto: "HTTP/1.1", malformed: "the request-target has a control character 0x01"}},
		{name: "tab in target", in: "GET /a\tb HTTP/1.1\r\nHost: h\r\n\r\n", ok: true,
			want: httpHead{isRequest: true, method: "GET", target: "/a\tb", proto: "HTTP/1.1", fields: []HeaderField{{"Host", "h"}}, malformed: "the request-target has a control character 0x09"}},
		{name: "status 2 digits", in: "HTTP/1.1 10 X\r\n\r\n", ok: false},
		{name: "status 4 digits", in: "HTTP/1.1 1010 X\r\n\r\n", ok: false},
		{name: "status letters", in: "HTTP/1.1 abc X\r\n\r\n", ok: false},
		{name: "bad version", in: "HTTP/11 101 X\r\n\r\n", ok: false},
		{name: "field without colon", in: "GET / HTTP/1.1\r\nHost h\r\nA: b\r\n\r\n", ok: true,
			want: httpHead{isRequest: true, method: "GET", target: "/", proto: "HTTP/1.1", fields: []HeaderField{{"A", "b"}}, malformed: "header line 1 has no colon"}},
		{name: "empty field name", in: "GET / HTTP/1.1\r\n: h\r\n\r\n", ok: true,
			want: httpHead{isRequest: true, method: "GET", target: "/", proto: "HTTP/1.1", malformed: `header line 1 has an invalid field name ""`}},
		{name: "space in field name", in: "GET / HTTP/1.1\r\nHo st: h\r\n\r\n", ok: true,
			want: httpHead{isRequest: true, method: "GET", target: "/", proto: "HTTP/1.1", malformed: `header line 1 has an invalid field name "Ho st"`}},
		{name: "binary", in: "\x81\x05hello\r\n\r\n", ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseHead([]byte(tt.in))
			if ok != tt.ok {
				t.Fatalf("parseHead(%q) ok = %v, want %v", tt.in, ok, tt.ok)
			}
			if ok && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseHead(%q) =\n%+v\nwant\n%+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseHeadCopies(t *testing.T) {
	// The head buffer belongs to the Conn and is reused: nothing parsed may
	// alias it.
	b := []byte("GET /chat HTTP/1.1\r\nHost: h\r\n\r\n")
	h, ok := parseHead(b)
	if !ok {
		t.Fatal("parse failed")
	}
	for i := range b {
		b[i] = 'X'
	}
	if h.method != "GET" || h.target != "/chat" || h.fields[0] != (HeaderField{"Host", "h"}) {
		t.Errorf("parsed head changed with its buffer: %+v", h)
	}
}

func TestHeadValuesAndTokens(t *testing.T) {
	h := mustParse(t, "GET / HTTP/1.1\r\n"+
		"connection: keep-alive, Upgrade\r\n"+
		"UPGRADE: WebSocket\r\n"+
		"X-List: a,, b ,\r\n"+
		"x-list: c\r\n"+
		"Sec-WebSocket-Key: k\r\n"+
		"\r\n")
	if got := h.values("X-LIST"); !reflect.DeepEqual(got, []string{"a,, b ,", "c"}) {
		t.Errorf("values = %q", got)
	}
	if got := h.values("missing"); got != nil {
		t.Errorf("values(missing) = %q, want nil", got)
	}
	if got := h.joined("x-list"); got != "a,, b ,, c" {
		t.Errorf("joined = %q", got)
	}
	if got := h.listElems("x-list"); !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
		t.Errorf("listElems = %q", got)
	}
	for _, tt := range []struct {
		name, token string
		want        bool
	}{
		{"Connection", "upgrade", true},
		{"CONNECTION", "Keep-Alive", true},
		{"Connection", "close", false},
		{"Connection", "keep", false},
		{"Upgrade", "websocket", true},
		{"X-List", "b", true},
		{"X-List", "c", true},
		{"X-List", "", true}, // empty list elements exist, but nobody asks for them
		{"Missing", "x", false},
	} {
		if got := h.hasToken(tt.name, tt.token); got != tt.want {
			t.Errorf("hasToken(%q, %q) = %v, want %v", tt.name, tt.token, got, tt.want)
		}
	}
	if !isWebSocketRequest(&h) {
		t.Error("isWebSocketRequest = false")
	}
}

func TestIsWebSocketRequest(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n", true},
		{"GET / HTTP/1.1\r\nUpgrade: h2c, WebSocket\r\n\r\n", true},
		{"GET / HTTP/1.1\r\nsec-websocket-key: x\r\n\r\n", true}, // tolerant
		{"GET / HTTP/1.1\r\nUpgrade: h2c\r\n\r\n", false},
		{"GET / HTTP/1.1\r\nHost: h\r\n\r\n", false},
		{"HTTP/1.1 101 X\r\nUpgrade: websocket\r\n\r\n", false}, // a response
	}
	for _, tt := range tests {
		h := mustParse(t, tt.in)
		if got := isWebSocketRequest(&h); got != tt.want {
			t.Errorf("isWebSocketRequest(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestRequestBody(t *testing.T) {
	tests := []struct {
		fields string
		kind   bodyKind
		n      int64
	}{
		{"", bodyNone, 0},
		{"Content-Length: 0\r\n", bodyLength, 0},
		{"Content-Length: 42\r\n", bodyLength, 42},
		{"Content-Length: 42\r\nContent-Length: 42\r\n", bodyLength, 42},
		{"Content-Length: 42, 42\r\n", bodyLength, 42},
		{"Content-Length: 9223372036854775807\r\n", bodyLength, 1<<63 - 1},
		{"Content-Length: 9223372036854775808\r\n", bodyUntilClose, 0},
		{"Content-Length: 99999999999999999999999\r\n", bodyUntilClose, 0},
		{"Content-Length: 42, 43\r\n", bodyUntilClose, 0},
		{"Content-Length: -1\r\n", bodyUntilClose, 0},
		{"Content-Length: +1\r\n", bodyUntilClose, 0},
		{"Content-Length: 0x10\r\n", bodyUntilClose, 0},
		{"Content-Length:\r\n", bodyUntilClose, 0},
		{"Transfer-Encoding: chunked\r\n", bodyChunked, 0},
		{"Transfer-Encoding: CHUNKED\r\nContent-Length: 5\r\n", bodyChunked, 0},
		{"Transfer-Encoding: gzip, chunked\r\n", bodyChunked, 0},
		{"Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", bodyChunked, 0},
		{"Transfer-Encoding: chunked, gzip\r\n", bodyUntilClose, 0},
		{"Transfer-Encoding: gzip\r\n", bodyUntilClose, 0},
	}
	for _, tt := range tests {
		h := mustParse(t, "POST /x HTTP/1.1\r\n"+tt.fields+"\r\n")
		if k, n := requestBody(&h); k != tt.kind || n != tt.n {
			t.Errorf("requestBody(%q) = %v %d, want %v %d", tt.fields, k, n, tt.kind, tt.n)
		}
	}
}

func TestResponseBody(t *testing.T) {
	tests := []struct {
		status string
		fields string
		method string
		kind   bodyKind
		n      int64
	}{
		{"200 OK", "Content-Length: 5\r\n", "GET", bodyLength, 5},
		{"200 OK", "Content-Length: 5\r\n", "HEAD", bodyNone, 0},
		{"200 OK", "", "GET", bodyUntilClose, 0},
		{"200 OK", "Transfer-Encoding: chunked\r\n", "GET", bodyChunked, 0},
		{"200 OK", "Transfer-Encoding: gzip\r\n", "GET", bodyUntilClose, 0},
		{"200 OK", "Content-Length: x\r\n", "GET", bodyUntilClose, 0},
		{"101 Switching Protocols", "", "GET", bodyNone, 0},
		{"100 Continue", "", "POST", bodyNone, 0},
		{"204 No Content", "Content-Length: 5\r\n", "GET", bodyNone, 0},
		{"304 Not Modified", "Content-Length: 5\r\n", "GET", bodyNone, 0},
		{"200 Connection established", "", "CONNECT", bodyUntilClose, 0},
		{"407 Proxy Authentication Required", "Content-Length: 3\r\n", "CONNECT", bodyLength, 3},
		{"400 Bad Request", "Content-Length: 11\r\n", "GET", bodyLength, 11},
		{"426 Upgrade Required", "Sec-WebSocket-Version: 13\r\nContent-Length: 0\r\n", "GET", bodyLength, 0},
		{"403 Forbidden", "", "GET", bodyUntilClose, 0},
	}
	for _, tt := range tests {
		h := mustParse(t, "HTTP/1.1 "+tt.status+"\r\n"+tt.fields+"\r\n")
		if k, n := responseBody(&h, tt.method); k != tt.kind || n != tt.n {
			t.Errorf("responseBody(%s, %q, %s) = %v %d, want %v %d", tt.status, tt.fields, tt.method, k, n, tt.kind, tt.n)
		}
	}
}

// skipAll feeds parts to a new skipper and returns the bytes consumed in
// total, whether it finished and whether it failed. It checks that nothing
// is consumed after done or bad.
func skipAll(t *testing.T, k bodyKind, n int64, parts ...string) (total int, done, bad bool) {
	t.Helper()
	b := newBodySkipper(k, n)
	for _, p := range parts {
		if done || bad {
			if m, d, x := b.skip([]byte(p)); m != 0 || d != done || x != bad {
				t.Fatalf("skip after end = %d %v %v", m, d, x)
			}
			continue
		}
		var m int
		m, done, bad = b.skip([]byte(p))
		if m < 0 || m > len(p) {
			t.Fatalf("skip consumed %d of %d bytes", m, len(p))
		}
		if !done && !bad && m != len(p) {
			t.Fatalf("skip consumed %d of %d bytes without ending", m, len(p))
		}
		total += m
	}
	return total, done, bad
}

var chunkedBodies = []string{
	"0\r\n\r\n",
	"5\r\nhello\r\n0\r\n\r\n",
	"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
	"A\r\n0123456789\r\n0\r\n\r\n",
	"a;name=value\r\n0123456789\r\n0\r\n\r\n",
	"5 ; ext=\"q;x\"\r\nhello\r\n000\r\n\r\n",
	"0000000005\r\nhello\r\n0\r\n\r\n",
	"5\r\nhello\r\n0\r\nExpires: never\r\nX-Trailer: 1\r\n\r\n",
	"5\nhello\n0\n\n",          // bare LF everywhere
	"3\r\n\r\n\r\r\n0\r\n\r\n", // data that looks like line ends
	"1\r\n0\r\n0;last\r\nT: v\n\r\n",
}

func TestBodySkipperChunked(t *testing.T) {
	const next = "GET /next HTTP/1.1\r\n\r\n"
	for _, body := range chunkedBodies {
		// Whole, with the next message behind it.
		if n, done, bad := skipAll(t, bodyChunked, 0, body+next); n != len(body) || !done || bad {
			t.Errorf("%q whole: n=%d done=%v bad=%v, want %d true false", body, n, done, bad, len(body))
		}
		// Split at every position.
		for i := 0; i <= len(body); i++ {
			n, done, bad := skipAll(t, bodyChunked, 0, body[:i], body[i:]+next)
			if n != len(body) || !done || bad {
				t.Errorf("%q split at %d: n=%d done=%v bad=%v", body, i, n, done, bad)
			}
		}
		// Byte by byte.
		parts := strings.Split(body+next, "")
		if n, done, bad := skipAll(t, bodyChunked, 0, parts...); n != len(body) || !done || bad {
			t.Errorf("%q bytewise: n=%d done=%v bad=%v", body, n, done, bad)
		}
		// Cut short: never done.
		for i := 0; i < len(body); i++ {
			if n, done, bad := skipAll(t, bodyChunked, 0, body[:i]); n != i || done || bad {
				t.Errorf("%q cut at %d: n=%d done=%v bad=%v", body, i, n, done, bad)
			}
		}
	}
}

func TestBodySkipperChunkedBad(t *testing.T) {
	tests := []struct {
		in     string
		consum int // bytes consumed before the bad byte was found
	}{
		{"x\r\n", 0},
		{"\r\n", 0},
		{";ext\r\n", 0},
		{"5x\r\nhello\r\n", 1},
		{"5\rx", 2},
		{"5\r\nhelloX\r\n", 8},
		{"5\r\nhello\rX", 9},
		{"5\r\nhello\r\n0\r\n\rX", 14},
		{"5;a\x01\r\n", 3},
		{"8000000000000000\r\n", 15},     // does not fit int64
		{"ffffffffffffffffffff\r\n", 15}, // huge hex
		{"-1\r\n", 0},
	}
	for _, tt := range tests {
		b := newBodySkipper(bodyChunked, 0)
		n, done, bad := b.skip([]byte(tt.in))
		if !bad || done || n != tt.consum {
			t.Errorf("%q: n=%d done=%v bad=%v, want n=%d bad", tt.in, n, done, bad, tt.consum)
		}
		// Split bytewise, bad is found at the same place.
		total, done, bad := skipAll(t, bodyChunked, 0, strings.Split(tt.in, "")...)
		if !bad || done || total != tt.consum {
			t.Errorf("%q bytewise: n=%d done=%v bad=%v, want n=%d bad", tt.in, total, done, bad, tt.consum)
		}
	}
}

func TestBodySkipperHugeChunk(t *testing.T) {
	// The largest chunk-size that fits int64 is fine; its data is skipped
	// without being kept.
	b := newBodySkipper(bodyChunked, 0)
	head := "7fffffffffffffff\r\n"
	n, done, bad := b.skip([]byte(head + strings.Repeat("x", 1000)))
	if n != len(head)+1000 || done || bad {
		t.Errorf("n=%d done=%v bad=%v", n, done, bad)
	}
	if b.left != 1<<63-1-1000 {
		t.Errorf("left = %d", b.left)
	}
}

func TestBodySkipperLength(t *testing.T) {
	body := "0123456789"
	for i := 0; i <= len(body); i++ {
		n, done, bad := skipAll(t, bodyLength, int64(len(body)), body[:i], body[i:]+"NEXT")
		if n != len(body) || !done || bad {
			t.Errorf("split at %d: n=%d done=%v bad=%v", i, n, done, bad)
		}
	}
	if n, done, bad := skipAll(t, bodyLength, 0, "NEXT"); n != 0 || !done || bad {
		t.Errorf("empty body: n=%d done=%v bad=%v", n, done, bad)
	}
	// A huge Content-Length is counted down, never allocated.
	b := newBodySkipper(bodyLength, 1<<63-1)
	if n, done, bad := b.skip(make([]byte, 4096)); n != 4096 || done || bad {
		t.Errorf("huge: n=%d done=%v bad=%v", n, done, bad)
	}
	if n, done, bad := skipAll(t, bodyNone, 0, "NEXT"); n != 0 || !done || bad {
		t.Errorf("none: n=%d done=%v bad=%v", n, done, bad)
	}
	if n, done, bad := skipAll(t, bodyUntilClose, 0, "a", "bc", "def"); n != 6 || done || bad {
		t.Errorf("until close: n=%d done=%v bad=%v", n, done, bad)
	}
}

func mustParse(t testing.TB, s string) httpHead {
	t.Helper()
	h, ok := parseHead([]byte(s))
	if !ok {
		t.Fatalf("parseHead(%q) failed", s)
	}
	return h
}

func FuzzParseHead(f *testing.F) {
	for _, c := range corpusHeads {
		f.Add([]byte(c.req))
		f.Add([]byte(c.resp))
		f.Add([]byte(c.req + c.resp))
	}
	f.Add([]byte("HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"))
	f.Add([]byte("POST /x HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.1\nX: a\n b\n\n"))
	f.Add([]byte("\r\n\r\nGET / HTTP/1.0\r\nSec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=\"1\\2\", x; y=\"\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		httpPrefix(b)
		n := headEnd(b)
		if n < -1 || n == 0 || n > len(b) {
			t.Fatalf("headEnd = %d for %d bytes", n, len(b))
		}
		head, rest := b, []byte(nil)
		if n > 0 {
			head, rest = b[:n], b[n:]
			if headEnd(head) != n {
				t.Fatalf("headEnd(head) = %d, want %d", headEnd(head), n)
			}
		}
		h, ok := parseHead(head)
		if !ok {
			return
		}
		var hs Handshake
		if h.isRequest {
			isWebSocketRequest(&h)
			fillRequest(&hs, &h)
			k, l := requestBody(&h)
			s := newBodySkipper(k, l)
			if m, _, _ := s.skip(rest); m > len(rest) {
				t.Fatalf("skip consumed %d of %d", m, len(rest))
			}
			return
		}
		hs.Key = "dGhlIHNhbXBsZSBub25jZQ=="
		hs.OfferedExtensions = h.joined("X-Offer")
		for _, a := range fillResponse(&hs, &h) {
			if _, _, _, ok := a.Code.Info(); !ok {
				t.Fatalf("unknown code %q", a.Code)
			}
		}
		if p := hs.Deflate; p != nil && (p.ServerMaxWindowBits < 8 || p.ServerMaxWindowBits > 15 || p.ClientMaxWindowBits < 8 || p.ClientMaxWindowBits > 15) {
			t.Fatalf("window bits out of range: %+v", *p)
		}
		k, l := responseBody(&h, "GET")
		s := newBodySkipper(k, l)
		if m, _, _ := s.skip(rest); m > len(rest) {
			t.Fatalf("skip consumed %d of %d", m, len(rest))
		}
	})
}

// A malformed request line (a tab in the path) was a silently undecoded
// client direction shown as accept=MISMATCH (issue 11). It is reported as
// http_malformed, and the frames after it are decoded when the 101
// confirms its key, as tshark does.
func TestMalformedRequestLine(t *testing.T) {
	tabReq := strings.Replace(testReq, "GET /chat ", "GET /ch\tat ", 1)
	badResp := strings.Replace(testResp, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "AAAAAAAAAAAAAAAAAAAAAAAAAAA=", 1)
	noVersion := strings.Replace(testReq, "GET /chat HTTP/1.1", "GET /chat", 1)
	frames := []step{c2s(cf(true, OpText, "from the client")), s2c(sf(true, OpText, "from the server"))}
	tests := []struct {
		name      string
		req, resp string
		want      []Code
		clientMsg bool // the client's message is decoded
	}{
		{"tab in path, Accept matches", tabReq, testResp, []Code{CodeHTTPMalformed}, true},
		{"tab in path, Accept does not match", tabReq, badResp, []Code{CodeHTTPMalformed, CodeAcceptMismatch}, false},
		{"no HTTP version, 101 to it", noVersion, testResp, []Code{CodeHTTPMalformed}, false},
	}
	for _, tc := range tests {
		for _, split := range []func(int) []int{nil, bytewise} {
			t.Run(tc.name, func(t *testing.T) {
				steps := append([]step{c2s(str(tc.req)), s2c(str(tc.resp))}, frames...)
				evs := run(Options{}, steps, split)
				got := codes(evs)
				for _, c := range tc.want {
					if !slices.Contains(got, c) {
						t.Errorf("no %s in %v\n%s", c, got, describe(evs))
					}
				}
				for _, e := range evs {
					if e.Kind == KindAnomaly && e.Anomaly.Code == CodeHTTPMalformed && e.From != RoleClient {
						t.Errorf("http_malformed from %s", e.From)
					}
				}
				var client, server bool
				for _, m := range kinds(evs, KindMessage) {
					client = client || m.From == RoleClient && string(m.Message.Payload) == "from the client"
					server = server || m.From == RoleServer && string(m.Message.Payload) == "from the server"
				}
				if client != tc.clientMsg || !server {
					t.Errorf("client message decoded %v (want %v), server %v\n%s", client, tc.clientMsg, server, describe(evs))
				}
			})
		}
	}
}
