package output

import (
	"io"
	"math"
	"math/bits"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/wscap/wscap/decode"
)

// Timing statistics of a WebSocket connection (README, "Timing
// statistics"): ping->pong round trips, message rates and sizes per
// direction, how long the close took, the longest silence. Every piece is
// bounded per connection, whatever the traffic:
//
//   - a series (round-trip times, message sizes) keeps its first
//     exactSamples values, so its percentiles are exact up to that many;
//     past it the values go to a log-linear histogram (64 buckets per
//     power of two, as HdrHistogram with 6 significant bits), whose
//     percentiles are the middle of their bucket: within 1/128 (0.8%) of
//     the exact value. Count, min and max stay exact.
//   - rates count messages in 100 bins of 10 ms per direction: the peak is
//     the busiest 1 s window that starts on a 10 ms boundary of the
//     capture clock (at most the true peak over any 1 s window, at least
//     the true peak over any 0.99 s one).
//   - at most maxOutstanding pings per direction wait for their pong; an
//     older one is dropped (counted unanswered).
//   - at most maxRTTSamples round trips are kept with their times (for
//     plots): past it every other one is dropped and only every 2nd, 4th...
//     new one kept, so that they stay spread over the whole connection.

const (
	exactSamples   = 2048
	histSubBits    = 6 // 64 buckets per power of two
	rateBins       = 100
	rateBin        = 10 * time.Millisecond
	maxOutstanding = 16
	maxRTTSamples  = 1024
)

// series holds the values of one statistic: exactly up to exactSamples,
// then as a histogram.
type series struct {
	n        int
	min, max int64
	exact    []int64
	hist     []uint32 // by bucketOf, once past exactSamples
}

func (s *series) add(v int64) {
	v = max(v, 0)
	if s.n == 0 || v < s.min {
		s.min = v
	}
	if v > s.max {
		s.max = v
	}
	s.n++
	if s.hist == nil {
		if len(s.exact) < exactSamples {
			s.exact = append(s.exact, v)
			return
		}
		for _, x := range s.exact {
			s.bump(x)
		}
		s.exact = nil
	}
	s.bump(v)
}

func (s *series) bump(v int64) {
	i := bucketOf(uint64(v))
	if i >= len(s.hist) {
		s.hist = append(s.hist, make([]uint32, i+1-len(s.hist))...)
	}
	s.hist[i]++
}

// bucketOf is the histogram bucket of v: values below 64 have one each;
// above, each power of two [2^k, 2^(k+1)) is cut into 64 equal buckets.
func bucketOf(v uint64) int {
	if v < 1<<histSubBits {
		return int(v)
	}
	o := bits.Len64(v) - histSubBits - 1
	return (o+1)<<histSubBits + int(v>>o) - 1<<histSubBits
}

// bucketMid is the middle of bucket i (bucketOf's inverse, within 0.8%).
func bucketMid(i int) int64 {
	if i < 1<<histSubBits {
		return int64(i)
	}
	o := i>>histSubBits - 1
	m := uint64(i&(1<<histSubBits-1) + 1<<histSubBits)
	lo := m << o
	return int64(lo + (uint64(1)<<o-1)/2)
}

// quantiles returns the nearest-rank q-quantiles of s (the smallest value
// with at least a fraction q of the values at or below it).
func (s *series) quantiles(qs ...float64) []int64 {
	out := make([]int64, len(qs))
	if s.n == 0 {
		return out
	}
	rank := func(q float64) int {
		return min(max(int(math.Ceil(q*float64(s.n))), 1), s.n)
	}
	if s.hist == nil {
		v := slices.Clone(s.exact)
		slices.Sort(v)
		for i, q := range qs {
			out[i] = v[rank(q)-1]
		}
		return out
	}
	for i, q := range qs {
		r, seen := rank(q), 0
		for b, n := range s.hist {
			if seen += int(n); seen >= r {
				out[i] = min(max(bucketMid(b), s.min), s.max)
				break
			}
		}
	}
	return out
}

