package h2

import (
	"errors"
	"unsafe"

	"github.com/wscap/wscap/decode"
	"golang.org/x/net/http2/hpack"
)

// Preface is the client connection preface (RFC 9113 §3.4).
const Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

const (
	frameHeaderLen      = 9
	defaultMaxFrame     = 16384 // SETTINGS_MAX_FRAME_SIZE initial value (RFC 9113 §6.5.2)
	maxMaxFrame         = 1<<24 - 1
	defaultTableSize    = 4096 // SETTINGS_HEADER_TABLE_SIZE initial value
	defaultMaxHeaderLst = 64 << 10
	defaultMaxTable     = 1 << 20
	defaultMaxStreams   = 1024
	keepBuf             = 64 << 10 // frame buffers larger than this are dropped after use
	keepArena           = 1 << 20  // the per-call arena is dropped when larger than this
)

// Options configure a [Conn]. The zero value of each field selects its
// default.
type Options struct {
	// ClientKnown says that Client is the client side (the side that sends
	// the preface); otherwise the first byte a side sends decides.
	ClientKnown bool
	Client      decode.Side
	// Upgrade: the connection is h2c after an HTTP/1.1 Upgrade (RFC 7540
	// §3.2): stream 1 is the Upgrade request, opened and half-closed by the
	// client; the server answers on it. Needs ClientKnown.
	Upgrade bool
	// MaxHeaderList bounds a decoded header list, counted as RFC 9113
	// §6.5.2 does (name + value + 32 per field); default 64 KiB. It also
	// bounds one HPACK string.
	MaxHeaderList int
	// MaxTableSize caps the HPACK dynamic table size a receiver's
	// SETTINGS_HEADER_TABLE_SIZE may allow (default 1 MiB).
	MaxTableSize uint32
	// MaxStreams bounds the streams whose state is tracked (default 1024);
	// closed streams are forgotten first.
	MaxStreams int
}

func (o Options) withDefaults() Options {
	if o.MaxHeaderList <= 0 {
		o.MaxHeaderList = defaultMaxHeaderLst
	}
	if o.MaxTableSize == 0 {
		o.MaxTableSize = defaultMaxTable
	}
	if o.MaxStreams <= 0 {
		o.MaxStreams = defaultMaxStreams
	}
	return o
}

// Stats counts what one direction carried.
type Stats struct {
	Bytes        int64 // bytes fed
	Undecoded    int64 // bytes not decoded (after the direction was lost)
	Skipped      int64 // payload bytes of frames skipped (oversize, malformed, unknown type)
	Lost         int64 // bytes reported lost by Gap
	Frames       int   // frame headers read
	Data         int
	Headers      int // HEADERS frames
	Continuation int
	PushPromise  int
	Settings     int // SETTINGS frames, ACKs included
	SettingsAck  int
	Ping         int
	WindowUpdate int
	Priority     int
	RstStream    int
	GoAway       int
	Unknown      int  // frames of unknown types (ignored, RFC 9113 §5.5)
	FramingLost  bool // the direction was lost: the rest is counted, not decoded
}

type state uint8

const (
	stStart   state = iota // no byte seen and the role of the side not known
	stPreface              // matching the client preface
	stHeader               // reading a frame header
	stPayload              // buffering a frame payload
	stSkip                 // skipping a frame payload
	stLost                 // framing lost: counted, not decoded
	stEnded
)

// half is the state of one direction.
type half struct {
	side   decode.Side
	client bool
	state  state
	pre    int // preface bytes matched
	frames int // frames whose header was read

	hdr  [frameHeaderLen]byte
	hdrN int

	// The current frame.
	fl     uint32 // payload length
	ft, ff uint8
	fs     uint32
	got    uint32 // payload bytes consumed (buffered, skipped or lost)
	buf    []byte // buffered payload: frame offsets [bufOff, got)
	bufOff uint32
	pad    int // DATA pad length once known, -1 unknown

	// The largest frame this side may send: the peer's
	// SETTINGS_MAX_FRAME_SIZE (the largest it announced).
	maxFrame uint32

	// HPACK decoder of this side's header blocks, and the largest table
	// size the peer allowed.
	dec          *hpack.Decoder
	allowedTable uint32

	// The open header block.
	blockOpen     bool
	blockStream   uint32
	blockEnd      bool
	blockPromised uint32
	blockPush     bool
	blockFields   []decode.HeaderField
	blockSize     int
	blockTrunc    bool
	blockNew      bool // the next fragment starts a block
	maxList       int  // Options.MaxHeaderList

	stats Stats
}

