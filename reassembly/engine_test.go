package reassembly

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wscap/wscap/decode"
)

// TestStreams checks which bytes, gaps and ends reach the decoder, and
// which packet each is attributed to.
func TestStreams(t *testing.T) {
	const cli, srv = "10.0.0.1:40000", "10.0.0.2:80"
	tests := []struct {
		name  string
		cfg   Config
		build func(c *capture)
		want  []string
	}{{
		name: "in order with close",
		build: func(c *capture) {
			f := c.flow(cli, srv)
			f.handshake()           // 1-3
			f.send(0, "hello")      // 4
			f.send(1, "world")      // 5
			f.close()               // 6-8
			f.sendFlags(0, "A", "") // 9: ghost ACK after the close
		},
		want: []string{
			"new 1 side0=10.0.0.1:40000 side1=10.0.0.2:80 syn=true",
			`feed 1 s0 "hello" @4`,
			`feed 1 s1 "world" @5`,
			"end 1 s0 @6",
			"end 1 s1 @7",
			"close 1 @7",
		},
	}, {
		name: "out of order",
		build: func(c *capture) {
			f := c.flow(cli, srv)
			f.handshake()
			f.send(0, "aaaa")  // 4
			f.at(0, 4, "cccc") // 5: ahead
			f.send(0, "bbbb")  // 6: fills the hole
			f.skip(0, 4)
			f.send(0, "dd") // 7
		},
		want: []string{
			"new 1 side0=10.0.0.1:40000 side1=10.0.0.2:80 syn=true",
			`feed 1 s0 "aaaa" @4`,
			`feed 1 s0 "bbbbcccc" @6`,
			`feed 1 s0 "dd" @7`,
			"close 1 @7",
		},
	}, {
		name: "retransmission and overlap",
		build: func(c *capture) {
			f := c.flow(cli, srv)
			f.handshake()
			f.send(0, "abcdef")   // 4
			f.at(0, -6, "abcdef") // 5: retransmission
			f.at(0, -3, "defGHI") // 6: overlaps the end
			f.skip(0, 3)
			f.send(0, "jk") // 7
		},
		want: []string{
			"new 1 side0=10.0.0.1:40000 side1=10.0.0.2:80 syn=true",
			`feed 1 s0 "abcdef" @4`,
			`feed 1 s0 "GHI" @6`,
			`feed 1 s0 "jk" @7`,
			"close 1 @7",
		},
	}, {
		name: "no SYN: side0 is the first sender",
		build: func(c *capture) {
			f := c.flow(cli, srv)
			f.send(1, "from server") // 1
			f.send(0, "from client") // 2
		},
		want: []string{
			"new 1 side0=10.0.0.2:80 side1=10.0.0.1:40000 syn=false",
			`feed 1 s0 "from server" @1`,
			`feed 1 s1 "from client" @2`,
			"close 1 @2",
		},
	}, {
		name: "SYN-ACK captured first: the SYN sender is side0",
		build: func(c *capture) {
			f := c.flow(cli, srv)
			f.next[0]++              // the SYN was not captured
			f.sendFlags(1, "SA", "") // 1
			f.sendFlags(0, "A", "")  // 2
			f.send(0, "req")         // 3
			f.send(1, "resp")        // 4
		},
		want: []string{
			"new 1 side0=10.0.0.1:40000 side1=10.0.0.2:80 syn=true",
			`feed 1 s0 "req" @3`,
			`feed 1 s1 "resp" @4`,
			"close 1 @4",
		},
	}, {
		name: "RST ends both sides at the RST",
		build: func(c *capture) {
			f := c.flow(cli, srv)
			f.handshake()
			f.send(0, "x")           // 4
			f.sendFlags(1, "RA", "") // 5
		},
		want: []string{
			"new 1 side0=10.0.0.1:40000 side1=10.0.0.2:80 syn=true",
			`feed 1 s0 "x" @4`,
			"end 1 s1 @5",
			"end 1 s0 @5",
			"close 1 @5",
		},
	}, {
		name: "lost segment: gap at the end of the capture",
		build: func(c *capture) {
			f := c.flow(cli, srv)
			f.handshake()
			f.send(0, "one")   // 4
			f.skip(0, 100)     // lost
			f.send(0, "two")   // 5
			f.send(0, "three") // 6
		},
		want: []string{
			"new 1 side0=10.0.0.1:40000 side1=10.0.0.2:80 syn=true",
			`feed 1 s0 "one" @4`,
			"gap 1 s0 100 @6",
			`feed 1 s0 "twothree" @6`,
			"close 1 @6",
		},
	}, {
		name: "lost segment: gap after the idle timeout",
		cfg:  Config{IdleTimeout: 10 * time.Second},
		build: func(c *capture) {
			f := c.flow(cli, srv)
			f.handshake()
			f.send(0, "one") // 4
			f.skip(0, 7)
			f.send(0, "two") // 5
			c.now = c.now.Add(30 * time.Second)
			g := c.flow("10.0.0.3:1", "10.0.0.4:2")
			g.send(0, "other") // 6: its time triggers the flush
			g.send(0, "more")  // 7
		},
		want: []string{
			"new 1 side0=10.0.0.1:40000 side1=10.0.0.2:80 syn=true",
			`feed 1 s0 "one" @4`,
			"new 2 side0=10.0.0.3:1 side1=10.0.0.4:2 syn=false",
			`feed 2 s0 "other" @6`,
			"gap 1 s0 7 @5",
			`feed 1 s0 "two" @5`,
			`feed 2 s0 "more" @7`,
			"close 1 @5",
			"close 2 @7",
		},
	}, {
		name: "snap length: the cut bytes are a gap, not data",
		build: func(c *capture) {
			f := c.flow(cli, srv)
			f.handshake()
			p := f.send(0, "0123456789") // 4, cut to its first 4 payload bytes
			p.Data = p.Data[:len(p.Data)-6]
			p.CapLen = len(p.Data)
			f.send(0, "next") // 5: delivered at once, not after a flush
		},
		want: []string{
			"new 1 side0=10.0.0.1:40000 side1=10.0.0.2:80 syn=true",
			`feed 1 s0 "0123" @4`,
			"gap 1 s0 6 @4",
			`feed 1 s0 "next" @5`,
			"close 1 @5",
		},
	}, {
		name: "ghost packets open no connection but take an id",
		build: func(c *capture) {
			g := c.flow("10.0.0.5:5", "10.0.0.6:6")
			g.sendFlags(0, "A", "") // 1: a keep-alive of an unseen connection
			f := c.flow(cli, srv)
			f.handshake()      // 2-4
			f.send(0, "data")  // 5
			g.send(1, "later") // 6: the ghost's 4-tuple speaks: id 1
		},
		want: []string{
			"new 2 side0=10.0.0.1:40000 side1=10.0.0.2:80 syn=true",
			`feed 2 s0 "data" @5`,
			"new 1 side0=10.0.0.5:5 side1=10.0.0.6:6 syn=false",
			`feed 1 s1 "later" @6`,
			"close 1 @6",
			"close 2 @5",
		},
	}, {
		name: "a new SYN on a used 4-tuple is a new connection",
		build: func(c *capture) {
			f := c.flow(cli, srv)
			f.handshake()    // 1-3
			f.send(0, "one") // 4
			f.close()        // 5-7
			f.next = [2]uint32{90000, 70000}
			f.handshake()           // 8-10
			f.send(0, "two")        // 11
			f.sendFlags(0, "S", "") // 12: not a retransmission (other seq)
			f.send(0, "three")      // 13
		},
		want: []string{
			"new 1 side0=10.0.0.1:40000 side1=10.0.0.2:80 syn=true",
			`feed 1 s0 "one" @4`,
			"end 1 s0 @5",
			"end 1 s1 @6",
			"close 1 @6",
			"new 2 side0=10.0.0.1:40000 side1=10.0.0.2:80 syn=true",
			`feed 2 s0 "two" @11`,
			"end 2 s0 @11",
			"end 2 s1 @11",
			"close 2 @11",
			"new 3 side0=10.0.0.1:40000 side1=10.0.0.2:80 syn=true",
			`feed 3 s0 "three" @13`,
			"close 3 @13",
		},
	}, {
		name: "retransmitted SYN is the same connection",
		build: func(c *capture) {
			f := c.flow(cli, srv)
			f.sendFlags(0, "S", "") // 1
			f.next[0]--
			f.sendFlags(0, "S", "") // 2
			f.sendFlags(1, "SA", "")
			f.sendFlags(0, "A", "")
			f.send(0, "x") // 5
		},
		want: []string{
			"new 1 side0=10.0.0.1:40000 side1=10.0.0.2:80 syn=true",
			`feed 1 s0 "x" @5`,
			"close 1 @5",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCapture(t)
			tt.build(c)
			r := record(t)
			run(t, tt.cfg, c.pkts)
			diffLines(t, r.calls, tt.want)
		})
	}
}

