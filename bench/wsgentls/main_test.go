package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/wscap/wscap/tlsdec"
)

// synthConn is one TCP connection of the synthetic input: the writes of
// each side, in turn, client first.
type synthConn struct {
	v6     bool
	writes [][]byte // alternating client, server, client, ...
}

// writeSynth writes a capture of conns, interleaved packet by packet the
// way wsgen's are (clean TCP: handshake, data cut at mss with PSH at the
// end of each write, an ACK after each write, FIN server first). It
// returns each connection's plaintext streams.
func writeSynth(t *testing.T, path string, conns []synthConn, mss int, ng bool) [][2][]byte {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var wr interface {
		WritePacket(gopacket.CaptureInfo, []byte) error
	}
	var ngw *pcapgo.NgWriter
	if ng {
		ngw, err = pcapgo.NewNgWriter(f, layers.LinkTypeEthernet)
		if err != nil {
			t.Fatal(err)
		}
		wr = ngw
	} else {
		w := pcapgo.NewWriter(f)
		if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
			t.Fatal(err)
		}
		wr = w
	}
	type state struct {
		c    synthConn
		seq  [2]uint32
		pkts [][]byte
	}
	streams := make([][2][]byte, len(conns))
	queues := make([][][]byte, len(conns))
	for i, c := range conns {
		cip, sip := net.IP{10, 0, 0, byte(i + 1)}, net.IP{192, 0, 2, 1}
		if c.v6 {
			cip = net.ParseIP(fmt.Sprintf("2001:db8::%x", i+1))
			sip = net.ParseIP("2001:db8::ffff")
		}
		ips := [2]net.IP{cip, sip}
		ports := [2]uint16{uint16(30000 + i), 443}
		seq := [2]uint32{uint32(1000 * (i + 1)), uint32(7000000 * (i + 1))}
		var q [][]byte
		pkt := func(d int, flags uint8, payload []byte) {
			buf := gopacket.NewSerializeBuffer()
			eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, byte(d)}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 1, byte(1 - d)}}
			tcp := &layers.TCP{SrcPort: layers.TCPPort(ports[d]), DstPort: layers.TCPPort(ports[1-d]), Seq: seq[d], Ack: seq[1-d], Window: 2048,
				SYN: flags&fSYN != 0, ACK: flags&fACK != 0, FIN: flags&fFIN != 0, PSH: flags&fPSH != 0}
			if flags&fSYN != 0 {
				tcp.Options = []layers.TCPOption{{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{byte(mss >> 8), byte(mss)}}}
			}
			if flags&fACK == 0 {
				tcp.Ack = 0
			}
			var ip gopacket.SerializableLayer
			if c.v6 {
				eth.EthernetType = layers.EthernetTypeIPv6
				ip6 := &layers.IPv6{Version: 6, NextHeader: layers.IPProtocolTCP, HopLimit: 64, SrcIP: ips[d], DstIP: ips[1-d]}
				tcp.SetNetworkLayerForChecksum(ip6)
				ip = ip6
			} else {
				eth.EthernetType = layers.EthernetTypeIPv4
				ip4 := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: ips[d], DstIP: ips[1-d], Flags: layers.IPv4DontFragment}
				tcp.SetNetworkLayerForChecksum(ip4)
				ip = ip4
			}
			if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp, gopacket.Payload(payload)); err != nil {
				t.Fatal(err)
			}
			q = append(q, bytes.Clone(buf.Bytes()))
			seq[d] += uint32(len(payload))
			if flags&(fSYN|fFIN) != 0 {
				seq[d]++
			}
		}
		pkt(cli, fSYN, nil)
		pkt(srv, fSYN|fACK, nil)
		pkt(cli, fACK, nil)
		for k, w := range c.writes {
			d := k % 2
			streams[i][d] = append(streams[i][d], w...)
			for off := 0; off < len(w); off += mss {
				end := min(off+mss, len(w))
				fl := uint8(fACK)
				if end == len(w) {
					fl |= fPSH
				}
				pkt(d, fl, w[off:end])
			}
			pkt(1-d, fACK, nil)
		}
		pkt(srv, fFIN|fACK, nil)
		pkt(cli, fFIN|fACK, nil)
		pkt(srv, fACK, nil)
		queues[i] = q
	}
	ts := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for more := true; more; {
		more = false
		for i := range queues {
			if len(queues[i]) == 0 {
				continue
			}
			more = true
			p := queues[i][0]
			queues[i] = queues[i][1:]
			ts = ts.Add(137 * time.Microsecond)
			if err := wr.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(p), Length: len(p)}, p); err != nil {
				t.Fatal(err)
			}
		}
	}
	if ngw != nil {
		if err := ngw.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	return streams
}

