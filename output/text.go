package output

import (
	"io"
	"net/netip"
	"strconv"
	"time"

	"github.com/wscap/wscap/decode"
)

// Column widths of the timeline. A value wider than its column pushes the
// rest of the row right; the row stays one line.
const (
	wNo       = 6
	wTimeRel  = 10 // "123.456789"
	wTimeAbs  = 27 // "2024-05-01T10:00:00.000123Z"
	wConn     = 4
	wDir      = 3
	wWhat     = 10
	wFlags    = 5
	wLen      = 7
	minInfo   = 16     // columns the Info column keeps however narrow Width is
	pipedInfo = 1024   // columns of the Info column when stdout is not a terminal
	indent    = "    " // -V tree and -x dump
)

// tsCache formats UTC RFC 3339 times, reusing the formatted date and
// clock of the previous call when the second is the same.
type tsCache struct {
	sec  int64
	n    int
	text [32]byte
}

// append appends t in UTC as "2006-01-02T15:04:05" plus digits (6 or 9)
// fraction digits and "Z".
func (c *tsCache) append(b []byte, t time.Time, digits int) []byte {
	t = t.UTC()
	if sec := t.Unix(); c.n == 0 || sec != c.sec {
		c.n = len(t.AppendFormat(c.text[:0], "2006-01-02T15:04:05"))
		c.sec = sec
	}
	b = append(b, c.text[:c.n]...)
	b = append(b, '.')
	ns := t.Nanosecond()
	div := 100000000
	for range digits {
		b = append(b, byte('0'+ns/div%10))
		div /= 10
	}
	return append(b, 'Z')
}

type textRenderer struct {
	base
	line    []byte // the row being built, reused
	num     []byte // scratch for numbers that are padded, reused
	prev    time.Time
	hasPrev bool
	ts      tsCache
	header  bool
	printed bool // something was written: a blank line goes before the summary
	err     error
	pend    pending // the frame of a single-frame message, until its message event
	fw      follower
	cur     *connStats // the connection whose rows are being written
}

// maxHeld bounds the anomalies held with a pending frame; past it the
// frame is printed as a row of its own.
const maxHeld = 16

// pending is a data frame that is a whole message (FIN on its first
// frame) held until its message event, whose row then carries the
// frame's flags, followed by the frame's anomalies. The decoder emits
// frame, anomalies and message back to back for one connection, so one
// slot serves the renderer; anything else that comes first prints the
// frame as a frame row, as --frames would.
type pending struct {
	on     bool
	hidden bool         // -Y hides the frame: it only lends its flags to its message's row
	ev     decode.Event // the frame event; Frame.Payload points into buf
	buf    []byte
	anoms  []decode.Event
}

// takes reports whether ev belongs to the pending frame: one of its
// anomalies, or its message.
func (p *pending) takes(ev *decode.Event) bool {
	if ev.Conn != p.ev.Conn || ev.H2Stream != p.ev.H2Stream || ev.From != p.ev.From {
		return false
	}
	switch ev.Kind {
	case decode.KindAnomaly:
		return len(p.anoms) < maxHeld
	case decode.KindMessage:
		return ev.Message.N == p.ev.Frame.Message
	}
	return false
}

// hold makes ev (a frame) the pending frame.
func (t *textRenderer) hold(ev *decode.Event) {
	p := &t.pend
	p.on, p.hidden = true, false
	p.ev = *ev
	p.buf = append(p.buf[:0], ev.Frame.Payload...)
	p.ev.Frame.Payload = p.buf
	p.ev.Frame.Close.Reason = nil // data frames have no close body
	p.anoms = p.anoms[:0]
}

// flushPending prints the pending frame and its anomalies as rows of
// their own.
func (t *textRenderer) flushPending() {
	p := &t.pend
	if !p.on {
		return
	}
	p.on = false
	c := t.conns.get(p.ev.Conn, p.ev.H2Stream)
	cur := t.cur
	t.cur = c // its rows are its connection's, whatever is being written
	defer func() { t.cur = cur }()
	if t.opt.Follow == nil && !p.hidden {
		t.row(&p.ev, c, nil)
	}
	for i := range p.anoms {
		if t.opt.Follow != nil {
			t.follow(&p.anoms[i], c)
		} else {
			t.row(&p.anoms[i], c, nil)
		}
	}
	p.anoms = p.anoms[:0]
}

