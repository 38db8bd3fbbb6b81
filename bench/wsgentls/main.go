// Command wsgentls writes the TLS twin of a wsgen capture: every TCP
// connection's two byte streams wrapped in a real TLS session made with
// crypto/tls in memory, re-segmented into TCP packets with the original
// timing, plus the NSS key log that decrypts them.
//
//	wsgentls -i medium.pcap -o medium-tls.pcap
//
// writes medium-tls.pcap, medium-tls.pcap.keylog (the client's
// tls.Config.KeyLogWriter), copies of the ground-truth sidecars
// (.truth.jsonl and .conns.jsonl: the endpoints and every message are
// unchanged, so `wscap -r medium-tls.pcap --keylog medium-tls.pcap.keylog
// --json | truthcheck medium-tls.pcap` checks the decryption end to end)
// and medium-tls.pcap.summary.json.
//
// Each connection that the capture opens (SYN) gets, at its first payload
// byte, a full handshake (ClientHello with the SNI of the HTTP Host header,
// the server's flights, the client's Finished) between a crypto/tls client
// and server that take turns on an in-memory pipe, so the flights come in
// a fixed order. Then every original segment's payload is written as one
// TLS record (dynamic record sizing off) by the side that sent it; the
// records are cut at the connection's MSS and sent with the original
// segment's timestamp and flags (a record's overflow rides in the next
// segment of the same write, or in one more segment at the end of the
// write). Before its FIN each side sends close_notify. Sequence and
// acknowledgement numbers are rewritten to the TLS streams (an ACK of
// plaintext byte N acknowledges the record that ended there); SYNs, pure
// ACKs and FINs keep their place and time. Handshake flights are spread
// between the packet before them and the first payload packet.
//
// The mix: -tls13 of the connections (default half) negotiate TLS 1.3
// (X25519 or P-256, RSA-PSS or ECDSA certificate; Go's TLS 1.3 suite
// choice is fixed: AES-128-GCM on CPUs with AES instructions); the others
// TLS 1.2 with one of the six ECDHE-RSA/ECDSA AES-128-GCM, AES-256-GCM and
// ChaCha20-Poly1305 suites. -resume of the TLS 1.2 connections (default
// 30%) offer the session ticket of an earlier connection to the same
// server and suite and resume it (no key log line of their own: a decoder
// must take the master secret from the session they resume).
//
// Output is byte-identical for a seed: each side of each connection draws
// its randomness from its own ChaCha8 stream (tls.Config.Rand, honoured by
// every primitive because of the cryptocustomrand setting below), the
// certificates are embedded, the session ticket keys derive from the seed,
// no ML-KEM key share is offered (ML-KEM ignores Config.Rand), and the
// clocks are fixed.
//
//go:debug cryptocustomrand=1
package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

func main() {
	in := flag.String("i", "", "input wsgen capture (pcap or pcapng, Ethernet)")
	out := flag.String("o", "", "output capture (same format as the input)")
	seed := flag.Uint64("seed", 1, "random seed (same input, flags and seed = same bytes)")
	tls13 := flag.Float64("tls13", 0.5, "fraction of connections that use TLS 1.3 (the rest TLS 1.2)")
	resume := flag.Float64("resume", 0.3, "fraction of TLS 1.2 connections that resume an earlier session to the same server and suite")
	quiet := flag.Bool("q", false, "do not print the summary on stdout")
	flag.Parse()
	if *in == "" || *out == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: wsgentls -i IN.pcap -o OUT.pcap [-seed N] [-tls13 F] [-resume F] [-q]")
		os.Exit(2)
	}
	if *tls13 < 0 || *tls13 > 1 || *resume < 0 || *resume > 1 {
		fatalf("-tls13 and -resume must be within [0,1]")
	}
	start := time.Now()
	sum, err := convert(*in, *out, options{seed: *seed, tls13: *tls13, resume: *resume})
	if err != nil {
		fatalf("%v", err)
	}
	sum.Seconds = time.Since(start).Seconds()
	for _, ext := range []string{".truth.jsonl", ".conns.jsonl"} {
		if err := copyFile(*in+ext, *out+ext); err != nil && !errors.Is(err, os.ErrNotExist) {
			fatalf("%v", err)
		}
	}
	b, _ := json.MarshalIndent(sum, "", "  ")
	b = append(b, '\n')
	if err := os.WriteFile(*out+".summary.json", b, 0o644); err != nil {
		fatalf("%v", err)
	}
	if !*quiet {
		os.Stdout.Write(b)
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "wsgentls: "+format+"\n", args...)
	os.Exit(1)
}

