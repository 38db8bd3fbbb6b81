package decode

import (
	"fmt"

	"github.com/wscap/wscap/internal/communityid"
)

// state is what a direction is doing with its next byte.
type state uint8

const (
	stHead    state = iota // accumulating an HTTP head (or deciding whether this is HTTP)
	stBody                 // skipping an HTTP message body (keep-alive before the Upgrade)
	stHold                 // bytes held until the other side decides what they are
	stHeader               // accumulating a frame header
	stPayload              // inside a frame payload
	stOpaque               // not WebSocket: counted, not decoded
	stLost                 // framing lost: counted, not decoded
	stEnded                // the direction ended
)

// wsMarker stands for the WebSocket Upgrade request in a half's queue of
// requests awaiting a response.
const wsMarker = "\x00ws"

// maxPending bounds the queue of pipelined requests awaiting responses.
const maxPending = 64

// heldChunk is one piece of held data (hold[start:end]) or a gap.
type heldChunk struct {
	end int
	gap int64
	seg Seg
}

// httpHalf is the HTTP-phase state of one direction.
type httpHalf struct {
	head      []byte
	headStart int64 // stream offset of the head being parsed
	body      bodySkipper
	methods   []string // requests sent by this side that await a response

	// A head that did not parse before the connection was known to be
	// WebSocket: reported when it is (announce).
	malformed    Anomaly
	malformedSeg Seg
	reqMalformed bool // the Upgrade request was malformed (trustMalformed)

	// Held bytes (client after its Upgrade request; a server answering
	// before its request was seen).
	hold       []byte
	holdChunks []heldChunk
	endPending bool // End arrived while holding
	endSeg     Seg
	endReason  EndReason
}

// ht returns h's HTTP-phase state, allocating it on first use.
func (h *half) ht() *httpHalf {
	if h.hp == nil {
		h.hp = &httpHalf{}
	}
	return h.hp
}

// half is the state of one direction.
type half struct {
	// Small fields first, packed together (a Conn per connection adds up).
	side      Side
	role      Role
	state     state
	frData    bool // the frame carries message data
	frComp    bool // deflate-frame: this frame is compressed on its own
	inMsg     bool
	msgComp   bool // permessage-deflate: the message is compressed
	compOver  bool // comp passed MaxCompressed
	closeSent bool
	gapCut    bool // the current frame is being cut by a gap, not by the end
	infTake   bool
	infFull   bool
	utf8      utf8Check
	hdr       [maxHeaderLen]byte // the frame header being read
	maskPos   uint8              // position in the mask key of the next payload byte

	bytes     int64 // bytes fed
	undecoded int64 // bytes counted in stOpaque/stLost (or dropped)
	pos       int64 // stream offset of the next byte
	frames    int
	messages  int

	// HTTP phase: allocated on first use, dropped after the Upgrade (see
	// dropHTTP), so that a WebSocket connection does not carry it.
	hp *httpHalf

	// Framing.
	hdrN      int
	hdrFirst  int   // packet of the first header byte
	hdrOff    int64 // stream offset of the first header byte
	fr        Frame
	remaining uint64
	payload   []byte    // control payload / data preview of the current frame
	anoms     []Anomaly // anomalies of the current frame, emitted after it

	// Message.
	msg   Message
	buf   []byte // decoded payload, up to MaxPayload (bufp.b)
	bufp  *pbuf  // pooled buffer of buf; nil when buf is empty
	comp  []byte // compressed bytes awaiting inflation (compp.b)
	compp *pbuf  // pooled buffer of comp
	msgN  int

	inf     *inflater
	infBits int
}

// Conn decodes one TCP connection. It is not safe for concurrent use.
type Conn struct {
	meta ConnMeta
	opt  Options
	h    [2]half
	seq  int

	announced    bool // KindConn emitted
	rolesKnown   bool
	clientSide   Side
	midstream    bool
	pmd          bool  // permessage-deflate in force
	deflateFrame bool  // deflate-frame in force
	evicted      bool  // memcap_evicted was reported: Close truncates what is open
	hint         uint8 // see noteOpaque

	hs        *Handshake
	hsPending bool  // the Upgrade request awaits its response
	hsShown   bool  // hs went out in a KindHandshake event (see Release)
	orphanOK  bool  // process responses with no request seen
	appMade   bool  // app was made (Options.App), maybe nil
	hsBytes   int32 // the heads hs was filled from (MemSize's estimate of it)

	arenap *pbuf   // payload copies referenced by the events of one call; nil between calls
	lent   []*pbuf // buffers lent to the events of one call

	tls *TLSInfo // set by TLS: the session this connection runs in

	app AppLayer // Options.App's layer, made at the first data message
}

// NewConn returns a decoder for the TCP connection described by meta.
func NewConn(meta ConnMeta, opt Options) *Conn {
	c := &Conn{meta: meta, opt: opt.withDefaults()}
	c.h[0].side, c.h[1].side = Side0, Side1
	return c
}

// Feed consumes p, the next in-order bytes sent by side, and appends the
// events they complete to dst. It never retains p and never fails.
func (c *Conn) Feed(dst []Event, side Side, p []byte, s Seg) []Event {
	c.begin()
	h := &c.h[side&1]
	if h.state == stEnded || len(p) == 0 {
		return dst
	}
	h.bytes += int64(len(p))
	return c.feed(dst, h, p, s)
}

// Gap tells the decoder that n bytes of side were lost from the capture at
// this point of the stream.
func (c *Conn) Gap(dst []Event, side Side, n int64, s Seg) []Event {
	c.begin()
	h := &c.h[side&1]
	if h.state == stEnded || n <= 0 {
		return dst
	}
	return c.gap(dst, h, n, s)
}

// End tells the decoder that side ended (FIN, RST, idle flush), for
// reason, which its end event carries. Further bytes of that side are
// ignored.
func (c *Conn) End(dst []Event, side Side, s Seg, reason EndReason) []Event {
	c.begin()
	return c.end(dst, &c.h[side&1], s, false, reason)
}

// Close ends every side not yet ended (end of capture, an idle or evicted
// connection), for reason. After a memcap_evicted anomaly (see
// [Conn.Report]) the messages it cuts are marked Truncated, and no
// stream_truncated is added: the eviction is the cause.
func (c *Conn) Close(dst []Event, s Seg, reason EndReason) []Event {
	c.begin()
	if c.hsPending {
		dst = c.handshakeIncomplete(dst, s)
	}
	for i := range c.h {
		dst = c.end(dst, &c.h[i], s, true, reason)
	}
	return dst
}

