// Package reassembly turns captured packets into the in-order byte streams
// of TCP connections and feeds them to one [decode.Conn] per connection.
//
// It adapts gopacket's TCP reassembly (github.com/gopacket/gopacket/
// reassembly) to wscap: packets are decoded with preallocated layers
// (Ethernet with 802.1Q/QinQ, Linux SLL and SLL2, BSD loopback, raw IP,
// IPv4, IPv6 with extension headers, GTP-U and VXLAN decapsulation), time is
// always the capture time (never the wall clock), and the events the
// decoders produce are handed to a [Sink] in a deterministic order.
//
// # Connections
//
// A connection is identified by its 4-tuple. Ids are 1-based and given in
// order of the connection's first packet; a SYN on a 4-tuple whose
// connection already carried data starts a new connection with a new id.
// Side0 of a connection is the sender of the SYN when one was seen (even if
// the SYN-ACK was captured first), else the sender of the first packet.
//
// # Order of events
//
// Events are emitted as packets complete them, so a run over a file is
// deterministic. A reassembled chunk of bytes is attributed to the packet
// that completed it. Bytes held back by a hole in the sequence space are
// released when the hole is filled, when too much is buffered, when the
// connection has been idle for [Config.IdleTimeout] of capture time, or at
// the end of the capture; events produced by such flushes are sorted by
// (connection id, event sequence number) before they are emitted.
//
// # TLS
//
// A connection whose first bytes are a TLS ClientHello (on any port) goes
// through a [tlsdec.Conn]: with the secrets of [Config.KeyLog] its
// application data is decrypted and fed to the decoder with the [decode.Seg]
// of the packets that carried the records, so wss:// connections decode like
// ws:// ones. The decoder gets one KindTLS event per such connection (see
// [decode.Conn.TLS]) and the TLS layer's problems as anomalies (see
// [decode.Conn.Report]). A TLS connection that cannot be decrypted is not
// reassembled further once that is known.
//
// # Capture loss
//
// Bytes the capture lost (a sequence jump, or a packet cut by the snap
// length) reach the decoder as [decode.Conn.Gap], never as data.
//
// # Shards
//
// With [Config.Shard] a run decodes only the connections of one shard of
// the capture (see [ShardOf]); the [Tracker] still sees every packet, so
// ids, packet numbers and idle flushes are those of the whole capture,
// and [Engine.Position] says where in the whole run each batch of events
// belongs, for merging the shards' outputs.
package reassembly

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math/bits"
	"net/netip"
	"slices"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	tcpasm "github.com/gopacket/gopacket/reassembly"

	"github.com/wscap/wscap/decode"
	"github.com/wscap/wscap/source"
	"github.com/wscap/wscap/tlsdec"
)

// Config configures an [Engine].
type Config struct {
	// Decode are the options of every connection's decoder.
	Decode decode.Options
	// DecodeAsPorts lists ports whose connections are decoded as
	// WebSocket without a handshake: a connection with either port in the
	// list is created with Decode.DecodeAs set.
	DecodeAsPorts []uint16
	// IdleTimeout is how long, in capture time, data waits behind a hole
	// in the sequence space before the hole is declared lost, and how
	// long a connection may stay silent before it is flushed (default 2
	// minutes). A silent WebSocket connection keeps its decoder and
	// resumes if it speaks again.
	IdleTimeout time.Duration
	// KeyLog holds the TLS secrets (NSS key log) used to decrypt wss://
	// connections. A connection whose client starts with a TLS
	// ClientHello is TLS on any port: it gets a KindTLS event, and its
	// decrypted application data goes to the decoder as if it were
	// plaintext TCP. With a nil or empty KeyLog nothing is decrypted and
	// the tls events say so, without a tls_no_key anomaly per connection.
	KeyLog *tlsdec.KeyLog
	// Sessions, if set, remembers the TLS 1.2 sessions that later
	// connections resume instead of KeyLog (see tlsdec.Sessions): the
	// engines of a pipeline share one that orders their calls as the
	// capture does.
	Sessions tlsdec.Sessions
	// ConnTimeout is how long, in capture time, a connection that is
	// still open (no FIN or RST) may stay silent before it is finished
	// and its state freed (default 5 minutes, as Zeek's
	// tcp_inactivity_timeout; at least IdleTimeout). A later packet of
	// its 4-tuple starts a new connection.
	ConnTimeout time.Duration
	// MemCap is the budget, in bytes, for the state of all connections
	// (see budget.go): 0 is DefaultMemCap, a negative value none, and
	// less than MinMemCap is MinMemCap.
	MemCap int64
	// Shard, if set, decodes only the connections of one shard of the
	// capture (see shard.go): the Tracker skips the packets of the
	// others, as Engine.Skip does.
	Shard Shard
}

