package pipeline

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wscap/wscap/decode"
	"github.com/wscap/wscap/internal/flowgen"
	"github.com/wscap/wscap/output"
	"github.com/wscap/wscap/reassembly"
	"github.com/wscap/wscap/source"
	"github.com/wscap/wscap/tlsdec"
)

// packets reads the packets of a flowgen scenario (copies).
func packets(t *testing.T, name string) []source.Packet {
	t.Helper()
	sc, ok := flowgen.Lookup(name)
	if !ok {
		t.Fatalf("no scenario %s", name)
	}
	b, err := sc.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), sc.File())
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := source.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var out []source.Packet
	for {
		p, err := src.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		p.Data = append([]byte(nil), p.Data...)
		out = append(out, p)
	}
}

// syncBuffer is written by the merger goroutine and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func runAll(t *testing.T, cfg Config, pkts []source.Packet) (string, *Pipeline) {
	t.Helper()
	var out syncBuffer
	p := New(cfg, &out)
	for i, pk := range pkts {
		if err := p.Packet(i+1, pk); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	return out.String(), p
}

// TestSameOutput compares one worker with three on scenarios with many
// connections, in both output forms.
func TestSameOutput(t *testing.T) {
	for _, name := range []string{"two-conns-interleaved", "chat", "gap-in-payload", "out-of-order-retransmission", "permessage-deflate", "truncated-capture"} {
		pkts := packets(t, name)
		for _, json := range []bool{false, true} {
			cfg := Config{JSON: json, Output: output.Options{Timeline: true, Summary: true, Verbose: true},
				FailOn: decode.SeverityWarning, CountFailures: true}
			one, p1 := runAll(t, cfg, pkts)
			cfg.Workers = 3
			three, p3 := runAll(t, cfg, pkts)
			if one != three {
				t.Errorf("%s json=%v: -j 1 and -j 3 differ:\n%s\n---\n%s", name, json, one, three)
			}
			if p3.Workers() != 3 {
				t.Errorf("%s: %d workers, want 3", name, p3.Workers())
			}
			if s1, s3 := p1.Stats(), p3.Stats(); s1 != s3 {
				t.Errorf("%s: stats %+v and %+v", name, s1, s3)
			}
			if p1.Failures() != p3.Failures() {
				t.Errorf("%s: failures %d and %d", name, p1.Failures(), p3.Failures())
			}
		}
	}
}

// TestSameOutputShipped is TestSameOutput with workers that hand their
// output to the merger after every event, in the middle of packets and
// batches: the merge must still give the output of one worker.
func TestSameOutputShipped(t *testing.T) {
	defer func(n int) { outLimit = n }(outLimit)
	outLimit = 1
	for _, name := range []string{"two-conns-interleaved", "chat", "gap-in-payload", "permessage-deflate"} {
		pkts := packets(t, name)
		for _, json := range []bool{false, true} {
			cfg := Config{JSON: json, Output: output.Options{Timeline: true, Summary: true, Verbose: true}}
			one, _ := runAll(t, cfg, pkts)
			cfg.Workers = 3
			if three, _ := runAll(t, cfg, pkts); one != three {
				t.Errorf("%s json=%v: -j 1 and -j 3 differ:\n%s\n---\n%s", name, json, one, three)
			}
		}
	}
}

