package output

import "github.com/wscap/wscap/decode"

// hidden keeps what the text timeline remembers of an event the display
// filter hides, so that the rows it shows read as without the filter: the
// handshake for the connection's legend, the endpoints of a TLS session,
// the state of a fragmented message, and the frame of a single-frame
// message, whose flags its message's row shows. A hidden message hides
// its held frame too: the views show a data frame as its message's row.
func (t *textRenderer) hidden(ev *decode.Event, c *connStats) {
	if p := &t.pend; p.on {
		switch {
		case !p.takes(ev):
			t.flushPending()
		case ev.Kind == decode.KindMessage:
			p.hidden = true
			t.flushPending() // the frame's anomalies that matched
		}
	}
	switch ev.Kind {
	case decode.KindConn:
		t.release(c) // it is WebSocket: its held rows are shown
	case decode.KindHandshake:
		if h := ev.Handshake; h != nil && !c.legend {
			c.hs = slimHandshake(h)
		}
	case decode.KindTLS:
		c.setTLS(ev.TLS)
	case decode.KindFrame:
		f := &ev.Frame
		c.fragment(f, roleIndex(ev.From))
		if f.Message > 0 && f.Fin && f.Opcode != decode.OpContinuation && (t.opt.View != ViewFrames || t.opt.Follow != nil) {
			t.hold(ev)
			t.pend.hidden = true
		}
	}
}

// fragment follows the fragmented messages of direction d through frame
// f and reports whether f carries compressed bytes: continuations of a
// compressed message do too.
func (c *connStats) fragment(f *decode.Frame, d int) bool {
	compressed := f.Compressed
	if d >= 0 && !f.Opcode.IsControl() {
		if f.Opcode == decode.OpContinuation {
			compressed = compressed || c.deflating[d]
			if f.Fin {
				c.deflating[d] = false
			}
		} else {
			c.deflating[d] = f.Compressed && !f.Fin
			c.binary[d] = f.Opcode == decode.OpBinary
		}
	}
	return compressed
}

// slimHandshake copies what the legend shows of h, not the headers: the
// handshake of an event is only valid during the call.
func slimHandshake(h *decode.Handshake) *decode.Handshake {
	return &decode.Handshake{
		Method: h.Method, Path: h.Path, Protocol: h.Protocol, Status: h.Status,
		Extensions: h.Extensions, Deflate: h.Deflate, DeflateFrame: h.DeflateFrame,
		Accept: h.Accept, AcceptValid: h.AcceptValid, Upgraded: h.Upgraded, TLS: h.TLS,
		H2Stream: h.H2Stream, H2Protocol: h.H2Protocol,
	}
}
