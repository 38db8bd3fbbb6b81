package decode

// plausibleMasked is the header of a masked client frame that could start
// a WebSocket stream picked up without its handshake: a defined opcode, no
// RSV2/RSV3 (RSV1 is permessage-deflate), the MASK bit, a minimal length
// encoding, a control frame whole and short.
func plausibleMasked(h *Header) bool {
	switch h.Opcode {
	case OpContinuation, OpText, OpBinary, OpClose, OpPing, OpPong:
	default:
		return false
	}
	if !h.Masked || h.Rsv&3 != 0 {
		return false
	}
	if h.Opcode.IsControl() && (!h.Fin || h.PayloadLen > 125 || h.Rsv != 0) {
		return false
	}
	switch h.LenBits {
	case 16:
		return h.PayloadLen >= 126
	case 64:
		return h.PayloadLen >= 1<<16 && h.PayloadLen < 1<<63
	}
	return true
}

// looksLikeClientFrames reports whether p, the first bytes of a direction
// that is not HTTP, reads as masked client WebSocket frames: a plausible
// frame that ends where p ends, or is followed by another plausible one,
// or (a frame longer than p) fills a full-sized segment. It reads at most
// two headers: cheap enough for the first bytes of every opaque stream.
func looksLikeClientFrames(p []byte) bool {
	h, n := parseHeader(p)
	if n == 0 || !plausibleMasked(&h) {
		return false
	}
	end := uint64(n) + h.PayloadLen
	switch {
	case end == uint64(len(p)):
		return true
	case end > uint64(len(p)):
		return len(p) >= 1000
	}
	h2, n2 := parseHeader(p[end:])
	return n2 > 0 && plausibleMasked(&h2)
}

// noteOpaque records, for [Conn.TakeHint], that side's first bytes p read
// as masked client frames though no handshake was seen.
func (c *Conn) noteOpaque(h *half, p []byte) {
	if c.hint == hintNone && !c.opt.DecodeAs && !c.announced && h.pos == 0 && looksLikeClientFrames(p) {
		c.hint = hintSide0 + uint8(h.side&1)
	}
}

// States of Conn.hint.
const (
	hintNone  = iota
	hintSide0 // Side0 sent the frames: TakeHint returns Side1's port
	hintSide1 // the other way round
	hintTaken
)

// TakeHint returns, once, the server port of a connection whose client
// direction starts with what look like masked WebSocket frames while no
// handshake was seen (decode-as, -d PORT, would decode it), or 0.
func (c *Conn) TakeHint() uint16 {
	if c.hint != hintSide0 && c.hint != hintSide1 {
		return 0
	}
	server := c.meta.Addr[1-(c.hint-hintSide0)]
	c.hint = hintTaken
	return server.Port()
}