// TLS records that the connection runs in the TLS session described by
// info (the caller decrypts; Feed then receives the plaintext) and appends
// a KindTLS event. The handshake event that follows refers to info too.
func (c *Conn) TLS(dst []Event, info *TLSInfo, s Seg) []Event {
	c.begin()
	c.tls = info
	if c.hs == hsUpgraded {
		c.hs = &Handshake{Upgraded: true, TLS: info}
	} else if c.hs != nil && c.hs.TLS == nil {
		c.hs.TLS = info
	}
	dst = c.event(dst, KindTLS, RoleNone, s)
	dst[len(dst)-1].TLS = info
	return dst
}

// SetTLS records that the connection runs in the TLS session described
// by info without an event of its own: a WebSocket over HTTP/2 (RFC 8441)
// whose TCP connection had its tls event. Call it before ExtendedConnect.
func (c *Conn) SetTLS(info *TLSInfo) { c.tls = info }

// Report appends an anomaly found outside the decoder (by the TLS layer,
// say) about what side sent, numbered in this connection's sequence.
func (c *Conn) Report(dst []Event, side Side, a Anomaly, s Seg) []Event {
	c.begin()
	if a.Code == CodeMemcapEvicted {
		c.evicted = true
	}
	return c.anomaly(dst, c.roleOf(side), s, a)
}

// roleOf is the role of side; on a TLS connection not (yet) known to be
// WebSocket, the TLS client is the client.
func (c *Conn) roleOf(side Side) Role {
	role := c.h[side&1].role
	if !c.rolesKnown && c.tls != nil {
		if c.meta.Addr[side&1] == c.tls.Client {
			role = RoleClient
		} else {
			role = RoleServer
		}
	}
	return role
}

// IsWebSocket reports whether the connection was recognised as WebSocket
// (its KindConn event was emitted).
func (c *Conn) IsWebSocket() bool { return c.announced }

// Idle reports whether nothing more can come of this connection: it is not
// WebSocket and neither side is decoding anything. Callers may stop feeding
// it (End and Close then emit nothing, except the end events of a TLS
// connection).
func (c *Conn) Idle() bool {
	if c.announced {
		return false
	}
	for i := range c.h {
		switch c.h[i].state {
		case stOpaque, stLost, stEnded:
		default:
			return false
		}
	}
	return true
}

func (c *Conn) begin() {
	c.Release()
}

// Release ends the validity of the byte slices in the events of the last
// call now rather than at the next call: message payloads go back to a
// pool shared by all Conns. A caller that is done with the events (has
// written them out) calls it so that a connection that falls silent does
// not keep its last message's buffer.
// hsUpgraded is what a Conn keeps of a shown handshake that upgraded the
// connection outside TLS (the common case): shared, never modified.
var hsUpgraded = &Handshake{Upgraded: true}

func (c *Conn) Release() {
	if c.hsShown {
		// The handshake event is written: keep only what decoding reads
		// later (the event's Handshake is left as it was), so that a
		// connection does not hold its header strings for its lifetime.
		c.hsShown = false
		if c.hs.Upgraded && c.hs.TLS == nil {
			c.hs = hsUpgraded
		} else {
			c.hs = &Handshake{RequestPacket: c.hs.RequestPacket, RequestTime: c.hs.RequestTime, Upgraded: c.hs.Upgraded, TLS: c.hs.TLS}
		}
		c.hsBytes = 0
	}
	for i, p := range c.lent {
		putBuf(p)
		c.lent[i] = nil
	}
	c.lent = c.lent[:0]
	if c.arenap != nil {
		putBuf(c.arenap)
		c.arenap = nil
	}
}

// appendBuf appends b to h.buf, in a pooled buffer that grows to at most
// most bytes if that is known (0 if not).
func (h *half) appendBuf(b []byte, most int) {
	if h.bufp != nil {
		h.bufp.b = h.buf // buf may have been cut back
	}
	h.buf = append(growBuf(&h.bufp, len(b), most), b...)
	h.bufp.b = h.buf
}

// lendBuf hands h.buf to an event: the buffer returns to the pool at the
// next method call.
func (c *Conn) lendBuf(h *half) []byte {
	b := h.buf
	if h.bufp != nil {
		c.lent = append(c.lent, h.bufp)
	}
	h.buf, h.bufp = nil, nil
	if len(b) == 0 {
		return nil
	}
	return b[:len(b):len(b)]
}

// dropComp returns h.comp to the pool.
func (h *half) dropComp() {
	putBuf(h.compp)
	h.comp, h.compp = nil, nil
}

// keep copies b into the arena; the copy lives until the next method call.
func (c *Conn) keep(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	if c.arenap == nil || cap(c.arenap.b)-len(c.arenap.b) < len(b) {
		// A (bigger) pooled buffer; a full one stays lent to the events
		// that point into it until Release.
		n := len(b)
		if c.arenap != nil {
			c.lent = append(c.lent, c.arenap)
			n = max(n, 2*cap(c.arenap.b))
		}
		c.arenap = getBuf(max(n, 1024))
		c.arenap.b = c.arenap.b[:0]
	}
	a := c.arenap.b
	start := len(a)
	a = append(a, b...) // within capacity: the pooled array
	c.arenap.b = a
	return a[start:len(a):len(a)]
}

func (c *Conn) event(dst []Event, k Kind, from Role, s Seg) []Event {
	c.seq++
	return append(dst, Event{Kind: k, Conn: c.meta.ID, Seq: c.seq, From: from, H2Stream: c.meta.H2Stream, Time: s.Time, Packet: s.Packet})
}

func (c *Conn) anomaly(dst []Event, from Role, s Seg, a Anomaly) []Event {
	dst = c.event(dst, KindAnomaly, from, s)
	dst[len(dst)-1].Anomaly = a
	return dst
}

func (c *Conn) anomalies(dst []Event, from Role, s Seg, as []Anomaly) []Event {
	for _, a := range as {
		dst = c.anomaly(dst, from, s, a)
	}
	return dst
}

// announce emits the KindConn event once the client side is known.
func (c *Conn) announce(dst []Event, client Side, midstream bool, s Seg) []Event {
	if c.announced {
		return dst
	}
	c.announced, c.rolesKnown, c.clientSide, c.midstream = true, true, client, midstream
	c.h[client].role = RoleClient
	c.h[client^1].role = RoleServer
	dst = c.event(dst, KindConn, RoleNone, s)
	dst[len(dst)-1].Info = &ConnInfo{
		Client:      c.meta.Addr[client],
		Server:      c.meta.Addr[client^1],
		ClientSide:  client,
		Midstream:   midstream,
		CommunityID: communityid.V1(c.opt.CommunityIDSeed, c.meta.Addr[0], c.meta.Addr[1], communityid.TCP),
	}
	for i := range c.h {
		if hp := c.h[i].hp; hp != nil && hp.malformed.Code != "" {
			dst = c.anomaly(dst, c.h[i].role, hp.malformedSeg, hp.malformed)
			hp.malformed = Anomaly{}
		}
	}
	return dst
}

