package reassembly

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/wscap/wscap/decode"
	"github.com/wscap/wscap/internal/flowgen"
	"github.com/wscap/wscap/source"
)

// TestShardOf: the shard is the first 8 bytes of the Community ID's
// digest modulo N (checked against the spec's baseline IDs), the same for
// both directions, and 0 for one shard.
func TestShardOf(t *testing.T) {
	for _, tt := range []struct{ a, b, cid string }{
		{"128.232.110.120:34855", "66.35.250.204:80", "1:LQU9qZlK+B5F3KDmev6m5PMibrg="},
		{"[2001:470:e5bf:dead:4957:2174:e82c:4887]:63943", "[2607:f8b0:400c:c03::1a]:25", "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4="},
	} {
		sum, err := base64.StdEncoding.DecodeString(tt.cid[2:])
		if err != nil {
			t.Fatal(err)
		}
		v := binary.BigEndian.Uint64(sum[:8])
		a, b := netip.MustParseAddrPort(tt.a), netip.MustParseAddrPort(tt.b)
		for _, n := range []int{1, 2, 3, 4, 5, 7, 8, 16, 100, MaxShards} {
			want := int(v % uint64(n))
			if got := ShardOf(a, b, n); got != want {
				t.Errorf("ShardOf(%s, %s, %d) = %d, want %d", a, b, n, got, want)
			}
			if got := ShardOf(b, a, n); got != want {
				t.Errorf("ShardOf(%s, %s, %d) = %d, want %d (reversed)", b, a, n, got, want)
			}
		}
	}
	// An IPv4-mapped address facing an IPv6 one has no Community ID: the
	// fallback is still symmetric and in range.
	a, b := netip.MustParseAddrPort("[::ffff:10.0.0.1]:1000"), netip.MustParseAddrPort("[2001:db8::1]:80")
	for _, n := range []int{2, 7, MaxShards} {
		if x, y := ShardOf(a, b, n), ShardOf(b, a, n); x != y || x < 0 || x >= n {
			t.Errorf("fallback: %d and %d of %d", x, y, n)
		}
	}
}

// shardPackets returns the fixture packets and a capture whose 4-tuples
// are reused (a new SYN, and a new connection after an idle retirement),
// with IPv6 and idle flushes.
func shardPackets(t *testing.T) []source.Packet {
	c := flowgen.NewCapture()
	srv := netip.MustParseAddrPort("10.0.9.9:80")
	for i := range 40 {
		cli := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), uint16(40000+i))
		if i%5 == 0 {
			cli = netip.AddrPortFrom(netip.MustParseAddr(fmt.Sprintf("2001:db8::%x", i+1)), 40000)
		}
		s := srv
		if cli.Addr().Is6() {
			s = netip.MustParseAddrPort("[2001:db8::9]:80")
		}
		k := c.NewConn(cli, s)
		k.Open()
		key := flowgen.Key(i)
		k.Client(flowgen.UpgradeRequest("/s", "example.com", key))
		k.Server(flowgen.Response101(key))
		if i%3 == 0 {
			k.Close()
			c.Pause(3 * time.Minute) // retired: the next one reuses the 4-tuple
			k2 := c.NewConn(cli, s)
			k2.Open()
			k2.Client(flowgen.UpgradeRequest("/again", "example.com", key))
		}
		if i%4 == 0 {
			k3 := c.NewConn(cli, s) // a SYN on a used 4-tuple
			k3.Open()
		}
	}
	// Data behind holes at the end of the capture.
	for i := range 4 {
		k := c.NewConn(netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, 0, byte(i)}), 50000), srv)
		k.Open()
		key := flowgen.Key(100 + i)
		k.Client(flowgen.UpgradeRequest("/h", "example.com", key))
		k.Server(flowgen.Response101(key))
		k.Server(flowgen.Frames(flowgen.Frame{Fin: true, Op: flowgen.OpText, Payload: make([]byte, 4000)}), flowgen.Every(1000), flowgen.Drop(1))
	}
	return append(fixturePackets(t), flowPackets(t, c)...)
}

