package output

import (
	"bufio"
	"cmp"
	"encoding/base64"
	"io"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wscap/wscap/decode"
	"github.com/wscap/wscap/dfilter"
)

// HAROptions configure [NewHAR].
type HAROptions struct {
	// Version is the log.creator.version ("devel", "1.4.0").
	Version string
	// Filter (-Y), if set: a WebSocket is exported when one of its events
	// matches, with the data messages that match (as --json prints them).
	Filter *dfilter.Filter
	// MemBudget bounds the finished entry text kept in memory (0:
	// harMemBudget); past it entries are spooled to a temporary file.
	MemBudget int
}

const (
	// harMemBudget is the default HAROptions.MemBudget.
	harMemBudget = 16 << 20
	// harChunk is the size at which a WebSocket's entry text is moved
	// out of its open buffer (into the budget or the spool file): an open
	// WebSocket holds at most this much plus one message.
	harChunk = 64 << 10
)

// NewHAR returns an [Exporter] that writes a HAR 1.2 log
// (http://www.softwareishard.com/blog/har-12-spec/) to w at Close, as
// Chrome DevTools writes WebSockets: one entry per WebSocket (HTTP/1.1
// Upgrade or RFC 8441 stream, ws:// or decrypted wss://) with the Upgrade
// request and its response, "_resourceType": "websocket" and the data
// messages in "_webSocketMessages" ({type: "send"|"receive", time: epoch
// seconds, opcode: 1|2, data: text as text, binary as base64}). Chrome
// records data messages only, never ping, pong or close frames (Blink's
// WebSocketChannelImpl reports messages to the inspector, the network
// service answers pings and closes), so the control frames are counted in
// the entry's "_wscap" object instead. Entries are sorted by
// startedDateTime. Payloads are what the decoder kept (--max-payload): a
// message cut there carries "_wscap": {"truncated": true, "len": N}.
//
// Memory: an open WebSocket holds its entry text up to 64 KiB (plus the
// message being added); finished text is kept in memory up to
// HAROptions.MemBudget and spooled to an unlinked temporary file past it.
// If w is an io.Closer, Close closes it.
func NewHAR(w io.Writer, opt HAROptions) Exporter {
	if opt.MemBudget <= 0 {
		opt.MemBudget = harMemBudget
	}
	if opt.Version == "" {
		opt.Version = "devel"
	}
	return &harExporter{w: w, opt: opt, open: make(map[harKey]*harConn)}
}

type harKey struct {
	conn   int
	stream uint32
}

// harChunkRef is a piece of an entry's text: in memory, or in the spool.
type harChunkRef struct {
	mem    []byte
	off, n int64
}

// harEntry is a finished entry: its text in pieces, and how it sorts.
type harEntry struct {
	start  time.Time
	key    harKey
	seq    int
	chunks []harChunkRef
}

// harDir counts what one direction sent besides data messages.
type harDir struct {
	messages, pings, pongs int
	closeSeen, closeCoded  bool
	closeCode              uint16
	closeReason            string
	closeTime              time.Time
}

// harConn is the state of one open WebSocket.
type harConn struct {
	key      harKey
	info     decode.ConnInfo
	hasInfo  bool
	matched  bool // an event passed the filter
	started  bool // the entry's head is written
	start    time.Time
	reqTime  time.Time
	respTime time.Time // zero: no response
	last     time.Time
	reqPkt   int
	respPkt  int
	ends     int
	nmsg     int // messages written (for the commas)
	trunc    int
	tls      *decode.TLSInfo
	dir      [2]harDir
	buf      []byte
	chunks   []harChunkRef
}

type harExporter struct {
	w       io.Writer
	opt     HAROptions
	open    map[harKey]*harConn
	done    []harEntry
	memUsed int
	seq     int
	spool   *os.File
	sw      *bufio.Writer
	off     int64
	ts      tsCache
	err     error
	closed  bool
}

// Write adds the events to their WebSockets' entries.
func (h *harExporter) Write(evs []decode.Event) error {
	if h.err != nil {
		return h.err
	}
	for i := range evs {
		h.event(&evs[i])
	}
	return h.err
}

