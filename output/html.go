package output

import (
	"bytes"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"io"
	"math"
	"math/bits"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wscap/wscap/decode"
	"github.com/wscap/wscap/dfilter"
)

// The --html report: one self-contained HTML file (no network: the script
// and the styles are inline, the charts are drawn on canvases by the
// page's own script) with an overview of every connection on a swim-lane
// chart, the message rate, a size histogram, ping→pong round-trip times,
// a sortable and filterable table of connections, the conversation of
// each connection and the list of anomalies.
//
// The data is gathered while the events pass (copies, within the limits
// below) and embedded in the page as JSON at Close. Past a limit the
// report keeps counting but shows less, and says so at its top.

// The limits of the HTML report. They bound both the memory the exporter
// holds and the size of the file.
const (
	// HTMLConns: connections with a row, lane and conversation; past it
	// connections are only counted in the totals.
	HTMLConns = 10000
	// HTMLConvTotal: items (messages, control frames, anomalies, gaps,
	// ends) of the conversation views, all connections together. When
	// the connections hold more, each keeps its first n items, n chosen
	// as large as the total allows (the shortest keep all of theirs).
	HTMLConvTotal = 10000
	// HTMLConvPerConn: items of one connection's conversation.
	HTMLConvPerConn = 500
	// HTMLPreview: bytes of a payload shown in a conversation.
	HTMLPreview = 256
	// HTMLAnomalies: anomalies listed (all are counted).
	HTMLAnomalies = 2000
	// HTMLCells: time cells of the charts (per connection and
	// direction, plus the rate chart). Times are put into buckets of 1
	// ms; while there would be more cells than this, buckets double.
	HTMLCells = 200000
	// HTMLRTTPerConn: ping→pong round trips kept per connection for
	// the RTT chart and statistics (count, min and max cover all).
	HTMLRTTPerConn = 1000
	// htmlPendingPings: unanswered pings remembered per connection.
	htmlPendingPings = 32
	// htmlAppLines: units of what the application said, per message.
	htmlAppLines = 4
	// htmlText: bytes of a string from the capture (a path, a header,
	// a close reason, a line of what the application said).
	htmlText = 256
)

// clip cuts s to at most n bytes, at a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	b := trimPartialRune([]byte(s[:n]))
	return string(b) + "…"
}

//go:embed html/report.html
var htmlTemplate string

//go:embed html/report.css
var htmlCSS string

//go:embed html/report.js
var htmlJS string

// HTMLOptions configure the HTML report.
type HTMLOptions struct {
	Title   string           // shown at the top: usually the capture's file name
	Version string           // wscap's version, in the footer
	Filter  *dfilter.Filter  // -Y: only matching events count, as in --json
	Now     func() time.Time // when the report was made (nil: time.Now)
}

// NewHTML returns an Exporter that writes the HTML report to w at Close.
func NewHTML(w io.Writer, opt HTMLOptions) Exporter {
	return &htmlExporter{w: w, opt: opt, conns: map[htmlKey]*htmlConn{}, res: 1000, tls: map[int]*decode.TLSInfo{}, rate: map[int64]*[4]float64{}}
}

type htmlKey struct {
	conn   int
	stream uint32
}

type htmlExporter struct {
	w      io.Writer
	opt    HTMLOptions
	closed bool

	epoch  time.Time
	epochV bool
	last   time.Time

	conns map[htmlKey]*htmlConn
	order []*htmlConn
	tls   map[int]*decode.TLSInfo // TLS sessions of connections whose conn event is still to come

	res   int64 // µs per time bucket
	cells int   // time cells held (per connection and rate)
	rate  map[int64]*[4]float64

	sizes [2][65]int // message sizes: count by bits.Len64(len), per direction

	convTotal int // conversation items held
	convLimit int // per connection, lowered as the total fills

	anoms     []htmlAnomaly
	nAnoms    int
	sevCount  [3]int
	messages  int
	bytes     uint64
	frames    int
	overConns int // connections past HTMLConns
	rtts      int
}

