package reassembly

import (
	"bytes"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/wscap/wscap/decode"
	"github.com/wscap/wscap/internal/flowgen"
)

// h2Writer builds the HTTP/2 frames one side sends, with one HPACK
// encoder per side as a real peer has.
type h2Writer struct {
	buf bytes.Buffer
	fr  *http2.Framer
	hb  bytes.Buffer
	enc *hpack.Encoder
}

func newH2Writer() *h2Writer {
	w := &h2Writer{}
	w.fr = http2.NewFramer(&w.buf, nil)
	w.enc = hpack.NewEncoder(&w.hb)
	return w
}

// take returns the frames written so far.
func (w *h2Writer) take() []byte {
	b := bytes.Clone(w.buf.Bytes())
	w.buf.Reset()
	return b
}

// headers writes a header block on stream id, split into HEADERS and
// CONTINUATION frames of at most split bytes of block (0: one frame).
func (w *h2Writer) headers(t *testing.T, id uint32, end bool, split int, fields ...string) {
	w.hb.Reset()
	for i := 0; i < len(fields); i += 2 {
		w.enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	block := w.hb.Bytes()
	first := block
	if split > 0 && split < len(block) {
		first = block[:split]
	}
	rest := block[len(first):]
	if err := w.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: first, EndStream: end, EndHeaders: len(rest) == 0}); err != nil {
		t.Fatal(err)
	}
	for len(rest) > 0 {
		n := min(split, len(rest))
		if err := w.fr.WriteContinuation(id, n == len(rest), rest[:n]); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
}

func (w *h2Writer) data(t *testing.T, id uint32, end bool, pad int, p []byte) {
	if err := w.fr.WriteDataPadded(id, end, p, make([]byte, pad)); err != nil {
		t.Fatal(err)
	}
}

