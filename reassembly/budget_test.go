package reassembly

import (
	"net/netip"
	"runtime"
	"testing"

	"github.com/wscap/wscap/decode"
	"github.com/wscap/wscap/internal/flowgen"
	"github.com/wscap/wscap/source"
)

// flowPackets returns the packets of c.
func flowPackets(t testing.TB, c *flowgen.Capture) []source.Packet {
	t.Helper()
	pkts, err := c.SourcePackets()
	if err != nil {
		t.Fatal(err)
	}
	return pkts
}

// heapAfter returns the live heap after a full collection.
func heapAfter() int64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// TestConnCosts measures what connections in a few states really cost
// on the heap, per connection, against what the memory budget counts
// for them (Engine.MemSize plus the Tracker's own): the budget must not
// undercount by much, or memory would pass --memcap.
func TestConnCosts(t *testing.T) {
	const n = 2000
	server := netip.MustParseAddrPort("10.1.0.1:80")
	client := func(i int) netip.AddrPort {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 2, byte(i >> 8), byte(i)}), 40000)
	}
	cases := []struct {
		name  string
		build func(c *flowgen.Capture, i int)
	}{
		{"syn only", func(c *flowgen.Capture, i int) {
			c.NewConn(client(i), server).Open()
		}},
		{"handshake", func(c *flowgen.Capture, i int) {
			k := c.NewConn(client(i), server)
			k.Open()
			key := flowgen.Key(i)
			k.Client(flowgen.UpgradeRequest("/x", "example.com", key))
			k.Server(flowgen.Response101(key))
		}},
		{"open message each way", func(c *flowgen.Capture, i int) {
			k := c.NewConn(client(i), server)
			k.Open()
			key := flowgen.Key(i)
			k.Client(flowgen.UpgradeRequest("/x", "example.com", key))
			k.Server(flowgen.Response101(key))
			k.Client(flowgen.Frames(flowgen.Frame{Op: flowgen.OpText, Payload: []byte("hello")}.Masked(*flowgen.MaskKey(i))))
			k.Server(flowgen.Frames(flowgen.Frame{Op: flowgen.OpText, Payload: []byte("hello")}))
		}},
		{"hole in a payload", func(c *flowgen.Capture, i int) {
			k := c.NewConn(client(i), server)
			k.Open()
			key := flowgen.Key(i)
			k.Client(flowgen.UpgradeRequest("/x", "example.com", key))
			k.Server(flowgen.Response101(key))
			k.Server(flowgen.Frames(flowgen.Frame{Fin: true, Op: flowgen.OpBinary, Payload: make([]byte, 4000)}), flowgen.Every(100), flowgen.Drop(1))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := flowgen.NewCapture()
			for i := range n {
				tc.build(c, i)
			}
			pkts := flowPackets(t, c)
			base := heapAfter()
			e := New(Config{MemCap: -1}, func([]decode.Event) error { return nil })
			for i, p := range pkts {
				e.Packet(i+1, p)
			}
			real := (heapAfter() - base) / n
			// The renderer's share is measured with the pipeline
			// (TestPipelineConnCost): no renderer runs here.
			counted := (e.MemSize() + int64(len(e.tr.flows))*trackCost - int64(e.stats.WebSocket)*renderCost) / n
			t.Logf("%s: %d bytes per connection on the heap, %d counted", tc.name, real, counted)
			// Undercounting lets memory pass the budget; overcounting
			// evicts too early.
			if counted*3 < real*2 || counted > 2*real {
				t.Errorf("%s: the budget counts %d bytes per connection, the heap holds %d", tc.name, counted, real)
			}
			runtime.KeepAlive(e)
		})
	}
}

// TestEvictionSettles builds far more state than the budget, then sends
// only tiny packets across many checkpoints: evictions bring the state
// near budgetTarget of the budget once, instead of evicting again at each
// checkpoint that still sees the state before the last eviction.
func TestEvictionSettles(t *testing.T) {
	defer SetCheckInterval(500, 1<<30)()
	const n = 3000
	server := netip.MustParseAddrPort("10.1.0.1:80")
	c := flowgen.NewCapture()
	var last *flowgen.Conn
	for i := range n {
		k := c.NewConn(netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 2, byte(i >> 8), byte(i)}), 40000), server)
		k.Open()
		key := flowgen.Key(i)
		k.Client(flowgen.UpgradeRequest("/x", "example.com", key))
		k.Server(flowgen.Response101(key))
		k.Client(flowgen.Frames(flowgen.Frame{Op: flowgen.OpText, Payload: []byte("hello")}.Masked(*flowgen.MaskKey(i))))
		k.Server(flowgen.Frames(flowgen.Frame{Op: flowgen.OpText, Payload: []byte("hello")}))
		last = k
	}
	for range 5000 {
		last.Ack(flowgen.C2S)
	}
	e := New(Config{MemCap: MinMemCap}, func([]decode.Event) error { return nil })
	for i, p := range flowPackets(t, c) {
		e.Packet(i+1, p)
	}
	target := int64(float64(MinMemCap) * budgetTarget)
	if m := e.MemSize(); m < target*9/10 || m > MinMemCap {
		t.Errorf("the engine holds %d KiB after evictions, want about %d KiB (budget %d KiB); %d of %d connections evicted",
			m>>10, target>>10, MinMemCap>>10, e.stats.Evicted, n)
	}
}