type htmlConn struct {
	key      htmlKey
	Idx      int
	ID       int
	Stream   uint32
	info     decode.ConnInfo
	hasInfo  bool
	matched  bool
	first    time.Time
	last     time.Time
	hs       *htmlHS
	tls      *decode.TLSInfo
	msgs     [2]int
	mbytes   [2]uint64
	frames   [2]int
	anoms    int
	worst    int // highest severity + 1, 0 none
	closes   [2]string
	gaps     int64
	ended    [2]string // end reason per direction
	cells    map[int64]*[2]uint32
	conv     []json.RawMessage
	convMore int
	pings    []htmlPing
	rtt      []htmlRTT
	rttN     int
	rttMin   float64
	rttMax   float64
}

// htmlHS is what the report shows of a handshake.
type htmlHS struct {
	path, host, proto, ext, accept string
	status                         int
}

type htmlPing struct {
	from    decode.Role
	t       time.Time
	payload string
}

type htmlRTT struct{ t, ms float64 }

type htmlAnomaly struct {
	Conn   int     `json:"c"` // index of the connection in conns, -1: none
	ID     int     `json:"id"`
	Stream uint32  `json:"st,omitempty"`
	Seq    int     `json:"seq"`
	T      float64 `json:"t"`
	Pkt    int     `json:"pkt"`
	Sev    string  `json:"sev"`
	Code   string  `json:"code"`
	Detail string  `json:"detail"`
	Ref    string  `json:"ref,omitempty"`
	From   string  `json:"from,omitempty"`
}

// rel is t in seconds from the epoch, rounded to the microsecond.
func (x *htmlExporter) rel(t time.Time) float64 {
	return math.Round(float64(t.Sub(x.epoch).Microseconds())) / 1e6
}

func (x *htmlExporter) bucket(t time.Time) int64 {
	us := t.Sub(x.epoch).Microseconds()
	if us < 0 {
		us = 0
	}
	return us / x.res
}

// SetEpoch sets the capture time of the first packet: the report's times
// count from it, as the timeline's relative times do. Without it, they
// count from the first event.
func (x *htmlExporter) SetEpoch(t time.Time) {
	if !x.epochV {
		x.epoch, x.epochV = t, true
	}
}

func (x *htmlExporter) Write(evs []decode.Event) error {
	for i := range evs {
		x.event(&evs[i])
	}
	return nil
}