// maxHeldBytes bounds the rows held for a TLS connection not yet known
// to be WebSocket: past it they are written (the connection is shown).
const maxHeldBytes = 64 << 10

func newText(w io.Writer, opt Options) *textRenderer {
	t := &textRenderer{
		line: make([]byte, 0, 4096),
		num:  make([]byte, 0, 32),
	}
	t.init(w, opt)
	t.header = opt.Follow != nil // the --follow view has no columns
	return t
}

func (t *textRenderer) write(b []byte) {
	if t.err != nil {
		return
	}
	if c := t.cur; c != nil && c.hold {
		c.held = append(c.held, b...)
		if len(c.held) > maxHeldBytes {
			c.overflow = true // shown, in the summary too
			t.release(c)
		}
		return
	}
	if !t.header {
		t.columnHeader()
	}
	t.printed = t.printed || len(b) > 0
	if err := t.put(b); err != nil {
		t.err = err
	}
}

// Write renders evs as timeline rows (when Options.Timeline is set) and
// updates the per-connection counters.
func (t *textRenderer) Write(evs []decode.Event) error {
	for i := range evs {
		ev := &evs[i]
		if !t.epochV {
			t.epoch, t.epochV = ev.Time, true
		}
		if t.opt.Follow != nil && !t.opt.Follow.Has(ev.Conn, ev.H2Stream) {
			continue
		}
		c := t.conns.get(ev.Conn, ev.H2Stream)
		switch show := t.show(ev, c); {
		case !show && (t.opt.Follow != nil || t.opt.Timeline):
			t.hidden(ev, c)
		case !show:
		case t.opt.Follow != nil:
			t.follow(ev, c)
		case t.opt.Timeline:
			t.cur = c
			t.render(ev, c)
			t.cur = nil
		}
		c.update(ev)
		if ev.H2Stream != 0 && ev.Kind == decode.KindConn {
			t.conns.sawStream(ev.Conn)
		}
		if ev.Kind == decode.KindEnd {
			t.conns.ended(c)
		}
	}
	return t.err
}

// Close prints the summary table (when enabled) and flushes.
func (t *textRenderer) Close() error {
	if t.closed {
		return t.err
	}
	t.closed = true
	t.flushPending()
	if t.opt.Summary && t.err == nil {
		if t.opt.Timeline && t.printed {
			t.write([]byte("\n"))
		}
		if t.err == nil {
			t.err = writeSummaryFit(t.w, t.conns.shown(t.conns.sorted()), t.opt)
		}
	}
	if err := t.w.Flush(); t.err == nil {
		t.err = err
	}
	return t.err
}

