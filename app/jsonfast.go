package app

import (
	"encoding/binary"
	"math/bits"
)

// jsonValid reports whether b is exactly one JSON value (with optional
// surrounding whitespace) and whether it has insignificant whitespace.
func jsonValid(b []byte) (ok, space bool) {
	end, space := valueEnd(b, 0)
	if end < 0 {
		return false, false
	}
	for end < len(b) && isWS(b[end]) {
		space = true
		end++
	}
	return end == len(b), space
}

// valueEnd returns the end of the JSON value that starts at b[i] after
// optional whitespace (-1 when there is none) and whether insignificant
// whitespace was seen up to there. It is the one JSON scanner of the
// package: iterative, allocation-free, strings scanned eight bytes at a
// time (it runs on every text message with --app json); FuzzJSON checks
// it against encoding/json.
func valueEnd(b []byte, i int) (end int, space bool) {
	var stack [maxDepth/64 + 1]uint64 // bit d: the container at depth d is an object
	depth := 0
	n := len(b)
	for {
		// A value is expected at b[i].
		for i < n && b[i] <= ' ' {
			if !isWS(b[i]) {
				return -1, false
			}
			space = true
			i++
		}
		if i >= n {
			return -1, false
		}
		switch c := b[i]; c {
		case '"':
			if i = strEnd(b, i+1); i < 0 {
				return -1, false
			}
		case '{', '[':
			if depth >= maxDepth {
				return -1, false
			}
			if c == '{' {
				stack[depth>>6] |= 1 << (depth & 63)
			} else {
				stack[depth>>6] &^= 1 << (depth & 63)
			}
			depth++
			i++
			for i < n && isWS(b[i]) {
				space = true
				i++
			}
			if i < n && (c == '{' && b[i] == '}' || c == '[' && b[i] == ']') {
				depth--
				i++
				if depth == 0 {
					return i, space
				}
				break // an empty container is a value
			}
			if c == '{' {
				if i = key(b, i, &space); i < 0 {
					return -1, false
				}
			}
			continue
		case 't':
			if i = lit(b, i, "true"); i < 0 {
				return -1, false
			}
		case 'f':
			if i = lit(b, i, "false"); i < 0 {
				return -1, false
			}
		case 'n':
			if i = lit(b, i, "null"); i < 0 {
				return -1, false
			}
		default:
			if i = numEnd(b, i); i < 0 {
				return -1, false
			}
		}
		// After a value: a separator or the end of containers.
		if depth == 0 {
			return i, space
		}
		for {
			for i < n && b[i] <= ' ' {
				if !isWS(b[i]) {
					return -1, false
				}
				space = true
				i++
			}
			if i >= n {
				return -1, false
			}
			obj := stack[(depth-1)>>6]&(1<<((depth-1)&63)) != 0
			c := b[i]
			if c == ',' {
				i++
				if obj {
					if i = key(b, i, &space); i < 0 {
						return -1, false
					}
				}
				break
			}
			if obj && c == '}' || !obj && c == ']' {
				depth--
				i++
				if depth == 0 {
					return i, space
				}
				continue
			}
			return -1, false
		}
	}
}

func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// key scans `ws "key" ws :` from b[i] and returns the index after the
// colon, or -1.
func key(b []byte, i int, space *bool) int {
	for i < len(b) && isWS(b[i]) {
		*space = true
		i++
	}
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	if i = strEnd(b, i+1); i < 0 {
		return -1
	}
	for i < len(b) && isWS(b[i]) {
		*space = true
		i++
	}
	if i >= len(b) || b[i] != ':' {
		return -1
	}
	return i + 1
}

func lit(b []byte, i int, w string) int {
	if len(b)-i < len(w) || string(b[i:i+len(w)]) != w {
		return -1
	}
	return i + len(w)
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// strEnd returns the index after the closing quote of the string whose
// contents start at b[i], or -1.
func strEnd(b []byte, i int) int {
	for {
		for i+8 <= len(b) {
			v := binary.LittleEndian.Uint64(b[i:])
			t := (v - ones*0x20) &^ v // a byte below 0x20
			x := v ^ ones*'"'
			t |= (x - ones) &^ x
			x = v ^ ones*'\\'
			t |= (x - ones) &^ x
			if t &= highs; t != 0 {
				// Borrows set bits only above a special byte: the
				// lowest is exact.
				i += bits.TrailingZeros64(t) / 8
				break
			}
			i += 8
		}
		if i >= len(b) {
			return -1
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1
		case c == '\\':
			if i+1 >= len(b) {
				return -1
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return -1
				}
				i += 6
			default:
				return -1
			}
		case c < 0x20:
			return -1
		default:
			i++
		}
	}
}

// numEnd returns the index after the number at b[i], or -1.
func numEnd(b []byte, i int) int {
	n := len(b)
	if b[i] == '-' {
		i++
	}
	switch {
	case i >= n:
		return -1
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		i++
		for i < n && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return -1
	}
	if i < n && b[i] == '.' {
		i++
		j := i
		for i < n && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == j {
			return -1
		}
	}
	if i < n && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < n && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := i
		for i < n && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == j {
			return -1
		}
	}
	return i
}