func copyFile(src, dst string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	g, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(g, f); err != nil {
		g.Close()
		return err
	}
	return g.Close()
}

type options struct {
	seed          uint64
	tls13, resume float64
}

// summary is OUT.summary.json.
type summary struct {
	Source       string         `json:"source"`
	Seed         uint64         `json:"seed"`
	Packets      int            `json:"packets"`
	InPackets    int            `json:"in_packets"`
	CaptureBytes int64          `json:"capture_bytes"`
	TLSConns     int            `json:"tls_connections"`
	PlainConns   int            `json:"unwrapped_connections"` // no SYN seen or no payload
	TLS13        int            `json:"tls13"`
	TLS12        int            `json:"tls12"`
	Resumed      int            `json:"tls12_resumed"`
	Suites       map[string]int `json:"suites"`
	Certs        map[string]int `json:"certificates"`
	PlainBytes   int64          `json:"plaintext_bytes"`
	TLSBytes     int64          `json:"tls_bytes"`
	KeyLog       string         `json:"keylog"`
	Seconds      float64        `json:"generate_seconds"`
}

// ---- capture I/O ------------------------------------------------------------

type packetReader interface {
	ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

type packetWriter interface {
	WritePacket(gopacket.CaptureInfo, []byte) error
}

func convert(inPath, outPath string, opt options) (*summary, error) {
	f, err := os.Open(inPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	magic, err := br.Peek(4)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", inPath, err)
	}
	of, err := os.Create(outPath)
	if err != nil {
		return nil, err
	}
	defer of.Close()
	bw := bufio.NewWriterSize(of, 1<<20)
	var (
		rd   packetReader
		wr   packetWriter
		link layers.LinkType
		ng   *pcapgo.NgWriter
	)
	if binary.LittleEndian.Uint32(magic) == 0x0A0D0D0A {
		r, err := pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", inPath, err)
		}
		rd, link = r, r.LinkType()
		intf := pcapgo.DefaultNgInterface
		intf.LinkType = link
		intf.SnapLength = 65535
		intf.Name = "wsgentls0"
		ng, err = pcapgo.NewNgWriterInterface(bw, intf, pcapgo.DefaultNgWriterOptions)
		if err != nil {
			return nil, err
		}
		wr = ng
	} else {
		r, err := pcapgo.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", inPath, err)
		}
		rd, link = r, r.LinkType()
		var w *pcapgo.Writer
		if r.Resolution() == gopacket.TimestampResolutionNanosecond {
			w = pcapgo.NewWriterNanos(bw)
		} else {
			w = pcapgo.NewWriter(bw)
		}
		if err := w.WriteFileHeader(max(r.Snaplen(), 65535), link); err != nil {
			return nil, err
		}
		wr = w
	}
	kf, err := os.Create(outPath + ".keylog")
	if err != nil {
		return nil, err
	}
	defer kf.Close()
	kw := bufio.NewWriterSize(kf, 1<<16)

	g := newGen(opt, wr, kw)
	g.sum.Source = inPath
	g.sum.KeyLog = outPath + ".keylog"
	for {
		data, ci, err := rd.ZeroCopyReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: packet %d: %w", inPath, g.sum.InPackets+1, err)
		}
		g.sum.InPackets++
		if link != layers.LinkTypeEthernet {
			err = g.write(ci.Timestamp, data)
		} else {
			err = g.packet(ci.Timestamp, data)
		}
		if err != nil {
			return nil, fmt.Errorf("packet %d: %w", g.sum.InPackets, err)
		}
	}
	if ng != nil {
		if err := ng.Flush(); err != nil {
			return nil, err
		}
	}
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	if err := kw.Flush(); err != nil {
		return nil, err
	}
	st, err := of.Stat()
	if err != nil {
		return nil, err
	}
	g.sum.CaptureBytes = st.Size()
	return &g.sum, nil
}