func (x *htmlExporter) event(ev *decode.Event) {
	if !x.epochV {
		x.epoch, x.epochV = ev.Time, true
	}
	if ev.Time.After(x.last) {
		x.last = ev.Time
	}
	k := htmlKey{ev.Conn, ev.H2Stream}
	c := x.conns[k]
	switch ev.Kind {
	case decode.KindTLS:
		// Held until the connection's conn event; a TLS connection that
		// is not WebSocket never has one, so at most 4*HTMLConns are held.
		if ev.TLS != nil && c == nil && len(x.tls) < 4*HTMLConns {
			t := *ev.TLS
			x.tls[ev.Conn] = &t
		}
	case decode.KindConn:
		if c == nil {
			c = x.newConn(k, ev)
		}
		if c != nil && ev.Info != nil {
			c.info, c.hasInfo = *ev.Info, true // before the filter: it matches on addresses
		}
	}
	if c == nil {
		if ev.Kind == decode.KindAnomaly {
			// Anomalies of connections without a WebSocket (or past
			// the connection limit) are still listed.
			if x.opt.Filter == nil || x.opt.Filter.Match(ev, nil) {
				x.anomaly(ev, nil)
			}
		}
		return
	}
	if x.opt.Filter != nil {
		var info *decode.ConnInfo
		if c.hasInfo {
			info = &c.info
		}
		if !x.opt.Filter.Match(ev, info) {
			return
		}
		c.matched = true
	}
	if c.first.IsZero() || ev.Time.Before(c.first) {
		c.first = ev.Time
	}
	if ev.Time.After(c.last) {
		c.last = ev.Time
	}
	d := roleIndex(ev.From)
	switch ev.Kind {
	case decode.KindTLS:
		if ev.TLS != nil {
			t := *ev.TLS
			c.tls = &t
		}
	case decode.KindHandshake:
		if h := ev.Handshake; h != nil {
			c.hs = &htmlHS{path: clip(h.Path, htmlText), host: clip(h.Host, htmlText), status: h.Status,
				proto: clip(h.Protocol, htmlText), ext: clip(h.Extensions, htmlText)}
			if h.Deflate != nil {
				c.hs.ext = h.Deflate.String()
			}
			switch {
			case h.Status == 0 || h.H2Stream != 0:
			case h.AcceptValid:
				c.hs.accept = "ok"
			case h.Accept == "":
				c.hs.accept = "missing"
			default:
				c.hs.accept = "mismatch"
			}
			var l []byte
			l = appendHandshakeInfo(l, ev.Handshake)
			x.conv(c, ev, map[string]any{"k": "h", "text": clip(string(l), 2*htmlText)})
		}
	case decode.KindFrame:
		x.frame(c, ev, d)
	case decode.KindMessage:
		x.message(c, ev, d)
	case decode.KindAnomaly:
		x.anomaly(ev, c)
	case decode.KindGap:
		c.gaps += ev.Gap
		x.conv(c, ev, map[string]any{"k": "g", "bytes": ev.Gap})
	case decode.KindEnd:
		e := &ev.End
		if d >= 0 {
			c.ended[d] = e.Reason.String()
		}
		item := map[string]any{"k": "e", "frames": e.Frames, "msgs": e.Messages, "bytes": e.Bytes, "reason": e.Reason.String()}
		if e.Undecoded > 0 {
			item["undecoded"] = e.Undecoded
		}
		x.conv(c, ev, item)
	}
}

func (x *htmlExporter) newConn(k htmlKey, ev *decode.Event) *htmlConn {
	if len(x.order) >= HTMLConns {
		x.overConns++
		return nil
	}
	c := &htmlConn{key: k, Idx: len(x.order), ID: k.conn, Stream: k.stream, cells: map[int64]*[2]uint32{}}
	if t := x.tls[k.conn]; t != nil {
		c.tls = t
		if k.stream == 0 {
			delete(x.tls, k.conn) // the streams of an HTTP/2 connection share it
		}
	}
	if x.opt.Filter == nil {
		c.matched = true
	}
	x.conns[k] = c
	x.order = append(x.order, c)
	return c
}

func (x *htmlExporter) frame(c *htmlConn, ev *decode.Event, d int) {
	f := &ev.Frame
	if d >= 0 {
		c.frames[d]++
	}
	x.frames++
	if f.Message > 0 {
		return // its message stands for it
	}
	more := uint64(len(f.Payload)) < f.PayloadLen
	item := map[string]any{"k": "f", "op": f.Opcode.String(), "len": f.PayloadLen}
	var l []byte
	switch f.Opcode {
	case decode.OpClose:
		l = appendCloseBody(l, f)
		if d >= 0 && c.closes[d] == "" {
			c.closes[d] = clip(string(l), htmlText)
		}
	case decode.OpPing, decode.OpPong:
		if len(f.Payload) > 0 {
			l = appendPreview(l, f.Payload, more, false, 0)
		}
		x.pingPong(c, ev)
	default:
		if len(f.Payload) > 0 {
			l = appendPreview(l, f.Payload, more, true, 0)
		}
	}
	item["text"] = clip(string(l), htmlText)
	x.conv(c, ev, item)
}

