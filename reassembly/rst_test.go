package reassembly

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/wscap/wscap/decode"
	"github.com/wscap/wscap/internal/flowgen"
)

// rstCapture is a WebSocket connection (#1) whose server (resetBy
// S2C) or client (C2S) sends a RST after a frame each way, then a second
// WebSocket connection (#2) that talks and closes with FINs. It returns
// the capture and the number of the RST packet.
func rstCapture(resetBy flowgen.Dir) (*flowgen.Capture, int) {
	c := flowgen.NewCapture()
	open := func(cli, srv string, n int) *flowgen.Conn {
		k := c.NewConn(netip.MustParseAddrPort(cli), netip.MustParseAddrPort(srv))
		key := flowgen.Key(n)
		k.Open()
		k.Client(flowgen.UpgradeRequest("/rst", "example.test", key))
		k.Server(flowgen.Response101(key))
		k.Client(flowgen.Frame{Fin: true, Op: flowgen.OpText, Mask: flowgen.MaskKey(n), Payload: []byte("hello")}.Bytes())
		k.Server(flowgen.Frame{Fin: true, Op: flowgen.OpText, Payload: []byte("world")}.Bytes())
		return k
	}
	a := open("192.0.2.1:40001", "192.0.2.2:80", 1)
	a.Reset(resetBy)
	rst := c.Len()
	b := open("192.0.2.3:40002", "192.0.2.2:80", 2)
	for i := range 3 {
		b.Client(flowgen.Frame{Fin: true, Op: flowgen.OpText, Mask: flowgen.MaskKey(10 + i), Payload: []byte("more")}.Bytes())
	}
	b.Close()
	return c, rst
}

// TestRSTEndInCaptureOrder: the end events of a connection reset by one
// side come at the RST packet, in capture order (JSON Lines promise it),
// not at the end of the file after the later connection's events.
func TestRSTEndInCaptureOrder(t *testing.T) {
	for _, by := range []flowgen.Dir{flowgen.C2S, flowgen.S2C} {
		t.Run(fmt.Sprint("reset-by-", by), func(t *testing.T) {
			c, rst := rstCapture(by)
			evs, _ := run(t, Config{}, packetsOf(t, c))
			ends := 0
			last := 0
			for i, ev := range evs {
				if ev.Packet < last {
					t.Errorf("event %d (conn %d %s %s, packet %d) after an event of packet %d: not in capture order",
						i, ev.Conn, ev.Kind, ev.From, ev.Packet, last)
				}
				last = max(last, ev.Packet)
				if ev.Conn == 1 && ev.Kind == decode.KindEnd {
					ends++
					if ev.Packet != rst {
						t.Errorf("conn 1 %s end at packet %d, want the RST, packet %d", ev.From, ev.Packet, rst)
					}
				}
			}
			if ends != 2 {
				t.Errorf("conn 1 has %d end events, want 2", ends)
			}
		})
	}
}