func (h *harExporter) event(ev *decode.Event) {
	k := harKey{ev.Conn, ev.H2Stream}
	c := h.open[k]
	if c == nil {
		if ev.Kind != decode.KindConn {
			return // not a WebSocket (TLS, plain HTTP) or already exported
		}
		c = &harConn{key: k}
		h.open[k] = c
	}
	if ev.Kind == decode.KindConn && ev.Info != nil {
		c.info, c.hasInfo = *ev.Info, true
	}
	if ev.Kind == decode.KindTLS && ev.TLS != nil {
		t := *ev.TLS
		c.tls = &t
	}
	if c.start.IsZero() {
		c.start = ev.Time
	}
	if ev.Time.After(c.last) {
		c.last = ev.Time
	}
	show := true
	if f := h.opt.Filter; f != nil {
		var info *decode.ConnInfo
		if c.hasInfo {
			info = &c.info
		}
		show = f.Match(ev, info)
	}
	if show {
		c.matched = true
	}
	d := roleIndex(ev.From)
	switch ev.Kind {
	case decode.KindHandshake:
		if c.started {
			// A second Upgrade on the connection (the first one refused):
			// a new entry, as a browser retrying would make.
			h.finish(c)
			c = &harConn{key: k, info: c.info, hasInfo: c.hasInfo, tls: c.tls, start: ev.Time, last: ev.Time, matched: show}
			h.open[k] = c
		}
		if ev.Handshake != nil {
			h.head(c, ev, ev.Handshake)
		}
	case decode.KindMessage:
		if d < 0 {
			return
		}
		c.dir[d].messages++
		if !show {
			return
		}
		if !c.started {
			h.head(c, ev, nil)
		}
		h.message(c, ev)
	case decode.KindFrame:
		if d < 0 {
			return
		}
		switch ev.Frame.Opcode {
		case decode.OpPing:
			c.dir[d].pings++
		case decode.OpPong:
			c.dir[d].pongs++
		case decode.OpClose:
			x := &c.dir[d]
			if !x.closeSeen {
				x.closeSeen, x.closeTime = true, ev.Time
				x.closeCoded, x.closeCode = ev.Frame.Close.HasCode, ev.Frame.Close.Code
				r := ev.Frame.Close.Reason
				if len(r) > 123 {
					r = r[:123] // RFC 6455 §5.5: a control payload is at most 125 bytes
				}
				x.closeReason = string(r)
			}
		}
	case decode.KindEnd:
		c.ends++
		if c.ends >= 2 {
			h.finish(c)
		}
	}
}

// head writes the start of c's entry: request, response and the opening
// of _webSocketMessages. hs is nil for a WebSocket picked up mid-stream.
func (h *harExporter) head(c *harConn, ev *decode.Event, hs *decode.Handshake) {
	c.started = true
	var x decode.Handshake
	if hs != nil {
		x = *hs
		c.reqPkt, c.respPkt = x.RequestPacket, x.ResponsePacket
		if x.TLS != nil {
			t := *x.TLS
			c.tls = &t
		}
	}
	c.reqTime = x.RequestTime
	if c.reqTime.IsZero() {
		c.reqTime = c.start
	}
	if x.Status != 0 {
		c.respTime = ev.Time
	}
	b := c.buf
	b = append(b, `{"startedDateTime":"`...)
	b = c.reqTime.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	b = append(b, `","_resourceType":"websocket","request":{"method":`...)
	method := x.Method
	if method == "" {
		method = "GET"
	}
	b = appendJSONString(b, method)
	b = append(b, `,"url":`...)
	u, query := harURL(&x, c)
	b = appendJSONString(b, u)
	b = append(b, `,"httpVersion":`...)
	b = appendJSONString(b, harVersion(x.Proto, x.H2Stream))
	b = harHeaders(append(b, `,"headers":`...), x.Request)
	b = append(b, `,"queryString":[`...)
	for i, q := range query {
		if i > 0 {
			b = append(b, ',')
		}
		b = harPair(b, q[0], q[1])
	}
	b = append(b, `],"cookies":`...)
	b = harCookies(b, x.Request, "cookie")
	b = append(b, `,"headersSize":-1,"bodySize":0},"response":{"status":`...)
	b = strconv.AppendInt(b, int64(x.Status), 10)
	b = append(b, `,"statusText":`...)
	b = appendJSONString(b, x.Reason)
	b = append(b, `,"httpVersion":`...)
	if x.Status != 0 {
		b = appendJSONString(b, harVersion(x.Proto, x.H2Stream))
	} else {
		b = append(b, `""`...)
	}
	b = harHeaders(append(b, `,"headers":`...), x.Response)
	b = append(b, `,"cookies":`...)
	b = harCookies(b, x.Response, "set-cookie")
	b = append(b, `,"content":{"size":0,"mimeType":"x-unknown"},"redirectURL":`...)
	b = appendJSONString(b, headerValue(x.Response, "location"))
	b = append(b, `,"headersSize":-1,"bodySize":0},"serverIPAddress":"`...)
	if c.info.Server.IsValid() {
		b = c.info.Server.Addr().Unmap().AppendTo(b)
	}
	b = append(b, `","connection":"`...)
	b = strconv.AppendInt(b, int64(c.key.conn), 10)
	b = append(b, `","cache":{},"_webSocketMessages":[`...)
	c.buf = b
}

