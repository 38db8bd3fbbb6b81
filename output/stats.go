package output

import (
	"slices"
	"strconv"
	"time"

	"github.com/wscap/wscap/decode"
)

// dirStats counts one direction of a connection for the summary.
type dirStats struct {
	frames   int
	messages int
	bytes    uint64 // frame header + payload bytes present in the capture

	closeSeen   bool
	closeCode   uint16
	closeCoded  bool
	closeReason string

	ended     bool             // its end event was seen
	endReason decode.EndReason // what ended it
}

// connStats is what the renderers remember about one connection: a few
// counters, never events.
type connStats struct {
	id     int
	stream uint32 // the HTTP/2 stream of a WebSocket over HTTP/2 (RFC 8441), 0 for HTTP/1.1

	info    decode.ConnInfo
	hasInfo bool

	hasHandshake bool
	path         string
	protocol     string
	extensions   string // agreed, for the summary
	accept       string // "ok", "MISMATCH", "missing" or ""
	status       int

	dir       [2]dirStats
	anomalies [3]int // by severity: info, warning, error

	first, last time.Time
	lastPkt     int

	ws       bool            // a KindConn event was seen: the connection is WebSocket
	tls      *decode.TLSInfo // the TLS session (wss://), nil for ws://
	tlsCodes []decode.Code   // TLS problems seen (tls_*), for the summary

	ends      int     // end events seen (one per direction)
	legend    bool    // text: the legend line was printed
	legendDue bool    // text: the legend goes above the next row (with hs)
	hold      bool    // text: rows go to held until the connection shows it is WebSocket
	released  bool    // text: held rows were written (or never held)
	held      []byte  // text: rows of a TLS connection not yet known to be WebSocket
	overflow  bool    // text: held rows passed maxHeldBytes and were written
	deflating [2]bool // text: a compressed fragmented message is open
	binary    [2]bool // text: the open fragmented message is binary

	app appStats // what the application said: protocol, unit types

	closedBy int8        // who sent the first close frame: 1 client, 2 server, 0 nobody
	abortBy  int8        // whose direction ended first by FIN or RST (same values)
	timed    bool        // gather tm (Options.Summary or Options.Stats)
	tm       *connTiming // the timing statistics, from the first frame, message or end

	h2ws    bool              // the connection carries WebSockets over HTTP/2 (on other connStats)
	matched bool              // an event matched Options.Filter
	hs      *decode.Handshake // text, with a filter: the hidden handshake, for the legend
}

// tracker keeps connStats by connection id: O(connections) memory. Ids
// are small and dense (1, 2, 3... in capture order), so they index a
// slice; ids no event named stay nil.
type tracker struct {
	byID    []*connStats // index id; ids < 1 go to other
	other   map[int]*connStats
	streams map[streamKey]*connStats // WebSockets over HTTP/2: one per stream
	n       int
	last    *connStats // cache: consecutive events usually share a connection
	// forget drops a connection's counters once both directions ended:
	// without a summary nothing needs them, and a live capture that runs
	// for hours must not keep one per connection it ever saw.
	forget   bool
	showAll  bool   // Options.All: nothing is hidden
	hidden   Hidden // connections hidden and forgotten already
	filtered bool   // Options.Filter is set: the summary shows the connections with a match
	timing   bool   // connections gather timing statistics (connTiming)
}

func (t *tracker) init(opt Options) {
	t.forget, t.showAll, t.filtered = !opt.Summary && !opt.Stats, opt.All, opt.Filter != nil
	t.timing = opt.Summary || opt.Stats
}

// hides reports whether connection c is left out of the timeline and the
// summary: a TLS connection that did not turn out to be WebSocket (unless
// Options.All).
func (t *tracker) hides(c *connStats) bool {
	return !t.showAll && c.tls != nil && !c.ws && !c.overflow
}

// shown returns the connections of conns the summary shows: with a
// display filter, those with a matching event.
func (t *tracker) shown(conns []*connStats) []*connStats {
	if t.filtered {
		conns = slices.DeleteFunc(conns, func(c *connStats) bool { return !c.matched })
	}
	if t.showAll {
		return conns
	}
	return slices.DeleteFunc(conns, t.hides)
}

