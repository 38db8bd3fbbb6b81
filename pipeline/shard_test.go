package pipeline

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/wscap/wscap/internal/flowgen"
	"github.com/wscap/wscap/output"
	"github.com/wscap/wscap/reassembly"
	"github.com/wscap/wscap/shards"
	"github.com/wscap/wscap/source"
	"github.com/wscap/wscap/tlsdec"
)

// ticksCapture has data behind holes that idle flushes release at two
// ticks of a quiet capture after the last packet (connections 1 to 4,
// then 5 to 8: two flushes after one packet, see
// TestTwoTicksAfterOnePacket), and data behind a hole at the end
// (connection 9).
func ticksCapture(t *testing.T) []source.Packet {
	c := flowgen.NewCapture()
	var ks []*flowgen.Conn
	for i := range 9 {
		k := c.NewConn(netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}), uint16(1000+i)), netip.MustParseAddrPort("10.0.9.9:80"))
		k.Open()
		key := flowgen.Key(i)
		k.Client(flowgen.UpgradeRequest("/t", "example.com", key))
		k.Server(flowgen.Response101(key))
		ks = append(ks, k)
	}
	held := func(k *flowgen.Conn) {
		k.Server(flowgen.Frames(flowgen.Frame{Fin: true, Op: flowgen.OpText, Payload: bytes.Repeat([]byte("x"), 3000)}), flowgen.Every(1000), flowgen.Drop(1))
	}
	for _, k := range ks[:4] {
		held(k)
	}
	c.Pause(6 * time.Second)
	for _, k := range ks[4:8] {
		held(k)
	}
	c.Pause(3500 * time.Millisecond)
	held(ks[8])
	c.Pause(1500 * time.Millisecond)
	c.NewConn(netip.MustParseAddrPort("10.0.0.99:1099"), netip.MustParseAddrPort("10.0.9.9:80")).Ack(flowgen.C2S)
	pkts, err := c.SourcePackets()
	if err != nil {
		t.Fatal(err)
	}
	return pkts
}

