package output

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/wscap/wscap/decode"
	"github.com/wscap/wscap/dfilter"
)

// --extract: every data message's payload in a file of its own, and a
// manifest in JSON Lines (README.md, section "Extracting payloads").

// The bounds of one --extract run: past either, extraction stops, the
// manifest's last line says so ({"type":"stop"}) and so does stderr.
const (
	ExtractMaxFiles = 100_000 // files, the manifest not counted
	ExtractMaxBytes = 4 << 30 // payload bytes written, in all
)

// ExtractManifest is the name of the manifest in the directory.
const ExtractManifest = "manifest.jsonl"

// ErrExtractNotEmpty: the --extract directory exists and is not empty.
var ErrExtractNotEmpty = errors.New("directory not empty: --extract writes only into an empty or new directory (remove it or choose another)")

// ExtractOptions configure an [Extractor].
type ExtractOptions struct {
	// Filter (-Y): only the messages whose message event matches are
	// extracted.
	Filter *dfilter.Filter
	// MaxFiles and MaxBytes bound the run; 0: ExtractMaxFiles and
	// ExtractMaxBytes.
	MaxFiles int
	MaxBytes int64
	// Stderr gets one line at Close: what was written, and why it
	// stopped early if it did. nil: nothing.
	Stderr io.Writer
}

// Extractor is the [Exporter] of --extract. It writes each data message's
// payload as kept by the decoder (unmasked, inflated, at most
// --max-payload bytes) to a file of the directory as the event arrives,
// and appends a line to the manifest; it keeps no per-connection state.
//
// Files are created inside the directory only (through an [os.Root]),
// with O_CREATE|O_EXCL: a name that exists already, a planted symbolic
// link included, is never opened; the file takes the next free suffix
// (_2, _3...). Names are generated from numbers, never from the capture.
type Extractor struct {
	dir   string
	root  *os.Root
	man   *os.File
	mw    *bufio.Writer
	opt   ExtractOptions
	files int
	bytes int64

	stop    string // "max_files" or "max_bytes" once a bound stopped extraction
	skipped int    // messages not extracted after the stop
	err     error
	closed  bool

	line []byte
	name []byte
	ts   tsCache

	// create opens a new file in the directory; tests replace it.
	create func(name string) (io.WriteCloser, error)
}

