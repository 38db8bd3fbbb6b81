package output

import "github.com/wscap/wscap/shards"

// A run that decodes one shard of a capture (--shard I/N) starts every
// JSON line with an "ord" member, the line's position in the output of
// the unsharded run, by which wscap --merge orders the shards' lines
// (see package shards).

// Order phases: what a line came from, in the order a run emits them for
// one packet number (see [Options.Order] and [shards.Key]).
const (
	OrderPacket  = shards.Packet  // a packet
	OrderTick    = shards.Tick    // an idle flush after it
	OrderEOF     = shards.EOF     // data behind holes at the end of the capture
	OrderClose   = shards.Close   // connections closed at the end
	OrderSummary = shards.Summary // the summary lines (--summary)
)

// An Order is the position in the run of the events a renderer is given:
// see [Options.Order].
type Order struct {
	N     int   // the packet after which they are emitted
	Phase uint8 // OrderPacket ... OrderClose
	Tick  int   // OrderTick: the number of the idle flush
}

// withOrd appends the JSON object that app appends to b, as a line of a
// sharded run: with the "ord" member of a line of connection conn first.
func withOrd(b []byte, o Order, conn int, app func([]byte) []byte) []byte {
	k := shards.Key{N: int64(o.N), Phase: o.Phase, Tick: int64(o.Tick), Conn: int64(conn)}
	switch {
	case o.Phase == OrderPacket:
		k.Tick, k.Conn = 0, 0
	case o.Phase >= OrderEOF:
		k.N, k.Tick = 0, 0
	}
	b = shards.AppendKey(b, k)
	mark := len(b)
	b = app(b)
	// The object's own '{' goes: the ord member opened it.
	return append(b[:mark], b[mark+1:]...)
}