// TestEvictionSparesOthers checks that the flush of an eviction, which
// closes every assembler connection silent since the newest victim's
// last packet, finishes only the victims: a half-closed WebSocket
// connection older than a SYN flood that is evicted keeps decoding its
// open direction.
func TestEvictionSparesOthers(t *testing.T) {
	defer SetCheckInterval(500, 1<<30)()
	for _, flood := range []int{0, 9000} {
		server := netip.MustParseAddrPort("10.1.0.1:80")
		c := flowgen.NewCapture()
		k := c.NewConn(netip.MustParseAddrPort("10.9.0.1:5000"), server)
		k.Open()
		key := flowgen.Key(1)
		k.Client(flowgen.UpgradeRequest("/x", "example.com", key))
		k.Server(flowgen.Response101(key))
		k.Fin(flowgen.S2C) // the server half-closes
		for i := range flood {
			c.NewConn(netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 2, byte(i >> 8), byte(i)}), 40000), server).Open()
		}
		k.Client(flowgen.Frames(flowgen.Frame{Fin: true, Op: flowgen.OpText, Payload: []byte("after")}.Masked(*flowgen.MaskKey(1))))
		msgs := 0
		e := New(Config{MemCap: MinMemCap}, func(evs []decode.Event) error {
			for _, ev := range evs {
				if ev.Conn == 1 && ev.Kind == decode.KindMessage {
					msgs++
				}
			}
			return nil
		})
		for i, p := range flowPackets(t, c) {
			e.Packet(i+1, p)
		}
		e.Flush()
		if msgs != 1 || flood > 0 && e.stats.Evicted == 0 {
			t.Errorf("flood of %d SYN-only flows (%d evicted): connection 1 decoded %d messages after its server half-closed, want 1", flood, e.stats.Evicted, msgs)
		}
	}
}

// TestEvictedAnomaly checks that every evicted WebSocket connection gets
// its memcap_evicted anomaly, also one that the eviction's flush would
// finish on its own (a half ended).
func TestEvictedAnomaly(t *testing.T) {
	defer SetCheckInterval(500, 1<<30)()
	const n = 3000
	server := netip.MustParseAddrPort("10.1.0.1:80")
	c := flowgen.NewCapture()
	for i := range n {
		k := c.NewConn(netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 2, byte(i >> 8), byte(i)}), 40000), server)
		k.Open()
		key := flowgen.Key(i)
		k.Client(flowgen.UpgradeRequest("/x", "example.com", key))
		k.Server(flowgen.Response101(key))
		k.Client(flowgen.Frames(flowgen.Frame{Op: flowgen.OpText, Payload: make([]byte, 2000)}.Masked(*flowgen.MaskKey(i))))
		k.Fin(flowgen.S2C)
	}
	anoms, idle := 0, 0
	evicted := map[int]bool{}
	e := New(Config{MemCap: MinMemCap}, func(evs []decode.Event) error {
		for _, ev := range evs {
			if ev.Kind == decode.KindAnomaly && ev.Anomaly.Code == decode.CodeMemcapEvicted {
				anoms++
				evicted[ev.Conn] = true
			}
			// An evicted connection's open direction ends as idle;
			// the server's FIN stays a FIN.
			if ev.Kind == decode.KindEnd && evicted[ev.Conn] {
				want := decode.EndIdle
				if ev.From == decode.RoleServer {
					want = decode.EndFIN
				}
				if ev.End.Reason != want {
					t.Errorf("evicted conn %d: %s end reason %s, want %s", ev.Conn, ev.From, ev.End.Reason, want)
				}
				if want == decode.EndIdle {
					idle++
				}
			}
		}
		return nil
	})
	for i, p := range flowPackets(t, c) {
		e.Packet(i+1, p)
	}
	e.Flush()
	if e.stats.EvictedWS == 0 || anoms != e.stats.EvictedWS || e.stats.EvictedWS != e.stats.Evicted {
		t.Errorf("%d evicted, %d of them WebSocket, %d memcap_evicted anomalies: want one anomaly per evicted WebSocket connection", e.stats.Evicted, e.stats.EvictedWS, anoms)
	}
	if idle != anoms {
		t.Errorf("%d idle ends of evicted connections, want %d", idle, anoms)
	}
}