// NewExtractor creates dir if it is missing (as mkdir -p does) and
// refuses one that is not empty ([ErrExtractNotEmpty]): files of two runs
// are never mixed and none is overwritten. dir itself may be a symbolic
// link to a directory; nothing inside it is followed.
func NewExtractor(dir string, opt ExtractOptions) (*Extractor, error) {
	if opt.MaxFiles <= 0 {
		opt.MaxFiles = ExtractMaxFiles
	}
	if opt.MaxBytes <= 0 {
		opt.MaxBytes = ExtractMaxBytes
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, fmt.Errorf("--extract: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("--extract: %w", err)
	}
	d, err := root.Open(".")
	if err != nil {
		root.Close()
		return nil, fmt.Errorf("--extract: %w", err)
	}
	names, err := d.Readdirnames(1)
	d.Close()
	if err != nil && err != io.EOF {
		root.Close()
		return nil, fmt.Errorf("--extract: %w", err)
	}
	if len(names) > 0 {
		root.Close()
		return nil, fmt.Errorf("--extract %s: %w", dir, ErrExtractNotEmpty)
	}
	x := &Extractor{dir: dir, root: root, opt: opt}
	x.create = func(name string) (io.WriteCloser, error) {
		return root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	}
	m, err := root.OpenFile(ExtractManifest, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		root.Close()
		return nil, x.fail(ExtractManifest, err)
	}
	x.man = m
	x.mw = bufio.NewWriterSize(m, 64<<10)
	return x, nil
}

// fail returns the error of writing name: "--extract: write DIR/NAME:
// no space left on device".
func (x *Extractor) fail(name string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("--extract: write %s: %w", filepath.Join(x.dir, name), err)
}

// Write extracts the data messages of evs.
func (x *Extractor) Write(evs []decode.Event) error {
	if x.err != nil {
		return x.err
	}
	for i := range evs {
		ev := &evs[i]
		if ev.Kind != decode.KindMessage {
			continue
		}
		// Message events carry no field the filter reads from the
		// connection's endpoints: no ConnInfo is needed.
		if x.opt.Filter != nil && !x.opt.Filter.Match(ev, nil) {
			continue
		}
		if err := x.extract(ev); err != nil {
			x.err = err
			return err
		}
	}
	return nil
}

func (x *Extractor) extract(ev *decode.Event) error {
	m := &ev.Message
	p := m.Payload
	if x.stop == "" {
		switch {
		case x.files >= x.opt.MaxFiles:
			x.stop = "max_files"
		case x.bytes+int64(len(p)) > x.opt.MaxBytes:
			x.stop = "max_bytes"
		}
	}
	if x.stop != "" {
		x.skipped++
		return nil
	}
	g := GuessContent(p, m.Truncated || m.Cut || m.Lost > 0)
	if m.DecodeError != "" {
		g = guessBinary // raw wire bytes: compressed, not the message
	}
	name, err := x.writeFile(ev, g.Ext, p)
	if err != nil {
		return err
	}
	x.files++
	x.bytes += int64(len(p))
	x.line = appendManifestLine(x.line[:0], ev, name, g, p, &x.ts)
	if _, err := x.mw.Write(x.line); err != nil {
		return x.fail(ExtractManifest, err)
	}
	return nil
}

// writeFile writes p to a new file named for ev and returns the name. A
// file that could not be written whole is removed.
func (x *Extractor) writeFile(ev *decode.Event, ext string, p []byte) (string, error) {
	base := appendExtractName(x.name[:0], ev.Conn, ev.H2Stream, ev.From, ev.Message.N)
	x.name = base
	var (
		f    io.WriteCloser
		name string
		err  error
	)
	for try := 1; ; try++ {
		b := base
		if try > 1 {
			b = append(b, '_')
			b = strconv.AppendInt(b, int64(try), 10)
		}
		b = append(b, '.')
		b = append(b, ext...)
		x.name = b
		name = string(b)
		f, err = x.create(name)
		if err == nil || !errors.Is(err, fs.ErrExist) || try == 100 {
			break
		}
	}
	if err != nil {
		return "", x.fail(name, err)
	}
	_, err = f.Write(p)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		x.root.Remove(name)
		return "", x.fail(name, err)
	}
	return name, nil
}

// appendExtractName appends the name of a message's file without its
// extension: c000003-client-000012, c000003-s000005-server-000001.
// Numbers are zero-padded to 6 digits, so that names sort in order.
func appendExtractName(b []byte, conn int, stream uint32, from decode.Role, n int) []byte {
	b = append(b, 'c')
	b = appendPadded(b, int64(conn))
	if stream != 0 {
		b = append(b, "-s"...)
		b = appendPadded(b, int64(stream))
	}
	b = append(b, '-')
	if r := roleJSON(from); r != "" {
		b = append(b, r...)
	} else {
		b = append(b, "unknown"...)
	}
	b = append(b, '-')
	return appendPadded(b, int64(n))
}

func appendPadded(b []byte, v int64) []byte {
	if v < 0 {
		v = 0
	}
	for d := int64(100000); d > 1 && v < d; d /= 10 {
		b = append(b, '0')
	}
	return strconv.AppendInt(b, v, 10)
}

