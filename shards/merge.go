package shards

import (
	"bufio"
	"bytes"
	"container/heap"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// An Input is one shard file to merge.
type Input struct {
	Name string    // for messages
	R    io.Reader // the file from its start
	// Tail, if set, returns the file's last line (see TailLine): Merge
	// then checks the trailers of all shards before it writes a byte.
	// Without it (a compressed file, a pipe) the trailer is checked when
	// the merge reaches it.
	Tail func() ([]byte, error)
}

// Result says what a merge found besides the lines.
type Result struct {
	Lines int64 // lines written
	// Warnings are the reasons the merge may differ from the output of
	// an unsharded run (memory budget evictions), one sentence each.
	Warnings []string
}

// mergeBuf is the read buffer of each shard file: lines longer than it
// are put together in the file's own buffer.
const mergeBuf = 64 << 10

// Merge writes to w the lines of the shard files in, in the order of the
// unsharded run, without their "ord" members and without the shard
// files' first and last lines: the output of a run that decoded every
// shard. It streams: it holds one line of each file. The files must be
// the N shards of one run (same N, wscap version, options and capture,
// every shard once) and whole (each ends with its "shard_end" line, and
// has the lines that line counts); anything else is an error that names
// the file and line. A capture that the runs could not read to its end
// (a damaged file) is an error after the merged output, as it is for an
// unsharded run.
func Merge(w io.Writer, in []Input) (Result, error) {
	var res Result
	if len(in) == 0 {
		return res, errors.New("no shard files to merge")
	}
	fs := make([]*file, len(in))
	for i, x := range in {
		f := &file{name: x.Name, idx: i, br: bufio.NewReaderSize(x.R, mergeBuf)}
		fs[i] = f
		line, err := f.read()
		if err == io.EOF {
			return res, fmt.Errorf("%s: empty: not a shard file (write the shards with --shard I/N --json)", f.name)
		}
		if err != nil {
			return res, err
		}
		if f.hdr, err = parseHeader(line); err != nil {
			return res, f.errorf("%v", err)
		}
	}
	if err := checkHeaders(fs); err != nil {
		return res, err
	}
	// The trailers that can be read first.
	for i, x := range in {
		if x.Tail == nil {
			continue
		}
		line, err := x.Tail()
		if err != nil {
			return res, fmt.Errorf("%s: %v", fs[i].name, err)
		}
		line, whole := bytes.CutSuffix(line, []byte("\n"))
		t, err := parseTrailer(line)
		if !whole || lineType(line) != trailerType || err != nil {
			return res, fmt.Errorf("%s: does not end with a whole \"shard_end\" line: the run was cut short, or the file is not whole", fs[i].name)
		}
		fs[i].tail = &t
	}
	if err := checkTrailers(fs, func(f *file) *Trailer { return f.tail }); err != nil {
		return res, err
	}

	bw := bufio.NewWriterSize(w, 256<<10)
	h := make(fileHeap, 0, len(fs))
	for _, f := range fs {
		if err := f.next(); err != nil {
			return res, err
		}
		if !f.done {
			h = append(h, f)
		}
	}
	heap.Init(&h)
	var last *file
	var lastKey Key
	var lastLine int64
	for len(h) > 0 {
		f := h[0]
		if last != nil && last != f && f.key == lastKey {
			return res, fmt.Errorf("%s:%d and %s:%d: two shards wrote lines at the same position %v: not the shards of one run", last.name, lastLine, f.name, f.lineNo, keyString(f.key))
		}
		bw.WriteByte('{')
		bw.Write(f.rest)
		if err := bw.WriteByte('\n'); err != nil {
			return res, fmt.Errorf("write output: %w", err)
		}
		res.Lines++
		last, lastKey, lastLine = f, f.key, f.lineNo
		if err := f.next(); err != nil {
			return res, err
		}
		if f.done {
			heap.Pop(&h)
		} else {
			heap.Fix(&h, 0)
		}
	}
	if err := bw.Flush(); err != nil {
		return res, fmt.Errorf("write output: %w", err)
	}
	if err := checkTrailers(fs, func(f *file) *Trailer { return f.end }); err != nil {
		return res, err
	}
	res.Warnings = budgetWarnings(fs)
	if e := fs[0].end.ReadError; e != "" {
		return res, fmt.Errorf("the shards' runs stopped at a damaged capture (everything before it is merged): %s", e)
	}
	return res, nil
}

// file is the merge's view of one shard file.
type file struct {
	name   string
	idx    int
	br     *bufio.Reader
	buf    []byte // a line longer than br's buffer
	lineNo int64  // of the current line
	hdr    Header
	tail   *Trailer // read first (Input.Tail), or nil
	end    *Trailer // read at the end
	key    Key      // of the current line
	rest   []byte   // of the current line: the object after '{'
	done   bool     // the trailer was read
}

func (f *file) errorf(format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", f.name, f.lineNo, fmt.Sprintf(format, args...))
}

// read returns the next line, without its newline; io.EOF at the end of
// the file. The line is valid until the next read.
func (f *file) read() ([]byte, error) {
	line, err := f.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		f.buf = append(f.buf[:0], line...)
		for err == bufio.ErrBufferFull {
			line, err = f.br.ReadSlice('\n')
			f.buf = append(f.buf, line...)
		}
		line = f.buf
	}
	if err == io.EOF && len(line) == 0 {
		return nil, io.EOF
	}
	f.lineNo++
	if err == io.EOF {
		return nil, f.errorf("the file ends in the middle of a line: it is not whole")
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.name, err)
	}
	return line[:len(line)-1], nil
}

