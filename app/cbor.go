package app

import (
	"encoding/binary"
	"math"
	"math/big"
)

// CBOR (RFC 8949) as a JSON value. The decoder is our own rather than
// github.com/fxamacker/cbor: that library decodes maps into Go maps, which
// lose the order of the wire, and its generic form would need a second
// walk to become JSON; ours appends JSON while it reads, keeps map order,
// checks every count against the bytes left before reading (no allocation
// by a claimed length), and bounds nesting and output size. The fuzz test
// checks it against fxamacker's well-formedness check.
//
// Mapping: maps are objects in wire order (keys that are not text strings
// as their JSON text), byte strings {"base64":..}, tags {"tag":N,"value":..}
// except bignums (tags 2 and 3 on at most 64 bytes) which are numbers,
// undefined is null, simple values {"simple":N}, NaN and the infinities the
// strings "NaN", "Infinity", "-Infinity".

var protoCBOR = &protocol{
	name:  "cbor",
	sniff: func(m *Msg) bool { return bareMapProto(m) == "cbor" },
	new: func(h *Handshake, c *Config) decoder {
		return fmtDecoder{proto: protoCBORRef, forced: isForced(h, c, "cbor")}
	},
	ref:     cborRef,
	summary: "CBOR (RFC 8949): the value as JSON (byte strings as {\"base64\":..}, tags as {\"tag\":N,\"value\":..}); guessed for a binary map with text keys, then every binary message of that connection",
}

const cborRef = "RFC 8949"

var protoCBORRef = &protocol{name: "cbor", ref: cborRef}

// cborValue decodes the data item at b[i] as JSON; it returns the JSON,
// the offset after the item and its type name.
func cborValue(b []byte, i int) ([]byte, int, string, bool) {
	w := newFmtWriter(b, i)
	next, typ, ok := w.cbor(b, i, 0)
	if !ok || w.over() {
		return nil, 0, "", false
	}
	return w.out, next, typ, true
}

// cborTextKey reports whether the data item k is a definite text string
// that keyText accepts.
func cborTextKey(k []byte) bool {
	if len(k) == 0 || k[0]>>5 != 3 || k[0]&0x1f == 31 {
		return false
	}
	n, j, ok := cborArg(k, 1, k[0]&0x1f)
	return ok && n == uint64(len(k)-j) && keyText(k[j:])
}

// cborArg reads the argument of a head whose additional information is
// ai, from b[i]; ai 31 (indefinite) and 28..30 (reserved) are not
// arguments.
func cborArg(b []byte, i int, ai byte) (uint64, int, bool) {
	switch {
	case ai < 24:
		return uint64(ai), i, true
	case ai <= 27:
		n := 1 << (ai - 24)
		if n > len(b)-i {
			return 0, 0, false
		}
		return beUint(b[i : i+n]), i + n, true
	}
	return 0, 0, false
}

func (w *fmtWriter) cbor(b []byte, i, depth int) (int, string, bool) {
	if i >= len(b) || depth > fmtMaxDepth || w.over() {
		return 0, "", false
	}
	major, ai := b[i]>>5, b[i]&0x1f
	i++
	if ai == 31 {
		switch major {
		case 2, 3:
			return w.cborChunks(b, i, major)
		case 4:
			return w.cborArray(b, i, 0, true, depth)
		case 5:
			return w.cborMap(b, i, 0, true, depth)
		}
		return 0, "", false // break outside an indefinite item, or 31 on 0, 1, 6
	}
	if major == 7 {
		return w.cborSimple(b, i, ai)
	}
	n, i, ok := cborArg(b, i, ai)
	if !ok {
		return 0, "", false
	}
	switch major {
	case 0:
		w.uint(n)
		return i, "number", true
	case 1:
		if !w.skip {
			w.out = appendNegative(w.out, n)
		}
		return i, "number", true
	case 2, 3:
		if n > uint64(len(b)-i) {
			return 0, "", false
		}
		p := b[i : i+int(n)]
		if major == 2 {
			w.b64("base64", p)
			return i + int(n), "bytes", true
		}
		w.str(p)
		return i + int(n), "string", true
	case 4:
		if n > uint64(len(b)-i) { // an element takes a byte at least
			return 0, "", false
		}
		return w.cborArray(b, i, int(n), false, depth)
	case 5:
		if n > uint64(len(b)-i)/2 {
			return 0, "", false
		}
		return w.cborMap(b, i, int(n), false, depth)
	}
	return w.cborTag(b, i, n, depth)
}

// appendNegative appends -1-n.
func appendNegative(dst []byte, n uint64) []byte {
	if n < math.MaxInt64 {
		return appendInt(dst, -1-int64(n))
	}
	v := new(big.Int).SetUint64(n)
	v.Add(v, big.NewInt(1))
	v.Neg(v)
	return v.Append(dst, 10)
}

func appendInt(dst []byte, n int64) []byte {
	w := fmtWriter{out: dst}
	w.int(n)
	return w.out
}

// cborChunks reads an indefinite-length string: definite chunks of the
// same major type up to a break.
func (w *fmtWriter) cborChunks(b []byte, i int, major byte) (int, string, bool) {
	var p []byte
	for {
		if i >= len(b) {
			return 0, "", false
		}
		if b[i] == 0xff {
			i++
			break
		}
		if b[i]>>5 != major || b[i]&0x1f == 31 {
			return 0, "", false
		}
		n, j, ok := cborArg(b, i+1, b[i]&0x1f)
		if !ok || n > uint64(len(b)-j) {
			return 0, "", false
		}
		if !w.skip {
			p = append(p, b[j:j+int(n)]...)
		}
		i = j + int(n)
	}
	if major == 2 {
		w.b64("base64", p)
		return i, "bytes", true
	}
	w.str(p)
	return i, "string", true
}

