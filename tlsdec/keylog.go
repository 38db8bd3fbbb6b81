package tlsdec

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"slices"
	"sync"
)

// Key log labels (NSS key log format). Other labels are ignored.
const (
	labelTLS12      = "CLIENT_RANDOM"
	labelClientHS   = "CLIENT_HANDSHAKE_TRAFFIC_SECRET"
	labelServerHS   = "SERVER_HANDSHAKE_TRAFFIC_SECRET"
	labelClientApp  = "CLIENT_TRAFFIC_SECRET_0"
	labelServerApp  = "SERVER_TRAFFIC_SECRET_0"
	maxSessionCache = 4096 // TLS 1.2 session ids and tickets remembered for resumption
)

// secrets are the key log entries of one client random.
type secrets struct {
	master               []byte // TLS 1.2 (and older) master secret
	clientHS, serverHS   []byte // TLS 1.3 handshake traffic secrets
	clientApp, serverApp []byte // TLS 1.3 first application traffic secrets
}

// KeyLog holds secrets from an NSS key log (SSLKEYLOGFILE), indexed by
// client random. It is safe for concurrent use: lookups may run while
// ReadFrom or Follow add lines. It also remembers the TLS 1.2 master
// secrets of decrypted sessions by session id and ticket, so that resumed
// (abbreviated) handshakes decrypt even when the key log has no line for
// their own client random.
//
// A followed key log file (see Follow) is read lazily: not at all until a
// TLS connection looks its client random up; then a regular file is
// scanned once, in a bounded buffer, into an index of 8 bytes per line (a
// hash of the line's client random and the line's offset), and only the
// lines of the client randoms looked up are read again and kept. A key log
// that is not a regular file (a pipe) is read once, when first needed, and
// only its secrets are kept. The text is never held whole.
type KeyLog struct {
	mu       sync.RWMutex
	byRandom map[[32]byte]*secrets
	sessions map[string][]byte // "i"+session id or "t"+ticket -> master secret
	order    []string          // insertion order of sessions, for eviction

	fmu     sync.Mutex // serializes reading the followed file
	path    string     // followed file ("" if none)
	pending bool       // the followed file had bytes at Follow (read lazily)
	stream  *os.File   // a followed file that is not regular, until read
	ident   os.FileInfo
	offset  int64    // bytes of path indexed (whole lines)
	idx     []uint64 // sorted index entries: hash<<offsetBits | offset
	tail    []uint64 // entries indexed since idx was sorted, in file order
	seed    maphash.Seed
	err     error // the first error reading the followed file
	done    <-chan struct{}
	indexed bool // the followed file was read or indexed at least once
}

// Index entries: the top 24 bits of a hash of the client random, the
// line's offset in the low 40 (key logs up to 1 TiB).
const (
	offsetBits = 40
	maxLine    = 4096    // longer lines are skipped
	maxNoLine  = 1 << 20 // a stream without a newline in this many bytes is not a key log
)

// NewKeyLog returns an empty key log.
func NewKeyLog() *KeyLog {
	return &KeyLog{byRandom: map[[32]byte]*secrets{}, sessions: map[string][]byte{}, seed: maphash.MakeSeed()}
}

// SetDone makes reading the followed file stop when done is closed (an
// interrupt): a long scan is abandoned, and lookups find no more secrets
// in the file.
func (k *KeyLog) SetDone(done <-chan struct{}) {
	k.fmu.Lock()
	k.done = done
	k.fmu.Unlock()
}

// Err returns the first error met reading the followed key log when a
// lookup needed it (lookups themselves only miss), or nil.
func (k *KeyLog) Err() error {
	k.fmu.Lock()
	defer k.fmu.Unlock()
	return k.err
}

// ReadFrom adds every line of r, including a last line without a newline.
// Comments, blank lines, unknown labels and malformed lines are skipped.
// It implements io.ReaderFrom; the error is r's, never a parse error.
func (k *KeyLog) ReadFrom(r io.Reader) (int64, error) {
	n, _, err := k.readLines(r, true, false)
	return n, err
}

