package reassembly

import (
	"time"

	"github.com/wscap/wscap/decode"
)

// # The memory budget
//
// Traffic state (connections, out-of-order data, HTTP heads, held
// bytes, open messages, inflate windows) is bounded by [Config.MemCap].
// Every engine accounts the state of its connections as it changes
// (Engine.MemSize). The Tracker, which sees every packet in order,
// schedules checkpoints at fixed points of the capture (every
// checkPackets packets or checkBytes captured bytes, whichever comes
// first): at checkpoint k every engine notes what it holds, and at
// checkpoint k+checkLag the Tracker adds up what the engines held at
// checkpoint k (Tracker.SetTotal says how to learn it) and, if that was
// over the budget, evicts connections until the estimate is below
// budgetTarget of it. The decision depends only on the capture, never on
// how many engines run or how fast: -j 1 and -j N evict the same
// connections at the same packet. The lag lets engines of a pipeline
// run behind the router without waiting for it at every checkpoint.
//
// Victims go in this order: connections that never carried a payload
// byte (SYN-only flows, stray ACKs) from the least recently seen, then
// the others from the least recently seen. An evicted connection is
// finished as if the capture had ended for it (open messages come out
// truncated) with a memcap_evicted anomaly if it was WebSocket or TLS,
// and a later packet of its 4-tuple starts a new connection.

// Checkpoint spacing (variables for tests: see SetCheckInterval) and
// lag (see above). Between a checkpoint and the eviction it leads to,
// state can grow by what checkLag+1 intervals of packets carry.
var (
	checkPackets = 8192
	checkBytes   = 8 << 20
)

const checkLag = 2

// DefaultMemCap is the memory budget of Config.MemCap when it is 0.
const DefaultMemCap = 512 << 20

// MinMemCap is the smallest budget that is honoured: below it, a few
// busy connections would be evicted over and over.
const MinMemCap = 16 << 20

// budgetTarget is the share of the budget that eviction brings the state
// down to, so that it does not run again at the next checkpoint.
const budgetTarget = 0.75

// Estimated bytes of the state kept for a connection by the Tracker and
// by an engine besides its decoder, measured with runtime.MemStats
// (TestConnCosts): a track and its map entry; an engine's conn, its
// flows map entry and gopacket's connection and half-connections.
const (
	trackCost = 160
	connCost  = 1500
	pageCost  = 2048 // one page of out-of-order data in the assembler (1900 bytes + header)
	tlsCost   = 40 << 10
	// The renderer's counters of a WebSocket or TLS connection (the
	// output package keeps them until the connection ends), measured by
	// pipeline's TestPipelineConnCost.
	renderCost = 2800
)

// lru is an intrusive doubly-linked list of tracks, most recently seen
// first.
type lru struct {
	head, tail *track
	n          int
}

func (l *lru) pushFront(t *track) {
	t.prev, t.next = nil, l.head
	if l.head != nil {
		l.head.prev = t
	} else {
		l.tail = t
	}
	l.head = t
	l.n++
}

func (l *lru) remove(t *track) {
	if t.prev != nil {
		t.prev.next = t.next
	} else {
		l.head = t.next
	}
	if t.next != nil {
		t.next.prev = t.prev
	} else {
		l.tail = t.prev
	}
	t.prev, t.next = nil, nil
	l.n--
}

// touch moves t to the front of its list, or to the front of the data
// list once it carried data.
func (tr *Tracker) touch(t *track, data bool) {
	tr.list(t).remove(t)
	if data {
		t.data = true
	}
	tr.list(t).pushFront(t)
}

func (tr *Tracker) list(t *track) *lru {
	if t.data {
		return &tr.busy
	}
	return &tr.quiet
}

// SetTotal tells the Tracker how to learn the bytes of state the engines
// held at checkpoint k (the sum of Engine.MemSize when each engine
// reached it). It is called from Packet, for checkpoints at least
// checkLag behind; it may wait for the engines to get there.
func (tr *Tracker) SetTotal(total func(k int) int64) { tr.total = total }