// TestFlushStreams checks that with workers, Flush gets what was decoded
// so far out without waiting for Close (live capture).
func TestFlushStreams(t *testing.T) {
	pkts := packets(t, "chat")
	var out syncBuffer
	p := New(Config{Workers: 2, JSON: true}, &out)
	for i, pk := range pkts {
		if err := p.Packet(i+1, pk); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), `"type":"handshake"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no output 5 s after Flush: %q", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestSerial checks the runs that keep one worker.
func TestSerial(t *testing.T) {
	pkts := packets(t, "chat")
	keys := tlsdec.NewKeyLog()
	keys.ReadFrom(strings.NewReader("CLIENT_RANDOM " + strings.Repeat("00", 32) + " " + strings.Repeat("11", 48) + "\n"))
	for _, tt := range []struct {
		name string
		cfg  Config
		want int
	}{
		{"delta", Config{Workers: 4, Output: output.Options{Timeline: true, Time: output.TimeDelta}}, 1},
		{"delta json", Config{Workers: 4, JSON: true, Output: output.Options{Time: output.TimeDelta}}, 4},
		{"key log", Config{Workers: 4, JSON: true}, 4},
		{"empty key log", Config{Workers: 4, JSON: true}, 4},
	} {
		switch tt.name {
		case "key log":
			tt.cfg.Engine.KeyLog = keys
		case "empty key log":
			tt.cfg.Engine.KeyLog = tlsdec.NewKeyLog()
		}
		_, p := runAll(t, tt.cfg, pkts)
		if p.Workers() != tt.want {
			t.Errorf("%s: %d workers, want %d", tt.name, p.Workers(), tt.want)
		}
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestWriteError checks that an output error stops the run and is
// reported as one.
func TestWriteError(t *testing.T) {
	pkts := packets(t, "chat")
	for _, workers := range []int{1, 2} {
		p := New(Config{Workers: workers, JSON: true}, failWriter{})
		var err error
		for i, pk := range pkts {
			if err = p.Packet(i+1, pk); err != nil {
				break
			}
		}
		if cerr := p.Close(); err == nil {
			err = cerr
		}
		if err == nil || !strings.Contains(err.Error(), "write output: disk full") {
			t.Errorf("workers %d: error %v, want write output: disk full", workers, err)
		}
	}
}

// TestTwoTicksAfterOnePacket checks that the events of two idle flushes
// after the same packet (one a packet triggered, one from Tick on a quiet
// live capture) keep their order across workers.
func TestTwoTicksAfterOnePacket(t *testing.T) {
	c := flowgen.NewCapture()
	open := func(i int, client string) *flowgen.Conn {
		k := c.NewConn(netip.MustParseAddrPort(client), netip.MustParseAddrPort("10.0.9.9:80"))
		k.Open()
		key := flowgen.Key(i)
		k.Client(flowgen.UpgradeRequest("/t", "example.com", key))
		k.Server(flowgen.Response101(key))
		return k
	}
	held := func(k *flowgen.Conn) {
		k.Server(flowgen.Frames(flowgen.Frame{Fin: true, Op: flowgen.OpText, Payload: bytes.Repeat([]byte("x"), 3000)}), flowgen.Every(1000), flowgen.Drop(1))
	}
	a := open(1, "10.0.0.1:1001")
	b := open(2, "10.0.0.2:1002")
	held(b) // conn 2: a hole first
	c.Pause(5 * time.Second)
	held(a) // conn 1: a hole later
	c.Pause(7 * time.Second)
	// One packet 12 s in, the last: it flushes conn 2 only.
	c.NewConn(netip.MustParseAddrPort("10.0.0.3:1003"), netip.MustParseAddrPort("10.0.9.9:80")).Ack(flowgen.C2S)
	path := filepath.Join(t.TempDir(), "ticks.pcapng")
	raw, err := c.PcapNG()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := source.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var pkts []source.Packet
	for {
		p, err := src.Next()
		if err != nil {
			break
		}
		p.Data = append([]byte(nil), p.Data...)
		pkts = append(pkts, p)
	}
	src.Close()
	last := pkts[len(pkts)-1].Time
	run := func(workers int) string {
		var out syncBuffer
		p := New(Config{Workers: workers, JSON: true, Engine: reassembly.Config{IdleTimeout: 10 * time.Second}}, &out)
		for i, pk := range pkts {
			if err := p.Packet(i+1, pk); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Tick(last.Add(8 * time.Second)); err != nil { // flushes conn 1
			t.Fatal(err)
		}
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	one, three := run(1), run(3)
	if one != three {
		t.Errorf("1 and 3 workers differ:\n%s\n---\n%s", one, three)
	}
	if strings.Count(one, `"type":"gap"`) != 2 {
		t.Errorf("want two gaps, got:\n%s", one)
	}
}

// TestQuietFlushes checks that many flushes without packets between
// them (a live capture on a quiet interface flushes every 50 ms) do not
// stall the workers: rounds without records leave every worker's mark
// where it was, and the merger must still drain all of them.
func TestQuietFlushes(t *testing.T) {
	pkts := packets(t, "chat")
	done := make(chan string, 1)
	go func() {
		var out syncBuffer
		p := New(Config{Workers: 3, JSON: true}, &out)
		for i, pk := range pkts {
			p.Packet(i+1, pk)
			if i == len(pkts)/2 {
				for range 200 {
					p.Flush()
				}
			}
		}
		p.Close()
		done <- out.String()
	}()
	select {
	case got := <-done:
		want, _ := runAll(t, Config{JSON: true}, pkts)
		if got != want {
			t.Errorf("output differs from one worker's")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the pipeline stalled")
	}
}

// TestProgress checks the counters a progress display reads: with one
// worker and with three they only grow while packets go in, and after
// Close they are the WebSocket connections and data messages of the
// output (--all shows every event, so the JSON lines count them).
func TestProgress(t *testing.T) {
	for _, name := range []string{"two-conns-interleaved", "chat", "permessage-deflate"} {
		pkts := packets(t, name)
		for _, workers := range []int{1, 3} {
			cfg := Config{Workers: workers, JSON: true, Output: output.Options{All: true}}
			var out syncBuffer
			p := New(cfg, &out)
			var conns, msgs int64
			for i, pk := range pkts {
				if err := p.Packet(i+1, pk); err != nil {
					t.Fatal(err)
				}
				c, m := p.Progress()
				if c < conns || m < msgs {
					t.Fatalf("%s -j %d: progress went back from %d/%d to %d/%d", name, workers, conns, msgs, c, m)
				}
				conns, msgs = c, m
			}
			if err := p.Close(); err != nil {
				t.Fatal(err)
			}
			c, m := p.Progress()
			wantC := int64(strings.Count(out.String(), `{"type":"conn",`))
			wantM := int64(strings.Count(out.String(), `{"type":"message",`))
			if c != wantC || m != wantM || wantM == 0 {
				t.Errorf("%s -j %d: progress %d connections, %d messages; the output has %d and %d", name, workers, c, m, wantC, wantM)
			}
			if st := p.Stats(); int64(st.WebSocket) != c {
				t.Errorf("%s -j %d: %d connections, Stats has %d WebSocket", name, workers, c, st.WebSocket)
			}
		}
	}
}
