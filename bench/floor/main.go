// Command floor is the speed floor wscap is measured against: it reads a
// pcap or pcapng file with pcapgo, decodes Ethernet/IPv4/IPv6/TCP with
// gopacket's DecodingLayerParser and reassembles TCP with gopacket's
// reassembly, whose streams only count the bytes they are given. It is
// built from the same gopacket version as wscap (see go.mod), as
// shared/research/perf-anchors.md describes.
//
// Usage: floor FILE
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	tcpasm "github.com/gopacket/gopacket/reassembly"
)

type ctx struct{ ci gopacket.CaptureInfo }

func (c *ctx) GetCaptureInfo() gopacket.CaptureInfo { return c.ci }

type stream struct{ n *int64 }

func (s stream) Accept(*layers.TCP, gopacket.CaptureInfo, tcpasm.TCPFlowDirection, tcpasm.Sequence, *bool, tcpasm.AssemblerContext) bool {
	return true
}
func (s stream) ReassembledSG(sg tcpasm.ScatterGather, _ tcpasm.AssemblerContext) {
	n, _ := sg.Lengths()
	*s.n += int64(n)
}
func (s stream) ReassemblyComplete(tcpasm.AssemblerContext) bool { return true }

type factory struct{ n int64 }

func (f *factory) New(_, _ gopacket.Flow, _ *layers.TCP, _ tcpasm.AssemblerContext) tcpasm.Stream {
	return stream{&f.n}
}

type reader interface {
	ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: floor FILE")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
	br := bufio.NewReaderSize(f, 1<<20)
	magic, _ := br.Peek(4)
	var r reader
	if len(magic) == 4 && magic[0] == 0x0a && magic[1] == 0x0d && magic[2] == 0x0d && magic[3] == 0x0a {
		r, err = pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
	} else {
		r, err = pcapgo.NewReader(br)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
	var (
		eth     layers.Ethernet
		ip4     layers.IPv4
		ip6     layers.IPv6
		tcp     layers.TCP
		payload gopacket.Payload
	)
	parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &ip4, &ip6, &tcp, &payload)
	parser.IgnoreUnsupported = true
	decoded := make([]gopacket.LayerType, 0, 8)
	fac := &factory{}
	asm := tcpasm.NewAssembler(tcpasm.NewStreamPool(fac))
	var c ctx
	start := time.Now()
	packets := 0
	for {
		data, ci, err := r.ZeroCopyReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "floor:", err)
			os.Exit(1)
		}
		packets++
		if err := parser.DecodeLayers(data, &decoded); err != nil {
			continue
		}
		var flow gopacket.Flow
		isTCP := false
		for _, t := range decoded {
			switch t {
			case layers.LayerTypeIPv4:
				flow = ip4.NetworkFlow()
			case layers.LayerTypeIPv6:
				flow = ip6.NetworkFlow()
			case layers.LayerTypeTCP:
				isTCP = true
			}
		}
		if !isTCP {
			continue
		}
		c.ci = ci
		asm.AssembleWithContext(flow, &tcp, &c)
	}
	asm.FlushAll()
	el := time.Since(start)
	fmt.Fprintf(os.Stderr, "floor: %d packets, %d TCP payload bytes reassembled, %.3f s\n", packets, fac.n, el.Seconds())
}
