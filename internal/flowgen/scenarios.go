package flowgen

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Format is the file format of a scenario's fixture.
type Format uint8

const (
	PcapNG    Format = iota // pcapng, nanosecond timestamps (".pcapng")
	Pcap                    // libpcap, microsecond timestamps (".pcap")
	PcapNanos               // libpcap, nanosecond timestamps, magic a1b23c4d (".pcap")
)

// Scenario is one named fixture: the code that builds it and what tshark is
// expected to make of it.
type Scenario struct {
	Name   string
	Doc    string // one line: what the fixture exercises
	Format Format
	// DecodeAs is a TCP port to decode as WebSocket although no handshake
	// is in the file (tshark -d tcp.port==N,websocket); 0 for none.
	DecodeAs uint16
	// TShark is the number of WebSocket frames tshark 4.x reports
	// (tshark -Y websocket -T fields -e websocket.opcode, one per opcode).
	// Where tshark cannot see every frame the scenario says why in Doc.
	TShark int
	// Build makes the capture; each call makes an identical one.
	Build func() *Capture
}

// File returns the fixture's file name: Name plus ".pcapng" or ".pcap".
func (s Scenario) File() string {
	if s.Format == PcapNG {
		return s.Name + ".pcapng"
	}
	return s.Name + ".pcap"
}

// Bytes builds the scenario and encodes it in its format.
func (s Scenario) Bytes() ([]byte, error) {
	c := s.Build()
	switch s.Format {
	case Pcap:
		return c.Pcap(false)
	case PcapNanos:
		return c.Pcap(true)
	}
	return c.PcapNG()
}

// Lookup returns the scenario called name.
func Lookup(name string) (Scenario, bool) {
	for _, s := range Scenarios() {
		if s.Name == name {
			return s, true
		}
	}
	return Scenario{}, false
}

