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
	slid     bool // remember moved the history during the current run
}

func newInflater(windowBits int, takeover, histFull bool) *inflater {
	if windowBits < 8 || windowBits > 15 {
		windowBits = 15
	}
	return &inflater{window: 1 << windowBits, takeover: takeover, histFull: histFull}
}

// inflateResult says how inflating one message went.
type inflateResult struct {
	n              int64 // decompressed bytes produced
	limited        bool  // stopped at the limit
	windowExceeded bool  // needed history beyond the negotiated window
	noContext      bool  // failed, and history before the capture may be why
	err            error
}

// inflate decompresses one message (comp without its 00 00 ff ff tail) and
// passes the output to emit in chunks. If the first attempt fails only
// because the message reaches beyond the negotiated window, reset is called
// and the message is inflated again with the whole history we have.
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
	// compress/flate decides (and words) errors, and retries beyond the
	// window.
	if !testSlowInflate {
		reset()
	}
	dict := f.hist
	if len(dict) > f.window {
		dict = dict[len(dict)-f.window:]
	}
	res = f.run(comp, dict, limit, emit)
	if res.err != nil && len(f.hist) > len(dict) {
		reset()
		full := f.hist
		if len(full) > histMax {
			full = full[len(full)-histMax:]
		}
		if res2 := f.run(comp, full, limit, emit); res2.err == nil {
			res2.windowExceeded = true
			res = res2
		} else {
			res = res2
		}
	}
	if res.err != nil {
		res.noContext = !f.histFull
		f.hist = f.hist[:0]
		f.histFull = false
		return res
	}
	if res.limited {
		f.hist = f.hist[:0]
		f.histFull = false
	}
	return res
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
	if f.takeover && len(f.hist) >= histMax {
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
