package pipeline

import (
	"github.com/wscap/wscap/output"
	"github.com/wscap/wscap/reassembly"
)

// # Shards
//
// A run with Engine.Shard set decodes one shard of the capture (see
// reassembly/shard.go): the Tracker, the engine's own or the
// router's, marks the packets of other shards' connections, which
// are then numbered and timed but not decoded, like those a capture
// filter rejected. With JSON output every line starts with its merge
// key (output.Options.Order): with one engine the engine's position, with
// workers the key of the chunk being rendered, which is the same.

// ordered reports whether cfg's lines carry their merge key.
func (cfg *Config) ordered() bool { return cfg.JSON && cfg.Engine.Shard.On() }

// enginePhases maps the engine's phases to the output's.
var enginePhases = [...]uint8{
	reassembly.PhasePacket: output.OrderPacket,
	reassembly.PhaseTick:   output.OrderTick,
	reassembly.PhaseEOF:    output.OrderEOF,
	reassembly.PhaseClose:  output.OrderClose,
}

// engineOrder is the merge key of what the one engine emits.
func (p *Pipeline) engineOrder() output.Order {
	n, phase, tick := p.eng.Position()
	return output.Order{N: n, Phase: enginePhases[phase], Tick: tick}
}

// chunkPhases maps the merge key's phases to the output's.
var chunkPhases = [...]uint8{
	phasePacket: output.OrderPacket,
	phaseTick:   output.OrderTick,
	phaseEOF:    output.OrderEOF,
	phaseClose:  output.OrderClose,
}

// order is the merge key of what the worker renders.
func (w *worker) order() output.Order {
	return output.Order{N: w.n, Phase: chunkPhases[w.phase], Tick: w.tick}
}

// orderShard gives the worker's renderer the worker's merge keys, in a
// run whose lines carry them.
func (w *worker) orderShard() {
	if w.cfg.ordered() {
		opt := w.cfg.Output
		opt.Order = w.order
		w.sh = output.NewShard(w.cfg.JSON, opt)
	}
}

// MemPeak returns what the memory budget saw at its checkpoints: the
// most the engines held, and the most the connection tracker held (see
// reassembly.Tracker.MemPeak). Call it after Close.
func (p *Pipeline) MemPeak() (engines, own int64) {
	switch {
	case p.eng != nil:
		return p.eng.MemPeak()
	case p.tr != nil:
		return p.tr.MemPeak()
	}
	return 0, 0
}
