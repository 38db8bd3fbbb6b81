package decode

import (
	"testing"
)

func FuzzParseHeader(f *testing.F) {
	for _, v := range rfcVectors {
		f.Add(dehex(v.wire))
	}
	f.Add([]byte{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n := parseHeader(b)
		if n == 0 {
			return
		}
		if n != h.Len || n > maxHeaderLen || n > len(b) || n < 2 {
			t.Fatalf("n=%d h.Len=%d len=%d", n, h.Len, len(b))
		}
		if headerLen(b[0], b[1]) != n {
			t.Fatalf("headerLen disagrees")
		}
	})
}

// FuzzConnFeed feeds two directions whole and in pieces: the events must be
// the same, and the decoder's buffers stay bounded.
func FuzzConnFeed(f *testing.F) {
	for _, script := range allScripts() {
		var a, b []byte
		for _, st := range script {
			if st.side == Side0 {
				a = append(a, st.data...)
			} else {
				b = append(b, st.data...)
			}
		}
		f.Add(a, b, uint8(7), false)
	}
	f.Add([]byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}, []byte{0x81, 0x05, 'H', 'e', 'l', 'l', 'o'}, uint8(1), true)
	opt := Options{MaxPayload: 4096, MaxHead: 1024, MaxHold: 2048, MaxCompressed: 8192, MaxInflate: 1 << 16}
	f.Fuzz(func(t *testing.T, c2sb, s2cb []byte, split uint8, decodeAs bool) {
		o := opt
		o.DecodeAs = decodeAs
		steps := []step{{side: Side0, data: c2sb}, {side: Side1, data: s2cb}}
		// Interleave: the two halves alternately in chunks.
		if split > 0 && len(c2sb) > int(split) {
			steps = []step{{side: Side0, data: c2sb[:split]}, {side: Side1, data: s2cb}, {side: Side0, data: c2sb[split:]}}
		}
		whole := describe(run(o, steps, nil))
		k := int(split%13) + 1
		if parts := describe(run(o, steps, every(k))); parts != whole {
			t.Fatalf("split %d differs:\n%s\n---\n%s", k, whole, parts)
		}
		c := NewConn(testMeta, o)
		for _, st := range steps {
			c.Feed(nil, st.side, st.data, Seg{})
			for i := range c.h {
				h := &c.h[i]
				var ht httpHalf
				if h.hp != nil {
					ht = *h.hp
				}
				if len(ht.head) > o.MaxHead || len(ht.hold) > o.MaxHold || h.hdrN > maxHeaderLen ||
					len(h.buf) > o.MaxPayload || len(h.comp) > o.MaxCompressed || len(h.payload) > 4096 {
					t.Fatalf("unbounded state: head=%d hold=%d hdr=%d buf=%d comp=%d payload=%d",
						len(ht.head), len(ht.hold), h.hdrN, len(h.buf), len(h.comp), len(h.payload))
				}
			}
		}
	})
}
