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