// Stream state bits.
const (
	stEnd0   = 1 << 0 // side 0 sent END_STREAM
	stEnd1   = 1 << 1 // side 1 sent END_STREAM
	stReset  = 1 << 2
	stQueued = 1 << 3 // in the closed queue
)

// Conn follows one HTTP/2 connection. It is not safe for concurrent use.
type Conn struct {
	opt        Options
	h          [2]half
	rolesKnown bool
	clientSide decode.Side
	connect    bool // the server sent SETTINGS_ENABLE_CONNECT_PROTOCOL = 1

	streams    map[uint32]uint8
	closed     []uint32  // closed streams, oldest first (forgotten first)
	maxID      [2]uint32 // largest stream opened, by parity (even, odd)
	limitShown bool

	arena []byte // Data payloads of the current call
}

// NewConn returns a Conn for a connection seen from its first byte.
func NewConn(opt Options) *Conn {
	c := &Conn{opt: opt.withDefaults(), streams: make(map[uint32]uint8)}
	for i := range c.h {
		h := &c.h[i]
		h.side = decode.Side(i)
		h.maxFrame = defaultMaxFrame
		h.allowedTable = defaultTableSize
		h.pad = -1
		h.maxList = c.opt.MaxHeaderList
	}
	if opt.ClientKnown {
		c.setRoles(opt.Client & 1)
	}
	return c
}

// setRoles makes side the client.
func (c *Conn) setRoles(client decode.Side) {
	c.rolesKnown = true
	c.clientSide = client
	c.h[client].client = true
	if c.h[client].state != stEnded {
		c.h[client].state = stPreface
	}
	if c.h[client^1].state != stEnded {
		c.h[client^1].state = stHeader
	}
	if c.opt.Upgrade {
		c.streams[1] = endBit(client)
		c.maxID[1] = 1
	}
}

func endBit(s decode.Side) uint8 { return stEnd0 << (s & 1) }

// Client returns the client side, once known.
func (c *Conn) Client() (decode.Side, bool) { return c.clientSide, c.rolesKnown }

// ConnectProtocol reports whether the server has sent
// SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 (RFC 8441 §3).
func (c *Conn) ConnectProtocol() bool { return c.connect }

// Stats returns the counters of side.
func (c *Conn) Stats(side decode.Side) Stats { return c.h[side&1].stats }

func (c *Conn) begin() {
	if cap(c.arena) > keepArena {
		c.arena = nil
	}
	c.arena = c.arena[:0]
}