// Sink receives the events of a run, in output order. The slice and the
// byte slices inside its events are valid only during the call.
type Sink func(evs []decode.Event) error

// Stats counts what an [Engine] saw.
type Stats struct {
	Packets         int64 // packets handed to Engine.Packet
	Bytes           int64 // captured bytes of those packets
	TCP             int64 // TCP segments
	NonTCP          int64 // packets that are not TCP (ARP, UDP, ICMP...)
	Fragments       int64 // IP fragments (not reassembled, so not decoded)
	Undecodable     int64 // packets whose headers could not be decoded
	UnsupportedLink int64 // packets of a link type wscap has no decoder for
	Truncated       int64 // packets cut short by the capture's snap length
	Conns           int   // TCP connections that sent a SYN or data
	WebSocket       int   // connections recognised as WebSocket
	Gaps            int64 // holes in byte streams reported to decoders
	LostBytes       int64 // bytes in those holes
	TLS             int   // connections that started with a TLS ClientHello
	TLSDecrypted    int   // TLS connections whose application data was decrypted
	Evicted         int   // connections evicted by the memory budget
	EvictedWS       int   // of those, WebSocket or TLS connections (they got memcap_evicted)
	// Hinted counts the connections whose client direction starts with
	// what look like masked WebSocket frames though no handshake was
	// seen (see decode.Conn.TakeHint): decode-as (-d PORT) would decode
	// them. HintPorts holds their server ports.
	Hinted    int
	HintPorts PortSet
	// ResumedNoKey counts the TLS 1.2 connections (or older) that
	// resumed a session and were not decrypted though there were keys:
	// neither the key log nor an earlier connection had the session's
	// secret (in a sharded run, that connection may be in another shard).
	ResumedNoKey int
}

// A PortSet is a set of TCP ports (8 KiB, comparable).
type PortSet [1 << 10]uint64

// Add adds port p to s.
func (s *PortSet) Add(p uint16) { s[p>>6] |= 1 << (p & 63) }

// Ports returns the ports of s in increasing order.
func (s *PortSet) Ports() []uint16 {
	var out []uint16
	for i, w := range s {
		for ; w != 0; w &= w - 1 {
			out = append(out, uint16(i<<6+bits.TrailingZeros64(w)))
		}
	}
	return out
}

const (
	defaultIdle     = 2 * time.Minute
	defaultConnIdle = 5 * time.Minute
	// Out-of-order data is bounded per connection (1900-byte pages:
	// ~1.9 MB behind one hole), never per engine, so that every number
	// of workers skips a hole at the same packet; the total is bounded
	// by the memory budget.
	maxPagesPerConn = 1024
	maxKeptEvents   = 4096 // events of room Engine.out keeps between packets
	maxFake         = 256  // snap-length holes remembered per direction
)

// endpointConn is the gopacket endpoint type of the network flows the
// engine hands to the assembler: they name a connection generation and a
// side rather than addresses, so that the engine decides what a connection
// is (a SYN on a used 4-tuple starts a new one at once).
const endpointConn gopacket.EndpointType = 0x7773

// pktCtx is the assembler context of one packet. Contexts of packets the
// assembler queued are kept by its pages, so those are never reused.
type pktCtx struct {
	ci  gopacket.CaptureInfo
	seg decode.Seg
	anc [1]any
}

func newPktCtx() *pktCtx {
	c := &pktCtx{}
	c.anc[0] = c
	return c
}

// GetCaptureInfo implements tcpasm.AssemblerContext.
func (c *pktCtx) GetCaptureInfo() gopacket.CaptureInfo { return c.ci }

