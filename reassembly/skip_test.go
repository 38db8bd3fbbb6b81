package reassembly

import (
	"testing"

	"github.com/wscap/wscap/decode"
)

// TestSkip: packets a capture filter rejected (Engine.Skip) keep their
// connection's id, so the others keep theirs and their events are those
// of the unfiltered run; nothing of the skipped connection is decoded or
// counted.
func TestSkip(t *testing.T) {
	c := newCapture(t)
	a := c.flow("10.0.0.1:1000", "10.0.0.9:80")
	b := c.flow("10.0.0.2:2000", "10.0.0.9:80")
	a.handshake()
	b.handshake()
	a.send(0, upgradeRequest("dGhlIHNhbXBsZSBub25jZQ=="))
	b.send(0, upgradeRequest("x3JJHMbDL1EzLkh9GBhXDw=="))
	b.send(1, upgradeResponse("x3JJHMbDL1EzLkh9GBhXDw=="))
	a.send(1, upgradeResponse("dGhlIHNhbXBsZSBub25jZQ=="))
	b.send(0, wsFrame(1, true, "hello"))
	a.send(0, wsFrame(1, true, "other"))
	b.close()
	a.close()
	aPort := uint16(1000)

	all, _ := run(t, Config{}, c.pkts)
	var want []decode.Event
	for _, ev := range all {
		if ev.Conn == 2 {
			want = append(want, ev)
		}
	}
	if len(want) < 4 {
		t.Fatalf("unfiltered run: %d events of connection 2", len(want))
	}

	var got []decode.Event
	e := New(Config{}, func(evs []decode.Event) error {
		for _, ev := range evs {
			got = append(got, ev.Clone())
		}
		return nil
	})
	skipped := 0
	for i, p := range c.pkts {
		var err error
		if s, d := ports(p.Data); s == aPort || d == aPort {
			skipped++
			err = e.Skip(i+1, p)
		} else {
			err = e.Packet(i+1, p)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	if skipped == 0 || len(got) != len(want) {
		t.Fatalf("skipped %d packets; %d events, want %d", skipped, len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Kind != w.Kind || g.Conn != w.Conn || g.Seq != w.Seq || g.Packet != w.Packet || g.From != w.From {
			t.Errorf("event %d: %v conn %d seq %d pkt %d, want %v conn %d seq %d pkt %d",
				i, g.Kind, g.Conn, g.Seq, g.Packet, w.Kind, w.Conn, w.Seq, w.Packet)
		}
	}
	if st := e.Stats(); st.Packets != int64(len(c.pkts)-skipped) {
		t.Errorf("counted %d packets, want %d (the skipped ones are not)", st.Packets, len(c.pkts)-skipped)
	}
}

// ports returns the TCP ports of an Ethernet/IPv4 packet without options.
func ports(b []byte) (src, dst uint16) {
	t := b[14+20:]
	return uint16(t[0])<<8 | uint16(t[1]), uint16(t[2])<<8 | uint16(t[3])
}
