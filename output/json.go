package output

import (
	"encoding/base64"
	"io"
	"net/netip"
	"strconv"
	"time"

	"github.com/wscap/wscap/decode"
)

type jsonRenderer struct {
	base
	buf []byte // the line being built, reused
	ts  tsCache
	err error
}

func newJSON(w io.Writer, opt Options) *jsonRenderer {
	j := &jsonRenderer{buf: make([]byte, 0, 4096)}
	j.init(w, opt)
	return j
}

func (j *jsonRenderer) write(b []byte) {
	if j.err != nil {
		return
	}
	if err := j.put(b); err != nil {
		j.err = err
	}
}

// Write renders each event as one JSON object on its own line.
func (j *jsonRenderer) Write(evs []decode.Event) error {
	var ord Order
	ordered := false
	for i := range evs {
		ev := &evs[i]
		c := j.conns.get(ev.Conn, ev.H2Stream)
		c.update(ev)
		if ev.H2Stream != 0 && ev.Kind == decode.KindConn {
			j.conns.sawStream(ev.Conn)
		}
		// Lines are built in memory (a Shard's, or a block written out
		// when full: one copy less than through the bufio.Writer).
		if j.show(ev, c) {
			if j.opt.Order != nil {
				if !ordered {
					ord, ordered = j.opt.Order(), true
				}
				j.mem = withOrd(j.mem, ord, ev.Conn, func(b []byte) []byte { return appendEventJSON(b, ev, c, &j.ts) })
			} else {
				j.mem = appendEventJSON(j.mem, ev, c, &j.ts)
			}
			j.mem = append(j.mem, '\n')
		}
		if ev.Kind == decode.KindEnd {
			j.conns.ended(c)
		}
		if j.w != nil && len(j.mem) >= bufSize {
			j.pushMem()
		}
	}
	return j.err
}

// pushMem writes the lines built in memory to the bufio.Writer.
func (j *jsonRenderer) pushMem() {
	if len(j.mem) == 0 {
		return
	}
	if j.err == nil {
		if _, err := j.w.Write(j.mem); err != nil {
			j.err = err
		}
	}
	if cap(j.mem) > 32*bufSize {
		j.mem = nil
	}
	j.mem = j.mem[:0]
}

// Flush writes the buffered output to the underlying writer.
func (j *jsonRenderer) Flush() error {
	if j.w == nil {
		return nil
	}
	j.pushMem()
	if j.err != nil {
		return j.err
	}
	return j.w.Flush()
}

// Close writes one "summary" line per connection (when enabled) and flushes.
func (j *jsonRenderer) Close() error {
	if j.closed {
		return j.err
	}
	j.closed = true
	j.pushMem()
	if j.opt.Summary {
		for _, c := range j.conns.shown(j.conns.sorted()) {
			b := appendSummaryLine(j.buf[:0], c, &j.ts, j.opt.Order != nil)
			j.buf = b
			j.write(b)
		}
	}
	if err := j.w.Flush(); j.err == nil {
		j.err = err
	}
	return j.err
}

// Small helpers that append `,"key":value`.

func key(b []byte, k string) []byte {
	b = append(b, ',', '"')
	b = append(b, k...)
	return append(b, '"', ':')
}

func jInt(b []byte, k string, v int64) []byte {
	return strconv.AppendInt(key(b, k), v, 10)
}

func jUint(b []byte, k string, v uint64) []byte {
	return strconv.AppendUint(key(b, k), v, 10)
}

func jBool(b []byte, k string, v bool) []byte {
	return strconv.AppendBool(key(b, k), v)
}

func jStr[T string | []byte](b []byte, k string, v T) []byte {
	return appendJSONString(key(b, k), v)
}

// jRaw appends a string known to need no escaping.
func jRaw(b []byte, k string, v string) []byte {
	b = append(key(b, k), '"')
	b = append(b, v...)
	return append(b, '"')
}

func jTime(b []byte, k string, t time.Time, c *tsCache) []byte {
	b = append(key(b, k), '"')
	b = c.append(b, t, 9)
	return append(b, '"')
}

// appendUnixTime appends t as Unix seconds, a JSON number with all nine
// fraction digits (1709294400.009802000), written from the integers so
// that it is exact: a float64 holds only about 7 digits of fraction at
// today's seconds.
func appendUnixTime(b []byte, t time.Time) []byte {
	sec, ns := t.Unix(), int64(t.Nanosecond())
	if sec < 0 && ns > 0 {
		// Before 1970: -1.25 is Unix -2 plus 0.75 s.
		sec, ns = sec+1, 1e9-ns
		if sec == 0 {
			b = append(b, '-')
		}
	}
	b = strconv.AppendInt(b, sec, 10)
	var frac [10]byte
	frac[0] = '.'
	for i := 9; i >= 1; i-- {
		frac[i] = byte('0' + ns%10)
		ns /= 10
	}
	return append(b, frac[:]...)
}

