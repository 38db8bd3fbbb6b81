package output

import (
	"math"
	"slices"
	"strconv"
	"unicode"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// decodeRune decodes the first rune of s without converting more than
// utf8.UTFMax bytes (a small conversion stays on the stack).
func decodeRune[T string | []byte](s T) (rune, int) {
	if len(s) > utf8.UTFMax {
		s = s[:utf8.UTFMax]
	}
	return utf8.DecodeRuneInString(string(s))
}

// jsonPlain marks the ASCII bytes a JSON string carries as they are.
var jsonPlain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendJSONString appends s as a JSON string literal. Quotes, backslashes
// and control characters are escaped (\n, \r, \t, otherwise \u00XX), as are
// U+2028 and U+2029; each byte of invalid UTF-8 becomes \ufffd, so the
// result is always valid JSON.
func appendJSONString[T string | []byte](dst []byte, s T) []byte {
	return appendJSON(dst, s, false)
}

// appendJSONText is appendJSONString for s already known to be valid
// UTF-8 (a text message the decoder validated): multi-byte characters are
// copied without decoding them, which is most of the cost on large texts.
func appendJSONText(dst []byte, s []byte) []byte {
	return appendJSON(dst, s, true)
}

// SWAR constants: a byte repeated eight times.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// load8 reads 8 bytes of s at i, little-endian (one load once compiled).
func load8[T string | []byte](s T, i int) uint64 {
	_ = s[i+7]
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
}

// jsonSpecial8 returns the high bit of each of the 8 bytes in v that may
// need escaping: a control character, '"', '\\', and either 0xE2 (valid
// UTF-8: the first byte of U+2028 and U+2029) or any non-ASCII byte
// (unvalidated). Borrows may set bits above a special byte, never below,
// so the lowest bit set marks the first special byte exactly.
func jsonSpecial8(v uint64, valid bool) uint64 {
	t := (v - ones*0x20) &^ v // a byte below 0x20
	x := v ^ ones*'"'
	t |= (x - ones) &^ x
	x = v ^ ones*'\\'
	t |= (x - ones) &^ x
	if valid {
		x = v ^ ones*0xE2
		t |= (x - ones) &^ x
	} else {
		t |= v
	}
	return t & highs
}

func appendJSON[T string | []byte](dst []byte, s T, valid bool) []byte {
	if valid {
		if b, ok := any(s).([]byte); ok {
			return appendJSONValid(dst, b)
		}
	}
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Skip 8 bytes at a time while none needs a look.
		for i+8 <= len(s) && jsonSpecial8(load8(s, i), valid) == 0 {
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if jsonPlain[c] {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			// Only U+2028 and U+2029 (E2 80 A8/A9) need escaping in valid text.
			if valid && c != 0xE2 {
				i++
				continue
			}
			r, size := decodeRune(s[i:])
			switch {
			case r == utf8.RuneError && size == 1:
				dst = append(dst, s[start:i]...)
				dst = append(dst, `\ufffd`...)
			case r == '\u2028' || r == '\u2029':
				dst = append(dst, s[start:i]...)
				dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			default:
				i += size
				continue
			}
			i += size
			start = i
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// trimPartialRune drops an incomplete UTF-8 sequence at the end of p (a
// payload cut by a limit in the middle of a character).
func trimPartialRune(p []byte) []byte {
	for k := 1; k <= utf8.UTFMax-1 && k <= len(p); k++ {
		c := p[len(p)-k]
		if c < utf8.RuneSelf {
			return p // ASCII: nothing pending
		}
		if utf8.RuneStart(c) {
			if !utf8.FullRune(p[len(p)-k:]) {
				return p[:len(p)-k]
			}
			return p
		}
	}
	return p
}

// previewUnit appends the escaped form of the unit at the start of p and
// returns the new dst, the bytes consumed and the columns used.
//
// Printable ASCII and printable UTF-8 are kept; quote and backslash are
// backslash-escaped; \n, \r and \t use their C escapes; other control
// bytes, DEL and invalid UTF-8 become \xNN; valid but non-printable runes
// (C1 controls, bidi overrides, U+2028...) become \uXXXX or \UXXXXXXXX.
func previewUnit(dst []byte, p []byte) ([]byte, int, int) {
	c := p[0]
	if c < utf8.RuneSelf {
		switch {
		case c == '"' || c == '\\':
			return append(dst, '\\', c), 1, 2
		case c == '\n':
			return append(dst, '\\', 'n'), 1, 2
		case c == '\r':
			return append(dst, '\\', 'r'), 1, 2
		case c == '\t':
			return append(dst, '\\', 't'), 1, 2
		case c < 0x20 || c == 0x7f:
			return append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xF]), 1, 4
		}
		return append(dst, c), 1, 1
	}
	r, size := decodeRune(p)
	if r == utf8.RuneError && size == 1 {
		return append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xF]), 1, 4
	}
	if unicode.IsPrint(r) {
		return append(dst, p[:size]...), size, 1
	}
	if r <= 0xFFFF {
		dst = append(dst, '\\', 'u')
		for s := 12; s >= 0; s -= 4 {
			dst = append(dst, hexDigits[(r>>s)&0xF])
		}
		return dst, size, 6
	}
	dst = append(dst, '\\', 'U')
	for s := 28; s >= 0; s -= 4 {
		dst = append(dst, hexDigits[(r>>s)&0xF])
	}
	return dst, size, 10
}

