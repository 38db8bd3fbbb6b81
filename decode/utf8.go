package decode

import "encoding/binary"

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