// ---- connections ------------------------------------------------------------

const (
	cli = 0
	srv = 1
)

// TCP flags.
const (
	fFIN = 0x01
	fSYN = 0x02
	fRST = 0x04
	fPSH = 0x08
	fACK = 0x10
)

type tuple struct {
	src, dst     [16]byte
	sport, dport uint16
}

// mark maps the end of a plaintext segment to the end of its record in the
// TLS stream.
type mark struct{ plain, tls uint64 }

// side is one direction of a connection: the packets one endpoint sends.
type side struct {
	isn      uint32
	mss      int
	plain    uint64 // plaintext bytes sent (the original stream)
	produced uint64 // TLS bytes made
	sent     uint64 // TLS bytes put in packets
	pending  []byte // made and not sent yet
	marks    []mark // records the peer has not acknowledged yet
	acked    uint64 // TLS offset the peer acknowledged (mapped)
	fin      bool   // FIN sent
	hdr      []byte // Ethernet + IP header of its latest packet (a template)
	ipID     uint16
	window   uint16
	pad      bool // its frames carried an Ethernet trailer
	tc       *tls.Conn
}

type conn struct {
	s     [2]side
	idx   int          // order of the SYN in the capture
	cliT  tuple        // the tuple of the client's packets
	ports [2][2]uint16 // side -> source and destination port
	hs    bool         // the handshake was made
	net   *hsNet
}

type gen struct {
	opt       options
	wr        packetWriter
	kw        io.Writer
	sum       summary
	conns     map[tuple]*conn
	nconn     int
	lastTS    time.Time
	buf       []byte            // frame being built
	cache     map[string]ticket // server address and port -> its latest ticket
	ticketKey [32]byte
	certs     [2]tls.Certificate // RSA, ECDSA
}

func newGen(opt options, wr packetWriter, kw io.Writer) *gen {
	g := &gen{opt: opt, wr: wr, kw: kw, conns: map[tuple]*conn{}, cache: map[string]ticket{}}
	g.sum.Seed = opt.seed
	g.sum.Suites = map[string]int{}
	g.sum.Certs = map[string]int{}
	g.ticketKey = sha256.Sum256(binary.LittleEndian.AppendUint64([]byte("wsgentls ticket key"), opt.seed))
	var err error
	if g.certs[0], err = tls.X509KeyPair([]byte(rsaCertPEM), []byte(rsaKeyPEM)); err != nil {
		panic(err)
	}
	if g.certs[1], err = tls.X509KeyPair([]byte(ecdsaCertPEM), []byte(ecdsaKeyPEM)); err != nil {
		panic(err)
	}
	return g
}

// write writes one frame as it is.
func (g *gen) write(ts time.Time, frame []byte) error {
	if ts.Before(g.lastTS) {
		ts = g.lastTS
	}
	g.lastTS = ts
	g.sum.Packets++
	return g.wr.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(frame), Length: len(frame)}, frame)
}

// parsed is what packet needs of an Ethernet/IP/TCP frame.
type parsed struct {
	t       tuple
	v6      bool
	l3      int // offset of the IP header
	l4      int // offset of the TCP header
	ipEnd   int // end of the IP packet (a trailer may follow)
	seq     uint32
	ack     uint32
	flags   uint8
	window  uint16
	options []byte
	payload []byte
}

