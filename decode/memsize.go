package decode

import "unsafe"

// Sizes of the structures a Conn allocates, for MemSize.
const (
	connSize     = int(unsafe.Sizeof(Conn{}))
	httpHalfSize = int(unsafe.Sizeof(httpHalf{}))
	inflaterSize = int(unsafe.Sizeof(inflater{}))
	handshakeSz  = int(unsafe.Sizeof(Handshake{}))
	pbufSize     = int(unsafe.Sizeof(pbuf{}))
	anomalySize  = int(unsafe.Sizeof(Anomaly{})) + 64 // and its detail sentence
	chunkSize    = int(unsafe.Sizeof(heldChunk{}))
	strHdrSize   = int(unsafe.Sizeof(""))
)

// MemSize returns an estimate of the heap bytes c holds: the Conn itself,
// both directions' frame and HTTP state (head being parsed, held client
// bytes, pending requests), the open messages' payload and compressed
// buffers, the inflate histories, the handshake until it is written out,
// and the buffers lent to the events of the last call until Release. It is
// computed from a few capacities (O(1) but for the buffers lent to the
// last call's events, usually none after Release), so a memory budget can
// call it after every Feed. It counts the capacity of buffers, not their
// length, and is within about a third of what runtime.MemStats shows
// (TestMemSize).
func (c *Conn) MemSize() int {
	n := connSize
	for i := range c.h {
		n += c.h[i].memSize()
	}
	if c.arenap != nil {
		n += pbufSize + cap(c.arenap.b)
	}
	for _, p := range c.lent {
		n += pbufSize + cap(p.b)
	}
	n += cap(c.lent) * int(unsafe.Sizeof((*pbuf)(nil)))
	if c.app != nil {
		n += c.app.MemSize()
	}
	if c.hs != nil && c.hs != hsUpgraded {
		// Header strings and fields are copied out of the heads.
		n += handshakeSz + 2*int(c.hsBytes)
	}
	return n
}

func (h *half) memSize() int {
	n := cap(h.payload) + cap(h.anoms)*anomalySize
	if h.bufp != nil {
		n += pbufSize + cap(h.bufp.b)
	}
	if h.compp != nil {
		n += pbufSize + cap(h.compp.b)
	}
	if hp := h.hp; hp != nil {
		n += httpHalfSize + cap(hp.head) + cap(hp.hold) + cap(hp.holdChunks)*chunkSize +
			cap(hp.methods)*strHdrSize
	}
	if f := h.inf; f != nil {
		n += inflaterSize + cap(f.hist)
	}
	return n
}
