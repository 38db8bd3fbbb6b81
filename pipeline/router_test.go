package pipeline

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wscap/wscap/internal/flowgen"
	"github.com/wscap/wscap/output"
	"github.com/wscap/wscap/reassembly"
	"github.com/wscap/wscap/source"
	"github.com/wscap/wscap/tlsdec"
)

// routerCapture is a random capture of 60 WebSocket connections (some on
// reused 4-tuples), messages of 1 byte to 60 KB in segments of 1 to 400
// bytes (tens of thousands of packets: many blocks of the caller), some
// with a hole, and pauses that retire connections.
func routerCapture(t *testing.T, seed uint64) []source.Packet {
	rng := rand.New(rand.NewPCG(seed, 3))
	c := flowgen.NewCapture()
	srv := netip.MustParseAddrPort("10.0.9.9:80")
	var conns []*flowgen.Conn
	for i := range 60 {
		cli := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), uint16(40000+i%7))
		k := c.NewConn(cli, srv)
		k.Open()
		key := flowgen.Key(i)
		k.Client(flowgen.UpgradeRequest("/s", "example.com", key))
		k.Server(flowgen.Response101(key))
		conns = append(conns, k)
		for m := range 3 + rng.IntN(6) {
			k2 := conns[rng.IntN(len(conns))]
			size := 1 + rng.IntN(3000)
			if rng.IntN(20) == 0 {
				size = 60000
			}
			opts := []flowgen.Opt{flowgen.Every(1 + rng.IntN(400))}
			if rng.IntN(10) == 0 {
				opts = append(opts, flowgen.Drop(0))
			}
			k2.Server(flowgen.Frames(flowgen.Frame{Fin: true, Op: flowgen.OpText, Payload: bytes.Repeat([]byte{'a' + byte(m)}, size)}), opts...)
			k2.Client(flowgen.Frames(flowgen.Frame{Fin: true, Op: flowgen.OpText, Mask: flowgen.MaskKey(m), Payload: fmt.Appendf(nil, "hi %d %d", i, m)}), flowgen.Every(1+rng.IntN(4)))
		}
		if rng.IntN(8) == 0 {
			c.Pause(time.Duration(rng.IntN(40)) * time.Second)
		}
		if rng.IntN(6) == 0 {
			k.Close()
		}
	}
	return fromFlowgen(t, c)
}

// TestRouterInterleaved: the caller's calls in any mix (packets, skipped
// packets, ticks of a quiet capture, flushes, key log secrets that make
// it wait for the workers) over many blocks give with 2 and 5 workers,
// in small and large rounds and results, the output of one engine. Run
// with -race it checks that no block is written while a batch still
// points into it.
func TestRouterInterleaved(t *testing.T) {
	defer func(n, o int) { batchPackets, outLimit = n, o }(batchPackets, outLimit)
	for seed := range uint64(3) {
		pkts := routerCapture(t, seed)
		rng := rand.New(rand.NewPCG(seed, 9))
		type call struct {
			kind int // 0 packet, 1 skip, 2 tick, 3 flush, 4 secrets
			i    int
			t    time.Time
		}
		var calls []call
		for i, p := range pkts {
			k := 0
			if rng.IntN(15) == 0 {
				k = 1
			}
			calls = append(calls, call{kind: k, i: i})
			// Rare enough that most blocks fill up (with data, or with
			// calls where packets are small).
			switch rng.IntN(3000) {
			case 0, 1, 2, 3, 4, 5, 6, 7, 8, 9:
				calls = append(calls, call{kind: 2, t: p.Time.Add(time.Duration(rng.IntN(60)) * time.Second)})
			case 10, 11:
				calls = append(calls, call{kind: 3})
			case 12:
				calls = append(calls, call{kind: 4})
			}
		}
		run := func(workers int, json bool) string {
			var out syncBuffer
			secrets := new(Secrets)
			cfg := Config{Workers: workers, JSON: json, Output: output.Options{Timeline: true, Summary: true, Verbose: true},
				Engine: reassembly.Config{IdleTimeout: 10 * time.Second, KeyLog: tlsdec.NewKeyLog()}, Secrets: secrets}
			p := New(cfg, &out)
			for _, c := range calls {
				var err error
				switch c.kind {
				case 0:
					err = p.Packet(c.i+1, pkts[c.i])
				case 1:
					err = p.Skip(c.i+1, pkts[c.i])
				case 2:
					err = p.Tick(c.t)
				case 3:
					err = p.Flush()
				case 4:
					secrets.Add([]byte("CLIENT_RANDOM 00 00\n"))
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if err := p.Close(); err != nil {
				t.Fatal(err)
			}
			return out.String()
		}
		for _, json := range []bool{true, false} {
			batchPackets, outLimit = 256, 1<<20
			one := run(1, json)
			for _, w := range []int{2, 5} {
				batchPackets = []int{3, 256}[rng.IntN(2)]
				outLimit = []int{1, 100, 1 << 20}[rng.IntN(3)]
				if got := run(w, json); got != one {
					line, a, b := firstLine(one, got)
					t.Fatalf("seed %d json %v -j %d (batches of %d, results of %d): differs from -j 1 at line %d:\n%s\n%s", seed, json, w, batchPackets, outLimit, line, a, b)
				}
			}
		}
	}
}

// failAfter is an output that fails once n bytes were written, like a
// pipe whose reader went away.
type failAfter struct{ n atomic.Int64 }

func (f *failAfter) Write(b []byte) (int, error) {
	if f.n.Add(-int64(len(b))) < 0 {
		return 0, errors.New("broken pipe")
	}
	return len(b), nil
}

// TestWriteErrorLate: an output that fails in the middle of a run with
// many blocks in flight stops it with that error (Packet's, once the
// caller hears of it, is Close's), and Close returns: nothing waits for
// a merger that writes no more.
func TestWriteErrorLate(t *testing.T) {
	pkts := routerCapture(t, 1)
	for _, workers := range []int{1, 2, 4} {
		for _, after := range []int64{0, 300 << 10} {
			f := new(failAfter)
			f.n.Store(after)
			done := make(chan struct{})
			var perr, cerr error
			go func() {
				defer close(done)
				p := New(Config{Workers: workers, JSON: true, Output: output.Options{Timeline: true, Summary: true, Verbose: true}}, f)
				for i, pk := range pkts {
					if perr = p.Packet(i+1, pk); perr != nil {
						break
					}
				}
				cerr = p.Close()
			}()
			select {
			case <-done:
			case <-time.After(60 * time.Second):
				t.Fatalf("-j %d, failing after %d bytes: the run did not end", workers, after)
			}
			if cerr == nil || cerr.Error() != "write output: broken pipe" || perr != nil && perr.Error() != cerr.Error() {
				t.Errorf("-j %d, failing after %d bytes: Packet %v, Close %v; want write output: broken pipe", workers, after, perr, cerr)
			}
		}
	}
}
