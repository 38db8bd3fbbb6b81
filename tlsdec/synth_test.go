package tlsdec

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"github.com/wscap/wscap/tlsdec/tlstest"
)

// Builders of hand-made TLS sessions, sealed with known secrets. They cover
// what Go's crypto/tls cannot be made to send (KeyUpdate, AES-256-GCM in
// TLS 1.3, encrypt_then_mac, fragmented handshakes).

func u16(v int) []byte { return binary.BigEndian.AppendUint16(nil, uint16(v)) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func rec(typ byte, vers uint16, body []byte) []byte {
	return cat([]byte{typ}, u16(int(vers)), u16(len(body)), body)
}

func hsMsg(typ byte, body []byte) []byte {
	return cat([]byte{typ, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}, body)
}

func ext(typ int, data []byte) []byte { return cat(u16(typ), u16(len(data)), data) }

func extList(exts ...[]byte) []byte { b := cat(exts...); return cat(u16(len(b)), b) }

func clientHelloMsg(random []byte, suites []uint16, exts ...[]byte) []byte {
	var cs []byte
	for _, s := range suites {
		cs = append(cs, u16(int(s))...)
	}
	sid := bytes.Repeat([]byte{0x5a}, 32)
	return hsMsg(hsClientHello, cat(u16(versionTLS12), random, []byte{32}, sid, u16(len(cs)), cs, []byte{1, 0}, extList(exts...)))
}

func serverHelloMsg(random []byte, suite uint16, exts ...[]byte) []byte {
	sid := bytes.Repeat([]byte{0x5a}, 32)
	return hsMsg(hsServerHello, cat(u16(versionTLS12), random, []byte{32}, sid, u16(int(suite)), []byte{0}, extList(exts...)))
}

func sniExt(name string) []byte {
	entry := cat([]byte{0}, u16(len(name)), []byte(name))
	return ext(extServerName, cat(u16(len(entry)), entry))
}

func alpnExt(protos ...string) []byte {
	var l []byte
	for _, p := range protos {
		l = append(append(l, byte(len(p))), p...)
	}
	return ext(extALPN, cat(u16(len(l)), l))
}

// seal protects one record the way a TLS stack does (the inverse of open).
func (rc *recordCipher) seal(typ byte, content []byte, pad int) []byte {
	defer func() { rc.seq++ }()
	if rc.version == versionTLS13 {
		inner := cat(content, []byte{typ}, make([]byte, pad))
		hdr := []byte{typeAppData, 3, 3, 0, 0}
		binary.BigEndian.PutUint16(hdr[3:], uint16(len(inner)+rc.aead.Overhead()))
		return rc.aead.Seal(hdr, rc.xorNonce(), inner, hdr)
	}
	hdr := []byte{typ, byte(rc.version >> 8), byte(rc.version), 0, 0}
	ad := bytes.Clone(rc.header12(hdr, len(content)))
	var body []byte
	switch {
	case rc.aead != nil && rc.s.bulk == bulkGCM:
		explicit := binary.BigEndian.AppendUint64(nil, rc.seq)
		copy(rc.nonce[:4], rc.iv)
		copy(rc.nonce[4:], explicit)
		body = rc.aead.Seal(explicit, rc.nonce[:], content, ad)
	case rc.aead != nil:
		body = rc.aead.Seal(nil, rc.xorNonce(), content, ad)
	default:
		mac := func(data []byte) []byte {
			rc.mac.Reset()
			rc.mac.Write(rc.header12(hdr, len(data)))
			rc.mac.Write(data)
			return rc.mac.Sum(nil)
		}
		pt := bytes.Clone(content)
		if !rc.etm {
			pt = append(pt, mac(content)...)
		}
		p := (aes.BlockSize-(len(pt)+1)%aes.BlockSize)%aes.BlockSize + aes.BlockSize*(pad%3)
		pt = append(pt, bytes.Repeat([]byte{byte(p)}, p+1)...)
		iv := rc.iv
		if rc.version >= versionTLS11 {
			iv = bytes.Repeat([]byte{byte(rc.seq) + 0x40}, aes.BlockSize)
			body = bytes.Clone(iv)
		}
		ct := make([]byte, len(pt))
		cipher.NewCBCEncrypter(rc.block, iv).CryptBlocks(ct, pt)
		if rc.version < versionTLS11 {
			rc.iv = ct[len(ct)-aes.BlockSize:]
		}
		body = append(body, ct...)
		if rc.etm {
			body = append(body, mac(body)...)
		}
	}
	binary.BigEndian.PutUint16(hdr[3:], uint16(len(body)))
	return cat(hdr, body)
}

// session is a hand-made transcript and what it should decrypt to.
type session struct {
	writes []tlstest.Write
	keylog []byte
	want   [2][]byte
}

func (s *session) add(fromServer bool, parts ...[]byte) {
	s.writes = append(s.writes, tlstest.Write{FromServer: fromServer, Data: cat(parts...)})
}

func secret(label string, n int) []byte {
	h := sha256.Sum256([]byte(label))
	return bytes.Repeat(h[:], 2)[:n]
}

var (
	synthCR = bytes.Repeat([]byte{0xc1}, 32)
	synthSR = bytes.Repeat([]byte{0x5e}, 32)
)

// synth13 builds a TLS 1.3 session with suite s: fragmented ClientHello,
// CCS compat records, ALPN in EncryptedExtensions, padded records and one
// KeyUpdate per direction.
func synth13(s *suite) *session {
	ss := &session{}
	n := s.prf().Size()
	sec := map[string][]byte{}
	for _, l := range []string{labelClientHS, labelServerHS, labelClientApp, labelServerApp} {
		sec[l] = secret(l+s.name, n)
		ss.keylog = fmt.Appendf(ss.keylog, "%s %x %x\n", l, synthCR, sec[l])
	}
	ch := clientHelloMsg(synthCR, []uint16{s.id}, sniExt("synth.test"), alpnExt("h2", "http/1.1"),
		ext(extSupportedVersions, []byte{2, 3, 4}))
	var chRecs []byte
	for len(ch) > 0 { // the ClientHello spans records of 7 bytes
		k := min(7, len(ch))
		chRecs, ch = append(chRecs, rec(typeHandshake, versionTLS10, ch[:k])...), ch[k:]
	}
	ss.add(false, chRecs)
	shs, chs := newCipher13(s, sec[labelServerHS]), newCipher13(s, sec[labelClientHS])
	sapp, capp := newCipher13(s, sec[labelServerApp]), newCipher13(s, sec[labelClientApp])
	ss.add(true, rec(typeHandshake, versionTLS12, serverHelloMsg(synthSR, s.id, ext(extSupportedVersions, []byte{3, 4}))),
		rec(typeCCS, versionTLS12, []byte{1}),
		shs.seal(typeHandshake, cat(hsMsg(hsEncryptedExtensions, extList(alpnExt("h2"))), hsMsg(hsCertificate, []byte{0, 0, 0, 0})), 0),
		shs.seal(typeHandshake, hsMsg(hsFinished, make([]byte, n)), 10),
		sapp.seal(typeAppData, []byte("half-rtt data "), 0))
	ss.add(false, rec(typeCCS, versionTLS12, []byte{1}), chs.seal(typeHandshake, hsMsg(hsFinished, make([]byte, n)), 0))
	ss.add(false, capp.seal(typeAppData, []byte("client one "), 3), capp.seal(typeHandshake, hsMsg(hsKeyUpdate, []byte{1}), 0))
	capp = capp.next()
	ss.add(false, capp.seal(typeAppData, []byte("client two"), 0))
	ss.add(true, sapp.seal(typeHandshake, hsMsg(hsKeyUpdate, []byte{0}), 0))
	sapp = sapp.next()
	ss.add(true, sapp.seal(typeAppData, bytes.Repeat([]byte("big "), 4096), 255), sapp.seal(typeAppData, nil, 5))
	ss.add(false, capp.seal(typeAlert, []byte{1, 0}, 0))
	ss.add(true, sapp.seal(typeAlert, []byte{1, 0}, 0))
	ss.want = [2][]byte{[]byte("client one client two"), cat([]byte("half-rtt data "), bytes.Repeat([]byte("big "), 4096))}
	return ss
}

// synth12 builds a full TLS 1.0-1.2 handshake with suite s.
func synth12(s *suite, version uint16, etm bool) *session {
	ss := &session{}
	master := secret("master"+s.name, 48)
	ss.keylog = fmt.Appendf(nil, "# comment\nCLIENT_RANDOM %s %x\n", hex.EncodeToString(synthCR), master)
	var exts [][]byte
	if etm {
		exts = append(exts, ext(extEncryptThenMAC, nil))
	}
	ss.add(false, rec(typeHandshake, versionTLS10, clientHelloMsg(synthCR, []uint16{s.id}, append(exts, sniExt("synth.test"))...)))
	sh := serverHelloMsg(synthSR, s.id, exts...)
	binary.BigEndian.PutUint16(sh[4:], version)
	ss.add(true, rec(typeHandshake, version, cat(sh, hsMsg(hsCertificate, []byte{0, 0, 0}), hsMsg(hsServerHelloDone, nil))))
	rcs := newCiphers12(s, version, master, synthCR, synthSR, etm)
	ss.add(false, rec(typeHandshake, version, hsMsg(16, []byte{0, 1, 2})), rec(typeCCS, version, []byte{1}),
		rcs[0].seal(typeHandshake, hsMsg(hsFinished, make([]byte, 12)), 0))
	ss.add(true, rec(typeCCS, version, []byte{1}), rcs[1].seal(typeHandshake, hsMsg(hsFinished, make([]byte, 12)), 1))
	for i := range 3 {
		ss.add(false, rcs[0].seal(typeAppData, fmt.Appendf(nil, "request %d;", i), i))
		ss.add(true, rcs[1].seal(typeAppData, bytes.Repeat([]byte{byte('a' + i)}, 1000*i+1), i))
		ss.want[0] = fmt.Appendf(ss.want[0], "request %d;", i)
		ss.want[1] = append(ss.want[1], bytes.Repeat([]byte{byte('a' + i)}, 1000*i+1)...)
	}
	ss.add(true, rcs[1].seal(typeAlert, []byte{1, 0}, 0))
	return ss
}