// feed runs the state machine of h over p.
func (c *Conn) feed(dst []Event, h *half, p []byte, s Seg) []Event {
	for len(p) > 0 {
		var n int
		switch h.state {
		case stHead:
			n, dst = c.feedHead(dst, h, p, s)
		case stBody:
			n, dst = c.feedBody(dst, h, p, s)
		case stHold:
			n, dst = c.feedHold(dst, h, p, s)
		case stHeader:
			n, dst = c.feedHeader(dst, h, p, s)
		case stPayload:
			n, dst = c.feedPayload(dst, h, p, s)
		case stEnded:
			return dst
		default: // stOpaque, stLost
			n = len(p)
			h.undecoded += int64(n)
		}
		h.pos += int64(n)
		p = p[n:]
	}
	return dst
}

// ---- HTTP phase ----

func (c *Conn) feedHead(dst []Event, h *half, p []byte, s Seg) (int, []Event) {
	ht := h.ht()
	if len(ht.head) == 0 {
		ht.headStart = h.pos
		if c.opt.DecodeAs && !isTokenStart(p[0]) {
			// Decode-as: frames from the first byte.
			h.state = stHeader
			return 0, dst
		}
		switch httpPrefix(p) {
		case -1:
			c.noteOpaque(h, p)
			c.notHTTP(h)
			return 0, dst
		case 1:
			if e := headEnd(p); e >= 0 {
				if e > c.opt.MaxHead {
					return c.headTooLarge(dst, h, e, s)
				}
				return e, c.onHead(dst, h, p[:e], s)
			}
		}
	}
	prev := len(ht.head)
	take := min(len(p), c.opt.MaxHead-prev)
	ht.head = append(ht.head, p[:take]...)
	switch httpPrefix(ht.head) {
	case -1:
		// Not HTTP after all: replay the buffered bytes in the new state.
		// They were counted in h.pos when buffered; feed counts them again.
		data := ht.head
		ht.head = nil
		c.notHTTP(h)
		h.pos -= int64(prev)
		dst = c.feed(dst, h, data, s)
		h.pos -= int64(take) // feed counted them; the caller's loop counts them again
		return take, dst
	case 1:
		if e := headEnd(ht.head); e >= 0 {
			dst = c.onHead(dst, h, ht.head[:e], s)
			ht.head = ht.head[:0]
			return e - prev, dst
		}
	}
	if len(ht.head) >= c.opt.MaxHead {
		ht.head = ht.head[:0]
		return c.headTooLarge(dst, h, take, s)
	}
	return take, dst
}