func parse(frame []byte) (p parsed, ok bool) {
	if len(frame) < 14 {
		return p, false
	}
	et := binary.BigEndian.Uint16(frame[12:])
	p.l3 = 14
	switch et {
	case 0x0800:
		ip := frame[14:]
		if len(ip) < 20 || ip[0]>>4 != 4 {
			return p, false
		}
		ihl := int(ip[0]&15) * 4
		tot := int(binary.BigEndian.Uint16(ip[2:]))
		if ihl < 20 || tot < ihl || tot > len(ip) || ip[9] != 6 || binary.BigEndian.Uint16(ip[6:])&0x3fff != 0 {
			return p, false
		}
		copy(p.t.src[12:], ip[12:16])
		copy(p.t.dst[12:], ip[16:20])
		p.l4, p.ipEnd = 14+ihl, 14+tot
	case 0x86DD:
		ip := frame[14:]
		if len(ip) < 40 || ip[0]>>4 != 6 || ip[6] != 6 {
			return p, false
		}
		pl := int(binary.BigEndian.Uint16(ip[4:]))
		if 40+pl > len(ip) {
			return p, false
		}
		p.v6 = true
		copy(p.t.src[:], ip[8:24])
		copy(p.t.dst[:], ip[24:40])
		p.l4, p.ipEnd = 54, 54+pl
	default:
		return p, false
	}
	tcp := frame[p.l4:p.ipEnd]
	if len(tcp) < 20 {
		return p, false
	}
	off := int(tcp[12]>>4) * 4
	if off < 20 || off > len(tcp) {
		return p, false
	}
	p.t.sport = binary.BigEndian.Uint16(tcp[0:])
	p.t.dport = binary.BigEndian.Uint16(tcp[2:])
	p.seq = binary.BigEndian.Uint32(tcp[4:])
	p.ack = binary.BigEndian.Uint32(tcp[8:])
	p.flags = tcp[13]
	p.window = binary.BigEndian.Uint16(tcp[14:])
	p.options = tcp[20:off]
	p.payload = tcp[off:]
	return p, true
}

func (t tuple) reverse() tuple {
	return tuple{src: t.dst, dst: t.src, sport: t.dport, dport: t.sport}
}

// mssOption returns the MSS option of a SYN's options, or 0.
func mssOption(opts []byte) int {
	for i := 0; i < len(opts); {
		switch opts[i] {
		case 0:
			return 0
		case 1:
			i++
			continue
		}
		if i+1 >= len(opts) || opts[i+1] < 2 || i+int(opts[i+1]) > len(opts) {
			return 0
		}
		if opts[i] == 2 && opts[i+1] == 4 {
			return int(binary.BigEndian.Uint16(opts[i+2:]))
		}
		i += int(opts[i+1])
	}
	return 0
}

// packet rewrites one frame of the input.
func (g *gen) packet(ts time.Time, frame []byte) error {
	p, ok := parse(frame)
	if !ok {
		return g.write(ts, frame)
	}
	if p.flags&(fSYN|fACK) == fSYN {
		// A new connection (a SYN on a 4-tuple replaces the old one).
		c := &conn{idx: g.nconn, cliT: p.t}
		c.ports[cli] = [2]uint16{p.t.sport, p.t.dport}
		c.ports[srv] = [2]uint16{p.t.dport, p.t.sport}
		g.nconn++
		c.s[cli].isn = p.seq
		c.s[cli].mss = mssOption(p.options)
		g.conns[p.t] = c
		g.conns[p.t.reverse()] = c
	}
	c := g.conns[p.t]
	if c == nil {
		return g.write(ts, frame)
	}
	d := cli
	if p.t != c.cliT {
		d = srv
	}
	s := &c.s[d]
	s.hdr = append(s.hdr[:0], frame[:p.l4]...)
	if s.ipID == 0 && !p.v6 {
		s.ipID = binary.BigEndian.Uint16(frame[p.l3+4:])
	}
	s.window = p.window
	s.pad = len(frame) > p.ipEnd
	if p.flags&fSYN != 0 {
		if d == srv {
			s.isn = p.seq
			s.mss = mssOption(p.options)
		}
		return g.emit(c, d, ts, p.flags, p.seq, g.mapAck(c, d, p), p.options, nil)
	}
	if !s.fin && (len(p.payload) > 0 || p.flags&fFIN != 0 && c.hs) {
		if !c.hs {
			if err := g.handshake(c, ts, p.payload, d); err != nil {
				return err
			}
		}
		if len(p.payload) > 0 {
			if _, err := s.tc.Write(p.payload); err != nil {
				return fmt.Errorf("connection %d: tls write: %w", c.idx, err)
			}
			s.plain += uint64(len(p.payload))
			s.marks = append(s.marks, mark{s.plain, s.produced})
			g.sum.PlainBytes += int64(len(p.payload))
		}
		if p.flags&fFIN != 0 {
			if err := s.tc.CloseWrite(); err != nil {
				return fmt.Errorf("connection %d: close_notify: %w", c.idx, err)
			}
			// An ACK of the plaintext's end acknowledges the alert too.
			s.marks = append(s.marks, mark{s.plain, s.produced})
		}
		if err := g.flush(c, d, ts, p.flags&fPSH != 0 || p.flags&fFIN != 0); err != nil {
			return err
		}
	}
	if p.flags&(fFIN|fRST) != 0 || len(p.payload) == 0 {
		seq := s.isn + 1 + uint32(s.sent)
		if s.fin {
			seq++ // after its FIN
		}
		if err := g.emit(c, d, ts, p.flags&^fPSH, seq, g.mapAck(c, d, p), p.options, nil); err != nil {
			return err
		}
	}
	if p.flags&fFIN != 0 {
		s.fin = true
		if c.s[1-d].fin {
			// Both directions are done: drop the TLS state.
			for i := range c.s {
				c.s[i].tc, c.s[i].pending, c.s[i].marks = nil, nil, nil
			}
			c.net = nil
		}
	}
	return nil
}