// appendManifestLine appends the manifest line of one extracted file.
func appendManifestLine(b []byte, ev *decode.Event, name string, g Guess, p []byte, tc *tsCache) []byte {
	m := &ev.Message
	b = append(b, `{"type":"file"`...)
	b = jStr(b, "file", name)
	b = jInt(b, "conn", int64(ev.Conn))
	if ev.H2Stream != 0 {
		b = jInt(b, "h2_stream", int64(ev.H2Stream))
	}
	b = jRaw(b, "from", roleJSON(ev.From))
	b = jInt(b, "n", int64(m.N))
	b = jInt(b, "pkt", int64(ev.Packet))
	b = jInt(b, "first_pkt", int64(m.FirstPacket))
	b = jTime(b, "ts", ev.Time, tc)
	b = appendUnixTime(key(b, "ts_unix"), ev.Time) // as in JSON Lines
	b = jRaw(b, "opcode", m.Opcode.String())
	b = jUint(b, "len", m.Len)
	b = jInt(b, "size", int64(len(p)))
	b = jInt(b, "frames", int64(m.Frames))
	b = jBool(b, "compressed", m.Compressed)
	sum := sha256.Sum256(p)
	b = append(key(b, "sha256"), '"')
	b = hex.AppendEncode(b, sum[:])
	b = append(b, '"')
	b = jRaw(b, "guess", g.Name)
	b = jRaw(b, "mime", g.MIME)
	if m.Truncated {
		b = jBool(b, "truncated", true)
	}
	if m.Lost > 0 {
		b = jUint(b, "lost_bytes", m.Lost)
	}
	if m.Cut {
		b = jBool(b, "cut", true)
	}
	if m.DecodeError != "" {
		b = jStr(b, "decode_error", m.DecodeError)
	}
	if a := ev.App; a != nil && len(a.Units) > 0 {
		u := &a.Units[0]
		b = append(key(b, "app"), `{"proto":`...)
		b = appendJSONString(b, u.Proto)
		b = append(b, `,"type":`...)
		b = appendJSONString(b, u.Type)
		b = append(b, `,"name":`...)
		if u.HasName {
			b = appendJSONString(b, u.Name)
		} else {
			b = append(b, "null"...)
		}
		b = append(b, '}')
		if n := len(a.Units) + a.More; n > 1 {
			b = jInt(b, "app_units", int64(n))
		}
	}
	return append(b, '}', '\n')
}

// Close writes the stop line if a bound was reached, closes the manifest
// and tells Stderr what was written. After a write error it returns that
// error.
func (x *Extractor) Close() error {
	if x.closed {
		return x.err
	}
	x.closed = true
	defer x.root.Close()
	if x.err == nil && x.stop != "" {
		b := append(x.line[:0], `{"type":"stop"`...)
		b = jRaw(b, "reason", x.stop)
		b = jInt(b, "max_files", int64(x.opt.MaxFiles))
		b = jInt(b, "max_bytes", x.opt.MaxBytes)
		b = jInt(b, "files", int64(x.files))
		b = jInt(b, "bytes", x.bytes)
		b = jInt(b, "skipped", int64(x.skipped))
		b = append(b, '}', '\n')
		if _, err := x.mw.Write(b); err != nil {
			x.err = x.fail(ExtractManifest, err)
		}
	}
	if err := x.mw.Flush(); err != nil && x.err == nil {
		x.err = x.fail(ExtractManifest, err)
	}
	if err := x.man.Close(); err != nil && x.err == nil {
		x.err = x.fail(ExtractManifest, err)
	}
	if x.err != nil {
		return x.err
	}
	if w := x.opt.Stderr; w != nil {
		fmt.Fprintf(w, "wscap: extracted %d messages (%d bytes) to %s", x.files, x.bytes, x.dir)
		switch x.stop {
		case "max_files":
			fmt.Fprintf(w, "; stopped at the limit of %d files: %d more not extracted (-Y selects fewer)", x.opt.MaxFiles, x.skipped)
		case "max_bytes":
			fmt.Fprintf(w, "; stopped at the limit of %d bytes: %d more not extracted (-Y selects fewer)", x.opt.MaxBytes, x.skipped)
		}
		fmt.Fprintln(w)
	}
	return nil
}