func (t *textRenderer) render(ev *decode.Event, c *connStats) {
	if t.pend.on && !t.pend.takes(ev) {
		t.flushPending()
	}
	switch ev.Kind {
	case decode.KindConn:
		t.release(c)
		if ev.Info != nil && ev.Info.Midstream {
			c.info, c.hasInfo = *ev.Info, true
			c.legendDue = true
		}
		return
	case decode.KindHandshake:
		if ev.Handshake != nil {
			// Printed again if the connection already had rows: it
			// now knows its request.
			c.hs, c.legendDue = slimHandshake(ev.Handshake), true
		}
	case decode.KindTLS:
		if !c.released && !c.ws && !t.opt.All {
			// Held until the connection shows it is WebSocket (its
			// KindConn event); dropped if it ends first.
			c.hold = true
		}
		if !c.legend && ev.TLS != nil {
			// The legend names the endpoints; the row below it shows
			// the session.
			if !c.hasInfo {
				c.info.Client, c.info.Server, c.hasInfo = ev.TLS.Client, ev.TLS.Server, true
			}
			c.legendDue = true
		}
		// After its row: a legend above it names the endpoints, the row
		// shows the session.
		defer c.setTLS(ev.TLS)
	default:
		if !c.legend {
			c.legendDue = true
		}
	}
	if t.opt.View == ViewFrames {
		t.row(ev, c, nil)
		return
	}
	switch ev.Kind {
	case decode.KindFrame:
		f := &ev.Frame
		if f.Message > 0 {
			// A frame of a data message: its message row stands for it.
			if f.Fin && f.Opcode != decode.OpContinuation {
				t.hold(ev)
			}
			return
		}
		if t.opt.View == ViewMessages && f.Opcode != decode.OpClose {
			return
		}
	case decode.KindAnomaly:
		if t.pend.on {
			t.pend.anoms = append(t.pend.anoms, *ev)
			return
		}
	case decode.KindMessage:
		if t.pend.on {
			t.pend.on = false
			t.row(ev, c, &t.pend.ev.Frame)
			for i := range t.pend.anoms {
				t.row(&t.pend.anoms[i], c, nil)
			}
			t.pend.anoms = t.pend.anoms[:0]
			return
		}
	case decode.KindHandshake, decode.KindEnd, decode.KindTLS:
		if t.opt.View == ViewMessages {
			return
		}
	}
	t.row(ev, c, nil)
}

// release writes the rows held for connection c, if any, and stops
// holding them.
func (t *textRenderer) release(c *connStats) {
	c.released = true
	if !c.hold {
		return
	}
	c.hold = false
	held := c.held
	c.held = nil
	t.write(held)
}

// legend prints the line that introduces connection c:
//
//	#1 10.0.0.2:51512 -> 10.0.0.1:8080 GET /chat proto=chat ext=permessage-deflate accept=ok
func (t *textRenderer) legend(c *connStats, h *decode.Handshake) {
	l := c.label(t.line[:0])
	l = append(l, ' ')
	if c.hasInfo {
		l = appendAddr(l, c.info.Client)
		l = append(l, " -> "...)
		l = appendAddr(l, c.info.Server)
	} else {
		l = append(l, "? -> ?"...)
	}
	if c.stream != 0 {
		l = append(l, " h2 stream "...)
		l = strconv.AppendUint(l, uint64(c.stream), 10)
	}
	switch {
	case h != nil:
		l = append(l, ' ')
		l = appendASCII(l, h.Method)
		l = append(l, ' ')
		l = appendASCII(l, h.Path)
		if h.Protocol != "" {
			l = append(l, " proto="...)
			l = appendASCII(l, h.Protocol)
		}
		if ext := agreedExtensions(h); ext != "" {
			l = append(l, " ext="...)
			l = appendASCII(l, ext)
		}
		switch {
		case h.Status == 101, h.H2Stream != 0 && h.Upgraded: // the expected answer
		case h.Status == 0:
			l = append(l, " status=none"...)
		default:
			l = append(l, " status="...)
			l = strconv.AppendInt(l, int64(h.Status), 10)
		}
		if a := acceptState(h); a != "" {
			l = append(l, " accept="...)
			l = append(l, a...)
		}
		if !h.Upgraded && h.Status == 101 {
			l = append(l, " not-upgraded"...)
		}
	case c.hasInfo && c.info.Midstream:
		l = append(l, " midstream (no handshake)"...)
	}
	tls := c.tls
	if h != nil && h.TLS != nil {
		tls = h.TLS
	}
	if tls != nil {
		l = append(l, " tls: "...)
		l = appendTLS(l, tls)
	}
	if t.opt.Width > 0 {
		l = wrapLine(l, t.opt.Width, indent)
	}
	if t.opt.Color {
		// "#12" in bold: where a connection starts.
		n := len(c.label(nil))
		l = append(paint(nil, sgrLegendKey, l[:n]), l[n:]...)
	}
	l = append(l, '\n')
	if t.opt.Verbose && h == nil && !c.legend && c.hasInfo && c.info.Midstream {
		// No handshake tree will name the flow: its Community ID goes
		// under the first legend.
		l = appendCommunityID(l, c.info.CommunityID)
	}
	t.line = l
	t.write(l)
	c.legend = true
}

