package source

import (
	"context"
	"errors"
	"os"
	"time"
)

// ErrIdle is returned by the Next of a stream (see [OpenStream]) when no
// packet arrived for its idle time. It is not sticky: the caller flushes
// its output, checks for an interrupt, and calls Next again.
var ErrIdle = errors.New("no packet arrived for a while")

// OpenStream opens path as [Open] does. A regular file is returned as
// Open returns it. Anything else (standard input, a pipe, a FIFO, a
// terminal) is a stream whose packets arrive as a writer writes them:
// it is read on a goroutine of its own, so that opening it (a FIFO's open
// waits for a writer; the header waits for the first bytes) ends with
// ctx.Err() as soon as ctx is done, and its Next returns [ErrIdle] when no
// packet arrived for idle, so that the caller can print what it has and
// notice an interrupt. [IsStream] tells the two apart.
func OpenStream(ctx context.Context, path string, idle time.Duration) (Source, error) {
	if !isStreamPath(path) {
		return Open(path)
	}
	type opened struct {
		s   Source
		err error
	}
	ch := make(chan opened, 1)
	stdin := os.Stdin
	go func() {
		s, err := open(path, stdin)
		ch <- opened{s, err}
	}()
	select {
	case o := <-ch:
		if o.err != nil {
			return nil, o.err
		}
		return newStream(o.s, idle), nil
	case <-ctx.Done():
		go func() { // close it if the open ever completes
			if o := <-ch; o.s != nil {
				o.s.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// isStreamPath reports whether path names something other than a regular
// file or a directory ("-": standard input).
func isStreamPath(path string) bool {
	var (
		st  os.FileInfo
		err error
	)
	if path == "-" {
		st, err = os.Stdin.Stat()
	} else {
		st, err = os.Stat(path)
	}
	return err == nil && !st.Mode().IsRegular() && !st.IsDir()
}

// IsStream reports whether s is a stream returned by [OpenStream].
func IsStream(s Source) bool {
	_, ok := s.(*stream)
	return ok
}

// stream reads packets of src on a goroutine of its own, one at a time,
// when Next asks: the packet's Data stays valid until the next call of
// Next, as for every Source.
type stream struct {
	src   Source
	req   chan struct{}
	resp  chan streamed
	busy  bool // a packet was asked for and has not arrived yet
	idle  *time.Timer
	wait  time.Duration
	err   error
	close chan struct{}
}

type streamed struct {
	p   Packet
	err error
}

func newStream(src Source, idle time.Duration) *stream {
	s := &stream{
		src:   src,
		req:   make(chan struct{}),
		resp:  make(chan streamed),
		wait:  idle,
		idle:  time.NewTimer(idle),
		close: make(chan struct{}),
	}
	go s.read()
	return s
}

// read runs on the stream's goroutine: it reads a packet when asked, and
// closes src when the stream is closed.
func (s *stream) read() {
	defer s.src.Close()
	for {
		select {
		case <-s.req:
		case <-s.close:
			return
		}
		p, err := s.src.Next()
		select {
		case s.resp <- streamed{p, err}:
		case <-s.close:
			return
		}
		if err != nil {
			<-s.close
			return
		}
	}
}

func (s *stream) Next() (Packet, error) {
	if s.err != nil {
		return Packet{}, s.err
	}
	if !s.busy {
		s.req <- struct{}{}
		s.busy = true
	}
	s.idle.Reset(s.wait)
	select {
	case r := <-s.resp:
		s.busy = false
		if r.err != nil {
			s.err = r.err
		}
		return r.p, r.err
	case <-s.idle.C:
		return Packet{}, ErrIdle
	}
}

// Close stops the stream. A read that is blocked waiting for the writer
// is left to end with the process; the file is closed when it returns.
func (s *stream) Close() error {
	select {
	case <-s.close:
	default:
		close(s.close)
	}
	return nil
}

// TLSSecrets implements [TLSSecrets] if the stream's source does.
func (s *stream) TLSSecrets() []byte {
	if ts, ok := s.src.(TLSSecrets); ok {
		return ts.TLSSecrets()
	}
	return nil
}

// OnTLSSecrets implements [TLSSecrets] if the stream's source does. f is
// called on the stream's goroutine while Next waits for a packet.
func (s *stream) OnTLSSecrets(f func(keylog []byte)) {
	if ts, ok := s.src.(TLSSecrets); ok {
		ts.OnTLSSecrets(f)
	}
}
