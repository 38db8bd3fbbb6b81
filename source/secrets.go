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
	// Secrets Block read so far, each ending with a newline. A block is
	// read before the packets that follow it are returned.
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

// secretsBlock handles the body of a Decryption Secrets Block: secrets
// type, secrets length, the secrets (padded to 4 bytes) and options.
func (s *file) secretsBlock(order binary.ByteOrder, b []byte) {
	if len(b) < 8 || order.Uint32(b[0:4]) != secretsTypeTLS {
		return
	}
	n := order.Uint32(b[4:8])
	s.smu.Lock()
	defer s.smu.Unlock()
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
	s.smu.Lock()
	defer s.smu.Unlock()
	return s.tls[:len(s.tls):len(s.tls)]
}

// OnTLSSecrets implements [TLSSecrets].
func (s *file) OnTLSSecrets(f func(keylog []byte)) {
	s.smu.Lock()
	defer s.smu.Unlock()
	s.notify = f
	if f != nil && len(s.tls) > 0 {
		f(s.tls)
	}
}
