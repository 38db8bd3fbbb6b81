package app

import (
	"encoding/base64"
	"encoding/binary"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// MessagePack (https://github.com/msgpack/msgpack/blob/master/spec.md) as
// a JSON value. The decoder is our own: it appends JSON while it reads,
// keeps map order, never allocates by a length the data claims (every
// count is checked against the bytes left before anything is read) and
// bounds nesting and output size.

var protoMsgpack = &protocol{
	name:    "msgpack",
	aliases: []string{"messagepack"},
	sniff:   func(m *Msg) bool { return bareMapProto(m) == "msgpack" },
	new: func(h *Handshake, c *Config) decoder {
		return fmtDecoder{proto: protoMsgpackRef, forced: isForced(h, c, "msgpack")}
	},
	ref:     msgpackRef,
	summary: "MessagePack: the value as JSON (bin as {\"base64\":..}, ext as {\"ext\":N,\"base64\":..}, timestamps as RFC 3339); guessed for a binary map with string keys, then every binary message of that connection",
}

const msgpackRef = "https://github.com/msgpack/msgpack/blob/master/spec.md"

// protoMsgpackRef breaks the initialisation cycle protoMsgpack -> new -> protoMsgpack.
var protoMsgpackRef = &protocol{name: "msgpack", ref: msgpackRef}

// fmtMaxDepth bounds the nesting of MessagePack and CBOR values.
const fmtMaxDepth = 256

// isForced reports whether the user chose protocol name for the
// connection (--app NAME or --app PORT=NAME).
func isForced(h *Handshake, c *Config, name string) bool {
	if c == nil {
		return false
	}
	if h != nil {
		if f, ok := c.Ports[h.Server.Port()]; ok {
			return f == name
		}
	}
	return c.Force == name
}

// fmtDecoder is a connection of MessagePack or CBOR binary messages (text
// messages are bare JSON). Forced (--app msgpack, --app cbor): every binary
// message is a sequence of values, and one that does not parse is
// malformed. Chosen by its first binary map (sniff): every binary message
// that is exactly one value of the format, arrays and scalars included,
// is decoded; any other is left raw (or guessed as bare binary).
type fmtDecoder struct {
	proto  *protocol
	forced bool
}

func (fmtDecoder) size() int { return 0 }

func (d fmtDecoder) value(b []byte, i int) ([]byte, int, string, bool) {
	if d.proto.name == "cbor" {
		return cborValue(b, i)
	}
	return msgpackValue(b, i)
}

func (d fmtDecoder) decode(m *Msg, r *Result) {
	if m.Incomplete || len(m.Payload) == 0 {
		return
	}
	if !m.Binary {
		bare(m, r)
		return
	}
	b := m.Payload
	if !d.forced {
		if v, next, typ, ok := d.value(b, 0); ok && next == len(b) {
			r.Add(Unit{Proto: d.proto.name, Type: typ, Value: v, Info: shorten(v, infoLen)})
		} else {
			bareBinary(m, r)
		}
		return
	}
	var units []Unit
	for i := 0; i < len(b); {
		v, next, typ, ok := d.value(b, i)
		if !ok {
			r.Malformed(d.proto, "binary message of %d bytes: no %s value at offset %d", len(b), d.proto.name, i)
			return
		}
		units = append(units, Unit{Proto: d.proto.name, Type: typ, Value: v, Info: shorten(v, infoLen)})
		i = next
	}
	for _, u := range units {
		r.Add(u)
	}
}

// binaryFormat is bare binary with a memory: once a binary message of
// the connection was a MessagePack or CBOR map (bareBinary), its later
// binary messages that are exactly one value of that format are decoded,
// arrays and scalars included; others are guessed afresh. (The binary
// messages of --app json.)
type binaryFormat struct{ dec *fmtDecoder }

func (b *binaryFormat) decode(m *Msg, r *Result) {
	if b.dec != nil {
		b.dec.decode(m, r)
		return
	}
	u, ok := bareMap(m)
	if !ok {
		return
	}
	r.Add(u)
	switch u.Proto {
	case "msgpack":
		b.dec = &fmtDecoder{proto: protoMsgpackRef}
	case "cbor":
		b.dec = &fmtDecoder{proto: protoCBORRef}
	}
}

// bareBinary annotates a binary message of a connection no protocol
// claimed: MessagePack or CBOR when it is one non-empty map whose keys are
// all non-empty strings (valid UTF-8, no control characters) and that
// parses exactly to its last byte. Arrays and scalars are not guessed:
// random bytes too often are one.
func bareBinary(m *Msg, r *Result) {
	if u, ok := bareMap(m); ok {
		r.Add(u)
	}
}

// bareMapProto is the format bareBinary finds in m ("" when none).
func bareMapProto(m *Msg) string {
	if !m.Binary || len(m.Payload) < 2 || !msgpackIsMap(m.Payload[0]) && m.Payload[0]>>5 != 5 {
		return "" // the common case, before any call
	}
	u, _ := bareMap(m)
	return u.Proto
}

func bareMap(m *Msg) (Unit, bool) {
	if m.Incomplete || len(m.Payload) < 2 {
		return Unit{}, false
	}
	b := m.Payload
	mp := msgpackIsMap(b[0])
	if !mp && (b[0]>>5 != 5 || b[0] == 0xa0) {
		return Unit{}, false // neither format's map: most binary messages
	}
	// Random bytes that start like a map fail on the first pass, which
	// writes nothing; only a message that parses is written out.
	run := func(w *fmtWriter) (int, string, bool) {
		w.checkKeys = true
		if mp {
			return w.msgpack(b, 0, 0)
		}
		return w.cbor(b, 0, 0)
	}
	chk := fmtWriter{skip: true}
	if next, _, ok := run(&chk); !ok || next != len(b) || chk.keys == 0 || chk.badKey {
		return Unit{}, false
	}
	w := newFmtWriter(b, 0)
	next, typ, ok := run(w)
	if !ok || w.over() || next != len(b) || w.keys == 0 || w.badKey {
		return Unit{}, false
	}
	proto := "cbor"
	if mp {
		proto = "msgpack"
	}
	return Unit{Proto: proto, Type: typ, Value: w.out, Info: shorten(w.out, infoLen)}, true
}

func msgpackIsMap(c byte) bool {
	return c > 0x80 && c <= 0x8f || c == 0xde || c == 0xdf
}

// keyText reports whether a map key looks like one: non-empty valid UTF-8
// with no control characters.
func keyText(s []byte) bool {
	if len(s) == 0 {
		return false
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return utf8.Valid(s)
}

// msgpackStr returns the string at b[i] (fixstr, str8/16/32) and the offset after it.
func msgpackStr(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) {
		return nil, 0, false
	}
	c := b[i]
	var n, h int
	switch {
	case c >= 0xa0 && c <= 0xbf:
		n, h = int(c&0x1f), 1
	case c == 0xd9 && i+2 <= len(b):
		n, h = int(b[i+1]), 2
	case c == 0xda && i+3 <= len(b):
		n, h = int(binary.BigEndian.Uint16(b[i+1:])), 3
	case c == 0xdb && i+5 <= len(b):
		n, h = int(binary.BigEndian.Uint32(b[i+1:])), 5
	default:
		return nil, 0, false
	}
	if n > len(b)-i-h {
		return nil, 0, false
	}
	return b[i+h : i+h+n], i + h + n, true
}

// msgpackValue decodes the value at b[i] as JSON; it returns the JSON, the
// offset after the value and its type name.
func msgpackValue(b []byte, i int) ([]byte, int, string, bool) {
	w := newFmtWriter(b, i)
	next, typ, ok := w.msgpack(b, i, 0)
	if !ok || w.over() {
		return nil, 0, "", false
	}
	return w.out, next, typ, true
}

// msgpackSkip checks the value at b[i] without making JSON.
func msgpackSkip(b []byte, i, depth int) (string, int, bool) {
	w := fmtWriter{skip: true}
	next, typ, ok := w.msgpack(b, i, depth)
	return typ, next, ok
}

// outLimit bounds the JSON made of n bytes of MessagePack or CBOR: the
// worst honest expansion is a string of control characters (6 bytes of
// JSON each) or a small ext; map keys that are containers are quoted JSON
// text, and quoting nested keys again and again would grow exponentially.
func outLimit(n int) int { return 16*n + 256 }

// fmtWriter appends JSON for MessagePack and CBOR values.
type fmtWriter struct {
	out   []byte
	limit int
	skip  bool // only check well-formedness
	// checkKeys: count the keys of the top-level map in keys and set
	// badKey when one is not a non-empty string of text (keyText).
	checkKeys bool
	keys      int
	badKey    bool
}

func newFmtWriter(b []byte, i int) *fmtWriter {
	return &fmtWriter{limit: outLimit(len(b)), out: make([]byte, 0, min(2*(len(b)-i)+16, 1<<16))}
}

func (w *fmtWriter) over() bool { return !w.skip && len(w.out) > w.limit }

func (w *fmtWriter) raw(s string) {
	if !w.skip {
		w.out = append(w.out, s...)
	}
}

func (w *fmtWriter) byte(c byte) {
	if !w.skip {
		w.out = append(w.out, c)
	}
}

func (w *fmtWriter) str(s []byte) {
	if !w.skip {
		w.out = appendJSONString(w.out, string(s))
	}
}

func (w *fmtWriter) uint(n uint64) {
	if !w.skip {
		w.out = strconv.AppendUint(w.out, n, 10)
	}
}

func (w *fmtWriter) int(n int64) {
	if !w.skip {
		w.out = strconv.AppendInt(w.out, n, 10)
	}
}

func (w *fmtWriter) float(f float64, bits int) {
	if !w.skip {
		w.out = appendJSONFloat(w.out, f, bits)
	}
}

func (w *fmtWriter) b64(key string, p []byte) {
	if w.skip {
		return
	}
	w.out = append(w.out, `{"`...)
	w.out = append(w.out, key...)
	w.out = append(w.out, `":"`...)
	w.out = base64.StdEncoding.AppendEncode(w.out, p)
	w.out = append(w.out, `"}`...)
}

func (w *fmtWriter) ext(typ int64, p []byte) {
	if w.skip {
		return
	}
	w.out = append(w.out, `{"ext":`...)
	w.out = strconv.AppendInt(w.out, typ, 10)
	w.out = append(w.out, `,"base64":"`...)
	w.out = base64.StdEncoding.AppendEncode(w.out, p)
	w.out = append(w.out, `"}`...)
}

// key writes a map key: a string as itself, any other value as its JSON
// text; start is where the key's JSON begins in w.out.
func (w *fmtWriter) key(start int, isStr bool) {
	if w.skip || isStr {
		return
	}
	text := string(w.out[start:])
	w.out = appendJSONString(w.out[:start], text)
}

// appendJSONFloat appends f as encoding/json writes it; NaN and the
// infinities, which JSON lacks, as the strings protobuf's JSON uses.
func appendJSONFloat(dst []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(dst, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(dst, `"-Infinity"`...)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	dst = strconv.AppendFloat(dst, f, format, -1, bits)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

func (w *fmtWriter) msgpack(b []byte, i, depth int) (int, string, bool) {
	if i >= len(b) || depth > fmtMaxDepth || w.over() {
		return 0, "", false
	}
	c := b[i]
	i++
	left := len(b) - i
	be := binary.BigEndian
	// need reports whether n more bytes are present.
	need := func(n int) bool { return n <= left }
	switch {
	case c <= 0x7f:
		w.uint(uint64(c))
		return i, "number", true
	case c >= 0xe0:
		w.int(int64(int8(c)))
		return i, "number", true
	case c <= 0x8f:
		return w.msgpackMap(b, i, int(c&0x0f), depth)
	case c <= 0x9f:
		return w.msgpackArray(b, i, int(c&0x0f), depth)
	case c <= 0xbf:
		return w.msgpackStrBody(b, i, int(c&0x1f))
	}
	switch c {
	case 0xc0:
		w.raw("null")
		return i, "null", true
	case 0xc2:
		w.raw("false")
		return i, "boolean", true
	case 0xc3:
		w.raw("true")
		return i, "boolean", true
	case 0xc4, 0xc5, 0xc6: // bin 8/16/32
		n, h, ok := msgpackLen(b, i, c-0xc4)
		if !ok || n > left-h {
			return 0, "", false
		}
		w.b64("base64", b[i+h:i+h+n])
		return i + h + n, "bytes", true
	case 0xc7, 0xc8, 0xc9: // ext 8/16/32
		n, h, ok := msgpackLen(b, i, c-0xc7)
		if !ok || h+1 > left || n > left-h-1 {
			return 0, "", false
		}
		return w.msgpackExt(int8(b[i+h]), b[i+h+1:i+h+1+n], i+h+1+n)
	case 0xca:
		if !need(4) {
			return 0, "", false
		}
		w.float(float64(math.Float32frombits(be.Uint32(b[i:]))), 32)
		return i + 4, "number", true
	case 0xcb:
		if !need(8) {
			return 0, "", false
		}
		w.float(math.Float64frombits(be.Uint64(b[i:])), 64)
		return i + 8, "number", true
	case 0xcc, 0xcd, 0xce, 0xcf:
		n := 1 << (c - 0xcc)
		if !need(n) {
			return 0, "", false
		}
		w.uint(beUint(b[i : i+n]))
		return i + n, "number", true
	case 0xd0, 0xd1, 0xd2, 0xd3:
		n := 1 << (c - 0xd0)
		if !need(n) {
			return 0, "", false
		}
		v := beUint(b[i : i+n])
		shift := 64 - 8*n
		w.int(int64(v<<shift) >> shift)
		return i + n, "number", true
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1/2/4/8/16
		n := 1 << (c - 0xd4)
		if !need(1 + n) {
			return 0, "", false
		}
		return w.msgpackExt(int8(b[i]), b[i+1:i+1+n], i+1+n)
	case 0xd9, 0xda, 0xdb:
		n, h, ok := msgpackLen(b, i, c-0xd9)
		if !ok {
			return 0, "", false
		}
		return w.msgpackStrBody(b, i+h, n)
	case 0xdc, 0xdd:
		n, h, ok := msgpackLen(b, i, c-0xdc+1)
		if !ok {
			return 0, "", false
		}
		return w.msgpackArray(b, i+h, n, depth)
	case 0xde, 0xdf:
		n, h, ok := msgpackLen(b, i, c-0xde+1)
		if !ok {
			return 0, "", false
		}
		return w.msgpackMap(b, i+h, n, depth)
	}
	return 0, "", false // 0xc1: never used
}

// msgpackLen reads the big-endian length of 1, 2 or 4 bytes (size 0, 1, 2) at b[i].
func msgpackLen(b []byte, i int, size byte) (n, h int, ok bool) {
	h = 1 << size
	if h > len(b)-i {
		return 0, 0, false
	}
	return int(beUint(b[i : i+h])), h, true
}

func beUint(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

func (w *fmtWriter) msgpackStrBody(b []byte, i, n int) (int, string, bool) {
	if n > len(b)-i {
		return 0, "", false
	}
	w.str(b[i : i+n])
	return i + n, "string", true
}

func (w *fmtWriter) msgpackArray(b []byte, i, n, depth int) (int, string, bool) {
	if n > len(b)-i { // every element takes a byte at least
		return 0, "", false
	}
	w.byte('[')
	for k := 0; k < n; k++ {
		if k > 0 {
			w.byte(',')
		}
		var ok bool
		if i, _, ok = w.msgpack(b, i, depth+1); !ok {
			return 0, "", false
		}
	}
	w.byte(']')
	return i, "array", true
}

func (w *fmtWriter) msgpackMap(b []byte, i, n, depth int) (int, string, bool) {
	if n > (len(b)-i)/2 { // every entry takes two bytes at least
		return 0, "", false
	}
	w.byte('{')
	for k := 0; k < n; k++ {
		if k > 0 {
			w.byte(',')
		}
		start, k0 := len(w.out), i
		var typ string
		var ok bool
		if i, typ, ok = w.msgpack(b, i, depth+1); !ok {
			return 0, "", false
		}
		if w.checkKeys && depth == 0 {
			w.keys++
			if s, _, ok := msgpackStr(b[:i], k0); !ok || !keyText(s) {
				w.badKey = true
			}
		}
		w.key(start, typ == "string" || typ == "timestamp")
		w.byte(':')
		if i, _, ok = w.msgpack(b, i, depth+1); !ok {
			return 0, "", false
		}
	}
	w.byte('}')
	return i, "object", true
}

// msgpackExt writes an extension value: the timestamp (type -1) as an RFC
// 3339 string, any other as {"ext":N,"base64":..}.
func (w *fmtWriter) msgpackExt(typ int8, p []byte, next int) (int, string, bool) {
	if typ == -1 {
		if t, ok := msgpackTimestamp(p); ok {
			if !w.skip {
				w.out = append(w.out, '"')
				w.out = t.AppendFormat(w.out, time.RFC3339Nano)
				w.out = append(w.out, '"')
			}
			return next, "timestamp", true
		}
	}
	w.ext(int64(typ), p)
	return next, "ext", true
}

// msgpackTimestamp decodes the timestamp extension's 4, 8 or 12 bytes;
// false when malformed or outside the years RFC 3339 can write.
func msgpackTimestamp(p []byte) (time.Time, bool) {
	var sec int64
	var nsec uint32
	be := binary.BigEndian
	switch len(p) {
	case 4:
		sec = int64(be.Uint32(p))
	case 8:
		v := be.Uint64(p)
		nsec, sec = uint32(v>>34), int64(v&(1<<34-1))
	case 12:
		nsec, sec = be.Uint32(p), int64(be.Uint64(p[4:]))
	default:
		return time.Time{}, false
	}
	if nsec > 999999999 {
		return time.Time{}, false
	}
	// years 0000..9999: -62167219200 .. 253402300799
	if sec < -62167219200 || sec > 253402300799 {
		return time.Time{}, false
	}
	return time.Unix(sec, int64(nsec)).UTC(), true
}
