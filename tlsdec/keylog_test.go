package tlsdec

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestKeyLogParse(t *testing.T) {
	cr := strings.Repeat("ab", 32)
	in := "# SSL/TLS secrets log file\n\n" +
		"CLIENT_RANDOM " + cr + " " + strings.Repeat("01", 48) + "\r\n" +
		"CLIENT_EARLY_TRAFFIC_SECRET " + cr + " " + strings.Repeat("02", 32) + "\n" + // ignored label
		"EXPORTER_SECRET " + cr + " " + strings.Repeat("03", 32) + "\n" +
		"CLIENT_RANDOM " + strings.Repeat("zz", 32) + " 00\n" + // bad hex
		"CLIENT_RANDOM abcd 00\n" + // short random
		"CLIENT_RANDOM " + cr + "\n" + // missing secret
		"SERVER_TRAFFIC_SECRET_0 " + cr + " " + strings.Repeat("04", 32) // no final newline
	k := NewKeyLog()
	if _, err := k.ReadFrom(strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	s, ok := k.lookup(bytes.Repeat([]byte{0xab}, 32), func(*secrets) bool { return true })
	if !ok || k.Len() != 1 || !bytes.Equal(s.master, bytes.Repeat([]byte{1}, 48)) ||
		!bytes.Equal(s.serverApp, bytes.Repeat([]byte{4}, 32)) || s.clientHS != nil {
		t.Errorf("got %v %d %+v", ok, k.Len(), s)
	}
	if _, ok := k.lookup(make([]byte, 32), func(*secrets) bool { return true }); ok {
		t.Error("lookup of an unknown random succeeded")
	}
}

func TestKeyLogFollow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.log")
	cr1, cr2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	line := func(cr []byte) string {
		return "CLIENT_RANDOM " + hex.EncodeToString(cr) + " " + strings.Repeat("aa", 48) + "\n"
	}
	half := line(cr2)[:40]
	if err := os.WriteFile(path, []byte(line(cr1)+half), 0o600); err != nil {
		t.Fatal(err)
	}
	k := NewKeyLog()
	if err := k.Follow(path); err != nil {
		t.Fatal(err)
	}
	any := func(*secrets) bool { return true }
	if _, ok := k.lookup(cr1, any); !ok {
		t.Fatal("first line not read")
	}
	if k.Len() != 1 {
		t.Fatal("partial line was parsed")
	}
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(line(cr2)[40:])
	f.Close()
	// Concurrent lookups while the miss re-reads the file.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, ok := k.lookup(cr2, any); !ok {
				t.Error("appended line not found")
			}
		})
	}
	wg.Wait()
	if k.Len() != 2 {
		t.Errorf("Len = %d", k.Len())
	}
	// A truncated (rotated) file is read again from the start.
	os.WriteFile(path, []byte(line(bytes.Repeat([]byte{3}, 32))), 0o600)
	if _, ok := k.lookup(bytes.Repeat([]byte{3}, 32), any); !ok {
		t.Error("rotated file not re-read")
	}
	if err := NewKeyLog().Follow(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("Follow of a missing file succeeded")
	}
}

func TestSessionCacheBounded(t *testing.T) {
	k := NewKeyLog()
	id := func(i int) []byte { return []byte{byte(i), byte(i >> 8)} }
	for i := range maxSessionCache + 10 {
		k.Remember('t', id(i), []byte{1})
	}
	if len(k.sessions) != maxSessionCache || k.Session('t', id(0)) != nil || k.Session('t', id(maxSessionCache+9)) == nil {
		t.Errorf("cache: %d entries", len(k.sessions))
	}
}

// keyLine is a CLIENT_RANDOM line for random i.
func keyLine(i int) (line string, cr []byte) {
	cr = make([]byte, 32)
	cr[0], cr[1], cr[31] = byte(i), byte(i>>8), 7
	return "CLIENT_RANDOM " + hex.EncodeToString(cr) + " " + strings.Repeat("5a", 48) + "\n", cr
}