// Scenarios returns every fixture scenario, in a fixed order. Each is
// written to testdata/<Name>.pcapng (or .pcap) at the repository root by
// go test ./internal/flowgen -regen.
func Scenarios() []Scenario {
	return []Scenario{
		{Name: "rfc-hello", TShark: 10, Build: rfcHello,
			Doc: "RFC 6455 §5.7 examples verbatim (Hello unmasked/masked, Hel+lo, ping/pong, 256 B and 64 KiB binary) after the §1.3 handshake"},
		{Name: "chat", TShark: 12, Build: chat,
			Doc: "realistic chat on port 8080: subprotocol chat.v2, JSON both ways, UTF-8 text, 16-bit length, ping/pong, close 1000 \"bye\" both ways, bare ACKs"},
		{Name: "fragmented-text", TShark: 16, Build: fragmentedText,
			Doc: "fragmented text messages both ways with pings between the fragments; the server's fragments share one segment"},
		{Name: "coalesced-101-and-frame", TShark: 5, Build: func() *Capture { return coalesced101(true) },
			Doc: "the 101 response and the server's first two frames in one TCP segment"},
		{Name: "separate-101-and-frame", TShark: 5, Build: func() *Capture { return coalesced101(false) },
			Doc: "same WebSocket content as coalesced-101-and-frame, one write per unit"},
		{Name: "client-before-101", TShark: 4, Build: clientBefore101,
			Doc: "client frames sent before the 101 in capture order (one coalesced with the request); tshark shows neither of those two"},
		{Name: "wrong-accept", TShark: 4, Build: wrongAccept,
			Doc: "101 with a wrong Sec-WebSocket-Accept, then frames anyway"},
		{Name: "rejected-403", TShark: 0, Build: rejected403,
			Doc: "Upgrade request answered 403 Forbidden with a body; server closes"},
		{Name: "rejected-426", TShark: 2, Build: rejected426,
			Doc: "version 8 request answered 426 with Sec-WebSocket-Version: 13, then a successful retry on a new connection"},
		{Name: "keepalive-then-upgrade", TShark: 4, Build: keepaliveThenUpgrade,
			Doc: "GET (Content-Length reply), POST with a body (chunked reply with CRLFCRLF in a chunk), then the Upgrade on the same connection"},
		{Name: "violations", TShark: 51, Build: violations,
			Doc: "one connection per violation group: masking, RSV, reserved opcodes, control frames, continuation, lengths (MSB set last), UTF-8, close payloads and codes, data after close"},
		{Name: "gap-in-payload", TShark: 4, Build: gapInPayload,
			Doc: "a segment lost inside a 5000-byte binary frame; framing continues after it (5 frames; tshark does not show the broken one)"},
		{Name: "gap-in-header", TShark: 5, Build: gapInHeader,
			Doc: "a segment lost from inside a frame header to the end of that frame; tshark resynchronises at the next segment, which happens to start a frame"},
		{Name: "truncated-capture", TShark: 1, Build: truncatedCapture,
			Doc: "the file ends mid-frame in both directions (after 1 header byte c2s, inside a 4000-byte payload s2c); tshark shows only the complete frame"},
		{Name: "out-of-order-retransmission", TShark: 8, Build: outOfOrder,
			Doc: "swapped segments, exact retransmissions and a partially overlapping retransmission (9 frames; tshark without out-of-order reassembly misses \"swapped A\")"},
		{Name: "midstream", DecodeAs: 7000, TShark: 7, Build: midstream,
			Doc: "no SYN and no handshake on port 7000: needs decode-as (tshark -d tcp.port==7000,websocket)"},
		{Name: "bytewise", TShark: 4, Build: bytewise,
			Doc: "a masked client frame sent one byte per TCP segment, the server's reply in 3-byte segments"},
		{Name: "ipv6", TShark: 5, Build: ipv6,
			Doc: "a WebSocket session over IPv6 with a multi-segment binary frame"},
		{Name: "two-conns-interleaved", TShark: 12, Build: twoConns,
			Doc: "two connections to one server, packets interleaved, one frame split around the other connection's packets; the second ends with a client RST"},
		{Name: "permessage-deflate", TShark: 17, Build: permessageDeflate,
			Doc: "permessage-deflate with server context takeover and client_no_context_takeover: fragmented compressed messages, uncompressed messages between compressed ones, empty compressed messages (tshark 4.0 applies client_no_context_takeover to the server too and fails to inflate its later messages)"},
		{Name: "deflate-no-context-takeover", TShark: 8, Build: deflateNoContextTakeover,
			Doc: "permessage-deflate with server_ and client_no_context_takeover: every message compressed afresh"},
		{Name: "deflate-frame", TShark: 8, Build: deflateFrame,
			Doc: "x-webkit-deflate-frame: every frame compressed (RSV1 on continuations too), context carried across frames (tshark 4.0 fails on the fragmented message)"},
		{Name: "linux-sll", TShark: 4, Build: func() *Capture { return linkSession(LinuxSLL, "192.0.2.10:50300", "192.0.2.80:8080") },
			Doc: "a short session with the Linux cooked (SLL) link type"},
		{Name: "null-loopback", TShark: 4, Build: func() *Capture { return linkSession(Null, "127.0.0.1:50400", "127.0.0.1:8765") },
			Doc: "a short session with the BSD NULL loopback link type"},
		{Name: "raw-ip", TShark: 4, Build: func() *Capture { return linkSession(RawIP, "192.0.2.10:50500", "192.0.2.80:80") },
			Doc: "a short session with the raw IP link type"},
		{Name: "pcap-nanos", Format: PcapNanos, TShark: 4, Build: pcapNanos,
			Doc: "classic pcap (not pcapng) with nanosecond timestamps and sub-microsecond packet spacing"},
		{Name: "snaplen", TShark: 5, Build: snaplen,
			Doc: "captured with snaplen 400: the handshake fits, a 1000-byte frame is cut to 346 captured bytes"},
	}
}

// --- helpers -------------------------------------------------------------

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func hexb(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err) // constant input in this file
	}
	return b
}

