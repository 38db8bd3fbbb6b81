package flowgen

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/wscap/wscap/source"
)

// Link is the link-layer header type written in front of each IP packet.
type Link uint8

const (
	Ethernet Link = iota // LINKTYPE_ETHERNET (1)
	LinuxSLL             // LINKTYPE_LINUX_SLL (113), "cooked" capture as on "any"
	RawIP                // LINKTYPE_RAW (101): the packet starts with the IP header
	Null                 // LINKTYPE_NULL (0): BSD loopback, 4-byte host-order family
)

func (l Link) linkType() layers.LinkType {
	switch l {
	case LinuxSLL:
		return layers.LinkTypeLinuxSLL
	case RawIP:
		return layers.LinkTypeRaw
	case Null:
		return layers.LinkTypeNull
	}
	return layers.LinkTypeEthernet
}

// DefaultStart is the capture time of the first packet unless
// [Capture.Start] is changed: 2024-05-01T10:00:00Z.
var DefaultStart = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

// Capture is an ordered list of packets under construction. Its exported
// fields may be changed any time before the file is written.
type Capture struct {
	// Link is the link-layer type of every packet (default Ethernet).
	Link Link
	// Snaplen, if positive, cuts every packet to that many bytes, as a
	// capture with tcpdump -s would; the original length is kept.
	Snaplen int
	// Start is the time of the first packet (default DefaultStart).
	Start time.Time
	// Step is the time between consecutive packets (default 1ms).
	Step time.Duration

	pkts  []*pkt
	conns []*Conn
	pause time.Duration
	err   error
}

// NewCapture returns an empty Ethernet capture starting at [DefaultStart]
// with one packet per millisecond.
func NewCapture() *Capture {
	return &Capture{Start: DefaultStart, Step: time.Millisecond}
}

// Pause adds d to the time before the next packet, on top of Step.
func (c *Capture) Pause(d time.Duration) { c.pause += d }

// Len returns the number of packets so far.
func (c *Capture) Len() int { return len(c.pkts) }

// Err returns the first misuse recorded while building (such as endpoints
// of different address families), which PcapNG and Pcap also return.
func (c *Capture) Err() error { return c.err }

func (c *Capture) fail(err error) {
	if c.err == nil {
		c.err = err
	}
}

// pkt is one TCP segment in capture order.
type pkt struct {
	conn    *Conn
	dir     Dir
	flags   uint8
	seq     uint32
	ack     uint32
	payload []byte
	mss     bool // SYN option
	ipid    uint16
	delay   time.Duration
}

const (
	fFIN = 1 << iota
	fSYN
	fRST
	fPSH
	fACK
)

func (c *Capture) add(p *pkt) {
	p.delay = c.pause
	c.pause = 0
	c.pkts = append(c.pkts, p)
}

// Dir is a direction of travel on a connection.
type Dir uint8

const (
	C2S Dir = 0 // client to server (the TCP originator)
	S2C Dir = 1 // server to client
)

// Conn is one TCP connection of a Capture. The client is the side that
// would send the SYN.
type Conn struct {
	// MSS is the largest payload of one segment (default 1460).
	MSS int
	// Window is the advertised receive window (default 64240).
	Window uint16
	// AutoAck makes the peer answer every data write with a bare ACK, as
	// real stacks do (default false: fewer packets).
	AutoAck bool

	cap  *Capture
	addr [2]netip.AddrPort
	mac  [2]net.HardwareAddr
	isn  [2]uint32
	next [2]uint32 // next sequence number to send
	ipid [2]uint16
}

