package h2

import (
	"strings"
	"testing"

	"github.com/wscap/wscap/decode"
)

// FuzzFeed feeds two directions whole and in pieces: no panic, the same
// events, and the Conn's state stays within its bounds.
func FuzzFeed(f *testing.F) {
	for _, tc := range cases() {
		var a, b []byte
		for _, st := range tc.sc().steps {
			if st.side == 0 {
				a = append(a, st.data...)
			} else {
				b = append(b, st.data...)
			}
		}
		f.Add(a, b, uint8(7), tc.opt.ClientKnown)
	}
	opt := Options{MaxHeaderList: 512, MaxStreams: 8, MaxTableSize: 8192}
	f.Fuzz(func(t *testing.T, a, b []byte, split uint8, known bool) {
		o := opt
		o.ClientKnown = known
		o.Upgrade = known && split&1 != 0
		steps := []step{{side: 0, data: a}, {side: 1, data: b}}
		if split > 0 && len(a) > int(split) {
			steps = []step{{side: 0, data: a[:split]}, {side: 1, data: b}, {side: 0, data: a[split:]}}
		}
		if split&2 != 0 {
			steps = append(steps, step{side: 1, gap: int64(split)}, step{side: 1, data: b}, step{side: 0, end: true})
		}
		whole, _ := run(o, steps, nil)
		k := int(split%13) + 1
		if parts, _ := run(o, steps, every(k)); strings.Join(parts, "\n") != strings.Join(whole, "\n") {
			t.Fatalf("split %d differs:\n%s\n---\n%s", k, strings.Join(whole, "\n"), strings.Join(parts, "\n"))
		}
		c := NewConn(o)
		for _, st := range steps {
			if st.gap > 0 {
				c.Gap(nil, st.side, st.gap, decode.Seg{})
				continue
			}
			c.Feed(nil, st.side, st.data, decode.Seg{})
			for i := range c.h {
				h := &c.h[i]
				if len(h.buf) > int(h.maxFrame) || h.blockSize > o.MaxHeaderList || h.hdrN >= frameHeaderLen ||
					len(c.streams) > o.MaxStreams || len(c.closed) > o.MaxStreams || len(c.arena) > len(st.data)+int(c.h[0].maxFrame+c.h[1].maxFrame) {
					t.Fatalf("unbounded state: buf=%d block=%d hdr=%d streams=%d closed=%d arena=%d",
						len(h.buf), h.blockSize, h.hdrN, len(c.streams), len(c.closed), len(c.arena))
				}
			}
		}
	})
}