// hiddenCounts counts the connections hidden so far, by reason.
func (t *tracker) hiddenCounts() Hidden {
	h := Hidden{}
	h.Add(t.hidden)
	for _, c := range t.all() {
		if t.hides(c) && !c.h2ws {
			h[hiddenReason(c)]++
		}
	}
	return h
}

// sawStream notes that an event of a WebSocket over HTTP/2 came on TCP
// connection id: that connection, whose own rows (its tls row) are not
// WebSocket, is not counted among the TLS connections that were not.
func (t *tracker) sawStream(id int) {
	var c *connStats
	switch {
	case id >= 1 && id < len(t.byID):
		c = t.byID[id]
	default:
		c = t.other[id]
	}
	if c != nil {
		c.h2ws = true
	}
}

// ended counts an end event of c, forgetting c after its second one when
// no summary will be printed.
func (t *tracker) ended(c *connStats) {
	c.ends++
	if !t.forget || c.ends < 2 {
		return
	}
	if t.hides(c) && !c.h2ws {
		if t.hidden == nil {
			t.hidden = Hidden{}
		}
		t.hidden[hiddenReason(c)]++
	}
	c.held = nil
	switch {
	case c.stream != 0:
		delete(t.streams, streamKey{c.id, c.stream})
	case c.id >= 1 && c.id < len(t.byID) && t.byID[c.id] == c:
		t.byID[c.id] = nil
	default:
		delete(t.other, c.id)
	}
	if t.last == c {
		t.last = nil
	}
	t.n--
}

// get returns the stats of connection id, creating them on first use.
func (t *tracker) get(id int, stream uint32) *connStats {
	if t.last != nil && t.last.id == id && t.last.stream == stream {
		return t.last
	}
	if stream != 0 {
		k := streamKey{id, stream}
		c := t.streams[k]
		if c == nil {
			c = &connStats{id: id, stream: stream, timed: t.timing}
			t.n++
			if t.streams == nil {
				t.streams = make(map[streamKey]*connStats)
			}
			t.streams[k] = c
		}
		t.last = c
		return c
	}
	var c *connStats
	switch {
	case id >= 1 && id < len(t.byID):
		c = t.byID[id]
	case id < 1 || id > 1<<30:
		c = t.other[id]
	}
	if c == nil {
		c = &connStats{id: id, timed: t.timing}
		t.n++
		switch {
		case id >= 1 && id <= 1<<30:
			for id >= len(t.byID) {
				t.byID = append(t.byID, nil)
			}
			t.byID = t.byID[:cap(t.byID)]
			t.byID[id] = c
		default:
			if t.other == nil {
				t.other = make(map[int]*connStats)
			}
			t.other[id] = c
		}
	}
	t.last = c
	return c
}

// all returns every connection (in no particular order).
func (t *tracker) all() []*connStats {
	out := make([]*connStats, 0, t.n)
	for _, c := range t.byID {
		if c != nil {
			out = append(out, c)
		}
	}
	for _, c := range t.other {
		out = append(out, c)
	}
	for _, c := range t.streams {
		out = append(out, c)
	}
	return out
}

// streamKey names a WebSocket over HTTP/2: its TCP connection and stream.
type streamKey struct {
	id     int
	stream uint32
}

// compareConns orders connections by id, then HTTP/2 stream.
func compareConns(a, b *connStats) int {
	if a.id != b.id {
		return a.id - b.id
	}
	return int(a.stream) - int(b.stream)
}

// label is how the timeline names c: "#3", or "#3/7" for stream 7 of
// connection 3.
func (c *connStats) label(b []byte) []byte {
	b = append(b, '#')
	b = strconv.AppendInt(b, int64(c.id), 10)
	if c.stream != 0 {
		b = append(b, '/')
		b = strconv.AppendUint(b, uint64(c.stream), 10)
	}
	return b
}

// sorted returns every connection in id order.
func (t *tracker) sorted() []*connStats {
	out := t.all()
	slices.SortFunc(out, compareConns)
	return out
}