// Feed consumes p, the next in-order bytes sent by side, and appends the
// events they complete to dst. It never retains p and never fails.
func (c *Conn) Feed(dst []Event, side decode.Side, p []byte, s decode.Seg) []Event {
	c.begin()
	h := &c.h[side&1]
	if h.state == stEnded || len(p) == 0 {
		return dst
	}
	h.stats.Bytes += int64(len(p))
	for len(p) > 0 {
		switch h.state {
		case stStart:
			if p[0] == Preface[0] {
				c.setRoles(h.side)
			} else {
				c.setRoles(h.side ^ 1)
			}
		case stPreface:
			n := min(len(p), len(Preface)-h.pre)
			if string(p[:n]) != Preface[h.pre:h.pre+n] {
				dst = c.anomaly(dst, h, 0, s, newAnomaly(CodePrefaceMissing, "the client's first bytes are not the connection preface %q", Preface))
				dst = c.lose(dst, h)
				continue
			}
			h.pre += n
			p = p[n:]
			if h.pre == len(Preface) {
				h.state = stHeader
			}
		case stHeader:
			n := copy(h.hdr[h.hdrN:], p)
			h.hdrN += n
			p = p[n:]
			if h.hdrN == frameHeaderLen {
				dst = c.header(dst, h, s)
			}
		case stPayload:
			n := min(len(p), int(h.fl-h.got))
			h.buf = append(h.buf, p[:n]...)
			h.got += uint32(n)
			p = p[n:]
			if h.got == h.fl {
				dst = c.frame(dst, h, s)
			}
		case stSkip:
			n := min(len(p), int(h.fl-h.got))
			h.got += uint32(n)
			h.stats.Skipped += int64(n)
			p = p[n:]
			if h.got == h.fl {
				h.state = stHeader
			}
		default: // stLost
			h.stats.Undecoded += int64(len(p))
			return dst
		}
	}
	return dst
}

// Gap tells the Conn that n bytes of side were lost from the capture at
// this point. Inside a DATA payload the framing is kept (a KindGap event
// on the stream); anywhere else the direction is lost.
func (c *Conn) Gap(dst []Event, side decode.Side, n int64, s decode.Seg) []Event {
	c.begin()
	h := &c.h[side&1]
	if h.state == stEnded || n <= 0 {
		return dst
	}
	h.stats.Lost += n
	switch {
	case h.state == stLost:
		return dst
	case h.state == stSkip && n <= int64(h.fl-h.got):
		h.got += uint32(n)
		if h.got == h.fl {
			h.state = stHeader
		}
		return dst
	case h.state == stPayload && h.ft == frameData && n <= int64(h.fl-h.got):
		dst = c.flushData(dst, h, s)
		if h.ff&flagPadded != 0 && h.pad < 0 && h.got == 0 {
			h.pad = -2 // the pad length itself was lost
		}
		dst = c.event(dst, h, KindGap, h.fs, s)
		dst[len(dst)-1].Lost = n
		h.got += uint32(n)
		h.bufOff = h.got
		if h.got == h.fl {
			dst = c.frame(dst, h, s)
		}
		return dst
	}
	dst = c.anomaly(dst, h, 0, s, newAnomaly(codeFramingLost, "%d bytes lost outside a DATA payload; the rest of the direction is not decoded", n))
	return c.lose(dst, h)
}

// End tells the Conn that side ended (FIN, RST, idle flush, end of
// capture). A frame or header block left open is reported as
// stream_truncated (the part of a DATA frame that arrived is emitted
// first). Further bytes of that side are ignored.
func (c *Conn) End(dst []Event, side decode.Side, s decode.Seg) []Event {
	c.begin()
	h := &c.h[side&1]
	switch {
	case h.state == stEnded:
		return dst
	case h.state == stPayload || h.state == stSkip:
		if h.state == stPayload && h.ft == frameData {
			dst = c.flushData(dst, h, s)
		}
		dst = c.anomaly(dst, h, h.fs, s, newAnomaly(codeStreamTruncated, "the direction ended inside a %s frame after %d of its %d payload bytes", frameName(h.ft), h.got, h.fl))
	case h.state == stHeader && h.hdrN > 0:
		dst = c.anomaly(dst, h, 0, s, newAnomaly(codeStreamTruncated, "the direction ended inside a frame header (%d of 9 bytes)", h.hdrN))
	case h.state == stHeader && h.blockOpen:
		dst = c.anomaly(dst, h, h.blockStream, s, newAnomaly(codeStreamTruncated, "the direction ended inside a header block of stream %d (no END_HEADERS)", h.blockStream))
	case h.state == stPreface && h.pre > 0:
		dst = c.anomaly(dst, h, 0, s, newAnomaly(codeStreamTruncated, "the direction ended inside the connection preface (%d of %d bytes)", h.pre, len(Preface)))
	}
	h.state = stEnded
	h.buf = nil
	h.dec = nil
	h.blockFields = nil
	return dst
}

