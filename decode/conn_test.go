package decode

import (
	"bytes"
	"math/rand"
	"strings"
	"testing"
	"unsafe"
)

// RFC 6455 §5.7 examples, verbatim.
var rfcVectors = []struct {
	name    string
	wire    string
	fin     bool
	op      Opcode
	masked  bool
	length  uint64
	payload string // unmasked, when short
}{
	{"unmasked Hello", "81 05 48656c6c6f", true, OpText, false, 5, "Hello"},
	{"masked Hello", "81 85 37fa213d 7f9f4d5158", true, OpText, true, 5, "Hello"},
	{"fragment Hel", "01 03 48656c", false, OpText, false, 3, "Hel"},
	{"fragment lo", "80 02 6c6f", true, OpContinuation, false, 2, "lo"},
	{"unmasked ping", "89 05 48656c6c6f", true, OpPing, false, 5, "Hello"},
	{"masked pong", "8a 85 37fa213d 7f9f4d5158", true, OpPong, true, 5, "Hello"},
	{"256 bytes binary", "82 7e 0100", true, OpBinary, false, 256, ""},
	{"64KiB binary", "82 7f 0000000000010000", true, OpBinary, false, 65536, ""},
}

func TestParseHeaderRFC(t *testing.T) {
	for _, v := range rfcVectors {
		t.Run(v.name, func(t *testing.T) {
			b := dehex(v.wire)
			h, n := parseHeader(b)
			if n == 0 {
				t.Fatal("incomplete")
			}
			if h.Fin != v.fin || h.Opcode != v.op || h.Masked != v.masked || h.PayloadLen != v.length {
				t.Errorf("got %+v", h)
			}
			for i := 0; i < n; i++ {
				if _, m := parseHeader(b[:i]); m != 0 {
					t.Errorf("prefix of %d bytes parsed as complete", i)
				}
			}
			if v.payload != "" {
				p := append([]byte(nil), b[n:]...)
				unmask(p, h.MaskKey, 0)
				if !h.Masked {
					p = b[n:]
				}
				if string(p) != v.payload {
					t.Errorf("payload %q", p)
				}
			}
		})
	}
}

func TestUnmaskOracle(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 2000; i++ {
		n := r.Intn(200)
		if i%100 == 0 {
			n = r.Intn(70000)
		}
		data := make([]byte, n)
		r.Read(data)
		var key [4]byte
		r.Read(key[:])
		pos := r.Intn(4)
		a, b := append([]byte(nil), data...), append([]byte(nil), data...)
		pa, pb := unmask(a, key, pos), unmaskSimple(b, key, pos)
		if pa != pb || !bytes.Equal(a, b) {
			t.Fatalf("n=%d pos=%d: mismatch", n, pos)
		}
		// Resumable: unmasking in two pieces equals one piece.
		c := append([]byte(nil), data...)
		cut := 0
		if n > 0 {
			cut = r.Intn(n)
		}
		p := unmask(c[:cut], key, pos)
		unmask(c[cut:], key, p)
		if !bytes.Equal(a, c) {
			t.Fatalf("n=%d cut=%d: split unmask differs", n, cut)
		}
	}
}

func TestUTF8Check(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"", true},
		{"hello", true},
		{"héllo wörld ✓ 𝄞", true},
		{"\xc3", false},             // incomplete
		{"\xc0\xaf", false},         // overlong
		{"\xed\xa0\x80", false},     // surrogate
		{"\xf4\x90\x80\x80", false}, // > U+10FFFF
		{"\xff", false},
		{"abcdefgh\x80", false},
		{"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", true},
	}
	for _, tt := range tests {
		for cut := 0; cut <= len(tt.in); cut++ {
			var u utf8Check
			u.feed([]byte(tt.in[:cut]))
			u.feed([]byte(tt.in[cut:]))
			if u.ok() != tt.ok {
				t.Errorf("%q cut %d: ok=%v want %v", tt.in, cut, u.ok(), tt.ok)
			}
		}
	}
}

