package tlsdec

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
)

// Limits.
const (
	maxRecord    = 1<<14 + 2048 // largest TLSCiphertext fragment (RFC 5246 §6.2.3)
	maxHandshake = 64 << 10     // largest handshake message buffered
	// maxEarlyRecords bounds the client records that may fail to decrypt
	// with the handshake keys because they are 0-RTT data.
	maxEarlyRecords = 1024
)

// Record content types.
const (
	typeCCS       = 20
	typeAlert     = 21
	typeHandshake = 22
	typeAppData   = 23
	typeHeartbeat = 24
)

// Output is one result of [Conn.Feed]: decrypted application data, or a
// problem. Exactly one of the fields is set.
type Output struct {
	// Data is application data plaintext. It points into a buffer of the
	// Conn and is valid only until the next call of a Conn method.
	Data    []byte
	Problem *Problem
}

// Info sums up what the handshake said, for the summary.
type Info struct {
	Version      string   // negotiated version, "TLS 1.2" or "TLS 1.3" ("" until the ServerHello)
	Cipher       string   // IANA name of the negotiated suite, or its number as "0x1234"
	SNI          string   // server_name the client sent
	ALPN         string   // protocol the server selected ("" if none)
	ClientRandom string   // hex; the key log lookup key
	Decrypting   bool     // a direction is still decrypted, with keys its records authenticated under
	Resumed      bool     // the handshake resumed a session (TLS 1.2 abbreviated, TLS 1.3 PSK)
	HelloRetry   bool     // the server sent a HelloRetryRequest
	EarlyData    bool     // the client offered 0-RTT data (never decrypted)
	KeyUpdates   int      // TLS 1.3 KeyUpdate messages, both directions
	CloseNotify  [2]bool  // close_notify seen from the client [0] and the server [1]
	Records      [2]int64 // records seen from the client and the server
	AppBytes     [2]int64 // application data bytes decrypted from the client and the server
}

// half is the state of one direction.
type half struct {
	hdr     [5]byte
	nhdr    int    // bytes of hdr filled
	body    []byte // partial record body
	hs      []byte // partial handshake messages
	rc      *recordCipher
	app     bool // TLS 1.3: rc holds application traffic keys
	dark    bool // records are protected but there are no keys: skip them
	skipped int  // TLS 1.3 0-RTT records skipped
	stopped bool // nothing more is decoded (gap, auth failure, malformed, midstream)
	// verified: a record of this direction authenticated (AEAD tag or MAC)
	// under keys from the key log, so the keys are the right ones.
	verified bool
}

// Conn decrypts one TLS connection. Feed it the reassembled bytes of each
// direction in capture order; it is not safe for concurrent use.
type Conn struct {
	keys *KeyLog
	sess Sessions // TLS 1.2 sessions to resume (keys unless SetSessions)
	h    [2]half  // [0] sent by the TLS client, [1] by the server
	info Info

	cr, sr                []byte // client and server random
	chSessionID, chTicket []byte // from the ClientHello (TLS 1.2 resumption)
	shSessionID, ticket   []byte // from the ServerHello / NewSessionTicket
	version               uint16
	suite                 *suite
	master                []byte
	haveCH, haveSH, hrr   bool
	etmOffered, etm       bool
	fullHandshake         bool // the server sent Certificate/ServerKeyExchange/ServerHelloDone
	noKey, unsupported    bool // reported once per connection
	midstream             bool

	arena []byte // decrypted data of the current call
}

// NewConn returns a Conn that takes its secrets from keys (which may be
// nil: nothing is decrypted, but the handshake is still parsed).
func NewConn(keys *KeyLog) *Conn { return &Conn{keys: keys, sess: keys} }

// SetSessions makes the Conn remember and resume TLS 1.2 sessions in s
// instead of its KeyLog (see [Sessions]). Call it before the first Feed.
func (c *Conn) SetSessions(s Sessions) { c.sess = s }