// lose stops decoding h: the rest of the direction is counted.
func (c *Conn) lose(dst []Event, h *half) []Event {
	h.state = stLost
	h.stats.FramingLost = true
	h.buf = nil
	h.dec = nil
	h.blockOpen = false
	h.blockFields = nil
	return dst
}

func (c *Conn) event(dst []Event, h *half, k Kind, stream uint32, s decode.Seg) []Event {
	return append(dst, Event{Kind: k, Side: h.side, Client: h.client, Stream: stream, Time: s.Time, Packet: s.Packet})
}

func (c *Conn) anomaly(dst []Event, h *half, stream uint32, s decode.Seg, a decode.Anomaly) []Event {
	dst = c.event(dst, h, KindAnomaly, stream, s)
	dst[len(dst)-1].Anomaly = a
	return dst
}

// header handles a complete frame header.
func (c *Conn) header(dst []Event, h *half, s decode.Seg) []Event {
	b := &h.hdr
	h.hdrN = 0
	h.fl = uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2])
	h.ft, h.ff = b[3], b[4]
	h.fs = (uint32(b[5])<<24 | uint32(b[6])<<16 | uint32(b[7])<<8 | uint32(b[8])) & (1<<31 - 1)
	h.got, h.bufOff, h.pad = 0, 0, -1
	h.buf = h.buf[:0]
	h.frames++
	h.stats.Frames++
	skip := false

	if h.frames == 1 && h.ft != frameSettings {
		dst = c.anomaly(dst, h, h.fs, s, newAnomaly(CodePrefaceMissing, "the %s's first frame is %s, not SETTINGS", roleName(h.client), frameName(h.ft)))
	}
	if h.blockOpen && (h.ft != frameContinuation || h.fs != h.blockStream) {
		dst = c.anomaly(dst, h, h.fs, s, newAnomaly(CodeContinuationExpected, "a %s frame on stream %d interrupts the header block of stream %d", frameName(h.ft), h.fs, h.blockStream))
		return c.lose(dst, h)
	}
	headerish := h.ft == frameHeaders || h.ft == framePushPromise || h.ft == frameContinuation
	if h.fl > h.maxFrame {
		dst = c.anomaly(dst, h, h.fs, s, newAnomaly(CodeFrameSize, "a %s frame of %d bytes exceeds the receiver's SETTINGS_MAX_FRAME_SIZE of %d", frameName(h.ft), h.fl, h.maxFrame))
		if headerish && (h.ft != frameContinuation || h.blockOpen) {
			return c.lose(dst, h)
		}
		skip = true
	}
	want := -1 // exact payload length of fixed-size frames
	switch h.ft {
	case frameData:
		h.stats.Data++
	case frameHeaders:
		h.stats.Headers++
	case framePushPromise:
		h.stats.PushPromise++
	case frameContinuation:
		h.stats.Continuation++
		if !h.blockOpen {
			dst = c.anomaly(dst, h, h.fs, s, newAnomaly(CodeContinuationUnexpected, "a CONTINUATION frame on stream %d while no header block is open", h.fs))
			skip = true
		}
	case frameSettings:
		h.stats.Settings++
		if h.ff&flagAck != 0 {
			h.stats.SettingsAck++
			want = 0
		} else if h.fl%6 != 0 {
			want = int(h.fl - h.fl%6)
		}
		skip = skip || h.ff&flagAck != 0
	case framePing:
		h.stats.Ping++
		want, skip = 8, true
	case frameWindowUpdate:
		h.stats.WindowUpdate++
		want, skip = 4, true
	case framePriority:
		h.stats.Priority++
		want, skip = 5, true
	case frameRstStream:
		h.stats.RstStream++
		want = 4
	case frameGoAway:
		h.stats.GoAway++
		if h.fl < 8 {
			want = 8
		}
	default:
		h.stats.Unknown++
		skip = true // RFC 9113 §5.5: unknown frame types are ignored
	}
	if want >= 0 && uint32(want) != h.fl && h.fl <= h.maxFrame {
		dst = c.anomaly(dst, h, h.fs, s, newAnomaly(CodeFrameSize, "a %s frame has a %d-byte payload", frameName(h.ft), h.fl))
		skip = true
	}
	connLevel := h.ft == frameSettings || h.ft == framePing || h.ft == frameGoAway
	streamLevel := h.ft <= frameContinuation && !connLevel && h.ft != frameWindowUpdate
	switch {
	case connLevel && h.fs != 0:
		dst = c.anomaly(dst, h, h.fs, s, newAnomaly(CodeStreamID, "a %s frame on stream %d (it must be on stream 0)", frameName(h.ft), h.fs))
		skip = true
	case streamLevel && h.fs == 0:
		dst = c.anomaly(dst, h, 0, s, newAnomaly(CodeStreamID, "a %s frame on stream 0", frameName(h.ft)))
		if !headerish {
			skip = true // header blocks are still decoded to keep HPACK in step
		}
	}
	if skip {
		if headerish && h.ft != frameContinuation {
			// Cannot happen: a header-carrying frame is only skipped when
			// oversize, and that loses the direction above.
			return c.lose(dst, h)
		}
		h.state = stSkip
		if h.fl == 0 {
			h.state = stHeader
		}
		return dst
	}
	h.state = stPayload
	if h.fl == 0 {
		return c.frame(dst, h, s)
	}
	return dst
}

