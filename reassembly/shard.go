package reassembly

import (
	"crypto/sha1"
	"encoding/binary"
	"net/netip"

	"github.com/wscap/wscap/internal/communityid"
)

// # Shards
//
// A run with [Config.Shard] decodes only the connections of one shard of
// a capture: several runs (on several machines) each read the whole
// capture and decode one shard, and their outputs together are the output
// of one run. The Tracker still sees every packet, so connection ids,
// packet numbers, idle flushes and memory checkpoints are those of the
// unsharded run; it decides a connection's shard once, when it gives the
// connection its id, and the packets of other shards' connections go the
// way of packets a capture filter rejected ([Engine.Skip]): nothing of
// them is decoded or counted. Every connection on one 4-tuple (a SYN
// that reuses it starts a new one) is in the same shard, and so is every
// HTTP/2 stream of a connection.

// MaxShards is the largest number of shards [Config.Shard] may split a
// run into.
const MaxShards = 1024

// Shard selects the connections a run decodes: those whose 4-tuple's
// shard (see [ShardOf]) is Index, of Count shards. The zero Shard (Count
// 0) decodes every connection.
type Shard struct {
	Index, Count int
}

// On reports whether s selects a shard (Count > 0).
func (s Shard) On() bool { return s.Count > 0 }

// ShardOf returns the shard, of n, of the TCP connection between a and
// b (either order): the first 8 bytes of the SHA-1 digest that the
// connection's Community ID v1 with seed 0 encodes, as a big-endian
// number, modulo n. It depends only on the 4-tuple, so it is the same on
// every machine, for every -j and every Go release, and anyone can
// compute it from a conn event's community_id (when --community-id-seed
// is 0): base64-decode what follows "1:", take the first 8 bytes. The
// rare 4-tuple that has no Community ID (an IPv4-mapped address facing a
// true IPv6 one) uses the SHA-1 of its two 16-byte addresses and ports
// instead.
func ShardOf(a, b netip.AddrPort, n int) int {
	if n <= 1 {
		return 0
	}
	sum, ok := communityid.Sum(0, a, b, communityid.TCP)
	if !ok {
		k, _ := makeKey(a, b)
		var in [36]byte
		copy(in[:16], k.a[:])
		copy(in[16:32], k.b[:])
		binary.BigEndian.PutUint16(in[32:], k.pa)
		binary.BigEndian.PutUint16(in[34:], k.pb)
		sum = sha1.Sum(in[:])
	}
	return int(binary.BigEndian.Uint64(sum[:8]) % uint64(n))
}

// shardOfKey is ShardOf for a flowKey.
func shardOfKey(k *flowKey, n int) int {
	a := netip.AddrPortFrom(netip.AddrFrom16(k.a).Unmap(), k.pa)
	b := netip.AddrPortFrom(netip.AddrFrom16(k.b).Unmap(), k.pb)
	return ShardOf(a, b, n)
}

// other reports whether a connection on key belongs to another shard than
// the run's.
func (tr *Tracker) other(k *flowKey) bool {
	return tr.shard.Count > 1 && shardOfKey(k, tr.shard.Count) != tr.shard.Index
}

// Phase is what the events an [Engine] hands its sink come from, in the
// order a run emits them for one packet number (see [Engine.Position]).
type Phase uint8

// The phases of a run's events.
const (
	PhasePacket Phase = iota // a packet (Engine.Packet, Engine.Handle)
	PhaseTick                // an idle flush after it
	PhaseEOF                 // data behind holes at the end of the capture (Engine.FlushStreams)
	PhaseClose               // connections closed at the end (Engine.CloseAll)
)

// position is where an engine's run is (see Engine.Position).
type position struct {
	n     int
	phase Phase
	tick  int
}

// Position says where in the run the events being handed to the sink
// come from: the number of the last packet given to Packet, Skip or
// Handle, the phase, and the number of idle flushes so far (1 for the
// first: with PhaseTick, the flush that emits them). The events of a run
// come in the order of (n, phase, tick), with PhaseEOF and PhaseClose
// after every packet, and by connection within a flush. An engine fed by
// Handle and IdleFlush knows only the packets it is given: the caller
// knows the packet after which an idle flush runs.
func (e *Engine) Position() (n int, phase Phase, tick int) {
	return e.pos.n, e.pos.phase, e.pos.tick
}

// MemPeak returns the most bytes of state the engines held at a memory
// checkpoint that the Tracker evaluated (see budget.go), and the most
// the Tracker itself held at one; 0, 0 without a budget. The budget
// evicts only where the sum of the two at a checkpoint is over it, so a
// sharded run can tell whether the engines of all shards together could
// have been over it (see wscap --merge).
func (tr *Tracker) MemPeak() (engines, own int64) { return tr.peakEngines, tr.peakOwn }

// MemPeak is Tracker.MemPeak of the engine's Tracker.
func (e *Engine) MemPeak() (engines, own int64) { return e.tr.MemPeak() }
