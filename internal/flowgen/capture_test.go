package flowgen

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// seg is a decoded TCP segment, for comparisons.
type seg struct {
	src, dst netip.AddrPort
	flags    string
	seq, ack uint32
	payload  string
}

func flagString(t *layers.TCP) string {
	s := ""
	for _, f := range []struct {
		on bool
		c  string
	}{{t.SYN, "S"}, {t.FIN, "F"}, {t.RST, "R"}, {t.PSH, "P"}, {t.ACK, "A"}} {
		if f.on {
			s += f.c
		}
	}
	return s
}

// readSegments reads a pcap or pcapng file back with pcapgo and decodes
// every packet with gopacket, failing on decode errors and bad checksums.
func readSegments(t *testing.T, file []byte) ([]seg, []gopacket.CaptureInfo) {
	t.Helper()
	var src interface {
		ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	}
	var lt layers.LinkType
	if bytes.HasPrefix(file, []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		r, err := pcapgo.NewNgReader(bytes.NewReader(file), pcapgo.DefaultNgReaderOptions)
		if err != nil {
			t.Fatal(err)
		}
		src, lt = r, r.LinkType()
	} else {
		r, err := pcapgo.NewReader(bytes.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		src, lt = r, r.LinkType()
	}
	var segs []seg
	var cis []gopacket.CaptureInfo
	for i := 1; ; i++ {
		data, ci, err := src.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		p := gopacket.NewPacket(data, lt, gopacket.Default)
		if el := p.ErrorLayer(); el != nil && ci.CaptureLength == ci.Length {
			t.Fatalf("packet %d: %v", i, el.Error())
		}
		tl, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if tl == nil {
			t.Fatalf("packet %d: no TCP layer in %v", i, p)
		}
		if ci.CaptureLength == ci.Length {
			if err := tl.SetNetworkLayerForChecksum(p.NetworkLayer()); err != nil {
				t.Fatal(err)
			}
			err, res := tl.VerifyChecksum()
			if err != nil || !res.Valid {
				t.Fatalf("packet %d: TCP checksum: %v %+v", i, err, res)
			}
			if ip4, ok := p.NetworkLayer().(*layers.IPv4); ok {
				if err, res := ip4.VerifyChecksum(); err != nil || !res.Valid {
					t.Fatalf("packet %d: IPv4 checksum: %v %+v", i, err, res)
				}
			}
		}
		var s, d netip.Addr
		switch ip := p.NetworkLayer().(type) {
		case *layers.IPv4:
			s, _ = netip.AddrFromSlice(ip.SrcIP)
			d, _ = netip.AddrFromSlice(ip.DstIP)
		case *layers.IPv6:
			s, _ = netip.AddrFromSlice(ip.SrcIP)
			d, _ = netip.AddrFromSlice(ip.DstIP)
		}
		segs = append(segs, seg{
			src:     netip.AddrPortFrom(s.Unmap(), uint16(tl.SrcPort)),
			dst:     netip.AddrPortFrom(d.Unmap(), uint16(tl.DstPort)),
			flags:   flagString(tl),
			seq:     tl.Seq,
			ack:     tl.Ack,
			payload: string(tl.Payload),
		})
		cis = append(cis, ci)
	}
	return segs, cis
}

func TestConnSegments(t *testing.T) {
	cli, srv := ap("192.0.2.1:40000"), ap("192.0.2.2:80")
	c := NewCapture()
	k := c.NewConn(cli, srv)
	k.MSS = 4
	ci, si := k.ISN(C2S), k.ISN(S2C)
	k.Open()
	k.Client([]byte("hello world")) // 3 segments of MSS 4
	k.MSS = 1460
	k.Server([]byte("0123456789"), Every(5), Drop(0))              // seq jumps
	k.Client([]byte("abcdefgh"), Every(4), Swap(0), Retransmit(1)) // out of order, duplicate
	k.Server([]byte("xyz"), Bytewise(), Resend(1, 2))              // partial overlap
	k.Close()
	b, err := c.PcapNG()
	if err != nil {
		t.Fatal(err)
	}
	got, cis := readSegments(t, b)
	c2s := func(flags string, seq, ack uint32, p string) seg { return seg{cli, srv, flags, seq, ack, p} }
	s2c := func(flags string, seq, ack uint32, p string) seg { return seg{srv, cli, flags, seq, ack, p} }
	want := []seg{
		c2s("S", ci, 0, ""),
		s2c("SA", si, ci+1, ""),
		c2s("A", ci+1, si+1, ""),
		c2s("A", ci+1, si+1, "hell"),
		c2s("A", ci+5, si+1, "o wo"),
		c2s("PA", ci+9, si+1, "rld"),
		s2c("PA", si+6, ci+12, "56789"),
		c2s("A", ci+16, si+11, "efgh"),
		c2s("A", ci+12, si+11, "abcd"),
		c2s("A", ci+16, si+11, "efgh"),
		s2c("A", si+11, ci+20, "x"),
		s2c("A", si+12, ci+20, "y"),
		s2c("PA", si+13, ci+20, "z"),
		s2c("PA", si+12, ci+20, "yz"), // ends the write: PSH
		c2s("FA", ci+20, si+14, ""),
		s2c("FA", si+14, ci+21, ""),
		c2s("A", ci+21, si+15, ""),
	}
	// The last piece of "abcdefgh" carries PSH wherever it is sent.
	want[7].flags, want[9].flags = "PA", "PA"
	if len(got) != len(want) {
		t.Fatalf("%d packets, want %d:\n%+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("packet %d:\n got %+v\nwant %+v", i+1, got[i], want[i])
		}
	}
	for i, ci := range cis {
		if w := DefaultStart.Add(time.Duration(i) * time.Millisecond); !ci.Timestamp.Equal(w) {
			t.Errorf("packet %d at %v, want %v", i+1, ci.Timestamp, w)
		}
	}
}

func TestLinksAndFormats(t *testing.T) {
	for _, tt := range []struct {
		name     string
		link     Link
		cli, srv string
		format   Format
	}{
		{"ethernet v4", Ethernet, "192.0.2.1:1000", "192.0.2.2:80", PcapNG},
		{"ethernet v6", Ethernet, "[2001:db8::1]:1000", "[2001:db8::2]:80", PcapNG},
		{"sll v4", LinuxSLL, "192.0.2.1:1000", "192.0.2.2:80", PcapNG},
		{"sll v6 pcap", LinuxSLL, "[2001:db8::1]:1000", "[2001:db8::2]:80", Pcap},
		{"raw v4", RawIP, "192.0.2.1:1000", "192.0.2.2:80", PcapNG},
		{"raw v6", RawIP, "[2001:db8::1]:1000", "[2001:db8::2]:80", PcapNanos},
		{"null v4", Null, "127.0.0.1:1000", "127.0.0.1:80", PcapNG},
		{"null v6", Null, "[::1]:1000", "[::1]:80", Pcap},
		{"mapped v4", Ethernet, "[::ffff:192.0.2.1]:1000", "192.0.2.2:80", PcapNG},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCapture()
			c.Link = tt.link
			c.Start = time.Date(2024, 1, 2, 3, 4, 5, 678901234, time.UTC)
			k := c.NewConn(ap(tt.cli), ap(tt.srv))
			k.Open()
			k.Client([]byte("GET / HTTP/1.1\r\n\r\n"))
			k.Server([]byte("HTTP/1.1 200 OK\r\n\r\n"))
			var b []byte
			var err error
			switch tt.format {
			case PcapNG:
				b, err = c.PcapNG()
			case Pcap:
				b, err = c.Pcap(false)
			case PcapNanos:
				b, err = c.Pcap(true)
			}
			if err != nil {
				t.Fatal(err)
			}
			segs, cis := readSegments(t, b)
			if len(segs) != 5 || segs[3].payload != "GET / HTTP/1.1\r\n\r\n" || segs[4].src != k.Addr(S2C) {
				t.Fatalf("segments: %+v", segs)
			}
			want := c.Start
			if tt.format == Pcap {
				want = want.Truncate(time.Microsecond)
			}
			if !cis[0].Timestamp.Equal(want) {
				t.Errorf("first timestamp %v, want %v", cis[0].Timestamp, want)
			}
		})
	}
}