// wrapLine breaks l, one line of ASCII text without its newline, at spaces
// into lines of at most width columns; lines after the first start with
// ind. A word longer than a line is broken where the line ends.
func wrapLine(l []byte, width int, ind string) []byte {
	if len(l) <= width || width <= len(ind)+8 {
		return l
	}
	out := make([]byte, 0, len(l)+len(l)/width*(len(ind)+1)+8)
	lineStart := 0 // in out
	for i := 0; i < len(l); {
		j := i
		for j < len(l) && l[j] != ' ' {
			j++
		}
		word := l[i:j]
		for len(word) > 0 {
			col := len(out) - lineStart
			sep := 0
			if col > len(ind) || (col > 0 && lineStart == 0) {
				sep = 1
			}
			switch {
			case col+sep+len(word) <= width:
				if sep == 1 {
					out = append(out, ' ')
				}
				out = append(out, word...)
				word = nil
			case col > len(ind) || (lineStart == 0 && col > 0):
				out = append(out, '\n')
				lineStart = len(out)
				out = append(out, ind...)
			default: // a word longer than a line
				n := width - col
				out = append(out, word[:n]...)
				word = word[n:]
				out = append(out, '\n')
				lineStart = len(out)
				out = append(out, ind...)
			}
		}
		i = j + 1
	}
	return out
}

// columnHeader prints the column titles once, before the first line.
func (t *textRenderer) columnHeader() {
	if t.header {
		return
	}
	t.header = true
	var l []byte // not t.line: write may be writing it
	l = padRight(l, "No.", wNo)
	l = padRight(l, "Time", t.timeWidth())
	l = padRight(l, "Conn", wConn)
	l = padRight(l, "Dir", wDir)
	l = padRight(l, "What", wWhat)
	l = padRight(l, "Flags", wFlags)
	l = padLeft(l, []byte("Len"), wLen)
	l = append(l, " Info\n"...)
	if err := t.put(l); err != nil && t.err == nil {
		t.err = err
	}
}

func (t *textRenderer) timeWidth() int {
	if t.opt.Time == TimeAbsolute {
		return wTimeAbs
	}
	return wTimeRel
}

// appendAddr appends ip:port ("[v6]:port" for IPv6), or "?" when unknown.
func appendAddr(l []byte, a netip.AddrPort) []byte {
	if !a.IsValid() {
		return append(l, '?')
	}
	return a.AppendTo(l)
}

// padRight appends s, spaces up to width w, and one separating space.
func padRight[T string | []byte](l []byte, s T, w int) []byte {
	l = append(l, s...)
	for n := len(s); n < w; n++ {
		l = append(l, ' ')
	}
	return append(l, ' ')
}

// padLeft appends spaces, then s right-aligned in width w.
func padLeft(l []byte, s []byte, w int) []byte {
	for n := len(s); n < w; n++ {
		l = append(l, ' ')
	}
	return append(l, s...)
}

// appendSeconds appends d as seconds with microseconds: "12.000345".
func appendSeconds(dst []byte, d time.Duration) []byte {
	us := int64(d / time.Microsecond)
	if us < 0 {
		dst = append(dst, '-')
		us = -us
	}
	dst = strconv.AppendInt(dst, us/1e6, 10)
	dst = append(dst, '.')
	frac := us % 1e6
	for div := int64(1e5); div > 0; div /= 10 {
		dst = append(dst, byte('0'+frac/div%10))
	}
	return dst
}

func (t *textRenderer) appendTime(dst []byte, ts time.Time) []byte {
	switch t.opt.Time {
	case TimeAbsolute:
		return t.ts.append(dst, ts, 6)
	case TimeDelta:
		var d time.Duration
		if t.hasPrev {
			d = ts.Sub(t.prev)
		}
		t.prev, t.hasPrev = ts, true
		return appendSeconds(dst, d)
	}
	return appendSeconds(dst, ts.Sub(t.epoch))
}

