package reassembly

import (
	"bytes"
	"cmp"
	"slices"

	"github.com/wscap/wscap/decode"
	"github.com/wscap/wscap/h2"
)

// WebSocket over HTTP/2 (RFC 8441). A connection whose plaintext (in
// clear, or decrypted TLS) is HTTP/2 goes through an [h2.Conn]: every
// stream that an extended CONNECT with :protocol websocket opens gets a
// decode.Conn of its own (ConnMeta.H2Stream), started from the exchange
// by decode.Conn.ExtendedConnect and fed the stream's DATA. The
// connection's own decoder gets nothing more: other streams are not
// WebSocket and are not shown.

// maxH2Streams bounds the WebSocket streams (and CONNECTs awaiting their
// answer) tracked on one connection, as h2.Options.MaxStreams bounds the
// HTTP/2 layer's.
const maxH2Streams = 1024

// h2Preface is the client connection preface (RFC 9113 §3.4).
var h2Preface = []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")

// h2Layer is the HTTP/2 state of a connection.
type h2Layer struct {
	dec     *h2.Conn
	out     []h2.Event // reused by every call of dec
	streams map[uint32]*h2Stream
}

// h2Stream is an extended CONNECT stream.
type h2Stream struct {
	req     []decode.HeaderField
	reqSeg  decode.Seg
	reqSize int64        // bytes of req, for the memory budget
	enabled bool         // SETTINGS_ENABLE_CONNECT_PROTOCOL had come before the request
	ws      *decode.Conn // once answered
	ended   [2]bool      // END_STREAM seen from each side
}

// isH2 reports whether p, the first plaintext bytes of side, start an
// HTTP/2 connection: the client preface, or the server's SETTINGS (a
// server may send its preface first). client is the client side.
func isH2(side decode.Side, p []byte, alpnH2 bool) (client decode.Side, ok bool) {
	n := min(len(p), len(h2Preface))
	if n >= 4 && bytes.Equal(p[:n], h2Preface[:n]) {
		return side, true
	}
	// RFC 9113 §3.4: "The server connection preface consists of a
	// potentially empty SETTINGS frame that MUST be the first frame the
	// server sends in the HTTP/2 connection." A server may send it before
	// the client's preface arrives; an HTTP/1.1 (or WebSocket) server
	// never speaks first, so a SETTINGS frame header (type 4, stream 0,
	// no flags but ACK, a length of whole settings) first is HTTP/2.
	if len(p) >= 9 && p[3] == 0x4 && p[4]&^0x1 == 0 && p[5]|p[6]|p[7]|p[8] == 0 {
		if n := int(p[0])<<16 | int(p[1])<<8 | int(p[2]); n%6 == 0 && (alpnH2 || n <= 16384) {
			return side.Other(), true
		}
	}
	return 0, false
}

// h2cUpgrade handles an HTTP/1.1 connection upgraded to h2c (RFC 7540
// §3.2; deprecated by RFC 9113 §3.1, but still sent by curl and some
// proxies): a request of side with "Upgrade: h2c" makes c watch for the
// answer, and a 101 that switches to h2c, when its head is in p, is fed to
// the decoder alone: the bytes after it, and everything after on both
// sides, are HTTP/2. It reports how many bytes of p it fed.
func (c *conn) h2cUpgrade(side decode.Side, p []byte, seg decode.Seg) (fed int, switched bool) {
	if c.h2cClient == 0 {
		if bytes.HasPrefix(p, []byte("PRI ")) {
			return 0, false
		}
		if head := httpHead(p); head != nil && isRequest(head) && upgradesTo(head, "h2c") {
			c.h2cClient = side + 1
		}
		return 0, false
	}
	client := c.h2cClient - 1
	if side == client {
		return 0, false
	}
	head := httpHead(p)
	if head == nil || !bytes.HasPrefix(head, []byte("HTTP/1.1 101")) || !upgradesTo(head, "h2c") {
		if head != nil {
			c.h2cClient = 0 // answered otherwise
		}
		return 0, false
	}
	c.decFeedHTTP(side, head, seg)
	c.h2 = &h2Layer{
		dec:     h2.NewConn(h2.Options{ClientKnown: true, Client: client, Upgrade: true}),
		streams: make(map[uint32]*h2Stream),
	}
	return len(head), true
}