func ctxOf(ci gopacket.CaptureInfo) *pktCtx {
	if len(ci.AncillaryData) == 0 {
		return nil
	}
	c, _ := ci.AncillaryData[0].(*pktCtx)
	return c
}

// Engine runs packets through layer decoding, TCP reassembly and the
// decoders. It is not safe for concurrent use.
type Engine struct {
	cfg  Config
	sink Sink
	ld   *linkDecoder
	asm  *tcpasm.Assembler

	tr      *Tracker // decides ids and flush points for Packet and Tick
	flows   map[flowKey]*conn
	byID    []*conn // the connections of flows by id (nil once finished)
	nextGen uint64

	out   []decode.Event
	epoch int // bumped whenever out is handed to the sink

	flushing  bool // inside an assembler flush: contexts are not the current packet's
	cutting   bool // inside the flush of an eviction (Tracker.Cut)
	atEOF     bool // inside the final flush
	flushed   bool
	closedAll bool

	ctx      *pktCtx // context for the current packet
	retained bool    // the assembler queued the current packet
	cur      *conn   // connection of the current packet
	curSide  decode.Side
	curSeg   decode.Seg

	scratch []byte
	touched []*decode.Conn // decoders that produced the pending events
	err     error          // the sink's error, sticky
	stats   Stats

	mem   int64           // bytes of state of the connections (see MemSize)
	memAt [ringSize]int64 // mem at recent checkpoints (Packet)

	pos position // where the run is (see Position)
}

// New returns an Engine that passes the events it produces to sink.
func New(cfg Config, sink Sink) *Engine {
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = defaultIdle
	}
	e := &Engine{
		cfg:   cfg,
		sink:  sink,
		ld:    newLinkDecoder(),
		flows: make(map[flowKey]*conn),
		ctx:   newPktCtx(),
		epoch: 1,
	}
	e.tr = newTracker(cfg, e.ld)
	e.tr.SetTotal(func(k int) int64 { return e.memAt[k%ringSize] })
	e.asm = tcpasm.NewAssembler(tcpasm.NewStreamPool(factory{e}))
	e.asm.MaxBufferedPagesPerConnection = maxPagesPerConn
	return e
}

// Packet processes packet number n (1-based, as Wireshark counts) of the
// capture. Packets must be given in capture order. The only error it
// returns is the sink's; once the sink has failed, Packet and Flush return
// that error.
//
// Packet decides connection ids and idle flushes with the engine's own
// [Tracker]. With [Config.Shard], a packet of another shard's connection
// is only numbered and timed, as by Skip. An engine that is given only some of a capture's
// connections (a pipeline worker) gets them from the caller's Tracker
// instead, through Handle and IdleFlush; the same engine must not be fed
// both ways.
func (e *Engine) Packet(n int, p source.Packet) error {
	if e.err != nil {
		return e.err
	}
	d := e.tr.Packet(n, &p) // decodes p into e.ld
	e.pos.n, e.pos.phase = n, PhasePacket
	if !d.OtherShard {
		e.stats.Count(&p, d.Class)
		if d.Class == ClassTCP {
			e.tcpPacket(n, &p, d.ID)
		}
		if err := e.emit(); err != nil {
			return err
		}
	}
	if d.Check > 0 {
		e.memAt[d.Check%ringSize] = e.mem
	}
	if d.Flush {
		return e.idleFlush(d.Now, e.tr.Cut(), e.tr.Retired())
	}
	return nil
}

// MemSize returns the bytes of traffic state the engine holds, as the
// memory budget counts them: for each connection a fixed cost, its
// decoder's (decode.Conn.MemSize), the TLS layer's, the out-of-order
// data the assembler buffers for it and, for a WebSocket or TLS
// connection, the renderer's counters.
func (e *Engine) MemSize() int64 { return e.mem }

// account brings c's share of e.mem up to date.
func (e *Engine) account(c *conn) {
	if c.done {
		e.unaccount(c)
		return
	}
	m := int64(connCost)
	if c.dec != nil {
		m += int64(c.dec.MemSize())
		if c.dec.IsWebSocket() || c.tls != nil {
			m += renderCost
		}
	}
	if c.tls != nil {
		m += tlsCost
	}
	if c.h2 != nil {
		m += c.h2.memSize()
	}
	for s := range c.half {
		h := &c.half[s]
		if h.queued > 0 {
			pages := max(int64(h.queued), int64(h.maxEnd-h.gNext)/1900+1)
			m += min(pages, maxPagesPerConn) * pageCost
		}
	}
	e.mem += m - c.mem
	c.mem = m
}

