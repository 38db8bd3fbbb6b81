package output

import "github.com/wscap/wscap/decode"

// hidden keeps what the text timeline remembers of an event the display
// filter hides, so that the rows it shows read as without the filter: the
// handshake for the connection's legend, the endpoints of a TLS session,
// the state of a fragmented message.
func (t *textRenderer) hidden(ev *decode.Event, c *connStats) {
	switch ev.Kind {
	case decode.KindHandshake:
		if !c.legend {
			c.hs = ev.Handshake
		}
	case decode.KindTLS:
		c.setTLS(ev.TLS)
	case decode.KindFrame:
		c.fragment(&ev.Frame, roleIndex(ev.From))
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