// Follow remembers the key log file at path, to be read when a TLS
// connection first needs a secret (see KeyLog). It only checks that the
// file can be opened. Lookups that miss read the lines appended since (see
// Poll), so a live capture can decrypt connections whose secrets are
// written while it runs.
func (k *KeyLog) Follow(path string) error {
	k.fmu.Lock()
	defer k.fmu.Unlock()
	k.path, k.offset, k.idx, k.tail, k.ident, k.indexed = path, 0, nil, nil, nil, false
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open key log: %w", err)
	}
	st, err := f.Stat()
	switch {
	case err != nil:
		f.Close()
		return fmt.Errorf("read key log: %w", err)
	case st.IsDir():
		f.Close()
		return fmt.Errorf("read key log: %s is a directory", path)
	case !st.Mode().IsRegular():
		k.stream, k.pending = f, true
		return nil
	}
	k.pending = st.Size() > 0
	f.Close()
	return nil
}

// HasSecrets reports whether the key log holds secrets or follows a file
// that may have some (one that was not empty, not read yet): whether TLS
// connections may be decrypted. Once the file was read, only the lines
// with secrets count.
func (k *KeyLog) HasSecrets() bool {
	if k == nil {
		return false
	}
	if k.Len() > 0 {
		return true
	}
	k.fmu.Lock()
	defer k.fmu.Unlock()
	if k.indexed {
		return len(k.idx)+len(k.tail) > 0
	}
	return k.pending
}

// Poll reads the complete lines appended to the followed file since the
// last read: a regular file's are indexed; a file that shrank or was
// replaced (rotated) is indexed again from the start; a stream is read
// whole, once. Poll does nothing if Follow was not called.
func (k *KeyLog) Poll() error {
	k.fmu.Lock()
	defer k.fmu.Unlock()
	return k.poll()
}

func (k *KeyLog) poll() error {
	if k.path == "" {
		return nil
	}
	if k.stream != nil || k.indexed && k.ident == nil {
		return k.readStream()
	}
	f, err := os.Open(k.path)
	if err != nil {
		return fmt.Errorf("open key log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("read key log: %w", err)
	}
	if !st.Mode().IsRegular() {
		k.stream = f // closed by readStream
		return k.readStream()
	}
	defer f.Close()
	if k.ident == nil || !os.SameFile(k.ident, st) || st.Size() < k.offset {
		k.offset, k.idx, k.tail = 0, nil, nil
	}
	k.ident, k.indexed = st, true
	if err := k.index(f); err != nil {
		return err
	}
	return nil
}

// readStream reads a followed key log that is not a regular file, once.
func (k *KeyLog) readStream() error {
	f := k.stream
	if f == nil {
		return nil // read already
	}
	k.stream, k.indexed, k.ident = nil, true, nil
	defer f.Close()
	_, _, err := k.readLines(f, true, true)
	if err != nil {
		return fmt.Errorf("read key log: %w", err)
	}
	return nil
}

// errInterrupted stops reading a key log when its done channel is closed.
var errInterrupted = errors.New("interrupted")

// index adds the index entries of the complete lines of f after k.offset.
func (k *KeyLog) index(f *os.File) error {
	if _, err := f.Seek(k.offset, io.SeekStart); err != nil {
		return fmt.Errorf("seek key log: %w", err)
	}
	br := bufio.NewReaderSize(f, 64<<10)
	off := k.offset
	since := 0 // bytes since the last check of done
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// An overlong line: skip it up to its newline.
			n := int64(len(line))
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				n += int64(len(line))
			}
			if err != nil {
				break // no newline yet: read again when it has one
			}
			off += n
			k.offset = off
			continue
		}
		if err != nil {
			break // a partial last line waits for its newline
		}
		if len(line) <= maxLine {
			if cr, ok := lineRandom(line); ok {
				if off >= 1<<offsetBits {
					return errors.New("read key log: more than 1 TiB")
				}
				k.tail = append(k.tail, k.hash(cr)<<offsetBits|uint64(off))
			}
		}
		off += int64(len(line))
		k.offset = off
		if since += len(line); since >= 1<<20 {
			since = 0
			if k.interrupted() {
				return errInterrupted
			}
		}
	}
	if len(k.tail) > 4096+len(k.idx)/8 {
		slices.Sort(k.tail)
		if len(k.idx) == 0 {
			k.idx = slices.Clip(k.tail)
		} else {
			k.idx = mergeSorted(k.idx, k.tail)
		}
		k.tail = nil
	}
	return nil
}