// row prints one timeline row and, with -V or -x, its details. fr, for a
// message row, is the message's only frame, whose flags the row shows.
func (t *textRenderer) row(ev *decode.Event, c *connStats, fr *decode.Frame) {
	if c.legendDue {
		// The legend goes right above the connection's first row, or
		// its first after the handshake: rows a view or a display
		// filter drops leave no legend without rows.
		c.legendDue = false
		t.legend(c, c.hs)
		c.hs = nil
	}
	l := t.line[:0]

	n := strconv.AppendInt(t.num[:0], int64(ev.Packet), 10)
	l = padRight(l, n, wNo)
	n = t.appendTime(t.num[:0], ev.Time)
	l = padRight(l, n, t.timeWidth())
	n = c.label(t.num[:0])
	l = padRight(l, n, wConn)
	t.num = n[:0]

	esc := 0 // bytes of colour sequences in l: they take no columns
	switch ev.From {
	case decode.RoleClient, decode.RoleServer:
		dir := "C>S"
		if ev.From == decode.RoleServer {
			dir = "S>C"
		}
		if t.opt.Color {
			sgr := dirColor(ev.From)
			l = paint(l, sgr, []byte(dir))
			esc += len(sgr) + len(sgrReset)
		} else {
			l = append(l, dir...)
		}
		l = append(l, ' ')
	default:
		if ev.Kind == decode.KindHandshake {
			l = append(l, "<-> "...)
		} else {
			l = append(l, "--- "...)
		}
	}

	var what string
	var flags [wFlags]byte
	hasFlags, hasLen := false, false
	var length uint64
	switch ev.Kind {
	case decode.KindHandshake:
		what = "HANDSHAKE"
	case decode.KindFrame:
		f := &ev.Frame
		what = frameWhat(f.Opcode)
		flags = frameFlags(&f.Header)
		hasFlags, hasLen, length = true, true, f.PayloadLen
	case decode.KindMessage:
		if t.opt.View == ViewFrames {
			what = messageWhat(ev.Message.Opcode)
		} else {
			what = frameWhat(ev.Message.Opcode) // the row is the message
		}
		if fr != nil {
			flags, hasFlags = frameFlags(&fr.Header), true
		}
		hasLen, length = true, ev.Message.Len
	case decode.KindAnomaly:
		what = "ANOMALY"
	case decode.KindGap:
		what = "GAP"
		hasLen, length = true, uint64(max(ev.Gap, 0))
	case decode.KindEnd:
		what = "END"
		hasLen, length = true, uint64(max(ev.End.Bytes, 0))
	case decode.KindTLS:
		what = "TLS"
	default:
		what = "EVENT"
	}
	if t.opt.Color && ev.Kind == decode.KindAnomaly {
		sgr := severityColor(ev.Anomaly.Severity)
		l = paint(l, sgr, []byte(what))
		esc += len(sgr) + len(sgrReset)
		l = padRight(l, "", wWhat-len(what))
	} else {
		l = padRight(l, what, wWhat)
	}
	if hasFlags {
		l = append(l, flags[:]...)
		l = append(l, ' ')
	} else {
		l = append(l, "      "...)
	}
	if hasLen {
		n = strconv.AppendUint(t.num[:0], length, 10)
		l = padLeft(l, n, wLen)
		t.num = n[:0]
	} else {
		l = padLeft(l, nil, wLen)
	}
	l = append(l, ' ')

	start := len(l)
	// Previews are cut to the terminal width; when piped, to pipedInfo
	// columns (JSON Lines and -x carry whole payloads).
	budget := pipedInfo
	if t.opt.Width > 0 {
		budget = max(t.opt.Width-(start-esc), minInfo)
	}
	switch ev.Kind {
	case decode.KindHandshake:
		l = appendHandshakeInfo(l, ev.Handshake)
		l = cutLine(l, start, budget)
	case decode.KindFrame:
		l = t.frameInfo(l, ev, c, start, budget)
	case decode.KindMessage:
		l = messageInfo(l, &ev.Message, ev.App, start, budget)
	case decode.KindAnomaly:
		a := &ev.Anomaly
		l = append(l, '[')
		l = append(l, a.Severity.String()...)
		l = append(l, "] "...)
		l = appendASCII(l, string(a.Code))
		if a.Detail != "" {
			l = append(l, ": "...)
			l = appendASCII(l, a.Detail)
		}
		l = cutLine(l, start, budget)
	case decode.KindGap:
		l = append(l, "lost "...)
		l = strconv.AppendInt(l, ev.Gap, 10)
		l = append(l, " bytes"...)
	case decode.KindEnd:
		e := &ev.End
		l = append(l, e.Reason.String()...)
		l = append(l, " frames="...)
		l = strconv.AppendInt(l, int64(e.Frames), 10)
		l = append(l, " messages="...)
		l = strconv.AppendInt(l, int64(e.Messages), 10)
		if e.Undecoded > 0 {
			l = append(l, " undecoded="...)
			l = strconv.AppendInt(l, e.Undecoded, 10)
		}
	case decode.KindTLS:
		l = tlsRowInfo(l, ev.TLS)
		l = cutLine(l, start, budget)
	default:
		l = append(l, ev.Kind.String()...)
	}
	l = cutColumns(l, start, budget)
	for len(l) > 0 && l[len(l)-1] == ' ' {
		l = l[:len(l)-1]
	}
	l = append(l, '\n')

	if t.opt.Verbose {
		if fr != nil {
			l = appendSingleFrameTree(l, fr)
		}
		l = appendTree(l, ev, t.opt.Pretty, c.info.CommunityID)
	}
	if t.opt.Hex {
		switch ev.Kind {
		case decode.KindFrame:
			l = appendDump(l, ev.Frame.Payload, ev.Frame.PayloadLen)
		case decode.KindMessage:
			l = appendDump(l, ev.Message.Payload, ev.Message.Len)
		}
	}
	t.line = l
	t.write(l)
}