// flush sends the TLS bytes of side d that fill whole segments, and the
// rest too when all is true or when nothing was sent.
func (g *gen) flush(c *conn, d int, ts time.Time, all bool) error {
	s := &c.s[d]
	mss := g.mss(c)
	n := 0
	for len(s.pending) > 0 && (len(s.pending) >= mss || all || n == 0) {
		k := min(mss, len(s.pending))
		flags := uint8(fACK)
		if k == len(s.pending) && all {
			flags |= fPSH
		}
		seq := s.isn + 1 + uint32(s.sent)
		if err := g.emit(c, d, ts, flags, seq, g.peerAck(c, d), nil, s.pending[:k]); err != nil {
			return err
		}
		s.sent += uint64(k)
		g.sum.TLSBytes += int64(k)
		s.pending = s.pending[k:]
		n++
	}
	if len(s.pending) == 0 {
		s.pending = s.pending[:0:0]
		if cap(s.pending) > 1<<16 {
			s.pending = nil
		}
	}
	return nil
}

func (g *gen) mss(c *conn) int {
	m := 1460
	for _, s := range c.s {
		if s.mss > 0 {
			m = min(m, s.mss)
		}
	}
	return max(m, 64)
}

// peerAck is the acknowledgement number side d sends with new data: all
// the peer's TLS bytes sent so far (the original ACKed everything too,
// in wsgen's model).
func (g *gen) peerAck(c *conn, d int) uint32 {
	o := &c.s[1-d]
	a := o.isn + 1 + uint32(o.sent)
	if o.fin {
		a++
	}
	return a
}

// mapAck maps the acknowledgement number of an original packet from side
// d to the peer's TLS stream.
func (g *gen) mapAck(c *conn, d int, p parsed) uint32 {
	if p.flags&fACK == 0 {
		return p.ack
	}
	o := &c.s[1-d]
	if !c.hs {
		return p.ack // no TLS yet: the streams are the same
	}
	rel := uint64(p.ack - (o.isn + 1))
	if o.fin && rel == o.plain+1 {
		return o.isn + 1 + uint32(o.sent) + 1
	}
	for len(o.marks) > 0 && o.marks[0].plain <= rel {
		o.acked = max(o.acked, o.marks[0].tls)
		o.marks = o.marks[1:]
	}
	return o.isn + 1 + uint32(min(o.acked, o.sent))
}

