package source

import (
	"encoding/binary"
)

// TLSSecrets is implemented by the [Source] of a pcapng file, whose
// Decryption Secrets Blocks can carry the TLS key log of the capture
// (written by editcap --inject-secrets or by Wireshark).
//
//	if ts, ok := src.(source.TLSSecrets); ok {
//		ts.OnTLSSecrets(func(keylog []byte) { keys.ReadFrom(bytes.NewReader(keylog)) })
//	}
type TLSSecrets interface {
	// TLSSecrets returns the NSS key log text of every TLS Decryption
	// Secrets Block read so far, each ending with a newline. The file is
	// read ahead of the packets Next returns, so a block is seen before
	// the packets that follow it.
	TLSSecrets() []byte
	// OnTLSSecrets makes f receive the key log text of each TLS Decryption
	// Secrets Block: at once for the blocks read so far, then for each
	// block as it is read, before Next returns a packet that follows it.
	// f must not keep the slice.
	OnTLSSecrets(f func(keylog []byte))
}

// pcapng block and secrets types (pcapng specification §4.7).
const (
	blockSHB        = 0x0A0D0D0A
	blockDSB        = 0x0000000A
	secretsTypeTLS  = 0x544c534b // "TLSK": NSS key log text
	byteOrderMagic  = 0x1A2B3C4D
	maxSecretsBlock = 16 << 20 // larger blocks are skipped
	maxSecrets      = 64 << 20 // key log text kept from one file
)

// ngScanner follows the block structure of a pcapng byte stream as the
// bytes are read (below pcapgo's reader, which skips Decryption Secrets
// Blocks) and collects the TLS key logs of Decryption Secrets Blocks. It
// only looks: a damaged stream stops it, and the reader reports the damage.
type ngScanner struct {
	hdr    [12]byte
	hn     int // bytes of hdr filled
	need   int // bytes of hdr the current block header needs: 8, or 12 for a section header
	order  binary.ByteOrder
	skip   int64  // bytes of the current block still to skip
	body   []byte // the current Decryption Secrets Block, being collected
	want   int    // body length of the current Decryption Secrets Block
	stop   bool
	tls    []byte // collected key log text
	notify func([]byte)
}

func newNgScanner() *ngScanner { return &ngScanner{need: 8} }

// Write consumes the next bytes of the stream.
func (s *ngScanner) Write(p []byte) {
	for len(p) > 0 && !s.stop {
		switch {
		case s.skip > 0:
			n := int(min(s.skip, int64(len(p))))
			s.skip -= int64(n)
			p = p[n:]
		case s.want > 0:
			n := min(s.want-len(s.body), len(p))
			s.body = append(s.body, p[:n]...)
			p = p[n:]
			if len(s.body) == s.want {
				s.secretsBlock(s.body)
				s.body, s.want = nil, 0
			}
		default:
			n := copy(s.hdr[s.hn:s.need], p)
			s.hn += n
			p = p[n:]
			if s.hn == s.need {
				s.header()
			}
		}
	}
}

// header handles a complete block header in s.hdr.
func (s *ngScanner) header() {
	if s.need == 8 && s.hdr[0] == 0x0A && s.hdr[1] == 0x0D && s.hdr[2] == 0x0D && s.hdr[3] == 0x0A {
		s.need = 12 // a section header: its byte order magic comes next
		return
	}
	hlen := s.need
	s.need, s.hn = 8, 0
	if hlen == 12 {
		switch {
		case binary.LittleEndian.Uint32(s.hdr[8:12]) == byteOrderMagic:
			s.order = binary.LittleEndian
		case binary.BigEndian.Uint32(s.hdr[8:12]) == byteOrderMagic:
			s.order = binary.BigEndian
		default:
			s.stop = true
			return
		}
	}
	if s.order == nil {
		s.stop = true // blocks before the first section header
		return
	}
	typ, length := s.order.Uint32(s.hdr[0:4]), s.order.Uint32(s.hdr[4:8])
	if length < 12 || length%4 != 0 || int64(length) < int64(hlen)+4 {
		s.stop = true
		return
	}
	rest := int64(length) - int64(hlen) // body and trailing length
	if typ == blockDSB && rest <= maxSecretsBlock {
		s.want = int(rest)
		s.body = make([]byte, 0, s.want)
		return
	}
	s.skip = rest
}

// secretsBlock handles the body of a Decryption Secrets Block: secrets
// type, secrets length, the secrets (padded to 4 bytes), options and the
// trailing block length.
func (s *ngScanner) secretsBlock(b []byte) {
	if len(b) < 8 || s.order.Uint32(b[0:4]) != secretsTypeTLS {
		return
	}
	n := s.order.Uint32(b[4:8])
	if uint64(n) > uint64(len(b)-8) || len(s.tls)+int(n)+1 > maxSecrets {
		return
	}
	start := len(s.tls)
	s.tls = append(s.tls, b[8:8+n]...)
	if len(s.tls) > start && s.tls[len(s.tls)-1] != '\n' {
		s.tls = append(s.tls, '\n')
	}
	if s.notify != nil && len(s.tls) > start {
		s.notify(s.tls[start:])
	}
}

// TLSSecrets implements [TLSSecrets].
func (s *file) TLSSecrets() []byte {
	if s.scan == nil {
		return nil
	}
	return s.scan.tls
}

// OnTLSSecrets implements [TLSSecrets].
func (s *file) OnTLSSecrets(f func(keylog []byte)) {
	if s.scan == nil {
		return
	}
	s.scan.notify = f
	if f != nil && len(s.scan.tls) > 0 {
		f(s.scan.tls)
	}
}