// unaccount removes c from e.mem.
func (e *Engine) unaccount(c *conn) {
	e.mem -= c.mem
	c.mem = 0
}

// Skip tells the engine about packet number n, which a capture filter
// rejected: its connection takes an id, as without the filter, so the
// ids of the others do not change, but nothing of it is decoded or
// counted. Idle flushes and memory checkpoints due at it still run.
func (e *Engine) Skip(n int, p source.Packet) error {
	if e.err != nil {
		return e.err
	}
	d := e.tr.Packet(n, &p)
	e.pos.n, e.pos.phase = n, PhasePacket
	if d.Check > 0 {
		e.memAt[d.Check%ringSize] = e.mem
	}
	if d.Flush {
		return e.idleFlush(d.Now, e.tr.Cut(), e.tr.Retired())
	}
	return nil
}

// Handle processes packet number n, a TCP packet of connection id as the
// caller's [Tracker] decided (Decision.ID). Like Packet, it returns only
// the sink's error.
func (e *Engine) Handle(n int, p source.Packet, id int) error {
	if e.err != nil {
		return e.err
	}
	e.pos.n, e.pos.phase = n, PhasePacket
	res, _ := e.ld.decode(&p)
	e.stats.Count(&p, Class(res))
	if res == resTCP {
		e.tcpPacket(n, &p, id)
	}
	return e.emit()
}

// IdleFlush runs the idle flush the caller's [Tracker] decided
// (Decision.Flush, or Tracker.Tick) at capture time now: data stuck
// behind a hole for the idle timeout is released, and the retired
// connections (those of this engine; others are ignored) are finished.
// cut (Tracker.Cut) says what the assembler flushes besides.
func (e *Engine) IdleFlush(now time.Time, cut Cut, retired []Retired) error {
	if e.err != nil || e.flushed {
		return e.err
	}
	return e.idleFlush(now, cut, retired)
}

// Count adds packet p, classified as c, to the counters.
func (s *Stats) Count(p *source.Packet, c Class) {
	s.Packets++
	s.Bytes += int64(len(p.Data))
	if p.CapLen < p.Len {
		s.Truncated++
	}
	switch c {
	case ClassTCP:
		s.TCP++
	case ClassNonTCP:
		s.NonTCP++
	case ClassFragment:
		s.Fragments++
	case ClassUndecodable:
		s.Undecodable++
	case ClassUnsupported:
		s.UnsupportedLink++
	}
}

// Add adds the counters of o to s (the engines of a pipeline).
func (s *Stats) Add(o Stats) {
	s.Packets += o.Packets
	s.Bytes += o.Bytes
	s.TCP += o.TCP
	s.NonTCP += o.NonTCP
	s.Fragments += o.Fragments
	s.Undecodable += o.Undecodable
	s.UnsupportedLink += o.UnsupportedLink
	s.Truncated += o.Truncated
	s.Conns += o.Conns
	s.WebSocket += o.WebSocket
	s.Gaps += o.Gaps
	s.LostBytes += o.LostBytes
	s.TLS += o.TLS
	s.TLSDecrypted += o.TLSDecrypted
	s.ResumedNoKey += o.ResumedNoKey
	s.Evicted += o.Evicted
	s.EvictedWS += o.EvictedWS
	if o.Hinted > 0 {
		s.Hinted += o.Hinted
		for i, w := range o.HintPorts {
			s.HintPorts[i] |= w
		}
	}
}

// Flush ends the run: data still held behind holes is delivered, then every
// connection is closed in id order. Call it once, at the end of the input.
// It is FlushStreams followed by CloseAll.
func (e *Engine) Flush() error {
	if err := e.FlushStreams(); err != nil {
		return err
	}
	return e.CloseAll()
}

