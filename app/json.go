package app

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// JSON helpers shared by the protocols: a validating scanner that never
// allocates, iteration over the members of objects and arrays, and
// builders for the JSON values of unit fields. Values handed to a Unit are
// always fresh copies (a Unit never aliases a message payload) and always
// compact (JSON Lines are one line per event).

// maxDepth bounds the nesting of the JSON a scanner accepts.
const maxDepth = 512

// scanner walks the members of one object or array (jsonObject,
// jsonArray); its values are scanned by valueEnd.
type scanner struct {
	b     []byte
	i     int
	space bool // insignificant whitespace was seen
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.space = true
			s.i++
		default:
			return
		}
	}
}

// value scans the JSON value at s.i (after optional whitespace).
func (s *scanner) value() bool {
	end, space := valueEnd(s.b, s.i)
	if end < 0 {
		return false
	}
	s.i, s.space = end, s.space || space
	return true
}

// str scans a string; s.b[s.i] is its opening quote.
func (s *scanner) str() bool {
	end := strEnd(s.b, s.i+1)
	if end < 0 {
		return false
	}
	s.i = end
	return true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// compactJSON returns a compact copy of b if b is one JSON value.
func compactJSON(b []byte) ([]byte, bool) {
	ok, space := jsonValid(b)
	if !ok {
		return nil, false
	}
	if !utf8.Valid(b) {
		return validUTF8(b, space), true
	}
	if !space {
		return bytes.Clone(b), true
	}
	var out bytes.Buffer
	out.Grow(len(b))
	if json.Compact(&out, b) != nil {
		return nil, false
	}
	return out.Bytes(), true
}

// validUTF8 returns a copy of the valid JSON b (compacted when space) with
// each byte that is not UTF-8 written as \ufffd, as appendJSONString
// writes it: JSON text is UTF-8 (RFC 8259 §8.1), and the scanner lets
// any byte above 0x7f through, only inside strings.
func validUTF8(b []byte, space bool) []byte {
	out := make([]byte, 0, len(b)+16)
	in := false // inside a string
	for i := 0; i < len(b); {
		c := b[i]
		if c >= utf8.RuneSelf {
			if r, n := utf8.DecodeRune(b[i:]); r == utf8.RuneError && n == 1 {
				out = append(out, `\ufffd`...)
				i++
			} else {
				out = append(out, b[i:i+n]...)
				i += n
			}
			continue
		}
		switch {
		case in && c == '\\':
			out = append(out, b[i:i+2]...) // the scanner checked the escape
			i += 2
			continue
		case c == '"':
			in = !in
		case !in && space && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			i++
			continue
		}
		out = append(out, c)
		i++
	}
	return out
}

// jsonSkip returns the end of the JSON value that starts at b[i] (after
// optional whitespace), or -1.
func jsonSkip(b []byte, i int) int {
	end, _ := valueEnd(b, i)
	return end
}

// trimWS trims JSON whitespace.
func trimWS(b []byte) []byte {
	return bytes.Trim(b, " \t\r\n")
}

// jsonObject calls fn for each member of the object b (keys raw, quoted;
// values raw, trimmed) until fn returns false. It reports whether b is a
// well-formed object (as far as it was read).
func jsonObject(b []byte, fn func(key, val []byte) bool) bool {
	s := scanner{b: b}
	s.ws()
	if s.i >= len(b) || b[s.i] != '{' {
		return false
	}
	s.i++
	s.ws()
	if s.i < len(b) && b[s.i] == '}' {
		s.i++
		s.ws()
		return s.i == len(b)
	}
	for {
		s.ws()
		k0 := s.i
		if s.i >= len(b) || b[s.i] != '"' || !s.str() {
			return false
		}
		key := b[k0:s.i]
		s.ws()
		if s.i >= len(b) || b[s.i] != ':' {
			return false
		}
		s.i++
		s.ws()
		v0 := s.i
		if !s.value() {
			return false
		}
		if !fn(key, b[v0:s.i]) {
			return true
		}
		s.ws()
		if s.i >= len(b) {
			return false
		}
		switch b[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			s.ws()
			return s.i == len(b)
		default:
			return false
		}
	}
}

// jsonArray calls fn for each element of the array b (raw, trimmed) until
// fn returns false. It reports whether b is a well-formed array (as far as
// it was read).
func jsonArray(b []byte, fn func(i int, val []byte) bool) bool {
	s := scanner{b: b}
	s.ws()
	if s.i >= len(b) || b[s.i] != '[' {
		return false
	}
	s.i++
	s.ws()
	if s.i < len(b) && b[s.i] == ']' {
		s.i++
		s.ws()
		return s.i == len(b)
	}
	for n := 0; ; n++ {
		s.ws()
		v0 := s.i
		if !s.value() {
			return false
		}
		if !fn(n, b[v0:s.i]) {
			return true
		}
		s.ws()
		if s.i >= len(b) {
			return false
		}
		switch b[s.i] {
		case ',':
			s.i++
		case ']':
			s.i++
			s.ws()
			return s.i == len(b)
		default:
			return false
		}
	}
}

// jsonElems returns the raw elements of the array b, or false. At most max
// elements are returned (the rest are checked, not kept).
func jsonElems(b []byte, max int) ([][]byte, bool) {
	var out [][]byte
	ok := jsonArray(b, func(i int, v []byte) bool {
		if i < max {
			out = append(out, v)
		}
		return true
	})
	return out, ok
}

// jsonMember returns the raw value of member key of the object b (nil when
// absent or when b is not an object). Keys are compared after unquoting.
func jsonMember(b []byte, key string) []byte {
	var out []byte
	jsonObject(b, func(k, v []byte) bool {
		if keyIs(k, key) {
			out = v
			return false
		}
		return true
	})
	return out
}

// keyIs reports whether the raw quoted key k is key.
func keyIs(k []byte, key string) bool {
	if len(k) == len(key)+2 && string(k[1:len(k)-1]) == key {
		return true
	}
	if bytes.IndexByte(k, '\\') < 0 {
		return false
	}
	s, ok := jsonString(k)
	return ok && s == key
}

// jsonString unquotes the raw JSON string v.
func jsonString(v []byte) (string, bool) {
	v = trimWS(v)
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	if bytes.IndexByte(v, '\\') < 0 {
		return string(v[1 : len(v)-1]), true
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return "", false
	}
	return s, true
}

// jsonInt parses the raw JSON v as an integer.
func jsonInt(v []byte) (int64, bool) {
	n, err := strconv.ParseInt(string(trimWS(v)), 10, 64)
	return n, err == nil
}

// jsonKind returns the kind of the raw JSON value v: '{', '[', '"', 't'
// or 'f' (booleans), 'n' (null), '0' (a number), or 0 when empty.
func jsonKind(v []byte) byte {
	v = trimWS(v)
	if len(v) == 0 {
		return 0
	}
	switch c := v[0]; c {
	case '{', '[', '"', 't', 'f', 'n':
		return c
	}
	return '0'
}

// kindName names a JSON kind for app.type of a bare format.
func kindName(k byte) string {
	switch k {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// ---- builders ----

// jstr returns s as a JSON string (invalid UTF-8 becomes U+FFFD).
func jstr(s string) []byte { return appendJSONString(nil, s) }

func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20 || c == 0x7f:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&15])
		default:
			dst = append(dst, s[i:i+n]...)
		}
		i += n
	}
	return append(dst, '"')
}