// pingPong matches a pong to the earliest unanswered ping of the other
// side with the same payload (RFC 6455 §5.5.3: a pong echoes its ping's
// payload); a pong that matches none (unsolicited, or its ping not
// captured) is no round trip.
func (x *htmlExporter) pingPong(c *htmlConn, ev *decode.Event) {
	f := &ev.Frame
	if f.Cut || uint64(len(f.Payload)) < f.PayloadLen {
		return
	}
	if f.Opcode == decode.OpPing {
		if len(c.pings) == htmlPendingPings {
			c.pings = slices.Delete(c.pings, 0, 1)
		}
		c.pings = append(c.pings, htmlPing{from: ev.From, t: ev.Time, payload: string(f.Payload)})
		return
	}
	for i := range c.pings {
		p := &c.pings[i]
		if p.from == ev.From || p.payload != string(f.Payload) {
			continue
		}
		ms := float64(ev.Time.Sub(p.t).Microseconds()) / 1000
		if ms < 0 {
			ms = 0
		}
		if c.rttN == 0 || ms < c.rttMin {
			c.rttMin = ms
		}
		if ms > c.rttMax {
			c.rttMax = ms
		}
		c.rttN++
		x.rtts++
		if len(c.rtt) < HTMLRTTPerConn {
			c.rtt = append(c.rtt, htmlRTT{x.rel(p.t), ms})
		}
		c.pings = slices.Delete(c.pings, i, i+1)
		return
	}
}

func (x *htmlExporter) message(c *htmlConn, ev *decode.Event, d int) {
	m := &ev.Message
	x.messages++
	x.bytes += m.Len
	if d >= 0 {
		c.msgs[d]++
		c.mbytes[d] += m.Len
		x.sizes[d][bits.Len64(m.Len)]++
		b := x.bucket(ev.Time)
		cell := c.cells[b]
		if cell == nil {
			cell = new([2]uint32)
			c.cells[b] = cell
			x.cells++
		}
		cell[d]++
		r := x.rate[b]
		if r == nil {
			r = new([4]float64)
			x.rate[b] = r
			x.cells++
		}
		r[d]++
		r[2+d] += float64(m.Len)
		for x.cells > HTMLCells {
			x.coarsen()
		}
	}
	item := map[string]any{"k": "m", "op": m.Opcode.String(), "len": m.Len}
	if m.Frames > 1 {
		item["frames"] = m.Frames
	}
	if m.Compressed {
		item["wire"] = m.WireLen
	}
	if m.Lost > 0 {
		item["lost"] = m.Lost
	}
	if m.Cut {
		item["cut"] = true
	}
	if m.DecodeError != "" {
		item["err"] = m.DecodeError
	}
	if m.Opcode == decode.OpText && !m.UTF8Valid && m.DecodeError == "" {
		item["badutf8"] = true
	}
	p := m.Payload
	if len(p) > HTMLPreview {
		p = p[:HTMLPreview]
	}
	if kept := uint64(len(p)); m.Len > kept {
		item["more"] = m.Len - kept
	}
	if m.Opcode == decode.OpText && m.DecodeError == "" && utf8.Valid(trimPartialRune(p)) {
		item["text"] = string(trimPartialRune(p))
	} else if len(p) > 0 {
		item["b64"] = base64.StdEncoding.EncodeToString(p)
	}
	if a := ev.App; a != nil {
		var lines []string
		if a.Partial && len(a.Units) == 0 {
			lines = append(lines, "[partial]")
		}
		for i := range a.Units {
			if i == htmlAppLines {
				break
			}
			lines = append(lines, clip(string(appendAppLine(nil, &a.Units[i])), htmlText))
		}
		if n := len(a.Units) - min(len(a.Units), htmlAppLines) + a.More; n > 0 {
			lines = append(lines, "(+"+strconv.Itoa(n)+" more)")
		}
		if lines != nil {
			item["app"] = lines
		}
	}
	x.conv(c, ev, item)
}