// httpHead returns the HTTP/1.1 head at the start of p (through its empty
// line), or nil if p holds no complete one.
func httpHead(p []byte) []byte {
	if i := bytes.Index(p, []byte("\r\n\r\n")); i >= 0 && i < 64<<10 {
		return p[:i+4]
	}
	return nil
}

func isRequest(head []byte) bool {
	line, _, _ := bytes.Cut(head, []byte("\r\n"))
	return bytes.HasSuffix(line, []byte(" HTTP/1.1"))
}

// containsFold reports whether b contains s, ASCII case-insensitively.
func containsFold(b []byte, s string) bool {
	for i := 0; i+len(s) <= len(b); i++ {
		if bytes.EqualFold(b[i:i+len(s)], []byte(s)) {
			return true
		}
	}
	return false
}

// upgradesTo reports whether head has an Upgrade header field with token.
func upgradesTo(head []byte, token string) bool {
	if !containsFold(head, token) {
		return false // the common case, without walking the lines
	}
	for rest := head; len(rest) > 0; {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || !bytes.EqualFold(bytes.TrimSpace(name), []byte("Upgrade")) {
			continue
		}
		for len(value) > 0 {
			var t []byte
			t, value, _ = bytes.Cut(value, []byte(","))
			if bytes.EqualFold(bytes.TrimSpace(t), []byte(token)) {
				return true
			}
		}
	}
	return false
}

// startH2 makes c an HTTP/2 connection whose client is client.
func (c *conn) startH2(client decode.Side) {
	c.h2 = &h2Layer{
		dec:     h2.NewConn(h2.Options{ClientKnown: true, Client: client}),
		streams: make(map[uint32]*h2Stream),
	}
}

// h2Feed passes plaintext of side to the HTTP/2 layer.
func (c *conn) h2Feed(side decode.Side, p []byte, seg decode.Seg) {
	l := c.h2
	l.out = l.dec.Feed(l.out[:0], side, p, seg)
	c.h2Out()
}

func (c *conn) h2Gap(side decode.Side, n int64, seg decode.Seg) {
	l := c.h2
	l.out = l.dec.Gap(l.out[:0], side, n, seg)
	c.h2Out()
}

// h2End ends side of the connection: the HTTP/2 layer, then that side of
// every WebSocket stream still open.
func (c *conn) h2End(side decode.Side, seg decode.Seg, reason decode.EndReason) {
	l := c.h2
	l.out = l.dec.End(l.out[:0], side, seg)
	c.h2Out()
	for _, id := range l.ids() {
		if s := l.streams[id]; s.ws != nil {
			c.wsCall(s.ws, func(dst []decode.Event) []decode.Event { return s.ws.End(dst, side, seg, reason) })
		}
	}
}

// h2Close closes every WebSocket stream of the connection.
func (c *conn) h2Close(seg decode.Seg, reason decode.EndReason) {
	l := c.h2
	for _, id := range l.ids() {
		c.closeStream(id, seg, reason)
	}
}

// ids returns the streams in id order (the output is deterministic).
func (l *h2Layer) ids() []uint32 {
	ids := make([]uint32, 0, len(l.streams))
	for id := range l.streams {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, cmp.Compare[uint32])
	return ids
}

// closeStream closes the WebSocket of stream id and forgets the stream.
// A CONNECT that got no answer becomes a handshake without a response,
// as an HTTP/1.1 Upgrade request does.
func (c *conn) closeStream(id uint32, seg decode.Seg, reason decode.EndReason) {
	l := c.h2
	s := l.streams[id]
	if s != nil && s.ws == nil && s.req != nil {
		client, _ := l.dec.Client()
		c.openStream(id, s, client, nil, seg)
	}
	delete(l.streams, id)
	if s == nil || s.ws == nil {
		return
	}
	c.wsCall(s.ws, func(dst []decode.Event) []decode.Event { return s.ws.Close(dst, seg, reason) })
	c.e.account(c)
}