var dirNames = [2]string{"client", "server"}

func dirIndex(fromServer bool) int {
	if fromServer {
		return 1
	}
	return 0
}

// Detect reports whether b starts like a TLS record carrying a ClientHello:
// 1 yes, 0 not enough bytes to tell, -1 no.
func Detect(b []byte) int {
	for i, x := range b[:min(len(b), 6)] {
		switch {
		case i == 0 && x != typeHandshake, i == 1 && x != 3, i == 2 && x > 4, i == 5 && x != hsClientHello:
			return -1
		case i == 4:
			if n := binary.BigEndian.Uint16(b[3:5]); n == 0 || n > maxRecord {
				return -1
			}
		}
	}
	if len(b) < 6 {
		return 0
	}
	return 1
}

// Info returns what is known about the connection so far.
func (c *Conn) Info() Info {
	in := c.info
	in.Decrypting = false
	for i := range c.h {
		if h := &c.h[i]; h.rc != nil && h.verified && !h.stopped {
			in.Decrypting = true
		}
	}
	return in
}

// Feed consumes the next in-order bytes sent by the TLS client
// (fromServer=false) or the server and appends to dst the application data
// it decrypted and the problems it found. Feed never fails and keeps no
// reference to p.
func (c *Conn) Feed(dst []Output, fromServer bool, p []byte) []Output {
	c.arena = c.arena[:0]
	d := dirIndex(fromServer)
	h := &c.h[d]
	for !h.stopped {
		if h.nhdr < len(h.hdr) {
			if len(p) == 0 {
				break
			}
			n := copy(h.hdr[h.nhdr:], p)
			h.nhdr += n
			p = p[n:]
			if h.nhdr < len(h.hdr) {
				break
			}
			if t, v, n := h.hdr[0], binary.BigEndian.Uint16(h.hdr[1:]), binary.BigEndian.Uint16(h.hdr[3:]); t < typeCCS || t > typeHeartbeat || v>>8 != 3 || v&0xff > 4 || n > maxRecord {
				if c.info.Records[d] == 0 && !c.haveCH {
					dst = c.toMidstream(dst, d, fmt.Sprintf("% x, which is not a TLS record header (the capture starts inside a record, or this is not TLS),", h.hdr))
				} else {
					dst = c.stop(dst, d, newProblem(CodeMalformed, "the %s's record header % x is not a TLS record header (type %d, version 0x%04X, length %d)", dirNames[d], h.hdr, t, v, n))
				}
				break
			}
		}
		need := int(binary.BigEndian.Uint16(h.hdr[3:]))
		var body []byte
		if len(h.body) == 0 && len(p) >= need {
			body, p = p[:need], p[need:]
		} else {
			if len(p) == 0 {
				break
			}
			if cap(h.body) < need { // need was checked against maxRecord
				h.body = append(make([]byte, 0, need), h.body...)
			}
			n := min(need-len(h.body), len(p))
			h.body = append(h.body, p[:n]...)
			p = p[n:]
			if len(h.body) < need {
				break
			}
			body = h.body
		}
		h.nhdr, h.body = 0, h.body[:0] // body stays intact until the next Feed
		dst = c.record(dst, d, h.hdr[:], body)
	}
	return dst
}

// Gap tells the Conn that n bytes of a direction are missing from the
// capture. That direction is not decoded any further; the problem is
// appended to dst (once).
func (c *Conn) Gap(dst []Output, fromServer bool, n int64) []Output {
	d := dirIndex(fromServer)
	if c.h[d].stopped {
		return dst
	}
	return c.stop(dst, d, newProblem(CodeGap, "%d bytes sent by the %s are missing from the capture; the direction is not decrypted further", n, dirNames[d]))
}

