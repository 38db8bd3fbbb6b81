package output

import (
	"io"
	"slices"
	"time"

	"github.com/wscap/wscap/decode"
)

// A Shard renders the events of some of a run's connections into memory,
// for a pipeline that decodes connections in parallel and merges the
// rendered bytes in capture order. Every event of a connection must go to
// the same Shard. The bytes are those a [Renderer] with the same options
// would write for the same events, except for what depends on the whole
// run: a text Shard prints no column header (see [Header]) and no Shard
// prints the summary (see [Shard.Summary] and [WriteSummary]). The
// text timeline's delta times (TimeDelta) depend on the previous row of
// any connection: a Shard cannot render them.
//
// A Shard is not safe for concurrent use; different Shards are
// independent.
type Shard struct {
	r interface {
		Renderer
		b() *base
	}
}

func (t *textRenderer) b() *base { return &t.base }
func (j *jsonRenderer) b() *base { return &j.base }

// NewShard returns a Shard that renders JSON Lines (json) or the text
// timeline with opt.
func NewShard(json bool, opt Options) *Shard {
	s := &Shard{}
	if json {
		j := &jsonRenderer{buf: make([]byte, 0, 4096)}
		j.opt = opt
		j.conns.init(opt)
		s.r = j
	} else {
		t := &textRenderer{line: make([]byte, 0, 4096), num: make([]byte, 0, 32)}
		t.opt = opt
		t.conns.init(opt)
		t.header = true // the merger prints it once
		s.r = t
	}
	return s
}

// SetEpoch sets the capture time of the first packet of the run (see
// Renderer.SetEpoch). Every Shard of a run must get the same epoch.
func (s *Shard) SetEpoch(t time.Time) { s.r.SetEpoch(t) }

// Append renders evs after dst and returns the extended slice.
func (s *Shard) Append(dst []byte, evs []decode.Event) []byte {
	b := s.r.b()
	b.mem = dst
	s.r.Write(evs) // no error: memory does not fail
	dst = b.mem
	b.mem = nil
	return dst
}

// Summary returns the per-connection counters the Shard kept, for
// WriteSummary. The Shard must not be used afterwards.
func (s *Shard) Summary() *Summary {
	b := s.r.b()
	return &Summary{conns: b.conns.shown(b.conns.all()), hidden: b.conns.hiddenCounts(), opt: b.opt}
}

// A Summary holds the per-connection counters of a Shard.
type Summary struct {
	conns  []*connStats // those the summary shows
	hidden Hidden
	opt    Options // the Shard's: Width and Color shape the table
}

// Header returns the text timeline's column header line for opt: a
// Renderer prints it before its first line, and a pipeline of Shards
// before the first rendered byte.
func Header(opt Options) []byte {
	if opt.Follow != nil {
		return nil // the --follow view has no columns
	}
	t := &textRenderer{}
	t.opt = opt
	t.columnHeader()
	return t.mem
}

// WriteSummary writes the summary of the connections of parts, in
// connection id order, as a Renderer with the same options writes it at
// Close: the text table (json false) or one JSON "summary" line per
// connection. A text renderer that printed a timeline puts an empty line
// before the table: the caller writes that.
func WriteSummary(w io.Writer, json bool, parts ...*Summary) error {
	var conns []*connStats
	for _, p := range parts {
		conns = append(conns, p.conns...)
	}
	slices.SortFunc(conns, compareConns)
	if !json {
		var opt Options
		if len(parts) > 0 {
			opt = parts[0].opt
		}
		return writeSummaryFit(w, conns, opt)
	}
	var b []byte
	var tc tsCache
	ord := len(parts) > 0 && parts[0].opt.Order != nil
	for _, c := range conns {
		b = appendSummaryLine(b[:0], c, &tc, ord)
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}
