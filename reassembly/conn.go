package reassembly

import (
	"bytes"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	tcpasm "github.com/gopacket/gopacket/reassembly"

	"github.com/wscap/wscap/decode"
)

// flowKey is a 4-tuple in canonical order (a <= b), the same for both
// directions.
type flowKey struct {
	a, b   [16]byte
	pa, pb uint16
}

// makeKey returns the key of the connection between src and dst and
// whether src is its endpoint a.
func makeKey(src, dst netip.AddrPort) (flowKey, bool) {
	sa, da := src.Addr().As16(), dst.Addr().As16()
	c := bytes.Compare(sa[:], da[:])
	if c < 0 || c == 0 && src.Port() <= dst.Port() {
		return flowKey{sa, da, src.Port(), dst.Port()}, true
	}
	return flowKey{da, sa, dst.Port(), src.Port()}, false
}

// seqRange is [start, end) in TCP sequence space.
type seqRange struct{ start, end uint32 }

// halfState is what the engine knows about one direction of a connection.
type halfState struct {
	gNext  uint32     // the assembler's next expected sequence number
	maxEnd uint32     // end of the furthest segment the assembler queued
	queued int32      // segments the assembler queued since it last had none
	next   uint32     // sequence number of the next byte for the decoder
	known  bool       // next is set
	ended  bool       // End was called
	fin    bool       // a FIN of this direction was seen
	fake   []seqRange // bytes the capture cut off (zeros in the assembler)
}

// conn is one TCP connection: its decoder and the bookkeeping around it. It
// is the tcpasm.Stream of the assembler's connection for it; when the
// assembler drops a silent connection, conn keeps the decoder and becomes
// the stream of the next one on the same 4-tuple.
type conn struct {
	e   *Engine
	id  int
	gen uint64
	key flowKey

	side0IsA bool
	addr     [2]netip.AddrPort
	synOK    bool // Side0 is known to be the originator
	synSeen  bool // Side0's SYN was seen, with sequence number synSeq
	synSeq   uint32

	dec      *decode.Conn // nil before the first SYN or data and once done
	started  bool         // dec was created
	attached bool         // the assembler has a connection for it
	done     bool         // the decoder was closed
	dirSide  [2]decode.Side
	half     [2]halfState

	lastSeen time.Time
	lastSeg  decode.Seg

	h2        *h2Layer    // the connection's plaintext is HTTP/2 (see h2.go)
	h2Checked bool        // its first plaintext bytes were looked at
	h2cClient decode.Side // 1 + the side that asked to upgrade to h2c; 0: none
	h2cSeen   [2]bool     // the first bytes of each side were looked at for it

	mem    int64 // bytes of state accounted in Engine.mem
	victim bool  // the memory budget evicts it
	rst    bool  // a RST was seen (of either side: it aborts both)

	mode tlsMode   // whether the connection is TLS, decided by its first bytes
	pre  preBytes  // first bytes held while mode is undecided
	tls  *tlsLayer // the TLS layer of a TLS connection

	outEpoch, outStart, outEnd int // events of the last decoder call (see Engine.before)
	touchEpoch                 int // the decoder is in Engine.touched for this epoch
}

func (c *conn) setSide0(srcIsA bool, src, dst netip.AddrPort, t *layers.TCP) {
	c.synSeen = false
	if t.SYN && t.ACK {
		// The sender of a SYN-ACK answers the originator.
		c.side0IsA, c.addr, c.synOK = !srcIsA, [2]netip.AddrPort{dst, src}, true
		return
	}
	c.side0IsA, c.addr, c.synOK = srcIsA, [2]netip.AddrPort{src, dst}, t.SYN
	if t.SYN {
		c.synSeen, c.synSeq = true, t.Seq
	}
}

func (c *conn) sideOf(srcIsA bool) decode.Side {
	if srcIsA == c.side0IsA {
		return decode.Side0
	}
	return decode.Side1
}

func dirIndex(d tcpasm.TCPFlowDirection) int {
	if d == tcpasm.TCPDirClientToServer {
		return 0
	}
	return 1
}

// Accept implements tcpasm.Stream. Every direction starts at its first
// packet, SYN or not (mid-stream pickup).
func (c *conn) Accept(t *layers.TCP, _ gopacket.CaptureInfo, dir tcpasm.TCPFlowDirection, nextSeq tcpasm.Sequence, start *bool, _ tcpasm.AssemblerContext) bool {
	*start = true
	if c.done || c.dec == nil || c.idle() {
		if c.tls != nil && (t.FIN || t.RST) && !c.done && c.dec != nil {
			c.opaqueEnd(dir, t.RST) // tls.go
		}
		return false
	}
	h := &c.half[c.dirSide[dirIndex(dir)]]
	if nextSeq < 0 {
		h.gNext = t.Seq
		if t.SYN {
			h.gNext++
		}
	} else {
		h.gNext = uint32(nextSeq)
		if len(t.Payload) > 0 && nextSeq.Difference(tcpasm.Sequence(t.Seq)) > 0 {
			c.e.retained = true // out of order: the assembler keeps its context
			// and a page or more of data, until the hole is filled or
			// skipped: the memory budget counts them.
			end := t.Seq + uint32(len(t.Payload))
			if h.queued == 0 || int32(end-h.maxEnd) > 0 {
				h.maxEnd = end
			}
			h.queued++
			c.e.account(c)
		}
	}
	return true
}

