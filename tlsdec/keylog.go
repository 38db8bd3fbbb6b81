package tlsdec

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
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
type KeyLog struct {
	mu       sync.RWMutex
	byRandom map[[32]byte]*secrets
	sessions map[string][]byte // "i"+session id or "t"+ticket -> master secret
	order    []string          // insertion order of sessions, for eviction

	fmu    sync.Mutex // serializes Poll
	path   string     // followed file ("" if none)
	offset int64      // bytes of path consumed (whole lines)
}

// NewKeyLog returns an empty key log.
func NewKeyLog() *KeyLog {
	return &KeyLog{byRandom: map[[32]byte]*secrets{}, sessions: map[string][]byte{}}
}

// ReadFrom adds every line of r, including a last line without a newline.
// Comments, blank lines, unknown labels and malformed lines are skipped.
// It implements io.ReaderFrom; the error is r's, never a parse error.
func (k *KeyLog) ReadFrom(r io.Reader) (int64, error) {
	n, _, err := k.readLines(r, true)
	return n, err
}

// Follow reads the key log file at path now and remembers it: later
// lookups that miss re-read the lines appended since (see Poll), so a live
// capture can decrypt connections whose secrets are written while it runs.
func (k *KeyLog) Follow(path string) error {
	k.fmu.Lock()
	k.path, k.offset = path, 0
	k.fmu.Unlock()
	return k.Poll()
}

// Poll adds the complete lines appended to the followed file since the
// last read. A file that shrank (rotated or truncated) is read again from
// the start. Poll does nothing if Follow was not called.
func (k *KeyLog) Poll() error {
	k.fmu.Lock()
	defer k.fmu.Unlock()
	if k.path == "" {
		return nil
	}
	f, err := os.Open(k.path)
	if err != nil {
		return fmt.Errorf("open key log: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() < k.offset {
		k.offset = 0
	}
	if _, err := f.Seek(k.offset, io.SeekStart); err != nil {
		return fmt.Errorf("seek key log: %w", err)
	}
	_, used, err := k.readLines(f, false)
	k.offset += used
	if err != nil {
		return fmt.Errorf("read key log: %w", err)
	}
	return nil
}

// readLines parses lines of r. It returns the bytes read, the bytes of
// the lines it consumed (a trailing partial line is consumed only if
// partial is true) and r's error other than io.EOF.
func (k *KeyLog) readLines(r io.Reader, partial bool) (read, used int64, err error) {
	br := bufio.NewReader(r) // lines longer than its 4 KiB buffer are skipped
	for {
		line, err := br.ReadSlice('\n')
		read += int64(len(line))
		if errors.Is(err, bufio.ErrBufferFull) {
			// An overlong line: skip it up to its newline.
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				read += int64(len(line))
			}
			if err == nil {
				used = read
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

// Len returns the number of client randoms with at least one secret.
func (k *KeyLog) Len() int {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return len(k.byRandom)
}

// lookup returns a copy of the secrets of client random cr. A miss
// re-reads a followed file once.
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
	if k.Poll() != nil {
		return secrets{}, false
	}
	return get()
}

// session returns the master secret remembered for a session id or ticket.
func (k *KeyLog) session(kind byte, id []byte) []byte {
	if k == nil || len(id) == 0 {
		return nil
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.sessions[string(kind)+string(id)]
}

// remember stores the master secret of a session id or ticket.
func (k *KeyLog) remember(kind byte, id, master []byte) {
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