// plainASCII marks the bytes a preview shows as they are.
var plainASCII = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// minPreview is the fewest columns a cut preview gets: `"x"...`.
const minPreview = 6

// previewLimits returns the budget a preview keeps to (at least
// minPreview; <= 0: no cut) and the columns its content may take when it
// is not cut (-1: any).
func previewLimits(budget int, more bool) (int, int) {
	if budget > 0 && budget < minPreview {
		budget = minPreview
	}
	limit := -1
	if budget > 0 {
		limit = budget - 2
		if more {
			limit -= 3
		}
	}
	return budget, limit
}

// appendPreview appends p as a quoted, escaped preview ("Hello"). more
// says the payload goes on past p; it is shown as "..." after the closing
// quote. budget > 0 caps the columns the preview takes (quotes and dots
// included), cutting it with "..." as well; budget <= 0 does not cut.
// binary escapes every byte outside printable ASCII as \xNN (binary
// payloads are not text, even where their bytes happen to form UTF-8).
func appendPreview(dst []byte, p []byte, more, binary bool, budget int) []byte {
	budget, limit := previewLimits(budget, more)
	dst = append(dst, '"')

	// Fast path, while the columns used stay within room (budget-5, what
	// a cut preview keeps): every unit is written into space reserved
	// once, with no cut to prepare. The general loop (previewRest) takes over
	// for the last few columns, where a cut may have to be undone.
	room := math.MaxInt
	if budget > 0 {
		room = budget - 5
	}
	dst = slices.Grow(dst, 4*min(room, len(p))+16) // a unit writes <= 4 bytes per column
	buf := dst[:cap(dst)]
	j, i, cols := len(dst), 0, 0
fast:
	for i < len(p) {
		c := p[i]
		if plainASCII[c] {
			if cols >= room {
				break
			}
			buf[j] = c
			i, j, cols = i+1, j+1, cols+1
			continue
		}
		var esc byte
		switch c {
		case '"', '\\':
			esc = c
		case '\n':
			esc = 'n'
		case '\r':
			esc = 'r'
		case '\t':
			esc = 't'
		}
		switch {
		case esc != 0:
			if cols+2 > room {
				break fast
			}
			buf[j], buf[j+1] = '\\', esc
			i, j, cols = i+1, j+2, cols+2
			continue
		case c < utf8.RuneSelf || binary: // control character, DEL, binary byte
			if cols+4 > room {
				break fast
			}
			buf[j], buf[j+1], buf[j+2], buf[j+3] = '\\', 'x', hexDigits[c>>4], hexDigits[c&0xF]
			i, j, cols = i+1, j+4, cols+4
			continue
		case cols+10 <= room: // a character of text: at most 10 columns
			out, n, w := previewUnit(buf[:j], p[i:])
			buf = out[:cap(out)]
			i, j, cols = i+n, len(out), cols+w
			continue
		}
		break
	}
	return previewRest(buf[:j], p, i, cols, more, binary, budget, limit)
}

// previewRest is appendPreview's general loop: it goes on from p[i] with
// cols columns of content in dst (all of them kept if the preview is cut),
// and closes the preview. Started at the opening quote it makes the whole
// preview by itself (TestPreviewFastPath compares the two).
func previewRest(dst, p []byte, i, cols int, more, binary bool, budget, limit int) []byte {
	safe := len(dst) // safe: cut point leaving room for `"...`
	for i < len(p) {
		// A run of printable ASCII is copied as is.
		// With a budget the scan stops one byte past what fits: a long
		// payload costs no more than the columns it is shown in.
		j, end := i, len(p)
		if limit >= 0 && limit-cols+1 < end-i {
			end = i + limit - cols + 1
		}
		for j < end && plainASCII[p[j]] {
			j++
		}
		if run := j - i; run > 0 {
			if budget > 0 && cols+run > budget-5 {
				if k := budget - 5 - cols; k >= 0 {
					safe = len(dst) + k
				}
				if cols+run > limit {
					return append(append(dst, p[i:j]...)[:safe], `"...`...)
				}
			} else {
				safe = len(dst) + run
			}
			dst = append(dst, p[i:j]...)
			cols += run
			i = j
			continue
		}
		var n, w int
		if binary && p[i] >= utf8.RuneSelf {
			dst, n, w = append(dst, '\\', 'x', hexDigits[p[i]>>4], hexDigits[p[i]&0xF]), 1, 4
		} else {
			dst, n, w = previewUnit(dst, p[i:])
		}
		if limit >= 0 && cols+w > limit {
			return append(dst[:safe], `"...`...)
		}
		cols += w
		if budget <= 0 || cols <= budget-5 {
			safe = len(dst)
		}
		i += n
	}
	dst = append(dst, '"')
	if more {
		dst = append(dst, "..."...)
	}
	return dst
}