func roleName(client bool) string {
	if client {
		return "client"
	}
	return "server"
}

// frame handles a complete frame payload in h.buf.
func (c *Conn) frame(dst []Event, h *half, s decode.Seg) []Event {
	h.state = stHeader
	p := h.buf
	switch h.ft {
	case frameData:
		dst = c.flushData(dst, h, s)
	case frameHeaders, framePushPromise:
		frag := p
		pad := 0
		if h.ff&flagPadded != 0 {
			if len(frag) == 0 {
				dst = c.anomaly(dst, h, h.fs, s, newAnomaly(CodeFrameSize, "a padded %s frame has no pad length", frameName(h.ft)))
				return c.lose(dst, h)
			}
			pad = int(frag[0])
			frag = frag[1:]
		}
		var promised uint32
		if h.ft == framePushPromise {
			if len(frag) < 4 {
				dst = c.anomaly(dst, h, h.fs, s, newAnomaly(CodeFrameSize, "a PUSH_PROMISE frame too short for its promised stream id"))
				return c.lose(dst, h)
			}
			promised = (uint32(frag[0])<<24 | uint32(frag[1])<<16 | uint32(frag[2])<<8 | uint32(frag[3])) & (1<<31 - 1)
			frag = frag[4:]
		} else if h.ff&flagPriority != 0 {
			if len(frag) < 5 {
				dst = c.anomaly(dst, h, h.fs, s, newAnomaly(CodeFrameSize, "a HEADERS frame with PRIORITY too short for its priority fields"))
				return c.lose(dst, h)
			}
			frag = frag[5:]
		}
		if pad > len(frag) {
			dst = c.anomaly(dst, h, h.fs, s, newAnomaly(CodePadding, "a %s frame's pad length %d exceeds its remaining %d bytes", frameName(h.ft), pad, len(frag)))
			return c.lose(dst, h)
		}
		frag = frag[:len(frag)-pad]
		h.blockOpen = true
		h.blockStream = h.fs
		h.blockEnd = h.ft == frameHeaders && h.ff&flagEndStream != 0
		h.blockPush = h.ft == framePushPromise
		h.blockPromised = promised
		h.blockFields = nil
		h.blockSize = 0
		h.blockTrunc = false
		h.blockNew = true
		dst = c.fragment(dst, h, frag, s)
	case frameContinuation:
		dst = c.fragment(dst, h, p, s)
	case frameSettings:
		dst = c.settings(dst, h, p, s)
	case frameRstStream:
		dst = c.event(dst, h, KindRstStream, h.fs, s)
		dst[len(dst)-1].Code = be32(p)
		if c.known(h.fs) {
			c.setFlags(h.fs, stReset)
		} else if c.idle(h.fs) {
			dst = c.anomaly(dst, h, h.fs, s, newAnomaly(CodeStreamIdle, "RST_STREAM on stream %d, which was never opened", h.fs))
		}
	case frameGoAway:
		dst = c.event(dst, h, KindGoAway, 0, s)
		e := &dst[len(dst)-1]
		e.LastStream = be32(p) & (1<<31 - 1)
		e.Code = be32(p[4:])
	}
	if cap(h.buf) > keepBuf {
		h.buf = nil
	}
	h.buf = h.buf[:0]
	return dst
}

