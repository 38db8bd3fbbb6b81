package decode

import (
	"compress/flate"
	"errors"
	"io"
	"sync"
)

// histMax is the largest DEFLATE window (RFC 1951: 32 KiB).
const histMax = 32 << 10

// syncTail is the empty stored block that RFC 7692 §7.2.1 strips from the
// end of every compressed message; finalTail is an empty final stored
// block appended after it so that the flate reader ends with io.EOF.
var syncTail = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// inflater inflates the compressed messages of one direction (RFC 7692),
// keeping the sliding window across messages when context takeover is in
// force. It reuses one flate reader and one history buffer.
//
// Invariant: hist is always a contiguous suffix of the true decompressed
// stream of this direction. With it, a message that inflates without error
// is correct: a reference to history we do not have fails ("distance too
// far back") instead of producing wrong bytes. So after a failure, a limit
// or a capture gap hist is cleared, never left stale.
type inflater struct {
	src      inflateSrc
	hist     []byte // decompressed history, len <= 2*histMax
	window   int    // negotiated window: 1 << max_window_bits
	takeover bool   // keep the window across messages
	// histFull is true when hist holds the whole stream since its start
	// or a full window: a failure is then the sender's fault, not ours.
	histFull bool
	slid     bool   // remember moved the history during the current run
	lost     string // why hist lacks history, when !histFull
}

func newInflater(windowBits int, takeover, histFull bool) *inflater {
	if windowBits < 8 || windowBits > 15 {
		windowBits = 15
	}
	f := &inflater{window: 1 << windowBits, takeover: takeover, histFull: histFull}
	if !histFull {
		f.lost = "the connection started before the capture"
	}
	return f
}

// ownMax is the most a direction's own history buffer holds: its window
// and some slack, so that short messages are inflated in place and a
// connection at rest costs about its negotiated window (RFC 7692 §7.1.2).
func (f *inflater) ownMax() int {
	return f.window + max(f.window/4, 2*maxRoom)
}

// inflateResult says how inflating one message went.
type inflateResult struct {
	n              int64 // decompressed bytes produced
	limited        bool  // stopped at the limit
	windowExceeded bool  // needed history beyond the negotiated window
	noContext      bool  // failed because it needs history we do not have
	// beforeStart: failed only because it refers to bytes before the
	// start of its stream (the message under no_context_takeover, the
	// connection otherwise): the sender's error.
	beforeStart bool
	err         error
}

// inflate decompresses one message (comp without its 00 00 ff ff tail) and
// passes the output to emit in chunks. reset is called before a second
// attempt (the fast decoder failed) to take back what the first emitted.
//
// When it fails, the result says why: a message that would inflate with
// a full 32 KiB of history before it refers to history the decoder does
// not have (noContext: lost before the capture or with an earlier
// failure), to bytes farther back than the negotiated window
// (windowExceeded) or to bytes before its stream started (beforeStart);
// otherwise the compressed data is corrupt.
func (f *inflater) inflate(comp []byte, limit int64, emit func([]byte), reset func()) inflateResult {
	if !f.takeover {
		f.hist = f.hist[:0]
	}
	how := fastFailed
	var res inflateResult
	if !testSlowInflate {
		res, how = f.fastInflate(comp, limit, emit)
	}
	switch how {
	case fastOK:
		return res
	case fastLimited:
		f.hist = f.hist[:0]
		f.histFull = false
		return res
	}
	// compress/flate decides (and words) errors.
	if !testSlowInflate {
		reset()
	}
	dict := f.hist
	if len(dict) > f.window {
		dict = dict[len(dict)-f.window:]
	}
	have, full := len(dict), f.histFull
	res = f.run(comp, dict, limit, emit)
	if res.err != nil {
		if f.inflatesWithHistory(comp, limit) {
			switch {
			case f.takeover && !full:
				res.noContext = true
			case f.takeover && have >= f.window:
				res.windowExceeded = true
			default:
				res.beforeStart = true
			}
		}
		f.hist = f.hist[:0]
		f.histFull = false
		return res
	}
	if res.limited {
		f.hist = f.hist[:0]
		f.histFull = false
	}
	f.fit()
	return res
}

// fit bounds the history buffer after compress/flate's run (whose
// remember slides in a buffer of 2*histMax) to the last window.
func (f *inflater) fit() {
	if cap(f.hist) <= f.ownMax() {
		return
	}
	keep := min(len(f.hist), f.window)
	h := make([]byte, keep, min(max(2*keep, 512), f.ownMax()))
	copy(h, f.hist[len(f.hist)-keep:])
	f.hist = h
}

// zeroHist stands for 32 KiB of history the decoder does not have.
var zeroHist [histMax]byte

