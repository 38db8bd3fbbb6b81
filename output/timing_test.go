package output

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/wscap/wscap/decode"
)

// TestSeriesQuantiles: exact nearest-rank percentiles up to exactSamples
// values, then within 1/128 of the exact ones (the documented bound),
// with exact count, min and max.
func TestSeriesQuantiles(t *testing.T) {
	tests := []struct {
		name string
		n    int
		gen  func(r *rand.Rand) int64
	}{
		{"few", 7, func(r *rand.Rand) int64 { return r.Int64N(1000) }},
		{"exact limit", exactSamples, func(r *rand.Rand) int64 { return r.Int64N(1 << 20) }},
		{"sizes", 50000, func(r *rand.Rand) int64 { return int64(math.Exp(r.NormFloat64()*2 + 6)) }},
		{"rtt ns", 20000, func(r *rand.Rand) int64 { return int64(time.Millisecond) + r.Int64N(int64(time.Second)) }},
		{"small ints", 10000, func(r *rand.Rand) int64 { return r.Int64N(64) }},
		{"huge", 5000, func(r *rand.Rand) int64 { return math.MaxInt64 - r.Int64N(1<<40) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, uint64(tt.n)))
			var s series
			var all []int64
			for range tt.n {
				v := tt.gen(r)
				s.add(v)
				all = append(all, v)
			}
			slices.Sort(all)
			d := s.dist()
			if d.Count != tt.n || d.Min != all[0] || d.Max != all[len(all)-1] {
				t.Errorf("count/min/max %d/%d/%d, want %d/%d/%d", d.Count, d.Min, d.Max, tt.n, all[0], all[len(all)-1])
			}
			if d.Exact != (tt.n <= exactSamples) {
				t.Errorf("exact %v with %d values", d.Exact, tt.n)
			}
			for _, q := range []struct {
				p   float64
				got int64
			}{{0.5, d.Median}, {0.99, d.P99}} {
				want := all[int(math.Ceil(q.p*float64(tt.n)))-1]
				if d.Exact {
					if q.got != want {
						t.Errorf("p%v = %d, want %d", q.p*100, q.got, want)
					}
					continue
				}
				if err := math.Abs(float64(q.got)-float64(want)) / float64(max(want, 1)); err > 1.0/128 {
					t.Errorf("p%v = %d, exact %d: error %.4f over 1/128", q.p*100, q.got, want, err)
				}
			}
			if len(s.hist) > 64*64 {
				t.Errorf("histogram of %d buckets", len(s.hist))
			}
		})
	}
}

// TestBucketOf: buckets are contiguous and ordered, and each value lies
// within 1/128 of its bucket's middle.
func TestBucketOf(t *testing.T) {
	prev := -1
	for _, v := range []uint64{0, 1, 63, 64, 65, 127, 128, 129, 255, 256, 1000, 1 << 20, 1<<20 + 12345, 1<<62 + 1, math.MaxInt64} {
		b := bucketOf(v)
		if b < prev {
			t.Errorf("bucketOf(%d) = %d, below %d", v, b, prev)
		}
		prev = b
		mid := float64(bucketMid(b))
		if e := math.Abs(mid-float64(v)) / max(float64(v), 1); e > 1.0/128 {
			t.Errorf("value %d in bucket %d with middle %.0f: error %.4f", v, b, mid, e)
		}
	}
	for v := uint64(0); v < 5000; v++ {
		if b, c := bucketOf(v), bucketOf(v+1); c != b && c != b+1 {
			t.Fatalf("bucketOf(%d) = %d, bucketOf(%d) = %d: not contiguous", v, b, v+1, c)
		}
	}
}

// TestRatePeak: the busiest 1 s window, in 10 ms bins.
func TestRatePeak(t *testing.T) {
	t0 := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	var r rate
	// 10 messages in 0.5 s, then 1 s of silence, then 3 in 0.99 s, then
	// 4 spread over 4 s, 1 s apart (never two in one window).
	at := t0
	for range 10 {
		r.add(at, 100)
		at = at.Add(50 * time.Millisecond)
	}
	at = at.Add(time.Second)
	for range 3 {
		r.add(at, 1000)
		at = at.Add(495 * time.Millisecond)
	}
	at = at.Add(2 * time.Second)
	for range 4 {
		r.add(at, 5000)
		at = at.Add(time.Second)
	}
	if r.peakCnt != 10 || r.peakByt != 5000 {
		t.Errorf("peak %d messages, %d bytes; want 10, 5000", r.peakCnt, r.peakByt)
	}
	// A clock stepping back does not underflow the window.
	r.add(t0.Add(-time.Hour), 1)
	if r.winCnt > 10 {
		t.Errorf("window holds %d messages", r.winCnt)
	}
}