// TestKeyLogLazy: a followed file is not read until a lookup needs it,
// is then indexed (8 bytes a line), and only the secrets looked up are
// held; a later line for the same random wins.
func TestKeyLogLazy(t *testing.T) {
	var b strings.Builder
	b.WriteString("# comment\n" + strings.Repeat("x", 10000) + "\n") // an overlong line is skipped
	for i := range 5000 {
		l, _ := keyLine(i)
		b.WriteString(l)
	}
	_, cr := keyLine(1234)
	b.WriteString("CLIENT_RANDOM " + hex.EncodeToString(cr) + " " + strings.Repeat("77", 48) + "\n")
	path := filepath.Join(t.TempDir(), "keys.log")
	os.WriteFile(path, []byte(b.String()), 0o600)
	k := NewKeyLog()
	if err := k.Follow(path); err != nil {
		t.Fatal(err)
	}
	if k.Len() != 0 || k.indexed || !k.HasSecrets() {
		t.Fatalf("read before it was needed: %d held, indexed %v", k.Len(), k.indexed)
	}
	s, ok := k.lookup(cr, func(s *secrets) bool { return len(s.master) > 0 })
	if !ok || !bytes.Equal(s.master, bytes.Repeat([]byte{0x77}, 48)) {
		t.Fatalf("lookup: %v %x", ok, s.master)
	}
	if k.Len() != 1 || len(k.idx)+len(k.tail) != 5001 {
		t.Errorf("%d held, %d indexed; want 1, 5001", k.Len(), len(k.idx)+len(k.tail))
	}
	_, cr2 := keyLine(4999)
	if _, ok := k.lookup(cr2, func(*secrets) bool { return true }); !ok || k.Len() != 2 {
		t.Errorf("second lookup: %v, %d held", ok, k.Len())
	}
	if _, ok := k.lookup(make([]byte, 32), func(*secrets) bool { return true }); ok || k.Err() != nil {
		t.Errorf("unknown random: %v, %v", ok, k.Err())
	}
}

// lookupWithin runs a lookup that must end within d.
func lookupWithin(t *testing.T, k *KeyLog, cr []byte, d time.Duration) bool {
	t.Helper()
	ch := make(chan bool, 1)
	go func() {
		_, ok := k.lookup(cr, func(*secrets) bool { return true })
		ch <- ok
	}()
	select {
	case ok := <-ch:
		return ok
	case <-time.After(d):
		t.Fatalf("lookup still running after %v", d)
		return false
	}
}

// TestKeyLogNotAFile: a key log that is not a regular file is read once,
// when needed; /dev/zero (no line ends) is given up after 1 MiB, and an
// endless stream of lines stops at an interrupt.
func TestKeyLogNotAFile(t *testing.T) {
	_, cr := keyLine(1)
	t.Run("fifo", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "keys.fifo")
		if err := syscall.Mkfifo(path, 0o600); err != nil {
			t.Skip(err)
		}
		go func() {
			w, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				return
			}
			l, _ := keyLine(1)
			w.WriteString(l)
			w.Close()
		}()
		k := NewKeyLog()
		if err := k.Follow(path); err != nil {
			t.Fatal(err)
		}
		if !lookupWithin(t, k, cr, 5*time.Second) || k.Len() != 1 {
			t.Error("secret of a FIFO not found")
		}
		if lookupWithin(t, k, make([]byte, 32), 5*time.Second) {
			t.Error("unknown random found")
		}
	})
	t.Run("dev zero", func(t *testing.T) {
		k := NewKeyLog()
		if err := k.Follow("/dev/zero"); err != nil {
			t.Skip(err)
		}
		if lookupWithin(t, k, cr, 5*time.Second) {
			t.Error("found a secret in /dev/zero")
		}
		if err := k.Err(); err == nil || !strings.Contains(err.Error(), "not a key log") {
			t.Errorf("Err: %v", err)
		}
	})
	t.Run("interrupted", func(t *testing.T) {
		k := NewKeyLog()
		if err := k.Follow("/dev/urandom"); err != nil {
			t.Skip(err)
		}
		done := make(chan struct{})
		k.SetDone(done)
		time.AfterFunc(100*time.Millisecond, func() { close(done) })
		lookupWithin(t, k, cr, 5*time.Second)
		if k.Err() != nil {
			t.Errorf("an interrupt is not an error: %v", k.Err())
		}
	})
}