// jint returns n as JSON.
func jint(n int64) []byte { return strconv.AppendInt(nil, n, 10) }

// juint returns n as JSON.
func juint(n uint64) []byte { return strconv.AppendUint(nil, n, 10) }

// jbool returns b as JSON.
func jbool(b bool) []byte { return strconv.AppendBool(nil, b) }

// jnull is the JSON null.
func jnull() []byte { return []byte("null") }

// jraw returns a compact copy of the raw JSON v (null if v is not JSON).
func jraw(v []byte) []byte {
	if c, ok := compactJSON(v); ok {
		return c
	}
	return jnull()
}

// jb64 returns b as a JSON string of standard base64.
func jb64(b []byte) []byte {
	out := make([]byte, 0, base64.StdEncoding.EncodedLen(len(b))+2)
	out = append(out, '"')
	out = base64.StdEncoding.AppendEncode(out, b)
	return append(out, '"')
}

// jobj returns the fields as a JSON object.
func jobj(fs ...Field) []byte {
	out := []byte{'{'}
	for i, f := range fs {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendJSONString(out, f.Key)
		out = append(out, ':')
		out = append(out, f.Value...)
	}
	return append(out, '}')
}

// jarr returns the JSON values as an array.
func jarr(vs ...[]byte) []byte {
	out := []byte{'['}
	for i, v := range vs {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, v...)
	}
	return append(out, ']')
}

// blob returns the field for the bytes b: key holding a string when b is
// valid UTF-8, key+"_base64" holding base64 otherwise.
func blob(key string, b []byte) Field {
	if utf8.Valid(b) {
		return Field{Key: key, Value: jstr(string(b))}
	}
	return Field{Key: key + "_base64", Value: jb64(b)}
}

// shorten returns the JSON (or text) v for an Info line: at most n runes,
// with "…" where it was cut.
func shorten(v []byte, n int) string {
	i, k, cut := 0, 0, 0
	for i < len(v) {
		if k == n-1 {
			cut = i
		}
		if k == n {
			return string(v[:cut]) + "…"
		}
		_, w := utf8.DecodeRune(v[i:])
		i += w
		k++
	}
	return string(v)
}

// infoLen is how many runes of a JSON value an Info line shows.
const infoLen = 60