// ReassembledSG implements tcpasm.Stream.
func (c *conn) ReassembledSG(sg tcpasm.ScatterGather, ac tcpasm.AssemblerContext) {
	dir, _, end, skip := sg.Info()
	n, _ := sg.Lengths()
	side := c.dirSide[dirIndex(dir)]
	h := &c.half[side]
	seg := c.e.segFor(sg, n, ac, c)
	first := h.gNext
	if skip > 0 {
		first += uint32(skip)
	}
	if n > 0 && c.dec != nil {
		c.deliver(side, first, sg.Fetch(n), seg)
	}
	h.gNext = first + uint32(n)
	if h.queued > 0 && int32(h.gNext-h.maxEnd) >= 0 {
		h.queued = 0 // the assembler delivered all it had queued
		c.e.account(c)
	}
	if end && c.dec != nil && !h.ended {
		h.ended = true
		c.end(side, seg)
		// A RST aborts both directions (RFC 9293 §3.10.7.4), but the
		// assembler closes only the half that carried it: end the other
		// here, at the RST, rather than at the end of the capture.
		if o := side.Other(); !c.half[o].ended && c.e.cur == c && side == c.e.curSide && c.e.ld.tcp.RST {
			c.half[o].ended = true
			c.end(o, seg)
		}
	}
}

// ReassemblyComplete implements tcpasm.Stream. The assembler calls it when
// both directions are closed (FIN or RST, or a flush).
func (c *conn) ReassemblyComplete(tcpasm.AssemblerContext) bool {
	c.attached = false
	e := c.e
	if c.half[0].queued > 0 || c.half[1].queued > 0 {
		c.half[0].queued, c.half[1].queued = 0, 0 // the assembler freed its pages
		if !c.done {
			e.account(c)
		}
	}
	if e.atEOF || c.done {
		return true // at the end of the capture, Flush closes in id order
	}
	if e.cutting && !c.victim {
		return true // an eviction's flush: only the victims are finished
	}
	if c.half[0].ended || c.half[1].ended || c.dec == nil || c.idle() {
		e.finish(c)
	}
	// Otherwise a silent connection was flushed: keep the decoder, in
	// case the 4-tuple speaks again.
	return true
}

// deliver passes the bytes of side starting at sequence number seq to the
// decoder: bytes it already had are cut, a jump becomes a gap, and bytes
// the capture cut off (zeros from the assembler) become gaps.
func (c *conn) deliver(side decode.Side, seq uint32, data []byte, seg decode.Seg) {
	h := &c.half[side]
	if h.ended {
		return
	}
	if !h.known {
		h.known, h.next = true, seq
	}
	if d := int32(seq - h.next); d < 0 {
		cut := -int64(d)
		if cut >= int64(len(data)) {
			return
		}
		data, seq = data[cut:], h.next
	} else if d > 0 {
		c.gap(side, int64(d), seg)
		h.next = seq
	}
	if c.idle() {
		h.next = seq + uint32(len(data))
		return
	}
	for len(h.fake) > 0 && len(data) > 0 {
		// The first cut-off range that overlaps data, if any.
		off, stop := len(data), len(data)
		for _, r := range h.fake {
			so, eo := int64(int32(r.start-seq)), int64(int32(r.end-seq))
			if eo <= 0 || so >= int64(len(data)) {
				continue
			}
			so = max(so, 0)
			if int(so) < off {
				off, stop = int(so), int(min(eo, int64(len(data))))
			}
		}
		if off == len(data) {
			break
		}
		if off > 0 {
			c.feed(side, data[:off], seg)
		}
		c.gap(side, int64(stop-off), seg)
		data, seq = data[stop:], seq+uint32(stop)
	}
	if len(data) > 0 {
		c.feed(side, data, seg)
		seq += uint32(len(data))
	}
	h.next = seq
	if len(h.fake) > 0 {
		k := 0
		for _, r := range h.fake {
			if int32(r.end-seq) > 0 {
				h.fake[k] = r
				k++
			}
		}
		h.fake = h.fake[:k]
	}
}

