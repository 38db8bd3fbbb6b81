package tlsdec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"hash"

	"golang.org/x/crypto/chacha20poly1305"
)

// TLS protocol versions.
const (
	versionTLS10 = 0x0301
	versionTLS11 = 0x0302
	versionTLS12 = 0x0303
	versionTLS13 = 0x0304
)

func versionName(v uint16) string {
	switch v {
	case 0x0300:
		return "SSL 3.0"
	case versionTLS10, versionTLS11, versionTLS12, versionTLS13:
		return fmt.Sprintf("TLS 1.%d", v-versionTLS10)
	}
	return fmt.Sprintf("0x%04X", v)
}

type bulk uint8

const (
	bulkGCM bulk = iota
	bulkChaCha
	bulkCBC
)

// suite is a cipher suite this package decrypts.
type suite struct {
	id     uint16
	name   string
	tls13  bool
	bulk   bulk
	keyLen int
	mac    func() hash.Hash // CBC record MAC
	prf    func() hash.Hash // TLS 1.2 PRF / TLS 1.3 HKDF hash
}

var suites = []suite{
	{0x1301, "TLS_AES_128_GCM_SHA256", true, bulkGCM, 16, nil, sha256.New},
	{0x1302, "TLS_AES_256_GCM_SHA384", true, bulkGCM, 32, nil, sha512.New384},
	{0x1303, "TLS_CHACHA20_POLY1305_SHA256", true, bulkChaCha, 32, nil, sha256.New},

	{0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", false, bulkGCM, 16, nil, sha256.New},
	{0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", false, bulkGCM, 32, nil, sha512.New384},
	{0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", false, bulkGCM, 16, nil, sha256.New},
	{0xC02C, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", false, bulkGCM, 32, nil, sha512.New384},
	{0x009C, "TLS_RSA_WITH_AES_128_GCM_SHA256", false, bulkGCM, 16, nil, sha256.New},
	{0x009D, "TLS_RSA_WITH_AES_256_GCM_SHA384", false, bulkGCM, 32, nil, sha512.New384},
	{0x009E, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", false, bulkGCM, 16, nil, sha256.New},
	{0x009F, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", false, bulkGCM, 32, nil, sha512.New384},

	{0xCCA8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", false, bulkChaCha, 32, nil, sha256.New},
	{0xCCA9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", false, bulkChaCha, 32, nil, sha256.New},
	{0xCCAA, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", false, bulkChaCha, 32, nil, sha256.New},

	{0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA", false, bulkCBC, 16, sha1.New, sha256.New},
	{0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", false, bulkCBC, 32, sha1.New, sha256.New},
	{0x003C, "TLS_RSA_WITH_AES_128_CBC_SHA256", false, bulkCBC, 16, sha256.New, sha256.New},
	{0x003D, "TLS_RSA_WITH_AES_256_CBC_SHA256", false, bulkCBC, 32, sha256.New, sha256.New},
	{0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA", false, bulkCBC, 16, sha1.New, sha256.New},
	{0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA", false, bulkCBC, 32, sha1.New, sha256.New},
	{0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256", false, bulkCBC, 16, sha256.New, sha256.New},
	{0x006B, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", false, bulkCBC, 32, sha256.New, sha256.New},
	{0xC009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", false, bulkCBC, 16, sha1.New, sha256.New},
	{0xC00A, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", false, bulkCBC, 32, sha1.New, sha256.New},
	{0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", false, bulkCBC, 16, sha1.New, sha256.New},
	{0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", false, bulkCBC, 32, sha1.New, sha256.New},
	{0xC023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", false, bulkCBC, 16, sha256.New, sha256.New},
	{0xC024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", false, bulkCBC, 32, sha512.New384, sha512.New384},
	{0xC027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", false, bulkCBC, 16, sha256.New, sha256.New},
	{0xC028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", false, bulkCBC, 32, sha512.New384, sha512.New384},
}

func suiteByID(id uint16) *suite {
	for i := range suites {
		if suites[i].id == id {
			return &suites[i]
		}
	}
	return nil
}

// pHash is P_hash of RFC 5246 §5, XORed into out.
func pHash(h func() hash.Hash, secret, seed, out []byte) {
	mac := hmac.New(h, secret)
	mac.Write(seed)
	a := mac.Sum(nil) // A(1)
	for len(out) > 0 {
		mac.Reset()
		mac.Write(a)
		mac.Write(seed)
		b := mac.Sum(nil)
		for i := 0; i < len(b) && i < len(out); i++ {
			out[i] ^= b[i]
		}
		out = out[min(len(b), len(out)):]
		mac.Reset()
		mac.Write(a)
		a = mac.Sum(a[:0])
	}
}

// prf12 is the TLS 1.2 PRF (RFC 5246 §5) over hash h.
func prf12(h func() hash.Hash, secret []byte, label string, seed []byte, n int) []byte {
	out := make([]byte, n)
	pHash(h, secret, append([]byte(label), seed...), out)
	return out
}

// prf10 is the TLS 1.0/1.1 PRF (RFC 2246 §5): P_MD5 XOR P_SHA1 over the
// two (overlapping if odd) halves of the secret.
func prf10(secret []byte, label string, seed []byte, n int) []byte {
	out := make([]byte, n)
	ls := append([]byte(label), seed...)
	half := (len(secret) + 1) / 2
	pHash(md5.New, secret[:half], ls, out)
	pHash(sha1.New, secret[len(secret)-half:], ls, out)
	return out
}

// expandLabel is HKDF-Expand-Label of RFC 8446 §7.1.
func expandLabel(h func() hash.Hash, secret []byte, label string, context []byte, n int) []byte {
	info := make([]byte, 0, 4+6+len(label)+len(context))
	info = binary.BigEndian.AppendUint16(info, uint16(n))
	info = append(info, byte(6+len(label)))
	info = append(info, "tls13 "...)
	info = append(info, label...)
	info = append(info, byte(len(context)))
	info = append(info, context...)
	out, err := hkdf.Expand(h, secret, string(info), n)
	if err != nil { // only for n > 255*hash size, which never happens here
		return make([]byte, n)
	}
	return out
}

// recordCipher removes the protection of one direction's records.
type recordCipher struct {
	s       *suite
	version uint16
	aead    cipher.AEAD
	iv      []byte // TLS 1.3 and ChaCha: 12-byte IV; GCM 1.2: 4-byte salt; CBC TLS 1.0: chained IV
	block   cipher.Block
	mac     hash.Hash // CBC HMAC
	etm     bool      // encrypt_then_mac (RFC 7366)
	seq     uint64
	secret  []byte // TLS 1.3 traffic secret (for KeyUpdate)
	nonce   [12]byte
	scratch [13]byte // TLS 1.2 additional data / MAC header
}

func newAEAD(s *suite, key []byte) cipher.AEAD {
	var a cipher.AEAD
	var err error
	if s.bulk == bulkChaCha {
		a, err = chacha20poly1305.New(key)
	} else {
		var b cipher.Block
		if b, err = aes.NewCipher(key); err == nil {
			a, err = cipher.NewGCM(b)
		}
	}
	if err != nil {
		panic("tlsdec: " + err.Error()) // key sizes come from the suite table
	}
	return a
}

// newCipher13 derives a TLS 1.3 record cipher from a traffic secret.
func newCipher13(s *suite, secret []byte) *recordCipher {
	key := expandLabel(s.prf, secret, "key", nil, s.keyLen)
	return &recordCipher{s: s, version: versionTLS13, aead: newAEAD(s, key),
		iv: expandLabel(s.prf, secret, "iv", nil, 12), secret: secret}
}

// next returns the cipher after a KeyUpdate (RFC 8446 §7.2).
func (rc *recordCipher) next() *recordCipher {
	return newCipher13(rc.s, expandLabel(rc.s.prf, rc.secret, "traffic upd", nil, rc.s.prf().Size()))
}

// newCiphers12 derives the client and server record ciphers of TLS 1.0-1.2
// from the master secret (RFC 5246 §6.3).
func newCiphers12(s *suite, version uint16, master, clientRandom, serverRandom []byte, etm bool) [2]*recordCipher {
	macLen, ivLen := 0, 4
	switch s.bulk {
	case bulkChaCha:
		ivLen = 12
	case bulkCBC:
		macLen, ivLen = s.mac().Size(), aes.BlockSize
	}
	seed := append(append([]byte{}, serverRandom...), clientRandom...)
	n := 2*macLen + 2*s.keyLen + 2*ivLen
	var kb []byte
	if version >= versionTLS12 {
		kb = prf12(s.prf, master, "key expansion", seed, n)
	} else {
		kb = prf10(master, "key expansion", seed, n)
	}
	take := func(n int) []byte { b := kb[:n:n]; kb = kb[n:]; return b }
	macKeys := [2][]byte{take(macLen), take(macLen)}
	keys := [2][]byte{take(s.keyLen), take(s.keyLen)}
	ivs := [2][]byte{take(ivLen), take(ivLen)}
	var out [2]*recordCipher
	for i := range out {
		rc := &recordCipher{s: s, version: version, iv: ivs[i], etm: etm}
		if s.bulk == bulkCBC {
			rc.block, _ = aes.NewCipher(keys[i])
			rc.mac = hmac.New(s.mac, macKeys[i])
		} else {
			rc.aead = newAEAD(s, keys[i])
		}
		out[i] = rc
	}
	return out
}

// xorNonce sets rc.nonce to iv XOR the big-endian sequence number.
func (rc *recordCipher) xorNonce() []byte {
	copy(rc.nonce[:], rc.iv)
	for i := 0; i < 8; i++ {
		rc.nonce[4+i] ^= byte(rc.seq >> (56 - 8*i))
	}
	return rc.nonce[:]
}

// header12 fills the TLS 1.2 pseudo-header seq || type || version || length.
func (rc *recordCipher) header12(hdr []byte, n int) []byte {
	b := rc.scratch[:0]
	b = binary.BigEndian.AppendUint64(b, rc.seq)
	b = append(b, hdr[0], hdr[1], hdr[2])
	return binary.BigEndian.AppendUint16(b, uint16(n))
}

// open authenticates and decrypts one record (hdr is its 5-byte header),
// appending the plaintext to dst. It returns the content type (the inner
// type for TLS 1.3), the plaintext (a subslice of the result of append) and
// whether the record authenticated. dst must not overlap body.
func (rc *recordCipher) open(dst, hdr, body []byte) (typ uint8, plain []byte, ok bool) {
	typ = hdr[0]
	var err error
	switch {
	case rc.version == versionTLS13:
		if plain, err = rc.aead.Open(dst, rc.xorNonce(), body, hdr); err != nil {
			return 0, nil, false
		}
		plain = plain[len(dst):]
		i := len(plain) - 1
		for i >= 0 && plain[i] == 0 {
			i--
		}
		if i < 0 { // no content type: treated as failed (RFC 8446 §5.4 says unexpected_message)
			return 0, nil, false
		}
		typ, plain = plain[i], plain[:i]
	case rc.aead != nil && rc.s.bulk == bulkGCM:
		if len(body) < 8+rc.aead.Overhead() {
			return 0, nil, false
		}
		copy(rc.nonce[:4], rc.iv)
		copy(rc.nonce[4:], body[:8])
		ad := rc.header12(hdr, len(body)-8-rc.aead.Overhead())
		if plain, err = rc.aead.Open(dst, rc.nonce[:], body[8:], ad); err != nil {
			return 0, nil, false
		}
		plain = plain[len(dst):]
	case rc.aead != nil:
		if len(body) < rc.aead.Overhead() {
			return 0, nil, false
		}
		ad := rc.header12(hdr, len(body)-rc.aead.Overhead())
		if plain, err = rc.aead.Open(dst, rc.xorNonce(), body, ad); err != nil {
			return 0, nil, false
		}
		plain = plain[len(dst):]
	default:
		if plain, ok = rc.openCBC(dst, hdr, body); !ok {
			return 0, nil, false
		}
	}
	rc.seq++
	return typ, plain, true
}

// openCBC handles AES-CBC with HMAC, MAC-then-encrypt or (RFC 7366)
// encrypt-then-MAC, with an explicit IV from TLS 1.1 on.
func (rc *recordCipher) openCBC(dst, hdr, body []byte) ([]byte, bool) {
	macLen := rc.mac.Size()
	var tag []byte
	if rc.etm {
		if len(body) < macLen {
			return nil, false
		}
		body, tag = body[:len(body)-macLen], body[len(body)-macLen:]
		if !rc.checkMAC(hdr, body, tag) {
			return nil, false
		}
	}
	iv := rc.iv
	if rc.version >= versionTLS11 {
		if len(body) < aes.BlockSize {
			return nil, false
		}
		iv, body = body[:aes.BlockSize], body[aes.BlockSize:]
	}
	if len(body) == 0 || len(body)%aes.BlockSize != 0 {
		return nil, false
	}
	out := append(dst, body...) // same length, then decrypted in place
	pt := out[len(dst):]
	var next []byte
	if rc.version < versionTLS11 {
		next = append(next, body[len(body)-aes.BlockSize:]...)
	}
	cipher.NewCBCDecrypter(rc.block, iv).CryptBlocks(pt, pt)
	pad := int(pt[len(pt)-1])
	if pad+1 > len(pt) {
		return nil, false
	}
	for _, b := range pt[len(pt)-pad-1:] {
		if int(b) != pad {
			return nil, false
		}
	}
	pt = pt[:len(pt)-pad-1]
	if !rc.etm {
		if len(pt) < macLen {
			return nil, false
		}
		pt, tag = pt[:len(pt)-macLen], pt[len(pt)-macLen:]
		if !rc.checkMAC(hdr, pt, tag) {
			return nil, false
		}
	}
	if rc.version < versionTLS11 {
		rc.iv = next
	}
	return pt, true
}

func (rc *recordCipher) checkMAC(hdr, data, tag []byte) bool {
	rc.mac.Reset()
	rc.mac.Write(rc.header12(hdr, len(data)))
	rc.mac.Write(data)
	var sum [64]byte
	return hmac.Equal(rc.mac.Sum(sum[:0]), tag)
}