// emit builds and writes one TCP packet of side d from its header template.
func (g *gen) emit(c *conn, d int, ts time.Time, flags uint8, seq, ack uint32, opts, payload []byte) error {
	s := &c.s[d]
	hl := len(s.hdr)
	tcpLen := 20 + len(opts)
	if tcpLen > 60 || len(opts)%4 != 0 {
		opts, tcpLen = nil, 20
	}
	b := append(g.buf[:0], s.hdr...)
	v6 := binary.BigEndian.Uint16(b[12:]) == 0x86DD
	l3 := 14
	var src, dst []byte
	if v6 {
		binary.BigEndian.PutUint16(b[l3+4:], uint16(tcpLen+len(payload)))
		src, dst = b[l3+8:l3+24], b[l3+24:l3+40]
	} else {
		ihl := hl - l3
		binary.BigEndian.PutUint16(b[l3+2:], uint16(ihl+tcpLen+len(payload)))
		binary.BigEndian.PutUint16(b[l3+4:], s.ipID)
		s.ipID++
		b[l3+10], b[l3+11] = 0, 0
		binary.BigEndian.PutUint16(b[l3+10:], ^sum16(0, b[l3:hl]))
		src, dst = b[l3+12:l3+16], b[l3+16:l3+20]
	}
	t := len(b)
	b = append(b, make([]byte, 20)...)
	// Ports from the template's tuple: the packet's own direction.
	port := c.ports[d]
	binary.BigEndian.PutUint16(b[t:], port[0])
	binary.BigEndian.PutUint16(b[t+2:], port[1])
	binary.BigEndian.PutUint32(b[t+4:], seq)
	binary.BigEndian.PutUint32(b[t+8:], ack)
	b[t+12] = byte(tcpLen/4) << 4
	b[t+13] = flags
	binary.BigEndian.PutUint16(b[t+14:], s.window)
	b = append(b, opts...)
	b = append(b, payload...)
	seg := b[t:]
	var ps uint32
	ps = sum32(ps, src)
	ps = sum32(ps, dst)
	ps += 6 + uint32(len(seg))
	binary.BigEndian.PutUint16(b[t+16:], ^sum16(ps, seg))
	if s.pad && len(b) < 60 {
		b = append(b, make([]byte, 60-len(b))...)
	}
	g.buf = b
	return g.write(ts, b)
}

func sum32(acc uint32, b []byte) uint32 {
	for len(b) >= 2 {
		acc += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint32(b[0]) << 8
	}
	return acc
}

// sum16 is the folded one's complement sum of b added to acc.
func sum16(acc uint32, b []byte) uint16 {
	acc = sum32(acc, b)
	for acc>>16 != 0 {
		acc = acc&0xffff + acc>>16
	}
	return uint16(acc)
}

// ---- TLS --------------------------------------------------------------------

var suites12 = []struct {
	id    uint16
	ecdsa bool
}{
	{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, false},
	{tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, false},
	{tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, false},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, true},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, true},
	{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, true},
}

// fixedTime is both sides' clock: the certificates are valid then and
// session tickets never expire within a capture.
var fixedTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// sideRand is the randomness of one side of connection idx.
func (g *gen) sideRand(idx, side int) io.Reader {
	var s [32]byte
	h := sha256.Sum256(fmt.Appendf(nil, "wsgentls %d %d %d", g.opt.seed, idx, side))
	copy(s[:], h[:])
	return detReader{rand.NewChaCha8(s)}
}

// detReader is a seeded stream that ignores one-byte reads: the crypto
// packages call randutil.MaybeReadByte on a custom reader, which reads
// one byte or not at random to keep callers from relying on the stream.
// Nothing in crypto/tls reads randomness one byte at a time.
type detReader struct{ r *rand.ChaCha8 }

func (d detReader) Read(b []byte) (int, error) {
	if len(b) == 1 {
		b[0] = 0
		return 1, nil
	}
	return d.r.Read(b)
}

// host returns the Host header's name (no port) of an HTTP request, or "".
func host(req []byte) string {
	i := bytes.Index(req, []byte("\r\nHost: "))
	if i < 0 {
		return ""
	}
	h := req[i+8:]
	if j := bytes.Index(h, []byte("\r\n")); j >= 0 {
		h = h[:j]
	} else {
		return ""
	}
	name := string(h)
	if k := strings.LastIndexByte(name, ':'); k >= 0 && !strings.Contains(name, "]") {
		name = name[:k]
	}
	return name
}

