// Package hostile writes captures that attack wscap's memory and
// correctness (issue 11): records that claim huge lengths, connection
// state that never ends (SYN floods, messages left open, inflate windows),
// deflate bombs, floods of empty frames, one huge message, holes followed
// by thousands of one-byte segments, oversized and malformed handshakes,
// and a million pcapng interfaces.
//
// Every generator is deterministic (a seed and the counts are its fields)
// and streams its capture to an [io.Writer] one connection or one batch at
// a time, so that the full-size cases (a million flows, a 4 GB claim, a
// 100 MB message) take little memory to generate. The TCP connections are
// built with [flowgen]. [Cases] lists every class by name at the sizes the
// issue measured, scaled; bench/hostile runs them, the tests of package
// main run them small.
package hostile

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/wscap/wscap/internal/flowgen"
)

// Counts says what a generator wrote.
type Counts struct {
	// Packets is the number of packet records a reader can deliver: for
	// a deliberately broken capture, those before the damage.
	Packets int
	// Conns is the number of TCP connections (4-tuples).
	Conns int
	// WebSocket is the number of connections with a complete Upgrade
	// handshake (request and 101).
	WebSocket int
}

// Generator writes one capture.
type Generator interface {
	Write(w io.Writer) (Counts, error)
}

// Time layout: packets of one connection are connStep apart; connections
// follow each other (or are spread over a span of capture time).
const connStep = 100 * time.Microsecond

// server is the endpoint every generated client talks to.
var server = netip.MustParseAddrPort("192.0.2.1:8080")

// endpoint returns the client of connection i: 10.x.y.z, unique for the
// first 2^24 connections of a seed, with a port that varies too.
func endpoint(seed int64, i int) netip.AddrPort {
	v := (uint32(i) + uint32(seed)*7919) & 0xffffff
	a := netip.AddrFrom4([4]byte{10, byte(v >> 16), byte(v >> 8), byte(v)})
	return netip.AddrPortFrom(a, 1024+uint16((uint32(i)*31+uint32(seed))%60000))
}

// writer streams pcapng (optionally gzipped) from flowgen captures.
type writer struct {
	gz     *gzip.Writer
	bw     *bufio.Writer // what the pcapng writer writes to, flushed at close
	ng     *pcapgo.NgWriter
	iface  int // interface index of the packets
	last   time.Time
	counts Counts
}

func newWriter(w io.Writer, gz bool) (*writer, error) {
	cw := &writer{}
	out := w
	if gz {
		cw.gz, _ = gzip.NewWriterLevel(w, gzip.DefaultCompression) // a valid level cannot fail
		out = cw.gz
	}
	cw.bw = bufio.NewWriterSize(out, 1<<16)
	ng, err := pcapgo.NewNgWriterInterface(cw.bw, pcapgo.NgInterface{
		Name:                "hostile0",
		LinkType:            layers.LinkTypeEthernet,
		TimestampResolution: 9,
	}, pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{Application: "wscap hostile"}})
	if err != nil {
		return nil, fmt.Errorf("write pcapng header: %w", err)
	}
	cw.ng = ng
	return cw, nil
}

// capture returns an empty flowgen capture whose first packet comes at at,
// or connStep after the last packet written if that is later.
func (cw *writer) capture(at time.Time) *flowgen.Capture {
	c := flowgen.NewCapture()
	c.Step = connStep
	if next := cw.last.Add(connStep); cw.last.IsZero() && at.IsZero() {
		at = flowgen.DefaultStart
	} else if at.Before(next) {
		at = next
	}
	c.Start = at
	return c
}

// drain writes the packets c holds, or only those keep accepts.
func (cw *writer) drain(c *flowgen.Capture, keep func(i int) bool) error {
	pkts, err := c.Drain()
	if err != nil {
		return err
	}
	for i, p := range pkts {
		if keep != nil && !keep(i) {
			continue
		}
		p.Info.InterfaceIndex = cw.iface
		if err := cw.ng.WritePacket(p.Info, p.Data); err != nil {
			return fmt.Errorf("write packet %d: %w", cw.counts.Packets+1, err)
		}
		cw.last = p.Info.Timestamp
		cw.counts.Packets++
	}
	return nil
}

// raw writes bytes after the packets so far, outside the pcapng writer.
func (cw *writer) raw(b []byte) error {
	if err := cw.ng.Flush(); err != nil {
		return err
	}
	_, err := cw.bw.Write(b)
	return err
}