// NewConn adds a connection from client to server. Both must be of the same
// address family. The initial sequence numbers are derived from the
// endpoints, so they are stable; the connection starts established (as if
// picked up mid-stream) unless [Conn.Open] is called first.
func (c *Capture) NewConn(client, server netip.AddrPort) *Conn {
	client = netip.AddrPortFrom(client.Addr().Unmap(), client.Port())
	server = netip.AddrPortFrom(server.Addr().Unmap(), server.Port())
	if client.Addr().Is4() != server.Addr().Is4() || !client.Addr().IsValid() || !server.Addr().IsValid() {
		c.fail(fmt.Errorf("new conn %v -> %v: endpoints must be valid and of one address family", client, server))
	}
	k := &Conn{MSS: 1460, Window: 64240, cap: c, addr: [2]netip.AddrPort{client, server}}
	for d := range 2 {
		k.isn[d] = isn(k.addr[d], k.addr[1-d])
		k.next[d] = k.isn[d] + 1
		k.mac[d] = macOf(k.addr[d].Addr())
		k.ipid[d] = uint16(k.isn[d] >> 16)
	}
	c.conns = append(c.conns, k)
	return k
}

func isn(a, b netip.AddrPort) uint32 {
	h := fnv.New32a()
	ab, _ := a.MarshalBinary()
	bb, _ := b.MarshalBinary()
	h.Write(ab)
	h.Write([]byte{'>'})
	h.Write(bb)
	return h.Sum32()
}

func macOf(a netip.Addr) net.HardwareAddr {
	b := a.AsSlice()
	b = b[len(b)-4:]
	return net.HardwareAddr{0x02, 0x00, b[0], b[1], b[2], b[3]}
}

// Addr returns the client (C2S) or server (S2C) endpoint.
func (k *Conn) Addr(d Dir) netip.AddrPort { return k.addr[d&1] }

// ISN returns the initial sequence number of the sender of direction d.
func (k *Conn) ISN(d Dir) uint32 { return k.isn[d&1] }

// NextSeq returns the sequence number the next segment in direction d
// will carry.
func (k *Conn) NextSeq(d Dir) uint32 { return k.next[d&1] }

func (k *Conn) segment(d Dir, flags uint8, seq uint32, payload []byte) *pkt {
	d &= 1
	p := &pkt{conn: k, dir: d, flags: flags, seq: seq, payload: payload, ipid: k.ipid[d]}
	k.ipid[d]++
	if flags&fACK != 0 {
		p.ack = k.next[1-d]
	}
	k.cap.add(p)
	return p
}

// Open writes the three-way handshake: SYN, SYN-ACK, ACK. The SYNs carry
// an MSS option.
func (k *Conn) Open() {
	k.segment(C2S, fSYN, k.isn[0], nil).mss = true
	k.segment(S2C, fSYN|fACK, k.isn[1], nil).mss = true
	k.segment(C2S, fACK, k.next[0], nil)
}

// Ack writes a bare ACK in direction d.
func (k *Conn) Ack(d Dir) { k.segment(d, fACK, k.next[d&1], nil) }

// Fin writes a FIN (with ACK) in direction d. It takes one sequence number.
func (k *Conn) Fin(d Dir) {
	d &= 1
	k.segment(d, fFIN|fACK, k.next[d], nil)
	k.next[d]++
}

// Reset writes a RST (with ACK) in direction d.
func (k *Conn) Reset(d Dir) { k.segment(d, fRST|fACK, k.next[d&1], nil) }

// Close writes the usual teardown: FIN from the client, FIN from the
// server, and the client's final ACK.
func (k *Conn) Close() {
	k.Fin(C2S)
	k.Fin(S2C)
	k.Ack(C2S)
}

// Client writes data from client to server; see [Conn.Write].
func (k *Conn) Client(data []byte, opts ...Opt) { k.Write(C2S, data, opts...) }

// Server writes data from server to client; see [Conn.Write].
func (k *Conn) Server(data []byte, opts ...Opt) { k.Write(S2C, data, opts...) }

// Write appends the segments of one application write in direction d,
// following the segmentation plan. The last segment of the write carries
// PSH. Sequence numbers advance by len(data) whatever the plan drops.
func (k *Conn) Write(d Dir, data []byte, opts ...Opt) {
	d &= 1
	if len(data) == 0 {
		return
	}
	var pl plan
	for _, o := range opts {
		o(&pl)
	}
	segs, err := pl.segments(len(data), k.MSS)
	if err != nil {
		k.cap.fail(fmt.Errorf("write %d bytes: %w", len(data), err))
		return
	}
	base := k.next[d]
	last := segs.pieces[len(segs.pieces)-1]
	for _, r := range segs.order {
		flags := uint8(fACK)
		if r.end == last.end {
			flags |= fPSH
		}
		b := bytes.Clone(data[r.off:r.end])
		k.segment(d, flags, base+uint32(r.off), b)
	}
	k.next[d] = base + uint32(len(data))
	if k.AutoAck {
		k.Ack(1 - d)
	}
}