// End tells the Conn that a direction ended (FIN, RST or end of capture).
// A record cut short is reported.
func (c *Conn) End(dst []Output, fromServer bool) []Output {
	d := dirIndex(fromServer)
	h := &c.h[d]
	if h.stopped || h.nhdr == 0 {
		return dst
	}
	have, want := h.nhdr, len(h.hdr)
	if h.nhdr == len(h.hdr) {
		have, want = len(h.hdr)+len(h.body), len(h.hdr)+int(binary.BigEndian.Uint16(h.hdr[3:]))
	}
	return c.stop(dst, d, newProblem(CodeTruncated, "the %s's bytes end inside a TLS record (%d of %d bytes)", dirNames[d], have, want))
}

func (c *Conn) stop(dst []Output, d int, p *Problem) []Output {
	c.h[d].stopped = true
	c.h[d].hs = nil
	if p != nil {
		dst = append(dst, Output{Problem: p})
	}
	return dst
}

// toMidstream gives up on the connection: it was picked up after its
// handshake.
func (c *Conn) toMidstream(dst []Output, d int, what string) []Output {
	c.midstream = true
	c.h[1-d].stopped = true
	return c.stop(dst, d, newProblem(CodeMidstream, "the %s sent %s before the handshake was seen; the connection cannot be decrypted", dirNames[d], what))
}

// record handles one complete record.
func (c *Conn) record(dst []Output, d int, hdr, body []byte) []Output {
	h := &c.h[d]
	c.info.Records[d]++
	typ, plain := hdr[0], body
	switch {
	case typ == typeCCS:
		// TLS 1.2 switches to the pending keys; TLS 1.3 sends it only
		// for middlebox compatibility (RFC 8446 §D.4).
		if c.haveSH && c.version < versionTLS13 {
			dst = c.changeCipher(dst, d)
		}
		return dst
	case h.rc != nil && (c.version != versionTLS13 || typ == typeAppData):
		// (A TLS 1.3 record of another outer type is a plaintext alert
		// from a peer that failed before it had keys.)
		c.arena = slices.Grow(c.arena, len(body))
		t, p, ok := h.rc.open(c.arena[len(c.arena):], hdr, body)
		if !ok {
			if d == 0 && c.info.EarlyData && !h.app && h.skipped < maxEarlyRecords {
				h.skipped++
				return dst // 0-RTT data or EndOfEarlyData under keys we do not have
			}
			keys := "handshake"
			if h.app || c.version < versionTLS13 {
				keys = "traffic"
			}
			return c.stop(dst, d, newProblem(CodeAuthFailed, "%s record %d (%d bytes) fails authentication with the %s keys of the key log; the direction is not decrypted further", dirNames[d], h.rc.seq, len(body), keys))
		}
		c.arena = c.arena[:len(c.arena)+len(p)]
		typ, plain = t, p
		h.verified = true
	case h.dark:
		return dst
	case typ == typeAppData && d == 0 && c.info.EarlyData && !c.haveSH:
		return dst // 0-RTT data
	case typ == typeAppData && !c.haveSH:
		return c.toMidstream(dst, d, "application data")
	case typ == typeAppData:
		return c.stop(dst, d, newProblem(CodeMalformed, "the %s sent application data before its keys were established", dirNames[d]))
	}
	switch typ {
	case typeHandshake:
		return c.handshake(dst, d, plain)
	case typeAlert:
		return c.alert(dst, d, plain)
	case typeAppData:
		if len(plain) > 0 {
			c.info.AppBytes[d] += int64(len(plain))
			dst = append(dst, Output{Data: plain})
		}
	}
	return dst
}

func (c *Conn) alert(dst []Output, d int, b []byte) []Output {
	if len(b) == 0 || len(b)%2 != 0 {
		if !c.haveSH {
			return c.toMidstream(dst, d, "a protected alert")
		}
		return c.stop(dst, d, newProblem(CodeMalformed, "the %s sent an alert record of %d bytes (alerts are 2 bytes)", dirNames[d], len(b)))
	}
	for ; len(b) >= 2; b = b[2:] {
		if b[1] == 0 {
			c.info.CloseNotify[d] = true
			continue
		}
		level := "warning"
		if b[0] == 2 {
			level = "fatal"
		}
		dst = append(dst, Output{Problem: newProblem(CodeAlert, "the %s sent a %s alert: %s (%d)", dirNames[d], level, alertName(b[1]), b[1])})
	}
	return dst
}

