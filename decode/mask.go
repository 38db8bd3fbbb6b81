package decode

import "encoding/binary"

// unmask XORs b in place with the masking key, starting at key byte pos
// (0..3), and returns the key position for the byte after b. It works a
// word at a time; unmaskSimple is the one-line reference it is tested
// against.
func unmask(b []byte, key [4]byte, pos int) int {
	pos &= 3
	n := len(b)
	if n < 16 {
		for i := range b {
			b[i] ^= key[(pos+i)&3]
		}
		return (pos + n) & 3
	}
	// Rotate the key so that byte 0 of a word lines up with b[0].
	var k [8]byte
	for i := range k {
		k[i] = key[(pos+i)&3]
	}
	k64 := binary.LittleEndian.Uint64(k[:])
	i := 0
	for ; i+32 <= n; i += 32 {
		v := b[i : i+32 : i+32]
		binary.LittleEndian.PutUint64(v[0:], binary.LittleEndian.Uint64(v[0:])^k64)
		binary.LittleEndian.PutUint64(v[8:], binary.LittleEndian.Uint64(v[8:])^k64)
		binary.LittleEndian.PutUint64(v[16:], binary.LittleEndian.Uint64(v[16:])^k64)
		binary.LittleEndian.PutUint64(v[24:], binary.LittleEndian.Uint64(v[24:])^k64)
	}
	for ; i+8 <= n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], binary.LittleEndian.Uint64(b[i:])^k64)
	}
	for ; i < n; i++ {
		b[i] ^= k[i&7]
	}
	return (pos + n) & 3
}

// unmaskSimple is the RFC 6455 §5.3 definition: j = i MOD 4,
// transformed-octet-i = original-octet-i XOR masking-key-octet-j.
func unmaskSimple(b []byte, key [4]byte, pos int) int {
	for i := range b {
		b[i] ^= key[(pos+i)&3]
	}
	return (pos + len(b)) & 3
}