func be32(p []byte) uint32 {
	return uint32(p[0])<<24 | uint32(p[1])<<16 | uint32(p[2])<<8 | uint32(p[3])
}

// flushData emits the buffered part of the current DATA frame (frame
// offsets [bufOff, got)) without its padding; at the frame's end it also
// does the stream accounting. A frame cut by a gap gives one event per part.
func (c *Conn) flushData(dst []Event, h *half, s decode.Seg) []Event {
	done := h.got == h.fl && h.state == stHeader
	lo, hi := uint32(0), h.fl // data region in frame offsets
	if h.ff&flagPadded != 0 {
		if h.pad == -1 && h.bufOff == 0 && len(h.buf) > 0 {
			h.pad = int(h.buf[0])
		}
		lo = 1
		if h.pad >= 0 {
			if uint32(h.pad) >= h.fl {
				if done {
					dst = c.anomaly(dst, h, h.fs, s, newAnomaly(CodePadding, "a DATA frame's pad length %d is not smaller than its %d-byte payload; its data is dropped", h.pad, h.fl))
				}
				hi = lo
			} else {
				hi = h.fl - uint32(h.pad)
			}
		}
	}
	a, b := max(lo, h.bufOff), min(hi, h.got)
	if done {
		if h.ff&flagPadded != 0 && h.fl == 0 {
			dst = c.anomaly(dst, h, h.fs, s, newAnomaly(CodePadding, "a padded DATA frame has no pad length"))
		}
		dst = c.dataStream(dst, h, s)
	}
	if a < b || done {
		dst = c.event(dst, h, KindData, h.fs, s)
		e := &dst[len(dst)-1]
		e.EndStream = done && h.ff&flagEndStream != 0
		if a < b {
			start := len(c.arena)
			c.arena = append(c.arena, h.buf[a-h.bufOff:b-h.bufOff]...)
			e.Data = c.arena[start:len(c.arena):len(c.arena)]
		}
		if e.EndStream && c.known(h.fs) {
			c.setFlags(h.fs, endBit(h.side))
		}
	}
	h.buf = h.buf[:0]
	h.bufOff = h.got
	return dst
}

// dataStream checks the stream state of a complete DATA frame.
func (c *Conn) dataStream(dst []Event, h *half, s decode.Seg) []Event {
	f, ok := c.streams[h.fs]
	switch {
	case ok && f&endBit(h.side) != 0:
		dst = c.anomaly(dst, h, h.fs, s, newAnomaly(CodeDataAfterEndStream, "DATA on stream %d after the %s's END_STREAM", h.fs, roleName(h.client)))
	case !ok && c.idle(h.fs):
		dst = c.anomaly(dst, h, h.fs, s, newAnomaly(CodeStreamIdle, "DATA on stream %d, which was never opened", h.fs))
	}
	return dst
}

// known reports whether stream id is tracked.
func (c *Conn) known(id uint32) bool { _, ok := c.streams[id]; return ok }

// idle reports whether stream id was never opened by its initiator. Once a
// direction is lost, streams it opened are unknown: nothing is idle.
func (c *Conn) idle(id uint32) bool {
	return id > c.maxID[id&1] && !c.h[0].stats.FramingLost && !c.h[1].stats.FramingLost
}