// checkpoint advances the checkpoint clock by packet p of size bytes
// and returns the number of the checkpoint after it (0: none). At a
// checkpoint at least checkLag in, it decides evictions.
func (tr *Tracker) checkpoint(bytes int) int {
	if tr.memcap <= 0 {
		return 0
	}
	tr.sincePkts++
	tr.sinceBytes += bytes
	if tr.sincePkts < checkPackets && tr.sinceBytes < checkBytes {
		return 0
	}
	tr.sincePkts, tr.sinceBytes = 0, 0
	tr.checks++
	k := tr.checks
	tr.own[k%ringSize] = int64(len(tr.flows)) * trackCost
	tr.freed[k%ringSize] = 0
	if k > checkLag && tr.total != nil {
		past := k - checkLag
		engines, own := tr.total(past), tr.own[past%ringSize]
		tr.peakEngines, tr.peakOwn = max(tr.peakEngines, engines), max(tr.peakOwn, own)
		held := engines + own
		// Evictions at past and since came after the engines noted
		// what they held at past: what they freed is not to be freed
		// again.
		for j := past; j < k; j++ {
			held -= tr.freed[j%ringSize]
		}
		tr.freed[k%ringSize] = tr.evict(held)
	}
	return k
}

// evict picks victims when held, the bytes of state (at a past
// checkpoint, less what was evicted since), is over the budget: enough
// connections, least recently seen first, to bring the estimate down to
// budgetTarget of the budget. It returns the bytes it estimates they
// hold.
func (tr *Tracker) evict(held int64) int64 {
	if held <= tr.memcap {
		return 0
	}
	need := held - int64(float64(tr.memcap)*budgetTarget)
	freed := need
	quietCost := int64(trackCost + connCost + quietDecoderCost)
	busyCost := quietCost
	if tr.busy.n > 0 {
		rest := held - int64(tr.quiet.n)*quietCost
		busyCost = max(busyCost, rest/int64(tr.busy.n))
	}
	var cut Cut
	for need > 0 {
		t, cost := tr.quiet.tail, quietCost
		if t == nil {
			t, cost = tr.busy.tail, busyCost
		}
		if t == nil {
			break
		}
		tr.list(t).remove(t)
		delete(tr.flows, t.key)
		tr.retired = append(tr.retired, Retired{ID: t.id, key: t.key, Evicted: true})
		if t.data && t.lastSeen.After(cut.Flush) {
			cut.Flush = t.lastSeen // only what carried data has pages
		}
		if t.lastSeen.After(cut.Close) {
			cut.Close = t.lastSeen
		}
		need -= cost
	}
	freed -= need // need is now 0 or less: what was freed beyond it
	// The assembler's state of the victims goes too: what it buffers for
	// connections with no packet since the newest victim's last is
	// flushed, and those connections are closed (the others keep their
	// decoders and are picked up again at their next packet).
	if !cut.Flush.IsZero() {
		cut.Flush = cut.Flush.Add(time.Nanosecond)
	}
	if !cut.Close.IsZero() {
		cut.Close = cut.Close.Add(time.Nanosecond)
	}
	tr.cut = cut
	return freed
}

// Cut says what an eviction flushes in the engines' assemblers besides
// the idle flush: the data buffered for connections silent since Flush,
// and the connections silent since Close (zero times: nothing).
type Cut struct {
	Flush, Close time.Time
}

// ringSize is how many checkpoints' own costs and evictions the Tracker
// remembers.
const ringSize = checkLag + 1

// quietDecoderCost is what a new decoder holds: a SYN-only flow has one.
var quietDecoderCost = decode.NewConn(decode.ConnMeta{}, decode.Options{}).MemSize()

// SetCheckInterval sets the spacing of memory checkpoints, for tests
// (of this package and others) that need evictions in small captures,
// and returns a function that restores the default.
func SetCheckInterval(packets, bytes int) (restore func()) {
	p, b := checkPackets, checkBytes
	checkPackets, checkBytes = packets, bytes
	return func() { checkPackets, checkBytes = p, b }
}