// next reads the next line of the run, or the trailer (done).
func (f *file) next() error {
	prev, first := f.key, f.lineNo == 1
	line, err := f.read()
	if err == io.EOF {
		return fmt.Errorf("%s: ends without its \"shard_end\" line after %d lines: the run was cut short, or the file is not whole", f.name, f.lineNo)
	}
	if err != nil {
		return err
	}
	switch lineType(line) {
	case trailerType:
		t, err := parseTrailer(line)
		if err != nil {
			return f.errorf("%v", err)
		}
		if t.Lines != f.lineNo-1 {
			return f.errorf("the \"shard_end\" line counts %d lines before it, the file has %d: it is not whole", t.Lines, f.lineNo-1)
		}
		if _, err := f.read(); err != io.EOF {
			if err == nil {
				return f.errorf("a line after the \"shard_end\" line")
			}
			return err
		}
		f.end, f.done = &t, true
		return nil
	case headerType:
		return f.errorf("a second \"shard\" line: shard files were concatenated (give them to --merge one by one)")
	}
	k, rest, err := ParseLine(line)
	if err != nil {
		return f.errorf("%v", err)
	}
	if !first && k.Compare(prev) < 0 {
		return f.errorf("position %s comes after %s: the lines are out of order", keyString(k), keyString(prev))
	}
	f.key, f.rest = k, rest
	return nil
}

func keyString(k Key) string {
	return fmt.Sprintf("[%d,%d,%d,%d]", k.N, k.Phase, k.Tick, k.Conn)
}

// checkHeaders checks that fs are the shards of one run, each once.
func checkHeaders(fs []*file) error {
	a := fs[0]
	n := a.hdr.Shards
	seen := make(map[int]*file, n)
	for _, f := range fs {
		h := &f.hdr
		switch {
		case h.Shards != n:
			return fmt.Errorf("%s is shard %d/%d, but %s is shard %d/%d: not the shards of one run", f.name, h.Shard, h.Shards, a.name, a.hdr.Shard, n)
		case h.Version != a.hdr.Version:
			return fmt.Errorf("%s was written by wscap %s, %s by wscap %s: merge the shards of one version", f.name, h.Version, a.name, a.hdr.Version)
		case h.Options != a.hdr.Options || h.MemCap != a.hdr.MemCap:
			return fmt.Errorf("%s was written with the options %q, %s with %q: run every shard with the same options", f.name, h.Options, a.name, a.hdr.Options)
		}
		if g := seen[h.Shard]; g != nil {
			return fmt.Errorf("%s and %s are both shard %d/%d", g.name, f.name, h.Shard, n)
		}
		seen[h.Shard] = f
	}
	if len(seen) < n {
		var miss []string
		for i := range n {
			if seen[i] == nil {
				miss = append(miss, strconv.Itoa(i))
				if len(miss) == 10 {
					miss = append(miss, "...")
					break
				}
			}
		}
		noun := "shard"
		if n-len(seen) > 1 {
			noun = "shards"
		}
		return fmt.Errorf("%s %s of %d missing: --merge needs the files of all %d shards", noun, strings.Join(miss, ", "), n, n)
	}
	return nil
}