// pattern returns n deterministic, poorly compressible bytes.
func pattern(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

func text(s string) Frame           { return Frame{Fin: true, Op: OpText, Payload: []byte(s)} }
func bin(b []byte) Frame            { return Frame{Fin: true, Op: OpBinary, Payload: b} }
func ping(s string) Frame           { return Frame{Fin: true, Op: OpPing, Payload: []byte(s)} }
func pong(s string) Frame           { return Frame{Fin: true, Op: OpPong, Payload: []byte(s)} }
func cont(fin bool, s string) Frame { return Frame{Fin: fin, Op: OpCont, Payload: []byte(s)} }

func closeFrame(code uint16, reason string) Frame {
	return Frame{Fin: true, Op: OpClose, Payload: ClosePayload(code, reason)}
}

// ws is a connection carrying a WebSocket session.
type ws struct {
	*Conn
	key  string
	mask int
}

// cf encodes client frames, giving each unmasked one the next key of the
// connection's deterministic sequence (use Frames for unmasked client
// frames).
func (w *ws) cf(fs ...Frame) []byte {
	for i := range fs {
		if fs[i].Mask == nil {
			w.mask++
			fs[i].Mask = MaskKey(w.mask)
		}
	}
	return Frames(fs...)
}

// newWS opens TCP from cli to srv; the key is derived from the connection's
// position in the capture.
func newWS(c *Capture, cli, srv string) *ws {
	k := c.NewConn(ap(cli), ap(srv))
	n := len(c.conns)
	return &ws{Conn: k, key: Key(n), mask: n * 1000}
}

func hostOf(k *Conn) string {
	a := k.Addr(S2C)
	if a.Port() == 80 {
		if a.Addr().Is6() {
			return "[" + a.Addr().String() + "]"
		}
		return a.Addr().String()
	}
	return a.String()
}

// openWS does the TCP handshake and the Upgrade exchange.
func openWS(c *Capture, cli, srv, path string, req, resp []string) *ws {
	w := newWS(c, cli, srv)
	w.Open()
	w.Client(UpgradeRequest(path, hostOf(w.Conn), w.key, req...))
	w.Server(Response101(w.key, resp...))
	return w
}

// closeBoth sends close 1000 from the client, the server's echo, and the
// server-first TCP teardown of RFC 6455 §7.1.1.
func (w *ws) closeBoth(reason string) {
	w.Client(w.cf(closeFrame(1000, reason)))
	w.Server(Frames(closeFrame(1000, reason)))
	w.Fin(S2C)
	w.Fin(C2S)
	w.Ack(S2C)
}

// --- scenarios -----------------------------------------------------------

// rfcKey is the sample key of RFC 6455 §1.3.
const rfcKey = "dGhlIHNhbXBsZSBub25jZQ=="

func rfcHello() *Capture {
	c := NewCapture()
	w := newWS(c, "192.0.2.10:50000", "192.0.2.80:80")
	w.Open()
	// RFC 6455 §1.2, in the RFC's header order.
	w.Client([]byte("GET /chat HTTP/1.1\r\n" +
		"Host: server.example.com\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + rfcKey + "\r\n" +
		"Origin: http://example.com\r\n" +
		"Sec-WebSocket-Protocol: chat, superchat\r\n" +
		"Sec-WebSocket-Version: 13\r\n\r\n"))
	w.Server(Response101(rfcKey, "Sec-WebSocket-Protocol: chat"))
	// RFC 6455 §5.7.
	w.Server(hexb("81 05 48656c6c6f"))          // single-frame unmasked text "Hello"
	w.Client(hexb("81 85 37fa213d 7f9f4d5158")) // single-frame masked text "Hello"
	w.Server(hexb("01 03 48656c"))              // fragmented unmasked text "Hel"
	w.Server(hexb("80 02 6c6f"))                // ... "lo"
	w.Server(hexb("89 05 48656c6c6f"))          // unmasked ping "Hello"
	w.Client(hexb("8a 85 37fa213d 7f9f4d5158")) // masked pong "Hello"
	w.Server(bin(pattern(256)).Bytes())         // 82 7e 0100
	w.Server(bin(pattern(65536)).Bytes())       // 82 7f 0000000000010000
	w.closeBoth("")
	return c
}

func chat() *Capture {
	c := NewCapture()
	w := newWS(c, "192.0.2.20:51234", "198.51.100.7:8080")
	w.AutoAck = true
	w.Open()
	w.Client(UpgradeRequest("/ws/chat?room=lobby", "chat.example.com:8080", w.key,
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
		"Origin: http://chat.example.com:8080",
		"Sec-WebSocket-Protocol: chat.v2, chat.v1",
		"Cookie: sid=4f2a9c"))
	w.Server(Response101(w.key, "Sec-WebSocket-Protocol: chat.v2", "Server: chatd/1.4"))
	c.Pause(40 * time.Millisecond)
	w.Server(Frames(text(`{"type":"welcome","room":"lobby","users":["bob"]}`)))
	w.Client(w.cf(text(`{"type":"join","user":"alice"}`)))
	w.Server(Frames(text(`{"type":"presence","user":"alice","status":"online"}`)))
	c.Pause(1200 * time.Millisecond)
	w.Client(w.cf(text(`{"type":"msg","id":1,"text":"Hi Bob! Ça va ? 👋"}`)))
	c.Pause(900 * time.Millisecond)
	w.Server(Frames(text(`{"type":"msg","from":"bob","text":"Très bien, merci — 你好！"}`)))
	c.Pause(5 * time.Second)
	w.Server(Frames(ping("hb-1")))
	w.Client(w.cf(pong("hb-1")))
	c.Pause(700 * time.Millisecond)
	w.Client(w.cf(text(`{"type":"typing"}`)))
	long := `{"type":"msg","id":2,"text":"` + strings.Repeat("Here is a longer message that needs a 16-bit length. ", 6) + `"}`
	w.Client(w.cf(text(long)))
	w.Server(Frames(text(`{"type":"ack","id":2}`)))
	c.Pause(2 * time.Second)
	w.Client(w.cf(closeFrame(1000, "bye")))
	w.Server(Frames(closeFrame(1000, "bye")))
	w.AutoAck = false
	w.Fin(S2C)
	w.Fin(C2S)
	w.Ack(S2C)
	return c
}

func fragmentedText() *Capture {
	c := NewCapture()
	w := openWS(c, "192.0.2.10:50001", "192.0.2.80:80", "/frag", nil, nil)
	w.Client(w.cf(Frame{Op: OpText, Payload: []byte("The quick ")}))
	w.Client(w.cf(ping("p1")))
	w.Server(Frames(pong("p1")))
	w.Client(w.cf(cont(false, "brown fox ")))
	w.Client(w.cf(cont(true, "jumps over the lazy dog")))
	// Server: three fragments and a ping, all in one write.
	w.Server(Frames(
		Frame{Op: OpText, Payload: []byte("Lorem ")},
		cont(false, "ipsum "),
		ping("p2"),
		cont(true, "dolor"),
	))
	w.Client(w.cf(pong("p2")))
	// A single-byte-per-fragment message with a 0-length middle fragment.
	w.Client(w.cf(Fragment(OpText, []byte("abc"), 1, 0, 1)...))
	w.closeBoth("done")
	return c
}

func coalesced101(coalesce bool) *Capture {
	c := NewCapture()
	w := newWS(c, "192.0.2.10:50002", "192.0.2.80:80")
	w.Open()
	w.Client(UpgradeRequest("/live", "192.0.2.80", w.key))
	resp := Response101(w.key)
	first := Frames(text("welcome"), ping("are you there?"))
	if coalesce {
		w.Server(append(resp, first...))
	} else {
		w.Server(resp)
		w.Server(first)
	}
	w.Client(w.cf(pong("are you there?")))
	w.closeBoth("")
	return c
}

func clientBefore101() *Capture {
	c := NewCapture()
	w := newWS(c, "192.0.2.10:50003", "192.0.2.80:80")
	w.Open()
	req := UpgradeRequest("/eager", "192.0.2.80", w.key)
	w.Client(append(req, w.cf(text("sent with the request"))...))
	w.Client(w.cf(text("sent before the 101")))
	w.Server(Response101(w.key))
	w.Server(Frames(text("hello after 101")))
	w.Client(w.cf(text("after 101")))
	w.closeBoth("")
	return c
}

func wrongAccept() *Capture {
	c := NewCapture()
	w := newWS(c, "192.0.2.10:50004", "192.0.2.80:80")
	w.Open()
	w.Client(UpgradeRequest("/chat", "192.0.2.80", w.key))
	w.Server(Response101Accept(Accept(rfcKey))) // the RFC sample's accept, not this key's
	w.Client(w.cf(text("hello")))
	w.Server(Frames(text("hello back")))
	w.closeBoth("")
	return c
}

func rejected403() *Capture {
	c := NewCapture()
	w := newWS(c, "192.0.2.10:50005", "192.0.2.80:80")
	w.Open()
	w.Client(UpgradeRequest("/admin/ws", "192.0.2.80", w.key, "Origin: http://evil.example"))
	body := "Forbidden: origin not allowed\n"
	w.Server([]byte("HTTP/1.1 403 Forbidden\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n" +
		"Connection: close\r\n\r\n" + body))
	w.Fin(S2C)
	w.Fin(C2S)
	w.Ack(S2C)
	return c
}

func rejected426() *Capture {
	c := NewCapture()
	w := newWS(c, "192.0.2.10:50006", "192.0.2.80:80")
	w.Open()
	req := strings.Replace(string(UpgradeRequest("/ws", "192.0.2.80", w.key)),
		"Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8", 1)
	w.Client([]byte(req))
	w.Server([]byte("HTTP/1.1 426 Upgrade Required\r\n" +
		"Sec-WebSocket-Version: 13\r\n" +
		"Content-Length: 0\r\n\r\n"))
	w.Fin(C2S)
	w.Fin(S2C)
	w.Ack(C2S)
	c.Pause(20 * time.Millisecond)
	// RFC 6455 §4.4: the client retries with a version the server supports.
	r := openWS(c, "192.0.2.10:50007", "192.0.2.80:80", "/ws", nil, nil)
	r.closeBoth("")
	return c
}

func keepaliveThenUpgrade() *Capture {
	c := NewCapture()
	w := newWS(c, "192.0.2.10:50008", "192.0.2.80:80")
	w.Open()
	w.Client([]byte("GET / HTTP/1.1\r\nHost: 192.0.2.80\r\nAccept: text/html\r\n\r\n"))
	page := "<!doctype html><title>app</title><script src=/app.js></script>\n"
	w.Server([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: " +
		strconv.Itoa(len(page)) + "\r\n\r\n" + page))
	body := `{"user":"alice","password":"hunter2"}`
	head := "POST /api/login HTTP/1.1\r\nHost: 192.0.2.80\r\nContent-Type: application/json\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n"
	w.Client([]byte(head+body), Split(len(head))) // body in its own segment
	chunk1 := `{"ok":true,"token":"abc123"}`
	chunk2 := "\r\n\r\nGET /not-a-request HTTP/1.1\r\n\r\n" // CRLFCRLF inside chunk data
	resp := "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
		fmt.Sprintf("%x\r\n%s\r\n", len(chunk1), chunk1) +
		fmt.Sprintf("%x;ext=1\r\n%s\r\n", len(chunk2), chunk2) +
		"0\r\n\r\n"
	w.Server([]byte(resp), Split(80, 120))
	w.Client(UpgradeRequest("/ws", "192.0.2.80", w.key, "Cookie: token=abc123"))
	w.Server(Response101(w.key))
	w.Server(Frames(text("upgraded after two requests")))
	w.Client(w.cf(text("hi")))
	w.closeBoth("")
	return c
}

func violations() *Capture {
	c := NewCapture()
	port := 50100
	group := func() *ws {
		port++
		c.Pause(10 * time.Millisecond)
		return openWS(c, "192.0.2.30:"+strconv.Itoa(port), "192.0.2.80:80", "/v", nil, nil)
	}

	// Masking (RFC 6455 §5.1).
	w := group()
	w.Client(Frames(text("unmasked client")))
	w.Server(Frames(text("masked server").Masked([4]byte{1, 2, 3, 4})))
	w.closeBoth("") // 4 frames

	// Reserved bits without an extension (§5.2).
	w = group()
	w.Client(w.cf(Frame{Fin: true, Rsv: Rsv2, Op: OpText, Payload: []byte("rsv2")}))
	w.Server(Frames(Frame{Fin: true, Rsv: Rsv1, Op: OpText, Payload: []byte("rsv1 not negotiated")}))
	w.closeBoth("") // 4

	// Reserved opcodes (§5.2).
	w = group()
	w.Client(w.cf(Frame{Fin: true, Op: 0x3, Payload: []byte("op3")}))
	w.Server(Frames(Frame{Fin: true, Op: 0xB, Payload: []byte("opB")}))
	w.closeBoth("") // 4

	// Control frames: too long, fragmented (§5.5).
	w = group()
	w.Client(w.cf(Frame{Fin: true, Op: OpPing, Payload: pattern(200)}))
	w.Client(w.cf(Frame{Fin: false, Op: OpPing, Payload: []byte("fragmented ping")}))
	w.Server(Frames(pong("ok")))
	w.closeBoth("") // 5

	// Continuation errors (§5.4).
	w = group()
	w.Client(w.cf(cont(true, "orphan continuation")))
	w.Client(w.cf(Frame{Op: OpText, Payload: []byte("first ")}))
	w.Client(w.cf(text("new text while a message is open")))
	w.Server(Frames(Frame{Op: OpBinary, Payload: []byte("b1")}, text("t"), cont(true, "b2")))
	w.closeBoth("") // 8

	// Lengths (§5.2): non-minimal 16 and 64-bit, then the 64-bit MSB set,
	// last in the server's direction.
	w = group()
	w.Client(w.cf(Frame{Fin: true, Op: OpText, LenBits: 16, Payload: []byte("short in 16")}))
	w.Client(w.cf(Frame{Fin: true, Op: OpText, LenBits: 64, Payload: []byte("short in 64")}))
	w.Client(w.cf(Frame{Fin: true, Op: OpBinary, LenBits: 64, Payload: pattern(300)}))
	w.Server(Frames(text("ok")))
	w.Server(Frames(Frame{Fin: true, Op: OpBinary, LenBits: 64, DeclaredLen: 1<<63 | 5, Payload: []byte("abcde")}))
	w.Client(w.cf(closeFrame(1000, "")))
	w.Fin(C2S)
	w.Fin(S2C)
	w.Ack(C2S) // 6 (the MSB frame counted by tshark)

	// UTF-8 (§5.6, §8.1).
	w = group()
	w.Client(w.cf(text("bad \xff\xfe text")))
	w.Client(w.cf(Fragment(OpText, []byte("café ok"), 4)...)) // é split across fragments: valid
	w.Server(Frames(text("overlong \xc0\xaf")))
	w.Server(Frames(text("surrogate \xed\xa0\x80")))
	w.Server(Frames(Fragment(OpText, []byte("emoji 👋 split"), 7, 2)...)) // 4-byte rune over 3 frames: valid
	w.closeBoth("")                                                      // 10

	// Close payloads (§5.5.1, §7.4): one byte; 999.
	w = group()
	w.Client(w.cf(Frame{Fin: true, Op: OpClose, Payload: []byte{0x03}}))
	w.Server(Frames(closeFrame(999, "below range")))
	w.Fin(S2C)
	w.Fin(C2S)
	w.Ack(S2C) // 2

	// Close codes that must not be sent: 1005, 1015.
	w = group()
	w.Client(w.cf(closeFrame(1005, "")))
	w.Server(Frames(closeFrame(1015, "tls")))
	w.Fin(S2C)
	w.Fin(C2S)
	w.Ack(S2C) // 2

	// Unassigned 2500; invalid UTF-8 reason.
	w = group()
	w.Client(w.cf(closeFrame(2500, "unassigned")))
	w.Server(Frames(closeFrame(1000, "bad \xff reason")))
	w.Fin(S2C)
	w.Fin(C2S)
	w.Ack(S2C) // 2

	// Data after close (§5.5.1).
	w = group()
	w.Client(w.cf(closeFrame(1000, "done")))
	w.Client(w.cf(text("after close")))
	w.Server(Frames(closeFrame(1000, "done")))
	w.Server(Frames(text("late")))
	w.Fin(S2C)
	w.Fin(C2S)
	w.Ack(S2C) // 4
	return c
}

func gapInPayload() *Capture {
	c := NewCapture()
	w := openWS(c, "192.0.2.10:50009", "192.0.2.80:80", "/gap", nil, nil)
	w.Server(Frames(bin(pattern(5000))), Drop(1)) // segments of 1460: lose bytes 1460..2919
	w.Server(Frames(text("after the gap")))
	w.Client(w.cf(text("still here")))
	w.closeBoth("")
	return c
}

func gapInHeader() *Capture {
	c := NewCapture()
	w := openWS(c, "192.0.2.10:50010", "192.0.2.80:80", "/gap", nil, nil)
	one := text("one").Bytes()       // 5 bytes
	two := bin(pattern(300)).Bytes() // 4-byte header + 300
	three := text("three").Bytes()   // 7 bytes
	all := append(append(append([]byte{}, one...), two...), three...)
	// Segments: [one + 2 header bytes of two] [rest of two] [three]; lose the middle.
	w.Server(all, Split(len(one)+2, len(one)+len(two)), Drop(1))
	w.Server(Frames(text("four")))
	w.Client(w.cf(text("client side is fine")))
	w.Client(w.cf(closeFrame(1000, "")))
	w.Fin(C2S)
	w.Fin(S2C)
	w.Ack(C2S)
	return c
}

func truncatedCapture() *Capture {
	c := NewCapture()
	w := openWS(c, "192.0.2.10:50011", "192.0.2.80:80", "/trunc", nil, nil)
	w.Server(Frames(text("complete")))
	w.Client(w.cf(text("this frame is cut after one byte")), Split(1), Drop(1))
	w.Server(Frames(bin(pattern(4000))), Drop(2)) // 1460 + 1460 of 4004 bytes captured
	return c
}

func outOfOrder() *Capture {
	c := NewCapture()
	w := openWS(c, "192.0.2.10:50012", "192.0.2.80:80", "/ooo", nil, nil)
	// Client: a 3000-byte text frame in 4 segments, captured 0 2 1 3 2.
	w.Client(w.cf(text(strings.Repeat("out of order. ", 215)[:3000])), Every(1000), Swap(1), Retransmit(2))
	// Server: three frames in 20-byte segments; segment 0 is retransmitted
	// and bytes 10..35 are sent again across a segment boundary.
	w.Server(Frames(text("first reply"), text("second reply"), text("third reply")),
		Every(20), Retransmit(0), Resend(10, 25))
	// Server: swap the first two segments of a 2-frame write.
	w.Server(Frames(text("swapped A"), text("swapped B")), Split(11), Swap(0))
	w.Client(w.cf(text("ok")))
	w.closeBoth("")
	return c
}

func midstream() *Capture {
	c := NewCapture()
	w := newWS(c, "192.0.2.50:41000", "192.0.2.80:7000")
	// No SYN, no handshake: the capture starts in the middle of a session.
	w.Client(w.cf(text("midstream hello")))
	w.Server(Frames(text("midstream reply")))
	w.Client(w.cf(bin(pattern(40))))
	w.Server(Frames(ping("x")))
	w.Client(w.cf(pong("x")))
	w.closeBoth("")
	return c
}

func bytewise() *Capture {
	c := NewCapture()
	w := openWS(c, "192.0.2.10:50018", "192.0.2.80:80", "/bytes", nil, nil)
	w.Client(w.cf(text("one byte at a time")), Bytewise())
	w.Server(Frames(text("three bytes at a time")), Every(3))
	w.closeBoth("")
	return c
}

func ipv6() *Capture {
	c := NewCapture()
	w := openWS(c, "[2001:db8::10]:50100", "[2001:db8::80]:80", "/v6", nil, nil)
	w.MSS = 1440
	w.Client(w.cf(text("hello over IPv6")))
	w.Server(Frames(text("hello back")))
	w.Server(Frames(bin(pattern(3000)))) // 3 segments
	w.closeBoth("")
	return c
}

func twoConns() *Capture {
	c := NewCapture()
	a := newWS(c, "192.0.2.61:50010", "192.0.2.80:80")
	b := newWS(c, "192.0.2.62:50020", "192.0.2.80:80")
	a.Open()
	b.Open()
	a.Client(UpgradeRequest("/a", "192.0.2.80", a.key))
	b.Client(UpgradeRequest("/b", "192.0.2.80", b.key))
	b.Server(Response101(b.key))
	a.Server(Response101(a.key))
	a.Client(a.cf(text("A1")))
	b.Client(b.cf(text("B1")))
	a.Server(Frames(text("A1 echo")))
	b.Server(Frames(text("B1 echo")))
	// A's server frame is split around B's packets.
	big := Frames(bin(pattern(600)))
	a.Server(big[:100])
	b.Client(b.cf(text("B2")))
	b.Server(Frames(text("B2 echo")))
	a.Server(big[100:])
	// B closes the WebSocket, then its client resets the TCP connection.
	b.Client(b.cf(closeFrame(1000, "b done")))
	b.Server(Frames(closeFrame(1000, "b done")))
	b.Reset(C2S)
	a.Client(a.cf(text("A2")))
	a.closeBoth("a done")
	return c
}

func permessageDeflate() *Capture {
	c := NewCapture()
	w := openWS(c, "192.0.2.10:50013", "192.0.2.80:80", "/deflate",
		[]string{"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"},
		[]string{"Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover"})
	sd := NewDeflater(false) // server: context takeover
	cd := NewDeflater(true)  // client: client_no_context_takeover
	hello := `{"type":"greeting","message":"Hello, compressed world! Hello, compressed world!"}`
	w.Server(Frames(CompressedMessage(sd, OpText, []byte(hello))...))
	w.Client(w.cf(CompressedMessage(cd, OpText, []byte(hello))...))
	// The second time the server's message refers back into the first.
	w.Server(Frames(CompressedMessage(sd, OpText, []byte(hello))...))
	w.Client(w.cf(CompressedMessage(cd, OpText, []byte(hello))...))
	// A compressed message in three fragments.
	long := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 20)
	w.Server(Frames(CompressedMessage(sd, OpText, []byte(long), 10, 10)...))
	// A compressed binary message whose fragments straddle a ping.
	fs := CompressedMessage(cd, OpBinary, pattern(200), 50)
	w.Client(w.cf(fs[0]))
	w.Client(w.cf(ping("mid")))
	w.Server(Frames(pong("mid")))
	w.Client(w.cf(fs[1]))
	// Uncompressed (RSV1 clear) between compressed messages.
	w.Server(Frames(text("not compressed")))
	w.Server(Frames(CompressedMessage(sd, OpText, []byte("compressed again: "+hello))...))
	// Empty compressed messages: payload 00 (RFC 7692 §7.2.3.6).
	w.Client(w.cf(CompressedMessage(cd, OpText, nil)...))
	w.Server(Frames(CompressedMessage(sd, OpText, nil)...))
	w.closeBoth("")
	return c
}

