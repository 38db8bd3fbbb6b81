package reassembly

import (
	"cmp"
	"encoding/binary"
	"net/netip"
	"slices"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/wscap/wscap/source"
)

// Tracker makes the decisions about a capture that need to see every
// packet in order: which connection a TCP packet belongs to (connection
// ids), and when idle connections are flushed. An [Engine] fed by
// [Engine.Packet] has one inside; a parallel pipeline runs one in its
// router and hands each worker's Engine the ids and flush points
// through [Engine.Handle] and [Engine.IdleFlush], so that every way of
// running numbers connections and flushes them at the same packets.
//
// # Connection ids
//
// Ids are 1-based, in order of the connection's first packet (as
// tshark's tcp.stream, plus one). A packet of a 4-tuple with no
// connection starts one, whatever it is (a "ghost" ACK too). A SYN
// without ACK on a 4-tuple whose connection already sent a SYN or data
// starts a new connection, unless it retransmits the SYN that started
// it. A connection that never sent a SYN or data, or that sent a FIN or
// RST, and was then silent for [Config.IdleTimeout] of capture time is
// retired at the next idle flush: a later packet of its 4-tuple starts a
// new connection. Other connections keep their id however long they are
// silent.
//
// A Tracker is not safe for concurrent use.
type Tracker struct {
	ld      *linkDecoder
	fast    bool // decode common packets with fastTCP (ld is then not filled)
	idle    time.Duration
	every   time.Duration
	flows   map[flowKey]*track
	nextID  int
	started bool
	now     time.Time
	last    time.Time // time of the last idle flush
	retired []Retired
	cut     Cut   // evictions: what the engines flush besides
	shard   Shard // Config.Shard (see shard.go)

	// The memory budget (see budget.go).
	connIdle   time.Duration // open connections silent this long are retired
	memcap     int64
	busy       lru // tracks that carried data, most recently seen first
	quiet      lru // the others
	total      func(k int) int64
	own        [ringSize]int64 // the Tracker's own bytes at recent checkpoints
	freed      [ringSize]int64 // bytes evicted at recent checkpoints (estimated)
	sincePkts  int
	sinceBytes int
	checks     int
	// The most the engines and the Tracker held at an evaluated
	// checkpoint (see MemPeak).
	peakEngines, peakOwn int64
}

// track is what a Tracker knows about one connection.
type track struct {
	key        flowKey
	prev, next *track // in the Tracker's lru lists
	data       bool   // carried a payload byte
	id         int
	lastSeen   time.Time
	side0IsA   bool
	synOK      bool
	synSeen    bool
	synSeq     uint32
	started    bool // sent a SYN or data: the engine made a decoder
	closed     bool // a FIN or RST was seen
	other      bool // of another shard than the run's (Config.Shard)
}

// Retired names a connection retired by an idle flush, or evicted by the
// memory budget.
type Retired struct {
	ID      int
	Evicted bool // by the memory budget
	key     flowKey
}

// Decision is what a Tracker decided about one packet.
type Decision struct {
	// Class says what the packet is; only ClassTCP packets go on to an
	// Engine.
	Class Class
	// ID is the connection id of a TCP packet.
	ID int
	// New says that the packet started connection ID; Prev is then the
	// connection it replaces on the same 4-tuple (a SYN on a used one),
	// or 0. A pipeline must give a replacing connection to the engine of
	// the connection it replaces, which finishes the old one.
	New  bool
	Prev int
	// Flush says that an idle flush is due after this packet, at capture
	// time Now; Tracker.Retired lists the connections it retires and
	// Tracker.Cut what else it flushes.
	Flush bool
	Now   time.Time
	// Check is the number of the memory checkpoint after this packet, or
	// 0: engines note Engine.MemSize there, before any flush.
	Check int
	// OtherShard says that the TCP packet's connection belongs to
	// another shard than the run's (Config.Shard): like a packet a
	// capture filter rejected, it is not decoded or counted, but the
	// other decisions (Flush, Check) stand.
	OtherShard bool
}

// Class is what layer decoding made of a packet.
type Class uint8

// The classes of packets, as counted in [Stats].
const (
	ClassTCP         Class = Class(resTCP)
	ClassNonTCP      Class = Class(resNonTCP)
	ClassFragment    Class = Class(resFragment)
	ClassUndecodable Class = Class(resUndecodable)
	ClassUnsupported Class = Class(resUnsupported)
)

// NewTracker returns a Tracker for an engine configured with cfg (only
// IdleTimeout, ConnTimeout, MemCap and Shard matter).
func NewTracker(cfg Config) *Tracker {
	tr := newTracker(cfg, newLinkDecoder())
	tr.fast = true
	return tr
}

