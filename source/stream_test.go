package source

import (
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// TestStream: a pipe's packets are delivered as they arrive, Next says
// ErrIdle while the writer is quiet, and the end comes when it closes.
func TestStream(t *testing.T) {
	file := writePcap(t, false, layers.LinkTypeEthernet, testPackets())
	third := 24 + 16 + 12 + 16 + 6 // the third record starts here
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdin
	os.Stdin = r
	defer func() { os.Stdin = old; r.Close() }()
	go w.Write(file[:third])
	s, err := OpenStream(context.Background(), "-", 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !IsStream(s) {
		t.Fatal("a pipe is not read as a stream")
	}
	for i := range 2 {
		if p, err := s.Next(); err != nil || len(p.Data) != len(testPackets()[i].data) {
			t.Fatalf("packet %d: %v", i+1, err)
		}
	}
	if _, err := s.Next(); err != ErrIdle {
		t.Fatalf("quiet writer: %v, want ErrIdle", err)
	}
	w.Write(file[third:])
	p, err := s.Next()
	for err == ErrIdle {
		p, err = s.Next()
	}
	if err != nil || len(p.Data) != 3000 {
		t.Fatalf("packet 3: %v", err)
	}
	w.Close()
	for err == nil || err == ErrIdle {
		_, err = s.Next()
	}
	if err != io.EOF {
		t.Errorf("end: %v", err)
	}
}

// TestStreamOpenCanceled: opening a stream that has no bytes yet ends when
// the context is done.
func TestStreamOpenCanceled(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	old := os.Stdin
	os.Stdin = r
	defer func() { os.Stdin = old }()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := OpenStream(ctx, "-", time.Second); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("OpenStream: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v", d)
	}
}

// TestRegularNotStream: a regular file is read as Open reads it.
func TestRegularNotStream(t *testing.T) {
	s, err := OpenStream(context.Background(), writeFile(t, "x", writePcap(t, false, layers.LinkTypeEthernet, testPackets())), time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if IsStream(s) {
		t.Error("a regular file is read as a stream")
	}
}