// coarsen doubles the time buckets, merging the cells.
func (x *htmlExporter) coarsen() {
	x.res *= 2
	x.cells = 0
	for _, c := range x.order {
		m := make(map[int64]*[2]uint32, len(c.cells)/2+1)
		for b, v := range c.cells {
			if w := m[b/2]; w != nil {
				w[0] += v[0]
				w[1] += v[1]
			} else {
				m[b/2] = v
			}
		}
		c.cells = m
		x.cells += len(m)
	}
	r := make(map[int64]*[4]float64, len(x.rate)/2+1)
	for b, v := range x.rate {
		if w := r[b/2]; w != nil {
			for i := range w {
				w[i] += v[i]
			}
		} else {
			r[b/2] = v
		}
	}
	x.rate = r
	x.cells += len(r)
}

func (x *htmlExporter) anomaly(ev *decode.Event, c *htmlConn) {
	a := &ev.Anomaly
	x.nAnoms++
	if int(a.Severity) < len(x.sevCount) {
		x.sevCount[a.Severity]++
	}
	if c != nil {
		c.anoms++
		c.worst = max(c.worst, int(a.Severity)+1)
	}
	if len(x.anoms) < HTMLAnomalies {
		ha := htmlAnomaly{Conn: -1, ID: ev.Conn, Stream: ev.H2Stream, Seq: ev.Seq, T: x.rel(ev.Time), Pkt: ev.Packet,
			Sev: a.Severity.String(), Code: clip(string(a.Code), htmlText), Detail: clip(a.Detail, 2*htmlText), Ref: clip(a.Ref, htmlText), From: ev.From.String()}
		if c != nil {
			ha.Conn = c.Idx
		}
		x.anoms = append(x.anoms, ha)
	}
	if c != nil {
		item := map[string]any{"k": "a", "sev": a.Severity.String(), "code": clip(string(a.Code), htmlText), "detail": clip(a.Detail, 2*htmlText)}
		x.conv(c, ev, item)
	}
}

// conv adds an item to c's conversation, within the limits.
func (x *htmlExporter) conv(c *htmlConn, ev *decode.Event, item map[string]any) {
	limit := HTMLConvPerConn
	if x.convLimit > 0 {
		limit = x.convLimit
	}
	if len(c.conv) >= limit {
		c.convMore++
		return
	}
	item["t"] = x.rel(ev.Time)
	item["pkt"] = ev.Packet
	item["seq"] = ev.Seq
	if d := ev.From.String(); d != "" {
		item["d"] = d[:1]
	}
	b, err := json.Marshal(item)
	if err != nil {
		return
	}
	c.conv = append(c.conv, b)
	x.convTotal++
	// Hold at most twice the total shown: past it, every connection
	// keeps what a fair share allows (as at Close).
	if x.convTotal > 2*HTMLConvTotal {
		x.trimConv(HTMLConvTotal)
	}
}

// trimConv cuts the conversations to at most total items together: each
// keeps its first n, n as large as total allows.
func (x *htmlExporter) trimConv(total int) {
	lens := make([]int, 0, len(x.order))
	for _, c := range x.order {
		lens = append(lens, len(c.conv))
	}
	n := fairShare(lens, total)
	x.convLimit = max(n, 1)
	x.convTotal = 0
	for _, c := range x.order {
		if len(c.conv) > n {
			c.convMore += len(c.conv) - n
			clear(c.conv[n:])
			c.conv = c.conv[:n]
		}
		x.convTotal += len(c.conv)
	}
}

// fairShare returns the largest n such that the sum of min(l, n) over
// lens is at most total.
func fairShare(lens []int, total int) int {
	s := slices.Clone(lens)
	slices.Sort(s)
	used := 0
	for i, l := range s {
		rest := len(s) - i
		if used+l*rest > total {
			return (total - used) / rest
		}
		used += l
	}
	if len(s) == 0 {
		return total
	}
	return s[len(s)-1]
}