// cutColumns is the last resort that keeps the Info column within budget
// columns (one per rune) when its annotations alone are too wide.
func cutColumns(l []byte, start, budget int) []byte {
	if budget <= 0 || len(l)-start <= budget {
		return l
	}
	cols := 0
	cut := -1
	for i := start; i < len(l); {
		_, n := decodeRune(l[i:])
		cols++
		if cols == budget-2 {
			cut = i // the rune that "..." replaces
		}
		if cols > budget {
			return append(l[:cut], "..."...)
		}
		i += n
	}
	return l
}

// frameFlags renders FIN, RSV1-3 and MASK as "F123M", with "." for a clear bit.
func frameFlags(h *decode.Header) [wFlags]byte {
	f := [wFlags]byte{'.', '.', '.', '.', '.'}
	if h.Fin {
		f[0] = 'F'
	}
	if h.Rsv&4 != 0 {
		f[1] = '1'
	}
	if h.Rsv&2 != 0 {
		f[2] = '2'
	}
	if h.Rsv&1 != 0 {
		f[3] = '3'
	}
	if h.Masked {
		f[4] = 'M'
	}
	return f
}

// appendHandshakeInfo: "GET /chat HTTP/1.1 -> 101 Switching Protocols".
func appendHandshakeInfo(l []byte, h *decode.Handshake) []byte {
	if h == nil {
		return l
	}
	l = appendASCII(l, h.Method)
	l = append(l, ' ')
	l = appendASCII(l, h.Path)
	if h.Proto != "" {
		l = append(l, ' ')
		l = appendASCII(l, h.Proto)
	}
	l = append(l, " -> "...)
	if h.Status == 0 {
		return append(l, "(no response)"...)
	}
	l = strconv.AppendInt(l, int64(h.Status), 10)
	if h.Reason != "" {
		l = append(l, ' ')
		l = appendASCII(l, h.Reason)
	}
	return l
}

func appendBytesNote(l []byte, what string, n uint64) []byte {
	l = append(l, '[')
	l = append(l, what...)
	l = append(l, ' ')
	l = strconv.AppendUint(l, n, 10)
	return append(l, " bytes] "...)
}

// budgetLeft is what remains of budget once the Info column holds
// used bytes; 0 means unlimited.
func budgetLeft(budget, used int) int {
	if budget <= 0 {
		return 0
	}
	return max(budget-used, minPreview)
}