// Packet is one link-layer frame with its capture metadata.
type Packet struct {
	Info gopacket.CaptureInfo
	Data []byte
}

// Packets serialises every packet in capture order. The result is what
// PcapNG and Pcap write.
func (c *Capture) Packets() ([]Packet, error) {
	if c.err != nil {
		return nil, c.err
	}
	out := make([]Packet, 0, len(c.pkts))
	t := c.Start
	if t.IsZero() {
		t = DefaultStart
	}
	for i, p := range c.pkts {
		if i > 0 {
			t = t.Add(c.Step)
		}
		t = t.Add(p.delay)
		b, err := c.serialize(p)
		if err != nil {
			return nil, fmt.Errorf("serialize packet %d: %w", i+1, err)
		}
		n := len(b)
		if c.Snaplen > 0 && len(b) > c.Snaplen {
			b = b[:c.Snaplen]
		}
		out = append(out, Packet{
			Info: gopacket.CaptureInfo{Timestamp: t, CaptureLength: len(b), Length: n},
			Data: b,
		})
	}
	return out, nil
}

func (c *Capture) serialize(p *pkt) ([]byte, error) {
	k := p.conn
	src, dst := k.addr[p.dir], k.addr[1-p.dir]
	tcp := &layers.TCP{
		SrcPort: layers.TCPPort(src.Port()),
		DstPort: layers.TCPPort(dst.Port()),
		Seq:     p.seq,
		Ack:     p.ack,
		FIN:     p.flags&fFIN != 0,
		SYN:     p.flags&fSYN != 0,
		RST:     p.flags&fRST != 0,
		PSH:     p.flags&fPSH != 0,
		ACK:     p.flags&fACK != 0,
		Window:  k.Window,
	}
	if p.mss {
		mss := make([]byte, 2)
		binary.BigEndian.PutUint16(mss, uint16(min(k.MSS, 0xffff)))
		tcp.Options = []layers.TCPOption{{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: mss}}
	}
	var ip gopacket.SerializableLayer
	var etype layers.EthernetType
	var family layers.ProtocolFamily
	if src.Addr().Is4() {
		ip4 := &layers.IPv4{
			Version: 4, IHL: 5, TTL: 64, Id: p.ipid, Flags: layers.IPv4DontFragment,
			Protocol: layers.IPProtocolTCP, SrcIP: src.Addr().AsSlice(), DstIP: dst.Addr().AsSlice(),
		}
		if err := tcp.SetNetworkLayerForChecksum(ip4); err != nil {
			return nil, err
		}
		ip, etype, family = ip4, layers.EthernetTypeIPv4, layers.ProtocolFamilyIPv4
	} else {
		ip6 := &layers.IPv6{
			Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP,
			SrcIP: src.Addr().AsSlice(), DstIP: dst.Addr().AsSlice(),
		}
		if err := tcp.SetNetworkLayerForChecksum(ip6); err != nil {
			return nil, err
		}
		ip, etype, family = ip6, layers.EthernetTypeIPv6, layers.ProtocolFamilyIPv6BSD
	}
	ls := make([]gopacket.SerializableLayer, 0, 4)
	switch c.Link {
	case Ethernet:
		ls = append(ls, &layers.Ethernet{SrcMAC: k.mac[p.dir], DstMAC: k.mac[1-p.dir], EthernetType: etype})
	case Null:
		ls = append(ls, &layers.Loopback{Family: family})
	case LinuxSLL, RawIP:
	default:
		return nil, errors.New("unknown link type")
	}
	ls = append(ls, ip, tcp, gopacket.Payload(p.payload))
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		return nil, err
	}
	if c.Link == LinuxSLL {
		// gopacket has no LinuxSLL serializer; the header is 16 bytes.
		h, err := buf.PrependBytes(16)
		if err != nil {
			return nil, err
		}
		typ := uint16(4) // LINUX_SLL_OUTGOING
		if p.dir == S2C {
			typ = 0 // LINUX_SLL_HOST
		}
		binary.BigEndian.PutUint16(h[0:], typ)
		binary.BigEndian.PutUint16(h[2:], 1) // ARPHRD_ETHER
		binary.BigEndian.PutUint16(h[4:], 6)
		copy(h[6:12], k.mac[p.dir])
		h[12], h[13] = 0, 0 // the address field is 8 bytes
		binary.BigEndian.PutUint16(h[14:], uint16(etype))
	}
	return bytes.Clone(buf.Bytes()), nil
}