// h2Out handles what the HTTP/2 layer produced.
func (c *conn) h2Out() {
	l := c.h2
	client, _ := l.dec.Client()
	for i := range l.out {
		ev := &l.out[i]
		seg := decode.Seg{Time: ev.Time, Packet: ev.Packet}
		s := l.streams[ev.Stream]
		switch ev.Kind {
		case h2.KindHeaders:
			switch {
			case ev.Client && ev.Promised == 0 && isExtendedConnect(ev.Headers):
				if s == nil && len(l.streams) < maxH2Streams {
					n := int64(0)
					for _, f := range ev.Headers {
						n += int64(len(f.Name)+len(f.Value)) + 32
					}
					l.streams[ev.Stream] = &h2Stream{req: ev.Headers, reqSeg: seg, reqSize: n, enabled: l.dec.ConnectProtocol()}
				}
			case !ev.Client && s != nil && s.ws == nil && !informational(ev.Headers):
				c.openStream(ev.Stream, s, client, ev.Headers, seg)
			}
		case h2.KindData:
			if s != nil && s.ws != nil {
				c.wsCall(s.ws, func(dst []decode.Event) []decode.Event { return s.ws.Feed(dst, ev.Side, ev.Data, seg) })
			}
		case h2.KindGap:
			if s != nil && s.ws != nil {
				c.wsCall(s.ws, func(dst []decode.Event) []decode.Event { return s.ws.Gap(dst, ev.Side, ev.Lost, seg) })
			}
		case h2.KindRstStream:
			// The stream ends in both directions; a frame it cut is
			// stream_truncated. NO_ERROR is how a server tidies up a
			// stream whose WebSocket closed (Firefox never ends its
			// side): only other codes are anomalies.
			if s != nil && s.ws != nil && ev.Code != 0 {
				a := h2.NewAnomaly(h2.CodeStreamReset, "RST_STREAM %s (0x%x) from the %s ended the stream", http2ErrName(ev.Code), ev.Code, roleOf(ev.Client))
				c.wsCall(s.ws, func(dst []decode.Event) []decode.Event { return s.ws.Report(dst, ev.Side, a, seg) })
			}
			if s != nil && s.ws != nil {
				// The sender's direction first: it closed the stream.
				for _, side := range [2]decode.Side{ev.Side, ev.Side.Other()} {
					c.wsCall(s.ws, func(dst []decode.Event) []decode.Event { return s.ws.End(dst, side, seg, decode.EndRST) })
				}
			}
			c.closeStream(ev.Stream, seg, decode.EndRST)
		case h2.KindAnomaly:
			// A violation on a WebSocket's stream is that WebSocket's;
			// one of the connection (an HPACK error loses the framing of
			// a whole direction) is every open WebSocket's. Those of
			// other streams concern no conversation wscap shows.
			switch {
			case s != nil && s.ws != nil:
				c.wsCall(s.ws, func(dst []decode.Event) []decode.Event { return s.ws.Report(dst, ev.Side, ev.Anomaly, seg) })
			case ev.Stream == 0:
				c.h2Report(ev.Side, ev.Anomaly, seg)
			}
		case h2.KindGoAway:
			// RFC 9113 §6.8: streams above the last stream identifier
			// were not processed. Its last stream identifier counts the
			// streams the receiver started: a server's GOAWAY ends the
			// client's streams above it; a client's (often 0, a graceful
			// close) concerns server-pushed streams, never a WebSocket.
			if !ev.Client {
				for _, id := range l.ids() {
					if id > ev.LastStream {
						c.closeStream(id, seg, decode.EndRST) // not processed: aborted
					}
				}
			}
		}
		if ev.EndStream && s != nil && s.ws != nil && (ev.Kind == h2.KindData || ev.Kind == h2.KindHeaders) && !s.ended[ev.Side&1] {
			s.ended[ev.Side&1] = true
			c.wsCall(s.ws, func(dst []decode.Event) []decode.Event { return s.ws.End(dst, ev.Side, seg, decode.EndFIN) })
			if s.ended[0] && s.ended[1] {
				// Both directions are over: the stream's state goes
				// (a browser opens all its WebSockets on one
				// connection, which may live for hours).
				c.closeStream(ev.Stream, seg, decode.EndFIN)
			}
		}
	}
	clear(l.out) // drop references to header lists and payloads
	c.e.account(c)
}

