package pipeline

import (
	"bytes"
	"io"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wscap/wscap/decode"
	"github.com/wscap/wscap/internal/flowgen"
	"github.com/wscap/wscap/output"
	"github.com/wscap/wscap/reassembly"
	"github.com/wscap/wscap/source"
)

// openMessages returns a capture of n WebSocket connections that each
// leave a fragmented message of size bytes open in both directions and
// never end, and m SYN-only flows among them.
func openMessages(t testing.TB, n, m, size int) []source.Packet {
	t.Helper()
	c := flowgen.NewCapture()
	server := netip.MustParseAddrPort("10.1.0.1:80")
	for i := range n {
		k := c.NewConn(netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 2, byte(i >> 8), byte(i)}), 40000), server)
		k.Open()
		key := flowgen.Key(i)
		k.Client(flowgen.UpgradeRequest("/open", "example.com", key))
		k.Server(flowgen.Response101(key))
		payload := bytes.Repeat([]byte{'a' + byte(i%26)}, size)
		k.Client(flowgen.Frames(flowgen.Frame{Op: flowgen.OpText, Payload: payload}.Masked(*flowgen.MaskKey(i))))
		k.Server(flowgen.Frames(flowgen.Frame{Op: flowgen.OpBinary, Payload: payload}))
		if i < m {
			s := c.NewConn(netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 3, byte(i >> 8), byte(i)}), 40001), server)
			s.Open()
		}
	}
	return fromFlowgen(t, c)
}

// TestMemCap runs connections whose open messages hold more than the
// memory budget: the least recently active are evicted with an anomaly,
// what the engines hold stays near the budget, and every number of
// workers evicts the same connections at the same packets.
func TestMemCap(t *testing.T) {
	defer reassembly.SetCheckInterval(256, 1<<20)()
	const conns, size = 500, 36 << 10 // 500 x 72 KB open: about 36 MB
	pkts := openMessages(t, conns, 300, size)
	cfg := Config{JSON: true, Engine: reassembly.Config{MemCap: reassembly.MinMemCap}, Output: output.Options{Summary: true}}
	one, p1 := runAll(t, cfg, pkts)
	cfg.Workers = 3
	three, p3 := runAll(t, cfg, pkts)
	if one != three {
		t.Fatalf("-j 1 and -j 3 differ under memory pressure")
	}
	s1, s3 := p1.Stats(), p3.Stats()
	if s1 != s3 {
		t.Errorf("stats differ: %+v and %+v", s1, s3)
	}
	// 300 SYN-only flows go first, then WebSocket connections.
	if s1.EvictedWS == 0 || s1.Evicted-s1.EvictedWS < 300 {
		t.Errorf("evicted %d, %d of them WebSocket: want the 300 SYN-only flows and some WebSocket connections", s1.Evicted, s1.EvictedWS)
	}
	if n := strings.Count(one, `"code":"memcap_evicted"`); n != s1.EvictedWS {
		t.Errorf("%d memcap_evicted anomalies, want %d", n, s1.EvictedWS)
	}
	if !strings.Contains(one, `"cut":true`) {
		t.Errorf("no truncated message from an evicted connection")
	}

	// Without a budget the same capture holds all of it.
	var all int64
	e := reassembly.New(reassembly.Config{MemCap: -1}, func([]decode.Event) error { return nil })
	peak := int64(0)
	for i, p := range pkts {
		e.Packet(i+1, p)
		peak = max(peak, e.MemSize())
	}
	all = peak
	if all < 2*reassembly.MinMemCap {
		t.Fatalf("without a budget the engine holds %d bytes at most: the test does not test the budget", all)
	}

	// With it, what the engine holds stays under the budget plus what
	// the packets between a checkpoint and its eviction add.
	e = reassembly.New(cfg.Engine, func([]decode.Event) error { return nil })
	peak = 0
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	heapPeak := uint64(0)
	for i, p := range pkts {
		e.Packet(i+1, p)
		peak = max(peak, e.MemSize())
		if i%500 == 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			heapPeak = max(heapPeak, ms.HeapAlloc-min(base, ms.HeapAlloc))
		}
	}
	slack := int64(3*256) * 2 * size // checkLag+1 intervals of packets that each add a message's worth
	if peak > reassembly.MinMemCap+slack/4 {
		t.Errorf("with a budget of %d the engine held %d bytes (without: %d)", reassembly.MinMemCap, peak, all)
	}
	if heapPeak > uint64(2*reassembly.MinMemCap) {
		t.Errorf("heap grew by %d MB with a budget of %d MB", heapPeak>>20, reassembly.MinMemCap>>20)
	}
	t.Logf("engine peak %d KB with the budget, %d KB without; heap peak +%d KB", peak>>10, all>>10, heapPeak>>10)
}

