// Package progress draws the progress of a long read on standard error:
// bytes read of the file's size, the rate, the time left, and the
// WebSocket connections and messages found so far.
//
// On a terminal it is one line, redrawn in place ("\r", the line, then
// erase-to-end-of-line; it never scrolls) at most every Options.Every,
// and erased by [Meter.Stop] and before every write through a writer
// that [Meter.Guard] returns, so that other output is never garbled.
// Elsewhere (a log file) it is a plain line at most every Options.Every.
//
// The caller draws from its own loop: [Meter.Due] is a clock comparison,
// and the counters are gathered only when it says a line is due.
package progress

import (
	"io"
	"strconv"
	"sync"
	"time"
)

// Stats is what one line shows.
type Stats struct {
	// Read is how many bytes of the file were read, of Size (-1 or 0:
	// unknown). For gzip-compressed input both count compressed bytes.
	Read, Size int64
	// Conns and Messages are the WebSocket connections and the data
	// messages decoded so far.
	Conns, Messages int64
}

// Options configures a [Meter].
type Options struct {
	// Terminal redraws one line in place; otherwise every line is a
	// plain line of its own.
	Terminal bool
	// Width returns the terminal's columns (0: unknown, no limit); the
	// line is cut to fit in one row less a column. It is asked at every
	// draw, so that a resized terminal is followed. Nil: no limit.
	Width func() int
	// Delay is how long after the start the first line is drawn (short
	// reads show nothing); Every the least time between two lines.
	Delay, Every time.Duration
}

// Defaults: on a terminal a line after half a second, then ten a second;
// elsewhere one a second.
var (
	TerminalDefaults = Options{Terminal: true, Delay: 500 * time.Millisecond, Every: 100 * time.Millisecond}
	PlainDefaults    = Options{Delay: time.Second, Every: time.Second}
)

// erase returns the cursor to the start of the line and erases it.
const erase = "\r\x1b[K"

// Meter draws progress lines on w. Due, Draw and Stop are called from one
// goroutine; the writers from Guard may be used from any.
type Meter struct {
	opt   Options
	start time.Time
	next  time.Time // the earliest time of the next line

	mu      sync.Mutex
	w       io.Writer
	shown   bool // a line is on the terminal
	mid     bool // a guarded write left the cursor in the middle of a line
	stopped bool
	buf     []byte
}

// New returns a Meter that started at start and draws on w.
func New(w io.Writer, start time.Time, opt Options) *Meter {
	return &Meter{opt: opt, start: start, next: start.Add(opt.Delay), w: w}
}

// Due reports whether a line is to be drawn at now.
func (m *Meter) Due(now time.Time) bool { return !now.Before(m.next) }

// Draw draws the line for s at now, if one is due and the meter is not
// stopped. On a terminal nothing is drawn while a guarded write has left
// a line unfinished: the line would be drawn over it.
func (m *Meter) Draw(now time.Time, s Stats) {
	if !m.Due(now) {
		return
	}
	m.next = now.Add(m.opt.Every)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped || m.mid {
		return
	}
	width := 0
	if m.opt.Width != nil {
		width = m.opt.Width()
	}
	line := Format(s, now.Sub(m.start), width)
	m.buf = m.buf[:0]
	if m.opt.Terminal {
		m.buf = append(m.buf, '\r')
		m.buf = append(m.buf, line...)
		m.buf = append(m.buf, "\x1b[K"...)
	} else {
		m.buf = append(m.buf, line...)
		m.buf = append(m.buf, '\n')
	}
	if _, err := m.w.Write(m.buf); err != nil {
		m.stopped = true // stderr is gone: draw no more
		return
	}
	m.shown = m.opt.Terminal
}

// clear erases the line on the terminal; m.mu is held.
func (m *Meter) clear() {
	if m.shown {
		m.shown = false
		io.WriteString(m.w, erase)
	}
}

// Stop erases the line, if one is shown, and draws no more.
func (m *Meter) Stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.clear()
	m.stopped = true
}

// Guard returns a writer that writes to w, first erasing the line if one
// is shown: for standard error and, when it is the same terminal,
// standard output. The bytes written to w are exactly those given.
func (m *Meter) Guard(w io.Writer) io.Writer { return &guarded{m: m, w: w} }

type guarded struct {
	m *Meter
	w io.Writer
}