func synthConns(n int) []synthConn {
	var cs []synthConn
	for i := range n {
		c := synthConn{v6: i%3 == 2}
		c.writes = append(c.writes, []byte(fmt.Sprintf("GET /ws HTTP/1.1\r\nHost: rt%d.example.com:8443\r\nUpgrade: websocket\r\n\r\n", i)))
		c.writes = append(c.writes, []byte("HTTP/1.1 101 Switching Protocols\r\n\r\n"))
		for k := range 2 + i%3 {
			big := bytes.Repeat([]byte{byte('a' + k), byte(i)}, 700*(k+1)+i*37) // several segments
			c.writes = append(c.writes, big, []byte(fmt.Sprintf("reply %d/%d", i, k)))
		}
		cs = append(cs, c)
	}
	return cs
}

// readBack reads a capture: per connection (in SYN order) the packets'
// TCP payloads by direction, after checking that every packet's IP and TCP
// checksums are right, that sequence numbers run without gaps or overlaps
// from the SYN, and that no ACK acknowledges bytes not sent yet.
func readBack(t *testing.T, path string) (conns [][]seg) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	src, err := pcapgo.NewReader(f)
	var rd packetReader = src
	if err != nil {
		f.Seek(0, io.SeekStart)
		ngr, err2 := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
		if err2 != nil {
			t.Fatal(err, err2)
		}
		rd = ngr
	}
	type dirState struct {
		next uint32 // next sequence number
		fin  bool
	}
	idx := map[tuple]int{}
	cliOf := map[int]tuple{}
	st := map[tuple]*dirState{}
	var last time.Time
	for n := 1; ; n++ {
		data, ci, err := rd.ZeroCopyReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if ci.Timestamp.Before(last) {
			t.Errorf("packet %d: time goes back", n)
		}
		last = ci.Timestamp
		checkChecksums(t, n, data)
		p, ok := parse(data)
		if !ok {
			t.Fatalf("packet %d: not TCP", n)
		}
		if p.flags&(fSYN|fACK) == fSYN {
			idx[p.t], idx[p.t.reverse()] = len(conns), len(conns)
			cliOf[len(conns)] = p.t
			conns = append(conns, nil)
		}
		ci2, ok := idx[p.t]
		if !ok {
			t.Fatalf("packet %d: no connection", n)
		}
		ds := st[p.t]
		if p.flags&fSYN != 0 {
			ds = &dirState{next: p.seq + 1}
			st[p.t] = ds
		} else {
			if ds == nil || p.seq != ds.next {
				t.Fatalf("packet %d: seq %d, want %v", n, p.seq, ds)
			}
			ds.next += uint32(len(p.payload))
			if p.flags&fFIN != 0 {
				ds.next++
			}
		}
		if peer := st[p.t.reverse()]; p.flags&fACK != 0 && peer != nil && int32(p.ack-peer.next) > 0 {
			t.Errorf("packet %d: acknowledges %d bytes not sent", n, int32(p.ack-peer.next))
		}
		if len(p.payload) > 0 {
			conns[ci2] = append(conns[ci2], seg{fromServer: p.t != cliOf[ci2], data: bytes.Clone(p.payload)})
		}
	}
	return conns
}

type seg struct {
	fromServer bool
	data       []byte
}