func (cw *writer) close() (Counts, error) {
	err := cw.ng.Flush()
	if ferr := cw.bw.Flush(); err == nil {
		err = ferr
	}
	if cw.gz != nil {
		if cerr := cw.gz.Close(); err == nil {
			err = cerr
		}
	}
	return cw.counts, err
}

// closeOne ends the single WebSocket connection s of capture c with a
// close handshake and FINs, and writes what is left of the capture.
func (cw *writer) closeOne(c *flowgen.Capture, s *ws) (Counts, error) {
	s.closeBoth()
	if err := cw.drain(c, nil); err != nil {
		return Counts{}, err
	}
	cw.counts.Conns, cw.counts.WebSocket = 1, 1
	return cw.close()
}

// spreadAt returns the start time of connection i of n spread over span
// (zero time when span is zero: one after the other).
func spreadAt(i, n int, span time.Duration) time.Time {
	if span <= 0 || n <= 0 {
		return time.Time{}
	}
	return flowgen.DefaultStart.Add(time.Duration(float64(span) * float64(i) / float64(n)))
}

// ws is one WebSocket connection under construction.
type ws struct {
	*flowgen.Conn
	mask int
}

// open starts connection i: TCP handshake, Upgrade request for path with
// the extra request header lines, 101 with the extra response lines.
func open(c *flowgen.Capture, seed int64, i int, path string, req, resp []string) *ws {
	k := c.NewConn(endpoint(seed, i), server)
	k.Open()
	key := flowgen.Key(i + int(seed)<<20)
	k.Client(flowgen.UpgradeRequest(path, server.String(), key, req...))
	k.Server(flowgen.Response101(key, resp...))
	return &ws{Conn: k, mask: i << 8}
}

// cf encodes client frames, masked with the connection's next keys.
func (w *ws) cf(fs ...flowgen.Frame) []byte {
	for i := range fs {
		w.mask++
		fs[i].Mask = flowgen.MaskKey(w.mask)
	}
	return flowgen.Frames(fs...)
}

// closeBoth exchanges close frames and ends TCP with FINs.
func (w *ws) closeBoth() {
	body := flowgen.ClosePayload(1000, "bye")
	w.Client(w.cf(flowgen.Frame{Fin: true, Op: flowgen.OpClose, Payload: body}))
	w.Server(flowgen.Frames(flowgen.Frame{Fin: true, Op: flowgen.OpClose, Payload: body}))
	w.Close()
}

// words make the seeded text of messages: compressible like chat traffic.
var words = strings.Fields(`the quick brown fox jumps over lazy dog hello world
	message user room join leave typing status online offline price order
	id name value true false null {"type": "event"} [1,2,3] ok error retry`)

// text returns n bytes of seeded text.
func text(rng *rand.Rand, n int) []byte {
	b := make([]byte, 0, n+16)
	for len(b) < n {
		b = append(b, words[rng.IntN(len(words))]...)
		b = append(b, ' ')
	}
	return b[:n]
}

func rngOf(seed int64, i int) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), uint64(i)))
}

// --- the attack classes ---------------------------------------------------

// EPBClaim is a pcapng file whose Enhanced Packet Block claims Claim
// captured bytes: a short WebSocket session, then the lying block (its
// block length says 32, its captured and original lengths say Claim),
// then Follow zero bytes (default Claim), as if the claimed packet were
// there. Gzipped, a 1 GB claim is a 1 MB file. The capture is broken on
// purpose: a reader must deliver the session's packets and stop with an
// error.
type EPBClaim struct {
	Claim  uint32
	Follow int64 // zero bytes after the block header (0: Claim)
	Gzip   bool
}