// appendASCII appends s with everything outside printable ASCII escaped
// as \xNN, so that the text stays ASCII; "§" becomes "section ".
func appendASCII[T string | []byte](dst []byte, s T) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 0x20 && c < 0x7f:
			dst = append(dst, c)
		case c == 0xc2 && i+1 < len(s) && s[i+1] == 0xa7: // U+00A7 SECTION SIGN
			dst = append(dst, "section "...)
			i++
		default:
			dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xF])
		}
	}
	return dst
}

// asciiText returns s escaped by appendASCII.
func asciiText(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			return string(appendASCII(nil, s))
		}
	}
	return s
}

// cutLine shortens line[start:] to at most budget bytes, ending it with
// "..." when cut. It is for ASCII text, where bytes are columns.
func cutLine(line []byte, start, budget int) []byte {
	if budget <= 0 || len(line)-start <= budget {
		return line
	}
	if budget < 4 {
		budget = 4
	}
	return append(line[:start+budget-3], "..."...)
}

// appendHex appends p as lowercase hex digits.
func appendHex(dst []byte, p []byte) []byte {
	for _, c := range p {
		dst = append(dst, hexDigits[c>>4], hexDigits[c&0xF])
	}
	return dst
}

// appendHexDump appends a Wireshark-style hex and ASCII dump of p, each
// line starting with indent.
func appendHexDump(dst []byte, p []byte, indent string) []byte {
	for off := 0; off < len(p); off += 16 {
		line := p[off:min(off+16, len(p))]
		dst = append(dst, indent...)
		start := len(dst)
		dst = strconv.AppendUint(dst, uint64(off), 16)
		for len(dst)-start < 4 {
			dst = append(dst, ' ')
			copy(dst[start+1:], dst[start:])
			dst[start] = '0'
		}
		dst = append(dst, ' ', ' ')
		for i := range 16 {
			if i == 8 {
				dst = append(dst, ' ')
			}
			if i < len(line) {
				dst = append(dst, hexDigits[line[i]>>4], hexDigits[line[i]&0xF], ' ')
			} else {
				dst = append(dst, ' ', ' ', ' ')
			}
		}
		dst = append(dst, ' ')
		for _, c := range line {
			if c < 0x20 || c >= 0x7f {
				c = '.'
			}
			dst = append(dst, c)
		}
		dst = append(dst, '\n')
	}
	return dst
}

// textPlain marks the bytes a JSON string carries as they are when the
// text is valid UTF-8: all but control characters, quote, backslash and
// 0xE2 (which may start U+2028 or U+2029).
var textPlain = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = c >= 0x20 && c != '"' && c != '\\' && c != 0xE2
	}
	return t
}()

// appendJSONValid is appendJSON for valid UTF-8 (text the decoder
// validated). It writes into room reserved once for the worst common
// case (every byte escaped in two), byte by byte through one table
// lookup: JSON text is dense in quotes, so runs between escapes are
// short and a plain loop beats copying run by run.
func appendJSONValid(dst []byte, s []byte) []byte {
	dst = slices.Grow(dst, 2*len(s)+16)
	j := len(dst)
	buf := dst[:cap(dst)]
	buf[j] = '"'
	j++
	for i := 0; i < len(s); i++ {
		c := s[i]
		if textPlain[c] {
			buf[j] = c
			j++
			continue
		}
		switch c {
		case '"', '\\':
			buf[j], buf[j+1] = '\\', c
			j += 2
		case '\n':
			buf[j], buf[j+1] = '\\', 'n'
			j += 2
		case '\r':
			buf[j], buf[j+1] = '\\', 'r'
			j += 2
		case '\t':
			buf[j], buf[j+1] = '\\', 't'
			j += 2
		case 0xE2:
			// U+2028 and U+2029 (E2 80 A8/A9) become \u2028 and \u2029
			// (two output bytes per input byte, as reserved).
			if i+2 < len(s) && s[i+1] == 0x80 && (s[i+2] == 0xA8 || s[i+2] == 0xA9) {
				j += copy(buf[j:], `\u202`)
				buf[j] = '8' + s[i+2] - 0xA8
				j++
				i += 2
				continue
			}
			buf[j] = c
			j++
		default:
			// Other control characters take six bytes: keep the
			// reservation for the rest.
			if len(buf)-j < 6+2*(len(s)-i)+1 {
				buf = slices.Grow(buf[:j], 6+2*(len(s)-i)+16)
				buf = buf[:cap(buf)]
			}
			buf[j], buf[j+1], buf[j+2], buf[j+3], buf[j+4], buf[j+5] = '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF]
			j += 6
		}
	}
	buf[j] = '"'
	return buf[:j+1]
}
