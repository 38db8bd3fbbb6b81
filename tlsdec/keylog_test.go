package tlsdec

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
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
		k.remember('t', id(i), []byte{1})
	}
	if len(k.sessions) != maxSessionCache || k.session('t', id(0)) != nil || k.session('t', id(maxSessionCache+9)) == nil {
		t.Errorf("cache: %d entries", len(k.sessions))
	}
}
