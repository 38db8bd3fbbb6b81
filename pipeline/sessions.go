package pipeline

import (
	"bytes"
	"cmp"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/wscap/wscap/tlsdec"
)

// # TLS on every worker
//
// A TLS connection needs nothing of another connection but in one case:
// a TLS 1.2 abbreviated handshake that resumes a session (by session id
// or ticket) whose master secret the key log has no line for (Go's
// crypto/tls logs none for resumed sessions), which tlsdec takes from the
// session that an earlier connection established (see tlsdec.Sessions).
// TLS 1.3 resumption (PSK) has no such state: every connection's secrets
// are in the key log under its own client random.
//
// So the workers share one session cache, which their tlsdec.Conns
// reach through a sessionView, and which sees their calls in capture
// order, as a single engine makes them:
//
//   - Every call happens at a point of the capture: packet n is point 2n,
//     the idle flushes after it 2n+1, the end of the capture finalPoint.
//     Each worker publishes its progress: the point of the record it is
//     decoding (every record before that point is done), or, between
//     batches, the point after the round's last record.
//   - Remember queues the session with its point; queued sessions are
//     stored in the cache (the KeyLog's), in point order, once every
//     worker is past their point.
//   - Session (a resuming connection whose key is not in the key log, the
//     only call that waits) waits until every other worker is past its
//     point, stores what is queued before it, and looks up: it sees the
//     sessions of the connections before it, none after, in the order
//     and with the evictions of a single engine.
//
// A waiting worker first hands what it rendered to the merger, with the
// mark just before its point, so that the merger can write the other
// workers' output below it: they never wait for it. The worker with the
// smallest point among those that wait always has what it waits for, so
// a bogus session id (one no connection established) costs one wait, as
// any other, and never a deadlock.

// finalPoint is the point of the end of the capture (every worker
// flushes and closes its connections there).
const finalPoint = math.MaxInt64 - 1

type sessionPut struct {
	at         int64
	worker     int
	seq        uint64
	kind       byte
	id, master []byte
}

type sessionCache struct {
	keys    *tlsdec.KeyLog // the cache itself: what every worker is past
	prog    []atomic.Int64 // per worker: every record before this point is done
	waiters atomic.Int32   // workers waiting in get

	mu      sync.Mutex
	cond    sync.Cond
	pending []sessionPut // remembered sessions not stored yet
	seq     uint64
}

func newSessionCache(keys *tlsdec.KeyLog, workers int) *sessionCache {
	c := &sessionCache{keys: keys, prog: make([]atomic.Int64, workers)}
	c.cond.L = &c.mu
	return c
}

// progress publishes that worker i has done every record before point
// at.
func (c *sessionCache) progress(i int, at int64) {
	c.prog[i].Store(at)
	if c.waiters.Load() > 0 {
		c.mu.Lock()
		c.cond.Broadcast()
		c.mu.Unlock()
	}
}

// past reports whether every worker but i has done every record before
// point at.
func (c *sessionCache) past(i int, at int64) bool {
	for j := range c.prog {
		if j != i && c.prog[j].Load() < at {
			return false
		}
	}
	return true
}

// minProgress is the point every worker is past.
func (c *sessionCache) minProgress() int64 {
	m := int64(math.MaxInt64)
	for j := range c.prog {
		m = min(m, c.prog[j].Load())
	}
	return m
}

// store stores the queued sessions remembered before point limit, and
// those worker i remembered at point at itself (earlier in the same
// packet or flush), in point order. c.mu is held.
func (c *sessionCache) store(limit int64, i int, at int64) {
	if len(c.pending) == 0 {
		return
	}
	slices.SortFunc(c.pending, func(a, b sessionPut) int {
		if r := cmp.Compare(a.at, b.at); r != 0 {
			return r
		}
		if r := cmp.Compare(a.worker, b.worker); r != 0 {
			return r
		}
		return cmp.Compare(a.seq, b.seq)
	})
	keep := c.pending[:0]
	for _, p := range c.pending {
		if p.at < limit || p.at == at && p.worker == i {
			c.keys.Remember(p.kind, p.id, p.master)
			continue
		}
		keep = append(keep, p)
	}
	clear(c.pending[len(keep):])
	c.pending = keep
}

// sessionView is a worker's view of the shared cache: it implements
// tlsdec.Sessions at the point the worker is decoding.
type sessionView struct {
	c *sessionCache
	w *worker
}

// Remember implements tlsdec.Sessions.
func (v sessionView) Remember(kind byte, id, master []byte) {
	if len(id) == 0 || len(master) == 0 {
		return
	}
	c, w := v.c, v.w
	at := w.point()
	c.mu.Lock()
	c.seq++
	c.pending = append(c.pending, sessionPut{at: at, worker: w.idx, seq: c.seq, kind: kind, id: bytes.Clone(id), master: master})
	c.store(c.minProgress(), -1, 0)
	c.mu.Unlock()
}

// Session implements tlsdec.Sessions: it waits until every other worker
// is past the worker's point.
func (v sessionView) Session(kind byte, id []byte) []byte {
	if len(id) == 0 {
		return nil
	}
	c, w := v.c, v.w
	at := w.point()
	if !c.past(w.idx, at) {
		w.park(at)
		c.mu.Lock()
		c.waiters.Add(1)
		for !c.past(w.idx, at) {
			c.cond.Wait()
		}
		c.waiters.Add(-1)
	} else {
		c.mu.Lock()
	}
	defer c.mu.Unlock()
	c.store(at, w.idx, at)
	return c.keys.Session(kind, id)
}

// pointOf returns the point of merge key k (of a record).
func pointOf(k key) int64 {
	switch {
	case k.n == math.MaxInt || k.phase >= phaseEOF:
		return finalPoint
	case k.phase == phaseTick:
		return 2*int64(k.n) + 1
	}
	return 2 * int64(k.n)
}

// point returns the point the worker is decoding.
func (w *worker) point() int64 {
	return pointOf(key{n: w.n, phase: w.phase})
}

// park hands what the worker rendered so far to the merger before it
// waits at point at, marked as all it renders below that point.
func (w *worker) park(at int64) {
	var wm key
	switch {
	case at == finalPoint:
		wm = key{n: math.MaxInt, phase: phaseTick, tick: math.MaxInt, conn: math.MaxInt}
	case at%2 == 1: // an idle flush after packet n: its chunks are above
		wm = key{n: w.n, phase: phasePacket, conn: math.MaxInt}
	default: // packet n: everything of packet n-1 is below
		wm = key{n: w.n - 1, phase: math.MaxUint8, tick: math.MaxInt, conn: math.MaxInt}
	}
	if wm.less(w.past) {
		wm = w.past
	}
	w.ship(wm)
}