// TestIPv6 checks a connection over IPv6.
func TestIPv6(t *testing.T) {
	c := newCapture(t)
	f := c.flow("[2001:db8::1]:40000", "[2001:db8::2]:443")
	f.handshake()
	f.send(0, "v6")
	r := record(t)
	run(t, Config{}, c.pkts)
	diffLines(t, r.calls, []string{
		"new 1 side0=[2001:db8::1]:40000 side1=[2001:db8::2]:443 syn=true",
		`feed 1 s0 "v6" @4`,
		"close 1 @4",
	})
}

// TestFlushOrder checks that events produced by the final flush of many
// connections (which gopacket walks in map order) come out sorted by
// connection id, the same on every run.
func TestFlushOrder(t *testing.T) {
	c := newCapture(t)
	const n = 40
	for i := range n {
		f := c.flow(fmt.Sprintf("10.1.0.%d:%d", i+1, 40000+i), "10.2.0.1:80")
		f.handshake()
		key := "dGhlIHNhbXBsZSBub25jZQ=="
		f.send(0, upgradeRequest(key))
		f.send(1, upgradeResponse(key))
		f.skip(1, 10) // lost: the rest waits until the end of the capture
		f.send(1, wsFrame(1, false, fmt.Sprintf("message %d", i)))
	}
	var first []decode.Event
	for run1 := range 5 {
		r := record(t)
		var evs []decode.Event
		var batches [][]decode.Event
		e := New(Config{}, func(b []decode.Event) error {
			var batch []decode.Event
			for _, ev := range b {
				batch = append(batch, ev.Clone())
			}
			batches = append(batches, batch)
			evs = append(evs, batch...)
			return nil
		})
		for i, p := range c.pkts {
			if err := e.Packet(i+1, p); err != nil {
				t.Fatal(err)
			}
		}
		nb := len(batches)
		if err := e.Flush(); err != nil {
			t.Fatal(err)
		}
		// Flush emits the flushed data's events, then the Close events,
		// each batch in connection order.
		var flushed []decode.Event
		for _, b := range batches[nb:] {
			flushed = append(flushed, b...)
			if !slices.IsSortedFunc(b, func(a, b decode.Event) int { return a.Conn - b.Conn }) {
				t.Errorf("run %d: flushed events are not sorted by connection", run1)
			}
		}
		gaps := 0
		for _, s := range r.calls {
			if strings.HasPrefix(s, "gap ") {
				gaps++
			}
		}
		if gaps != n {
			t.Fatalf("%d gaps, want %d", gaps, n)
		}
		if run1 == 0 {
			first = evs
			if len(flushed) == 0 {
				t.Log("the decoder produced no events at the flush; only the calls were checked")
			}
		} else if !equalEvents(first, evs) {
			t.Fatalf("run %d: events differ from run 0", run1)
		}
	}
}

