package reassembly

import (
	tcpasm "github.com/gopacket/gopacket/reassembly"

	"github.com/wscap/wscap/decode"
	"github.com/wscap/wscap/tlsdec"
)

// tlsMode says whether a connection's bytes go to the decoder as they are
// or through a TLS layer. It is decided once per connection, by the first
// bytes of whichever side speaks first: a TLS client always does.
type tlsMode uint8

const (
	modeUnknown tlsMode = iota // no byte seen yet (or fewer than Detect needs)
	modePlain                  // not TLS: bytes go to the decoder unchanged
	modeTLS                    // TLS: bytes go through conn.tls, plaintext to the decoder
)

// preBytes holds the first bytes of a connection while they are too few
// for tlsdec.Detect (it needs 6).
type preBytes struct {
	buf  [5]byte
	n    int
	side decode.Side
	seg  decode.Seg
}

// tlsLayer is the TLS state of one connection.
type tlsLayer struct {
	dec       *tlsdec.Conn
	client    decode.Side     // side of the TLS client
	out       []tlsdec.Output // reused by every call of dec
	announced bool            // the KindTLS event was emitted
	info      *decode.TLSInfo // what the KindTLS event said
	hopeless  bool            // nothing more can be decrypted: stop feeding
}

// fromServer says whether side is the TLS server.
func (l *tlsLayer) fromServer(side decode.Side) bool { return side != l.client }

// feed passes the next in-order bytes of side on: to the decoder, or
// through the TLS layer once the connection is known to be TLS.
func (c *conn) feed(side decode.Side, p []byte, seg decode.Seg) {
	switch c.mode {
	case modePlain:
		c.decFeed(side, p, seg)
	case modeTLS:
		l := c.tls
		l.out = l.dec.Feed(l.out[:0], l.fromServer(side), p)
		c.tlsOut(side, seg)
	default:
		c.detect(side, p, seg)
	}
}

// detect decides the mode from the first bytes of the connection.
func (c *conn) detect(side decode.Side, p []byte, seg decode.Seg) {
	pre := &c.pre
	if pre.n > 0 && side != pre.side {
		// The other side spoke before the first one said enough: a TLS
		// client sends its whole ClientHello first.
		c.setPlain()
		c.decFeed(side, p, seg)
		return
	}
	var head [6]byte
	n := copy(head[:], pre.buf[:pre.n])
	n += copy(head[n:], p)
	switch tlsdec.Detect(head[:n]) {
	case 0: // fewer than 6 bytes so far
		if pre.n == 0 {
			pre.side, pre.seg = side, seg
		}
		pre.n += copy(pre.buf[pre.n:], p)
	case 1:
		c.mode = modeTLS
		c.tls = &tlsLayer{dec: tlsdec.NewConn(c.e.cfg.KeyLog), client: side}
		if s := c.e.cfg.Sessions; s != nil {
			c.tls.dec.SetSessions(s)
		}
		c.e.stats.TLS++
		if pre.n > 0 {
			c.feed(side, pre.buf[:pre.n], pre.seg)
			pre.n = 0
		}
		c.feed(side, p, seg)
	default:
		c.setPlain()
		c.decFeed(side, p, seg)
	}
}

// setPlain decides that the connection is not TLS and hands the decoder
// the bytes held so far.
func (c *conn) setPlain() {
	c.mode = modePlain
	if pre := &c.pre; pre.n > 0 {
		n := pre.n
		pre.n = 0
		c.decFeed(pre.side, pre.buf[:n], pre.seg)
	}
}

// gap reports n bytes of side lost from the capture.
func (c *conn) gap(side decode.Side, n int64, seg decode.Seg) {
	e := c.e
	e.stats.Gaps++
	e.stats.LostBytes += n
	switch c.mode {
	case modeTLS:
		// The TLS layer stops decrypting that direction: its plaintext
		// is lost from here on, which the tls_gap anomaly says.
		l := c.tls
		l.out = l.dec.Gap(l.out[:0], l.fromServer(side), n)
		c.tlsOut(side, seg)
		return
	case modeUnknown:
		c.setPlain()
	}
	c.decGap(side, n, seg)
}

// end reports that side ended.
func (c *conn) end(side decode.Side, seg decode.Seg) {
	switch c.mode {
	case modeTLS:
		l := c.tls
		if !l.hopeless {
			l.out = l.dec.End(l.out[:0], l.fromServer(side))
			c.tlsOut(side, seg)
		}
		if !l.announced {
			// The tls event comes before the connection's end events.
			c.announceTLS(seg)
		}
	case modeUnknown:
		if c.pre.n > 0 && c.pre.side == side {
			c.setPlain()
		}
	}
	c.decEnd(side, seg, c.endReason(side))
}