func newTracker(cfg Config, ld *linkDecoder) *Tracker {
	idle := cfg.IdleTimeout
	if idle <= 0 {
		idle = defaultIdle
	}
	connIdle := cfg.ConnTimeout
	if connIdle <= 0 {
		connIdle = defaultConnIdle
	}
	return &Tracker{
		ld:       ld,
		idle:     idle,
		connIdle: max(connIdle, idle),
		every:    max(idle/4, time.Millisecond),
		flows:    make(map[flowKey]*track),
		memcap:   memCap(cfg.MemCap),
		shard:    cfg.Shard,
	}
}

// memCap returns the budget in force for Config.MemCap.
func memCap(c int64) int64 {
	switch {
	case c < 0:
		return 0
	case c == 0:
		return DefaultMemCap
	}
	return max(c, MinMemCap)
}

// Packet decides about packet number n, the next packet of the capture.
func (tr *Tracker) Packet(n int, p *source.Packet) Decision {
	if !tr.started {
		tr.started, tr.now, tr.last = true, p.Time, p.Time
	} else if p.Time.After(tr.now) {
		tr.now = p.Time
	}
	var d Decision
	var s tcpSeg
	if tr.fast && fastTCP(p, &s) {
		d.Class = ClassTCP
	} else {
		res, _ := tr.ld.decode(p)
		d.Class = Class(res)
		if res == resTCP {
			s = tr.ld.seg(p)
		}
	}
	if d.Class == ClassTCP {
		tr.tcp(p, &s, &d)
	}
	if len(tr.retired) > 0 || tr.cut != (Cut{}) {
		tr.retired, tr.cut = tr.retired[:0], Cut{}
	}
	d.Check = tr.checkpoint(len(p.Data))
	due := tr.now.Sub(tr.last) >= tr.every
	if due {
		tr.flush()
	}
	if due || len(tr.retired) > 0 {
		d.Flush, d.Now = true, tr.now
		sortRetired(tr.retired)
	}
	return d
}

// Tick tells the tracker that capture time has reached now without a
// packet (a quiet live capture). It reports whether an idle flush is due,
// and at what time; Retired then lists the connections it retires.
func (tr *Tracker) Tick(now time.Time) (bool, time.Time) {
	if !tr.started {
		return false, time.Time{}
	}
	if now.After(tr.now) {
		tr.now = now
	}
	if tr.now.Sub(tr.last) < tr.every {
		return false, time.Time{}
	}
	tr.retired, tr.cut = tr.retired[:0], Cut{}
	tr.flush()
	sortRetired(tr.retired)
	return true, tr.now
}

// IDs returns how many connection ids the Tracker gave so far: the
// connections of the capture are #1 to #IDs().
func (tr *Tracker) IDs() int { return tr.nextID }

// Retired returns the connections retired by the last idle flush or
// evicted by the memory budget, in id order. The slice is reused by the
// next flush.
func (tr *Tracker) Retired() []Retired { return tr.retired }

// Cut returns what the last flush also flushes in the engines'
// assemblers: the memory budget evicted connections, and what the
// assembler holds for them goes too.
func (tr *Tracker) Cut() Cut { return tr.cut }

// flush retires the connections silent for the idle timeout that nothing
// more can come of, and open ones silent for Config.ConnTimeout.
func (tr *Tracker) flush() {
	tr.last = tr.now
	cutoff := tr.now.Add(-tr.idle)
	connCutoff := tr.now.Add(-tr.connIdle)
	for k, t := range tr.flows {
		if !t.lastSeen.Before(cutoff) || t.started && !t.closed && !t.lastSeen.Before(connCutoff) {
			continue
		}
		tr.retired = append(tr.retired, Retired{ID: t.id, key: k})
		tr.list(t).remove(t)
		delete(tr.flows, k)
	}
}

func sortRetired(r []Retired) {
	slices.SortFunc(r, func(a, b Retired) int { return cmp.Compare(a.ID, b.ID) })
}

// tcpSeg is what the id rules need of a TCP segment.
type tcpSeg struct {
	src, dst           netip.AddrPort
	seq                uint32
	syn, ack, fin, rst bool
	payload            int // payload bytes captured
	missing            int // payload bytes the snap length cut off
}

// seg returns the tcpSeg of the TCP segment d decoded from p.
func (d *linkDecoder) seg(p *source.Packet) tcpSeg {
	t := &d.tcp
	return tcpSeg{
		src: netip.AddrPortFrom(d.src, uint16(t.SrcPort)),
		dst: netip.AddrPortFrom(d.dst, uint16(t.DstPort)),
		seq: t.Seq, syn: t.SYN, ack: t.ACK, fin: t.FIN, rst: t.RST,
		payload: len(t.Payload), missing: d.missing(p),
	}
}