func equalEvents(a, b []decode.Event) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Kind != y.Kind || x.Conn != y.Conn || x.Seq != y.Seq || x.Packet != y.Packet || !x.Time.Equal(y.Time) {
			return false
		}
	}
	return true
}

// TestSortOut checks the flush ordering itself.
func TestSortOut(t *testing.T) {
	e := New(Config{}, func([]decode.Event) error { return nil })
	e.out = []decode.Event{
		{Conn: 3, Seq: 1}, {Conn: 1, Seq: 2}, {Conn: 2, Seq: 1}, {Conn: 1, Seq: 1}, {Conn: 3, Seq: 1, Packet: 9},
	}
	e.sortOut()
	var got []string
	for _, ev := range e.out {
		got = append(got, fmt.Sprintf("%d.%d.%d", ev.Conn, ev.Seq, ev.Packet))
	}
	want := []string{"1.1.0", "1.2.0", "2.1.0", "3.1.0", "3.1.9"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// TestResumeAfterIdle checks that a connection silent for longer than the
// idle timeout keeps its decoder (and id) when it speaks again, and that
// bytes the decoder already had are not fed twice.
func TestResumeAfterIdle(t *testing.T) {
	c := newCapture(t)
	f := c.flow("10.0.0.1:40000", "10.0.0.2:80")
	f.handshake()
	f.send(0, "before") // 4
	c.now = c.now.Add(time.Minute)
	g := c.flow("10.0.0.3:1", "10.0.0.4:2")
	g.send(0, "tick") // 5: flushes f
	c.now = c.now.Add(time.Minute)
	g.send(0, "tock")     // 6: forgets nothing: f is a live (non-idle) decoder
	f.at(0, -3, "oreaft") // 7: partly old
	f.skip(0, 3)
	f.skip(0, 5)
	f.send(0, "x") // 8: after a hole of 5
	r := record(t)
	_, e := run(t, Config{IdleTimeout: 10 * time.Second}, c.pkts)
	diffLines(t, r.calls, []string{
		"new 1 side0=10.0.0.1:40000 side1=10.0.0.2:80 syn=true",
		`feed 1 s0 "before" @4`,
		"new 2 side0=10.0.0.3:1 side1=10.0.0.4:2 syn=false",
		`feed 2 s0 "tick" @5`,
		`feed 2 s0 "tock" @6`,
		`feed 1 s0 "aft" @7`,
		"gap 1 s0 5 @8",
		`feed 1 s0 "x" @8`,
		"close 1 @8",
		"close 2 @6",
	})
	if s := e.Stats(); s.Conns != 2 || s.Gaps != 1 || s.LostBytes != 5 || s.Packets != 8 || s.TCP != 8 {
		t.Errorf("stats %+v", s)
	}
}

// TestDecodeAsPorts checks which connections get Options.DecodeAs.
func TestDecodeAsPorts(t *testing.T) {
	c := newCapture(t)
	c.flow("10.0.0.1:40000", "10.0.0.2:8080").send(0, "a")
	c.flow("10.0.0.1:12345", "10.0.0.2:80").send(1, "b")
	c.flow("10.0.0.1:40001", "10.0.0.2:80").send(0, "c")
	var got []bool
	testHook = func(h hookCall) {
		if h.Op == opNew {
			got = append(got, h.Opt.DecodeAs)
		}
	}
	defer func() { testHook = nil }()
	run(t, Config{DecodeAsPorts: []uint16{8080, 12345}, Decode: decode.Options{MaxPayload: 7}}, c.pkts)
	if want := []bool{true, true, false}; !slices.Equal(got, want) {
		t.Errorf("DecodeAs %v, want %v", got, want)
	}
}

// TestSinkError checks that the sink's error stops the engine.
func TestSinkError(t *testing.T) {
	c := newCapture(t)
	f := c.flow("10.0.0.1:40000", "10.0.0.2:80")
	f.handshake()
	key := "dGhlIHNhbXBsZSBub25jZQ=="
	f.send(0, upgradeRequest(key))
	f.send(1, upgradeResponse(key))
	f.send(1, wsFrame(1, false, "hi"))
	boom := fmt.Errorf("boom")
	calls := 0
	e := New(Config{}, func([]decode.Event) error { calls++; return boom })
	var err error
	for i, p := range c.pkts {
		if err = e.Packet(i+1, p); err != nil {
			break
		}
	}
	if err == nil {
		err = e.Flush()
	}
	if err != boom {
		t.Fatalf("error %v, want boom", err)
	}
	if err := e.Flush(); err != boom || calls != 1 {
		t.Errorf("after the error: %v, %d sink calls", err, calls)
	}
}

// TestWebSocketEvents runs a WebSocket session through the real decoder.
func TestWebSocketEvents(t *testing.T) {
	c := newCapture(t)
	f := c.flow("10.0.0.1:40000", "10.0.0.2:80")
	f.handshake()
	key := "dGhlIHNhbXBsZSBub25jZQ=="
	f.send(0, upgradeRequest(key))
	f.send(1, upgradeResponse(key))
	f.send(0, wsFrame(1, true, "Hello"))
	f.send(1, wsFrame(1, false, "Hello"))
	f.close()
	evs, e := run(t, Config{}, c.pkts)
	kinds := map[decode.Kind]int{}
	for _, ev := range evs {
		kinds[ev.Kind]++
		if ev.Conn != 1 {
			t.Errorf("event of connection %d", ev.Conn)
		}
	}
	if kinds[decode.KindConn] != 1 || kinds[decode.KindHandshake] != 1 || kinds[decode.KindFrame] != 2 {
		t.Errorf("event kinds %v", kinds)
	}
	if s := e.Stats(); s.WebSocket != 1 || s.Conns != 1 {
		t.Errorf("stats %+v", s)
	}
}

// TestCloneOnRecall checks that events of a decoder call still pending are
// copied before the next call on the same decoder.
func TestCloneOnRecall(t *testing.T) {
	e := New(Config{}, func([]decode.Event) error { return nil })
	c := &conn{e: e}
	buf := []byte("payload")
	e.before(c)
	e.out = append(e.out, decode.Event{Kind: decode.KindMessage, Message: decode.Message{Payload: buf}})
	e.after(c)
	other := &conn{e: e}
	e.before(other)
	e.after(other)
	if &e.out[0].Message.Payload[0] != &buf[0] {
		t.Fatal("a call on another decoder cloned the events")
	}
	e.before(c)
	if &e.out[0].Message.Payload[0] == &buf[0] || string(e.out[0].Message.Payload) != "payload" {
		t.Error("events were not cloned before the next call")
	}
}