// idle reports whether the decoder wants no more bytes (see
// decode.Conn.Idle), or the connection is TLS that cannot be decrypted:
// the engine then stops feeding and reassembling it.
func (c *conn) idle() bool {
	return !testNoIdle && (c.h2 == nil && c.dec.Idle() || c.tls != nil && c.tls.hopeless)
}

// The decoder calls. Each is bracketed by Engine.before/after and reported
// to testHook. feed, gap, end and close (tls.go) route through the TLS
// layer first.

func (c *conn) decFeed(side decode.Side, p []byte, seg decode.Seg) {
	if testHook != nil {
		testHook(hookCall{Op: opFeed, Conn: c.id, Side: side, Data: p, N: int64(len(p)), Seg: seg})
	}
	if !c.h2Checked && len(p) > 0 {
		c.h2Checked = true
		alpn := c.tls != nil && c.tls.dec.Info().ALPN == "h2"
		if client, ok := isH2(side, p, alpn); ok {
			c.startH2(client)
		}
	}
	if c.h2 == nil && !c.h2cSeen[side&1] {
		c.h2cSeen[side&1] = true // the first head of each side only
		if n, ok := c.h2cUpgrade(side, p, seg); ok {
			p = p[n:]
		}
	}
	if c.h2 != nil {
		if len(p) > 0 {
			c.h2Feed(side, p, seg)
		}
		return
	}
	c.decFeedHTTP(side, p, seg)
}

// decFeedHTTP feeds p to the connection's own decoder.
func (c *conn) decFeedHTTP(side decode.Side, p []byte, seg decode.Seg) {
	e := c.e
	e.before(c)
	e.out = c.dec.Feed(e.out, side, p, seg)
	e.after(c)
	if port := c.dec.TakeHint(); port != 0 {
		e.stats.Hinted++
		e.stats.HintPorts.Add(port)
	}
}

func (c *conn) decGap(side decode.Side, n int64, seg decode.Seg) {
	e := c.e
	if testHook != nil {
		testHook(hookCall{Op: opGap, Conn: c.id, Side: side, N: n, Seg: seg})
	}
	if c.h2 != nil {
		c.h2Gap(side, n, seg)
		return
	}
	e.before(c)
	e.out = c.dec.Gap(e.out, side, n, seg)
	e.after(c)
}

func (c *conn) decEnd(side decode.Side, seg decode.Seg, reason decode.EndReason) {
	e := c.e
	if testHook != nil {
		testHook(hookCall{Op: opEnd, Conn: c.id, Side: side, Seg: seg})
	}
	if c.h2 != nil {
		c.h2End(side, seg, reason)
	}
	e.before(c)
	e.out = c.dec.End(e.out, side, seg, reason)
	e.after(c)
}

func (c *conn) decClose(seg decode.Seg, reason decode.EndReason) {
	e := c.e
	if testHook != nil {
		testHook(hookCall{Op: opClose, Conn: c.id, Seg: seg})
	}
	if c.h2 != nil {
		c.h2Close(seg, reason)
	}
	e.before(c)
	e.out = c.dec.Close(e.out, seg, reason)
	e.after(c)
}

// endReason says what ends direction side now: a RST seen (it aborts
// both directions), else the direction's FIN, else the end of the
// capture (the final flush), else an idle flush: the connection was
// silent for the timeout, evicted by the memory budget, or its 4-tuple
// was reused.
func (c *conn) endReason(side decode.Side) decode.EndReason {
	switch {
	case c.rst:
		return decode.EndRST
	case c.half[side&1].fin:
		return decode.EndFIN
	case c.e.atEOF:
		return decode.EndCaptureEnd
	}
	return decode.EndIdle
}

// closeReason is endReason for whatever is still open when the
// connection is closed: FIN when both directions sent theirs.
func (c *conn) closeReason() decode.EndReason {
	switch {
	case c.rst:
		return decode.EndRST
	case c.half[0].fin && c.half[1].fin:
		return decode.EndFIN
	case c.e.atEOF:
		return decode.EndCaptureEnd
	}
	return decode.EndIdle
}

// hookOp names a decoder call reported to testHook.
type hookOp uint8

const (
	opNew hookOp = iota
	opFeed
	opGap
	opEnd
	opClose
)

// hookCall describes one decoder call. Data is only valid during the hook.
type hookCall struct {
	Op   hookOp
	Conn int
	Meta decode.ConnMeta // opNew
	Opt  decode.Options  // opNew
	Side decode.Side
	Data []byte
	N    int64
	Seg  decode.Seg
}

// testNoIdle, set by tests only, keeps feeding connections the decoder
// calls idle, so that tests of the byte streams need not speak HTTP.
var testNoIdle bool

// testHook, when set (by tests only), sees every decoder call before it is
// made.
var testHook func(hookCall)