// setFlags adds bits to a tracked stream and queues it once it is closed.
func (c *Conn) setFlags(id uint32, bits uint8) {
	f := c.streams[id] | bits
	if f&stQueued == 0 && (f&stReset != 0 || f&(stEnd0|stEnd1) == stEnd0|stEnd1) {
		f |= stQueued
		c.closed = append(c.closed, id)
	}
	c.streams[id] = f
}

// open starts tracking stream id (sent by h) within the stream limit.
func (c *Conn) open(dst []Event, h *half, id uint32, s decode.Seg) []Event {
	if len(c.streams) >= c.opt.MaxStreams && len(c.closed) > 0 {
		delete(c.streams, c.closed[0])
		c.closed = c.closed[1:]
		if len(c.closed) == 0 {
			c.closed = nil // let the backing array go
		}
	}
	if len(c.streams) >= c.opt.MaxStreams {
		if !c.limitShown {
			c.limitShown = true
			dst = c.anomaly(dst, h, id, s, newAnomaly(CodeStreamsLimit, "stream %d opens while %d streams are open; it is not tracked", id, len(c.streams)))
		}
		return dst
	}
	c.streams[id] = 0
	return dst
}

// fragment feeds one header block fragment to h's HPACK decoder and, at
// END_HEADERS, emits the header list.
func (c *Conn) fragment(dst []Event, h *half, frag []byte, s decode.Seg) []Event {
	if h.dec == nil {
		h.dec = hpack.NewDecoder(defaultTableSize, h.emit)
		h.dec.SetMaxStringLength(c.opt.MaxHeaderList)
		h.dec.SetAllowedMaxDynamicTableSize(h.allowedTable)
	}
	if h.blockNew {
		h.blockNew = false
		h.dec.SetEmitEnabled(true)
	}
	_, err := h.dec.Write(frag)
	if err == nil && h.ff&flagEndHeaders != 0 {
		err = h.dec.Close()
	}
	if err != nil {
		detail := err.Error()
		if errors.Is(err, hpack.ErrStringLength) {
			detail = "a header string is longer than the header list limit"
		}
		dst = c.anomaly(dst, h, h.blockStream, s, newAnomaly(CodeHPACKError, "the header block of stream %d does not decode: %s; the rest of the direction is not decoded", h.blockStream, detail))
		return c.lose(dst, h)
	}
	if h.ff&flagEndHeaders == 0 {
		return dst
	}
	h.blockOpen = false
	id := h.blockStream
	if h.blockTrunc {
		dst = c.anomaly(dst, h, id, s, newAnomaly(CodeHeaderListSize, "the header list of stream %d is longer than %d bytes; it is cut there", id, c.opt.MaxHeaderList))
	}
	if h.blockPush {
		if p := h.blockPromised; p != 0 && !c.known(p) {
			if p&1 != 0 || p <= c.maxID[0] {
				dst = c.anomaly(dst, h, id, s, newAnomaly(CodeStreamID, "PUSH_PROMISE promises stream %d (it must be even and larger than %d)", p, c.maxID[0]))
			}
			c.maxID[0] = max(c.maxID[0], p)
			dst = c.open(dst, h, p, s)
			if c.known(p) {
				c.setFlags(p, endBit(h.side^1)) // the promised request has no body
			}
		}
	} else if id != 0 {
		f, ok := c.streams[id]
		switch {
		case ok && f&endBit(h.side) != 0:
			dst = c.anomaly(dst, h, id, s, newAnomaly(CodeDataAfterEndStream, "HEADERS on stream %d after the %s's END_STREAM", id, roleName(h.client)))
		case !ok && id > c.maxID[id&1]:
			if (id&1 == 1) != h.client && c.idle(id) {
				dst = c.anomaly(dst, h, id, s, newAnomaly(CodeStreamID, "the %s opens stream %d (client streams are odd, server streams even)", roleName(h.client), id))
			}
			c.maxID[id&1] = id
			dst = c.open(dst, h, id, s)
		}
		if h.blockEnd && c.known(id) {
			c.setFlags(id, endBit(h.side))
		}
	}
	dst = c.event(dst, h, KindHeaders, id, s)
	e := &dst[len(dst)-1]
	e.Headers = h.blockFields
	e.Truncated = h.blockTrunc
	e.Promised = h.blockPromised
	e.EndStream = h.blockEnd
	h.blockFields = nil
	h.blockSize = 0
	h.blockTrunc = false
	return dst
}