// PcapNG returns the capture as a little-endian pcapng file with one
// section and one interface (nanosecond timestamps).
func (c *Capture) PcapNG() ([]byte, error) {
	pkts, err := c.Packets()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	intf := pcapgo.NgInterface{
		Name:                "flowgen0",
		LinkType:            c.Link.linkType(),
		SnapLength:          uint32(max(c.Snaplen, 0)),
		TimestampResolution: 9,
	}
	w, err := pcapgo.NewNgWriterInterface(&b, intf, pcapgo.NgWriterOptions{
		SectionInfo: pcapgo.NgSectionInfo{Application: "wscap flowgen"},
	})
	if err != nil {
		return nil, fmt.Errorf("write pcapng header: %w", err)
	}
	for i, p := range pkts {
		if err := w.WritePacket(p.Info, p.Data); err != nil {
			return nil, fmt.Errorf("write packet %d: %w", i+1, err)
		}
	}
	if err := w.Flush(); err != nil {
		return nil, fmt.Errorf("flush pcapng: %w", err)
	}
	return b.Bytes(), nil
}

// Pcap returns the capture as a classic libpcap file, with microsecond
// timestamps, or nanosecond ones (magic a1b23c4d) when nanos is true.
func (c *Capture) Pcap(nanos bool) ([]byte, error) {
	pkts, err := c.Packets()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	var w *pcapgo.Writer
	if nanos {
		w = pcapgo.NewWriterNanos(&b)
	} else {
		w = pcapgo.NewWriter(&b)
	}
	snap := uint32(262144)
	if c.Snaplen > 0 {
		snap = uint32(c.Snaplen)
	}
	if err := w.WriteFileHeader(snap, c.Link.linkType()); err != nil {
		return nil, fmt.Errorf("write pcap header: %w", err)
	}
	for i, p := range pkts {
		if err := w.WritePacket(p.Info, p.Data); err != nil {
			return nil, fmt.Errorf("write packet %d: %w", i+1, err)
		}
	}
	return b.Bytes(), nil
}

// Drain serialises the packets built so far, as [Capture.Packets] does,
// and removes them from c. The connections carry on where they were
// (sequence numbers, IP ids), and the next packet comes Step after the
// last one drained. It lets a generator write a capture too large to hold
// in memory one batch at a time.
func (c *Capture) Drain() ([]Packet, error) {
	out, err := c.Packets()
	if err != nil {
		return nil, err
	}
	if n := len(out); n > 0 {
		c.Start = out[n-1].Info.Timestamp.Add(c.Step)
		clear(c.pkts)
		c.pkts = c.pkts[:0]
	}
	return out, nil
}

// SourcePackets returns the packets of c as a source.Reader of its file
// would (for tests that feed a pipeline or an engine directly).
func (c *Capture) SourcePackets() ([]source.Packet, error) {
	raw, err := c.Packets()
	if err != nil {
		return nil, err
	}
	out := make([]source.Packet, len(raw))
	for i, p := range raw {
		out[i] = source.Packet{Data: p.Data, Time: p.Info.Timestamp, CapLen: p.Info.CaptureLength, Len: p.Info.Length, LinkType: c.Link.linkType()}
	}
	return out, nil
}