func (g EPBClaim) Write(w io.Writer) (Counts, error) {
	follow := g.Follow
	if follow == 0 {
		follow = int64(g.Claim)
	}
	cw, err := newWriter(w, g.Gzip)
	if err != nil {
		return Counts{}, err
	}
	c := cw.capture(time.Time{})
	s := open(c, 0, 0, "/claim", nil, nil)
	s.Server(flowgen.Frames(flowgen.Frame{Fin: true, Op: flowgen.OpText, Payload: []byte("before the lying block")}))
	if err := cw.drain(c, nil); err != nil {
		return Counts{}, err
	}
	cw.counts.Conns, cw.counts.WebSocket = 1, 1
	var h [28]byte
	le := func(off int, v uint32) {
		h[off], h[off+1], h[off+2], h[off+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
	}
	ts := uint64(cw.last.Add(time.Millisecond).UnixNano())
	le(0, 6)  // Enhanced Packet Block
	le(4, 32) // block total length: an empty packet
	le(8, 0)  // interface 0
	le(12, uint32(ts>>32))
	le(16, uint32(ts))
	le(20, g.Claim) // captured length
	le(24, g.Claim) // original length
	if err := cw.raw(h[:]); err != nil {
		return Counts{}, err
	}
	if g.Gzip {
		// Close this gzip member and append the zeros as members of
		// their own, each one compressed zero block: gzip readers read
		// concatenated members as one stream (RFC 1952 §2.2), and a
		// 4 GB claim takes no time to write.
		if err := cw.bw.Flush(); err != nil {
			return Counts{}, err
		}
		if err := cw.gz.Close(); err != nil {
			return Counts{}, err
		}
		cw.gz = nil
		for follow > 0 {
			n := min(follow, zeroMember)
			m := zeroGzip()
			if n < zeroMember {
				m = gzipZeros(int(n))
			}
			if _, err := w.Write(m); err != nil {
				return Counts{}, err
			}
			follow -= n
		}
		return cw.counts, nil
	}
	zeros := make([]byte, 1<<20)
	for follow > 0 {
		n := min(follow, int64(len(zeros)))
		if _, err := cw.bw.Write(zeros[:n]); err != nil {
			return Counts{}, err
		}
		follow -= n
	}
	return cw.close()
}

// zeroMember is the size of the precomputed gzip member of zeros.
const zeroMember = 16 << 20

var zeroGzip = sync.OnceValue(func() []byte { return gzipZeros(zeroMember) })

func gzipZeros(n int) []byte {
	var b bytes.Buffer
	z, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	z.Write(make([]byte, n))
	z.Close()
	return b.Bytes()
}

// SYNFlood is Conns flows that each send one SYN and nothing else.
type SYNFlood struct {
	Conns  int
	Seed   int64
	Spread time.Duration // capture time the flows are spread over (0: back to back)
}

func (g SYNFlood) Write(w io.Writer) (Counts, error) {
	cw, err := newWriter(w, false)
	if err != nil {
		return Counts{}, err
	}
	for i := range g.Conns {
		c := cw.capture(spreadAt(i, g.Conns, g.Spread))
		c.NewConn(endpoint(g.Seed, i), server).Open()
		if err := cw.drain(c, func(i int) bool { return i == 0 }); err != nil { // the SYN only
			return Counts{}, err
		}
	}
	cw.counts.Conns = g.Conns
	return cw.close()
}

// OpenMessages is Conns WebSocket connections that each start a
// fragmented text message (a first frame without FIN) from the client,
// and from the server too when Both is set, and then go silent: no
// further frame, no FIN, no RST.
type OpenMessages struct {
	Conns    int
	Both     bool
	Fragment int // payload bytes of the first fragment (default 512)
	Seed     int64
	Spread   time.Duration // capture time the connections are spread over
}

func (g OpenMessages) Write(w io.Writer) (Counts, error) {
	frag := g.Fragment
	if frag <= 0 {
		frag = 512
	}
	cw, err := newWriter(w, false)
	if err != nil {
		return Counts{}, err
	}
	for i := range g.Conns {
		c := cw.capture(spreadAt(i, g.Conns, g.Spread))
		s := open(c, g.Seed, i, "/open", nil, nil)
		rng := rngOf(g.Seed, i)
		s.Client(s.cf(flowgen.Frame{Op: flowgen.OpText, Payload: text(rng, frag)}))
		if g.Both {
			s.Server(flowgen.Frames(flowgen.Frame{Op: flowgen.OpText, Payload: text(rng, frag)}))
		}
		if err := cw.drain(c, nil); err != nil {
			return Counts{}, err
		}
	}
	cw.counts.Conns, cw.counts.WebSocket = g.Conns, g.Conns
	return cw.close()
}

// DeflateTakeover is Conns permessage-deflate connections with context
// takeover both ways (a busy chat server) that each send Messages
// compressed messages of Size bytes per direction and stay open. Every
// connection carries the same compressed bytes (compressed once), so the
// windows of both directions are full.
type DeflateTakeover struct {
	Conns    int
	Messages int // per direction (default 4)
	Size     int // bytes of each message before compression (default 8 KiB)
	Seed     int64
	Spread   time.Duration
}

func (g DeflateTakeover) Write(w io.Writer) (Counts, error) {
	msgs, size := g.Messages, g.Size
	if msgs <= 0 {
		msgs = 4
	}
	if size <= 0 {
		size = 8 << 10
	}
	rng := rngOf(g.Seed, -1)
	var cmsgs, smsgs [][]flowgen.Frame
	cd, sd := flowgen.NewDeflater(false), flowgen.NewDeflater(false)
	for range msgs {
		cmsgs = append(cmsgs, flowgen.CompressedMessage(cd, flowgen.OpText, text(rng, size)))
		smsgs = append(smsgs, flowgen.CompressedMessage(sd, flowgen.OpText, text(rng, size)))
	}
	cw, err := newWriter(w, false)
	if err != nil {
		return Counts{}, err
	}
	ext := "Sec-WebSocket-Extensions: permessage-deflate"
	for i := range g.Conns {
		c := cw.capture(spreadAt(i, g.Conns, g.Spread))
		s := open(c, g.Seed, i, "/chat", []string{ext + "; client_max_window_bits"}, []string{ext})
		for m := range msgs {
			s.Client(s.cf(cmsgs[m]...))
			s.Server(flowgen.Frames(smsgs[m]...))
		}
		if err := cw.drain(c, nil); err != nil {
			return Counts{}, err
		}
	}
	cw.counts.Conns, cw.counts.WebSocket = g.Conns, g.Conns
	return cw.close()
}

// InflateBomb is one permessage-deflate connection on which the server
// sends Messages compressed messages that each inflate to Size bytes
// (server_no_context_takeover: every message is the same 1 KB of deflate
// for 1 MiB), then closes. Gzipped, 10,000 of them take about half a
// megabyte.
type InflateBomb struct {
	Messages int
	Size     int // inflated bytes of each message (default 1 MiB)
	Gzip     bool
	Seed     int64
}

func (g InflateBomb) Write(w io.Writer) (Counts, error) {
	size := g.Size
	if size <= 0 {
		size = 1 << 20
	}
	rng := rngOf(g.Seed, -1)
	unit := text(rng, 64)
	msg := bytes.Repeat(unit, size/len(unit)+1)[:size]
	frame := flowgen.Frames(flowgen.CompressedMessage(flowgen.NewDeflater(true), flowgen.OpText, msg)...)
	cw, err := newWriter(w, g.Gzip)
	if err != nil {
		return Counts{}, err
	}
	ext := "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover"
	c := cw.capture(time.Time{})
	s := open(c, g.Seed, 0, "/bomb", []string{ext}, []string{ext})
	for range g.Messages {
		s.Server(frame)
		if c.Len() >= 1024 {
			if err := cw.drain(c, nil); err != nil {
				return Counts{}, err
			}
		}
	}
	return cw.closeOne(c, s)
}

// EmptyFrames is one connection on which the server sends Frames empty
// text frames (two bytes each, back to back in full segments), then
// closes.
type EmptyFrames struct {
	Frames int
	Seed   int64
}

func (g EmptyFrames) Write(w io.Writer) (Counts, error) {
	cw, err := newWriter(w, false)
	if err != nil {
		return Counts{}, err
	}
	c := cw.capture(time.Time{})
	s := open(c, g.Seed, 0, "/empty", nil, nil)
	const batch = 8192
	buf := bytes.Repeat([]byte{0x81, 0x00}, batch)
	for left := g.Frames; left > 0; left -= batch {
		s.Server(buf[:2*min(left, batch)])
		if err := cw.drain(c, nil); err != nil {
			return Counts{}, err
		}
	}
	return cw.closeOne(c, s)
}

// LargeMessage is one connection on which the server sends one text
// message of Size bytes in a single frame, then closes.
type LargeMessage struct {
	Size int64
	Seed int64
}

func (g LargeMessage) Write(w io.Writer) (Counts, error) {
	cw, err := newWriter(w, false)
	if err != nil {
		return Counts{}, err
	}
	c := cw.capture(time.Time{})
	s := open(c, g.Seed, 0, "/large", nil, nil)
	hdr := flowgen.Frame{Fin: true, Op: flowgen.OpText, DeclaredLen: uint64(g.Size), LenBits: 64}.Bytes()
	s.Server(hdr)
	chunk := text(rngOf(g.Seed, 0), 1<<20)
	for left := g.Size; left > 0; left -= int64(len(chunk)) {
		s.Server(chunk[:min(left, int64(len(chunk)))])
		if err := cw.drain(c, nil); err != nil {
			return Counts{}, err
		}
	}
	return cw.closeOne(c, s)
}

// HoleThenBytes is Conns WebSocket connections on which the server starts
// a binary frame, loses 100 bytes of its payload (a hole the capture never
// fills) and then sends Bytes more of it one byte per segment. The
// connections stay open, so every byte after the hole waits out of order
// in the reassembler.
type HoleThenBytes struct {
	Conns int
	Bytes int
	Seed  int64
}

func (g HoleThenBytes) Write(w io.Writer) (Counts, error) {
	cw, err := newWriter(w, false)
	if err != nil {
		return Counts{}, err
	}
	for i := range g.Conns {
		c := cw.capture(time.Time{})
		s := open(c, g.Seed, i, "/holes", nil, nil)
		payload := text(rngOf(g.Seed, i), 200+g.Bytes)
		f := flowgen.Frame{Fin: true, Op: flowgen.OpBinary, Payload: payload}.Bytes()
		hdr := len(f) - len(payload)
		s.Server(f[:hdr+100])
		s.Server(f[hdr+100:hdr+200], flowgen.Drop(0))
		s.Server(f[hdr+200:], flowgen.Bytewise())
		if err := cw.drain(c, nil); err != nil {
			return Counts{}, err
		}
	}
	cw.counts.Conns, cw.counts.WebSocket = g.Conns, g.Conns
	return cw.close()
}

// session writes one complete WebSocket session: the Upgrade request for
// path with the extra header lines, the 101, a text message each way and
// the closing handshake.
func session(w io.Writer, seed int64, path string, req []string) (Counts, error) {
	cw, err := newWriter(w, false)
	if err != nil {
		return Counts{}, err
	}
	c := cw.capture(time.Time{})
	s := open(c, seed, 0, path, req, nil)
	s.Client(s.cf(flowgen.Frame{Fin: true, Op: flowgen.OpText, Payload: []byte("hello from the client")}))
	s.Server(flowgen.Frames(flowgen.Frame{Fin: true, Op: flowgen.OpText, Payload: []byte("hello from the server")}))
	return cw.closeOne(c, s)
}

// BigCookie is one WebSocket session whose Upgrade request carries a
// Cookie header of Size bytes (browsers send heads that large).
type BigCookie struct {
	Size int
	Seed int64
}

func (g BigCookie) Write(w io.Writer) (Counts, error) {
	var b strings.Builder
	b.WriteString("Cookie: ")
	for i := 0; b.Len() < g.Size+8; i++ {
		fmt.Fprintf(&b, "c%d=%016x; ", i, rngOf(g.Seed, i).Uint64())
	}
	return session(w, g.Seed, "/cookie", []string{b.String()[:g.Size+8]})
}

// TabInPath is one WebSocket session whose request line has a tab in the
// path ("GET /chat\troom HTTP/1.1"), a malformed request line that
// servers accept.
type TabInPath struct {
	Seed int64
}

func (g TabInPath) Write(w io.Writer) (Counts, error) {
	return session(w, g.Seed, "/chat\troom", nil)
}

// ManyInterfaces is a pcapng file with Interfaces Interface Description
// Blocks and then one WebSocket session on the last interface.
type ManyInterfaces struct {
	Interfaces int
	Seed       int64
}

func (g ManyInterfaces) Write(w io.Writer) (Counts, error) {
	cw, err := newWriter(w, false)
	if err != nil {
		return Counts{}, err
	}
	for cw.iface+1 < g.Interfaces {
		id, err := cw.ng.AddInterface(pcapgo.NgInterface{LinkType: layers.LinkTypeEthernet, TimestampResolution: 9})
		if err != nil {
			return Counts{}, err
		}
		cw.iface = id
	}
	c := cw.capture(time.Time{})
	s := open(c, g.Seed, 0, "/iface", nil, nil)
	s.Server(flowgen.Frames(flowgen.Frame{Fin: true, Op: flowgen.OpText, Payload: []byte("on the last interface")}))
	return cw.closeOne(c, s)
}
