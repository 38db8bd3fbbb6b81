package hostile

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/wscap/wscap/source"
)

// readBack is what wscap's reader makes of a generated capture.
type readBack struct {
	packets int
	conns   int // distinct 4-tuples
	syns    int // SYN without ACK
	fins    int
	first   time.Time
	last    time.Time
	ordered bool // packet times never go backwards
	payload []byte
	err     error // the error that ended reading, nil at EOF
}

func read(t *testing.T, b []byte) readBack {
	t.Helper()
	src, err := source.NewReader("gen", bytes.NewReader(b))
	if err != nil {
		t.Fatalf("source rejects the capture: %v", err)
	}
	defer src.Close()
	r := readBack{ordered: true}
	tuples := map[[2]netip.AddrPort]bool{}
	for {
		p, err := src.Next()
		if err == io.EOF {
			return r
		}
		if err != nil {
			r.err = err
			return r
		}
		r.packets++
		if r.first.IsZero() {
			r.first = p.Time
		}
		if p.Time.Before(r.last) {
			r.ordered = false
		}
		r.last = p.Time
		pk := gopacket.NewPacket(p.Data, layers.LinkTypeEthernet, gopacket.NoCopy)
		ip, _ := pk.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		tcp, _ := pk.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if ip == nil || tcp == nil {
			t.Fatalf("packet %d is not TCP over IPv4", r.packets)
		}
		a, _ := netip.AddrFromSlice(ip.SrcIP)
		z, _ := netip.AddrFromSlice(ip.DstIP)
		k := [2]netip.AddrPort{netip.AddrPortFrom(a, uint16(tcp.SrcPort)), netip.AddrPortFrom(z, uint16(tcp.DstPort))}
		if k[1].Compare(k[0]) < 0 {
			k[0], k[1] = k[1], k[0]
		}
		tuples[k] = true
		r.conns = len(tuples)
		if tcp.SYN && !tcp.ACK {
			r.syns++
		}
		if tcp.FIN {
			r.fins++
		}
		if len(r.payload) < 1<<20 {
			r.payload = append(r.payload, tcp.Payload...)
		}
	}
}

func gen(t *testing.T, g Generator) ([]byte, Counts) {
	t.Helper()
	var b bytes.Buffer
	n, err := g.Write(&b)
	if err != nil {
		t.Fatalf("%T: %v", g, err)
	}
	return b.Bytes(), n
}