// Close writes the report.
func (x *htmlExporter) Close() error {
	if x.closed {
		return nil
	}
	x.closed = true
	x.trimConv(HTMLConvTotal)
	data := x.data()
	js, err := json.Marshal(data)
	if err != nil {
		return err
	}
	// Inside <script>, "</" must not appear: escape every '<' (json.Marshal
	// already writes \u003c for it); U+2028/9 are escaped too.
	page := htmlTemplate
	page = strings.Replace(page, "/*CSS*/", htmlCSS, 1)
	title := x.opt.Title
	if title == "" {
		title = "capture"
	}
	page = strings.Replace(page, "{{TITLE}}", htmlEscape(title), 1)
	i := strings.Index(page, "/*DATA*/")
	j := strings.Index(page, "/*JS*/")
	if i < 0 || j < i {
		return io.ErrUnexpectedEOF
	}
	var out bytes.Buffer
	out.WriteString(page[:i])
	out.Write(js)
	out.WriteString(page[i+len("/*DATA*/") : j])
	out.WriteString(htmlJS)
	out.WriteString(page[j+len("/*JS*/"):])
	_, err = x.w.Write(out.Bytes())
	return err
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "\u2028", "&#8232;", "\u2029", "&#8233;").Replace(s)
}

type htmlConnJSON struct {
	Idx       int               `json:"i"`
	ID        int               `json:"id"`
	Stream    uint32            `json:"st,omitempty"`
	Client    string            `json:"cl"`
	Server    string            `json:"sv"`
	Midstream bool              `json:"mid,omitempty"`
	Path      string            `json:"path"`
	Host      string            `json:"host,omitempty"`
	Status    int               `json:"status,omitempty"`
	Proto     string            `json:"proto,omitempty"`
	Ext       string            `json:"ext,omitempty"`
	Accept    string            `json:"accept,omitempty"`
	TLS       string            `json:"tls,omitempty"`
	Start     float64           `json:"t0"`
	End       float64           `json:"t1"`
	Msgs      [2]int            `json:"msgs"`
	Bytes     [2]uint64         `json:"bytes"`
	Frames    [2]int            `json:"frames"`
	Anoms     int               `json:"anoms"`
	Worst     string            `json:"worst,omitempty"`
	Close     [2]string         `json:"close"`
	Gaps      int64             `json:"gaps,omitempty"`
	Ended     [2]string         `json:"ended"` // end reason per direction, "" while open
	Cells     [][3]int64        `json:"cells"` // bucket, client, server
	RTT       [][2]float64      `json:"rtt,omitempty"`
	RTTStats  *htmlRTTStats     `json:"rtts,omitempty"`
	Conv      []json.RawMessage `json:"conv"`
	ConvMore  int               `json:"convMore,omitempty"`
}

type htmlRTTStats struct {
	N      int     `json:"n"`
	Min    float64 `json:"min"`
	Median float64 `json:"med"`
	Max    float64 `json:"max"`
	Kept   int     `json:"kept"`
}