func checkChecksums(t *testing.T, n int, frame []byte) {
	t.Helper()
	p, ok := parse(frame)
	if !ok {
		return
	}
	if !p.v6 && sum16(0, frame[p.l3:p.l4]) != 0xffff {
		t.Errorf("packet %d: bad IPv4 header checksum", n)
	}
	var ps uint32
	if p.v6 {
		ps = sum32(sum32(0, frame[p.l3+8:p.l3+24]), frame[p.l3+24:p.l3+40])
	} else {
		ps = sum32(sum32(0, frame[p.l3+12:p.l3+16]), frame[p.l3+16:p.l3+20])
	}
	ps += 6 + uint32(p.ipEnd-p.l4)
	if sum16(ps, frame[p.l4:p.ipEnd]) != 0xffff {
		t.Errorf("packet %d: bad TCP checksum", n)
	}
}

func TestConvert(t *testing.T) {
	for _, tc := range []struct {
		name          string
		conns, mss    int
		pcapng        bool
		tls13, resume float64
	}{
		{"mix", 24, 1460, false, 0.5, 0.5},
		{"tls12-resume-all", 10, 1460, false, 0, 1},
		{"tls13-pcapng-small-mss", 6, 536, true, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(dir, "in.pcap")
			want := writeSynth(t, in, synthConns(tc.conns), tc.mss, tc.pcapng)
			out := filepath.Join(dir, "out.pcap")
			opt := options{seed: 5, tls13: tc.tls13, resume: tc.resume}
			sum, err := convert(in, out, opt)
			if err != nil {
				t.Fatal(err)
			}
			if sum.TLSConns != tc.conns || sum.TLS13+sum.TLS12 != tc.conns {
				t.Errorf("summary: %+v", sum)
			}
			if tc.tls13 == 1 && sum.TLS12 != 0 || tc.tls13 == 0 && sum.TLS13 != 0 {
				t.Errorf("versions: %d TLS 1.3, %d TLS 1.2", sum.TLS13, sum.TLS12)
			}
			if tc.resume == 1 && sum.Resumed == 0 {
				t.Errorf("no TLS 1.2 connection resumed")
			}
			first, _ := os.ReadFile(out)
			firstKeys, _ := os.ReadFile(out + ".keylog")

			// Decrypt every connection with the key log, in capture
			// order (resumed sessions come from earlier connections).
			keys := tlsdec.NewKeyLog()
			keys.ReadFrom(bytes.NewReader(firstKeys))
			got := readBack(t, out)
			if len(got) != tc.conns {
				t.Fatalf("%d connections, want %d", len(got), tc.conns)
			}
			for i, segs := range got {
				dec := tlsdec.NewConn(keys)
				var plain [2][]byte
				var outs []tlsdec.Output
				for _, s := range segs {
					outs = dec.Feed(outs[:0], s.fromServer, s.data)
					for _, o := range outs {
						if o.Problem != nil {
							t.Fatalf("connection %d: %v", i, o.Problem)
						}
						plain[b2i(s.fromServer)] = append(plain[b2i(s.fromServer)], o.Data...)
					}
				}
				for d := range 2 {
					if !bytes.Equal(plain[d], want[i][d]) {
						t.Errorf("connection %d side %d: %d plaintext bytes decrypted, want %d", i, d, len(plain[d]), len(want[i][d]))
					}
				}
			}

			// Same seed, same bytes.
			if _, err := convert(in, out, opt); err != nil {
				t.Fatal(err)
			}
			again, _ := os.ReadFile(out)
			againKeys, _ := os.ReadFile(out + ".keylog")
			if !bytes.Equal(first, again) || !bytes.Equal(firstKeys, againKeys) {
				t.Errorf("two runs with the same seed differ")
			}
			opt.seed++
			if _, err := convert(in, out, opt); err != nil {
				t.Fatal(err)
			}
			other, _ := os.ReadFile(out)
			if bytes.Equal(first, other) {
				t.Errorf("another seed gave the same bytes")
			}
		})
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestHost(t *testing.T) {
	for _, tc := range []struct{ req, want string }{
		{"GET / HTTP/1.1\r\nHost: rt3.example.com\r\n\r\n", "rt3.example.com"},
		{"GET / HTTP/1.1\r\nHost: rt3.example.com:8080\r\n\r\n", "rt3.example.com"},
		{"GET / HTTP/1.1\r\nHost: [2001:db8::1]\r\n\r\n", "[2001:db8::1]"},
		{"GET / HTTP/1.1\r\nHost: cut", ""},
		{"GET / HTTP/1.1\r\n\r\n", ""},
		{"", ""},
	} {
		if got := host([]byte(tc.req)); got != tc.want {
			t.Errorf("host(%q) = %q, want %q", tc.req, got, tc.want)
		}
	}
}

func TestMSSOption(t *testing.T) {
	for _, tc := range []struct {
		opts []byte
		want int
	}{
		{[]byte{2, 4, 5, 0xb4}, 1460},
		{[]byte{1, 1, 2, 4, 5, 0xa0, 4, 2}, 1440},
		{[]byte{4, 2, 1, 2, 4, 2, 0x18}, 536},
		{[]byte{0, 2, 4, 5, 0xb4}, 0},
		{[]byte{2, 4, 5}, 0},
		{[]byte{3, 0, 2, 4, 5, 0xb4}, 0}, // a zero length would loop
		{[]byte{8, 10, 0, 0}, 0},
		{nil, 0},
	} {
		if got := mssOption(tc.opts); got != tc.want {
			t.Errorf("mssOption(% x) = %d, want %d", tc.opts, got, tc.want)
		}
	}
}

func TestParse(t *testing.T) {
	v4 := func(mod func([]byte)) []byte {
		b := make([]byte, 14+20+20+3)
		binary.BigEndian.PutUint16(b[12:], 0x0800)
		b[14] = 0x45
		binary.BigEndian.PutUint16(b[16:], 20+20+3)
		b[23] = 6
		b[34+12] = 5 << 4
		b[34+13] = fPSH | fACK
		copy(b[54:], "abc")
		if mod != nil {
			mod(b)
		}
		return b
	}
	for _, tc := range []struct {
		name    string
		frame   []byte
		ok      bool
		payload string
	}{
		{"ipv4", v4(nil), true, "abc"},
		{"trailer", append(v4(nil), 0, 0, 0), true, "abc"},
		{"short", v4(nil)[:40], false, ""},
		{"udp", v4(func(b []byte) { b[23] = 17 }), false, ""},
		{"fragment", v4(func(b []byte) { b[20] = 0x20 }), false, ""},
		{"ip length past the frame", v4(func(b []byte) { b[17] = 200 }), false, ""},
		{"tcp offset past the segment", v4(func(b []byte) { b[34+12] = 15 << 4 }), false, ""},
		{"tcp offset too small", v4(func(b []byte) { b[34+12] = 4 << 4 }), false, ""},
		{"arp", v4(func(b []byte) { b[12], b[13] = 8, 6 }), false, ""},
		{"empty", nil, false, ""},
	} {
		p, ok := parse(tc.frame)
		if ok != tc.ok || ok && string(p.payload) != tc.payload {
			t.Errorf("%s: ok %v payload %q, want %v %q", tc.name, ok, p.payload, tc.ok, tc.payload)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte{})
	b := make([]byte, 14+40+20)
	binary.BigEndian.PutUint16(b[12:], 0x86DD)
	b[14] = 0x60
	b[14+4+1] = 20
	b[14+6] = 6
	b[54+12] = 5 << 4
	f.Add(b)
	f.Fuzz(func(t *testing.T, frame []byte) {
		p, ok := parse(frame)
		if !ok {
			return
		}
		if p.l4 < p.l3 || p.ipEnd > len(frame) || len(p.payload) > p.ipEnd-p.l4-20 {
			t.Fatalf("inconsistent parse %+v of %d bytes", p, len(frame))
		}
		mssOption(p.options)
		host(p.payload)
	})
}