// emit collects one decoded field of the open block within MaxHeaderList.
func (h *half) emit(f hpack.HeaderField) {
	size := len(f.Name) + len(f.Value) + 32
	if h.blockSize+size > h.maxList {
		h.blockTrunc = true
		h.dec.SetEmitEnabled(false)
		return
	}
	h.blockSize += size
	h.blockFields = append(h.blockFields, decode.HeaderField{Name: f.Name, Value: f.Value})
}

// settings applies a SETTINGS frame sent by h.
func (c *Conn) settings(dst []Event, h *half, p []byte, s decode.Seg) []Event {
	peer := &c.h[h.side^1]
	set := make([]Setting, 0, len(p)/6)
	connect := false
	for ; len(p) >= 6; p = p[6:] {
		id, v := uint16(p[0])<<8|uint16(p[1]), be32(p[2:])
		set = append(set, Setting{ID: id, Value: v})
		bad := ""
		switch id {
		case SettingHeaderTableSize:
			// The peer encodes with at most this table: allow the largest
			// size announced (a smaller one only binds after the ACK).
			peer.allowedTable = max(peer.allowedTable, min(v, c.opt.MaxTableSize))
			if peer.dec != nil {
				peer.dec.SetAllowedMaxDynamicTableSize(peer.allowedTable)
			}
		case SettingEnablePush:
			if v > 1 {
				bad = "SETTINGS_ENABLE_PUSH must be 0 or 1"
			}
		case SettingInitialWindowSize:
			if v > 1<<31-1 {
				bad = "SETTINGS_INITIAL_WINDOW_SIZE must be at most 2^31-1"
			}
		case SettingMaxFrameSize:
			if v < defaultMaxFrame || v > maxMaxFrame {
				bad = "SETTINGS_MAX_FRAME_SIZE must be between 16384 and 16777215"
			} else {
				peer.maxFrame = max(peer.maxFrame, v)
			}
		case SettingEnableConnectProtocol:
			switch {
			case v > 1:
				bad = "SETTINGS_ENABLE_CONNECT_PROTOCOL must be 0 or 1 (RFC 8441 §3)"
			case v == 0 && c.connect && !h.client:
				bad = "SETTINGS_ENABLE_CONNECT_PROTOCOL set back to 0 after 1 (RFC 8441 §3)"
			case v == 1 && !h.client:
				connect = true
				c.connect = true
			}
		}
		if bad != "" {
			dst = c.anomaly(dst, h, 0, s, newAnomaly(CodeSettingsInvalid, "%s; the %s sent %d", bad, roleName(h.client), v))
		}
	}
	dst = c.event(dst, h, KindSettings, 0, s)
	e := &dst[len(dst)-1]
	e.Settings = set
	e.ConnectProtocol = connect
	return dst
}

// MemSize returns an estimate of the heap bytes c holds: the Conn, the
// frame buffers, the per-call arena, the tracked streams, and the HPACK
// decoders counted at the largest dynamic table their peer allowed (an
// upper bound: the table holds what the encoder added, at most that). It is
// O(1), so a memory budget can call it after every Feed.
func (c *Conn) MemSize() int {
	n := int(unsafe.Sizeof(*c)) + cap(c.arena) + 4*cap(c.closed) + 24*len(c.streams)
	for i := range c.h {
		h := &c.h[i]
		n += cap(h.buf) + h.blockSize
		if h.dec != nil {
			n += hpackDecoderSize + int(h.allowedTable)
		}
	}
	return n
}

// hpackDecoderSize is about what an idle hpack.Decoder holds.
const hpackDecoderSize = 256
