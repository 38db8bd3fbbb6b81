package output

import (
	"bufio"
	"io"
	"slices"
	"time"

	"github.com/wscap/wscap/decode"
	"github.com/wscap/wscap/dfilter"
)

// bufSize is the size of the bufio.Writer each renderer owns.
const bufSize = 256 << 10

// TimeFormat selects how the text timeline shows the Time column.
type TimeFormat uint8

const (
	// TimeRelative is seconds since the first packet of the capture ("0.000123").
	TimeRelative TimeFormat = iota
	// TimeAbsolute is the capture time in UTC, RFC 3339 with microseconds
	// ("2024-05-01T10:00:00.000123Z").
	TimeAbsolute
	// TimeDelta is seconds since the previous printed row.
	TimeDelta
)

// String returns the flag value that selects f.
func (f TimeFormat) String() string {
	switch f {
	case TimeAbsolute:
		return "absolute"
	case TimeDelta:
		return "delta"
	}
	return "relative"
}

// ParseTimeFormat parses "relative", "absolute" and "delta" (or "r", "a", "d").
func ParseTimeFormat(s string) (TimeFormat, bool) {
	switch s {
	case "relative", "r":
		return TimeRelative, true
	case "absolute", "a":
		return TimeAbsolute, true
	case "delta", "d":
		return TimeDelta, true
	}
	return TimeRelative, false
}

// Options configure a [Renderer].
type Options struct {
	Verbose bool       // text: a field tree under each frame, message, handshake and anomaly row (-V)
	Hex     bool       // text: hex+ASCII dump of frame and message payloads (-x)
	Time    TimeFormat // text: the Time column
	Width   int        // text: terminal width: previews are cut, legends wrapped and the summary table fitted to it; 0 = piped, full width
	Summary bool       // per-connection summary: a table (text) or "summary" lines (JSON) at Close
	// Stats gathers the timing statistics of every connection (see
	// [ConnTiming], [TimingsOf]) even without Summary, which gathers
	// them too; the counters of every connection are then kept for the
	// run (--stats).
	Stats    bool
	Timeline bool    // text: print the timeline rows (false for a summary-only run)
	View     View    // text timeline: which rows it prints (--frames, --messages)
	Follow   *Follow // text: the conversation view of these connections instead of the timeline (--follow)
	Pretty   bool    // text: pretty-print JSON payloads in -V trees and the --follow view (--pretty)
	// All shows every connection that had events: without it, a TLS
	// connection that does not turn out to be WebSocket is left out of
	// the text timeline and of the summary (see [Hidden]).
	All bool
	// Color: ANSI colours in the text timeline and summary table (see
	// color.go). Goldens and pipes leave it off.
	Color bool
	// Filter (-Y), if set, hides the events it does not match; the
	// counters still see every event, and the summary lists only the
	// connections with a matching event.
	Filter *dfilter.Filter
	// Order, if set, makes the JSON renderer start every line with an
	// "ord" member (see order.go), for a run that decodes one shard of a
	// capture (--shard): it is called once per Write and says where in
	// the run the events come from. Summary lines get theirs without it.
	Order func() Order
}

// View selects the rows of the text timeline. JSON Lines always carries
// every event.
type View uint8

const (
	// ViewDefault prints one row per data message: a single-frame
	// message's row carries its frame's flags, a fragmented message's
	// row counts its frames ("[3 frames]"). Control frames, frames that
	// belong to no message, anomalies, gaps and the rest keep their rows.
	ViewDefault View = iota
	// ViewFrames prints every frame row and every message row (--frames).
	ViewFrames
	// ViewMessages prints only the rows of data messages, close frames,
	// anomalies and gaps (--messages), under each connection's legend.
	ViewMessages
)

// Follow selects the connections of the --follow view.
type Follow struct {
	All     bool     // every connection
	Conns   []int    // connection ids, sorted: all their WebSockets
	Streams []Stream // WebSockets over HTTP/2, by connection and stream
}

// Stream names a WebSocket over HTTP/2: its connection and stream (#3/7).
type Stream struct {
	Conn   int
	Stream uint32
}

// Has reports whether the WebSocket of connection id (and HTTP/2 stream,
// 0 for HTTP/1.1) is followed.
func (f *Follow) Has(id int, stream uint32) bool {
	if f.All {
		return true
	}
	if _, ok := slices.BinarySearch(f.Conns, id); ok {
		return true
	}
	return stream != 0 && slices.Contains(f.Streams, Stream{id, stream})
}

// Renderer writes decode events to an io.Writer through a buffer it owns.
//
// Call SetEpoch once, then Write any number of times, Flush whenever the
// output must reach the writer (live capture), and Close exactly once.
// A Renderer is not safe for concurrent use.
type Renderer interface {
	// SetEpoch sets the capture time of the first packet; the text
	// timeline's relative times count from it. Without it, the time of the
	// first event is used.
	SetEpoch(t time.Time)
	// Write renders evs in order. Slices inside evs are only read during
	// the call. The error is the writer's.
	Write(evs []decode.Event) error
	// Flush writes the buffered output to the underlying writer.
	Flush() error
	// Close writes the summary (if enabled) and flushes.
	Close() error
}

// NewText returns a Renderer for the human-readable timeline (and summary
// table) described in the package documentation.
func NewText(w io.Writer, opt Options) Renderer {
	return newText(w, opt)
}

// NewJSON returns a Renderer that writes JSON Lines (schema: README.md, section JSON Lines).
func NewJSON(w io.Writer, opt Options) Renderer {
	return newJSON(w, opt)
}

// roleIndex maps a role to the index of its per-direction counters:
// 0 client, 1 server, -1 none.
func roleIndex(r decode.Role) int {
	switch r {
	case decode.RoleClient:
		return 0
	case decode.RoleServer:
		return 1
	}
	return -1
}

// base holds what both renderers share: the buffered writer, the epoch and
// the per-connection bookkeeping for legends and the summary.
type base struct {
	w      *bufio.Writer // nil for a Shard: output is appended to mem
	mem    []byte
	opt    Options
	epoch  time.Time
	epochV bool
	conns  tracker
	closed bool
}

// show reports whether ev (of connection c) passes Options.Filter, and
// marks c as having a matching event.
func (b *base) show(ev *decode.Event, c *connStats) bool {
	f := b.opt.Filter
	if f == nil {
		return true
	}
	var info *decode.ConnInfo
	if c.hasInfo {
		info = &c.info
	}
	if !f.Match(ev, info) {
		return false
	}
	c.matched = true
	return true
}

func (b *base) init(w io.Writer, opt Options) {
	b.w = bufio.NewWriterSize(w, bufSize)
	b.opt = opt
	b.conns.init(opt)
}

func (b *base) SetEpoch(t time.Time) {
	b.epoch = t
	b.epochV = true
}

func (b *base) Flush() error {
	if b.w == nil {
		return nil
	}
	return b.w.Flush()
}

// put writes p to the output: the bufio.Writer, or a Shard's memory.
func (b *base) put(p []byte) error {
	if b.w == nil {
		b.mem = append(b.mem, p...)
		return nil
	}
	_, err := b.w.Write(p)
	return err
}

// Exporter is an output beside the timeline or JSON Lines (--har, --html,
// --extract): it is given every event of the run in output order, on the
// pipeline's one engine (a run with exporters is serial), and closed at
// the end, where it writes what it gathered. The events and their byte
// slices are valid only during Write: an exporter copies what it keeps,
// within bounds it documents. It sees every event; an exporter that honours
// a display filter applies Options.Filter itself.
type Exporter interface {
	Write(evs []decode.Event) error
	Close() error
}
