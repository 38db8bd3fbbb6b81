package tlsdec

import (
	"bytes"
	"crypto/sha256"

	"golang.org/x/crypto/cryptobyte"
)

// Handshake message types (RFC 8446 §4, RFC 5246 §7.4).
const (
	hsClientHello         = 1
	hsServerHello         = 2
	hsNewSessionTicket    = 4
	hsEncryptedExtensions = 8
	hsCertificate         = 11
	hsServerKeyExchange   = 12
	hsServerHelloDone     = 14
	hsFinished            = 20
	hsKeyUpdate           = 24
)

// Extension numbers.
const (
	extServerName        = 0
	extALPN              = 16
	extEncryptThenMAC    = 22
	extSessionTicket     = 35
	extPreSharedKey      = 41
	extEarlyData         = 42
	extSupportedVersions = 43
)

// hrrRandom marks a HelloRetryRequest (RFC 8446 §4.1.3).
var hrrRandom = sha256.Sum256([]byte("HelloRetryRequest"))

type clientHello struct {
	random, sessionID, ticket []byte
	sni                       string
	alpn                      []string
	etm, earlyData            bool
}

type serverHello struct {
	version           uint16
	random, sessionID []byte
	suite             uint16
	alpn              string
	etm, psk          bool
}

// eachExtension calls f for each extension of the optional extension
// block that ends s. It reports false if the block is malformed or f does.
func eachExtension(s cryptobyte.String, f func(typ uint16, data cryptobyte.String) bool) bool {
	if s.Empty() {
		return true
	}
	var exts cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&exts) || !s.Empty() {
		return false
	}
	for !exts.Empty() {
		var typ uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&data) || !f(typ, data) {
			return false
		}
	}
	return true
}

// readALPN parses a ProtocolNameList (RFC 7301 §3.1).
func readALPN(data cryptobyte.String) ([]string, bool) {
	var list cryptobyte.String
	if !data.ReadUint16LengthPrefixed(&list) || !data.Empty() {
		return nil, false
	}
	var out []string
	for !list.Empty() {
		var name cryptobyte.String
		if !list.ReadUint8LengthPrefixed(&name) {
			return nil, false
		}
		out = append(out, string(name))
	}
	return out, true
}

func parseClientHello(b []byte) (ch clientHello, ok bool) {
	s := cryptobyte.String(b)
	var vers uint16
	var random []byte
	var sid, suites, comp cryptobyte.String
	if !s.ReadUint16(&vers) || !s.ReadBytes(&random, 32) || !s.ReadUint8LengthPrefixed(&sid) ||
		!s.ReadUint16LengthPrefixed(&suites) || !s.ReadUint8LengthPrefixed(&comp) {
		return ch, false
	}
	ch.random, ch.sessionID = bytes.Clone(random), bytes.Clone(sid)
	ok = eachExtension(s, func(typ uint16, data cryptobyte.String) bool {
		switch typ {
		case extServerName:
			var list cryptobyte.String
			if !data.ReadUint16LengthPrefixed(&list) {
				return false
			}
			for !list.Empty() {
				var kind uint8
				var name cryptobyte.String
				if !list.ReadUint8(&kind) || !list.ReadUint16LengthPrefixed(&name) {
					return false
				}
				if kind == 0 {
					ch.sni = string(name)
				}
			}
		case extALPN:
			var ok bool
			ch.alpn, ok = readALPN(data)
			return ok
		case extEncryptThenMAC:
			ch.etm = true
		case extSessionTicket:
			ch.ticket = bytes.Clone(data)
		case extEarlyData:
			ch.earlyData = true
		}
		return true
	})
	return ch, ok
}

func parseServerHello(b []byte) (sh serverHello, ok bool) {
	s := cryptobyte.String(b)
	var random []byte
	var sid cryptobyte.String
	var comp uint8
	if !s.ReadUint16(&sh.version) || !s.ReadBytes(&random, 32) || !s.ReadUint8LengthPrefixed(&sid) ||
		!s.ReadUint16(&sh.suite) || !s.ReadUint8(&comp) {
		return sh, false
	}
	sh.random, sh.sessionID = bytes.Clone(random), bytes.Clone(sid)
	ok = eachExtension(s, func(typ uint16, data cryptobyte.String) bool {
		switch typ {
		case extSupportedVersions:
			return data.ReadUint16(&sh.version) && data.Empty()
		case extALPN:
			names, ok := readALPN(data)
			if ok && len(names) == 1 {
				sh.alpn = names[0]
			}
			return ok
		case extEncryptThenMAC:
			sh.etm = true
		case extPreSharedKey:
			sh.psk = true
		}
		return true
	})
	return sh, ok
}

// parseEncryptedExtensions returns the ALPN protocol a TLS 1.3 server
// selected.
func parseEncryptedExtensions(b []byte) (alpn string, ok bool) {
	ok = eachExtension(cryptobyte.String(b), func(typ uint16, data cryptobyte.String) bool {
		if typ == extALPN {
			names, ok := readALPN(data)
			if ok && len(names) == 1 {
				alpn = names[0]
			}
			return ok
		}
		return true
	})
	return alpn, ok
}

// parseTicket12 returns the ticket of a TLS 1.2 NewSessionTicket (RFC 5077 §3.3).
func parseTicket12(b []byte) ([]byte, bool) {
	s := cryptobyte.String(b)
	var lifetime uint32
	var ticket cryptobyte.String
	if !s.ReadUint32(&lifetime) || !s.ReadUint16LengthPrefixed(&ticket) || !s.Empty() {
		return nil, false
	}
	return bytes.Clone(ticket), true
}