// ticket is a TLS 1.2 session a server issued, and its cipher suite.
type ticket struct {
	cs    *tls.ClientSessionState
	suite int // index in suites12
}

// sessionCache is one client's view of the shared ticket store (one
// ticket per server): it always stores the tickets it gets, and offers one
// only when the connection is meant to resume.
type sessionCache struct {
	g      *gen
	key    string
	suite  int
	resume bool
}

func (sc *sessionCache) Get(string) (*tls.ClientSessionState, bool) {
	if !sc.resume {
		return nil, false
	}
	t, ok := sc.g.cache[sc.key]
	return t.cs, ok
}

func (sc *sessionCache) Put(_ string, cs *tls.ClientSessionState) {
	if cs != nil {
		sc.g.cache[sc.key] = ticket{cs, sc.suite}
	}
}

// handshake runs the TLS handshake of c before its first payload byte
// (first, sent by side d at ts) and sends its flights.
func (g *gen) handshake(c *conn, ts time.Time, first []byte, d int) error {
	c.hs = true
	rng := rand.New(rand.NewPCG(g.opt.seed, uint64(c.idx)*0x9E3779B97F4A7C15+7))
	v13 := rng.Float64() < g.opt.tls13
	sni := ""
	if d == cli {
		sni = host(first)
	}
	if sni == "" {
		sni = "example.com"
	}
	curves := []tls.CurveID{tls.X25519, tls.CurveP256}
	if rng.IntN(4) == 0 {
		curves = []tls.CurveID{tls.CurveP256, tls.X25519}
	}
	ccfg := &tls.Config{
		ServerName:                  sni,
		InsecureSkipVerify:          true,
		Rand:                        g.sideRand(c.idx, cli),
		Time:                        func() time.Time { return fixedTime },
		CurvePreferences:            curves,
		KeyLogWriter:                g.kw,
		DynamicRecordSizingDisabled: true,
		NextProtos:                  []string{"http/1.1"},
	}
	scfg := &tls.Config{
		Rand:                        g.sideRand(c.idx, srv),
		Time:                        func() time.Time { return fixedTime },
		CurvePreferences:            []tls.CurveID{tls.X25519, tls.CurveP256},
		DynamicRecordSizingDisabled: true,
		NextProtos:                  []string{"http/1.1"},
	}
	scfg.SetSessionTicketKeys([][32]byte{g.ticketKey})
	certName := "rsa"
	ecdsa := rng.IntN(2) == 1
	if v13 {
		ccfg.MinVersion, ccfg.MaxVersion = tls.VersionTLS13, tls.VersionTLS13
	} else {
		si := rng.IntN(len(suites12))
		resume := rng.Float64() < g.opt.resume
		key := fmt.Sprintf("%x|%d", c.cliT.dst, c.cliT.dport) // the server
		if t, ok := g.cache[key]; ok && resume {
			si = t.suite // the server resumes only with the session's suite
		}
		su := suites12[si]
		ecdsa = su.ecdsa
		ccfg.MaxVersion = tls.VersionTLS12
		scfg.CipherSuites = []uint16{su.id}
		ccfg.ClientSessionCache = &sessionCache{g: g, key: key, suite: si, resume: resume}
	}
	if ecdsa {
		certName = "ecdsa"
		scfg.Certificates = []tls.Certificate{g.certs[1]}
	} else {
		scfg.Certificates = []tls.Certificate{g.certs[0]}
	}

	n := newHSNet()
	c.net = n
	cl := tls.Client(&hsEnd{n: n, me: cli, c: c}, ccfg)
	sv := tls.Server(&hsEnd{n: n, me: srv, c: c}, scfg)
	errc := make(chan error, 1)
	go func() {
		err := sv.Handshake()
		n.finish(srv)
		errc <- err
	}()
	err := cl.Handshake()
	n.finish(cli)
	if serr := <-errc; err == nil && serr != nil {
		err = fmt.Errorf("server: %w", serr)
	}
	if err != nil {
		return fmt.Errorf("connection %d: handshake: %w", c.idx, err)
	}
	n.data = true
	c.s[cli].tc, c.s[srv].tc = cl, sv

	st := cl.ConnectionState()
	g.sum.TLSConns++
	if st.Version == tls.VersionTLS13 {
		g.sum.TLS13++
	} else {
		g.sum.TLS12++
		if st.DidResume {
			g.sum.Resumed++
		}
	}
	g.sum.Suites[tls.CipherSuiteName(st.CipherSuite)]++
	g.sum.Certs[certName]++

	// The flights, spread between the packet before and ts.
	from := g.lastTS
	if from.IsZero() || from.After(ts) {
		from = ts
	}
	span := ts.Sub(from)
	for i, f := range n.flights {
		at := from.Add(span * time.Duration(i+1) / time.Duration(len(n.flights)+1))
		s := &c.s[f.from]
		s.pending = append(s.pending, f.data...)
		s.produced += uint64(len(f.data))
		if err := g.flush(c, f.from, at, true); err != nil {
			return err
		}
	}
	for i := range c.s {
		c.s[i].marks = append(c.s[i].marks[:0], mark{0, c.s[i].produced})
	}
	return nil
}