func (k *KeyLog) interrupted() bool {
	if k.done == nil {
		return false
	}
	select {
	case <-k.done:
		return true
	default:
		return false
	}
}

// mergeSorted merges two sorted slices into a new one.
func mergeSorted(a, b []uint64) []uint64 {
	out := make([]uint64, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if a[0] <= b[0] {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return append(append(out, a...), b...)
}

// hash returns the 24-bit index hash of a client random.
func (k *KeyLog) hash(cr *[32]byte) uint64 {
	return maphash.Bytes(k.seed, cr[:]) >> offsetBits
}

// lineRandom returns the client random of a key log line with a label
// wscap uses, without allocating.
func lineRandom(line []byte) (*[32]byte, bool) {
	sp := bytes.IndexByte(line, ' ')
	if sp < 0 || labelOf(line[:sp]) == "" || len(line) < sp+1+64 {
		return nil, false
	}
	var cr [32]byte
	if _, err := hex.Decode(cr[:], line[sp+1:sp+1+64]); err != nil {
		return nil, false
	}
	return &cr, true
}

// labelOf returns the label if it is one wscap uses, else "".
func labelOf(b []byte) string {
	switch string(b) {
	case labelTLS12:
		return labelTLS12
	case labelClientHS:
		return labelClientHS
	case labelServerHS:
		return labelServerHS
	case labelClientApp:
		return labelClientApp
	case labelServerApp:
		return labelServerApp
	}
	return ""
}

// load reads the followed file's lines for client random cr into the
// held secrets: after Poll, the lines the index points at.
func (k *KeyLog) load(cr *[32]byte) {
	k.fmu.Lock()
	defer k.fmu.Unlock()
	if err := k.poll(); err != nil {
		if k.err == nil && !errors.Is(err, errInterrupted) {
			k.err = fmt.Errorf("%w (%s)", err, k.path)
		}
		return
	}
	if k.ident == nil || len(k.idx)+len(k.tail) == 0 {
		return
	}
	h := k.hash(cr)
	var offs []int64
	i, _ := slices.BinarySearch(k.idx, h<<offsetBits)
	for ; i < len(k.idx) && k.idx[i]>>offsetBits == h; i++ {
		offs = append(offs, int64(k.idx[i]&(1<<offsetBits-1)))
	}
	for _, e := range k.tail {
		if e>>offsetBits == h {
			offs = append(offs, int64(e&(1<<offsetBits-1)))
		}
	}
	if len(offs) == 0 {
		return
	}
	slices.Sort(offs) // file order: later lines win
	f, err := os.Open(k.path)
	if err != nil {
		return
	}
	defer f.Close()
	buf := make([]byte, maxLine)
	for _, off := range offs {
		n, _ := f.ReadAt(buf, off)
		line := buf[:n]
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line = line[:i+1]
		}
		if r, ok := lineRandom(line); ok && *r == *cr {
			k.addLine(line)
		}
	}
}

// readLines parses lines of r. It returns the bytes read, the bytes of
// the lines it consumed (a trailing partial line is consumed only if
// partial is true) and r's error other than io.EOF. Reading a stream (a
// followed file that is not regular; k.fmu held), it stops at an
// interrupt and when maxNoLine bytes have no newline (not a key log:
// /dev/zero).
func (k *KeyLog) readLines(r io.Reader, partial, stream bool) (read, used int64, err error) {
	br := bufio.NewReaderSize(r, maxLine) // longer lines are skipped
	since := int64(0)
	for {
		line, err := br.ReadSlice('\n')
		read += int64(len(line))
		if errors.Is(err, bufio.ErrBufferFull) {
			// An overlong line: skip it up to its newline.
			n := int64(len(line))
			for errors.Is(err, bufio.ErrBufferFull) {
				if stream && n > maxNoLine {
					return read, used, fmt.Errorf("no line end in %d bytes: not a key log", maxNoLine)
				}
				line, err = br.ReadSlice('\n')
				read += int64(len(line))
				n += int64(len(line))
			}
			if err == nil {
				used = read
			}
			if err == io.EOF {
				return read, used, nil
			}
			if err != nil {
				return read, used, err
			}
			continue
		}
		if err == nil || partial {
			k.addLine(line)
			used = read
		}
		if err == io.EOF {
			return read, used, nil
		}
		if err != nil {
			return read, used, err
		}
		if since += int64(len(line)); stream && since >= 1<<20 {
			since = 0
			if k.interrupted() {
				return read, used, errInterrupted
			}
		}
	}
}

// addLine parses one "LABEL <client random hex> <secret hex>" line.
func (k *KeyLog) addLine(line []byte) bool {
	f := bytes.Fields(line)
	if len(f) != 3 || len(f[1]) != 64 || len(f[2]) > 2*64 || f[0][0] == '#' {
		return false
	}
	var cr [32]byte
	if _, err := hex.Decode(cr[:], f[1]); err != nil {
		return false
	}
	secret := make([]byte, hex.DecodedLen(len(f[2])))
	if _, err := hex.Decode(secret, f[2]); err != nil || len(secret) == 0 {
		return false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	s := k.byRandom[cr]
	if s == nil {
		s = &secrets{}
	}
	switch string(f[0]) {
	case labelTLS12:
		s.master = secret
	case labelClientHS:
		s.clientHS = secret
	case labelServerHS:
		s.serverHS = secret
	case labelClientApp:
		s.clientApp = secret
	case labelServerApp:
		s.serverApp = secret
	default:
		return false
	}
	k.byRandom[cr] = s
	return true
}

// Len returns the number of client randoms whose secrets are held: those
// added by ReadFrom and those a lookup found in the followed file.
func (k *KeyLog) Len() int {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return len(k.byRandom)
}

// lookup returns a copy of the secrets of client random cr. A miss reads
// the followed file's lines for cr (indexing it first if needed, and the
// lines appended since).
func (k *KeyLog) lookup(cr []byte, want func(*secrets) bool) (secrets, bool) {
	if k == nil || len(cr) != 32 {
		return secrets{}, false
	}
	get := func() (secrets, bool) {
		k.mu.RLock()
		defer k.mu.RUnlock()
		s := k.byRandom[[32]byte(cr)]
		if s == nil || !want(s) {
			return secrets{}, false
		}
		return *s, true
	}
	if s, ok := get(); ok {
		return s, true
	}
	k.load((*[32]byte)(cr))
	return get()
}

// Sessions remembers the master secrets of TLS 1.2 sessions by session id
// (kind 'i') and session ticket (kind 't'), so that a later connection
// that resumes one (an abbreviated handshake) decrypts even when the key
// log has no line for its own client random. A [KeyLog] is one (the
// default of every [Conn]); a caller that decodes connections on several
// goroutines can give each Conn one that orders the calls as the capture
// does (see [Conn.SetSessions]).
type Sessions interface {
	// Session returns the master secret remembered for id, or nil.
	Session(kind byte, id []byte) []byte
	// Remember stores the master secret of id.
	Remember(kind byte, id, master []byte)
}

// Session returns the master secret remembered for a session id ('i') or
// ticket ('t'), or nil (see [Sessions]).
func (k *KeyLog) Session(kind byte, id []byte) []byte {
	if k == nil || len(id) == 0 {
		return nil
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.sessions[string(kind)+string(id)]
}

// Remember stores the master secret of a session id ('i') or ticket ('t'):
// the last maxSessionCache ids and tickets are kept (see [Sessions]).
func (k *KeyLog) Remember(kind byte, id, master []byte) {
	if k == nil || len(id) == 0 || len(master) == 0 {
		return
	}
	key := string(kind) + string(id)
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.sessions[key]; !ok {
		if len(k.order) >= maxSessionCache {
			delete(k.sessions, k.order[0])
			k.order = k.order[1:]
		}
		k.order = append(k.order, key)
	}
	k.sessions[key] = master
}