func deflateNoContextTakeover() *Capture {
	c := NewCapture()
	w := openWS(c, "192.0.2.10:50014", "192.0.2.80:80", "/deflate",
		[]string{"Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover"},
		[]string{"Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover"})
	sd, cd := NewDeflater(true), NewDeflater(true)
	msg := []byte(`{"event":"tick","symbol":"ACME","price":"101.25","volume":1200}`)
	for range 3 {
		w.Server(Frames(CompressedMessage(sd, OpText, msg)...))
		w.Client(w.cf(CompressedMessage(cd, OpText, msg)...))
	}
	w.closeBoth("")
	return c
}

func deflateFrame() *Capture {
	c := NewCapture()
	w := openWS(c, "192.0.2.10:50015", "192.0.2.80:80", "/webkit",
		[]string{"Sec-WebSocket-Extensions: x-webkit-deflate-frame"},
		[]string{"Sec-WebSocket-Extensions: x-webkit-deflate-frame"})
	sd, cd := NewDeflater(false), NewDeflater(false)
	frame := func(d *Deflater, fin bool, op Opcode, s string) Frame {
		return Frame{Fin: fin, Rsv: Rsv1, Op: op, Payload: d.Compress([]byte(s))}
	}
	w.Client(w.cf(frame(cd, true, OpText, "per-frame compression, frame one")))
	w.Server(Frames(frame(sd, true, OpText, "per-frame compression, frame one")))
	w.Server(Frames(frame(sd, true, OpText, "per-frame compression, frame two")))
	// A fragmented message: each fragment compressed on its own, RSV1 on all.
	w.Server(Frames(
		frame(sd, false, OpText, "fragment one, "),
		frame(sd, false, OpCont, "fragment two, "),
		frame(sd, true, OpCont, "fragment three"),
	))
	w.closeBoth("")
	return c
}

func linkSession(link Link, cli, srv string) *Capture {
	c := NewCapture()
	c.Link = link
	w := openWS(c, cli, srv, "/", nil, nil)
	w.Client(w.cf(text("ping over " + cli)))
	w.Server(Frames(text("pong to " + cli)))
	w.closeBoth("")
	return c
}

func pcapNanos() *Capture {
	c := NewCapture()
	c.Start = time.Date(2024, 5, 1, 10, 0, 0, 123456789, time.UTC)
	c.Step = 1500 * time.Nanosecond
	w := openWS(c, "192.0.2.10:50016", "192.0.2.80:80", "/ns", nil, nil)
	w.Client(w.cf(text("nanoseconds")))
	w.Server(Frames(text("matter")))
	w.closeBoth("")
	return c
}

func snaplen() *Capture {
	c := NewCapture()
	c.Snaplen = 400
	w := openWS(c, "192.0.2.10:50017", "192.0.2.80:80", "/snap", nil, nil)
	w.Client(w.cf(text("fits in the snaplen")))
	w.Server(Frames(bin(pattern(1000)))) // cut: 346 of 1004 bytes captured
	w.Server(Frames(text("after the cut frame")))
	w.closeBoth("")
	return c
}