// FlushStreams is the first half of Flush: data still held behind holes is
// delivered, and the events that produces are emitted sorted by
// (connection id, sequence number).
func (e *Engine) FlushStreams() error {
	if e.err != nil || e.flushed {
		return e.err
	}
	e.flushed = true
	e.pos.phase = PhaseEOF
	e.flushing, e.atEOF = true, true
	e.asm.FlushAll()
	e.flushing = false
	e.sortOut()
	return e.emit()
}

// CloseAll is the second half of Flush: every connection still open is
// closed, in id order. It calls FlushStreams first if that was not done.
func (e *Engine) CloseAll() error {
	if !e.flushed {
		if err := e.FlushStreams(); err != nil {
			return err
		}
	}
	if e.err != nil || e.closedAll {
		return e.err
	}
	e.closedAll = true
	e.pos.phase = PhaseClose
	var open []*conn
	for _, c := range e.flows {
		if !c.done && c.dec != nil {
			open = append(open, c)
		}
	}
	slices.SortFunc(open, func(a, b *conn) int { return cmp.Compare(a.id, b.id) })
	for _, c := range open {
		c.done = true
		c.close(c.lastSeg)
		c.dec = nil
		e.unaccount(c)
	}
	clear(e.flows)
	clear(e.byID)
	return e.emit()
}

// Stats returns the counters so far.
func (e *Engine) Stats() Stats { return e.stats }

// IDs returns how many connection ids the engine's Tracker gave (see
// Tracker.IDs); 0 for an engine fed by Handle.
func (e *Engine) IDs() int { return e.tr.IDs() }

// idleFlush releases data that waited too long behind a hole and
// finishes the retired connections.
func (e *Engine) idleFlush(now time.Time, cut Cut, retired []Retired) error {
	e.pos.phase = PhaseTick
	e.pos.tick++
	cutoff := now.Add(-e.cfg.IdleTimeout)
	// Evicted connections say so first: the flushes below may finish
	// them.
	for _, r := range retired {
		if c := e.flows[r.key]; r.Evicted && c != nil && c.id == r.ID {
			e.evicted(c)
		}
	}
	e.flushing = true
	e.asm.FlushCloseOlderThan(cutoff)
	if cut.Flush.After(cutoff) || cut.Close.After(cutoff) {
		// The assembler closes every connection silent since the
		// newest victim's last packet: those that are not victims
		// only lose their assembler state (see conn.ReassemblyComplete).
		e.cutting = true
		e.asm.FlushWithOptions(tcpasm.FlushOptions{T: cut.Flush, TC: cut.Close})
		e.cutting = false
	}
	for _, r := range retired {
		if c := e.flows[r.key]; c != nil && c.id == r.ID {
			e.finish(c)
			delete(e.flows, r.key)
			e.byID[c.id] = nil
		}
	}
	e.flushing = false
	e.sortOut()
	return e.emit()
}

// sortOut puts events produced by a flush (which walks a map) in a stable
// order: by connection id, HTTP/2 stream, then the decoder's sequence
// number.
func (e *Engine) sortOut() {
	slices.SortStableFunc(e.out, func(a, b decode.Event) int {
		if c := cmp.Compare(a.Conn, b.Conn); c != 0 {
			return c
		}
		if c := cmp.Compare(a.H2Stream, b.H2Stream); c != 0 {
			return c
		}
		return cmp.Compare(a.Seq, b.Seq)
	})
}

// emit hands the pending events to the sink.
func (e *Engine) emit() error {
	if len(e.out) == 0 {
		return nil
	}
	for i := range e.out {
		if e.out[i].Kind == decode.KindConn {
			e.stats.WebSocket++
		}
	}
	err := e.sink(e.out)
	if cap(e.out) > maxKeptEvents {
		// A flush that finished thousands of connections at once: do
		// not keep room for as many events for the rest of the run.
		e.out = nil
	} else {
		clear(e.out)
		e.out = e.out[:0]
	}
	e.epoch++
	// The events are written: their payload buffers can go back to the
	// pool now instead of at each decoder's next call.
	for i, d := range e.touched {
		d.Release()
		e.touched[i] = nil
	}
	e.touched = e.touched[:0]
	if err != nil {
		e.err = err
	}
	return err
}