// inflatesWithHistory reports whether comp inflates (up to limit) after a
// full window of history: the history we have, preceded by zeros for what
// we lack. It runs only when a message has failed, to name the cause.
func (f *inflater) inflatesWithHistory(comp []byte, limit int64) bool {
	dict := zeroHist[:]
	if f.takeover && len(f.hist) > 0 {
		p := getBuf(histMax)
		defer putBuf(p)
		have := f.hist[len(f.hist)-min(len(f.hist), histMax):]
		dict = append(append(p.b[:0], zeroHist[:histMax-len(have)]...), have...)
	}
	src := &inflateSrc{a: comp, b: syncTail}
	fr := flatePool.Get().(*flateReader)
	defer flatePool.Put(fr)
	if err := fr.r.(flate.Resetter).Reset(src, dict); err != nil {
		return false
	}
	var n int64
	for n <= limit {
		k, err := fr.r.Read(fr.out)
		n += int64(k)
		if err == io.EOF {
			return true
		}
		if err != nil {
			return false
		}
	}
	return true
}

// flateReader is a flate reader and its output buffer. Readers are pooled,
// not kept per direction: nothing of one survives between messages (each
// run starts with Reset and the history as dictionary), and one holds a
// 32 KiB window and tables, too much for each of thousands of idle
// connections.
type flateReader struct {
	r   io.ReadCloser
	out []byte
}

var flatePool = sync.Pool{New: func() any {
	return &flateReader{r: flate.NewReader(&inflateSrc{}), out: make([]byte, 16<<10)}
}}

// run inflates comp once with dict as the preceding window.
func (f *inflater) run(comp, dict []byte, limit int64, emit func([]byte)) inflateResult {
	f.src = inflateSrc{a: comp, b: syncTail}
	fr := flatePool.Get().(*flateReader)
	defer flatePool.Put(fr)
	if err := fr.r.(flate.Resetter).Reset(&f.src, dict); err != nil {
		return inflateResult{err: err}
	}
	histStart := len(f.hist)
	f.slid = false
	var res inflateResult
	for {
		n, err := fr.r.Read(fr.out)
		if n > 0 {
			chunk := fr.out[:n]
			if res.n+int64(n) > limit {
				chunk = chunk[:limit-res.n]
				res.limited = true
			}
			res.n += int64(len(chunk))
			emit(chunk)
			if f.takeover {
				f.remember(chunk)
			}
			if res.limited {
				return res
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				err = errors.New("compressed data ends in the middle of a block")
			}
			res.err = err
			// Undo what this attempt added to the history.
			if f.slid {
				f.hist = f.hist[:0]
				f.histFull = false
			} else {
				f.hist = f.hist[:histStart]
			}
			return res
		}
	}
	if f.takeover && len(f.hist) >= f.window {
		f.histFull = true
	}
	return res
}

// remember appends p to the history, keeping at least the last histMax
// bytes, in a buffer of 2*histMax that slides when full.
func (f *inflater) remember(p []byte) {
	if len(p) >= histMax {
		f.slid = true
		f.hist = append(f.hist[:0], p[len(p)-histMax:]...)
		return
	}
	if len(f.hist)+len(p) > cap(f.hist) && cap(f.hist) < 2*histMax {
		// Grow with the stream (short connections never need a whole
		// window), to the sliding buffer's size at most.
		h := make([]byte, len(f.hist), min(max(2*cap(f.hist), len(f.hist)+len(p), 4<<10), 2*histMax))
		copy(h, f.hist)
		f.hist = h
	}
	if len(f.hist)+len(p) > 2*histMax {
		f.slid = true
		keep := histMax - len(p)
		copy(f.hist, f.hist[len(f.hist)-keep:])
		f.hist = f.hist[:keep]
	}
	f.hist = append(f.hist, p...)
}

// inflateSrc reads a, then b. It is an io.ByteReader so that flate does
// not wrap it in a bufio.Reader (which would allocate on every Reset).
type inflateSrc struct {
	a, b []byte
}

func (s *inflateSrc) Read(p []byte) (int, error) {
	if len(s.a) == 0 {
		s.a, s.b = s.b, nil
		if len(s.a) == 0 {
			return 0, io.EOF
		}
	}
	n := copy(p, s.a)
	s.a = s.a[n:]
	return n, nil
}

func (s *inflateSrc) ReadByte() (byte, error) {
	if len(s.a) == 0 {
		s.a, s.b = s.b, nil
		if len(s.a) == 0 {
			return 0, io.EOF
		}
	}
	c := s.a[0]
	s.a = s.a[1:]
	return c, nil
}

// testSlowInflate, set by tests only, skips fastInflate.
var testSlowInflate bool
