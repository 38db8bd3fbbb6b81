package decode

import "encoding/binary"

// maxHeaderLen is the longest frame header: 2 + 8 (64-bit length) + 4 (mask).
const maxHeaderLen = 14

// parseHeader parses the frame header at the start of b. It returns n == 0
// when b does not yet hold the whole header (bufio.SplitFunc style). It
// never rejects anything: every bit pattern is some header, and judging it
// is checkHeader's job.
func parseHeader(b []byte) (h Header, n int) {
	if len(b) < 2 {
		return h, 0
	}
	h.Fin = b[0]&0x80 != 0
	h.Rsv = (b[0] >> 4) & 0x7
	h.Opcode = Opcode(b[0] & 0x0F)
	h.Masked = b[1]&0x80 != 0
	n = 2
	switch l := b[1] & 0x7F; l {
	case 126:
		if len(b) < 4 {
			return h, 0
		}
		h.PayloadLen = uint64(binary.BigEndian.Uint16(b[2:]))
		h.LenBits = 16
		n = 4
	case 127:
		if len(b) < 10 {
			return h, 0
		}
		h.PayloadLen = binary.BigEndian.Uint64(b[2:])
		h.LenBits = 64
		n = 10
	default:
		h.PayloadLen = uint64(l)
		h.LenBits = 7
	}
	if h.Masked {
		if len(b) < n+4 {
			return h, 0
		}
		copy(h.MaskKey[:], b[n:n+4])
		n += 4
	}
	h.Len = n
	return h, n
}

// headerLen returns the header length announced by the first two bytes.
func headerLen(b0, b1 byte) int {
	n := 2
	switch b1 & 0x7F {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b1&0x80 != 0 {
		n += 4
	}
	return n
}