// TestRTTMatching: a pong answers the oldest waiting ping of the other
// side with its payload; unsolicited pongs and pushed-out pings count.
func TestRTTMatching(t *testing.T) {
	t0 := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	var tm connTiming
	ctrl := func(ms int, from int, op decode.Opcode, p string) {
		ev := decode.Event{Kind: decode.KindFrame, Time: t0.Add(time.Duration(ms) * time.Millisecond)}
		ev.Frame.Opcode, ev.Frame.Payload, ev.Frame.PayloadLen = op, []byte(p), uint64(len(p))
		tm.frame(&ev, from)
	}
	ctrl(0, 1, decode.OpPing, "a")
	ctrl(1, 1, decode.OpPing, "b")
	ctrl(5, 1, decode.OpPong, "a")  // from the server: not an answer to its own ping
	ctrl(7, 0, decode.OpPong, "b")  // 6 ms
	ctrl(9, 0, decode.OpPong, "a")  // 9 ms
	ctrl(10, 0, decode.OpPong, "a") // nothing waits
	for i := range maxOutstanding + 3 {
		ctrl(20+i, 0, decode.OpPing, "x")
	}
	q := tm.rtt.quantiles(0, 1)
	if tm.rtt.n != 2 || q[0] != int64(6*time.Millisecond) || q[1] != int64(9*time.Millisecond) {
		t.Errorf("rtt n=%d %v, want 6 ms and 9 ms", tm.rtt.n, q)
	}
	if tm.unmatched != 2 || tm.unanswered != 3 || len(tm.dir[0].pings) != maxOutstanding {
		t.Errorf("unmatched %d, unanswered %d + %d waiting; want 2, 3 + %d", tm.unmatched, tm.unanswered, len(tm.dir[0].pings), maxOutstanding)
	}
	if len(tm.samples) != 2 || tm.samples[0].From != decode.RoleServer || tm.samples[0].RTT != 6*time.Millisecond {
		t.Errorf("samples %+v", tm.samples)
	}
}

// TestRTTSamplesThinned: past maxRTTSamples, the kept round trips stay
// spread over the whole connection, at most maxRTTSamples.
func TestRTTSamplesThinned(t *testing.T) {
	t0 := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	var tm connTiming
	const n = 10000
	for i := range n {
		tm.sample(RTTSample{Time: t0.Add(time.Duration(i) * time.Second), RTT: time.Millisecond})
	}
	if len(tm.samples) > maxRTTSamples || len(tm.samples) < maxRTTSamples/2 {
		t.Fatalf("%d samples", len(tm.samples))
	}
	first, last := tm.samples[0].Time, tm.samples[len(tm.samples)-1].Time
	if first != t0 || last.Sub(t0) < time.Duration(n-2*n/len(tm.samples))*time.Second {
		t.Errorf("samples span %v..%v, want the whole %d s", first, last, n)
	}
	for i := 1; i < len(tm.samples); i++ {
		if !tm.samples[i].Time.After(tm.samples[i-1].Time) {
			t.Fatalf("samples out of order at %d", i)
		}
	}
}

// TestUnixTime: ts_unix is exact to the nanosecond, before 1970 too.
func TestUnixTime(t *testing.T) {
	tests := []struct {
		t    time.Time
		want string
	}{
		{time.Date(2024, 3, 1, 12, 0, 0, 9802000, time.UTC), "1709294400.009802000"},
		{time.Unix(1709294400, 999999999), "1709294400.999999999"},
		{time.Unix(0, 0), "0.000000000"},
		{time.Unix(-2, 750000000), "-1.250000000"},
		{time.Unix(-1, 500000000), "-0.500000000"},
		{time.Unix(-1, 0), "-1.000000000"},
	}
	for _, tt := range tests {
		if got := string(appendUnixTime(nil, tt.t)); got != tt.want {
			t.Errorf("appendUnixTime(%v) = %s, want %s", tt.t, got, tt.want)
		}
	}
}

// TestEndReason: the summary's end_reason and closed_by.
func TestEndReason(t *testing.T) {
	type dir struct {
		close  bool
		ended  bool
		reason decode.EndReason
	}
	tests := []struct {
		name               string
		closedBy, abortBy  int8
		c, s               dir
		wantReason, wantBy string
	}{
		{"handshake", 2, 1, dir{true, true, decode.EndFIN}, dir{true, true, decode.EndFIN}, "close_handshake", "server"},
		{"one side", 1, 0, dir{true, true, decode.EndCaptureEnd}, dir{false, true, decode.EndCaptureEnd}, "close_one_side", "client"},
		{"rst", 0, 2, dir{false, true, decode.EndRST}, dir{false, true, decode.EndRST}, "rst", "server"},
		{"fin then rst", 0, 1, dir{false, true, decode.EndFIN}, dir{false, true, decode.EndRST}, "rst", "client"},
		{"fin", 0, 2, dir{false, true, decode.EndCaptureEnd}, dir{false, true, decode.EndFIN}, "fin_without_close", "server"},
		{"idle", 0, 0, dir{false, true, decode.EndIdle}, dir{false, true, decode.EndIdle}, "idle", ""},
		{"capture end", 0, 0, dir{false, true, decode.EndCaptureEnd}, dir{false, false, 0}, "capture_end", ""},
	}
	for _, tt := range tests {
		c := &connStats{closedBy: tt.closedBy, abortBy: tt.abortBy}
		for i, d := range [2]dir{tt.c, tt.s} {
			c.dir[i].closeSeen, c.dir[i].ended, c.dir[i].endReason = d.close, d.ended, d.reason
		}
		if r, by := c.endReason(); r != tt.wantReason || by != tt.wantBy {
			t.Errorf("%s: %s by %q, want %s by %q", tt.name, r, by, tt.wantReason, tt.wantBy)
		}
	}
}