// message appends one data message as Chrome writes it.
func (h *harExporter) message(c *harConn, ev *decode.Event) {
	m := &ev.Message
	b := c.buf
	if c.nmsg > 0 {
		b = append(b, ',')
	}
	c.nmsg++
	if ev.From == decode.RoleClient {
		b = append(b, `{"type":"send","time":`...)
	} else {
		b = append(b, `{"type":"receive","time":`...)
	}
	b = harEpoch(b, ev.Time)
	op := int64(m.Opcode)
	if m.Opcode != decode.OpText && m.Opcode != decode.OpBinary {
		op = int64(decode.OpBinary)
	}
	b = strconv.AppendInt(append(b, `,"opcode":`...), op, 10)
	b = append(b, `,"data":`...)
	latin1 := false
	switch {
	case m.Opcode == decode.OpText && m.DecodeError == "" && m.UTF8Valid:
		b = appendJSONText(b, trimPartialRune(m.Payload))
	case m.Opcode == decode.OpText && m.DecodeError == "":
		// Blink: String::FromUTF8WithLatin1Fallback.
		b = harLatin1(b, m.Payload)
		latin1 = true
	default:
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, m.Payload)
		b = append(b, '"')
	}
	if m.Truncated || m.Lost > 0 || m.Cut || m.DecodeError != "" || latin1 || appShown(ev.App) {
		b = append(b, `,"_wscap":{"n":`...)
		b = strconv.AppendInt(b, int64(m.N), 10)
		if m.Truncated {
			c.trunc++
			b = jBool(b, "truncated", true)
			b = jUint(b, "len", m.Len)
		}
		if m.Lost > 0 {
			b = jUint(b, "lost_bytes", m.Lost)
		}
		if m.Cut {
			b = jBool(b, "cut", true)
		}
		if m.DecodeError != "" {
			b = jStr(b, "decode_error", m.DecodeError)
		}
		if latin1 {
			b = jRaw(b, "encoding", "latin1")
		}
		b = appendAppJSON(b, ev.App, m.Payload)
		b = append(b, '}')
	}
	c.buf = append(b, '}')
	if len(c.buf) >= harChunk {
		c.chunks = append(c.chunks, h.keep(c.buf))
		c.buf = nil
	}
}