// ---- the in-memory network --------------------------------------------------

// hsNet connects a client and a server that take turns: a side runs until
// it waits for bytes that are not there, then the other runs. So the
// flights, and who draws randomness when, never depend on scheduling.
// After the handshake (data) every write goes to the writer's pending TLS
// bytes and nothing is read.
type hsNet struct {
	mu      sync.Mutex
	cond    sync.Cond
	buf     [2][]byte // bytes to be read by side i
	turn    int
	done    [2]bool
	flights []flight
	data    bool
}

type flight struct {
	from int
	data []byte
}

func newHSNet() *hsNet {
	n := &hsNet{}
	n.cond.L = &n.mu
	return n
}

func (n *hsNet) finish(me int) {
	n.mu.Lock()
	n.done[me] = true
	n.turn = 1 - me
	n.cond.Broadcast()
	n.mu.Unlock()
}

type hsEnd struct {
	n  *hsNet
	me int
	c  *conn
}

var errNoData = errors.New("wsgentls: read after the handshake")

func (e *hsEnd) Read(b []byte) (int, error) {
	n := e.n
	if n.data {
		return 0, errNoData
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for {
		have := len(n.buf[e.me]) > 0
		if have && (n.turn == e.me || n.done[1-e.me]) {
			break
		}
		if !have && n.done[1-e.me] {
			return 0, io.EOF
		}
		if !have && n.turn == e.me {
			n.turn = 1 - e.me // wait for the peer: its turn
			n.cond.Broadcast()
		}
		n.cond.Wait()
	}
	k := copy(b, n.buf[e.me])
	n.buf[e.me] = n.buf[e.me][k:]
	return k, nil
}

func (e *hsEnd) Write(b []byte) (int, error) {
	n := e.n
	if n.data {
		s := &e.c.s[e.me]
		s.pending = append(s.pending, b...)
		s.produced += uint64(len(b))
		return len(b), nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.buf[1-e.me] = append(n.buf[1-e.me], b...)
	if k := len(n.flights); k > 0 && n.flights[k-1].from == e.me {
		n.flights[k-1].data = append(n.flights[k-1].data, b...)
	} else {
		n.flights = append(n.flights, flight{e.me, bytes.Clone(b)})
	}
	return len(b), nil
}

func (e *hsEnd) Close() error { return nil }

type memAddr struct{}

func (memAddr) Network() string { return "memory" }
func (memAddr) String() string  { return "memory" }

func (e *hsEnd) LocalAddr() net.Addr              { return memAddr{} }
func (e *hsEnd) RemoteAddr() net.Addr             { return memAddr{} }
func (e *hsEnd) SetDeadline(time.Time) error      { return nil }
func (e *hsEnd) SetReadDeadline(time.Time) error  { return nil }
func (e *hsEnd) SetWriteDeadline(time.Time) error { return nil }
