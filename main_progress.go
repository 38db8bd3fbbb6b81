package main

import (
	"fmt"
	"io"
	"time"

	"github.com/wscap/wscap/internal/progress"
	"github.com/wscap/wscap/pipeline"
	"github.com/wscap/wscap/source"
)

// The progress line of a long read (README, "Progress"): on by default
// when standard error is a terminal and -r reads a regular file;
// --progress shows it also when standard error is not a terminal (a
// plain line a second), --no-progress never.

// positioner is a source that knows how much of its file it has read
// (source.Open's files; not streams).
type positioner interface {
	Position() (read, size int64)
}

// stderrIsTerminal and progressOptions are variables for tests.
var (
	stderrIsTerminal = isTerminal
	progressOptions  = func(terminal bool) progress.Options {
		if terminal {
			return progress.TerminalDefaults
		}
		return progress.PlainDefaults
	}
)

// progressRun draws the progress of one read; nil draws nothing.
type progressRun struct {
	m   *progress.Meter
	pos positioner
	tty bool
}

// newProgress returns the progress display for reading s (stream: a pipe
// or FIFO), or nil when there is none: --no-progress, input that is not
// a regular file, or standard error not a terminal without --progress.
func newProgress(cfg *config, s source.Source, stream bool, stderr io.Writer, start time.Time) *progressRun {
	if cfg.progress < 0 {
		return nil
	}
	pos, ok := s.(positioner)
	if ok && !stream {
		_, size := pos.Position()
		ok = size >= 0
	}
	if !ok || stream {
		if cfg.progress > 0 {
			fmt.Fprintf(stderr, "wscap: --progress: %s is not a regular file: no progress is shown\n", cfg.read)
		}
		return nil
	}
	tty := stderrIsTerminal(stderr)
	if !tty && cfg.progress == 0 {
		return nil
	}
	opt := progressOptions(tty)
	if tty {
		opt.Width = func() int { return termWidth(stderr) }
	}
	return &progressRun{m: progress.New(stderr, start, opt), pos: pos, tty: tty}
}

// tick draws the line if one is due; the read loop calls it every few
// hundred packets, from the goroutine that reads.
func (p *progressRun) tick(pipe *pipeline.Pipeline) {
	if p == nil {
		return
	}
	now := time.Now()
	if !p.m.Due(now) {
		return
	}
	read, size := p.pos.Position()
	conns, msgs := pipe.Progress()
	p.m.Draw(now, progress.Stats{Read: read, Size: size, Conns: conns, Messages: msgs})
}

// stop erases the line; nothing is drawn after it.
func (p *progressRun) stop() {
	if p != nil {
		p.m.Stop()
	}
}

// stdout returns the writer for standard output: when it is a terminal
// too, one that erases the line before each write (the bytes written are
// the same).
func (p *progressRun) stdout(w io.Writer) io.Writer {
	if p == nil || !p.tty || !isTerminal(w) {
		return w
	}
	return p.m.Guard(w)
}

// stderr returns the writer for what goes to standard error while the
// line may show: it erases the line first.
func (p *progressRun) stderr(w io.Writer) io.Writer {
	if p == nil {
		return w
	}
	return p.m.Guard(w)
}