// update folds one event into the connection's counters.
func (c *connStats) update(ev *decode.Event) {
	if c.first.IsZero() || ev.Time.Before(c.first) {
		c.first = ev.Time
	}
	if ev.Time.After(c.last) {
		c.last = ev.Time
	}
	if ev.Packet > c.lastPkt {
		c.lastPkt = ev.Packet
	}
	d := roleIndex(ev.From)
	switch ev.Kind {
	case decode.KindConn:
		c.ws = true
		if ev.Info != nil {
			c.info = *ev.Info
			c.hasInfo = true
		}
	case decode.KindTLS:
		c.setTLS(ev.TLS)
	case decode.KindHandshake:
		if h := ev.Handshake; h != nil {
			c.hasHandshake = true
			c.path = h.Path
			c.protocol = h.Protocol
			c.extensions = agreedExtensions(h)
			c.accept = acceptState(h)
			c.status = h.Status
		}
	case decode.KindFrame:
		if d < 0 {
			return
		}
		s := &c.dir[d]
		f := &ev.Frame
		s.frames++
		s.bytes += uint64(f.Len) + f.Seen + f.Lost
		if f.Opcode == decode.OpClose && !s.closeSeen && !f.Cut {
			s.closeSeen = true
			s.closeCoded = f.Close.HasCode
			s.closeCode = f.Close.Code
			s.closeReason = string(f.Close.Reason)
			if c.closedBy == 0 {
				c.closedBy = int8(d + 1)
			}
		}
		if c.timed {
			c.timings().frame(ev, d)
		}
	case decode.KindMessage:
		if d >= 0 {
			c.dir[d].messages++
			if c.timed {
				c.timings().message(ev, d)
			}
		}
		c.app.add(ev.App)
	case decode.KindEnd:
		if d < 0 {
			return
		}
		s := &c.dir[d]
		if !s.ended {
			s.ended, s.endReason = true, ev.End.Reason
			if c.abortBy == 0 && (ev.End.Reason == decode.EndFIN || ev.End.Reason == decode.EndRST) {
				c.abortBy = int8(d + 1)
			}
		}
		if c.timed {
			c.timings().end(ev, d)
		}
	case decode.KindAnomaly:
		if s := ev.Anomaly.Severity; int(s) < len(c.anomalies) {
			c.anomalies[s]++
		}
		c.noteTLSAnomaly(ev.Anomaly.Code)
	}
}

// timings returns c.tm, allocating it on first use.
func (c *connStats) timings() *connTiming {
	if c.tm == nil {
		c.tm = &connTiming{}
	}
	return c.tm
}

// endReason is how the connection ended, as the summary's end_reason,
// and who closed it first ("client", "server" or ""): the sender of the
// first close frame, else the side whose direction ended first by FIN or
// RST. With a close frame from each side it is close_handshake, from one
// close_one_side; without, rst when a RST ended a direction, else
// fin_without_close when a FIN did, else idle, else capture_end.
func (c *connStats) endReason() (reason, by string) {
	who := func(d int8) string {
		switch d {
		case 1:
			return "client"
		case 2:
			return "server"
		}
		return ""
	}
	var has [4]bool // by decode.EndReason
	for d := range c.dir {
		if s := &c.dir[d]; s.ended && int(s.endReason) < len(has) {
			has[s.endReason] = true
		}
	}
	by = who(c.abortBy)
	switch {
	case c.dir[0].closeSeen && c.dir[1].closeSeen:
		return "close_handshake", who(c.closedBy)
	case c.dir[0].closeSeen || c.dir[1].closeSeen:
		return "close_one_side", who(c.closedBy)
	case has[decode.EndRST]:
		return "rst", by
	case has[decode.EndFIN]:
		return "fin_without_close", by
	case has[decode.EndIdle]:
		return "idle", by
	}
	return "capture_end", by
}

// agreedExtensions names the extensions the server agreed to.
func agreedExtensions(h *decode.Handshake) string {
	switch {
	case h.Deflate != nil:
		return h.Deflate.String()
	case h.DeflateFrame:
		return "deflate-frame"
	}
	return h.Extensions
}

// acceptState summarises the Sec-WebSocket-Accept check: "ok",
// "MISMATCH", "missing" (a 101 without it) or "" (no 101, no accept).
func acceptState(h *decode.Handshake) string {
	switch {
	case h.H2Stream != 0:
		if h.Upgraded {
			return "n/a" // RFC 8441 has no Sec-WebSocket-Accept
		}
	case h.AcceptValid:
		return "ok"
	case h.Accept != "":
		return "MISMATCH"
	case h.Status == 101:
		return "missing"
	}
	return ""
}