func jAddr(b []byte, k string, a netip.AddrPort) []byte {
	b = append(key(b, k), '"')
	if a.IsValid() {
		b = a.AppendTo(b)
	}
	return append(b, '"')
}

func jB64(b []byte, k string, p []byte) []byte {
	b = append(key(b, k), '"')
	b = base64.StdEncoding.AppendEncode(b, p)
	return append(b, '"')
}

// appendEventJSON appends ev as one JSON object (no newline). c holds the
// connection's endpoints for handshake events.
func appendEventJSON(b []byte, ev *decode.Event, c *connStats, tc *tsCache) []byte {
	b = append(b, `{"type":"`...)
	b = append(b, ev.Kind.String()...)
	b = append(b, '"')
	b = jInt(b, "conn", int64(ev.Conn))
	if ev.H2Stream != 0 {
		// A WebSocket over HTTP/2 (RFC 8441): the TCP connection and
		// the stream identify it, as in Wireshark.
		b = jInt(b, "h2_stream", int64(ev.H2Stream))
	}
	b = jTime(b, "ts", ev.Time, tc)
	b = appendUnixTime(key(b, "ts_unix"), ev.Time)
	b = jInt(b, "pkt", int64(ev.Packet))
	b = jInt(b, "seq", int64(ev.Seq))

	switch ev.Kind {
	case decode.KindConn:
		var info decode.ConnInfo
		if ev.Info != nil {
			info = *ev.Info
		}
		b = jAddr(b, "client", info.Client)
		b = jAddr(b, "server", info.Server)
		b = jBool(b, "midstream", info.Midstream)
		if ev.H2Stream != 0 {
			b = jRaw(b, "transport", "h2")
		}
		if info.CommunityID != "" {
			b = jRaw(b, "community_id", info.CommunityID)
		}

	case decode.KindHandshake:
		b = jAddr(b, "client", c.info.Client)
		b = jAddr(b, "server", c.info.Server)
		var h decode.Handshake
		if ev.Handshake != nil {
			h = *ev.Handshake
		}
		b = appendHandshakeJSON(b, &h)

	case decode.KindFrame:
		f := &ev.Frame
		b = jRaw(b, "from", roleJSON(ev.From))
		b = jBool(b, "fin", f.Fin)
		b = jInt(b, "rsv", int64(f.Rsv))
		b = jRaw(b, "opcode", f.Opcode.String())
		b = jBool(b, "masked", f.Masked)
		b = append(key(b, "mask_key"), '"')
		if f.Masked {
			b = appendHex(b, f.MaskKey[:])
		}
		b = append(b, '"')
		b = jUint(b, "len", f.PayloadLen)
		b = jInt(b, "header_len", int64(f.Len))
		b = jInt(b, "payload_len_bits", int64(f.LenBits))
		b = jInt(b, "offset", f.Offset)
		b = jInt(b, "first_pkt", int64(f.FirstPacket))
		if f.Message > 0 {
			b = jInt(b, "msg", int64(f.Message))
		}
		b = jBool(b, "compressed", f.Compressed)
		b = jUint(b, "seen", f.Seen)
		if f.Lost > 0 {
			b = jUint(b, "lost_bytes", f.Lost)
		}
		if f.Cut {
			b = jBool(b, "cut", true)
		}
		switch f.Opcode {
		case decode.OpPing, decode.OpPong:
			b = jB64(b, "data", f.Payload)
		case decode.OpClose:
			if f.Close.HasCode {
				b = jInt(b, "close_code", int64(f.Close.Code))
			}
			b = jStr(b, "close_reason", f.Close.Reason)
		}

	case decode.KindMessage:
		m := &ev.Message
		b = jRaw(b, "from", roleJSON(ev.From))
		b = jRaw(b, "opcode", m.Opcode.String())
		b = jUint(b, "len", m.Len)
		b = jInt(b, "frames", int64(m.Frames))
		b = jBool(b, "compressed", m.Compressed)
		b = jUint(b, "wire_len", m.WireLen)
		b = jInt(b, "n", int64(m.N))
		b = jInt(b, "first_pkt", int64(m.FirstPacket))
		if m.Truncated {
			b = jBool(b, "truncated", true)
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
		if m.Opcode == decode.OpText && m.UTF8Valid && m.DecodeError == "" {
			b = appendJSONText(key(b, "text"), trimPartialRune(m.Payload))
		} else {
			b = jB64(b, "data", m.Payload)
		}
		b = appendAppJSON(b, ev.App, m.Payload)

	case decode.KindAnomaly:
		a := &ev.Anomaly
		b = jStr(b, "code", string(a.Code))
		b = jRaw(b, "severity", a.Severity.String())
		if r := roleJSON(ev.From); r != "" {
			b = jRaw(b, "from", r)
		}
		b = jStr(b, "detail", a.Detail)
		b = jStr(b, "ref", a.Ref)

	case decode.KindGap:
		b = jRaw(b, "from", roleJSON(ev.From))
		b = jInt(b, "bytes", ev.Gap)

	case decode.KindTLS:
		b = appendTLSJSON(b, ev.TLS)

	case decode.KindEnd:
		e := &ev.End
		b = jRaw(b, "from", roleJSON(ev.From))
		b = jInt(b, "bytes", e.Bytes)
		b = jInt(b, "undecoded", e.Undecoded)
		b = jInt(b, "frames", int64(e.Frames))
		b = jInt(b, "messages", int64(e.Messages))
		b = jRaw(b, "reason", e.Reason.String())
	}
	return append(b, '}')
}

func appendHandshakeJSON(b []byte, h *decode.Handshake) []byte {
	b = jStr(b, "method", h.Method)
	b = jStr(b, "path", h.Path)
	b = jStr(b, "http_version", h.Proto)
	b = jStr(b, "host", h.Host)
	b = jStr(b, "origin", h.Origin)
	b = jStr(b, "user_agent", h.UserAgent)
	b = jStr(b, "version", h.Version)
	b = jStr(b, "key", h.Key)
	b = jStr(b, "accept", h.Accept)
	if h.H2Stream == 0 {
		b = jBool(b, "accept_valid", h.AcceptValid)
	} else {
		// RFC 8441 has no Sec-WebSocket-Accept.
		b = jRaw(b, "transport", "h2")
		b = jStr(b, "h2_protocol", h.H2Protocol)
	}
	b = jInt(b, "status", int64(h.Status))
	b = jStr(b, "reason", h.Reason)
	b = append(key(b, "offered_protocols"), '[')
	for i, p := range h.OfferedProtocols {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, p)
	}
	b = append(b, ']')
	b = jStr(b, "protocol", h.Protocol)
	b = jStr(b, "offered_extensions", h.OfferedExtensions)
	b = jStr(b, "extensions", h.Extensions)
	b = jBool(b, "upgraded", h.Upgraded)
	if d := h.Deflate; d != nil {
		b = append(key(b, "deflate"), '{')
		b = strconv.AppendBool(append(b, `"server_no_context_takeover":`...), d.ServerNoContextTakeover)
		b = jBool(b, "client_no_context_takeover", d.ClientNoContextTakeover)
		b = jInt(b, "server_max_window_bits", int64(windowBits(d.ServerMaxWindowBits)))
		b = jInt(b, "client_max_window_bits", int64(windowBits(d.ClientMaxWindowBits)))
		b = append(b, '}')
	}
	if h.DeflateFrame {
		b = jBool(b, "deflate_frame", true)
	}
	b = jInt(b, "request_pkt", int64(h.RequestPacket))
	b = jInt(b, "response_pkt", int64(h.ResponsePacket))
	b = appendHeadersJSON(b, "request_headers", h.Request)
	b = appendHeadersJSON(b, "response_headers", h.Response)
	return b
}