// tcpPacket routes the TCP segment in e.ld.tcp, of connection id, to its
// connection and the assembler.
func (e *Engine) tcpPacket(n int, p *source.Packet, id int) {
	t := &e.ld.tcp
	src := netip.AddrPortFrom(e.ld.src, uint16(t.SrcPort))
	dst := netip.AddrPortFrom(e.ld.dst, uint16(t.DstPort))
	key, srcIsA := makeKey(src, dst)
	var c *conn
	if id > 0 && id < len(e.byID) {
		c = e.byID[id]
	}
	switch {
	case c == nil:
		if old := e.flows[key]; old != nil {
			// A new connection on a used 4-tuple (see Tracker).
			e.finish(old)
			if old.id > 0 && old.id < len(e.byID) {
				e.byID[old.id] = nil
			}
		}
		c = e.newConn(key, srcIsA, src, dst, t, id)
	case !c.started && t.SYN && (!t.ACK || !c.synOK):
		// Only pure ACKs (or a SYN-ACK) were seen so far: the SYN tells
		// who the originator is.
		c.setSide0(srcIsA, src, dst, t)
	}
	side := c.sideOf(srcIsA)
	seg := decode.Seg{Time: p.Time, Packet: n}
	c.lastSeen, c.lastSeg = p.Time, seg
	// What ends a direction (see conn.endReason).
	if t.FIN {
		c.half[side].fin = true
	}
	if t.RST {
		c.rst = true
	}

	if m := e.ld.missing(p); m > 0 {
		h := &c.half[side]
		if len(h.fake) < maxFake {
			// Hand the assembler the whole segment, the part the capture
			// lost as zeros, and remember where those are: they reach
			// the decoder as a gap.
			start := t.Seq + uint32(len(t.Payload))
			if t.SYN {
				start++
			}
			h.fake = append(h.fake, seqRange{start, start + uint32(m)})
			buf := append(e.scratch[:0], t.Payload...)
			k := len(buf)
			buf = slices.Grow(buf, m)[:k+m]
			clear(buf[k:])
			e.scratch = buf
			t.Payload = buf
		}
	}

	ctx := e.ctx
	ctx.ci = gopacket.CaptureInfo{Timestamp: p.Time, CaptureLength: p.CapLen, Length: p.Len, AncillaryData: ctx.anc[:]}
	ctx.seg = seg
	e.cur, e.curSide, e.curSeg, e.retained = c, side, seg, false
	e.asm.AssembleWithContext(c.flow(side), t, ctx)
	e.cur = nil
	if e.retained {
		e.ctx = newPktCtx()
	}
}

func (e *Engine) newConn(key flowKey, srcIsA bool, src, dst netip.AddrPort, t *layers.TCP, id int) *conn {
	e.nextGen++
	c := &conn{e: e, id: id, gen: e.nextGen, key: key}
	e.account(c)
	c.setSide0(srcIsA, src, dst, t)
	e.flows[key] = c
	if id > 0 {
		for id >= len(e.byID) {
			e.byID = append(e.byID, nil)
		}
		e.byID = e.byID[:cap(e.byID)]
		e.byID[id] = c
	}
	return c
}

// flow returns the network flow of the packets that side of c sends, as
// the assembler sees them: the connection's generation and the side, so
// that a new connection on the same 4-tuple is a new assembler connection.
func (c *conn) flow(side decode.Side) gopacket.Flow {
	var a, b [9]byte
	binary.LittleEndian.PutUint64(a[:], c.gen)
	binary.LittleEndian.PutUint64(b[:], c.gen)
	a[8], b[8] = byte(side), byte(side^1)
	return gopacket.NewFlow(endpointConn, a[:], b[:])
}

// decodeAs reports whether a connection between ports a and b is decoded
// as WebSocket without a handshake.
func (e *Engine) decodeAs(a, b uint16) bool {
	for _, p := range e.cfg.DecodeAsPorts {
		if p == a || p == b {
			return true
		}
	}
	return false
}

// finish ends a connection before the end of the capture: sides not yet
// ended are ended, then the decoder is closed and dropped.
func (e *Engine) finish(c *conn) {
	if c.done {
		return
	}
	c.done = true
	if c.dec == nil {
		e.unaccount(c)
		return
	}
	for s := range 2 {
		if !c.half[s].ended {
			c.half[s].ended = true
			c.end(decode.Side(s), c.lastSeg)
		}
	}
	c.close(c.lastSeg)
	c.dec = nil
	e.unaccount(c)
}