func TestSnaplenAndPause(t *testing.T) {
	c := NewCapture()
	c.Snaplen = 60
	c.Step = time.Second
	k := c.NewConn(ap("192.0.2.1:1000"), ap("192.0.2.2:80"))
	k.Client(bytes.Repeat([]byte("x"), 100))
	c.Pause(time.Minute)
	k.Ack(S2C)
	pkts, err := c.Packets()
	if err != nil {
		t.Fatal(err)
	}
	if ci := pkts[0].Info; ci.CaptureLength != 60 || ci.Length != 154 || len(pkts[0].Data) != 60 {
		t.Errorf("snaplen: %+v", ci)
	}
	if ci := pkts[1].Info; ci.CaptureLength != 60 || ci.Length != 60 {
		t.Errorf("short packet (Ethernet pads to 60): %+v", ci)
	}
	if d := pkts[1].Info.Timestamp.Sub(pkts[0].Info.Timestamp); d != time.Minute+time.Second {
		t.Errorf("pause: %v", d)
	}
	if _, err := c.PcapNG(); err != nil {
		t.Error(err)
	}
}

func TestMisuseIsAnError(t *testing.T) {
	c := NewCapture()
	c.NewConn(ap("192.0.2.1:1000"), ap("[2001:db8::1]:80"))
	if _, err := c.PcapNG(); err == nil {
		t.Error("mixed address families: no error")
	}
	c = NewCapture()
	c.NewConn(ap("192.0.2.1:1000"), ap("192.0.2.2:80")).Client([]byte("abc"), Drop(7))
	if _, err := c.Pcap(false); err == nil {
		t.Error("bad plan: no error")
	}
}

func TestDeterministicISN(t *testing.T) {
	a := NewCapture().NewConn(ap("192.0.2.1:1000"), ap("192.0.2.2:80"))
	b := NewCapture().NewConn(ap("192.0.2.1:1000"), ap("192.0.2.2:80"))
	c := NewCapture().NewConn(ap("192.0.2.1:1001"), ap("192.0.2.2:80"))
	if a.ISN(C2S) != b.ISN(C2S) || a.ISN(S2C) != b.ISN(S2C) {
		t.Error("ISNs differ for the same endpoints")
	}
	if a.ISN(C2S) == c.ISN(C2S) || a.ISN(C2S) == a.ISN(S2C) {
		t.Error("ISNs collide")
	}
}

// TestFixturesDecode reads every scenario back through pcapgo and gopacket:
// every packet decodes and every checksum is right.
func TestFixturesDecode(t *testing.T) {
	for _, s := range Scenarios() {
		t.Run(s.Name, func(t *testing.T) {
			b, err := s.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			segs, _ := readSegments(t, b)
			if len(segs) == 0 {
				t.Fatal("no packets")
			}
		})
	}
}
