package reassembly

import (
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/wscap/wscap/decode"
	"github.com/wscap/wscap/source"
)

// capture builds a list of packets (Ethernet/IP/TCP, serialized with
// gopacket and decoded again by the engine: a hand-built layers.TCP would
// have an empty TransportFlow).
type capture struct {
	t    testing.TB
	pkts []source.Packet
	t0   time.Time
	now  time.Time
	step time.Duration
}

func newCapture(t testing.TB) *capture {
	t0 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	return &capture{t: t, t0: t0, now: t0, step: time.Millisecond}
}

// tcpFlags are written "S", "SA", "A", "PA", "FA", "R", "RA".
func (c *capture) segment(src, dst netip.AddrPort, flags string, seq, ack uint32, payload []byte) *source.Packet {
	tcp := &layers.TCP{
		SrcPort: layers.TCPPort(src.Port()), DstPort: layers.TCPPort(dst.Port()),
		Seq: seq, Ack: ack, Window: 65535,
		SYN: strings.Contains(flags, "S"), ACK: strings.Contains(flags, "A"),
		FIN: strings.Contains(flags, "F"), RST: strings.Contains(flags, "R"),
		PSH: strings.Contains(flags, "P"),
	}
	data := serializeIP(c.t, src, dst, tcp, payload)
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	if src.Addr().Is6() {
		eth.EthernetType = layers.EthernetTypeIPv6
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{}, eth, gopacket.Payload(data)); err != nil {
		c.t.Fatal(err)
	}
	b := append([]byte(nil), buf.Bytes()...)
	c.pkts = append(c.pkts, source.Packet{Data: b, Time: c.now, CapLen: len(b), Len: len(b), LinkType: layers.LinkTypeEthernet})
	c.now = c.now.Add(c.step)
	return &c.pkts[len(c.pkts)-1]
}

// serializeIP returns IPv4 or IPv6 + TCP + payload with correct lengths
// and checksums.
func serializeIP(t testing.TB, src, dst netip.AddrPort, tcp *layers.TCP, payload []byte) []byte {
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	var err error
	if src.Addr().Is4() {
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP,
			SrcIP: src.Addr().AsSlice(), DstIP: dst.Addr().AsSlice()}
		tcp.SetNetworkLayerForChecksum(ip)
		err = gopacket.SerializeLayers(buf, opts, ip, tcp, gopacket.Payload(payload))
	} else {
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP,
			SrcIP: src.Addr().AsSlice(), DstIP: dst.Addr().AsSlice()}
		tcp.SetNetworkLayerForChecksum(ip)
		err = gopacket.SerializeLayers(buf, opts, ip, tcp, gopacket.Payload(payload))
	}
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

// flow is one TCP connection of a capture, with its next sequence numbers.
type flow struct {
	c        *capture
	cli, srv netip.AddrPort
	next     [2]uint32 // 0: client, 1: server
}

func (c *capture) flow(cli, srv string) *flow {
	f := &flow{c: c, cli: netip.MustParseAddrPort(cli), srv: netip.MustParseAddrPort(srv)}
	f.next = [2]uint32{1000, 5000}
	return f
}

func (f *flow) ends(d int) (netip.AddrPort, netip.AddrPort) {
	if d == 0 {
		return f.cli, f.srv
	}
	return f.srv, f.cli
}

// send sends payload from direction d (0 client, 1 server) at the next
// sequence number and advances it.
func (f *flow) send(d int, payload string) *source.Packet {
	return f.sendFlags(d, "PA", payload)
}

func (f *flow) sendFlags(d int, flags, payload string) *source.Packet {
	src, dst := f.ends(d)
	p := f.c.segment(src, dst, flags, f.next[d], f.next[d^1], []byte(payload))
	f.next[d] += uint32(len(payload))
	if strings.Contains(flags, "S") || strings.Contains(flags, "F") {
		f.next[d]++
	}
	return p
}