func (x *htmlExporter) data() map[string]any {
	now := time.Now
	if x.opt.Now != nil {
		now = x.opt.Now
	}
	conns := make([]htmlConnJSON, 0, len(x.order))
	remap := make([]int, len(x.order))
	shownMsgs := 0
	for _, c := range x.order {
		remap[c.Idx] = -1
		if !c.matched {
			continue
		}
		remap[c.Idx] = len(conns)
		j := htmlConnJSON{Idx: len(conns), ID: c.ID, Stream: c.Stream, Start: x.rel(c.first), End: x.rel(c.last),
			Msgs: c.msgs, Bytes: c.mbytes, Frames: c.frames, Anoms: c.anoms, Close: c.closes, Gaps: c.gaps, Ended: c.ended,
			Conv: c.conv, ConvMore: c.convMore}
		shownMsgs += c.msgs[0] + c.msgs[1]
		if j.Conv == nil {
			j.Conv = []json.RawMessage{}
		}
		if c.worst > 0 {
			j.Worst = decode.Severity(c.worst - 1).String()
		}
		if c.hasInfo {
			j.Client, j.Server, j.Midstream = addrString(c.info.Client), addrString(c.info.Server), c.info.Midstream
		}
		if h := c.hs; h != nil {
			j.Path, j.Host, j.Status, j.Proto, j.Ext, j.Accept = h.path, h.host, h.status, h.proto, h.ext, h.accept
		}
		if t := c.tls; t != nil {
			j.TLS = clip(t.Version, htmlText)
			if !t.Decrypted {
				j.TLS += " (not decrypted)"
			}
		}
		keys := make([]int64, 0, len(c.cells))
		for b := range c.cells {
			keys = append(keys, b)
		}
		slices.Sort(keys)
		j.Cells = make([][3]int64, 0, len(keys))
		for _, b := range keys {
			v := c.cells[b]
			j.Cells = append(j.Cells, [3]int64{b, int64(v[0]), int64(v[1])})
		}
		if len(c.rtt) > 0 {
			j.RTT = make([][2]float64, len(c.rtt))
			ms := make([]float64, len(c.rtt))
			for i, r := range c.rtt {
				j.RTT[i] = [2]float64{r.t, math.Round(r.ms*1000) / 1000}
				ms[i] = r.ms
			}
			slices.Sort(ms)
			med := ms[len(ms)/2]
			if len(ms)%2 == 0 {
				med = (ms[len(ms)/2-1] + ms[len(ms)/2]) / 2
			}
			j.RTTStats = &htmlRTTStats{N: c.rttN, Min: round3(c.rttMin), Median: round3(med), Max: round3(c.rttMax), Kept: len(c.rtt)}
		}
		conns = append(conns, j)
	}
	anoms := x.anoms
	if anoms == nil {
		anoms = []htmlAnomaly{}
	}
	for i := range anoms {
		if anoms[i].Conn >= 0 {
			anoms[i].Conn = remap[anoms[i].Conn]
		}
	}
	rk := make([]int64, 0, len(x.rate))
	for b := range x.rate {
		rk = append(rk, b)
	}
	slices.Sort(rk)
	rate := make([][5]float64, 0, len(rk))
	for _, b := range rk {
		v := x.rate[b]
		rate = append(rate, [5]float64{float64(b), v[0], v[1], v[2], v[3]})
	}
	var sizes [2][]int
	top := 0
	for d := range 2 {
		for i, n := range x.sizes[d] {
			if n > 0 {
				top = max(top, i+1)
			}
		}
	}
	for d := range 2 {
		sizes[d] = x.sizes[d][:top]
	}
	dur := 0.0
	var start string
	if x.epochV {
		dur = x.rel(x.last)
		start = x.epoch.UTC().Format(time.RFC3339Nano)
	}
	filter := ""
	if x.opt.Filter != nil {
		filter = x.opt.Filter.String()
	}
	return map[string]any{
		"title":     x.opt.Title,
		"version":   x.opt.Version,
		"generated": now().UTC().Format(time.RFC3339),
		"start":     start,
		"duration":  dur,
		"filter":    filter,
		"res":       float64(x.res) / 1e6, // seconds per time bucket
		"totals": map[string]any{
			"conns": len(conns), "messages": x.messages, "bytes": x.bytes, "frames": x.frames,
			"anomalies": x.nAnoms, "errors": x.sevCount[decode.SeverityError], "warnings": x.sevCount[decode.SeverityWarning],
			"infos": x.sevCount[decode.SeverityInfo], "rtts": x.rtts, "shownMessages": shownMsgs,
		},
		"limits": map[string]any{
			"conns": HTMLConns, "convTotal": HTMLConvTotal, "convPerConn": HTMLConvPerConn, "preview": HTMLPreview,
			"anomalies": HTMLAnomalies, "cells": HTMLCells, "rttPerConn": HTMLRTTPerConn,
		},
		"over":  map[string]any{"conns": x.overConns, "anomalies": x.nAnoms - len(x.anoms), "conv": x.convLimit},
		"conns": conns,
		"anoms": anoms,
		"rate":  rate,
		"sizes": sizes,
	}
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

func addrString(a netip.AddrPort) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}