// opaqueEnd ends the direction dir of a TLS connection the engine no
// longer reassembles (see conn.idle) at its FIN or RST packet, the current
// one (a RST ends both directions): its end events then come in capture
// order and date its last packets, which the summary's duration needs.
// Plain connections never get here.
func (c *conn) opaqueEnd(dir tcpasm.TCPFlowDirection, rst bool) {
	side := c.dirSide[dirIndex(dir)]
	for _, s := range [2]decode.Side{side, side.Other()} {
		if h := &c.half[s]; !h.ended {
			h.ended = true
			c.end(s, c.e.curSeg)
		}
		if !rst {
			break
		}
	}
}

// close ends the connection (end of capture, or its 4-tuple was reused).
func (c *conn) close(seg decode.Seg) {
	switch c.mode {
	case modeTLS:
		l := c.tls
		for s := range 2 {
			if l.hopeless {
				break // reassembly stopped: records were cut on purpose
			}
			side := decode.Side(s)
			l.out = l.dec.End(l.out[:0], l.fromServer(side))
			c.tlsOut(side, seg)
		}
		if !l.announced {
			c.announceTLS(seg)
		}
	case modeUnknown:
		c.setPlain()
	}
	c.decClose(seg, c.closeReason())
}

// tlsOut hands what the TLS layer produced for side to the decoder:
// plaintext as bytes of side with seg, problems as anomalies. The KindTLS
// event comes first, once the session is known, which is when its first
// plaintext or problem shows up (or at the end).
func (c *conn) tlsOut(side decode.Side, seg decode.Seg) {
	l := c.tls
	stuck := false
	for i := range l.out {
		o := &l.out[i]
		if !l.announced {
			c.announceTLS(seg)
		}
		if o.Problem == nil {
			c.decFeed(side, o.Data, seg)
			continue
		}
		p := o.Problem
		if c.h2 != nil {
			// The connection is not WebSocket; its streams are: the
			// problem is theirs, and a direction that can no longer be
			// decrypted ends them (a frame it cut is stream_truncated).
			a := decode.Anomaly{Code: decode.Code(p.Code), Severity: decode.Severity(p.Severity), Detail: p.Detail, Ref: p.Ref}
			c.h2Report(side, a, seg)
			switch p.Code {
			case tlsdec.CodeGap, tlsdec.CodeAuthFailed, tlsdec.CodeTruncated:
				// The capture shows no more of the streams.
				c.h2End(side, seg, decode.EndCaptureEnd)
			}
			continue
		}
		switch p.Code {
		case tlsdec.CodeNoKey, tlsdec.CodeUnsupportedCipher, tlsdec.CodeMidstream:
			stuck = true
		}
		if p.Code == tlsdec.CodeNoKey && !c.e.haveKeys() {
			// Without a key log every TLS connection lacks its key: the
			// tls event (decrypted false) says it, and the summary counts
			// them, without one anomaly per connection.
			continue
		}
		c.report(side, decode.Anomaly{Code: decode.Code(p.Code), Severity: decode.Severity(p.Severity), Detail: p.Detail, Ref: p.Ref}, seg)
	}
	clear(l.out) // drop references to plaintext buffers and problems
	if stuck && !l.dec.Info().Decrypting {
		l.hopeless = true
	}
}

// announceTLS emits the connection's KindTLS event.
func (c *conn) announceTLS(seg decode.Seg) {
	l := c.tls
	l.announced = true
	in := l.dec.Info()
	info := &decode.TLSInfo{
		Client:       c.addr[l.client],
		Server:       c.addr[l.client.Other()],
		Version:      in.Version,
		Cipher:       in.Cipher,
		SNI:          in.SNI,
		ALPN:         in.ALPN,
		ClientRandom: in.ClientRandom,
		Decrypted:    in.Decrypting,
	}
	l.info = info
	e := c.e
	if info.Decrypted {
		e.stats.TLSDecrypted++
	} else if in.Resumed && in.Version != "TLS 1.3" && e.haveKeys() {
		e.stats.ResumedNoKey++
	}
	e.before(c)
	e.out = c.dec.TLS(e.out, info, seg)
	e.after(c)
}

// report appends an anomaly the TLS layer found in the bytes of side.
func (c *conn) report(side decode.Side, a decode.Anomaly, seg decode.Seg) {
	e := c.e
	e.before(c)
	e.out = c.dec.Report(e.out, side, a, seg)
	e.after(c)
}

// haveKeys reports whether the engine has TLS secrets to decrypt with.
func (e *Engine) haveKeys() bool {
	return e.cfg.KeyLog.HasSecrets()
}