// at sends payload at an explicit sequence offset from the direction's
// current next sequence number, without advancing it.
func (f *flow) at(d int, off int, payload string) *source.Packet {
	src, dst := f.ends(d)
	return f.c.segment(src, dst, "PA", f.next[d]+uint32(off), f.next[d^1], []byte(payload))
}

func (f *flow) skip(d int, n int) { f.next[d] += uint32(n) }

func (f *flow) handshake() {
	f.sendFlags(0, "S", "")
	f.sendFlags(1, "SA", "")
	f.sendFlags(0, "A", "")
}

func (f *flow) close() {
	f.sendFlags(0, "FA", "")
	f.sendFlags(1, "FA", "")
	f.sendFlags(0, "A", "")
}

// recorder records the decoder calls the engine makes, as strings.
type recorder struct {
	calls []string
	data  map[int]*[2]strings.Builder
}

func record(t *testing.T) *recorder {
	r := &recorder{data: map[int]*[2]strings.Builder{}}
	testHook = func(h hookCall) {
		switch h.Op {
		case opNew:
			r.calls = append(r.calls, fmt.Sprintf("new %d side0=%v side1=%v syn=%v", h.Conn, h.Meta.Addr[0], h.Meta.Addr[1], h.Meta.SynOK))
		case opFeed:
			r.calls = append(r.calls, fmt.Sprintf("feed %d s%d %q @%d", h.Conn, h.Side, h.Data, h.Seg.Packet))
			if r.data[h.Conn] == nil {
				r.data[h.Conn] = new([2]strings.Builder)
			}
			r.data[h.Conn][h.Side].Write(h.Data)
		case opGap:
			r.calls = append(r.calls, fmt.Sprintf("gap %d s%d %d @%d", h.Conn, h.Side, h.N, h.Seg.Packet))
		case opEnd:
			r.calls = append(r.calls, fmt.Sprintf("end %d s%d @%d", h.Conn, h.Side, h.Seg.Packet))
		case opClose:
			r.calls = append(r.calls, fmt.Sprintf("close %d @%d", h.Conn, h.Seg.Packet))
		}
	}
	testNoIdle = true
	t.Cleanup(func() { testHook, testNoIdle = nil, false })
	return r
}

func (r *recorder) stream(conn int, side decode.Side) string {
	if r.data[conn] == nil {
		return ""
	}
	return r.data[conn][side].String()
}

// run feeds the packets to a new engine and flushes it; it returns the
// events the sink saw (cloned).
func run(t testing.TB, cfg Config, pkts []source.Packet) ([]decode.Event, *Engine) {
	var evs []decode.Event
	e := New(cfg, func(b []decode.Event) error {
		for _, ev := range b {
			evs = append(evs, ev.Clone())
		}
		return nil
	})
	for i, p := range pkts {
		if err := e.Packet(i+1, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	return evs, e
}

func diffLines(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") == strings.Join(want, "\n") {
		return
	}
	t.Errorf("calls differ\n--- got\n%s\n--- want\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
}

// WebSocket helpers for end-to-end tests.

const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

func wsAccept(key string) string {
	h := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

func upgradeRequest(key string) string {
	return "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n\r\n"
}

func upgradeResponse(key string) string {
	return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + wsAccept(key) + "\r\n\r\n"
}

// wsFrame encodes a FIN frame; masked frames use a fixed key.
func wsFrame(op byte, masked bool, payload string) string {
	b := []byte{0x80 | op}
	n := len(payload)
	var m byte
	if masked {
		m = 0x80
	}
	switch {
	case n < 126:
		b = append(b, m|byte(n))
	case n < 65536:
		b = append(b, m|126, byte(n>>8), byte(n))
	default:
		b = append(b, m|127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	p := []byte(payload)
	if masked {
		key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
		b = append(b, key[:]...)
		for i := range p {
			p[i] ^= key[i&3]
		}
	}
	return string(append(b, p...))
}