// handshake buffers handshake bytes and handles each complete message.
func (c *Conn) handshake(dst []Output, d int, b []byte) []Output {
	h := &c.h[d]
	h.hs = append(h.hs, b...)
	off := 0
	for len(h.hs)-off >= 4 {
		m := h.hs[off:]
		n := int(m[1])<<16 | int(m[2])<<8 | int(m[3])
		if n > maxHandshake {
			return c.stop(dst, d, newProblem(CodeMalformed, "the %s sent a handshake message of type %d claiming %d bytes (limit %d)", dirNames[d], m[0], n, maxHandshake))
		}
		if len(m) < 4+n {
			break
		}
		off += 4 + n
		dst = c.handshakeMsg(dst, d, m[0], m[4:4+n])
		if h.stopped {
			return dst
		}
	}
	h.hs = append(h.hs[:0], h.hs[off:]...)
	return dst
}

func (c *Conn) handshakeMsg(dst []Output, d int, typ uint8, body []byte) []Output {
	malformed := func(what string) []Output {
		return c.stop(dst, d, newProblem(CodeMalformed, "the %s's %s (%d bytes) is malformed", dirNames[d], what, len(body)))
	}
	switch {
	case d == 0 && typ == hsClientHello:
		ch, ok := parseClientHello(body)
		if !ok {
			return malformed("ClientHello")
		}
		// A new ClientHello (after a HelloRetryRequest, or a TLS 1.2
		// renegotiation) starts a new key exchange.
		c.haveCH, c.haveSH, c.cr, c.master, c.fullHandshake = true, false, ch.random, nil, false
		c.chSessionID, c.chTicket, c.etmOffered = ch.sessionID, ch.ticket, ch.etm
		c.info.ClientRandom, c.info.SNI, c.info.EarlyData = hex.EncodeToString(ch.random), ch.sni, ch.earlyData
	case d == 0 && !c.haveCH:
		return c.toMidstream(dst, d, fmt.Sprintf("handshake message %d", typ))
	case d == 1 && typ == hsServerHello:
		sh, ok := parseServerHello(body)
		if !ok {
			return malformed("ServerHello")
		}
		if !c.haveCH {
			return c.toMidstream(dst, d, "a ServerHello")
		}
		if bytes.Equal(sh.random, hrrRandom[:]) {
			c.hrr, c.info.HelloRetry = true, true
			return dst
		}
		return c.serverHello(dst, sh)
	case d == 1 && !c.haveSH:
		return c.toMidstream(dst, d, fmt.Sprintf("handshake message %d", typ))
	case c.version == versionTLS13 && typ == hsFinished:
		return c.install13(dst, d, true)
	case c.version == versionTLS13 && typ == hsKeyUpdate && c.h[d].rc != nil:
		if len(body) != 1 {
			return malformed("KeyUpdate")
		}
		c.info.KeyUpdates++
		c.h[d].rc = c.h[d].rc.next()
	case d == 1 && typ == hsEncryptedExtensions:
		alpn, ok := parseEncryptedExtensions(body)
		if !ok {
			return malformed("EncryptedExtensions")
		}
		c.info.ALPN = alpn
	case d == 1 && typ == hsNewSessionTicket && c.version < versionTLS13:
		t, ok := parseTicket12(body)
		if !ok {
			return malformed("NewSessionTicket")
		}
		c.ticket = t
		c.rememberSession()
	case d == 1 && (typ == hsCertificate || typ == hsServerKeyExchange || typ == hsServerHelloDone):
		c.fullHandshake = true
	}
	return dst
}