func (w *fmtWriter) cborArray(b []byte, i, n int, indef bool, depth int) (int, string, bool) {
	w.byte('[')
	for k := 0; indef || k < n; k++ {
		if indef {
			if i >= len(b) {
				return 0, "", false
			}
			if b[i] == 0xff {
				i++
				break
			}
		}
		if k > 0 {
			w.byte(',')
		}
		var ok bool
		if i, _, ok = w.cbor(b, i, depth+1); !ok {
			return 0, "", false
		}
	}
	w.byte(']')
	return i, "array", true
}

func (w *fmtWriter) cborMap(b []byte, i, n int, indef bool, depth int) (int, string, bool) {
	w.byte('{')
	for k := 0; indef || k < n; k++ {
		if indef {
			if i >= len(b) {
				return 0, "", false
			}
			if b[i] == 0xff {
				i++
				break
			}
		}
		if k > 0 {
			w.byte(',')
		}
		start, k0 := len(w.out), i
		var typ string
		var ok bool
		if i, typ, ok = w.cbor(b, i, depth+1); !ok {
			return 0, "", false
		}
		if w.checkKeys && depth == 0 {
			w.keys++
			if !cborTextKey(b[k0:i]) {
				w.badKey = true
			}
		}
		w.key(start, typ == "string")
		w.byte(':')
		if i, _, ok = w.cbor(b, i, depth+1); !ok {
			return 0, "", false
		}
	}
	w.byte('}')
	return i, "object", true
}

// cborTag writes the tagged item at b[i]: a bignum (tags 2, 3) as a
// number, any other as {"tag":N,"value":..}.
func (w *fmtWriter) cborTag(b []byte, i int, tag uint64, depth int) (int, string, bool) {
	if (tag == 2 || tag == 3) && i < len(b) && b[i]>>5 == 2 {
		var inner fmtWriter
		if next, _, ok := inner.cborBytes(b, i); ok && len(inner.out) <= 64 {
			if !w.skip {
				v := new(big.Int).SetBytes(inner.out)
				if tag == 3 {
					v.Add(v, big.NewInt(1))
					v.Neg(v)
				}
				w.out = v.Append(w.out, 10)
			}
			return next, "number", true
		}
	}
	if !w.skip {
		w.out = append(w.out, `{"tag":`...)
		w.uint(tag)
		w.out = append(w.out, `,"value":`...)
	}
	next, _, ok := w.cbor(b, i, depth+1)
	if !ok {
		return 0, "", false
	}
	w.byte('}')
	return next, "tag", true
}

// cborBytes collects the content of the byte string at b[i] into w.out.
func (w *fmtWriter) cborBytes(b []byte, i int) (int, string, bool) {
	ai := b[i] & 0x1f
	if ai != 31 {
		n, j, ok := cborArg(b, i+1, ai)
		if !ok || n > uint64(len(b)-j) {
			return 0, "", false
		}
		w.out = append(w.out, b[j:j+int(n)]...)
		return j + int(n), "bytes", true
	}
	for i++; ; {
		if i >= len(b) {
			return 0, "", false
		}
		if b[i] == 0xff {
			return i + 1, "bytes", true
		}
		if b[i]>>5 != 2 || b[i]&0x1f == 31 {
			return 0, "", false
		}
		n, j, ok := cborArg(b, i+1, b[i]&0x1f)
		if !ok || n > uint64(len(b)-j) {
			return 0, "", false
		}
		w.out = append(w.out, b[j:j+int(n)]...)
		i = j + int(n)
	}
}

// cborSimple reads major type 7: simple values and floats (RFC 8949 §3.3).
func (w *fmtWriter) cborSimple(b []byte, i int, ai byte) (int, string, bool) {
	be := binary.BigEndian
	switch {
	case ai == 20:
		w.raw("false")
		return i, "boolean", true
	case ai == 21:
		w.raw("true")
		return i, "boolean", true
	case ai == 22, ai == 23: // null, undefined
		w.raw("null")
		return i, "null", true
	case ai < 20:
		w.raw(`{"simple":`)
		w.uint(uint64(ai))
		w.byte('}')
		return i, "simple", true
	case ai == 24:
		if i >= len(b) || b[i] < 32 { // §3.3: 0..31 in two bytes are not well-formed
			return 0, "", false
		}
		w.raw(`{"simple":`)
		w.uint(uint64(b[i]))
		w.byte('}')
		return i + 1, "simple", true
	case ai == 25:
		if 2 > len(b)-i {
			return 0, "", false
		}
		w.float(halfToFloat(be.Uint16(b[i:])), 32)
		return i + 2, "number", true
	case ai == 26:
		if 4 > len(b)-i {
			return 0, "", false
		}
		w.float(float64(math.Float32frombits(be.Uint32(b[i:]))), 32)
		return i + 4, "number", true
	case ai == 27:
		if 8 > len(b)-i {
			return 0, "", false
		}
		w.float(math.Float64frombits(be.Uint64(b[i:])), 64)
		return i + 8, "number", true
	}
	return 0, "", false // 28..30 reserved; 31 handled by the caller
}

// halfToFloat converts an IEEE 754 half-precision float (RFC 8949 Appendix D).
func halfToFloat(h uint16) float64 {
	exp := int(h>>10) & 0x1f
	mant := float64(h & 0x3ff)
	var v float64
	switch exp {
	case 0:
		v = math.Ldexp(mant, -24)
	case 31:
		if mant == 0 {
			v = math.Inf(1)
		} else {
			v = math.NaN()
		}
	default:
		v = math.Ldexp(mant+1024, exp-25)
	}
	if h&0x8000 != 0 {
		return -v
	}
	return v
}