func TestCloseCodes(t *testing.T) {
	valid := []uint16{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999}
	invalid := []uint16{0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535}
	for _, c := range valid {
		if p := closeCodeProblem(c); p != "" {
			t.Errorf("%d: %s", c, p)
		}
	}
	for _, c := range invalid {
		if closeCodeProblem(c) == "" {
			t.Errorf("%d accepted", c)
		}
	}
}

func TestAcceptSeeds(t *testing.T) {
	for key, want := range map[string]string{
		"dGhlIHNhbXBsZSBub25jZQ==": "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
		"x3JJHMbDL1EzLkh9GBhXDw==": "HSmrc0sMlYUkAGmm5OPpG2HaGWk=",
	} {
		if got := computeAccept(key); got != want {
			t.Errorf("%s: %s", key, got)
		}
	}
}

// A complete clean conversation.
func chatScript() []step {
	return []step{
		c2s(str(testReq)),
		s2c(str(testResp)),
		c2s(cf(true, OpText, "Hello")),
		s2c(sf(true, OpText, "Hello back, ✓")),
		// Fragmented text with a ping between the fragments and a
		// character split across fragments.
		c2s(cf(false, OpText, "frag \xe2\x9c"), cf(true, OpPing, "p"), cf(false, OpContinuation, "\x93 mid"), cf(true, OpContinuation, "")),
		s2c(sf(true, OpPong, "p")),
		s2c(sf(true, OpBinary, "\x00\x01\x02")),
		c2s(cf(true, OpClose, closeBody(1000, "bye"))),
		s2c(sf(true, OpClose, closeBody(1000, ""))),
		{side: Side0, end: true},
		{side: Side1, end: true},
	}
}

func TestChat(t *testing.T) {
	evs := run(Options{}, chatScript(), nil)
	assertNoAnomalies(t, evs)
	if evs[0].Kind != KindConn || evs[0].Info.Client != testMeta.Addr[0] {
		t.Fatalf("first event: %s", describe(evs[:1]))
	}
	hs := kinds(evs, KindHandshake)
	if len(hs) != 1 || !hs[0].Handshake.AcceptValid || !hs[0].Handshake.Upgraded || hs[0].Handshake.Protocol != "chat" || hs[0].Packet != 2 {
		t.Fatalf("handshake: %s", describe(hs))
	}
	msgs := kinds(evs, KindMessage)
	want := []string{"Hello", "Hello back, ✓", "frag ✓ mid", "\x00\x01\x02"}
	if len(msgs) != len(want) {
		t.Fatalf("messages:\n%s", describe(msgs))
	}
	for i, m := range msgs {
		if string(m.Message.Payload) != want[i] {
			t.Errorf("message %d: %q", i, m.Message.Payload)
		}
	}
	if m := msgs[2].Message; m.Frames != 3 || !m.UTF8Valid {
		t.Errorf("fragmented: %+v", m)
	}
	frames := kinds(evs, KindFrame)
	if len(frames) != 10 {
		t.Errorf("%d frames\n%s", len(frames), describe(frames))
	}
	last := frames[len(frames)-2].Frame
	if !last.Close.HasCode || last.Close.Code != 1000 || string(last.Close.Reason) != "bye" {
		t.Errorf("close: %+v", last.Close)
	}
	if n := len(kinds(evs, KindEnd)); n != 2 {
		t.Errorf("%d end events", n)
	}
}

// TestInvariance: every script fed whole, byte by byte, in odd/even and
// random splits gives identical events.
func TestInvariance(t *testing.T) {
	for name, script := range allScripts() {
		t.Run(name, func(t *testing.T) {
			want := describe(run(Options{}, script, nil))
			splits := map[string]func(int) []int{
				"bytewise": bytewise, "even2": every(2), "odd3": every(3), "every7": every(7),
				"rand1": randomSplit(1), "rand2": randomSplit(2),
			}
			for sn, sp := range splits {
				if got := describe(run(Options{}, script, sp)); got != want {
					t.Errorf("%s differs:\n--- whole\n%s--- %s\n%s", sn, want, sn, got)
				}
			}
		})
	}
}

func allScripts() map[string][]step {
	m := map[string][]step{"chat": chatScript()}
	for _, tc := range anomalyCases {
		m["anomaly/"+tc.name] = tc.steps
	}
	for _, tc := range cleanCases {
		m["clean/"+tc.name] = tc.steps
	}
	return m
}