// windowBits reports the effective LZ77 window: 15 when not given.
func windowBits(n int) int {
	if n == 0 {
		return 15
	}
	return n
}

func appendHeadersJSON(b []byte, k string, hs []decode.HeaderField) []byte {
	b = append(key(b, k), '[')
	for i, f := range hs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendJSONString(b, f.Name)
		b = append(b, `,"value":`...)
		b = appendJSONString(b, f.Value)
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendSummaryLine appends the "summary" line of one connection, with
// its "ord" member in a sharded run (ord).
func appendSummaryLine(b []byte, c *connStats, tc *tsCache, ord bool) []byte {
	if ord {
		b = withOrd(b, Order{Phase: OrderSummary}, c.id, func(b []byte) []byte { return appendSummaryJSON(b, c, tc) })
	} else {
		b = appendSummaryJSON(b, c, tc)
	}
	return append(b, '\n')
}

// appendSummaryJSON appends the "summary" object of one connection.
func appendSummaryJSON(b []byte, c *connStats, tc *tsCache) []byte {
	b = append(b, `{"type":"summary"`...)
	b = jInt(b, "conn", int64(c.id))
	if c.stream != 0 {
		b = jInt(b, "h2_stream", int64(c.stream))
		b = jRaw(b, "transport", "h2")
	}
	b = jTime(b, "ts", c.last, tc)
	b = jInt(b, "pkt", int64(c.lastPkt))
	b = jAddr(b, "client", c.info.Client)
	b = jAddr(b, "server", c.info.Server)
	b = jBool(b, "midstream", c.info.Midstream)
	if c.info.CommunityID != "" {
		b = jRaw(b, "community_id", c.info.CommunityID)
	}
	b = jStr(b, "path", c.path)
	b = jStr(b, "protocol", c.protocol)
	b = jStr(b, "extensions", c.extensions)
	accept := "none"
	switch c.accept {
	case "ok":
		accept = "ok"
	case "MISMATCH":
		accept = "mismatch"
	case "missing":
		accept = "missing"
	case "n/a":
		accept = "n/a"
	}
	b = jRaw(b, "accept", accept)
	b = jInt(b, "status", int64(c.status))
	b = jTime(b, "first_ts", c.first, tc)
	b = key(b, "duration")
	b = strconv.AppendFloat(b, c.last.Sub(c.first).Seconds(), 'f', -1, 64)
	for d, name := range [2]string{"client", "server"} {
		s := &c.dir[d]
		b = jInt(b, name+"_frames", int64(s.frames))
		b = jInt(b, name+"_messages", int64(s.messages))
		b = jUint(b, name+"_bytes", s.bytes)
		if s.closeSeen {
			if s.closeCoded {
				b = jInt(b, name+"_close_code", int64(s.closeCode))
			}
			b = jStr(b, name+"_close_reason", s.closeReason)
		}
	}
	reason, by := c.endReason()
	b = jRaw(b, "end_reason", reason)
	if by != "" {
		b = jRaw(b, "closed_by", by)
	}
	if c.timed {
		b = appendTimingJSON(b, c)
	}
	b = c.app.appendJSON(b)
	b = append(key(b, "anomalies"), '{')
	b = strconv.AppendInt(append(b, `"error":`...), int64(c.anomalies[decode.SeverityError]), 10)
	b = jInt(b, "warning", int64(c.anomalies[decode.SeverityWarning]))
	b = jInt(b, "info", int64(c.anomalies[decode.SeverityInfo]))
	return append(b, '}', '}')
}

// appendTimingJSON appends the timing statistics of c (README, "Timing
// statistics"): times in seconds, sizes in bytes.
func appendTimingJSON(b []byte, c *connStats) []byte {
	t := c.timing()
	b = append(key(b, "rtt"), '{')
	b = strconv.AppendInt(append(b, `"count":`...), int64(t.RTT.Count), 10)
	if t.RTT.Count > 0 {
		b = appendSeconds9(key(b, "min"), t.RTT.Min)
		b = appendSeconds9(key(b, "median"), t.RTT.Median)
		b = appendSeconds9(key(b, "p99"), t.RTT.P99)
		b = appendSeconds9(key(b, "max"), t.RTT.Max)
		b = jBool(b, "exact", t.RTT.Exact)
	}
	b = jInt(b, "unanswered", int64(t.PingsUnanswered))
	b = jInt(b, "unmatched", int64(t.PongsUnmatched))
	b = append(b, '}')
	for d, name := range [2]string{"client", "server"} {
		s := &t.Dir[d]
		b = append(key(b, name+"_rate"), '{')
		b = strconv.AppendUint(append(b, `"msgs_peak":`...), s.PeakMsgs, 10)
		b = strconv.AppendFloat(key(b, "msgs_mean"), s.MeanMsgs, 'f', 3, 64)
		b = jUint(b, "bytes_peak", s.PeakBytes)
		b = strconv.AppendFloat(key(b, "bytes_mean"), s.MeanBytes, 'f', 3, 64)
		b = append(b, '}')
		b = append(key(b, name+"_size"), '{')
		b = strconv.AppendInt(append(b, `"count":`...), int64(s.Size.Count), 10)
		if s.Size.Count > 0 {
			b = jInt(b, "median", s.Size.Median)
			b = jInt(b, "p99", s.Size.P99)
			b = jInt(b, "max", s.Size.Max)
			b = jBool(b, "exact", s.Size.Exact)
		}
		b = append(b, '}')
	}
	if t.HasCloseHandshake {
		b = appendSeconds9(key(b, "close_handshake"), int64(t.CloseHandshake))
	}
	if t.HasCloseToEnd {
		b = appendSeconds9(key(b, "close_to_end"), int64(t.CloseToEnd))
	}
	b = appendSeconds9(key(b, "longest_silence"), int64(t.LongestSilence))
	return b
}

// appendSeconds9 appends ns nanoseconds as seconds with nine fraction
// digits, exactly.
func appendSeconds9(b []byte, ns int64) []byte {
	if ns < 0 {
		b = append(b, '-')
		ns = -ns
	}
	b = strconv.AppendInt(b, ns/1e9, 10)
	var frac [10]byte
	frac[0] = '.'
	ns %= 1e9
	for i := 9; i >= 1; i-- {
		frac[i] = byte('0' + ns%10)
		ns /= 10
	}
	return append(b, frac[:]...)
}
