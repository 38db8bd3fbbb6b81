package reassembly

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/wscap/wscap/source"
)

func serialize(t *testing.T, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }

// TestLinkDecode checks every supported encapsulation down to TCP.
func TestLinkDecode(t *testing.T) {
	v4s, v4d := netip.MustParseAddrPort("192.0.2.1:1234"), netip.MustParseAddrPort("192.0.2.2:80")
	v6s, v6d := netip.MustParseAddrPort("[2001:db8::1]:1234"), netip.MustParseAddrPort("[2001:db8::2]:80")
	tcp := func() *layers.TCP {
		return &layers.TCP{SrcPort: 1234, DstPort: 80, Seq: 1, ACK: true, PSH: true, Window: 1}
	}
	ip4 := serializeIP(t, v4s, v4d, tcp(), []byte("payload"))
	ip6 := serializeIP(t, v6s, v6d, tcp(), []byte("payload"))
	mac1, mac2 := net.HardwareAddr{2, 0, 0, 0, 0, 1}, net.HardwareAddr{2, 0, 0, 0, 0, 2}
	eth := func(typ layers.EthernetType) *layers.Ethernet {
		return &layers.Ethernet{SrcMAC: mac1, DstMAC: mac2, EthernetType: typ}
	}

	// IPv6 with a destination options header before TCP.
	ip6ext := cat(ip6[:40], []byte{6, 0, 1, 4, 0, 0, 0, 0}, ip6[40:])
	ip6ext[6] = 60
	binary.BigEndian.PutUint16(ip6ext[4:6], binary.BigEndian.Uint16(ip6[4:6])+8)

	// GTP-U (UDP port 2152) carrying the IPv4 packet.
	gtp := cat([]byte{0x30, 0xff}, be16(uint16(len(ip4))), []byte{0, 0, 0, 7}, ip4)
	gtpPkt := serialize(t, eth(layers.EthernetTypeIPv4),
		&layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IP{198, 51, 100, 1}, DstIP: net.IP{198, 51, 100, 2}},
		&layers.UDP{SrcPort: 2152, DstPort: 2152}, gopacket.Payload(gtp))
	// VXLAN (UDP port 4789) carrying an Ethernet frame.
	inner := serialize(t, eth(layers.EthernetTypeIPv6), gopacket.Payload(ip6))
	vx := cat([]byte{8, 0, 0, 0, 0, 0, 42, 0}, inner)
	vxPkt := serialize(t, eth(layers.EthernetTypeIPv4),
		&layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IP{198, 51, 100, 1}, DstIP: net.IP{198, 51, 100, 2}},
		&layers.UDP{SrcPort: 50000, DstPort: 4789}, gopacket.Payload(vx))

	// An IPv4 fragment (more fragments set).
	frag := append([]byte(nil), ip4...)
	frag[6] |= 0x20
	// A UDP datagram (DNS).
	udp := serialize(t, eth(layers.EthernetTypeIPv4),
		&layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IP{192, 0, 2, 1}, DstIP: net.IP{192, 0, 2, 2}},
		&layers.UDP{SrcPort: 5353, DstPort: 53}, gopacket.Payload([]byte{1, 2, 3, 4}))
	// An IPv4 header with IHL 3.
	bad := append([]byte(nil), ip4...)
	bad[0] = 0x43

	le32 := func(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
	sll := cat(be16(0), be16(1), be16(6), mac1, []byte{0, 0}, be16(0x0800), ip4)
	sll2 := cat(be16(0x86dd), be16(0), []byte{0, 0, 0, 3}, be16(1), []byte{0, 6}, mac1, []byte{0, 0}, ip6)

	tests := []struct {
		name string
		lt   layers.LinkType
		data []byte
		res  decodeResult
		v6   bool
	}{
		{"ethernet", layers.LinkTypeEthernet, serialize(t, eth(layers.EthernetTypeIPv4), gopacket.Payload(ip4)), resTCP, false},
		{"ethernet ipv6", layers.LinkTypeEthernet, serialize(t, eth(layers.EthernetTypeIPv6), gopacket.Payload(ip6)), resTCP, true},
		{"802.1Q", layers.LinkTypeEthernet, serialize(t, eth(layers.EthernetTypeDot1Q), &layers.Dot1Q{VLANIdentifier: 5, Type: layers.EthernetTypeIPv4}, gopacket.Payload(ip4)), resTCP, false},
		{"QinQ", layers.LinkTypeEthernet, serialize(t, eth(layers.EthernetTypeQinQ), &layers.Dot1Q{VLANIdentifier: 5, Type: layers.EthernetTypeDot1Q}, &layers.Dot1Q{VLANIdentifier: 6, Type: layers.EthernetTypeIPv6}, gopacket.Payload(ip6)), resTCP, true},
		{"linux SLL", layers.LinkTypeLinuxSLL, sll, resTCP, false},
		{"linux SLL2", layers.LinkTypeLinuxSLL2, sll2, resTCP, true},
		{"null ipv4", layers.LinkTypeNull, cat(le32(2), ip4), resTCP, false},
		{"null ipv6 (darwin)", layers.LinkTypeNull, cat(le32(30), ip6), resTCP, true},
		{"loop", layers.LinkTypeLoop, cat(binary.BigEndian.AppendUint32(nil, 2), ip4), resTCP, false},
		{"raw ipv4", layers.LinkTypeRaw, ip4, resTCP, false},
		{"raw ipv6", layers.LinkTypeRaw, ip6, resTCP, true},
		{"raw 12", 12, ip6, resTCP, true},
		{"ipv4 link", layers.LinkTypeIPv4, ip4, resTCP, false},
		{"ipv6 link", layers.LinkTypeIPv6, ip6, resTCP, true},
		{"ipv6 extension header", layers.LinkTypeIPv6, ip6ext, resTCP, true},
		{"GTP-U", layers.LinkTypeEthernet, gtpPkt, resTCP, false},
		{"VXLAN", layers.LinkTypeEthernet, vxPkt, resTCP, true},
		{"ipv4 fragment", layers.LinkTypeRaw, frag, resFragment, false},
		{"udp", layers.LinkTypeEthernet, udp, resNonTCP, false},
		{"bad ip header", layers.LinkTypeRaw, bad, resUndecodable, false},
		{"empty", layers.LinkTypeEthernet, nil, resUndecodable, false},
		{"unsupported link", 189, ip4, resUnsupported, false},
	}
	d := newLinkDecoder()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := source.Packet{Data: tt.data, CapLen: len(tt.data), Len: len(tt.data), LinkType: tt.lt}
			res, _ := d.decode(&p)
			if res != tt.res {
				t.Fatalf("result %d, want %d (decoded %v)", res, tt.res, d.decoded)
			}
			if res != resTCP {
				return
			}
			src, dst := v4s, v4d
			if tt.v6 {
				src, dst = v6s, v6d
			}
			if d.src != src.Addr() || d.dst != dst.Addr() || uint16(d.tcp.SrcPort) != src.Port() || uint16(d.tcp.DstPort) != dst.Port() {
				t.Errorf("got %v:%d -> %v:%d", d.src, d.tcp.SrcPort, d.dst, d.tcp.DstPort)
			}
			if string(d.tcp.Payload) != "payload" {
				t.Errorf("payload %q", d.tcp.Payload)
			}
			if m := d.missing(&p); m != 0 {
				t.Errorf("missing %d", m)
			}
			if tt.name == "GTP-U" {
				return // gopacket's GTP-U layer rejects a cut packet
			}
			// Cut by the snap length: the missing payload bytes are known.
			p.Data = p.Data[:len(p.Data)-3]
			p.CapLen -= 3
			if res, _ := d.decode(&p); res != resTCP {
				t.Fatalf("cut packet: result %d", res)
			}
			if m := d.missing(&p); m != 3 {
				t.Errorf("cut packet: missing %d, want 3", m)
			}
		})
	}
}

// TestSupportedLinkTypes checks that every link type the source accepts
// has a parser.
func TestSupportedLinkTypes(t *testing.T) {
	d := newLinkDecoder()
	for _, lt := range source.SupportedLinkTypes() {
		if d.parser(lt, []byte{0x45}) == nil {
			t.Errorf("no parser for %v (%d)", lt, int(lt))
		}
	}
}

// FuzzLinkDecode checks that no input makes layer decoding panic.
func FuzzLinkDecode(f *testing.F) {
	f.Add(uint8(1), []byte{})
	f.Add(uint8(101), []byte{0x45, 0, 0, 20})
	f.Add(uint8(113), make([]byte, 20))
	f.Fuzz(func(t *testing.T, lt uint8, data []byte) {
		d := newLinkDecoder()
		for _, l := range []layers.LinkType{layers.LinkType(lt), layers.LinkTypeEthernet, layers.LinkTypeRaw, layers.LinkTypeLinuxSLL2} {
			p := source.Packet{Data: data, CapLen: len(data), Len: len(data) + 10, LinkType: l}
			if res, _ := d.decode(&p); res == resTCP {
				d.missing(&p)
			}
		}
	})
}