func isTokenStart(b byte) bool { return b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' }

// notHTTP switches h to frames (decode-as) or to opaque.
func (c *Conn) notHTTP(h *half) {
	if c.opt.DecodeAs {
		h.state = stHeader
	} else {
		h.state = stOpaque
	}
}

func (c *Conn) headTooLarge(dst []Event, h *half, n int, s Seg) (int, []Event) {
	if c.announced {
		dst = c.anomaly(dst, h.role, s, newAnomaly(CodeHeadTooLarge,
			"an HTTP head is longer than %d bytes; the rest of this direction is not decoded", c.opt.MaxHead))
	}
	h.state = stLost
	h.undecoded += int64(n)
	return n, dst
}

// onHead handles one complete HTTP head.
func (c *Conn) onHead(dst []Event, h *half, head []byte, s Seg) []Event {
	m, ok := parseHead(head)
	if ok && m.malformed != "" && !c.trustMalformed(h, &m) {
		ok = false
	}
	if !ok {
		why := "does not parse"
		if m.malformed != "" {
			why = "is malformed (" + m.malformed + ")"
		}
		a := newAnomaly(CodeHTTPMalformed,
			"a %d-byte HTTP head %s; the rest of this direction is not decoded", len(head), why)
		if c.announced {
			dst = c.anomaly(dst, h.role, s, a)
		} else {
			// Reported if the connection turns out to be WebSocket (a
			// 101 answers it).
			h.ht().malformed, h.ht().malformedSeg = a, s
		}
		h.state = stLost
		h.undecoded += int64(len(head))
		return dst
	}
	if m.isRequest {
		hs := c.hs
		dst = c.onRequest(dst, h, &m, s)
		if c.hs != hs {
			c.hsBytes = int32(min(len(head), 1<<29))
			if m.malformed != "" {
				h.ht().reqMalformed = true
				dst = c.anomaly(dst, RoleClient, s, newAnomaly(CodeHTTPMalformed,
					"the Upgrade request's head is malformed (%s); its frames are decoded if the 101 response's Accept matches its key", m.malformed))
			}
		}
		return dst
	}
	dst = c.onResponse(dst, h, &m, head, s)
	if m.malformed != "" {
		dst = c.anomaly(dst, h.role, s, newAnomaly(CodeHTTPMalformed,
			"the %d response's head is malformed (%s)", m.status, m.malformed))
	}
	return dst
}

// trustMalformed reports whether a head with a tolerated violation is
// decoded anyway: an Upgrade request (its frames are decoded if the server
// answers 101 with the Accept of its key) or the 101 answer to one.
// Otherwise the direction stops there, as for a head that does not parse.
func (c *Conn) trustMalformed(h *half, m *httpHead) bool {
	if m.isRequest {
		return isWebSocketRequest(m) && !c.hsPending && (c.hs == nil || !c.hs.Upgraded)
	}
	other := &c.h[h.side^1]
	return m.status == 101 && c.hsPending && other.hp != nil &&
		len(other.hp.methods) > 0 && other.hp.methods[0] == wsMarker
}

func (c *Conn) onRequest(dst []Event, h *half, m *httpHead, s Seg) []Event {
	other := &c.h[h.side^1]
	if isWebSocketRequest(m) && !c.hsPending && (c.hs == nil || !c.hs.Upgraded) {
		if c.announced && c.clientSide != h.side {
			// A request from the other end after roles were fixed: keep
			// the first roles, treat it as plain HTTP.
			return c.plainRequest(dst, h, m, other, s)
		}
		dst = c.announce(dst, h.side, false, s)
		c.hs = &Handshake{RequestPacket: s.Packet, RequestTime: s.Time, TLS: c.tls}
		as := fillRequest(c.hs, m)
		dst = c.anomalies(dst, RoleClient, s, as)
		c.hsPending = true
		h.ht().methods = appendPending(h.ht().methods, wsMarker)
		h.state = stHold
		if other.state == stHold {
			dst = c.release(dst, other)
		}
		return dst
	}
	return c.plainRequest(dst, h, m, other, s)
}

func (c *Conn) plainRequest(dst []Event, h *half, m *httpHead, other *half, s Seg) []Event {
	h.ht().methods = appendPending(h.ht().methods, m.method)
	if k, n := requestBody(m); k != bodyNone {
		h.ht().body = newBodySkipper(k, n)
		h.state = stBody
	}
	if other.state == stHold {
		dst = c.release(dst, other)
	}
	return dst
}

func appendPending(q []string, m string) []string {
	if len(q) >= maxPending {
		q = append(q[:0], q[1:]...)
	}
	return append(q, m)
}

func (c *Conn) onResponse(dst []Event, h *half, m *httpHead, head []byte, s Seg) []Event {
	if m.status >= 100 && m.status < 200 && m.status != 101 {
		return dst // interim response (100 Continue): the real one follows
	}
	other := &c.h[h.side^1]
	if len(other.ht().methods) == 0 {
		if !c.orphanOK && other.state == stHead {
			// The response came before its request was complete in the
			// capture order: hold it (head included) until the request.
			h.state = stHold
			h.ht().hold = append(h.ht().hold[:0], head...)
			h.ht().holdChunks = append(h.ht().holdChunks[:0], heldChunk{end: len(h.ht().hold), seg: s})
			return dst
		}
		// A response to nothing we saw: only a 101 to websocket matters.
		if m.status == 101 && !c.announced {
			dst = c.announce(dst, h.side^1, false, s)
			c.hs = &Handshake{TLS: c.tls}
			c.hsPending = true
			other.ht().methods = appendPending(other.ht().methods, wsMarker)
		} else {
			return c.skipResponseBody(dst, h, m, "GET")
		}
	}
	method := other.ht().methods[0]
	other.ht().methods = append(other.ht().methods[:0], other.ht().methods[1:]...)
	if method != wsMarker {
		return c.skipResponseBody(dst, h, m, method)
	}
	// The answer to the Upgrade request.
	c.hsPending = false
	c.hs.ResponsePacket = s.Packet
	as := fillResponse(c.hs, m)
	c.hsBytes += int32(min(len(head), 1<<29))
	dst = c.event(dst, KindHandshake, RoleNone, s)
	dst[len(dst)-1].Handshake = c.hs
	c.hsShown = true
	c.makeApp(c.hs)
	dst = c.anomalies(dst, RoleServer, s, as)
	if c.hs.Upgraded {
		c.setupExtensions()
		h.state = stHeader
		if other.state == stHold {
			early := false
			for _, ch := range other.ht().holdChunks {
				if ch.gap == 0 && ch.seg.Packet < s.Packet {
					early = true
					break
				}
			}
			if early {
				dst = c.anomaly(dst, RoleClient, s, newAnomaly(CodeClientDataBeforeUpgrade,
					"the client sent %d bytes after its Upgrade request before the 101 response (packet %d)", len(other.ht().hold), s.Packet))
			}
			if other.ht().reqMalformed && !c.hs.AcceptValid {
				// A malformed request whose key the answer does not
				// confirm: its bytes are not trusted as frames.
				other.undecoded += int64(len(other.ht().hold))
				other.ht().hold, other.ht().holdChunks = nil, nil
				other.state = stLost
			} else {
				other.state = stHeader
				dst = c.release(dst, other)
			}
		}
		c.dropHTTP()
		return dst
	}
	dst = c.skipResponseBody(dst, h, m, "GET")
	if other.state == stHold {
		other.state = stHead
		dst = c.release(dst, other)
	}
	return dst
}

// dropHTTP frees the HTTP buffers of the directions that left the HTTP
// phase for good (after the Upgrade): a connection does not keep them for
// its lifetime.
func (c *Conn) dropHTTP() {
	for i := range c.h {
		h := &c.h[i]
		switch h.state {
		case stHead, stBody, stHold:
			continue
		}
		h.hp = nil
	}
}

func (c *Conn) skipResponseBody(dst []Event, h *half, m *httpHead, method string) []Event {
	if k, n := responseBody(m, method); k != bodyNone {
		h.ht().body = newBodySkipper(k, n)
		h.state = stBody
	} else {
		h.state = stHead
	}
	return dst
}

func (c *Conn) feedBody(dst []Event, h *half, p []byte, s Seg) (int, []Event) {
	n, done, bad := h.ht().body.skip(p)
	if bad {
		h.state = stLost
		if c.announced {
			dst = c.anomaly(dst, h.role, s, newAnomaly(CodeHTTPMalformed,
				"a chunked HTTP body has invalid framing; the rest of this direction is not decoded"))
		}
		return 0, dst
	}
	if done {
		h.state = stHead
	}
	return n, dst
}

func (c *Conn) feedHold(dst []Event, h *half, p []byte, s Seg) (int, []Event) {
	ht := h.ht()
	if len(ht.hold)+len(p) > c.opt.MaxHold {
		dst = c.anomaly(dst, h.role, s, newAnomaly(CodeHoldOverflow,
			"more than %d bytes arrived before the other side's answer; they were dropped and this direction is not decoded", c.opt.MaxHold))
		h.undecoded += int64(len(ht.hold) + len(p))
		ht.hold, ht.holdChunks = nil, nil
		h.state = stLost
		return len(p), dst
	}
	ht.hold = append(ht.hold, p...)
	ht.holdChunks = append(ht.holdChunks, heldChunk{end: len(ht.hold), seg: s})
	return len(p), dst
}

// release replays the bytes h held, in the state the caller set (frames,
// HTTP, or, if still stHold, whatever the other side now decides).
func (c *Conn) release(dst []Event, h *half) []Event {
	if h.state == stHold {
		h.state = stHead
	}
	ht := h.ht()
	hold, chunks := ht.hold, ht.holdChunks
	ht.hold, ht.holdChunks = nil, nil
	// The held bytes were counted in h.pos when they were held; the replay
	// counts them again.
	h.pos -= int64(len(hold))
	start := 0
	for _, ch := range chunks {
		if ch.gap > 0 {
			dst = c.gap(dst, h, ch.gap, ch.seg)
			continue
		}
		dst = c.feed(dst, h, hold[start:ch.end], ch.seg)
		start = ch.end
	}
	// Give the buffers back for reuse unless the replay started a new hold.
	if ht.hold == nil && cap(hold) <= 64<<10 {
		ht.hold, ht.holdChunks = hold[:0], chunks[:0]
	}
	if ht.endPending && h.state != stHold {
		ht.endPending = false
		dst = c.end(dst, h, ht.endSeg, false, ht.endReason)
	}
	return dst
}

func (c *Conn) handshakeIncomplete(dst []Event, s Seg) []Event {
	c.hsPending = false
	dst = c.event(dst, KindHandshake, RoleNone, s)
	dst[len(dst)-1].Handshake = c.hs
	c.makeApp(c.hs)
	dst = c.anomaly(dst, RoleNone, s, newAnomaly(CodeHandshakeIncomplete,
		"the Upgrade request (packet %d) has no response in the capture", c.hs.RequestPacket))
	cl := &c.h[c.clientSide]
	if cl.state == stHold {
		cl.undecoded += int64(len(cl.ht().hold))
		cl.ht().hold, cl.ht().holdChunks = nil, nil
		cl.state = stOpaque
	}
	return dst
}

// setupExtensions prepares per-direction decompression after a 101.
func (c *Conn) setupExtensions() {
	hs := c.hs
	if p := hs.Deflate; p != nil {
		c.pmd = true
		for i := range c.h {
			h := &c.h[i]
			if h.role == RoleClient {
				h.infBits, h.infTake = p.ClientMaxWindowBits, !p.ClientNoContextTakeover
			} else {
				h.infBits, h.infTake = p.ServerMaxWindowBits, !p.ServerNoContextTakeover
			}
			h.infFull = true
		}
	} else if hs.DeflateFrame {
		c.deflateFrame = true
		for i := range c.h {
			c.h[i].infBits, c.h[i].infTake, c.h[i].infFull = 15, true, true
		}
	}
}

// ---- frames ----

func (c *Conn) feedHeader(dst []Event, h *half, p []byte, s Seg) (int, []Event) {
	if h.hdrN == 0 {
		h.hdrOff, h.hdrFirst = h.pos, s.Packet
		if hd, n := parseHeader(p); n > 0 {
			return n, c.onHeader(dst, h, hd, s)
		}
	}
	take := min(len(p), maxHeaderLen-h.hdrN)
	copy(h.hdr[h.hdrN:], p[:take])
	hd, n := parseHeader(h.hdr[:h.hdrN+take])
	if n == 0 {
		h.hdrN += take
		return take, dst
	}
	used := n - h.hdrN
	h.hdrN = 0
	return used, c.onHeader(dst, h, hd, s)
}

// onHeader starts a frame: role decision (decode-as), header checks and
// message bookkeeping.
func (c *Conn) onHeader(dst []Event, h *half, hd Header, s Seg) []Event {
	if !c.rolesKnown {
		client := h.side
		if !hd.Masked {
			client = h.side ^ 1
		}
		dst = c.announce(dst, client, true, s)
	}
	h.fr = Frame{Header: hd, Offset: h.hdrOff, FirstPacket: h.hdrFirst}
	h.anoms = h.anoms[:0]
	h.payload = h.payload[:0]
	h.maskPos = 0
	h.frData, h.frComp = false, false
	c.checkHeader(h, &hd)

	op := hd.Opcode
	rsv1 := hd.Rsv&4 != 0
	switch {
	case op == OpText || op == OpBinary:
		if h.closeSent {
			h.anoms = append(h.anoms, newAnomaly(CodeDataAfterClose,
				"a %s frame follows this endpoint's close frame", op))
		}
		if h.inMsg {
			h.anoms = append(h.anoms, newAnomaly(CodeContinuationExpected,
				"a new %s frame starts while message %d (%d frames so far) is unfinished", op, h.msg.N, h.msg.Frames))
			dst = c.finishMessage(dst, h, s, true)
		}
		h.msgN++
		h.inMsg = true
		h.msg = Message{N: h.msgN, Opcode: op, FirstPacket: h.hdrFirst}
		h.msgComp = rsv1 && (c.pmd || c.midstreamDeflate())
		h.msg.Compressed = h.msgComp
		h.frData = true
	case op == OpContinuation:
		if h.inMsg {
			if h.closeSent {
				h.anoms = append(h.anoms, newAnomaly(CodeDataAfterClose,
					"a continuation frame follows this endpoint's close frame"))
			}
			h.frData = true
		} else {
			h.anoms = append(h.anoms, newAnomaly(CodeContinuationUnexpected,
				"a continuation frame arrives but no fragmented message is open"))
		}
	case op == OpClose:
		h.closeSent = true
	}
	if h.frData {
		h.fr.Message = h.msgN
		h.frComp = c.deflateFrame && rsv1
		h.fr.Compressed = h.msgComp && op != OpContinuation || h.frComp
		if h.frComp {
			h.msg.Compressed = true
		}
	}
	h.remaining = hd.PayloadLen
	if h.remaining == 0 {
		return c.finishFrame(dst, h, s, false)
	}
	// Buffers grow with the payload bytes that arrive, never by the
	// declared length: a header may claim 2^63 bytes.
	h.state = stPayload
	return dst
}

// midstreamDeflate: no handshake was captured (decode-as), so RSV1 on a
// first frame is taken as permessage-deflate and inflation is attempted.
func (c *Conn) midstreamDeflate() bool { return c.midstream && c.hs == nil }

// checkHeader appends the header's violations to h.anoms.
func (c *Conn) checkHeader(h *half, hd *Header) {
	op := hd.Opcode
	// RFC 6455 §5.1: "a client MUST mask all frames that it sends to the server"
	if h.role == RoleClient && !hd.Masked {
		h.anoms = append(h.anoms, newAnomaly(CodeClientFrameUnmasked,
			"a %s frame from the client is not masked", op))
	}
	// RFC 6455 §5.1: "A server MUST NOT mask any frames that it sends to the client."
	if h.role == RoleServer && hd.Masked {
		h.anoms = append(h.anoms, newAnomaly(CodeServerFrameMasked,
			"a %s frame from the server is masked (key %02x%02x%02x%02x)", op, hd.MaskKey[0], hd.MaskKey[1], hd.MaskKey[2], hd.MaskKey[3]))
	}
	// RFC 6455 §5.2: RSV1-3 "MUST be 0 unless an extension is negotiated
	// that defines meanings for non-zero values".
	if hd.Rsv&3 != 0 {
		h.anoms = append(h.anoms, newAnomaly(CodeRsvUnnegotiated,
			"RSV bits %03b are set on a %s frame; no negotiated extension defines RSV2 or RSV3", hd.Rsv, op))
	}
	if hd.Rsv&4 != 0 {
		switch {
		case c.pmd || c.deflateFrame:
			// RFC 7692 §6.1: "An endpoint MUST NOT set the "Per-Message
			// Compressed" bit of control frames and non-first fragments".
			if op.IsControl() {
				h.anoms = append(h.anoms, newAnomaly(CodeRsv1OnControl,
					"a %s frame has RSV1 set; control frames are never compressed", op))
			} else if op == OpContinuation && c.pmd {
				h.anoms = append(h.anoms, newAnomaly(CodeRsv1OnContinuation,
					"a continuation frame has RSV1 set; only the first frame of a message may"))
			}
		case c.midstreamDeflate() && !op.IsControl():
			// Negotiation not captured: RSV1 may be legitimate.
		default:
			h.anoms = append(h.anoms, newAnomaly(CodeRsvUnnegotiated,
				"RSV1 is set on a %s frame but no compression extension was negotiated", op))
		}
	}
	if op.IsReserved() {
		kind := "data"
		if op.IsControl() {
			kind = "control"
		}
		h.anoms = append(h.anoms, newAnomaly(CodeOpcodeReserved,
			"opcode 0x%X is a reserved %s opcode", uint8(op), kind))
	}
	if op.IsControl() {
		// RFC 6455 §5.5: "All control frames MUST have a payload length of
		// 125 bytes or less and MUST NOT be fragmented."
		if hd.PayloadLen > 125 {
			h.anoms = append(h.anoms, newAnomaly(CodeControlTooLong,
				"a %s frame has a %d-byte payload; control frames carry at most 125", op, hd.PayloadLen))
		}
		if !hd.Fin {
			h.anoms = append(h.anoms, newAnomaly(CodeControlFragmented,
				"a %s frame has FIN clear; control frames must not be fragmented", op))
		}
	}
	// RFC 6455 §5.2: "the minimal number of bytes MUST be used to encode
	// the length"; "the most significant bit MUST be 0".
	switch {
	case hd.LenBits == 16 && hd.PayloadLen < 126:
		h.anoms = append(h.anoms, newAnomaly(CodeLengthNotMinimal,
			"a %d-byte payload length is encoded in 16 bits; 7 suffice", hd.PayloadLen))
	case hd.LenBits == 64 && hd.PayloadLen>>63 != 0:
		h.anoms = append(h.anoms, newAnomaly(CodeLengthMSBSet,
			"the 64-bit payload length 0x%016x has its most significant bit set", hd.PayloadLen))
	case hd.LenBits == 64 && hd.PayloadLen < 65536:
		h.anoms = append(h.anoms, newAnomaly(CodeLengthNotMinimal,
			"a %d-byte payload length is encoded in 64 bits; %d suffice", hd.PayloadLen, minLenBits(hd.PayloadLen)))
	}
}

func minLenBits(n uint64) int {
	if n < 126 {
		return 7
	}
	return 16
}

func (c *Conn) feedPayload(dst []Event, h *half, p []byte, s Seg) (int, []Event) {
	n := len(p)
	if uint64(n) > h.remaining {
		n = int(h.remaining)
	}
	chunk := p[:n]
	if h.frData {
		c.dataBytes(h, chunk)
	} else {
		limit := c.opt.PreviewLen
		if h.fr.Opcode.IsControl() {
			limit = c.opt.MaxControl
		}
		if room := limit - len(h.payload); room > 0 {
			k := min(room, n)
			start := len(h.payload)
			h.payload = append(h.payload, chunk[:k]...)
			if h.fr.Masked {
				unmask(h.payload[start:], h.fr.MaskKey, int(h.maskPos))
			}
		}
		h.maskPos = uint8((int(h.maskPos) + n) & 3)
	}
	h.fr.Seen += uint64(n)
	h.remaining -= uint64(n)
	if h.remaining == 0 {
		dst = c.finishFrame(dst, h, s, false)
	}
	return n, dst
}

// dataBytes takes payload bytes of a data frame, masked if the frame is:
// they are unmasked where they are kept (the compressed or the decoded
// message), never in p, and only copied once.
func (c *Conn) dataBytes(h *half, b []byte) {
	h.msg.WireLen += uint64(len(b))
	if h.msgComp || h.frComp {
		if len(h.comp)+len(b) > c.opt.MaxCompressed {
			h.compOver = true
			c.dataScratch(h, b, false)
			return
		}
		start := len(h.comp)
		if h.compp != nil {
			h.compp.b = h.comp
		}
		h.comp = append(growBuf(&h.compp, len(b), 0), b...)
		h.compp.b = h.comp
		c.unmaskKept(h, h.comp[start:])
		return
	}
	k := 0
	if room := c.opt.MaxPayload - len(h.buf); room > 0 {
		k = min(room, len(b))
		start := len(h.buf)
		// The frame's rest (h.remaining includes b) bounds the growth.
		h.appendBuf(b[:k], int(min(uint64(c.opt.MaxPayload), uint64(start)+h.remaining)))
		kept := h.buf[start:]
		c.unmaskKept(h, kept)
		c.msgDecoded(h, kept)
	}
	if k < len(b) {
		// Past MaxPayload: counted and checked, not kept.
		h.msg.Truncated = true
		c.dataScratch(h, b[k:], true)
	}
}

// unmaskKept unmasks payload bytes copied into a buffer of h and takes
// the frame's preview from them.
func (c *Conn) unmaskKept(h *half, b []byte) {
	if h.fr.Masked {
		h.maskPos = uint8(unmask(b, h.fr.MaskKey, int(h.maskPos)))
	}
	if room := c.opt.PreviewLen - len(h.payload); room > 0 {
		h.payload = append(h.payload, b[:min(room, len(b))]...)
	}
}

// dataScratch takes payload bytes that are not kept: unmasked through a
// stack buffer for the preview and (msg) the message's length and UTF-8
// check.
func (c *Conn) dataScratch(h *half, b []byte, msg bool) {
	var scratch [4096]byte
	for len(b) > 0 {
		m := copy(scratch[:], b)
		c.unmaskKept(h, scratch[:m])
		if msg {
			c.msgDecoded(h, scratch[:m])
		}
		b = b[m:]
	}
}

// msgDecoded counts and checks decoded message bytes already kept (or
// deliberately not kept) in h.buf.
func (c *Conn) msgDecoded(h *half, b []byte) {
	h.msg.Len += uint64(len(b))
	if h.msg.Opcode == OpText {
		h.utf8.feed(b)
	}
}

// msgData takes decoded (unmasked, inflated) message bytes.
func (c *Conn) msgData(h *half, b []byte) {
	h.msg.Len += uint64(len(b))
	if h.msg.Opcode == OpText {
		h.utf8.feed(b)
	}
	if room := c.opt.MaxPayload - len(h.buf); room > 0 {
		h.appendBuf(b[:min(room, len(b))], c.opt.MaxPayload)
		if room < len(b) {
			h.msg.Truncated = true
		}
	} else if len(b) > 0 {
		h.msg.Truncated = true
	}
}

// finishFrame emits the current frame (cut: the stream ended inside it).
func (c *Conn) finishFrame(dst []Event, h *half, s Seg, cut bool) []Event {
	fr := &h.fr
	fr.Cut = cut
	fr.Payload = c.keep(h.payload)
	if fr.Opcode == OpClose && !cut && fr.Lost == 0 {
		c.checkClose(h, fr)
	}
	h.frames++
	dst = c.event(dst, KindFrame, h.role, s)
	dst[len(dst)-1].Frame = *fr
	dst = c.anomalies(dst, h.role, s, h.anoms)
	h.anoms = h.anoms[:0]
	h.state = stHeader
	if h.frData {
		h.msg.Frames++
		if h.frComp {
			dst = c.inflateUnit(dst, h, s, cut)
		}
		if cut {
			if !h.gapCut && !c.evicted {
				dst = c.anomaly(dst, h.role, s, newAnomaly(CodeStreamTruncated,
					"the direction ended %d bytes into a %d-byte %s frame", fr.Seen+fr.Lost, fr.PayloadLen, fr.Opcode))
			}
			dst = c.finishMessage(dst, h, s, true)
		} else if fr.Fin {
			dst = c.finishMessage(dst, h, s, false)
		}
	} else if cut && !h.gapCut && !c.evicted {
		dst = c.anomaly(dst, h.role, s, newAnomaly(CodeStreamTruncated,
			"the direction ended %d bytes into a %d-byte %s frame", fr.Seen+fr.Lost, fr.PayloadLen, fr.Opcode))
	}
	h.payload = h.payload[:0]
	return dst
}

// checkClose parses a close body and appends its violations to h.anoms.
func (c *Conn) checkClose(h *half, fr *Frame) {
	p := fr.Payload
	whole := uint64(len(p)) == fr.PayloadLen
	switch {
	case len(p) == 1:
		// RFC 6455 §5.5.1: "If there is a body, the first two bytes of the
		// body MUST be a 2-byte unsigned integer".
		h.anoms = append(h.anoms, newAnomaly(CodeCloseBodyOneByte,
			"the close frame has a 1-byte body (0x%02x); a status code needs 2", p[0]))
	case len(p) >= 2:
		fr.Close = parseClose(p)
		if why := closeCodeProblem(fr.Close.Code); why != "" {
			h.anoms = append(h.anoms, newAnomaly(CodeCloseCodeInvalid,
				"close code %d %s", fr.Close.Code, why))
		}
		if whole {
			var u utf8Check
			u.feed(fr.Close.Reason)
			if !u.ok() {
				h.anoms = append(h.anoms, newAnomaly(CodeCloseReasonInvalidUTF8,
					"the %d-byte close reason is not valid UTF-8", len(fr.Close.Reason)))
			}
		}
	}
}

// inflateUnit inflates what h.comp holds into the message (at the end of a
// compressed message, or of a deflate-frame frame).
func (c *Conn) inflateUnit(dst []Event, h *half, s Seg, cut bool) []Event {
	defer func() {
		h.dropComp()
		h.compOver = false
	}()
	if h.inf == nil {
		if h.infBits == 0 { // mid-stream: nothing negotiated
			h.infBits, h.infTake, h.infFull = 15, true, false
		}
		h.inf = newInflater(h.infBits, h.infTake, h.infFull)
	}
	m := &h.msg
	var why string
	switch {
	case cut:
		why = "the message is incomplete in the capture"
	case m.Lost > 0:
		why = fmt.Sprintf("%d compressed bytes were lost from the capture", m.Lost)
	case h.compOver:
		why = fmt.Sprintf("the compressed message is longer than the %d-byte buffer limit", c.opt.MaxCompressed)
	}
	if why != "" {
		h.inf.hist, h.inf.histFull = h.inf.hist[:0], false
		h.inf.lost = fmt.Sprintf("message %d was not inflated: %s", m.N, why)
		c.rawPayload(h, why)
		return dst
	}
	start := len(h.buf)
	startLen, startTrunc := m.Len, m.Truncated
	utf := h.utf8
	res := h.inf.inflate(h.comp, c.opt.MaxInflate-int64(m.Len),
		func(b []byte) { c.msgData(h, b) },
		func() { h.buf, m.Len, m.Truncated, h.utf8 = h.buf[:start], startLen, startTrunc, utf })
	if res.err != nil {
		// Each failure is an anomaly with its cause; the message is shown
		// raw. The history is gone with it: later messages that refer to
		// it fail as inflate_no_context.
		h.buf, m.Len, m.Truncated, h.utf8 = h.buf[:start], startLen, startTrunc, utf
		lost := h.inf.lost
		h.inf.lost = fmt.Sprintf("message %d did not inflate", m.N)
		switch {
		case res.noContext:
			c.rawPayload(h, "cannot inflate: it refers to compression history that is missing ("+lost+")")
			dst = c.anomaly(dst, h.role, s, newAnomaly(CodeInflateNoContext,
				"message %d refers to compressed history that is missing (%s); it is shown raw", m.N, lost))
		case res.windowExceeded:
			c.rawPayload(h, "cannot inflate: it refers farther back than the negotiated window")
			dst = c.anomaly(dst, h.role, s, newAnomaly(CodeInflateWindowExceeded,
				"message %d refers farther back than the negotiated %d-byte window; it is shown raw", m.N, h.inf.window))
		case res.beforeStart && !h.inf.takeover:
			c.rawPayload(h, "inflate: it refers to bytes before the message under no_context_takeover ("+res.err.Error()+")")
			dst = c.anomaly(dst, h.role, s, newAnomaly(CodeInflateFailed,
				"message %d refers to bytes before its start, but no_context_takeover is in force: %v", m.N, res.err))
		case res.beforeStart:
			c.rawPayload(h, "inflate: it refers to bytes before the compressed stream started ("+res.err.Error()+")")
			dst = c.anomaly(dst, h.role, s, newAnomaly(CodeInflateFailed,
				"message %d refers to bytes before the compressed stream started: %v", m.N, res.err))
		default:
			c.rawPayload(h, "inflate: "+res.err.Error())
			dst = c.anomaly(dst, h.role, s, newAnomaly(CodeInflateFailed,
				"message %d does not inflate: %v", m.N, res.err))
		}
	} else {
		if res.limited {
			m.Truncated = true
			h.inf.lost = fmt.Sprintf("message %d inflated past the limit", m.N)
			dst = c.anomaly(dst, h.role, s, newAnomaly(CodeInflateLimit,
				"message %d inflates past the %d-byte limit; the rest is not decoded", m.N, c.opt.MaxInflate))
		}
	}
	return dst
}

// rawPayload marks the message undecodable and keeps its wire bytes.
func (c *Conn) rawPayload(h *half, why string) {
	m := &h.msg
	m.DecodeError = why
	m.Len += uint64(len(h.comp))
	keep := min(len(h.comp), c.opt.MaxPayload-len(h.buf))
	if keep > 0 {
		h.appendBuf(h.comp[:keep], c.opt.MaxPayload)
	}
	if keep < len(h.comp) {
		m.Truncated = true
	}
}

// finishMessage emits the open message (cut: it did not end normally).
func (c *Conn) finishMessage(dst []Event, h *half, s Seg, cut bool) []Event {
	if !h.inMsg {
		return dst
	}
	m := &h.msg
	if h.msgComp {
		dst = c.inflateUnit(dst, h, s, cut)
	}
	m.Cut = cut
	if cut && c.evicted {
		m.Truncated = true // dropped by the memory budget (memcap_evicted)
	}
	var anoms [1]Anomaly
	na := 0
	if m.Opcode == OpText && m.DecodeError == "" {
		switch {
		case h.utf8.bad && m.Lost == 0:
			anoms[0] = newAnomaly(CodeTextInvalidUTF8, "text message %d (%d bytes) is not valid UTF-8", m.N, m.Len)
			na = 1
		case h.utf8.ok():
			m.UTF8Valid = m.Lost == 0
		case !cut && m.Lost == 0 && !m.Truncated:
			anoms[0] = newAnomaly(CodeTextInvalidUTF8, "text message %d (%d bytes) ends inside a UTF-8 sequence", m.N, m.Len)
			na = 1
		default:
			m.UTF8Valid = !h.utf8.bad && m.Lost == 0 && !cut
		}
	}
	m.Payload = c.lendBuf(h)
	h.messages++
	dst = c.event(dst, KindMessage, h.role, s)
	dst[len(dst)-1].Message = *m
	if c.opt.App != nil {
		dst = c.appMessage(dst, &dst[len(dst)-1], h.role, s)
	}
	dst = c.anomalies(dst, h.role, s, anoms[:na])
	h.inMsg, h.msgComp = false, false
	h.utf8.reset()
	return dst
}

// appMessage hands a complete message to the application layer, made at
// the first one, and appends the layer's anomalies. ev is the message
// event in dst: it is annotated in place.
func (c *Conn) appMessage(dst []Event, ev *Event, from Role, s Seg) []Event {
	c.makeApp(nil) // without a handshake (mid-stream)
	if c.app == nil {
		return dst
	}
	var buf [2]Anomaly
	var as []Anomaly
	ev.App, as = c.app.Message(&ev.Message, from, buf[:0])
	return c.anomalies(dst, from, s, as)
}

// makeApp makes the application layer once, when the handshake is known
// (hs), or at the first message of a connection without one (nil).
func (c *Conn) makeApp(hs *Handshake) {
	if c.appMade || c.opt.App == nil || !c.rolesKnown {
		return
	}
	c.appMade = true
	c.app = c.opt.App(hs, c.meta.Addr[c.clientSide], c.meta.Addr[c.clientSide^1])
}

func shrink(b []byte, max int) []byte {
	if cap(b) > max {
		return nil
	}
	return b
}

// ---- gaps and ends ----

func (c *Conn) gap(dst []Event, h *half, n int64, s Seg) []Event {
	if h.state == stHold {
		h.ht().holdChunks = append(h.ht().holdChunks, heldChunk{end: len(h.ht().hold), gap: n, seg: s})
		return dst
	}
	if c.announced {
		dst = c.event(dst, KindGap, h.role, s)
		dst[len(dst)-1].Gap = n
	}
	h.pos += n
	switch h.state {
	case stOpaque, stLost:
		h.undecoded += n
		return dst
	case stPayload:
		if uint64(n) <= h.remaining {
			h.fr.Lost += uint64(n)
			h.remaining -= uint64(n)
			h.maskPos = uint8((int64(h.maskPos) + n) & 3)
			if h.frData {
				h.msg.Lost += uint64(n)
				h.msg.WireLen += uint64(n)
			}
			if h.remaining == 0 {
				dst = c.finishFrame(dst, h, s, false)
			}
			return dst
		}
	}
	// A gap in a frame header or an HTTP head: framing is lost.
	if c.announced {
		where := "an HTTP head"
		switch h.state {
		case stHeader:
			where = "a frame header"
		case stPayload:
			where = "a frame and the header after it"
		case stBody:
			where = "an HTTP body"
		}
		dst = c.anomaly(dst, h.role, s, newAnomaly(CodeFramingLost,
			"%d bytes were lost inside %s at stream offset %d; the rest of this direction is not decoded", n, where, h.pos-n))
	}
	if h.state == stPayload {
		h.fr.Lost += h.remaining
		if h.frData {
			h.msg.Lost += h.remaining
		}
		h.gapCut = true
		dst = c.finishFrame(dst, h, s, true)
		h.gapCut = false
	} else if h.inMsg {
		dst = c.finishMessage(dst, h, s, true)
	}
	h.hdrN = 0
	if h.hp != nil {
		h.hp.head = h.hp.head[:0]
	}
	h.state = stLost
	h.undecoded += n
	return dst
}

func (c *Conn) end(dst []Event, h *half, s Seg, closing bool, reason EndReason) []Event {
	if h.state == stEnded {
		return dst
	}
	if h.state == stHold && !closing {
		h.ht().endPending, h.ht().endSeg, h.ht().endReason = true, s, reason
		return dst
	}
	if h.hp != nil && h.hp.endPending {
		reason = h.hp.endReason // the End that came while holding says why
	}
	switch h.state {
	case stHeader:
		if h.hdrN > 0 && c.announced && !c.evicted {
			dst = c.anomaly(dst, h.role, s, newAnomaly(CodeStreamTruncated,
				"the direction ended inside a frame header (%d bytes of it seen)", h.hdrN))
		}
		h.undecoded += int64(h.hdrN)
		h.hdrN = 0
		if h.inMsg {
			if !c.evicted {
				dst = c.anomaly(dst, h.role, s, newAnomaly(CodeStreamTruncated,
					"the direction ended inside fragmented message %d after %d frames", h.msg.N, h.msg.Frames))
			}
			dst = c.finishMessage(dst, h, s, true)
		}
	case stPayload:
		dst = c.finishFrame(dst, h, s, true)
	case stHold:
		h.undecoded += int64(len(h.ht().hold))
		h.ht().hold, h.ht().holdChunks = nil, nil
	}
	h.state = stEnded
	if h.role == RoleServer && c.hsPending {
		dst = c.handshakeIncomplete(dst, s)
	}
	// A server response held for a request that never came.
	other := &c.h[h.side^1]
	if other.state == stHold && !c.hsPending && h.role != RoleServer {
		c.orphanOK = true
		other.state = stHead
		dst = c.release(dst, other)
	}
	if c.announced || c.tls != nil {
		// A TLS connection's directions end in events even when it is not
		// (or cannot be seen to be) WebSocket: they date its last packets.
		dst = c.event(dst, KindEnd, c.roleOf(h.side), s)
		dst[len(dst)-1].End = End{Bytes: h.bytes, Undecoded: h.undecoded, Frames: h.frames, Messages: h.messages, Reason: reason}
	}
	return dst
}
