package decode

import (
	"encoding/binary"
	"unicode/utf8"
)

// utf8Check validates UTF-8 incrementally: a code point may be split
// across calls (RFC 6455 §8.1: text is checked over the whole message, so
// a character split over two fragments is valid). It follows the
// well-formed byte sequences of Unicode Table 3-7.
type utf8Check struct {
	need   uint8 // continuation bytes still expected
	lo, hi byte  // allowed range of the next continuation byte
	bad    bool
}

func (u *utf8Check) reset() { *u = utf8Check{} }

// ok reports whether everything fed so far is valid and complete.
func (u *utf8Check) ok() bool { return !u.bad && u.need == 0 }

func (u *utf8Check) feed(p []byte) {
	if u.bad {
		return
	}
	// Finish a character split by the previous call, then check whole
	// characters in bulk with utf8.Valid, leaving a character this call
	// splits to the byte loop below.
	for u.need != 0 && len(p) > 0 {
		u.feedSlow(p[:1])
		p = p[1:]
		if u.bad {
			return
		}
	}
	if len(p) >= 16 {
		k := len(p)
		for i := len(p) - 1; i >= 0 && i >= len(p)-3; i-- {
			if c := p[i]; c >= 0xC0 {
				if !utf8.FullRune(p[i:]) {
					k = i
				}
				break
			} else if c < 0x80 {
				break
			}
		}
		if !utf8.Valid(p[:k]) {
			u.bad = true
			return
		}
		p = p[k:]
	}
	u.feedSlow(p)
}

// feedSlow is the byte-by-byte check (Unicode Table 3-7).
func (u *utf8Check) feedSlow(p []byte) {
	if u.bad {
		return
	}
	i := 0
	for i < len(p) {
		if u.need == 0 {
			// Fast path: skip ASCII eight bytes at a time.
			for i+8 <= len(p) && binary.LittleEndian.Uint64(p[i:])&0x8080808080808080 == 0 {
				i += 8
			}
			if i >= len(p) {
				return
			}
			c := p[i]
			i++
			switch {
			case c < 0x80:
			case c >= 0xC2 && c <= 0xDF:
				u.need, u.lo, u.hi = 1, 0x80, 0xBF
			case c == 0xE0:
				u.need, u.lo, u.hi = 2, 0xA0, 0xBF
			case c == 0xED:
				u.need, u.lo, u.hi = 2, 0x80, 0x9F
			case c >= 0xE1 && c <= 0xEF:
				u.need, u.lo, u.hi = 2, 0x80, 0xBF
			case c == 0xF0:
				u.need, u.lo, u.hi = 3, 0x90, 0xBF
			case c >= 0xF1 && c <= 0xF3:
				u.need, u.lo, u.hi = 3, 0x80, 0xBF
			case c == 0xF4:
				u.need, u.lo, u.hi = 3, 0x80, 0x8F
			default:
				u.bad = true
				return
			}
			continue
		}
		c := p[i]
		i++
		if c < u.lo || c > u.hi {
			u.bad = true
			return
		}
		u.need--
		u.lo, u.hi = 0x80, 0xBF
	}
}