// h2Report reports a of the whole connection on every WebSocket open on
// it.
func (c *conn) h2Report(side decode.Side, a decode.Anomaly, seg decode.Seg) {
	l := c.h2
	for _, id := range l.ids() {
		if o := l.streams[id]; o.ws != nil {
			c.wsCall(o.ws, func(dst []decode.Event) []decode.Event { return o.ws.Report(dst, side, a, seg) })
		}
	}
}

// openStream starts the WebSocket of stream id from its CONNECT and the
// answer resp.
func (c *conn) openStream(id uint32, s *h2Stream, client decode.Side, resp []decode.HeaderField, seg decode.Seg) {
	e := c.e
	opt := e.cfg.Decode
	opt.DecodeAs = false
	meta := decode.ConnMeta{ID: c.id, Addr: c.addr, SynOK: c.synOK, H2Stream: id}
	s.ws = decode.NewConn(meta, opt)
	if c.tls != nil {
		s.ws.SetTLS(c.tls.info)
	}
	x := &decode.H2Connect{Request: s.req, Response: resp, ConnectProtocol: s.enabled, RequestSeg: s.reqSeg, ResponseSeg: seg}
	c.wsCall(s.ws, func(dst []decode.Event) []decode.Event { return s.ws.ExtendedConnect(dst, client, x) })
	s.req, s.reqSize = nil, 0
}

// wsCall runs one call of a stream's decoder, appending its events to the
// engine's: they are cloned at once (the decoder's buffers are only valid
// until its next call, which the engine's per-connection bookkeeping does
// not follow for streams) and its buffers released.
func (c *conn) wsCall(d *decode.Conn, call func([]decode.Event) []decode.Event) {
	e := c.e
	start := len(e.out)
	e.out = call(e.out)
	for i := start; i < len(e.out); i++ {
		e.out[i] = e.out[i].Clone()
	}
	d.Release()
}

// http2ErrName names an HTTP/2 error code (RFC 9113 §7).
func http2ErrName(code uint32) string {
	names := [...]string{"NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR", "SETTINGS_TIMEOUT",
		"STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM", "CANCEL", "COMPRESSION_ERROR", "CONNECT_ERROR",
		"ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED"}
	if int(code) < len(names) {
		return names[code]
	}
	return "unknown error"
}

func roleOf(client bool) string {
	if client {
		return "client"
	}
	return "server"
}

// isExtendedConnect reports whether a request's header list is an
// extended CONNECT for a WebSocket (RFC 8441 §4: :method CONNECT and
// :protocol websocket).
func isExtendedConnect(hs []decode.HeaderField) bool {
	method, proto := "", ""
	for _, f := range hs {
		switch f.Name {
		case ":method":
			method = f.Value
		case ":protocol":
			proto = f.Value
		}
	}
	return method == "CONNECT" && proto == "websocket"
}

// informational reports whether a response header list is a 1xx answer,
// which the final one follows.
func informational(hs []decode.HeaderField) bool {
	for _, f := range hs {
		if f.Name == ":status" {
			return len(f.Value) == 3 && f.Value[0] == '1'
		}
	}
	return false
}

// h2MemSize is what the HTTP/2 layer and its WebSocket streams hold.
func (l *h2Layer) memSize() int64 {
	m := int64(l.dec.MemSize())
	for _, s := range l.streams {
		m += 128 + s.reqSize
		if s.ws != nil {
			m += int64(s.ws.MemSize()) + renderCost
		}
	}
	return m
}
