package decode

// Conn decodes one TCP connection. It is not safe for concurrent use.
type Conn struct {
	meta ConnMeta
	opt  Options
}

// NewConn returns a decoder for the TCP connection described by meta.
func NewConn(meta ConnMeta, opt Options) *Conn {
	return &Conn{meta: meta, opt: opt.withDefaults()}
}

// Feed consumes p, the next in-order bytes sent by side, and appends the
// events they complete to dst. It never retains p and never fails.
func (c *Conn) Feed(dst []Event, side Side, p []byte, s Seg) []Event { return dst }

// Gap tells the decoder that n bytes of side were lost from the capture at
// this point of the stream.
func (c *Conn) Gap(dst []Event, side Side, n int64, s Seg) []Event { return dst }

// End tells the decoder that side ended (FIN, RST, idle flush). Further
// bytes of that side are ignored.
func (c *Conn) End(dst []Event, side Side, s Seg) []Event { return dst }

// Close ends every side not yet ended (end of capture).
func (c *Conn) Close(dst []Event, s Seg) []Event { return dst }

// IsWebSocket reports whether the connection was recognised as WebSocket
// (its KindConn event was emitted).
func (c *Conn) IsWebSocket() bool { return false }

// Idle reports whether nothing more can come of this connection: both
// sides are not WebSocket (e.g. plain HTTP that never upgraded, or not HTTP
// at all) and not inside an HTTP exchange. Callers may stop feeding it.
func (c *Conn) Idle() bool { return false }