func (c *Conn) serverHello(dst []Output, sh serverHello) []Output {
	c.haveSH, c.sr, c.version, c.shSessionID = true, sh.random, sh.version, sh.sessionID
	c.suite = suiteByID(sh.suite)
	c.etm = c.etmOffered && sh.etm
	c.info.Version = versionName(sh.version)
	c.info.Cipher = fmt.Sprintf("0x%04X", sh.suite)
	if c.suite != nil {
		c.info.Cipher = c.suite.name
	}
	if sh.alpn != "" {
		c.info.ALPN = sh.alpn
	}
	c.info.Resumed = sh.psk || (len(sh.sessionID) > 0 && bytes.Equal(sh.sessionID, c.chSessionID) && c.version < versionTLS13)
	ok := c.suite != nil && c.version >= versionTLS10 && c.version <= versionTLS13 &&
		c.suite.tls13 == (c.version == versionTLS13) && (c.suite.bulk == bulkCBC || c.version >= versionTLS12)
	if !ok {
		c.unsupported = true
		c.h[0].dark, c.h[1].dark = true, true
		return append(dst, Output{Problem: newProblem(CodeUnsupportedCipher, "the server chose %s with %s, which wscap does not decrypt", c.info.Version, c.info.Cipher)})
	}
	if c.version == versionTLS13 {
		dst = c.install13(dst, 0, false)
		dst = c.install13(dst, 1, false)
	}
	return dst
}

// install13 sets the TLS 1.3 handshake (app=false) or first application
// traffic keys of direction d from the key log.
func (c *Conn) install13(dst []Output, d int, app bool) []Output {
	h := &c.h[d]
	if c.unsupported || (app && h.app) {
		return dst
	}
	labels := [2][2]string{{labelClientHS, labelServerHS}, {labelClientApp, labelServerApp}}
	pick := func(s *secrets) []byte {
		return [2][2][]byte{{s.clientHS, s.serverHS}, {s.clientApp, s.serverApp}}[b2i(app)][d]
	}
	s, ok := c.keys.lookup(c.cr, func(s *secrets) bool { return len(pick(s)) > 0 })
	if !ok {
		h.rc, h.dark = nil, true
		return c.reportNoKey(dst, labels[b2i(app)][d])
	}
	h.rc, h.app = newCipher13(c.suite, pick(&s)), app
	return dst
}

// changeCipher activates the TLS 1.0-1.2 keys of direction d.
func (c *Conn) changeCipher(dst []Output, d int) []Output {
	if c.unsupported {
		return dst
	}
	if !c.fullHandshake {
		c.info.Resumed = true
	}
	if c.master == nil {
		if s, ok := c.keys.lookup(c.cr, func(s *secrets) bool { return len(s.master) > 0 }); ok {
			c.master = s.master
		} else if c.info.Resumed {
			c.master = c.sess.Session('t', c.chTicket)
			if c.master == nil && bytes.Equal(c.shSessionID, c.chSessionID) {
				c.master = c.sess.Session('i', c.chSessionID)
			}
		}
		if c.master == nil {
			c.h[d].rc, c.h[d].dark = nil, true
			return c.reportNoKey(dst, labelTLS12)
		}
		c.rememberSession()
	}
	c.h[d].rc = newCiphers12(c.suite, c.version, c.master, c.cr, c.sr, c.etm)[d]
	c.h[d].dark = false
	return dst
}

// rememberSession lets later connections resume this one's session.
func (c *Conn) rememberSession() {
	if c.master != nil {
		c.sess.Remember('t', c.ticket, c.master)
		c.sess.Remember('i', c.shSessionID, c.master)
	}
}

func (c *Conn) reportNoKey(dst []Output, label string) []Output {
	if c.noKey {
		return dst
	}
	c.noKey = true
	return append(dst, Output{Problem: newProblem(CodeNoKey, "the key log has no %s for client random %s", label, c.info.ClientRandom)})
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
