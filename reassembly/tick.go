package reassembly

import "time"

// Tick tells the engine that capture time has reached now although no
// packet arrived: a live capture calls it when the interface is quiet, so
// that data stuck behind a hole and silent connections are still flushed
// after [Config.IdleTimeout]. now must be on the packets' clock (the wall
// clock for a live capture); times before the latest packet's are ignored.
// Like Packet, it returns only the sink's error.
func (e *Engine) Tick(now time.Time) error {
	if e.err != nil || e.flushed {
		return e.err
	}
	if due, at := e.tr.Tick(now); due {
		return e.idleFlush(at, e.tr.Cut(), e.tr.Retired())
	}
	return nil
}