// checkTrailers checks that the trailers of fs (those tr returns) say
// that the runs read the same capture and are their shards.
func checkTrailers(fs []*file, tr func(*file) *Trailer) error {
	var a *file
	for _, f := range fs {
		t := tr(f)
		if t == nil {
			continue
		}
		if t.Shard != f.hdr.Shard || t.Shards != f.hdr.Shards {
			return fmt.Errorf("%s: the \"shard_end\" line is of shard %d/%d, the \"shard\" line of %d/%d: the file is not whole", f.name, t.Shard, t.Shards, f.hdr.Shard, f.hdr.Shards)
		}
		if a == nil {
			a = f
			continue
		}
		if u := tr(a); t.Packets != u.Packets || t.Bytes != u.Bytes || t.CRC32C != u.CRC32C {
			return fmt.Errorf("%s read %s, %s read %s: the shards read different captures", f.name, captureString(t), a.name, captureString(u))
		}
	}
	return nil
}

func captureString(t *Trailer) string {
	return fmt.Sprintf("%d packets (%d bytes, CRC-32C %s)", t.Packets, t.Bytes, t.CRC32C)
}

// budgetWarnings says when the memory budget may have made the merge
// differ from an unsharded run. A shard's engines hold the state of its
// connections only, exactly the share of the unsharded run's engines
// until the budget evicts: a shard that evicted means that the unsharded
// run evicts too (what it evicts may differ); and the unsharded run
// evicts nothing where the shards' peaks together stay within the budget.
func budgetWarnings(fs []*file) []string {
	var out []string
	var engines, track int64
	evicted := false
	for _, f := range fs {
		t := f.end
		if t.Evicted > 0 {
			evicted = true
			out = append(out, fmt.Sprintf("shard %d/%d: the memory budget (--memcap) evicted %d connections: an unsharded run evicts too, and its output may differ from this merge (raise --memcap)", t.Shard, t.Shards, t.Evicted))
		}
		engines += t.MemPeak
		track = max(track, t.TrackPeak)
	}
	if memcap := fs[0].hdr.MemCap; !evicted && memcap > 0 && engines+track > memcap {
		out = append(out, fmt.Sprintf("the shards together held up to %d bytes at a memory checkpoint, over the memory budget of %d (--memcap): an unsharded run may have evicted connections, and its output then differs from this merge (raise --memcap)", engines+track, memcap))
	}
	return out
}

// fileHeap orders files by their current line's key, then by index.
type fileHeap []*file

func (h fileHeap) Len() int { return len(h) }
func (h fileHeap) Less(i, j int) bool {
	if c := h[i].key.Compare(h[j].key); c != 0 {
		return c < 0
	}
	return h[i].idx < h[j].idx
}
func (h fileHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *fileHeap) Push(x any)   { *h = append(*h, x.(*file)) }
func (h *fileHeap) Pop() any {
	old := *h
	f := old[len(old)-1]
	*h = old[:len(old)-1]
	return f
}

// maxTail is the longest last line TailLine reads.
const maxTail = 64 << 10

// TailLine returns the last line of a file of size bytes, with its
// newline, reading it from the end: at most 64 KiB, which a "shard_end"
// line never comes near. A file that does not end with a newline returns
// what follows its last one.
func TailLine(r io.ReaderAt, size int64) ([]byte, error) {
	n := min(size, maxTail)
	buf := make([]byte, n)
	if _, err := r.ReadAt(buf, size-n); err != nil && err != io.EOF {
		return nil, err
	}
	if i := bytes.LastIndexByte(buf[:max(len(buf)-1, 0)], '\n'); i >= 0 {
		buf = buf[i+1:]
	}
	return buf, nil
}