// fastTCP decodes the common packet, an untruncated TCP segment in IPv4
// (no options, not a fragment) or IPv6 (no extension headers) in
// Ethernet, as gopacket would. Anything else, or anything gopacket might
// see differently, returns false: the caller then decodes with gopacket.
func fastTCP(p *source.Packet, s *tcpSeg) bool {
	data := p.Data
	if p.LinkType != layers.LinkTypeEthernet || p.CapLen < p.Len || len(data) < 14+20+20 {
		return false
	}
	var t []byte
	switch binary.BigEndian.Uint16(data[12:14]) {
	case 0x0800:
		ip := data[14:]
		l := int(binary.BigEndian.Uint16(ip[2:4]))
		if ip[0] != 0x45 || l < 40 || l > len(ip) || binary.BigEndian.Uint16(ip[6:8])&0x3fff != 0 || ip[9] != 6 {
			return false
		}
		t = ip[20:l]
		s.src = netip.AddrPortFrom(netip.AddrFrom4([4]byte(ip[12:16])), binary.BigEndian.Uint16(t[0:2]))
		s.dst = netip.AddrPortFrom(netip.AddrFrom4([4]byte(ip[16:20])), binary.BigEndian.Uint16(t[2:4]))
	case 0x86DD:
		ip := data[14:]
		if len(ip) < 40+20 || ip[0]>>4 != 6 || ip[6] != 6 {
			return false
		}
		l := 40 + int(binary.BigEndian.Uint16(ip[4:6]))
		if l < 40+20 || l > len(ip) {
			return false
		}
		t = ip[40:l]
		s.src = netip.AddrPortFrom(netip.AddrFrom16([16]byte(ip[8:24])), binary.BigEndian.Uint16(t[0:2]))
		s.dst = netip.AddrPortFrom(netip.AddrFrom16([16]byte(ip[24:40])), binary.BigEndian.Uint16(t[2:4]))
	default:
		return false
	}
	off := int(t[12]>>4) * 4
	if off < 20 || off > len(t) {
		return false
	}
	f := t[13]
	s.seq = binary.BigEndian.Uint32(t[4:8])
	s.fin, s.syn, s.rst, s.ack = f&0x01 != 0, f&0x02 != 0, f&0x04 != 0, f&0x10 != 0
	s.payload, s.missing = len(t)-off, 0
	return true
}

// tcp assigns the TCP segment s its connection id.
func (tr *Tracker) tcp(p *source.Packet, t *tcpSeg, d *Decision) {
	key, srcIsA := makeKey(t.src, t.dst)
	c := tr.flows[key]
	switch {
	case c == nil:
		c = tr.newTrack(key, srcIsA, t.syn, t.ack, t.seq)
		d.New = true
	case !c.started && t.syn && (!t.ack || !c.synOK):
		c.setSide0(srcIsA, t.syn, t.ack, t.seq)
	case t.syn && !t.ack && c.started:
		if c.synSeen && t.seq == c.synSeq && srcIsA == c.side0IsA {
			break // a retransmitted SYN
		}
		d.New, d.Prev = true, c.id
		tr.list(c).remove(c)
		c = tr.newTrack(key, srcIsA, t.syn, t.ack, t.seq)
	}
	c.lastSeen = p.Time
	tr.touch(c, t.payload > 0 || t.missing > 0)
	// The engine makes a decoder for the first SYN or data (bytes the
	// capture cut off count: they reach the decoder as a gap).
	if !c.started && (t.syn || t.payload > 0 || t.missing > 0) {
		c.started = true
	}
	if t.fin || t.rst {
		c.closed = true
	}
	d.ID, d.OtherShard = c.id, c.other
}

func (tr *Tracker) newTrack(key flowKey, srcIsA, syn, ack bool, seq uint32) *track {
	tr.nextID++
	c := &track{id: tr.nextID, key: key, other: tr.other(&key)}
	c.setSide0(srcIsA, syn, ack, seq)
	tr.flows[key] = c
	tr.quiet.pushFront(c)
	return c
}

// setSide0 mirrors conn.setSide0 for what the id rules need.
func (c *track) setSide0(srcIsA, syn, ack bool, seq uint32) {
	c.synSeen = false
	if syn && ack {
		c.side0IsA, c.synOK = !srcIsA, true
		return
	}
	c.side0IsA, c.synOK = srcIsA, syn
	if syn {
		c.synSeen, c.synSeq = true, seq
	}
}
