package reassembly

import (
	"testing"
	"time"

	"github.com/wscap/wscap/decode"
)

// TestTick checks that Tick releases data stuck behind a hole once the
// idle timeout has passed, with no packet to carry the time forward.
func TestTick(t *testing.T) {
	r := record(t)
	c := newCapture(t)
	f := c.flow("10.0.0.1:40000", "10.0.0.2:80")
	f.handshake()
	f.send(0, "one") // 4
	f.skip(0, 7)
	f.send(0, "two") // 5: behind a hole
	e := New(Config{IdleTimeout: 10 * time.Second}, func([]decode.Event) error { return nil })
	for i, p := range c.pkts {
		if err := e.Packet(i+1, p); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{
		"new 1 side0=10.0.0.1:40000 side1=10.0.0.2:80 syn=true",
		`feed 1 s0 "one" @4`,
	}
	diffLines(t, r.calls, want)

	// Before the timeout: nothing moves; times before the last packet's
	// are ignored.
	for _, at := range []time.Time{c.t0, c.now.Add(5 * time.Second)} {
		if err := e.Tick(at); err != nil {
			t.Fatal(err)
		}
	}
	diffLines(t, r.calls, want)

	if err := e.Tick(c.now.Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	want = append(want, "gap 1 s0 7 @5", `feed 1 s0 "two" @5`)
	diffLines(t, r.calls, want)

	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := e.Tick(c.now.Add(time.Hour)); err != nil { // after Flush: a no-op
		t.Fatal(err)
	}
	diffLines(t, r.calls, append(want, "close 1 @5"))
}

// TestTickBeforePackets checks that Tick on an engine that saw no packet
// does nothing.
func TestTickBeforePackets(t *testing.T) {
	e := New(Config{}, func([]decode.Event) error { t.Fatal("sink called"); return nil })
	if err := e.Tick(time.Now()); err != nil {
		t.Fatal(err)
	}
}