func hs(extra ...step) []step {
	return append([]step{c2s(str(testReq)), s2c(str(testResp))}, extra...)
}

type anomalyCase struct {
	name  string
	code  Code
	from  Role
	steps []step
	opt   Options
}

var anomalyCases = []anomalyCase{
	{"unmasked client", CodeClientFrameUnmasked, RoleClient, hs(c2s(sf(true, OpText, "x"))), Options{}},
	{"masked server", CodeServerFrameMasked, RoleServer, hs(s2c(cf(true, OpText, "x"))), Options{}},
	{"rsv2", CodeRsvUnnegotiated, RoleClient, hs(c2s(fb{fin: true, rsv: 2, op: OpText, mask: true, payload: str("x")}.bytes())), Options{}},
	{"rsv1 no ext", CodeRsvUnnegotiated, RoleServer, hs(s2c(fb{fin: true, rsv: 4, op: OpText, payload: str("x")}.bytes())), Options{}},
	{"reserved data opcode", CodeOpcodeReserved, RoleServer, hs(s2c(sf(true, 0x3, "x"))), Options{}},
	{"reserved control opcode", CodeOpcodeReserved, RoleServer, hs(s2c(sf(true, 0xB, "x"))), Options{}},
	{"control too long", CodeControlTooLong, RoleServer, hs(s2c(sf(true, OpPing, strings.Repeat("a", 200)))), Options{}},
	{"control fragmented", CodeControlFragmented, RoleClient, hs(c2s(cf(false, OpPing, "a"))), Options{}},
	{"orphan continuation", CodeContinuationUnexpected, RoleServer, hs(s2c(sf(true, OpContinuation, "x"))), Options{}},
	{"continuation expected", CodeContinuationExpected, RoleServer, hs(s2c(sf(false, OpText, "a"), sf(true, OpText, "b"))), Options{}},
	{"non-minimal 16", CodeLengthNotMinimal, RoleServer, hs(s2c(fb{fin: true, op: OpText, payload: str("abc"), lenBits: 16}.bytes())), Options{}},
	{"non-minimal 64", CodeLengthNotMinimal, RoleServer, hs(s2c(fb{fin: true, op: OpText, payload: str("abc"), lenBits: 64}.bytes())), Options{}},
	{"msb set", CodeLengthMSBSet, RoleServer, hs(s2c(fb{fin: true, op: OpBinary, payload: str("abc"), declLen: 1 << 63}.bytes())), Options{}},
	{"invalid utf8 text", CodeTextInvalidUTF8, RoleServer, hs(s2c(sf(true, OpText, "a\xffb"))), Options{}},
	{"utf8 cut at end of message", CodeTextInvalidUTF8, RoleServer, hs(s2c(sf(false, OpText, "a\xe2"), sf(true, OpContinuation, "\x9c"))), Options{}},
	{"close one byte", CodeCloseBodyOneByte, RoleClient, hs(c2s(cf(true, OpClose, "\x03"))), Options{}},
	{"close 999", CodeCloseCodeInvalid, RoleClient, hs(c2s(cf(true, OpClose, closeBody(999, "")))), Options{}},
	{"close 1005", CodeCloseCodeInvalid, RoleServer, hs(s2c(sf(true, OpClose, closeBody(1005, "")))), Options{}},
	{"close 1015", CodeCloseCodeInvalid, RoleServer, hs(s2c(sf(true, OpClose, closeBody(1015, "")))), Options{}},
	{"close 2500", CodeCloseCodeInvalid, RoleServer, hs(s2c(sf(true, OpClose, closeBody(2500, "")))), Options{}},
	{"close reason utf8", CodeCloseReasonInvalidUTF8, RoleServer, hs(s2c(sf(true, OpClose, closeBody(1000, "\xc3(")))), Options{}},
	{"data after close", CodeDataAfterClose, RoleClient, hs(c2s(cf(true, OpClose, closeBody(1000, "")), cf(true, OpText, "late"))), Options{}},
	{"accept mismatch", CodeAcceptMismatch, RoleServer, []step{c2s(str(testReq)), s2c(str(strings.Replace(testResp, "s3pP", "XXXX", 1)))}, Options{}},
	{"accept missing", CodeAcceptMissing, RoleServer, []step{c2s(str(testReq)), s2c(str(strings.Replace(testResp, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n", "", 1)))}, Options{}},
	{"key missing", CodeKeyMissing, RoleClient, []step{c2s(str(strings.Replace(testReq, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "", 1))), s2c(str(testResp))}, Options{}},
	{"key repeated", CodeKeyRepeated, RoleClient, []step{c2s(str(strings.Replace(testReq, "Origin:", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin:", 1))), s2c(str(testResp))}, Options{}},
	{"key invalid", CodeKeyInvalid, RoleClient, []step{c2s(str(strings.Replace(testReq, "dGhlIHNhbXBsZSBub25jZQ==", "c2hvcnQ=", 1))), s2c(str(testResp))}, Options{}},
	{"version 8", CodeVersionInvalid, RoleClient, []step{c2s(str(strings.Replace(testReq, "Version: 13", "Version: 8", 1))), s2c(str(testResp))}, Options{}},
	{"h2 connect not enabled", CodeH2ConnectNotEnabled, RoleClient, []step{h2Step(h2Req(), h2Resp("200"), false)}, Options{}},
	{"h2 connect without :path", CodeH2ConnectIncomplete, RoleClient, []step{h2Step([]HeaderField{{":method", "CONNECT"}, {":protocol", "websocket"}, {":scheme", "https"}, {":authority", "a"}, {"sec-websocket-version", "13"}}, h2Resp("200"), true)}, Options{}},
	{"protocol not offered", CodeProtocolNotOffered, RoleServer, []step{c2s(str(testReq)), s2c(str(strings.Replace(testResp, "Protocol: chat", "Protocol: mqtt", 1)))}, Options{}},
	{"extension not offered", CodeExtensionNotOffered, RoleServer, []step{c2s(str(testReq)), s2c(str(respWithExt("permessage-deflate")))}, Options{}},
	{"101 without upgrade", CodeResponseUpgradeMissing, RoleServer, []step{c2s(str(testReq)), s2c(str(strings.Replace(testResp, "Upgrade: websocket\r\n", "", 1)))}, Options{}},
	{"101 without connection", CodeResponseConnMissing, RoleServer, []step{c2s(str(testReq)), s2c(str(strings.Replace(testResp, "Connection: Upgrade\r\n", "", 1)))}, Options{}},
	{"request not get", CodeRequestNotGet, RoleClient, []step{c2s(str(strings.Replace(testReq, "GET", "POST", 1))), s2c(str(testResp))}, Options{}},
	{"request http/1.0", CodeRequestHTTPVersion, RoleClient, []step{c2s(str(strings.Replace(testReq, "HTTP/1.1", "HTTP/1.0", 1))), s2c(str(testResp))}, Options{}},
	{"host missing", CodeHostMissing, RoleClient, []step{c2s(str(strings.Replace(testReq, "Host: server.example.com\r\n", "", 1))), s2c(str(testResp))}, Options{}},
	{"request connection missing", CodeRequestConnMissing, RoleClient, []step{c2s(str(strings.Replace(testReq, "Connection: Upgrade\r\n", "", 1))), s2c(str(testResp))}, Options{}},
	{"rejected 403", CodeHandshakeRejected, RoleServer, []step{c2s(str(testReq)), s2c(str("HTTP/1.1 403 Forbidden\r\nContent-Length: 3\r\n\r\nno!"))}, Options{}},
	{"rejected 426", CodeHandshakeRejected, RoleServer, []step{c2s(str(testReq)), s2c(str("HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n"))}, Options{}},
	{"no response", CodeHandshakeIncomplete, RoleNone, []step{c2s(str(testReq))}, Options{}},
	{"client data before 101", CodeClientDataBeforeUpgrade, RoleClient, []step{c2s(str(testReq)), c2s(cf(true, OpText, "early")), s2c(str(testResp))}, Options{}},
	{"gap in header", CodeFramingLost, RoleServer, hs(s2c(sf(true, OpText, "a")[:1]), step{side: Side1, gap: 3}, s2c(sf(true, OpText, "b"))), Options{}},
	{"truncated frame", CodeStreamTruncated, RoleServer, hs(s2c(sf(true, OpText, "hello")[:4])), Options{}},
	{"head too large", CodeHeadTooLarge, RoleServer, []step{c2s(str(testReq)), s2c(str("HTTP/1.1 101 OK\r\nX: " + strings.Repeat("a", 600)))}, Options{MaxHead: 400}},
	{"hold overflow", CodeHoldOverflow, RoleClient, []step{c2s(str(testReq)), c2s(cf(true, OpBinary, strings.Repeat("z", 300)))}, Options{MaxHold: 100}},
	{"rsv1 on control", CodeRsv1OnControl, RoleServer, []step{c2s(str(testReqDeflate)), s2c(str(respWithExt("permessage-deflate"))), s2c(fb{fin: true, rsv: 4, op: OpPing}.bytes())}, Options{}},
	{"rsv1 on continuation", CodeRsv1OnContinuation, RoleServer, []step{c2s(str(testReqDeflate)), s2c(str(respWithExt("permessage-deflate"))), s2c(sf(false, OpText, "a"), fb{fin: true, rsv: 4, op: OpContinuation, payload: str("b")}.bytes())}, Options{}},
	{"inflate failed", CodeInflateFailed, RoleServer, []step{c2s(str(testReqDeflate)), s2c(str(respWithExt("permessage-deflate"))), s2c(fb{fin: true, rsv: 4, op: OpText, payload: []byte{0xff, 0xff, 0xff}}.bytes())}, Options{}},
	{"inflate limit", CodeInflateLimit, RoleServer, []step{c2s(str(testReqDeflate)), s2c(str(respWithExt("permessage-deflate"))), s2c(fb{fin: true, rsv: 4, op: OpText, payload: newDeflater(true).compress(strings.Repeat("A", 5000))}.bytes())}, Options{MaxInflate: 1000}},
	{"deflate param invalid", CodeDeflateParamInvalid, RoleServer, []step{c2s(str(testReqDeflate)), s2c(str(respWithExt("permessage-deflate; server_max_window_bits=20")))}, Options{}},
	{"deflate param not allowed", CodeDeflateParamNotAllowed, RoleServer, []step{c2s(str(strings.Replace(testReqDeflate, "; client_max_window_bits", "", 1))), s2c(str(respWithExt("permessage-deflate; client_max_window_bits=10")))}, Options{}},
	{"deflate param duplicate", CodeDeflateParamDuplicate, RoleServer, []step{c2s(str(testReqDeflate)), s2c(str(respWithExt("permessage-deflate; server_no_context_takeover; server_no_context_takeover")))}, Options{}},
	{"extension repeated", CodeExtensionRepeated, RoleServer, []step{c2s(str(testReqDeflate)), s2c(str(respWithExt("permessage-deflate, permessage-deflate")))}, Options{}},
	{"accept repeated", CodeAcceptRepeated, RoleServer, []step{c2s(str(testReq)), s2c(str(strings.Replace(testResp, "Upgrade: websocket", "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nUpgrade: websocket", 1)))}, Options{}},
	{"extensions repeated", CodeExtensionsRepeated, RoleServer, []step{c2s(str(testReqDeflate)), s2c(str(strings.Replace(respWithExt("permessage-deflate"), "\r\n\r\n", "\r\nSec-WebSocket-Extensions: x-custom\r\n\r\n", 1)))}, Options{}},
	{"protocol repeated", CodeProtocolRepeated, RoleServer, []step{c2s(str(testReq)), s2c(str(strings.Replace(testResp, "Protocol: chat", "Protocol: chat\r\nSec-WebSocket-Protocol: superchat", 1)))}, Options{}},
	{"request upgrade missing", CodeRequestUpgradeMissing, RoleClient, []step{c2s(str(strings.Replace(testReq, "Upgrade: websocket\r\n", "", 1))), s2c(str(testResp))}, Options{}},
	{"malformed head after handshake", CodeHTTPMalformed, RoleServer, []step{c2s(str(testReq)), s2c(str("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\nHTTP/1.1 abc\r\n: x\r\n\r\n"))}, Options{}},
	{"window exceeded", CodeInflateWindowExceeded, RoleServer, windowExceededSteps(), Options{}},
	{"memcap evicted", CodeMemcapEvicted, RoleServer, hs(s2c(sf(false, OpText, "open")), step{side: Side1, report: CodeMemcapEvicted}), Options{}},
	{"inflate no context", CodeInflateNoContext, RoleServer, []step{s2c(fb{fin: true, rsv: 4, op: OpText, payload: dehex("22200f00")}.bytes())}, Options{DecodeAs: true}},
}

func TestAnomalies(t *testing.T) {
	seen := map[Code]bool{}
	for _, tc := range anomalyCases {
		t.Run(tc.name, func(t *testing.T) {
			evs := run(tc.opt, tc.steps, nil)
			found := false
			for _, e := range evs {
				if e.Kind == KindAnomaly && e.Anomaly.Code == tc.code {
					found = true
					if e.From != tc.from {
						t.Errorf("from %q, want %q", e.From, tc.from)
					}
					sev, ref, _, ok := tc.code.Info()
					if !ok || e.Anomaly.Severity != sev || e.Anomaly.Ref != ref || e.Anomaly.Detail == "" {
						t.Errorf("bad anomaly %+v", e.Anomaly)
					}
				}
			}
			if !found {
				t.Errorf("no %s\n%s", tc.code, describe(evs))
			}
			seen[tc.code] = true
		})
	}
	for _, c := range Codes() {
		if !seen[c] {
			t.Errorf("code %s has no test case", c)
		}
	}
}

// Cases that are legal and must raise nothing.
var cleanCases = []struct {
	name  string
	steps []step
}{
	{"control between fragments", hs(c2s(cf(false, OpText, "a"), cf(true, OpPing, ""), cf(true, OpContinuation, "b")))},
	{"utf8 split across fragments", hs(s2c(sf(false, OpText, "\xf0\x9d"), sf(false, OpContinuation, "\x84"), sf(true, OpContinuation, "\x9e")))},
	{"empty final continuation", hs(s2c(sf(false, OpBinary, "ab"), sf(true, OpContinuation, "")))},
	{"close without body", hs(c2s(cf(true, OpClose, "")), s2c(sf(true, OpClose, "")))},
	{"coalesced 101 and frame", []step{c2s(str(testReq)), s2c(str(testResp), sf(true, OpPing, "hi"))}},
	{"keep-alive before upgrade", []step{
		c2s(str("POST /login HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello")),
		s2c(str("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n0\r\n\r\n")),
		c2s(str("HEAD /x HTTP/1.1\r\nHost: a\r\n\r\n")),
		s2c(str("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n")),
		c2s(str(testReq)), s2c(str(testResp)), s2c(sf(true, OpText, "upgraded"))}},
	{"3000 and 4999 close codes", hs(c2s(cf(true, OpClose, closeBody(3000, "app"))), s2c(sf(true, OpClose, closeBody(4999, ""))))},
	{"deflate", []step{c2s(str(testReqDeflate)), s2c(str(respWithExt("permessage-deflate; client_max_window_bits=15")))}},
	{"large frame", hs(s2c(fb{fin: true, op: OpBinary, payload: bytes.Repeat([]byte{7}, 70000)}.bytes()))},
}

func TestClean(t *testing.T) {
	for _, tc := range cleanCases {
		t.Run(tc.name, func(t *testing.T) {
			evs := run(Options{}, tc.steps, nil)
			assertNoAnomalies(t, evs)
			if !strings.Contains(describe(evs), "handshake") {
				t.Errorf("no handshake\n%s", describe(evs))
			}
		})
	}
}

// TestConnSize keeps a Conn in the 1280-byte allocation class: 10,000
// connections open at once hold 10,000 of them.
func TestConnSize(t *testing.T) {
	if n := unsafe.Sizeof(Conn{}); n > 1280 {
		t.Errorf("Conn is %d bytes, want at most 1280 (see the field order in half)", n)
	}
}