// finish closes c's entry and moves it to the finished ones.
func (h *harExporter) finish(c *harConn) {
	delete(h.open, c.key)
	if !c.matched {
		return
	}
	if !c.started {
		h.head(c, &decode.Event{Time: c.start}, nil)
	}
	b := append(c.buf, `],"time":`...)
	wait, receive := c.last.Sub(c.reqTime), time.Duration(0)
	if !c.respTime.IsZero() {
		wait, receive = c.respTime.Sub(c.reqTime), c.last.Sub(c.respTime)
	}
	wait, receive = max(wait, 0), max(receive, 0)
	b = harMillis(b, wait+receive)
	b = append(b, `,"timings":{"blocked":-1,"dns":-1,"ssl":-1,"connect":-1,"send":0,"wait":`...)
	b = harMillis(b, wait)
	b = append(b, `,"receive":`...)
	b = harMillis(b, receive)
	b = append(b, `},"_wscap":{"conn":`...)
	b = strconv.AppendInt(b, int64(c.key.conn), 10)
	if c.key.stream != 0 {
		b = jInt(b, "h2_stream", int64(c.key.stream))
	}
	b = jAddr(b, "client", c.info.Client)
	b = jAddr(b, "server", c.info.Server)
	b = jBool(b, "midstream", c.info.Midstream)
	if c.reqPkt > 0 {
		b = jInt(b, "request_pkt", int64(c.reqPkt))
	}
	if c.respPkt > 0 {
		b = jInt(b, "response_pkt", int64(c.respPkt))
	}
	if c.tls != nil {
		b = jRaw(b, "tls", c.tls.Version)
		b = jBool(b, "decrypted", c.tls.Decrypted)
	}
	if c.trunc > 0 {
		b = jInt(b, "truncated_messages", int64(c.trunc))
	}
	for d, name := range [2]string{"send", "receive"} {
		x := &c.dir[d]
		b = append(key(b, name), `{"messages":`...)
		b = strconv.AppendInt(b, int64(x.messages), 10)
		b = jInt(b, "pings", int64(x.pings))
		b = jInt(b, "pongs", int64(x.pongs))
		if x.closeSeen {
			b = append(key(b, "close"), `{"time":`...)
			b = harEpoch(b, x.closeTime)
			if x.closeCoded {
				b = jInt(b, "code", int64(x.closeCode))
			}
			b = jStr(b, "reason", x.closeReason)
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	b = append(b, '}', '}')
	c.chunks = append(c.chunks, h.keep(b))
	h.seq++
	h.done = append(h.done, harEntry{start: c.reqTime, key: c.key, seq: h.seq, chunks: c.chunks})
}

// keep stores a piece of entry text: in memory within the budget, else in
// the spool file. The piece's buffer is the caller's no longer.
func (h *harExporter) keep(b []byte) harChunkRef {
	if h.memUsed+len(b) <= h.opt.MemBudget {
		h.memUsed += len(b)
		return harChunkRef{mem: b}
	}
	if h.err != nil {
		return harChunkRef{}
	}
	if h.spool == nil {
		f, err := os.CreateTemp("", "wscap-har-*")
		if err != nil {
			h.err = err
			return harChunkRef{}
		}
		os.Remove(f.Name()) // unlinked: gone with the process
		h.spool, h.sw = f, bufio.NewWriterSize(f, bufSize)
	}
	r := harChunkRef{off: h.off, n: int64(len(b))}
	if _, err := h.sw.Write(b); err != nil {
		h.err = err
	}
	h.off += int64(len(b))
	return r
}

// Close finishes the WebSockets still open and writes the log.
func (h *harExporter) Close() error {
	if h.closed {
		return h.err
	}
	h.closed = true
	open := make([]*harConn, 0, len(h.open))
	for _, c := range h.open {
		open = append(open, c)
	}
	slices.SortFunc(open, func(a, b *harConn) int {
		return cmp.Or(cmp.Compare(a.key.conn, b.key.conn), cmp.Compare(a.key.stream, b.key.stream))
	})
	for _, c := range open {
		h.finish(c)
	}
	err := h.write()
	if h.spool != nil {
		h.spool.Close()
	}
	if cl, ok := h.w.(io.Closer); ok {
		if e := cl.Close(); err == nil {
			err = e
		}
	}
	if h.err == nil {
		h.err = err
	}
	return h.err
}

func (h *harExporter) write() error {
	if h.err != nil {
		return h.err
	}
	if h.sw != nil {
		if err := h.sw.Flush(); err != nil {
			return err
		}
	}
	slices.SortStableFunc(h.done, func(a, b harEntry) int {
		return cmp.Or(a.start.Compare(b.start), cmp.Compare(a.key.conn, b.key.conn),
			cmp.Compare(a.key.stream, b.key.stream), cmp.Compare(a.seq, b.seq))
	})
	w := bufio.NewWriterSize(h.w, bufSize)
	head := append([]byte(`{"log":{"version":"1.2","creator":{"name":"wscap","version":`), nil...)
	head = appendJSONString(head, h.opt.Version)
	head = append(head, `},"pages":[],"entries":[`...)
	w.Write(head)
	for i, e := range h.done {
		if i > 0 {
			w.WriteString(",\n")
		} else {
			w.WriteString("\n")
		}
		for _, r := range e.chunks {
			if r.mem != nil {
				w.Write(r.mem)
				continue
			}
			if _, err := io.Copy(w, io.NewSectionReader(h.spool, r.off, r.n)); err != nil {
				return err
			}
		}
	}
	w.WriteString("\n]}}\n")
	return w.Flush()
}

// harURL builds the entry's URL (scheme from TLS, host from Host or
// :authority, else the server address) and its query parameters.
func harURL(x *decode.Handshake, c *harConn) (string, [][2]string) {
	scheme := "ws"
	if c.tls != nil || x.H2Stream != 0 && pseudo(x.Request, ":scheme") == "https" {
		scheme = "wss"
	}
	host := x.Host
	if host == "" {
		host = hostOf(c.info.Server)
	}
	path := x.Path
	var u string
	switch {
	case strings.Contains(path, "://"):
		// absolute-form (RFC 9112 §3.2.2): the URL as sent, scheme as
		// the connection used it.
		_, rest, _ := strings.Cut(path, "://")
		u = scheme + "://" + rest
	case strings.HasPrefix(path, "/"):
		u = scheme + "://" + host + path
	default:
		u = scheme + "://" + host + "/" + path
	}
	if i := strings.IndexByte(u, '#'); i >= 0 {
		u = u[:i] // DevTools drops the fragment
	}
	_, q, ok := strings.Cut(u, "?")
	if !ok {
		return u, nil
	}
	var params [][2]string
	for part := range strings.SplitSeq(q, "&") {
		if part == "" {
			continue
		}
		name, value, _ := strings.Cut(part, "=")
		params = append(params, [2]string{unescape(name), unescape(value)})
	}
	return u, params
}

func unescape(s string) string {
	if v, err := url.QueryUnescape(s); err == nil {
		return v
	}
	return s
}

func hostOf(a netip.AddrPort) string {
	if !a.IsValid() {
		return "unknown"
	}
	return a.String()
}

func pseudo(hs []decode.HeaderField, name string) string {
	for _, f := range hs {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

// headerValue returns the first value of the header name (any case).
func headerValue(hs []decode.HeaderField, name string) string {
	for _, f := range hs {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// harVersion is the httpVersion as DevTools writes it.
func harVersion(proto string, stream uint32) string {
	if stream != 0 {
		return "HTTP/2.0"
	}
	if proto == "" {
		return "HTTP/1.1"
	}
	return proto
}

func harPair(b []byte, name, value string) []byte {
	b = append(b, `{"name":`...)
	b = appendJSONString(b, name)
	b = append(b, `,"value":`...)
	b = appendJSONString(b, value)
	return append(b, '}')
}

func harHeaders(b []byte, hs []decode.HeaderField) []byte {
	b = append(b, '[')
	for i, f := range hs {
		if i > 0 {
			b = append(b, ',')
		}
		b = harPair(b, f.Name, f.Value)
	}
	return append(b, ']')
}

// harCookies parses the Cookie headers (name=value; ...) of a request,
// or the Set-Cookie headers of a response (name=value before the first
// ';'), into HAR cookie objects.
func harCookies(b []byte, hs []decode.HeaderField, header string) []byte {
	b = append(b, '[')
	n := 0
	for _, f := range hs {
		if !strings.EqualFold(f.Name, header) {
			continue
		}
		parts := []string{f.Value}
		if header == "cookie" {
			parts = strings.Split(f.Value, ";")
		} else if i := strings.IndexByte(f.Value, ';'); i >= 0 {
			parts = []string{f.Value[:i]}
		}
		for _, p := range parts {
			name, value, ok := strings.Cut(strings.TrimSpace(p), "=")
			if !ok || strings.TrimSpace(name) == "" {
				continue
			}
			if n > 0 {
				b = append(b, ',')
			}
			n++
			b = harPair(b, strings.TrimSpace(name), strings.TrimSpace(value))
		}
	}
	return append(b, ']')
}

// harEpoch appends t as seconds since the Unix epoch with microseconds.
func harEpoch(b []byte, t time.Time) []byte {
	us := t.UnixMicro()
	b = strconv.AppendInt(b, us/1e6, 10)
	frac := us % 1e6
	if frac < 0 {
		frac = -frac
	}
	b = append(b, '.')
	s := strconv.AppendInt(nil, frac+1e6, 10) // leading 1 keeps the zeros
	return append(b, s[1:]...)
}

// harMillis appends d in milliseconds with microseconds.
func harMillis(b []byte, d time.Duration) []byte {
	return strconv.AppendFloat(b, float64(d.Microseconds())/1e3, 'f', -1, 64)
}

// harLatin1 appends p decoded as ISO 8859-1 as a JSON string.
func harLatin1(b []byte, p []byte) []byte {
	s := make([]byte, 0, len(p)*2)
	for _, c := range p {
		s = utf8.AppendRune(s, rune(c))
	}
	return appendJSONString(b, s)
}