// frameInfo renders the Info column of a frame row.
func (t *textRenderer) frameInfo(l []byte, ev *decode.Event, c *connStats, start, budget int) []byte {
	f := &ev.Frame
	d := roleIndex(ev.From)

	compressed := c.fragment(f, d)

	if f.Cut {
		l = append(l, "[cut] "...)
	}
	if f.Lost > 0 {
		l = appendBytesNote(l, "lost", f.Lost)
	}
	more := uint64(len(f.Payload)) < f.PayloadLen
	switch {
	case f.Opcode == decode.OpClose:
		switch {
		case f.Close.HasCode:
			l = strconv.AppendUint(l, uint64(f.Close.Code), 10)
			l = append(l, " ("...)
			l = append(l, CloseCodeName(f.Close.Code)...)
			l = append(l, ')')
			if len(f.Close.Reason) > 0 {
				l = append(l, ' ')
				l = appendPreview(l, f.Close.Reason, more, false, budgetLeft(budget, len(l)-start))
			}
		case f.PayloadLen == 0:
			l = append(l, "(no status code)"...)
		default:
			l = append(l, "(malformed body) "...)
			l = appendPreview(l, f.Payload, more, true, budgetLeft(budget, len(l)-start))
		}
	case compressed && !f.Opcode.IsControl():
		l = appendBytesNote(l, "compressed", f.PayloadLen)
	default:
		p := f.Payload
		if more && f.Opcode == decode.OpText {
			p = trimPartialRune(p)
		}
		binary := f.Opcode == decode.OpBinary || (f.Opcode == decode.OpContinuation && c.binary[max(d, 0)])
		l = appendPreview(l, p, more, binary, budgetLeft(budget, len(l)-start))
	}
	return l
}

// messageInfo renders the Info column of a message row.
func messageInfo(l []byte, m *decode.Message, app *decode.AppInfo, start, budget int) []byte {
	if m.Frames > 1 {
		l = append(l, '[')
		l = strconv.AppendInt(l, int64(m.Frames), 10)
		l = append(l, " frames] "...)
	}
	if m.Compressed {
		l = appendBytesNote(l, "compressed", m.WireLen)
	}
	if m.Truncated {
		l = append(l, "[truncated] "...)
	}
	if m.Lost > 0 {
		l = appendBytesNote(l, "lost", m.Lost)
	}
	if m.Cut {
		l = append(l, "[cut] "...)
	}
	if m.Opcode == decode.OpText && !m.UTF8Valid && m.DecodeError == "" {
		l = append(l, "[invalid UTF-8] "...)
	}
	if m.DecodeError != "" {
		l = append(l, "decode_error: "...)
		l = appendASCII(l, m.DecodeError)
		l = append(l, ' ')
		if budget > 0 && len(l)-start > budget-minPreview {
			return cutLine(l, start, budget)
		}
	}
	if appShown(app) {
		var done bool
		if l, done = appendAppInfo(l, app, start, budget); done {
			return l
		}
	}
	more := messageMore(m)
	p := m.Payload
	if more && m.Opcode == decode.OpText && m.UTF8Valid && m.DecodeError == "" {
		p = trimPartialRune(p)
	}
	binary := m.Opcode == decode.OpBinary || m.DecodeError != ""
	return appendPreview(l, p, more, binary, budgetLeft(budget, len(l)-start))
}

// messageMore reports whether m's payload goes on past the bytes kept.
func messageMore(m *decode.Message) bool {
	return m.Truncated || m.Lost > 0 || m.Cut || uint64(len(m.Payload)) < m.Len
}

// appendDump is the -x dump of a payload and a note for bytes not kept.
func appendDump(l []byte, p []byte, total uint64) []byte {
	l = appendHexDump(l, p, indent)
	if total > uint64(len(p)) {
		l = append(l, indent...)
		l = append(l, "... "...)
		l = strconv.AppendUint(l, total-uint64(len(p)), 10)
		l = append(l, " more bytes not kept\n"...)
	}
	return l
}