// TestH2cStreams runs an h2c connection (prior knowledge) through the
// engine: two WebSockets (one with its CONNECT in HEADERS + CONTINUATION
// and padded DATA) beside an ordinary GET, the second WebSocket reset by
// RST_STREAM in the middle of a frame, then a GOAWAY.
func TestH2cStreams(t *testing.T) {
	cl, sv := newH2Writer(), newH2Writer()
	c := flowgen.NewCapture()
	k := c.NewConn(netip.MustParseAddrPort("10.0.0.1:40000"), netip.MustParseAddrPort("10.0.0.2:8080"))
	k.Open()

	cl.buf.WriteString(http2.ClientPreface)
	cl.fr.WriteSettings()
	k.Client(cl.take())
	sv.fr.WriteSettings(http2.Setting{ID: http2.SettingEnableConnectProtocol, Val: 1})
	sv.fr.WriteSettingsAck()
	k.Server(sv.take())
	cl.fr.WriteSettingsAck()

	connect := func(id uint32, path string, split int) {
		cl.headers(t, id, false, split, ":method", "CONNECT", ":protocol", "websocket", ":scheme", "http",
			":path", path, ":authority", "example.com", "sec-websocket-version", "13", "sec-websocket-protocol", "chat")
		k.Client(cl.take())
		sv.headers(t, id, false, 0, ":status", "200", "sec-websocket-protocol", "chat")
		k.Server(sv.take())
	}
	connect(1, "/a", 0)
	cl.headers(t, 3, true, 0, ":method", "GET", ":scheme", "http", ":path", "/index.html", ":authority", "example.com")
	k.Client(cl.take())
	sv.headers(t, 3, false, 0, ":status", "200", "content-type", "text/plain")
	sv.data(t, 3, true, 0, wsB(1, false, "not a websocket"))
	k.Server(sv.take())
	connect(5, "/b", 7) // HEADERS + CONTINUATIONs, the HPACK table reused

	cl.data(t, 1, false, 0, wsB(1, true, "hello a"))
	cl.data(t, 5, false, 9, wsB(1, true, "hello b"))
	k.Client(cl.take())
	sv.data(t, 1, false, 0, wsB(1, false, "welcome a"))
	frame := wsB(2, false, strings.Repeat("x", 100))
	sv.data(t, 5, false, 0, frame[:40]) // a frame cut by the reset below
	k.Server(sv.take())
	sv.fr.WriteRSTStream(5, http2.ErrCodeCancel)
	// A connection-level violation: every WebSocket still open reports it.
	sv.fr.WriteSettings(http2.Setting{ID: http2.SettingEnableConnectProtocol, Val: 0})
	k.Server(sv.take())
	cl.data(t, 1, false, 0, wsB(8, true, "\x03\xe8bye"))
	k.Client(cl.take())
	sv.data(t, 1, false, 0, wsB(8, false, "\x03\xe8bye"))
	sv.fr.WriteGoAway(1, http2.ErrCodeNo, nil)
	k.Server(sv.take())
	k.Close()

	pkts := flowPackets(t, c)
	var evs []decode.Event
	e := New(Config{}, func(batch []decode.Event) error {
		for _, ev := range batch {
			evs = append(evs, ev.Clone())
		}
		return nil
	})
	for i, p := range pkts {
		e.Packet(i+1, p)
	}
	e.Flush()

	var got []string
	for _, ev := range evs {
		if ev.H2Stream == 3 {
			t.Errorf("an event of the GET stream: %v", ev.Kind)
		}
		switch ev.Kind {
		case decode.KindMessage:
			got = append(got, strings.Join([]string{itoa(ev.H2Stream), ev.From.String(), string(ev.Message.Payload)}, " "))
		case decode.KindAnomaly:
			got = append(got, itoa(ev.H2Stream)+" anomaly "+string(ev.Anomaly.Code))
		case decode.KindHandshake:
			if h := ev.Handshake; !h.Upgraded || h.Protocol != "chat" || h.Host != "example.com" {
				t.Errorf("stream %d handshake %+v", ev.H2Stream, h)
			}
			got = append(got, itoa(ev.H2Stream)+" handshake "+ev.Handshake.Path)
		}
	}
	want := []string{
		"1 handshake /a",
		"5 handshake /b",
		"1 client hello a",
		"5 client hello b",
		"1 server welcome a",
		"5 anomaly h2_stream_reset",
		"5 anomaly stream_truncated",
		"5 server " + strings.Repeat("x", 38), // what came of the frame, cut
		"1 anomaly h2_settings_invalid",       // stream 5 is over
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if e.Stats().WebSocket != 2 {
		t.Errorf("%d WebSocket connections, want 2 streams", e.Stats().WebSocket)
	}
}

func itoa(n uint32) string { return strconv.FormatUint(uint64(n), 10) }

// wsB is wsFrame as bytes.
func wsB(op byte, masked bool, payload string) []byte { return []byte(wsFrame(op, masked, payload)) }

// TestH2cUpgrade runs an HTTP/1.1 connection upgraded to h2c (RFC 7540
// §3.2): the 101 and the server's first HTTP/2 frames share a segment,
// the answer to the upgraded request comes on stream 1, and a WebSocket
// opens on stream 3.
func TestH2cUpgrade(t *testing.T) {
	cl, sv := newH2Writer(), newH2Writer()
	c := flowgen.NewCapture()
	k := c.NewConn(netip.MustParseAddrPort("10.0.0.1:40001"), netip.MustParseAddrPort("10.0.0.2:8080"))
	k.Open()
	k.Client([]byte("GET / HTTP/1.1\r\nHost: example.com\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAgAAAAB\r\n\r\n"))
	sv.fr.WriteSettings(http2.Setting{ID: http2.SettingEnableConnectProtocol, Val: 1})
	sv.headers(t, 1, false, 0, ":status", "200", "content-type", "text/plain")
	sv.data(t, 1, true, 0, []byte("upgraded"))
	k.Server(append([]byte("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"), sv.take()...))
	cl.buf.WriteString(http2.ClientPreface)
	cl.fr.WriteSettings()
	cl.fr.WriteSettingsAck()
	cl.headers(t, 3, false, 0, ":method", "CONNECT", ":protocol", "websocket", ":scheme", "http",
		":path", "/ws", ":authority", "example.com", "sec-websocket-version", "13")
	k.Client(cl.take())
	sv.headers(t, 3, false, 0, ":status", "200")
	sv.data(t, 3, false, 0, wsB(1, false, "over h2c"))
	k.Server(sv.take())
	k.Close()

	var msgs []string
	e := New(Config{}, func(batch []decode.Event) error {
		for _, ev := range batch {
			if ev.Kind == decode.KindMessage {
				msgs = append(msgs, itoa(ev.H2Stream)+" "+string(ev.Message.Payload))
			}
		}
		return nil
	})
	for i, p := range flowPackets(t, c) {
		e.Packet(i+1, p)
	}
	e.Flush()
	if strings.Join(msgs, "|") != "3 over h2c" {
		t.Errorf("messages %q, want the one of stream 3", msgs)
	}
}

// TestH2ClientGoAway: a client's GOAWAY (last stream 0, a graceful close
// as Node and Firefox send) concerns server-pushed streams, not the
// client's WebSockets, which go on.
func TestH2ClientGoAway(t *testing.T) {
	cl, sv := newH2Writer(), newH2Writer()
	c := flowgen.NewCapture()
	k := c.NewConn(netip.MustParseAddrPort("10.0.0.1:40000"), netip.MustParseAddrPort("10.0.0.2:8080"))
	k.Open()
	cl.buf.WriteString(http2.ClientPreface)
	cl.fr.WriteSettings()
	k.Client(cl.take())
	sv.fr.WriteSettings(http2.Setting{ID: http2.SettingEnableConnectProtocol, Val: 1})
	k.Server(sv.take())
	cl.headers(t, 1, false, 0, ":method", "CONNECT", ":protocol", "websocket", ":scheme", "http",
		":path", "/a", ":authority", "example.com", "sec-websocket-version", "13")
	k.Client(cl.take())
	sv.headers(t, 1, false, 0, ":status", "200")
	k.Server(sv.take())
	cl.data(t, 1, false, 0, wsB(1, true, "before goaway"))
	cl.fr.WriteGoAway(0, http2.ErrCodeNo, nil)
	k.Client(cl.take())
	sv.data(t, 1, false, 0, wsB(1, false, "after client goaway"))
	k.Server(sv.take())
	k.Close()
	var msgs []string
	e := New(Config{}, func(batch []decode.Event) error {
		for _, ev := range batch {
			if ev.Kind == decode.KindMessage {
				msgs = append(msgs, string(ev.Message.Payload))
			}
		}
		return nil
	})
	for i, p := range flowPackets(t, c) {
		e.Packet(i+1, p)
	}
	e.Flush()
	if strings.Join(msgs, "|") != "before goaway|after client goaway" {
		t.Errorf("messages %q: the client's GOAWAY must not end its WebSocket", msgs)
	}
}

// TestH2UnansweredConnect: a CONNECT that never got an answer shows as a
// handshake without a response, as an HTTP/1.1 Upgrade request does.
func TestH2UnansweredConnect(t *testing.T) {
	cl, sv := newH2Writer(), newH2Writer()
	c := flowgen.NewCapture()
	k := c.NewConn(netip.MustParseAddrPort("10.0.0.1:40002"), netip.MustParseAddrPort("10.0.0.2:8080"))
	k.Open()
	cl.buf.WriteString(http2.ClientPreface)
	cl.fr.WriteSettings()
	k.Client(cl.take())
	sv.fr.WriteSettings(http2.Setting{ID: http2.SettingEnableConnectProtocol, Val: 1})
	k.Server(sv.take())
	cl.headers(t, 1, false, 0, ":method", "CONNECT", ":protocol", "websocket", ":scheme", "http",
		":path", "/never", ":authority", "example.com", "sec-websocket-version", "13")
	k.Client(cl.take())
	var hs []*decode.Handshake
	e := New(Config{}, func(batch []decode.Event) error {
		for _, ev := range batch {
			if ev.Kind == decode.KindHandshake {
				h := *ev.Handshake
				hs = append(hs, &h)
			}
		}
		return nil
	})
	for i, p := range flowPackets(t, c) {
		e.Packet(i+1, p)
	}
	e.Flush()
	if len(hs) != 1 || hs[0].Path != "/never" || hs[0].Status != 0 || hs[0].Upgraded {
		t.Errorf("handshakes %+v, want one for /never without a response", hs)
	}
}