// TestConnTimeout checks that connections that never end are finished
// after the connection timeout of capture time, whatever state they are
// in (here, a message open each way), and the same way for every number
// of workers.
func TestConnTimeout(t *testing.T) {
	c := flowgen.NewCapture()
	server := netip.MustParseAddrPort("10.1.0.1:80")
	ws := func(i int) *flowgen.Conn {
		k := c.NewConn(netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 2, 0, byte(i)}), 40000), server)
		k.Open()
		key := flowgen.Key(i)
		k.Client(flowgen.UpgradeRequest("/open", "example.com", key))
		k.Server(flowgen.Response101(key))
		return k
	}
	for i := range 20 {
		k := ws(i)
		k.Client(flowgen.Frames(flowgen.Frame{Op: flowgen.OpText, Payload: []byte("open")}.Masked(*flowgen.MaskKey(i))))
		k.Server(flowgen.Frames(flowgen.Frame{Op: flowgen.OpBinary, Payload: []byte("open")}))
	}
	c.Pause(301 * time.Second)
	ws(20).Server(flowgen.Frames(flowgen.Frame{Fin: true, Op: flowgen.OpText, Payload: []byte("late")}))
	pkts := fromFlowgen(t, c)
	for _, workers := range []int{1, 2} {
		out, _ := runAll(t, Config{Workers: workers, JSON: true}, pkts)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		lastEnd, late := -1, -1
		for i, l := range lines {
			if strings.Contains(l, `"type":"end"`) && !strings.Contains(l, `"conn":21,`) {
				lastEnd = i
			}
			if late < 0 && strings.Contains(l, `"conn":21,`) {
				late = i
			}
		}
		if late < 0 || lastEnd < 0 || lastEnd > late {
			t.Errorf("-j %d: the 20 silent connections end at line %d, the late one starts at line %d: want them finished when it starts\n%s", workers, lastEnd+1, late+1, out)
		}
	}
}

// fromFlowgen returns the packets of c.
func fromFlowgen(t testing.TB, c *flowgen.Capture) []source.Packet {
	t.Helper()
	pkts, err := c.SourcePackets()
	if err != nil {
		t.Fatal(err)
	}
	return pkts
}

// TestPipelineConnCost compares what a whole one-worker pipeline holds
// per open WebSocket connection (engine and renderer) with what the
// memory budget counts for it (reassembly.Engine.MemSize).
func TestPipelineConnCost(t *testing.T) {
	const n = 3000
	pkts := openMessages(t, n, 0, 512)
	for _, json := range []bool{true, false} {
		base := heapAfterGC()
		p := New(Config{JSON: json, Engine: reassembly.Config{MemCap: -1}, Output: output.Options{Timeline: true, Summary: !json}}, io.Discard)
		for i, pk := range pkts {
			p.Packet(i+1, pk)
		}
		real := (heapAfterGC() - base) / n
		counted := p.eng.MemSize() / n
		t.Logf("json=%v: %d bytes per connection on the heap, %d counted", json, real, counted)
		if counted*3 < real*2 || counted > 2*real {
			t.Errorf("json=%v: the budget counts %d bytes per connection, the heap holds %d", json, counted, real)
		}
		p.Close()
	}
}

func heapAfterGC() int64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}