// TestShardPartition: every connection is decoded by exactly one shard
// of N, with all its packets, and every replacing connection on a 4-tuple
// by the shard of the connection it replaces; a sharded Tracker decides
// ids, idle flushes and checkpoints exactly as the unsharded one.
func TestShardPartition(t *testing.T) {
	defer SetCheckInterval(64, 1<<30)()
	pkts := shardPackets(t)
	cfg := Config{IdleTimeout: 30 * time.Second}
	decide := func(cfg Config) []Decision {
		tr := NewTracker(cfg)
		tr.SetTotal(func(int) int64 { return 0 })
		var out []Decision
		for i := range pkts {
			p := pkts[i]
			out = append(out, tr.Packet(i+1, &p))
		}
		return out
	}
	all := decide(cfg)
	ids := 0
	for _, d := range all {
		if d.OtherShard {
			t.Fatal("an unsharded Tracker skipped a packet")
		}
		ids = max(ids, d.ID)
	}
	if ids < 60 {
		t.Fatalf("only %d connections", ids)
	}
	for n := 1; n <= 7; n++ {
		owner := make([]int, ids+1) // shard+1 of each connection
		for i := range n {
			c := cfg
			c.Shard = Shard{Index: i, Count: n}
			got := decide(c)
			for k, d := range got {
				want := all[k]
				want.OtherShard = d.OtherShard
				if d != want {
					t.Fatalf("%d/%d: packet %d: decision %+v, unsharded %+v", i, n, k+1, d, all[k])
				}
				if d.Class != ClassTCP {
					if d.OtherShard {
						t.Fatalf("%d/%d: packet %d is not TCP but of another shard", i, n, k+1)
					}
					continue
				}
				mine := !d.OtherShard
				switch o := owner[d.ID]; {
				case mine && o == 0:
					owner[d.ID] = i + 1
				case mine && o != i+1:
					t.Fatalf("%d/%d: connection %d decoded by shards %d and %d", i, n, d.ID, o-1, i)
				case !mine && o == i+1:
					t.Fatalf("%d/%d: packet %d of connection %d skipped by its own shard", i, n, k+1, d.ID)
				}
				if mine && d.Prev != 0 && owner[d.Prev] != i+1 {
					t.Fatalf("%d/%d: connection %d replaces %d of shard %d", i, n, d.ID, d.Prev, owner[d.Prev]-1)
				}
			}
		}
		used := map[int]bool{}
		for id := 1; id <= ids; id++ {
			if owner[id] == 0 {
				t.Fatalf("%d shards: connection %d in none", n, id)
			}
			used[owner[id]] = true
		}
		if len(used) != n {
			t.Errorf("%d shards: only %d have connections", n, len(used))
		}
	}
}

// TestShardEngine: engines of the shards of a capture together emit the
// events of the unsharded engine, each the events of its connections in
// the same order, at the same positions (Engine.Position).
func TestShardEngine(t *testing.T) {
	pkts := shardPackets(t)
	type posEvent struct {
		n, tick int
		phase   Phase
		conn    int
		seq     int
		kind    decode.Kind
	}
	runShard := func(s Shard) []posEvent {
		var out []posEvent
		var e *Engine
		e = New(Config{IdleTimeout: 30 * time.Second, Shard: s}, func(evs []decode.Event) error {
			n, phase, tick := e.Position()
			for _, ev := range evs {
				out = append(out, posEvent{n, tick, phase, ev.Conn, ev.Seq, ev.Kind})
			}
			return nil
		})
		for i, p := range pkts {
			if err := e.Packet(i+1, p); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.Flush(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	all := runShard(Shard{})
	if len(all) < 200 {
		t.Fatalf("only %d events", len(all))
	}
	phases := map[Phase]bool{}
	for _, ev := range all {
		phases[ev.phase] = true
	}
	if len(phases) != 4 {
		t.Errorf("the capture's events come in phases %v, want all four", phases)
	}
	for _, n := range []int{2, 3} {
		got := make([][]posEvent, n)
		for i := range n {
			got[i] = runShard(Shard{Index: i, Count: n})
		}
		// Each event of the unsharded run is the next event of exactly
		// one shard.
		next := make([]int, n)
		for k, ev := range all {
			found := false
			for i := range n {
				if next[i] < len(got[i]) && got[i][next[i]] == ev {
					next[i]++
					found = true
					break
				}
			}
			if !found {
				t.Fatalf("%d shards: event %d %+v is no shard's next", n, k, ev)
			}
		}
		for i := range n {
			if next[i] != len(got[i]) {
				t.Errorf("%d shards: shard %d has %d events more", n, i, len(got[i])-next[i])
			}
		}
	}
}