// dist summarises s.
func (s *series) dist() Dist {
	d := Dist{Count: s.n, Min: s.min, Max: s.max, Exact: s.hist == nil}
	if s.n > 0 {
		q := s.quantiles(0.5, 0.99)
		d.Median, d.P99 = q[0], q[1]
	}
	return d
}

// rate finds the busiest 1 s window of one direction. It keeps the
// non-empty 10 ms bins of the window, oldest first: a few for most
// connections, at most rateBins.
type rate struct {
	bins             []rateBinCount // bins[lo:], by number
	lo               int
	winCnt, winBytes uint64 // sums over the bins in the window
	peakCnt, peakByt uint64
}

// rateBinCount is one 10 ms bin: number k (time / rateBin) and its counts.
type rateBinCount struct {
	k   int64
	cnt uint64
	byt uint64
}

func (r *rate) add(t time.Time, n uint64) {
	k := floorDiv(t.UnixNano(), int64(rateBin))
	var b *rateBinCount
	switch last := len(r.bins) - 1; {
	case last < r.lo:
		r.bins, r.lo = append(r.bins[:0], rateBinCount{k: k}), 0
		b = &r.bins[0]
	case k > r.bins[last].k:
		// Bins that leave the window.
		for r.lo <= last && r.bins[r.lo].k <= k-rateBins {
			r.winCnt -= r.bins[r.lo].cnt
			r.winBytes -= r.bins[r.lo].byt
			r.lo++
		}
		if r.lo > len(r.bins)/2 {
			r.bins = r.bins[:copy(r.bins, r.bins[r.lo:])]
			r.lo = 0
		}
		r.bins = append(r.bins, rateBinCount{k: k})
		b = &r.bins[len(r.bins)-1]
	case k <= r.bins[last].k-rateBins:
		b = &r.bins[last] // older than the window (clock stepped back): counted now
	default:
		// Within the window, not after its newest bin.
		i := last
		for i > r.lo && r.bins[i].k > k {
			i--
		}
		if r.bins[i].k != k {
			if r.bins[i].k < k {
				i++
			}
			r.bins = slices.Insert(r.bins, i, rateBinCount{k: k})
		}
		b = &r.bins[i]
	}
	b.cnt++
	b.byt += n
	r.winCnt++
	r.winBytes += n
	r.peakCnt = max(r.peakCnt, r.winCnt)
	r.peakByt = max(r.peakByt, r.winBytes)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// dirTiming is one direction's part of connTiming.
type dirTiming struct {
	messages int
	bytes    uint64 // message payload bytes (after inflation)
	sizes    series
	rate     *rate // allocated at the first message

	pings []pendingPing // sent by this side, awaiting the other's pong
}

type pendingPing struct {
	sum uint64 // FNV-1a of the payload
	len uint64
	t   time.Time
}

// connTiming is what a connStats gathers for the timing statistics.
type connTiming struct {
	dir [2]dirTiming

	rtt        series
	samples    []RTTSample
	stride     int // keep every stride-th round trip in samples
	skipped    int // round trips since the last one kept
	unanswered int
	unmatched  int

	closeAt   [2]time.Time // first close frame of each direction
	closeSeen [2]bool

	lastFrame  time.Time
	frames     bool
	silence    time.Duration
	silenceAt  time.Time
	endAt      time.Time // the last end event
	endReasons [2]decode.EndReason
	ended      [2]bool
}

// frame folds one frame of direction d.
func (tm *connTiming) frame(ev *decode.Event, d int) {
	t := ev.Time
	if tm.frames {
		if gap := t.Sub(tm.lastFrame); gap > tm.silence {
			tm.silence, tm.silenceAt = gap, tm.lastFrame
		}
	}
	if !tm.frames || t.After(tm.lastFrame) {
		tm.lastFrame = t
	}
	tm.frames = true
	f := &ev.Frame
	if f.Cut {
		return // the frame is not all there: no ping, pong or close
	}
	switch f.Opcode {
	case decode.OpClose:
		if !tm.closeSeen[d] {
			tm.closeSeen[d], tm.closeAt[d] = true, t
		}
	case decode.OpPing:
		s := &tm.dir[d]
		if len(s.pings) == maxOutstanding {
			s.pings = append(s.pings[:0], s.pings[1:]...)
			tm.unanswered++
		}
		s.pings = append(s.pings, pendingPing{sum: payloadSum(f.Payload), len: f.PayloadLen, t: t})
	case decode.OpPong:
		// The pong answers a ping of the other side: the oldest one
		// waiting with the same payload.
		s := &tm.dir[d^1]
		sum := payloadSum(f.Payload)
		i := slices.IndexFunc(s.pings, func(p pendingPing) bool { return p.sum == sum && p.len == f.PayloadLen })
		if i < 0 {
			tm.unmatched++
			return
		}
		p := s.pings[i]
		s.pings = slices.Delete(s.pings, i, i+1)
		rtt := t.Sub(p.t)
		tm.rtt.add(int64(rtt))
		tm.sample(RTTSample{Time: p.t, RTT: rtt, From: roleOfIndex(d ^ 1)})
	}
}

// sample keeps a round trip for ConnTiming.RTTSamples, thinning them
// evenly past maxRTTSamples.
func (tm *connTiming) sample(s RTTSample) {
	if tm.stride == 0 {
		tm.stride = 1
	}
	if tm.skipped++; tm.skipped < tm.stride {
		return
	}
	tm.skipped = 0
	if len(tm.samples) == maxRTTSamples {
		n := 0
		for i := 0; i < len(tm.samples); i += 2 {
			tm.samples[n] = tm.samples[i]
			n++
		}
		tm.samples = tm.samples[:n]
		tm.stride *= 2
	}
	tm.samples = append(tm.samples, s)
}

// payloadSum is the 64-bit FNV-1a hash of p.
func payloadSum(p []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range p {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

func roleOfIndex(d int) decode.Role {
	if d == 0 {
		return decode.RoleClient
	}
	return decode.RoleServer
}

// message folds one data message of direction d.
func (tm *connTiming) message(ev *decode.Event, d int) {
	s := &tm.dir[d]
	n := ev.Message.Len
	s.messages++
	s.bytes += n
	s.sizes.add(int64(min(n, math.MaxInt64)))
	if s.rate == nil {
		s.rate = &rate{}
	}
	s.rate.add(ev.Time, n)
}

// end folds the end event of direction d.
func (tm *connTiming) end(ev *decode.Event, d int) {
	if !tm.ended[d] {
		tm.ended[d], tm.endReasons[d] = true, ev.End.Reason
	}
	if ev.Time.After(tm.endAt) {
		tm.endAt = ev.Time
	}
}

// Dist summarises a series of values: nanoseconds for round-trip times,
// bytes for message sizes. Median and P99 are nearest-rank percentiles,
// exact when Exact (at most 2048 values), else within 0.8% (see README,
// "Timing statistics").
type Dist struct {
	Count                 int
	Min, Median, P99, Max int64
	Exact                 bool
}

// RTTSample is one ping->pong round trip.
type RTTSample struct {
	Time time.Time     // when the ping was sent (captured)
	RTT  time.Duration // until its pong was captured
	From decode.Role   // who sent the ping
}

// DirTiming is the timing statistics of one direction of a WebSocket.
type DirTiming struct {
	Messages int
	Bytes    uint64 // message payload bytes, after inflation
	// PeakMsgs and PeakBytes are the messages and bytes of the busiest
	// 1 s window (starting on a 10 ms boundary).
	PeakMsgs, PeakBytes uint64
	// MeanMsgs and MeanBytes are per second over the connection's
	// duration (its first to its last event), at least 1 s.
	MeanMsgs, MeanBytes float64
	Size                Dist // message sizes (bytes, after inflation)
}

// ConnTiming is the timing statistics of one WebSocket connection (an
// HTTP/2 stream for a WebSocket over HTTP/2), as the JSON summary and
// the --stats report show them. Durations that do not apply are 0 with
// their Has flag false.
type ConnTiming struct {
	Conn           int
	H2Stream       uint32 // 0 for HTTP/1.1
	Client, Server netip.AddrPort
	Path           string
	First, Last    time.Time // the connection's first and last events

	EndReason string // as the summary's end_reason
	ClosedBy  string // "client", "server" or "" (see the summary's closed_by)

	RTT        Dist        // ping->pong round-trip times, nanoseconds
	RTTSamples []RTTSample // in capture order; at most 1024, spread evenly over the connection
	// PingsUnanswered counts the pings no pong matched (still waiting at
	// the end, or pushed out by 16 newer ones); PongsUnmatched the pongs
	// that matched no waiting ping (unsolicited heartbeats).
	PingsUnanswered, PongsUnmatched int

	Dir [2]DirTiming // [0] client to server, [1] server to client

	// CloseHandshake is from the first close frame to the other side's.
	CloseHandshake    time.Duration
	HasCloseHandshake bool
	// CloseToEnd is from the first close frame to the end of the TCP
	// connection (its last FIN or RST, or an HTTP/2 stream's end).
	CloseToEnd    time.Duration
	HasCloseToEnd bool
	// LongestSilence is the largest gap between two consecutive frames
	// (of either direction), starting at SilenceFrom.
	LongestSilence time.Duration
	SilenceFrom    time.Time
}

// timing returns c's ConnTiming.
func (c *connStats) timing() ConnTiming {
	tm := c.tm
	if tm == nil {
		tm = &connTiming{} // nothing came: zero counts
	}
	ct := ConnTiming{
		Conn: c.id, H2Stream: c.stream, Client: c.info.Client, Server: c.info.Server, Path: c.path,
		First: c.first, Last: c.last,
		RTT:             tm.rtt.dist(),
		RTTSamples:      slices.Clone(tm.samples),
		PingsUnanswered: tm.unanswered + len(tm.dir[0].pings) + len(tm.dir[1].pings),
		PongsUnmatched:  tm.unmatched,
		LongestSilence:  tm.silence,
		SilenceFrom:     tm.silenceAt,
	}
	ct.EndReason, ct.ClosedBy = c.endReason()
	span := c.last.Sub(c.first).Seconds()
	for d := range 2 {
		s := &tm.dir[d]
		o := &ct.Dir[d]
		o.Messages, o.Bytes, o.Size = s.messages, s.bytes, s.sizes.dist()
		if s.rate != nil {
			o.PeakMsgs, o.PeakBytes = s.rate.peakCnt, s.rate.peakByt
		}
		// A connection shorter than the peak's 1 s window counts as 1 s:
		// its mean is then what it sent in its one window, never above
		// the peak.
		span := max(span, 1)
		o.MeanMsgs, o.MeanBytes = float64(s.messages)/span, float64(s.bytes)/span
	}
	first := -1
	switch {
	case tm.closeSeen[0] && tm.closeSeen[1]:
		first = 0
		if tm.closeAt[1].Before(tm.closeAt[0]) {
			first = 1
		}
		ct.CloseHandshake, ct.HasCloseHandshake = tm.closeAt[first^1].Sub(tm.closeAt[first]), true
	case tm.closeSeen[0]:
		first = 0
	case tm.closeSeen[1]:
		first = 1
	}
	if first >= 0 && tm.ended[0] && tm.ended[1] && tcpEnd(tm.endReasons[0]) && tcpEnd(tm.endReasons[1]) {
		ct.CloseToEnd, ct.HasCloseToEnd = tm.endAt.Sub(tm.closeAt[first]), true
	}
	return ct
}

// tcpEnd reports whether reason is an end the capture saw happen.
func tcpEnd(r decode.EndReason) bool {
	return r == decode.EndFIN || r == decode.EndRST
}

func timingsOf(conns []*connStats) []ConnTiming {
	out := make([]ConnTiming, 0, len(conns))
	for _, c := range conns {
		if c.ws && c.timed {
			out = append(out, c.timing())
		}
	}
	return out
}

// TimingsOf returns the timing statistics a Renderer gathered (with
// Options.Summary or Options.Stats), after Close: those of the
// connections its summary shows, in connection order.
func TimingsOf(r Renderer) []ConnTiming {
	if x, ok := r.(interface{ b() *base }); ok {
		b := x.b()
		return timingsOf(b.conns.shown(b.conns.sorted()))
	}
	return nil
}

// SummaryTimings returns the timing statistics of the Summaries of a
// run's Shards (with Options.Summary or Options.Stats), in connection
// order.
func SummaryTimings(parts ...*Summary) []ConnTiming {
	var conns []*connStats
	for _, p := range parts {
		conns = append(conns, p.conns...)
	}
	slices.SortFunc(conns, compareConns)
	return timingsOf(conns)
}

// appendDur appends d compactly for a table: "850us", "12.3ms", "1.234s",
// "75.2s".
func appendDur(b []byte, d time.Duration) []byte {
	if d < 0 {
		b = append(b, '-')
		d = -d
	}
	switch {
	case d < time.Millisecond:
		b = strconv.AppendInt(b, int64(d/time.Microsecond), 10)
		return append(b, "us"...)
	case d < time.Second:
		b = strconv.AppendFloat(b, float64(d)/1e6, 'f', 1, 64)
		return append(b, "ms"...)
	case d < 10*time.Second:
		b = strconv.AppendFloat(b, d.Seconds(), 'f', 3, 64)
	default:
		b = strconv.AppendFloat(b, d.Seconds(), 'f', 1, 64)
	}
	return append(b, 's')
}

// appendQty appends n compactly: as it is below 10000, else with k, M or
// G (powers of 1000) and one decimal.
func appendQty(b []byte, n float64) []byte {
	switch {
	case n < 10000:
		if n == math.Trunc(n) {
			return strconv.AppendFloat(b, n, 'f', 0, 64)
		}
		return strconv.AppendFloat(b, n, 'f', 1, 64)
	case n < 1e6:
		return append(strconv.AppendFloat(b, n/1e3, 'f', 1, 64), 'k')
	case n < 1e9:
		return append(strconv.AppendFloat(b, n/1e6, 'f', 1, 64), 'M')
	}
	return append(strconv.AppendFloat(b, n/1e9, 'f', 1, 64), 'G')
}

// endCell is the summary table's End cell: how the connection ended and
// who closed first ("handshake by C", "fin by S", "idle", "capture end").
func endCell(c *connStats) string {
	reason, by := c.endReason()
	var s string
	switch reason {
	case "close_handshake":
		s = "handshake"
	case "close_one_side":
		s = "one side"
	case "fin_without_close":
		s = "fin"
	case "capture_end":
		s = "capture end"
	default:
		s = reason
	}
	switch by {
	case "client":
		s += " by C"
	case "server":
		s += " by S"
	}
	return s
}

// rttCell is the summary table's RTT cell: the median round trip and how
// many there were ("20.0ms x3"), "-" when none.
func rttCell(c *connStats) string {
	if c.tm == nil || c.tm.rtt.n == 0 {
		return "-"
	}
	q := c.tm.rtt.quantiles(0.5)
	b := appendDur(nil, time.Duration(q[0]))
	b = append(b, " x"...)
	return string(strconv.AppendInt(b, int64(c.tm.rtt.n), 10))
}

// timingHeader names the columns of the --stats timing table.
var timingHeader = []string{
	"Conn", "Pings", "RTT min/med/p99/max", "C>S msg/s peak/mean", "S>C msg/s peak/mean",
	"C>S B/s peak/mean", "S>C B/s peak/mean", "C>S size med/p99/max", "S>C size med/p99/max",
	"Close", "Close>end", "Silence", "End",
}

// WriteTimingTable writes the timing statistics of conns as a table (the
// --stats report): one row per connection, fitted to width columns as the
// summary table is (0: full width).
func WriteTimingTable(w io.Writer, conns []ConnTiming, width int) error {
	if len(conns) == 0 {
		_, err := io.WriteString(w, "(no WebSocket connections)\n")
		return err
	}
	rows := make([][]string, 0, len(conns))
	for i := range conns {
		rows = append(rows, timingRow(&conns[i]))
	}
	if width <= 0 {
		return writeTable(w, timingHeader, rows)
	}
	for i, g := range fitTable(timingHeader, rows, width) {
		if i > 0 {
			if _, err := io.WriteString(w, "\n"); err != nil {
				return err
			}
		}
		if err := writeTable(w, g.header, g.rows); err != nil {
			return err
		}
	}
	return nil
}

func timingRow(t *ConnTiming) []string {
	label := "#" + strconv.Itoa(t.Conn)
	if t.H2Stream != 0 {
		label += "/" + strconv.FormatUint(uint64(t.H2Stream), 10)
	}
	pings := "-"
	if n := t.RTT.Count + t.PingsUnanswered; n > 0 || t.PongsUnmatched > 0 {
		pings = strconv.Itoa(t.RTT.Count) + " rtt"
		if t.PingsUnanswered > 0 {
			pings += " " + strconv.Itoa(t.PingsUnanswered) + " lost"
		}
		if t.PongsUnmatched > 0 {
			pings += " " + strconv.Itoa(t.PongsUnmatched) + " unsol"
		}
	}
	rtt := "-"
	if t.RTT.Count > 0 {
		var b []byte
		for i, v := range [4]int64{t.RTT.Min, t.RTT.Median, t.RTT.P99, t.RTT.Max} {
			if i > 0 {
				b = append(b, '/')
			}
			b = appendDur(b, time.Duration(v))
		}
		rtt = string(b)
	}
	rates := func(d *DirTiming, bytes bool) string {
		if d.Messages == 0 {
			return "-"
		}
		peak, mean := float64(d.PeakMsgs), d.MeanMsgs
		if bytes {
			peak, mean = float64(d.PeakBytes), d.MeanBytes
		}
		b := appendQty(nil, peak)
		b = append(b, '/')
		return string(appendQty(b, math.Round(mean*10)/10))
	}
	sizes := func(d *DirTiming) string {
		if d.Size.Count == 0 {
			return "-"
		}
		b := appendQty(nil, float64(d.Size.Median))
		b = appendQty(append(b, '/'), float64(d.Size.P99))
		return string(appendQty(append(b, '/'), float64(d.Size.Max)))
	}
	dur := func(d time.Duration, ok bool) string {
		if !ok {
			return "-"
		}
		return string(appendDur(nil, d))
	}
	end := t.EndReason
	if t.ClosedBy != "" {
		end += " by " + t.ClosedBy
	}
	return []string{
		label, pings, rtt,
		rates(&t.Dir[0], false), rates(&t.Dir[1], false),
		rates(&t.Dir[0], true), rates(&t.Dir[1], true),
		sizes(&t.Dir[0]), sizes(&t.Dir[1]),
		dur(t.CloseHandshake, t.HasCloseHandshake), dur(t.CloseToEnd, t.HasCloseToEnd),
		dur(t.LongestSilence, t.LongestSilence > 0),
		end,
	}
}