// evicted reports that the memory budget evicts c: a memcap_evicted
// anomaly on a WebSocket or TLS connection (others are only counted).
func (e *Engine) evicted(c *conn) {
	e.stats.Evicted++
	c.victim = true
	if c.done || c.dec == nil || !c.dec.IsWebSocket() && c.tls == nil {
		return
	}
	e.stats.EvictedWS++
	a := decode.Anomaly{
		Code:     decode.CodeMemcapEvicted,
		Severity: decode.SeverityWarning,
		Ref:      "wscap limit",
		Detail: fmt.Sprintf("the memory budget (--memcap %s) was reached: this connection, silent since %s, was among the least recently active; its state is dropped and what was open is truncated",
			MemCapString(e.cfg.MemCap), c.lastSeen.UTC().Format(time.RFC3339Nano)),
	}
	e.before(c)
	e.out = c.dec.Report(e.out, decode.Side0, a, c.lastSeg)
	e.after(c)
}

// MemCapString formats the budget in force for Config.MemCap n as the
// --memcap flag takes it ("512MiB", "off").
func MemCapString(n int64) string {
	n = memCap(n)
	switch {
	case n == 0:
		return "off"
	case n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	}
	return fmt.Sprintf("%dKiB", n>>10)
}

// segFor says which packet a chunk handed to ReassembledSG is attributed
// to: the current packet, except in a flush, where it is the packet that
// carried the chunk's last byte.
func (e *Engine) segFor(sg tcpasm.ScatterGather, n int, ac tcpasm.AssemblerContext, c *conn) decode.Seg {
	if !e.flushing && e.cur != nil {
		return e.curSeg
	}
	if n > 0 {
		if pc := ctxOf(sg.CaptureInfo(n - 1)); pc != nil {
			return pc.seg
		}
	}
	if pc, ok := ac.(*pktCtx); ok && pc != nil {
		return pc.seg
	}
	return c.lastSeg
}

// before and after bracket every call of a decoder method. Byte slices in
// the events a call returned are only valid until the next call on the same
// decoder, so the events of its previous call still pending are cloned.
func (e *Engine) before(c *conn) {
	if c.outEpoch == e.epoch {
		for i := c.outStart; i < c.outEnd && i < len(e.out); i++ {
			e.out[i] = e.out[i].Clone()
		}
	}
	c.outStart = len(e.out)
}

func (e *Engine) after(c *conn) {
	if len(e.out) > c.outStart && c.touchEpoch != e.epoch {
		e.touched = append(e.touched, c.dec) // once per emit
		c.touchEpoch = e.epoch
	}
	c.outEnd = len(e.out)
	c.outEpoch = e.epoch
	e.account(c)
}

// factory implements tcpasm.StreamFactory.
type factory struct{ e *Engine }

// New is called by the assembler for a packet of a connection it does not
// know. Returning nil ignores the packet: it does so for "ghost" packets
// (no SYN, no payload: the last ACK after a close, keep-alives of a
// connection whose start was not captured).
func (f factory) New(_, _ gopacket.Flow, t *layers.TCP, _ tcpasm.AssemblerContext) tcpasm.Stream {
	e := f.e
	c := e.cur
	if c == nil || c.done || (c.half[0].ended && c.half[1].ended) {
		return nil
	}
	if !t.SYN && len(t.Payload) == 0 && !(c.dec != nil && (t.FIN || t.RST)) {
		return nil
	}
	c.dirSide = [2]decode.Side{e.curSide, e.curSide.Other()}
	if !c.started {
		c.started = true
		opt := e.cfg.Decode
		if e.decodeAs(c.addr[0].Port(), c.addr[1].Port()) {
			opt.DecodeAs = true
		}
		meta := decode.ConnMeta{ID: c.id, Addr: c.addr, SynOK: c.synOK}
		if testHook != nil {
			testHook(hookCall{Op: opNew, Conn: c.id, Meta: meta, Opt: opt})
		}
		c.dec = decode.NewConn(meta, opt)
		e.account(c)
		e.stats.Conns++
	}
	c.attached = true
	return c
}