// TestGenerators checks each class at a small size against what the
// reader finds in it: the packet and connection counts the generator
// reports and that follow from its parameters, and the traits of the
// attack.
func TestGenerators(t *testing.T) {
	tests := []struct {
		name    string
		g       Generator
		packets int // 0: not checked beyond the generator's own count
		conns   int
		check   func(t *testing.T, r readBack)
	}{
		{name: "syn", g: SYNFlood{Conns: 50, Seed: 1}, packets: 50, conns: 50,
			check: func(t *testing.T, r readBack) {
				if r.syns != 50 || len(r.payload) != 0 {
					t.Errorf("%d SYNs and %d payload bytes, want 50 SYNs and no payload", r.syns, len(r.payload))
				}
			}},
		// 3 TCP handshake + request + 101 + one fragment per direction.
		{name: "open-both", g: OpenMessages{Conns: 20, Both: true, Seed: 2}, packets: 20 * 7, conns: 20},
		{name: "open-client", g: OpenMessages{Conns: 20, Seed: 2}, packets: 20 * 6, conns: 20},
		{name: "open-spread", g: OpenMessages{Conns: 20, Seed: 3, Spread: 100 * time.Second}, packets: 20 * 6, conns: 20,
			check: func(t *testing.T, r readBack) {
				if d := r.last.Sub(r.first); d < 90*time.Second || d > 100*time.Second {
					t.Errorf("capture spans %v, want about 100s", d)
				}
				if r.fins != 0 {
					t.Errorf("%d FINs, want none", r.fins)
				}
			}},
		{name: "deflate", g: DeflateTakeover{Conns: 5, Seed: 4}, conns: 5,
			check: func(t *testing.T, r readBack) {
				if !bytes.Contains(r.payload, []byte("permessage-deflate")) {
					t.Error("no permessage-deflate negotiation")
				}
			}},
		// handshake 5, messages of 3 segments, close frames 2, FIN, FIN, ACK.
		{name: "bomb", g: InflateBomb{Messages: 7, Seed: 5}, packets: 5 + 7*3 + 2 + 3, conns: 1},
		{name: "bomb-gzip", g: InflateBomb{Messages: 7, Seed: 5, Gzip: true}, packets: 31, conns: 1},
		// 8192 two-byte frames per write: 16384 bytes in 12 segments.
		{name: "empty", g: EmptyFrames{Frames: 3 * 8192, Seed: 6}, packets: 5 + 3*12 + 2 + 3, conns: 1,
			check: func(t *testing.T, r readBack) {
				if n := bytes.Count(r.payload, []byte{0x81, 0x00}); n < 3*8192 {
					t.Errorf("%d empty frames, want at least %d", n, 3*8192)
				}
			}},
		{name: "large", g: LargeMessage{Size: 3 << 20, Seed: 7}, conns: 1,
			check: func(t *testing.T, r readBack) {
				if i := bytes.Index(r.payload, []byte{0x81, 127, 0, 0, 0, 0, 0, 0x30, 0, 0}); i < 0 {
					t.Error("no frame header declaring 3 MiB")
				}
			}},
		// handshake 5, first part, 40 one-byte segments (the hole is not there).
		{name: "holes", g: HoleThenBytes{Conns: 3, Bytes: 40, Seed: 8}, packets: 3 * (5 + 1 + 40), conns: 3},
		{name: "cookie", g: BigCookie{Size: 17 << 10, Seed: 9}, conns: 1,
			check: func(t *testing.T, r readBack) {
				i := bytes.Index(r.payload, []byte("Cookie: "))
				j := bytes.Index(r.payload, []byte("\r\n\r\n"))
				if i < 0 || j-i < 17<<10 {
					t.Errorf("Cookie header at %d, head ends at %d: want a 17 KiB header", i, j)
				}
			}},
		{name: "tab", g: TabInPath{Seed: 10}, conns: 1,
			check: func(t *testing.T, r readBack) {
				if !bytes.HasPrefix(r.payload, []byte("GET /chat\troom HTTP/1.1\r\n")) {
					t.Errorf("request line %q", r.payload[:min(40, len(r.payload))])
				}
			}},
		{name: "interfaces", g: ManyInterfaces{Interfaces: 1000, Seed: 11}, conns: 1,
			check: func(t *testing.T, r readBack) {
				if r.packets == 0 {
					t.Error("no packet read on the last interface")
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, n := gen(t, tt.g)
			b2, _ := gen(t, tt.g)
			if !bytes.Equal(b, b2) {
				t.Error("two runs wrote different bytes")
			}
			r := read(t, b)
			if r.err != nil {
				t.Fatalf("reader fails after %d packets: %v", r.packets, r.err)
			}
			if r.packets != n.Packets || r.conns != n.Conns {
				t.Errorf("read %d packets on %d connections, generator says %d on %d", r.packets, r.conns, n.Packets, n.Conns)
			}
			if tt.packets != 0 && r.packets != tt.packets {
				t.Errorf("read %d packets, want %d", r.packets, tt.packets)
			}
			if r.conns != tt.conns {
				t.Errorf("read %d connections, want %d", r.conns, tt.conns)
			}
			if !r.ordered {
				t.Error("packet times go backwards")
			}
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
}

// TestEPBClaim checks the broken capture: the session's packets, then a
// block the reader must refuse, plain and gzipped.
func TestEPBClaim(t *testing.T) {
	for _, g := range []EPBClaim{
		{Claim: 1 << 20},
		{Claim: 1 << 20, Gzip: true},
		{Claim: 1<<32 - 1, Follow: 64 << 10, Gzip: true},
		{Claim: 40 << 20, Gzip: true}, // several zero members
	} {
		b, n := gen(t, g)
		if g.Gzip && g.Follow == 0 && len(b) > int(g.Claim)/100 {
			t.Errorf("%+v: %d bytes gzipped, want under 1%% of the claim", g, len(b))
		}
		r := read(t, b)
		if r.packets != n.Packets || n.Packets != 6 {
			t.Errorf("%+v: read %d packets before the damage, generator says %d, want 6", g, r.packets, n.Packets)
		}
		if r.err == nil || errors.Is(r.err, io.EOF) {
			t.Errorf("%+v: reader ends without an error", g)
		} else if !strings.Contains(r.err.Error(), "packet 7") {
			t.Errorf("%+v: error %q does not name packet 7", g, r.err)
		}
	}
}

// TestCases checks that every case builds at a small scale, that the
// cases sharing a file share a generator, and that scale 1 has the
// issue's sizes.
func TestCases(t *testing.T) {
	files := map[string]Generator{}
	names := map[string]bool{}
	for _, c := range Cases(0.0001) {
		if names[c.Name] {
			t.Errorf("case %s twice", c.Name)
		}
		names[c.Name] = true
		if g, ok := files[c.File]; ok && g != c.Gen {
			t.Errorf("case %s: file %s shared with a different generator", c.Name, c.File)
		}
		files[c.File] = c.Gen
		b, n := gen(t, c.Gen)
		r := read(t, b)
		if c.Broken != (r.err != nil) {
			t.Errorf("case %s: broken %v, reader error %v", c.Name, c.Broken, r.err)
		}
		if r.packets != n.Packets {
			t.Errorf("case %s: read %d packets, generator says %d", c.Name, r.packets, n.Packets)
		}
	}
	full := map[string]Generator{}
	for _, c := range Cases(1) {
		full[c.Name] = c.Gen
	}
	for name, want := range map[string]Generator{
		"epb-claim-4G-gz":  EPBClaim{Claim: 1<<32 - 1, Gzip: true},
		"syn-1M":           SYNFlood{Conns: 1_000_000, Seed: 2},
		"deflate-30k":      DeflateTakeover{Conns: 30_000, Seed: 5},
		"empty-frames-20M": EmptyFrames{Frames: 20_000_000, Seed: 7},
		"interfaces-1M":    ManyInterfaces{Interfaces: 1_000_000, Seed: 12},
	} {
		if full[name] != want {
			t.Errorf("Cases(1) %s = %+v, want %+v", name, full[name], want)
		}
	}
}