func (g *guarded) Write(p []byte) (int, error) {
	m := g.m
	m.mu.Lock()
	defer m.mu.Unlock()
	m.clear()
	n, err := g.w.Write(p)
	if n > 0 && m.opt.Terminal {
		m.mid = p[n-1] != '\n'
	}
	return n, err
}

// Format returns the line for s after elapsed: "wscap: ", then read / size
// and the percentage, the rate, the time left, the WebSocket connections
// and the messages. When it is wider than width-1 columns (width > 0),
// parts are left out, the least useful first, and what is still too wide
// is cut.
func Format(s Stats, elapsed time.Duration, width int) string {
	secs := elapsed.Seconds()
	rate := 0.0
	if secs > 0 {
		rate = float64(s.Read) / secs
	}
	// Parts in the order shown, with the order they are dropped in
	// (highest first).
	type part struct {
		text string
		drop int
	}
	var parts []part
	if s.Size > 0 {
		read := min(s.Read, s.Size)
		unit := pickUnit(s.Size)
		parts = append(parts,
			part{strconv.FormatFloat(100*float64(read)/float64(s.Size), 'f', 1, 64) + "%", 0},
			part{scaled(read, unit) + " / " + scaled(s.Size, unit) + " " + unit.name, 3},
		)
	} else {
		parts = append(parts, part{Bytes(s.Read), 0})
	}
	parts = append(parts, part{Bytes(int64(rate)) + "/s", 4})
	if s.Size > 0 {
		eta := "ETA --:--"
		switch {
		case s.Read >= s.Size:
			eta = "ETA 0:00"
		case rate > 0:
			eta = "ETA " + Duration(time.Duration(float64(s.Size-s.Read)/rate*float64(time.Second)))
		}
		parts = append(parts, part{eta, 1})
	}
	parts = append(parts,
		part{count(s.Conns, "WebSocket", "WebSocket"), 5},
		part{count(s.Messages, "message", "messages"), 6},
	)
	const prefix, sep = "wscap: ", "  "
	join := func() string {
		b := []byte(prefix)
		for i, p := range parts {
			if i > 0 {
				b = append(b, sep...)
			}
			b = append(b, p.text...)
		}
		return string(b)
	}
	line := join()
	for width > 0 && len(line) > width-1 && len(parts) > 1 {
		worst := 0
		for i, p := range parts {
			if p.drop > parts[worst].drop {
				worst = i
			}
		}
		parts = append(parts[:worst], parts[worst+1:]...)
		line = join()
	}
	if width > 0 && len(line) > width-1 {
		line = line[:max(width-1, 0)] // the line is ASCII
	}
	return line
}

type unit struct {
	name string
	div  float64
	prec int
}

var units = []unit{
	{"B", 1, 0},
	{"kB", 1e3, 1},
	{"MB", 1e6, 1},
	{"GB", 1e9, 2},
	{"TB", 1e12, 2},
}

// pickUnit returns the decimal unit n is shown in.
func pickUnit(n int64) unit {
	u := units[0]
	for _, v := range units[1:] {
		if float64(n) >= v.div {
			u = v
		}
	}
	return u
}

func scaled(n int64, u unit) string {
	return strconv.FormatFloat(float64(n)/u.div, 'f', u.prec, 64)
}

// Bytes formats n bytes in decimal units ("812.3 MB"), as --stats gives
// rates in MB/s.
func Bytes(n int64) string {
	u := pickUnit(n)
	return scaled(n, u) + " " + u.name
}

// Duration formats a time left as m:ss, or h:mm:ss from an hour on;
// ">99h" past 99 hours.
func Duration(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second) // round up: never "0:00" before the end
	if s > 99*3600+59*60+59 {
		return ">99h"
	}
	two := func(n int64) string {
		if n < 10 {
			return "0" + strconv.FormatInt(n, 10)
		}
		return strconv.FormatInt(n, 10)
	}
	if s >= 3600 {
		return strconv.FormatInt(s/3600, 10) + ":" + two(s/60%60) + ":" + two(s%60)
	}
	return strconv.FormatInt(s/60, 10) + ":" + two(s%60)
}

// count formats n with thousands separators and the noun.
func count(n int64, one, many string) string {
	noun := many
	if n == 1 {
		noun = one
	}
	return thousands(n) + " " + noun
}

func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := ""
	if n < 0 {
		neg, s = "-", s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return neg + s
}