// TestShardMerge: with one worker and with three, the pipelines of the
// shards of a capture write lines that, merged, are the unsharded
// pipeline's output: idle flushes, ticks of a quiet capture (two after
// one packet), data behind holes at the end and summary lines included.
func TestShardMerge(t *testing.T) {
	pkts := ticksCapture(t)
	last := pkts[len(pkts)-1].Time
	run := func(workers int, s reassembly.Shard) []byte {
		var out syncBuffer
		p := New(Config{Workers: workers, JSON: true, Output: output.Options{Summary: true},
			Engine: reassembly.Config{IdleTimeout: 10 * time.Second, Shard: s}}, &out)
		for i, pk := range pkts {
			if err := p.Packet(i+1, pk); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Tick(last.Add(3 * time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := p.Tick(last.Add(8 * time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		return []byte(out.String())
	}
	want := run(1, reassembly.Shard{})
	if bytes.Contains(want, []byte(`"ord"`)) {
		t.Fatal("an unsharded run wrote ord members")
	}
	if n := bytes.Count(want, []byte(`"type":"gap"`)); n != 9 {
		t.Fatalf("%d gaps, want 9:\n%s", n, want)
	}
	// The positions of the flushes, as a sharded run writes them: two
	// after the last packet, and the end of the capture.
	one := run(1, reassembly.Shard{Index: 0, Count: 1})
	last1, last2 := fmt.Sprintf(`{"ord":[%d,1,`, len(pkts)), `{"ord":[0,2,0,9],"type":"gap"`
	var ticks []string
	for l := range bytes.Lines(one) {
		if bytes.HasPrefix(l, []byte(last1)) && bytes.Contains(l, []byte(`"type":"gap"`)) {
			ticks = append(ticks, string(l[:bytes.IndexByte(l, ']')]))
		}
	}
	if len(ticks) != 8 || ticks[0] == ticks[7] || !bytes.Contains(one, []byte(last2)) {
		t.Fatalf("the flushes after the last packet are at %q, want 4 and 4 at two ticks; and a gap at the end %s:\n%s", ticks, last2, one)
	}
	for _, n := range []int{1, 2, 3, 5} {
		for _, workers := range []int{1, 3} {
			var in []shards.Input
			for i := range n {
				body := run(workers, reassembly.Shard{Index: i, Count: n})
				f := shards.AppendHeader(nil, shards.Header{Shard: i, Shards: n})
				f = append(f, body...)
				f = shards.AppendTrailer(f, shards.Trailer{Shard: i, Shards: n, Lines: int64(bytes.Count(f, []byte("\n")))})
				in = append(in, shards.Input{Name: fmt.Sprintf("shard %d/%d -j %d", i, n, workers), R: bytes.NewReader(f)})
			}
			var got bytes.Buffer
			if _, err := shards.Merge(&got, in); err != nil {
				t.Fatalf("%d shards, %d workers: %v", n, workers, err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				g, w := bytes.Split(got.Bytes(), []byte("\n")), bytes.Split(want, []byte("\n"))
				for k := range min(len(g), len(w)) {
					if !bytes.Equal(g[k], w[k]) {
						t.Errorf("%d shards, %d workers: merged differs from unsharded at line %d:\n%.200s\n%.200s", n, workers, k+1, g[k], w[k])
						break
					}
				}
				if len(g) != len(w) {
					t.Errorf("%d shards, %d workers: %d lines merged, %d unsharded", n, workers, len(g), len(w))
				}
			}
		}
	}
}

// shardFiles runs the shards of pkts with cfg (n shards, workers each)
// and returns them as the Inputs of shards.Merge, with the trailers a
// sharded wscap run writes about the memory budget.
func shardFiles(t *testing.T, cfg Config, pkts []source.Packet, n int) []shards.Input {
	var in []shards.Input
	for i := range n {
		c := cfg
		c.Engine.Shard = reassembly.Shard{Index: i, Count: n}
		body, p := runAll(t, c, pkts)
		f := shards.AppendHeader(nil, shards.Header{Shard: i, Shards: n, MemCap: cfg.Engine.MemCap})
		f = append(f, body...)
		engines, own := p.MemPeak()
		f = shards.AppendTrailer(f, shards.Trailer{Shard: i, Shards: n, Lines: int64(bytes.Count(f, []byte("\n"))),
			Evicted: p.Stats().Evicted, MemPeak: engines, TrackPeak: own})
		in = append(in, shards.Input{Name: fmt.Sprintf("shard %d/%d", i, n), R: bytes.NewReader(f)})
	}
	return in
}

// TestShardMemCap: under the memory budget the merged shards are the
// unsharded output; where the unsharded run evicts and the shards, each
// holding a share of the state, do not, the merge says that it may
// differ (the peaks the shards report add up to more than the budget).
func TestShardMemCap(t *testing.T) {
	defer reassembly.SetCheckInterval(256, 1<<20)()
	cfg := Config{JSON: true, Workers: 2, Engine: reassembly.Config{MemCap: reassembly.MinMemCap}, Output: output.Options{Summary: true}}
	for _, tt := range []struct {
		conns int
		evict bool
	}{{90, false}, {200, true}} {
		pkts := openMessages(t, tt.conns, 0, 36<<10) // 72 KB open per connection
		want, p := runAll(t, cfg, pkts)
		if ev := p.Stats().Evicted; (ev > 0) != tt.evict {
			t.Fatalf("%d connections: the unsharded run evicted %d", tt.conns, ev)
		}
		peak, _ := p.MemPeak()
		in := shardFiles(t, cfg, pkts, 2)
		var got bytes.Buffer
		res, err := shards.Merge(&got, in)
		if err != nil {
			t.Fatal(err)
		}
		if !tt.evict {
			if got.String() != want || len(res.Warnings) > 0 {
				t.Errorf("%d connections: merged differs from the unsharded run (%d bytes, %d), warnings %q", tt.conns, got.Len(), len(want), res.Warnings)
			}
			if peak == 0 {
				t.Errorf("no memory checkpoint evaluated")
			}
			continue
		}
		if got.String() == want {
			t.Errorf("%d connections: the shards, which evict nothing, merged into the output of the run that evicted", tt.conns)
		}
		if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "an unsharded run may have evicted connections") {
			t.Errorf("%d connections: warnings %q", tt.conns, res.Warnings)
		}
	}
}

// TestShardTLSResumption: a TLS 1.2 connection that resumes a session the
// key log has no line for decrypts with the secret of the connection
// that established it, which may be in another shard. Where that makes
// the merged shards differ from the unsharded run, the shards count more
// resumed connections left encrypted (Stats.ResumedNoKey, which wscap
// warns about) than the unsharded run.
func TestShardTLSResumption(t *testing.T) {
	capt, keylog, _ := resumptionCapture(t)
	pkts := fromFlowgen(t, capt)
	cfg := func() Config {
		keys := tlsdec.NewKeyLog()
		keys.ReadFrom(bytes.NewReader(keylog))
		return Config{Workers: 2, JSON: true, Output: output.Options{Summary: true}, Engine: reassembly.Config{KeyLog: keys}}
	}
	want, p := runAll(t, cfg(), pkts)
	base := p.Stats().ResumedNoKey
	differ := 0
	for n := 2; n <= 4; n++ {
		var in []shards.Input
		missed := 0
		for i := range n {
			c := cfg()
			c.Engine.Shard = reassembly.Shard{Index: i, Count: n}
			body, p := runAll(t, c, pkts)
			missed += p.Stats().ResumedNoKey
			f := shards.AppendHeader(nil, shards.Header{Shard: i, Shards: n})
			f = append(f, body...)
			f = shards.AppendTrailer(f, shards.Trailer{Shard: i, Shards: n, Lines: int64(bytes.Count(f, []byte("\n")))})
			in = append(in, shards.Input{Name: fmt.Sprintf("shard %d/%d", i, n), R: bytes.NewReader(f)})
		}
		var got bytes.Buffer
		if _, err := shards.Merge(&got, in); err != nil {
			t.Fatal(err)
		}
		if got.String() != want {
			differ++
			if missed <= base {
				t.Errorf("%d shards: the merge differs from the unsharded run, and the shards left %d resumed connections encrypted, the unsharded run %d", n, missed, base)
			}
		}
	}
	if differ == 0 {
		t.Errorf("no split of the capture put a resumption and its session in different shards")
	}
}
