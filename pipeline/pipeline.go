// Package pipeline runs packets through reassembly, decoding and
// rendering, on one goroutine or on several workers with the same output.
//
// # Parallel runs
//
// With Workers > 1 three kinds of goroutines share the work. The caller's
// goroutine only copies each packet, once, into a block (of 256
// KiB) and hands full blocks to the router. The router runs a
// [reassembly.Tracker], which decides, for every packet in capture order,
// its connection id and where idle flushes and memory checkpoints happen,
// and puts the packet (a reference into its block) into the batch of the
// worker its connection was given (the least loaded when it started; a
// connection that replaces another on its 4-tuple goes where that one
// is). Each worker runs its own [reassembly.Engine] on the packets where
// they lie and renders its connections' events with an [output.Shard]
// into memory, in chunks tagged with what produced them: a packet, an
// idle flush (one chunk per connection), or the end of the capture. A
// block goes back to the caller when the router and every batch that
// points into it are done. A merger goroutine merges the chunks by
// (packet number, kind, connection id), which is the order a single
// engine emits events in, and writes them out, runs of one worker's
// contiguous chunks in one write. The output is byte for byte that of
// one worker.
//
// Memory is bounded, and grows with the number of workers only by each
// worker's engine and, past 21 workers, its 192 KiB of output
// buffers: a few blocks are in flight, the router sends a round of
// batches at the latest when its block ends, and the workers' rendered
// output is bounded in total (see outTotal).
//
// # TLS
//
// TLS connections are decrypted on every worker. The only state they
// share is that of TLS 1.2 sessions that later connections resume: the
// workers share a cache of them that sees their calls in capture order,
// and a connection that resumes a session the key log has no line for
// waits there until the other workers have decoded every packet before
// its own (see sessions.go). Secrets that the capture carries between
// its packets ([Secrets]) are added once the workers have decoded every
// packet before them.
//
// # What runs on one worker
//
// The text timeline with delta times (each row's time is relative to the
// previous row of any connection) and exporters run with one worker,
// whatever Workers says: see [Config.Serial].
package pipeline

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/wscap/wscap/decode"
	"github.com/wscap/wscap/output"
	"github.com/wscap/wscap/reassembly"
	"github.com/wscap/wscap/source"
)

// Config configures a [Pipeline].
type Config struct {
	// Workers is the number of engines decoding in parallel; 0 or 1 runs
	// everything on the caller's goroutine.
	Workers int
	// Engine configures every worker's reassembly engine.
	Engine reassembly.Config
	// JSON selects JSON Lines output; otherwise the text timeline.
	JSON bool
	// Output configures the renderers.
	Output output.Options
	// FailOn, with CountFailures, counts the anomalies of at least that
	// severity (see Pipeline.Failures).
	FailOn        decode.Severity
	CountFailures bool
	// Exporters receive every event too, in output order, beside the
	// main output (--har, --html, --extract). They need the whole run in
	// order, so a run with exporters is serial.
	Exporters []output.Exporter
	// Secrets, if set, queues key log text that the capture carries
	// between its packets (pcapng Decryption Secrets Blocks, which the
	// source reads on the way): it is added to Engine.KeyLog before the
	// next packet is decoded, as a single engine reading the file would
	// see it.
	Secrets *Secrets
}

// Serial reports whether cfg must run on one worker: delta times in the
// text timeline, or exporters, which need the whole run in order. A key
// log does not make a run serial (see TLS in the package comment).
func (cfg *Config) Serial() bool {
	return !cfg.JSON && cfg.Output.Time == output.TimeDelta || len(cfg.Exporters) > 0
}

// Secrets queues key log text that arrives during the capture (see
// Config.Secrets). Add may be called from any goroutine.
type Secrets struct {
	mu  sync.Mutex
	q   [][]byte
	has atomic.Bool
}

// Add queues the key log text b (kept, not copied).
func (s *Secrets) Add(b []byte) {
	s.mu.Lock()
	s.q = append(s.q, b)
	s.has.Store(true)
	s.mu.Unlock()
}

