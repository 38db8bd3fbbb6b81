package reassembly

import (
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/wscap/wscap/source"
)

// decodeResult says what layer decoding made of a packet.
type decodeResult uint8

const (
	resTCP         decodeResult = iota // a TCP segment: see the layers
	resNonTCP                          // decoded, but not TCP (ARP, UDP, ICMP...)
	resFragment                        // an IP fragment (not reassembled)
	resUndecodable                     // a header could not be decoded
	resUnsupported                     // the link type has no parser
)

// linkDecoder decodes link, network and transport headers into
// preallocated layers, with one DecodingLayerParser per first layer. All
// parsers share the same layer values: the innermost IP header (after
// GTP-U or VXLAN decapsulation) is the one left in ip4/ip6.
type linkDecoder struct {
	eth   layers.Ethernet
	dot1q layers.Dot1Q
	sll   layers.LinuxSLL
	sll2  layers.LinuxSLL2
	lo    layers.Loopback
	ip4   layers.IPv4
	ip6   layers.IPv6
	ext   layers.IPv6ExtensionSkipper
	frag  layers.IPv6Fragment
	tcp   layers.TCP
	udp   layers.UDP
	gtp   layers.GTPv1U
	vxlan layers.VXLAN
	pay   gopacket.Payload

	eth1, sll1, sll21, lo1, ip41, ip61 *gopacket.DecodingLayerParser

	decoded []gopacket.LayerType

	// Set by decode for resTCP.
	src, dst  netip.Addr
	ipStart   int // offset of the innermost IP header in the packet data
	ipDeclare int // total length the innermost IP header declares (0: unknown)
}

func newLinkDecoder() *linkDecoder {
	d := &linkDecoder{decoded: make([]gopacket.LayerType, 0, 16)}
	all := []gopacket.DecodingLayer{
		&d.eth, &d.dot1q, &d.sll, &d.sll2, &d.lo, &d.ip4, &d.ip6,
		&d.ext, &d.frag, // frag after ext: it takes LayerTypeIPv6Fragment over
		&d.tcp, &d.udp, &d.gtp, &d.vxlan, &d.pay,
	}
	mk := func(first gopacket.LayerType) *gopacket.DecodingLayerParser {
		var dlc gopacket.DecodingLayerContainer = gopacket.DecodingLayerSparse(nil)
		for _, l := range all {
			dlc = dlc.Put(l)
		}
		p := gopacket.NewDecodingLayerParser(first)
		p.SetDecodingLayerContainer(dlc)
		p.IgnoreUnsupported = true
		return p
	}
	d.eth1 = mk(layers.LayerTypeEthernet)
	d.sll1 = mk(layers.LayerTypeLinuxSLL)
	d.sll21 = mk(layers.LayerTypeLinuxSLL2)
	d.lo1 = mk(layers.LayerTypeLoopback)
	d.ip41 = mk(layers.LayerTypeIPv4)
	d.ip61 = mk(layers.LayerTypeIPv6)
	return d
}

// parser returns the parser for a packet of link type lt, or nil.
func (d *linkDecoder) parser(lt layers.LinkType, data []byte) *gopacket.DecodingLayerParser {
	switch lt {
	case layers.LinkTypeEthernet:
		return d.eth1
	case layers.LinkTypeLinuxSLL:
		return d.sll1
	case layers.LinkTypeLinuxSLL2:
		return d.sll21
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		return d.lo1
	case layers.LinkTypeIPv4:
		return d.ip41
	case layers.LinkTypeIPv6:
		return d.ip61
	case layers.LinkTypeRaw, 12, 14:
		if len(data) > 0 && data[0]>>4 == 6 {
			return d.ip61
		}
		return d.ip41
	}
	return nil
}

// decode decodes p's headers. For resTCP, d.tcp holds the segment and
// d.src/d.dst its addresses. Panics inside gopacket are recovered and
// reported as resUndecodable.
func (d *linkDecoder) decode(p *source.Packet) (res decodeResult, truncated bool) {
	parser := d.parser(p.LinkType, p.Data)
	if parser == nil {
		return resUnsupported, false
	}
	defer func() {
		if recover() != nil {
			res, truncated = resUndecodable, false
		}
	}()
	err := parser.DecodeLayers(p.Data, &d.decoded)
	truncated = parser.Truncated
	var (
		net  gopacket.LayerType
		tcp  bool
		frag bool
	)
	for _, t := range d.decoded {
		switch t {
		case layers.LayerTypeIPv4:
			net = t
			frag = d.ip4.Flags&layers.IPv4MoreFragments != 0 || d.ip4.FragOffset != 0
		case layers.LayerTypeIPv6:
			net = t
			frag = false
		case layers.LayerTypeIPv6Fragment:
			frag = d.frag.FragmentOffset != 0 || d.frag.MoreFragments
		case layers.LayerTypeTCP:
			tcp = true
		}
	}
	switch {
	case frag:
		return resFragment, truncated
	case tcp && net != 0:
	case err != nil:
		return resUndecodable, truncated
	default:
		return resNonTCP, truncated
	}
	var contents []byte
	if net == layers.LayerTypeIPv4 {
		if len(d.ip4.SrcIP) != 4 || len(d.ip4.DstIP) != 4 {
			return resUndecodable, truncated
		}
		d.src = netip.AddrFrom4([4]byte(d.ip4.SrcIP))
		d.dst = netip.AddrFrom4([4]byte(d.ip4.DstIP))
		contents = d.ip4.Contents
		d.ipDeclare = int(d.ip4.Length)
	} else {
		if len(d.ip6.SrcIP) != 16 || len(d.ip6.DstIP) != 16 {
			return resUndecodable, truncated
		}
		d.src = netip.AddrFrom16([16]byte(d.ip6.SrcIP))
		d.dst = netip.AddrFrom16([16]byte(d.ip6.DstIP))
		contents = d.ip6.Contents
		d.ipDeclare = 0
		if d.ip6.Length != 0 {
			d.ipDeclare = 40 + int(d.ip6.Length)
		}
	}
	// contents and p.Data share their backing array and its end, so the
	// difference of the capacities is the offset of the IP header.
	d.ipStart = cap(p.Data) - cap(contents)
	if d.ipStart < 0 || d.ipStart > len(p.Data) {
		d.ipStart, d.ipDeclare = 0, 0
	}
	return resTCP, truncated
}

// missing returns how many bytes of the current TCP segment's payload the
// capture cut off (snap length). It trusts the IP length only as far as the
// record says bytes were cut.
func (d *linkDecoder) missing(p *source.Packet) int {
	if p.CapLen >= p.Len || d.ipDeclare == 0 {
		return 0
	}
	m := d.ipDeclare - (len(p.Data) - d.ipStart)
	if cut := p.Len - p.CapLen; m > cut {
		m = cut
	}
	if m < 0 {
		return 0
	}
	return m
}