func (s *Secrets) take() [][]byte {
	if s == nil || !s.has.Load() {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.q
	s.q = nil
	s.has.Store(false)
	return q
}

// A Pipeline takes the packets of a capture in order and writes the
// rendered output. It is used from one goroutine.
type Pipeline struct {
	cfg     Config
	w       io.Writer
	workers int

	// One worker: everything inline.
	eng      *reassembly.Engine
	r        output.Renderer
	failures int

	// Several workers. The caller's goroutine copies packets into blocks
	// and hands them to the router (the fields below up to rdone); the
	// router's goroutine runs everything else (see route).
	blk    *block        // being filled
	rq     chan *block   // to the router
	bfree  chan *block   // blocks the workers are done with
	blockN int           // bytes of a block
	rdone  chan struct{} // closed when the router has returned
	repoch bool          // router: the first packet was seen

	tr       *reassembly.Tracker
	ws       []*worker
	cur      []*batch // the round being filled, one batch per worker
	curBytes int
	curRecs  int
	mg       *merger
	owner    []uint16         // connection id -> worker+1 (0: none)
	dstats   reassembly.Stats // packets the router did not forward
	lastSent int              // number of the last packet sent to a worker
	lastIn   int              // number of the last packet handed in (Packet, Skip)
	ticks    int              // idle flushes so far (they number tick records)
	wm       key              // key of the last record sent to a worker
	checks   *checks          // the workers' memory at checkpoints
	sessions *sessionCache    // TLS 1.2 sessions, in capture order (with a key log)

	tally  tally        // one worker: WebSocket connections and messages so far
	shared *sharedTally // several workers: the same, added per batch

	started bool // init ran
	epoch   bool // the first packet was seen
	closed  bool
	err     error
}

// Limits of one round of batches.
const (
	batchBytes = 128 << 10 // packet bytes per worker batch
	inflight   = 3         // rounds queued per worker
	maxKeep    = 1 << 20   // larger buffers are not reused
)

// batchPackets is the most records of a worker batch (a variable for
// tests).
var batchPackets = 256

// New returns a Pipeline writing to w. The workers start with the first
// packet (see Config.Serial).
func New(cfg Config, w io.Writer) *Pipeline {
	return &Pipeline{cfg: cfg, w: w, workers: max(cfg.Workers, 1)}
}

// init starts the engines: at the first packet, tick or Close.
func (p *Pipeline) init() {
	if p.started {
		return
	}
	p.started = true
	cfg, w := p.cfg, p.w
	if cfg.Serial() {
		p.workers = 1
	}
	if p.workers == 1 {
		if cfg.ordered() {
			cfg.Output.Order = p.engineOrder
		}
		if cfg.JSON {
			p.r = output.NewJSON(w, cfg.Output)
		} else {
			p.r = output.NewText(w, cfg.Output)
		}
		p.eng = reassembly.New(cfg.Engine, func(evs []decode.Event) error {
			p.failures += countFailures(&cfg, evs)
			p.tally.add(evs)
			for _, x := range cfg.Exporters {
				if err := x.Write(evs); err != nil {
					return &exportError{err}
				}
			}
			return p.r.Write(evs)
		})
		return
	}
	p.tr = reassembly.NewTracker(cfg.Engine)
	p.checks = newChecks(p.workers)
	p.tr.SetTotal(p.total)
	p.mg = newMerger(cfg, w, p.workers)
	p.ws = make([]*worker, p.workers)
	p.cur = make([]*batch, p.workers)
	if cfg.Engine.KeyLog != nil {
		p.sessions = newSessionCache(cfg.Engine.KeyLog, p.workers)
	}
	p.shared = new(sharedTally)
	for i := range p.ws {
		p.ws[i] = newWorker(cfg, p.mg.in[i], p.checks, i, p.sessions)
		p.ws[i].shared = p.shared
		p.cur[i] = p.ws[i].getBatch()
		go p.ws[i].run()
	}
	go p.mg.run()
	p.blockN = blockBytes
	p.bfree = make(chan *block, blocksKept)
	p.rq = make(chan *block, routerQueue)
	p.rdone = make(chan struct{})
	p.blk = p.getBlock(0)
	go p.route()
}

// Progress returns the WebSocket connections and the data messages
// decoded so far, for a progress display (with workers, as of the
// batches they finished). It is called from the caller's goroutine.
func (p *Pipeline) Progress() (conns, messages int64) {
	if p.shared != nil {
		return p.shared.conns.Load(), p.shared.msgs.Load()
	}
	return p.tally.conns, p.tally.msgs
}

// tally counts WebSocket connections and data messages in events.
type tally struct{ conns, msgs int64 }

func (t *tally) add(evs []decode.Event) {
	for i := range evs {
		switch evs[i].Kind {
		case decode.KindConn:
			t.conns++
		case decode.KindMessage:
			t.msgs++
		}
	}
}

// sharedTally is the workers' tallies together.
type sharedTally struct{ conns, msgs atomic.Int64 }

// Workers reports how many workers decode: 1 when the run is serial
// (known from the first packet on).
func (p *Pipeline) Workers() int { return p.workers }

func countFailures(cfg *Config, evs []decode.Event) int {
	if !cfg.CountFailures {
		return 0
	}
	n := 0
	for i := range evs {
		if evs[i].Kind == decode.KindAnomaly && evs[i].Anomaly.Severity >= cfg.FailOn {
			n++
		}
	}
	return n
}

// Packet processes packet number n (1-based) of the capture. Packets
// come in capture order. Its data is only read during the call. The
// error is the output's.
func (p *Pipeline) Packet(n int, pkt source.Packet) error {
	if !p.begin(&pkt) {
		return p.err
	}
	if p.eng != nil {
		if err := p.eng.Packet(n, pkt); err != nil {
			p.err = writeErr(err)
		}
		return p.err
	}
	p.enqueue(opPacket, n, pkt)
	return p.err
}

// routePacket is Packet on the router: the tracker decides the packet's
// connection and the packet goes into the batch of its worker.
func (p *Pipeline) routePacket(n int, pkt source.Packet, blk *block, op int) {
	d := p.tr.Packet(n, &pkt)
	if d.OtherShard { // another shard's connection (Engine.Shard)
		p.after(n, &d)
		return
	}
	if d.Class == reassembly.ClassTCP {
		i := p.workerOf(&d)
		b := p.cur[i]
		bi := b.hold(blk)
		b.bytes += len(pkt.Data)
		b.recs = append(b.recs, rec{kind: recPacket, n: n, id: d.ID, blk: int32(bi), at: int32(op)})
		p.curBytes = max(p.curBytes, b.bytes)
		p.curRecs = max(p.curRecs, len(b.recs))
	} else {
		p.dstats.Count(&pkt, d.Class)
	}
	p.after(n, &d)
}

// after queues what the tracker decided at packet n besides its
// connection: a memory checkpoint, an idle flush; and sends a full round.
func (p *Pipeline) after(n int, d *reassembly.Decision) {
	p.lastIn = n
	if d.Check > 0 {
		for _, b := range p.cur {
			b.recs = append(b.recs, rec{kind: recCheck, n: n, id: d.Check})
		}
		p.curRecs++
	}
	if d.Flush {
		p.tick(n, d.Now)
	}
	if p.curBytes >= batchBytes || p.curRecs >= batchPackets {
		p.send(false)
	}
}

// begin starts the engines at the first packet, whose time is the epoch
// of relative times; it reports false once the output has failed.
func (p *Pipeline) begin(pkt *source.Packet) bool {
	if p.err != nil {
		return false
	}
	if !p.epoch {
		p.epoch = true
		p.init()
		if p.eng != nil {
			p.setEpoch(pkt.Time) // with workers, the router does
		}
	}
	p.addSecrets()
	return true
}

// addSecrets adds the queued secrets of Config.Secrets to the key log,
// once the workers have decoded every packet handed in before them (a
// pcapng file's Decryption Secrets Block between packets): a connection
// decoded before it does not see its secrets, as with one engine.
func (p *Pipeline) addSecrets() {
	q := p.cfg.Secrets.take()
	if len(q) == 0 || p.cfg.Engine.KeyLog == nil {
		return
	}
	if p.ws != nil {
		p.drain()
	}
	for _, b := range q {
		p.cfg.Engine.KeyLog.ReadFrom(bytes.NewReader(b)) // never fails on a bytes.Reader
	}
}

// drain waits until every worker has decoded every packet handed in so
// far.
func (p *Pipeline) drain() {
	var wg sync.WaitGroup
	wg.Add(len(p.ws))
	p.blk.wg = &wg
	p.enqueueOp(op{kind: opDrain})
	p.ship()
	wg.Wait()
}

// routeDrain sends the round being filled, whose batches tell wg when
// their workers decoded them.
func (p *Pipeline) routeDrain(wg *sync.WaitGroup) {
	for _, b := range p.cur {
		b.drained = wg
	}
	p.send(false)
}

// Skip tells the pipeline about packet number n, which a capture filter
// rejected (see reassembly.Engine.Skip): it numbers connections and
// times idle flushes as without the filter, and is not decoded. The
// first packet, skipped or not, sets the epoch of relative times.
func (p *Pipeline) Skip(n int, pkt source.Packet) error {
	if !p.begin(&pkt) {
		return p.err
	}
	if p.eng != nil {
		if err := p.eng.Skip(n, pkt); err != nil {
			p.err = writeErr(err)
		}
		return p.err
	}
	p.enqueue(opSkip, n, pkt)
	return p.err
}

// routeSkip is Skip on the router.
func (p *Pipeline) routeSkip(n int, pkt source.Packet) {
	d := p.tr.Packet(n, &pkt)
	if d.Class == reassembly.ClassTCP && d.New && d.Prev != 0 {
		// The connection it replaces on the 4-tuple is finished by its
		// engine when a packet of the new one is accepted: that engine
		// must get them.
		if i, ok := p.ownerOf(d.Prev); ok {
			p.owner[d.Prev] = 0
			p.setOwner(d.ID, i)
		}
	}
	p.after(n, &d)
}

// workerOf returns the worker of a TCP packet's connection. A new
// connection goes to the worker with the least work queued (packet bytes
// sent but not yet decoded), unless it replaces a connection on the same
// 4-tuple: that one's engine must see it to finish the old one.
func (p *Pipeline) workerOf(d *reassembly.Decision) int {
	if !d.New {
		if i, ok := p.ownerOf(d.ID); ok {
			return i
		}
	}
	i := -1
	if d.Prev != 0 {
		i, ok := p.ownerOf(d.Prev)
		if ok {
			p.owner[d.Prev] = 0
			p.setOwner(d.ID, i)
			return i
		}
	}
	// Work queued: sent and not decoded, plus what the round being
	// filled holds; ties (at the start, nothing is queued) go to the
	// worker given the fewest connections.
	var least int64
	for k, w := range p.ws {
		q := w.sent - w.done.Load() + int64(p.cur[k].bytes)
		if i < 0 || q < least || q == least && w.conns < p.ws[i].conns {
			i, least = k, q
		}
	}
	p.ws[i].conns++
	p.setOwner(d.ID, i)
	return i
}

// ownerOf returns the worker of connection id.
func (p *Pipeline) ownerOf(id int) (int, bool) {
	if id < 0 || id >= len(p.owner) || p.owner[id] == 0 {
		return 0, false
	}
	return int(p.owner[id]) - 1, true
}

func (p *Pipeline) setOwner(id, w int) {
	for id >= len(p.owner) {
		p.owner = append(p.owner, 0)
	}
	p.owner = p.owner[:cap(p.owner)]
	p.owner[id] = uint16(w + 1)
}

func (p *Pipeline) setEpoch(t time.Time) {
	// An exporter that counts time from the first packet (--html) is
	// told it, as the renderer is.
	for _, x := range p.cfg.Exporters {
		if e, ok := x.(interface{ SetEpoch(time.Time) }); ok {
			e.SetEpoch(t)
		}
	}
	if p.r != nil {
		p.r.SetEpoch(t)
		return
	}
	for _, b := range p.cur {
		b.epoch, b.hasEpoch = t, true
	}
}

// tick puts an idle flush after packet n into every worker's batch, with
// the retired connections of that worker.
func (p *Pipeline) tick(n int, now time.Time) {
	p.ticks++
	for _, r := range p.tr.Retired() {
		i, ok := p.ownerOf(r.ID)
		if !ok {
			continue
		}
		p.owner[r.ID] = 0
		b := p.cur[i]
		b.retired = append(b.retired, r)
	}
	cut := p.tr.Cut()
	for _, b := range p.cur {
		b.recs = append(b.recs, rec{kind: recTick, n: n, id: p.ticks, off: int32(b.retStart), end: int32(len(b.retired)), at: int32(len(b.ticks))})
		b.ticks = append(b.ticks, tickRec{now: now, cut: cut})
		b.retStart = len(b.retired)
	}
	p.curRecs++
}

// Tick tells the pipeline that capture time reached now without a packet
// (a quiet live capture); see reassembly.Engine.Tick.
func (p *Pipeline) Tick(now time.Time) error {
	if p.err != nil {
		return p.err
	}
	p.init()
	p.addSecrets()
	if p.eng != nil {
		if err := p.eng.Tick(now); err != nil {
			p.err = writeErr(err)
		}
		return p.err
	}
	p.enqueueOp(op{kind: opTick, t: now})
	return p.err
}

// routeTick is Tick on the router.
func (p *Pipeline) routeTick(now time.Time) {
	if due, at := p.tr.Tick(now); due {
		// The flush belongs after the last packet handed in so far:
		// number it like that packet, as a single engine would run it.
		p.tick(p.lastN(), at)
	}
}

// lastN is the number of the last packet handed in, skipped or not (in a
// sharded run, another shard may have events at it), in the current
// round, or sent before: ticks sort after the packet events of that
// number.
func (p *Pipeline) lastN() int {
	n := max(p.lastSent, p.lastIn)
	for _, b := range p.cur {
		if k := len(b.recs); k > 0 {
			n = max(n, b.recs[k-1].n)
		}
	}
	return n
}

// Flush writes out everything decoded so far (live capture). With
// workers it does not wait for them: the merger flushes the output once
// it has written this round.
func (p *Pipeline) Flush() error {
	if p.err != nil {
		return p.err
	}
	p.init()
	if p.r != nil {
		if err := p.r.Flush(); err != nil {
			p.err = writeErr(err)
		}
		return p.err
	}
	p.enqueueOp(op{kind: opFlush})
	p.ship()
	return p.err
}

// total returns what the workers held at checkpoint k (see
// reassembly.Tracker.SetTotal), waiting for them to get there.
func (p *Pipeline) total(k int) int64 {
	if !p.checks.ready(k) {
		p.send(false) // the checkpoint may still be in the round being filled
	}
	return p.checks.wait(k)
}

// send hands the current round to the workers.
func (p *Pipeline) send(flush bool) {
	for _, b := range p.cur {
		if k := len(b.recs); k > 0 {
			p.lastSent = max(p.lastSent, b.recs[k-1].n)
			if last := b.recs[k-1].key(); p.wm.less(last) {
				p.wm = last
			}
		}
	}
	for i, b := range p.cur {
		b.flush, b.wm = flush, p.wm
		p.ws[i].sent += int64(b.bytes)
		p.ws[i].in <- b
		p.cur[i] = p.ws[i].getBatch()
	}
	p.curBytes, p.curRecs = 0, 0
}

// Close ends the capture: every connection is flushed and closed, the
// summary written (when enabled) and the output flushed. The error is the
// output's.
func (p *Pipeline) Close() error {
	if p.closed {
		return p.err
	}
	p.closed = true
	p.init()
	p.addSecrets()
	if p.r != nil {
		if err := p.eng.Flush(); err != nil && p.err == nil {
			p.err = writeErr(err)
		}
		if err := p.r.Close(); err != nil && p.err == nil {
			p.err = writeErr(err)
		}
		for _, x := range p.cfg.Exporters {
			if err := x.Close(); err != nil && p.err == nil {
				p.err = err
			}
		}
		return p.err
	}
	p.enqueueOp(op{kind: opClose})
	p.ship()
	close(p.rq)
	<-p.rdone
	err := <-p.mg.done
	if p.err == nil {
		p.err = err
	}
	return p.err
}

// Stats returns the engines' counters; with workers, only after Close.
func (p *Pipeline) Stats() reassembly.Stats {
	if p.eng != nil {
		return p.eng.Stats()
	}
	s := p.dstats
	if p.mg != nil {
		s.Add(p.mg.stats)
	}
	return s
}

// IDs returns how many connection ids the capture's connections got:
// they are #1 to #IDs().
func (p *Pipeline) IDs() int {
	if p.eng != nil {
		return p.eng.IDs()
	}
	if p.tr == nil {
		return 0
	}
	return p.tr.IDs()
}

// Hidden returns the connections the output left out (see
// output.Options.All), by reason; only after Close.
func (p *Pipeline) Hidden() output.Hidden {
	if p.r != nil {
		return output.HiddenOf(p.r)
	}
	if p.mg == nil {
		return output.Hidden{}
	}
	return p.mg.hidden
}

// Timings returns the timing statistics of the connections the summary
// shows (see output.ConnTiming) when Output.Stats is set; only after
// Close.
func (p *Pipeline) Timings() []output.ConnTiming {
	if p.r != nil {
		return output.TimingsOf(p.r)
	}
	if p.mg == nil {
		return nil
	}
	return p.mg.timings
}

// Failures returns the number of anomalies at or above Config.FailOn;
// with workers, only after Close.
func (p *Pipeline) Failures() int {
	if p.mg == nil {
		return p.failures
	}
	return p.mg.failures
}

// writeErr wraps an error of the output writer.
func writeErr(err error) error {
	if err == nil {
		return nil
	}
	var we *writeError
	var xe *exportError
	if errors.As(err, &we) || errors.As(err, &xe) {
		return err
	}
	return &writeError{err}
}

// exportError is an exporter's error, which names what it was writing
// itself ("--extract: write out/c000001-client-000001.bin: ...").
type exportError struct{ err error }

func (e *exportError) Error() string { return e.err.Error() }
func (e *exportError) Unwrap() error { return e.err }

// writeError is an error writing the output.
type writeError struct{ err error }

func (e *writeError) Error() string { return "write output: " + e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

// ---- the router ----

// Limits of the caller's hand-over to the router.
const (
	blockBytes  = 256 << 10 // packet bytes of a block (a larger packet gets its own)
	routerQueue = 2         // blocks queued for the router
	blocksKept  = 16        // free blocks kept for reuse
)

type opKind uint8

const (
	opPacket opKind = iota
	opSkip
	opTick
	opFlush
	opDrain
	opClose
)

// op is one call of the caller, in order: a packet handed in or
// skipped (its data in block.data[off:end]), a tick (at t), a flush, a
// drain (block.wg) or the close. It is small: the caller writes one for
// every packet.
type op struct {
	t        time.Time // the packet's, or the tick's
	n        int
	capLen   int
	wireLen  int
	off, end int32
	kind     opKind
	link     layers.LinkType
}

// block is a run of the caller's calls, with the data of their packets.
// The packets are copied once, into a block, on the caller's goroutine;
// the router and the workers read them there. A block goes back to the
// caller once the router and every batch holding it are done with it.
type block struct {
	data []byte
	ops  []op
	wg   *sync.WaitGroup // of its opDrain (the last op of a block)
	refs atomic.Int32
	free chan<- *block
}

// packet returns the packet of operation i.
func (b *block) packet(i int) source.Packet {
	o := &b.ops[i]
	return source.Packet{Data: b.data[o.off:o.end:o.end], Time: o.t, CapLen: o.capLen, Len: o.wireLen, LinkType: o.link}
}

// release drops one hold on the block; the last gives it back.
func (b *block) release() {
	if b.refs.Add(-1) != 0 {
		return
	}
	b.data, b.ops, b.wg = b.data[:0], b.ops[:0], nil
	select {
	case b.free <- b:
	default:
	}
}

// hold makes the batch hold blk until the worker decoded it, and
// returns its index in b.blocks.
func (b *batch) hold(blk *block) int {
	if k := len(b.blocks); k > 0 && b.blocks[k-1] == blk {
		return k - 1
	}
	blk.refs.Add(1)
	b.blocks = append(b.blocks, blk)
	return len(b.blocks) - 1
}

// getBlock returns an empty block with room for at least need bytes,
// held once (for the router).
func (p *Pipeline) getBlock(need int) *block {
	var b *block
	select {
	case b = <-p.bfree:
		if cap(b.data) > 4*p.blockN {
			b.data = nil // grown by a large packet: not kept
		}
	default:
		b = &block{free: p.bfree}
	}
	if b.data == nil || cap(b.data) < need {
		b.data = make([]byte, 0, max(need, p.blockN))
	}
	b.refs.Store(1)
	return b
}

// enqueue adds packet n to the block being filled (as kind opPacket or
// opSkip), handing the block to the router once it is full.
func (p *Pipeline) enqueue(kind opKind, n int, pkt source.Packet) {
	b := p.blk
	if len(b.data)+len(pkt.Data) > cap(b.data) {
		if len(b.ops) > 0 {
			p.ship()
		}
		if b = p.blk; cap(b.data) < len(pkt.Data) {
			b.data = make([]byte, 0, len(pkt.Data))
		}
	}
	off := len(b.data)
	b.data = append(b.data, pkt.Data...)
	p.enqueueOp(op{kind: kind, n: n, off: int32(off), end: int32(len(b.data)), t: pkt.Time, capLen: pkt.CapLen, wireLen: pkt.Len, link: pkt.LinkType})
}

// opsPerBlock bounds the calls of a block (and so the router's work per
// block when packets are small).
const opsPerBlock = 4096

// enqueueOp adds o to the block being filled.
func (p *Pipeline) enqueueOp(o op) {
	p.blk.ops = append(p.blk.ops, o)
	if len(p.blk.ops) >= opsPerBlock {
		p.ship()
	}
}

// ship hands the block being filled to the router, and notes the
// merger's write error, which ends the run.
func (p *Pipeline) ship() {
	if len(p.blk.ops) > 0 {
		p.rq <- p.blk
		p.blk = p.getBlock(0)
	}
	if err := p.mg.failed(); err != nil && p.err == nil {
		p.err = err
	}
}

// route is the router's goroutine: it runs the caller's calls in order.
// The connection tracker decides every packet's connection, and the
// packets go into their workers' batches, which point into the blocks;
// a round of batches is sent at the latest when its block ends, so that
// blocks are held only by batches sent.
func (p *Pipeline) route() {
	defer close(p.rdone)
	for blk := range p.rq {
		for i := range blk.ops {
			o := &blk.ops[i]
			switch o.kind {
			case opPacket, opSkip:
				if !p.repoch {
					p.repoch = true
					p.setEpoch(o.t)
				}
				pkt := blk.packet(i)
				if o.kind == opPacket {
					p.routePacket(o.n, pkt, blk, i)
				} else {
					p.routeSkip(o.n, pkt)
				}
			case opTick:
				p.routeTick(o.t)
			case opFlush:
				p.send(true)
			case opDrain:
				p.routeDrain(blk.wg)
			case opClose:
				for _, b := range p.cur {
					b.final = true
				}
				p.send(true)
				for _, w := range p.ws {
					close(w.in)
				}
			}
		}
		if p.curRecs > 0 {
			p.send(false)
		}
		blk.release()
	}
}

// ---- batches and workers ----

type recKind uint8

const (
	recPacket recKind = iota
	recTick
	recCheck
)

// rec is one record of a batch: a packet of connection id (operation at
// of block blk of the batch), idle flush number id after packet n (its
// time and cut in batch.ticks[at], the retired connections in
// batch.retired[off:end]), or memory checkpoint number id after packet
// n. It is small: the router writes one for every packet.
type rec struct {
	n, id    int
	kind     recKind
	blk, at  int32
	off, end int32
}

// tickRec is what an idle flush needs besides its rec.
type tickRec struct {
	now time.Time      // the flush's capture time
	cut reassembly.Cut // the Tracker's Cut
}

// key returns the merge key that every chunk rendered after rc is
// greater than.
func (rc *rec) key() key {
	if rc.kind == recTick {
		return key{n: rc.n, phase: phaseTick, tick: rc.id, conn: math.MaxInt}
	}
	return key{n: rc.n, phase: phasePacket, conn: math.MaxInt}
}

// batch is what one worker gets of one round.
type batch struct {
	recs     []rec
	bytes    int      // packet bytes of recs
	blocks   []*block // the blocks its packets are in
	ticks    []tickRec
	retired  []reassembly.Retired
	retStart int
	epoch    time.Time
	hasEpoch bool
	wm       key             // the key of the round's last record, of any worker
	flush    bool            // the merger flushes the output after this round
	final    bool            // end of capture: flush and close every connection
	drained  *sync.WaitGroup // Done once the worker decoded the batch
}

func (b *batch) reset() {
	b.recs, b.bytes, b.blocks, b.retired, b.ticks = b.recs[:0], 0, b.blocks[:0], b.retired[:0], b.ticks[:0]
	b.retStart, b.hasEpoch, b.flush, b.final, b.drained = 0, false, false, false, nil
}

// Chunk phases, in the order a single engine emits them for one packet
// number.
const (
	phasePacket uint8 = iota // events of the packet itself
	phaseTick                // an idle flush after it, by connection
	phaseEOF                 // data behind holes at the end, by connection
	phaseClose               // connections closed at the end, by connection
)

// key orders rendered output as a single engine emits it: by packet
// number, phase, idle flush number and connection id.
type key struct {
	n     int
	phase uint8
	tick  int // phaseTick: the flush's number (two may follow one packet)
	conn  int
}

// keyMax is greater than every chunk's key.
var keyMax = key{n: math.MaxInt, phase: math.MaxUint8, tick: math.MaxInt, conn: math.MaxInt}

func (c key) less(d key) bool {
	if c.n != d.n {
		return c.n < d.n
	}
	if c.phase != d.phase {
		return c.phase < d.phase
	}
	if c.tick != d.tick {
		return c.tick < d.tick
	}
	return c.conn < d.conn
}

// chunk is a run of rendered bytes (result.out[start:end]) and its merge
// key.
type chunk struct {
	key
	end int
}

// outLimit is the most rendered bytes a worker holds before it hands
// them to the merger, in the middle of a batch if need be, so that memory
// does not follow what a round renders. (A variable for tests.)
var outLimit = 1 << 20

// outTotal bounds the rendered output of all workers together, so that
// memory does not grow with -j: each worker's result buffers hold
// outTotal/(workers*resultsPerWorker) bytes, and a result is shipped at
// half of that (at most outLimit, at least 16 KiB), which leaves room
// for the event that crosses the mark without growing the buffer. Past
// 21 workers the 16 KiB floor holds, and each worker adds its
// resultsPerWorker buffers of 32 KiB.
const (
	outTotal         = 4 << 20
	resultsPerWorker = inflight + 3 // queued, being written, being rendered, one free
)

// workerOutLimit is the result size at which each of n workers ships.
func workerOutLimit(n int) int {
	l := outTotal / (max(n, 1) * resultsPerWorker) / 2
	return min(max(l, 16<<10), outLimit)
}

// result is a run of what a worker rendered, in key order. Every chunk
// the worker renders later has a key greater than wm.
type result struct {
	out    []byte
	chunks []chunk
	wm     key
	flush  bool
	final  bool
	// Set on the final result.
	summary  *output.Summary
	stats    reassembly.Stats
	failures int
	w        *worker
}

type worker struct {
	cfg   Config
	in    chan *batch
	free  chan *batch
	out   chan<- *result
	rfree chan *result
	eng   *reassembly.Engine
	sh    *output.Shard
	ck    *checks
	idx   int           // the worker's number
	sc    *sessionCache // nil without a key log

	outLimit int // result size (see workerOutLimit)

	sent  int64        // router: packet bytes sent to the worker
	conns int          // router: connections given to the worker
	done  atomic.Int64 // packet bytes the worker decoded

	tally  tally        // WebSocket connections and messages decoded
	told   tally        // the part of tally added to shared
	shared *sharedTally // what Progress reads

	res      *result
	past     key // key of the last record decoded
	n        int
	tick     int
	phase    uint8
	failures int
}

func newWorker(cfg Config, out chan<- *result, ck *checks, idx int, sc *sessionCache) *worker {
	w := &worker{
		cfg:   cfg,
		ck:    ck,
		idx:   idx,
		sc:    sc,
		in:    make(chan *batch, inflight),
		free:  make(chan *batch, inflight+2),
		out:   out,
		rfree: make(chan *result, resultsPerWorker),
		sh:    output.NewShard(cfg.JSON, cfg.Output),

		outLimit: workerOutLimit(cfg.Workers),
	}
	if sc != nil {
		cfg.Engine.Sessions = sessionView{sc, w}
	}
	w.eng = reassembly.New(cfg.Engine, w.sink)
	w.orderShard()
	return w
}

// getBatch returns an empty batch, reusing one the worker is done with.
func (w *worker) getBatch() *batch {
	select {
	case b := <-w.free:
		b.reset()
		return b
	default:
		return &batch{}
	}
}

func (w *worker) getResult() *result {
	select {
	case r := <-w.rfree:
		if cap(r.out) > 4*w.outLimit {
			r.out = nil // grown by a large event: not kept
		}
		r.out, r.chunks = r.out[:0], r.chunks[:0]
		r.flush, r.final = false, false
		return r
	default:
		return &result{w: w, out: make([]byte, 0, 2*w.outLimit)}
	}
}

// ship hands the current result to the merger with watermark wm and
// starts a new one.
func (w *worker) ship(wm key) {
	w.res.wm = wm
	w.out <- w.res
	w.res = w.getResult()
}

// sink renders events into the current result, in chunks.
func (w *worker) sink(evs []decode.Event) error {
	w.failures += countFailures(&w.cfg, evs)
	w.tally.add(evs)
	if w.phase == phasePacket {
		w.render(evs, key{n: w.n, phase: w.phase})
		return nil
	}
	// Flush events come sorted by connection: one chunk per connection.
	for len(evs) > 0 {
		k := 1
		for k < len(evs) && evs[k].Conn == evs[0].Conn {
			k++
		}
		w.render(evs[:k], key{n: w.n, phase: w.phase, tick: w.tick, conn: evs[0].Conn})
		evs = evs[k:]
	}
	return nil
}

// render renders evs as chunks with key k, shipping the result whenever
// it holds outLimit bytes.
func (w *worker) render(evs []decode.Event, k key) {
	r := w.res
	start := len(r.out)
	for i := range evs {
		r.out = w.sh.Append(r.out, evs[i:i+1])
		if len(r.out) >= w.outLimit && i+1 < len(evs) {
			r.chunks = append(r.chunks, chunk{k, len(r.out)})
			w.ship(w.past)
			r, start = w.res, 0
		}
	}
	if len(r.out) > start {
		r.chunks = append(r.chunks, chunk{k, len(r.out)})
	}
}

// discardBatches makes parallel workers drop every batch after counting
// it (WSCAP_BENCH_DISCARD=1): the run then measures the caller, the
// router and the merger alone, the ceiling of a parallel run (bench/run's
// "dispatcher alone" row). The output is then only the empty summary.
var discardBatches = os.Getenv("WSCAP_BENCH_DISCARD") == "1"

func (w *worker) run() {
	w.res = w.getResult()
	for b := range w.in {
		if b.hasEpoch {
			w.sh.SetEpoch(b.epoch)
		}
		for i := 0; discardBatches && i < len(b.recs); i++ {
			if rc := &b.recs[i]; rc.kind == recCheck {
				w.ck.report(rc.id, 0)
			}
		}
		for i := 0; !discardBatches && i < len(b.recs); i++ {
			rc := &b.recs[i]
			w.n = rc.n
			if w.sc != nil && rc.kind != recCheck {
				w.sc.progress(w.idx, pointOf(rc.key()))
			}
			switch rc.kind {
			case recPacket:
				w.phase = phasePacket
				blk := b.blocks[rc.blk]
				w.eng.Handle(rc.n, blk.packet(int(rc.at)), rc.id)
			case recTick:
				w.phase, w.tick = phaseTick, rc.id
				t := &b.ticks[rc.at]
				w.eng.IdleFlush(t.now, t.cut, b.retired[rc.off:rc.end])
			case recCheck:
				w.ck.report(rc.id, w.eng.MemSize())
				continue
			}
			w.past = rc.key()
			if len(w.res.out) >= w.outLimit {
				w.ship(w.past)
			}
		}
		w.past = b.wm
		wm := b.wm
		if w.sc != nil {
			at := pointOf(b.wm) + 1
			if b.final {
				at = finalPoint
			}
			w.sc.progress(w.idx, at)
		}
		if b.final {
			w.n = math.MaxInt
			w.phase = phaseEOF
			w.eng.FlushStreams()
			w.phase = phaseClose
			w.eng.CloseAll()
			r := w.res
			r.final = true
			r.summary = w.sh.Summary()
			r.stats = w.eng.Stats()
			r.failures = w.failures
			wm = keyMax
		}
		w.res.flush = b.flush
		w.done.Add(int64(b.bytes))
		for _, blk := range b.blocks {
			blk.release()
		}
		clear(b.blocks)
		if w.tally != w.told {
			w.shared.conns.Add(w.tally.conns - w.told.conns)
			w.shared.msgs.Add(w.tally.msgs - w.told.msgs)
			w.told = w.tally
		}
		drained := b.drained
		select {
		case w.free <- b:
		default:
		}
		w.ship(wm)
		if drained != nil {
			drained.Done()
		}
	}
	if w.sc != nil {
		w.sc.progress(w.idx, math.MaxInt64)
	}
	close(w.out)
}

// ---- memory checkpoints ----

// checks collects what every worker's engine held at each memory
// checkpoint (see reassembly.Tracker.SetTotal).
type checks struct {
	mu      sync.Mutex
	cond    sync.Cond
	workers int
	got     map[int]int   // checkpoint -> workers that reported
	sum     map[int]int64 // checkpoint -> bytes they held
}

func newChecks(workers int) *checks {
	c := &checks{workers: workers, got: make(map[int]int), sum: make(map[int]int64)}
	c.cond.L = &c.mu
	return c
}

func (c *checks) report(k int, mem int64) {
	c.mu.Lock()
	c.got[k]++
	c.sum[k] += mem
	if c.got[k] == c.workers {
		c.cond.Broadcast()
	}
	c.mu.Unlock()
}

func (c *checks) ready(k int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.got[k] == c.workers
}

// wait returns the total of checkpoint k once every worker reported it,
// and forgets it.
func (c *checks) wait(k int) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.got[k] < c.workers {
		c.cond.Wait()
	}
	n := c.sum[k]
	delete(c.got, k)
	delete(c.sum, k)
	return n
}

// ---- merger ----

// The merger merges the workers' results by key as they come: it holds
// at most one result per worker, and reads from a worker only when the
// smallest chunk it holds cannot be written before it knows that the
// worker has nothing smaller.
type merger struct {
	cfg  Config
	bw   *bufio.Writer
	in   []chan *result
	done chan error
	errc chan error

	header   bool // text: the column header was written
	chunks   int  // chunks written
	writes   int  // writes they took (contiguous chunks go out together)
	err      error
	stats    reassembly.Stats
	failures int
	hidden   output.Hidden       // what the Shards left out
	timings  []output.ConnTiming // Output.Stats: the connections' timing statistics
}

func newMerger(cfg Config, w io.Writer, n int) *merger {
	m := &merger{
		cfg:  cfg,
		bw:   bufio.NewWriterSize(w, 256<<10),
		in:   make([]chan *result, n),
		done: make(chan error, 1),
		errc: make(chan error, 1),
	}
	for i := range m.in {
		m.in[i] = make(chan *result, inflight)
	}
	return m
}

// failed returns the merger's write error, if any, without waiting.
func (m *merger) failed() error {
	select {
	case err := <-m.errc:
		m.errc <- err
		return err
	default:
		return nil
	}
}

func (m *merger) write(b []byte) {
	if m.err != nil || len(b) == 0 {
		return
	}
	if !m.header && !m.cfg.JSON && m.cfg.Output.Timeline {
		m.header = true
		m.write(output.Header(m.cfg.Output))
	}
	if _, err := m.bw.Write(b); err != nil {
		m.setErr(err)
	}
}

func (m *merger) setErr(err error) {
	if m.err == nil {
		m.err = &writeError{err}
		m.errc <- m.err
	}
}

// mergeIn is the merger's view of one worker.
type mergeIn struct {
	r     *result // being written; nil when all its chunks are
	pos   int     // its next chunk
	start int     // the first byte of that chunk
	wm    key     // the worker renders nothing at or below wm any more
	ended bool    // its channel is closed
}

func (m *merger) run() {
	ins := make([]mergeIn, len(m.in))
	var summaries []*output.Summary
	flush := false
	turn := 0 // rotates which worker is asked first
	for {
		// The smallest chunk held.
		best := -1
		for i := range ins {
			in := &ins[i]
			if in.r != nil && (best < 0 || in.r.chunks[in.pos].less(ins[best].r.chunks[ins[best].pos].key)) {
				best = i
			}
		}
		// A worker that holds no chunk and may still render one below
		// it must be heard first: the one that has rendered least. A
		// result any such worker has ready is taken first, so that
		// workers whose marks stand still (rounds without packets, as
		// a quiet live capture's flushes send) are all drained and none
		// is left blocked with the router behind it.
		wait, ready := -1, -1
		var r *result
		ok := false
		for k := range ins {
			i := (k + turn) % len(ins)
			in := &ins[i]
			if in.r != nil || in.ended {
				continue
			}
			if best >= 0 && !in.wm.less(ins[best].r.chunks[ins[best].pos].key) {
				continue
			}
			if ready < 0 {
				select {
				case r, ok = <-m.in[i]:
					ready = i
				default:
				}
			}
			if wait < 0 || in.wm.less(ins[wait].wm) {
				wait = i
			}
		}
		if wait < 0 && best < 0 {
			break // every worker ended
		}
		if wait >= 0 {
			turn++
			if ready >= 0 {
				wait = ready
			} else {
				if flush && m.err == nil {
					// Everything that can be written was: out with
					// it while waiting.
					if err := m.bw.Flush(); err != nil {
						m.setErr(err)
					}
					flush = false
				}
				r, ok = <-m.in[wait]
			}
			in := &ins[wait]
			if !ok {
				in.ended, in.wm = true, keyMax
				continue
			}
			in.wm = r.wm
			flush = flush || r.flush
			if r.final {
				summaries = append(summaries, r.summary)
				m.stats.Add(r.stats)
				m.failures += r.failures
			}
			if len(r.chunks) == 0 {
				m.recycle(r)
				continue
			}
			in.r, in.pos, in.start = r, 0, 0
			continue
		}
		// The smallest chunk goes out, with the chunks after it in its
		// result that also come before anything another worker holds or
		// may still render: they are contiguous, so one write splices
		// them (a large one goes to the output without a copy).
		in := &ins[best]
		end := in.pos + 1
		if end < len(in.r.chunks) {
			held, marked := keyMax, keyMax
			for i := range ins {
				o := &ins[i]
				switch {
				case i == best || o.ended && o.r == nil:
				case o.r != nil:
					if k := o.r.chunks[o.pos].key; k.less(held) {
						held = k
					}
				case o.wm.less(marked):
					marked = o.wm
				}
			}
			for end < len(in.r.chunks) && in.r.chunks[end].less(held) && !marked.less(in.r.chunks[end].key) {
				end++
			}
		}
		c := &in.r.chunks[end-1]
		m.write(in.r.out[in.start:c.end])
		m.chunks += end - in.pos
		m.writes++
		in.start = c.end
		in.pos = end
		if in.pos == len(in.r.chunks) {
			m.recycle(in.r)
			in.r = nil
		}
	}
	m.finish(summaries)
}

// recycle gives a written result back to its worker.
func (m *merger) recycle(r *result) {
	select {
	case r.w.rfree <- r:
	default:
	}
}

// finish writes the summary once every worker has stopped.
func (m *merger) finish(summaries []*output.Summary) {
	m.hidden = output.Hidden{}
	for _, s := range summaries {
		m.hidden.Add(s.Hidden())
	}
	if m.cfg.Output.Stats {
		m.timings = output.SummaryTimings(summaries...)
	}
	if m.cfg.Output.Summary && m.err == nil {
		if !m.cfg.JSON && m.header {
			m.write([]byte("\n"))
		}
		if m.err == nil {
			if err := output.WriteSummary(m.bw, m.cfg.JSON, summaries...); err != nil {
				m.setErr(err)
			}
		}
	}
	if m.err == nil {
		if err := m.bw.Flush(); err != nil {
			m.setErr(err)
		}
	}
	m.done <- m.err
}
