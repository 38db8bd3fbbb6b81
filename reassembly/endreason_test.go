package reassembly

import (
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/wscap/wscap/decode"
	"github.com/wscap/wscap/internal/flowgen"
)

// TestEndReasons: every end event says what ended its direction: the
// FIN, a RST (both directions), an idle flush (--conn-timeout), or the end
// of the capture.
func TestEndReasons(t *testing.T) {
	open := func(c *flowgen.Capture, n int) *flowgen.Conn {
		k := c.NewConn(netip.MustParseAddrPort("192.0.2.1:"+strconv.Itoa(40000+n)), netip.MustParseAddrPort("192.0.2.2:80"))
		key := flowgen.Key(n)
		k.Open()
		k.Client(flowgen.UpgradeRequest("/end", "example.test", key))
		k.Server(flowgen.Response101(key))
		k.Client(flowgen.Frame{Fin: true, Op: flowgen.OpText, Mask: flowgen.MaskKey(n), Payload: []byte("hi")}.Bytes())
		return k
	}
	tests := []struct {
		name  string
		build func(c *flowgen.Capture)
		cfg   Config
		want  map[decode.Role]decode.EndReason // of connection 1
	}{
		{"fin", func(c *flowgen.Capture) { open(c, 1).Close() }, Config{},
			map[decode.Role]decode.EndReason{decode.RoleClient: decode.EndFIN, decode.RoleServer: decode.EndFIN}},
		{"rst-by-server", func(c *flowgen.Capture) { open(c, 1).Reset(flowgen.S2C) }, Config{},
			map[decode.Role]decode.EndReason{decode.RoleClient: decode.EndRST, decode.RoleServer: decode.EndRST}},
		{"fin-then-rst", func(c *flowgen.Capture) {
			k := open(c, 1)
			k.Fin(flowgen.C2S)
			k.Reset(flowgen.S2C)
		}, Config{}, map[decode.Role]decode.EndReason{decode.RoleClient: decode.EndFIN, decode.RoleServer: decode.EndRST}},
		{"capture-end", func(c *flowgen.Capture) { open(c, 1) }, Config{},
			map[decode.Role]decode.EndReason{decode.RoleClient: decode.EndCaptureEnd, decode.RoleServer: decode.EndCaptureEnd}},
		{"half-closed", func(c *flowgen.Capture) { open(c, 1).Fin(flowgen.C2S) }, Config{},
			map[decode.Role]decode.EndReason{decode.RoleClient: decode.EndFIN, decode.RoleServer: decode.EndCaptureEnd}},
		{"idle", func(c *flowgen.Capture) {
			open(c, 1)
			c.Pause(10 * time.Minute) // past --conn-timeout
			open(c, 2)
		}, Config{ConnTimeout: 5 * time.Minute},
			map[decode.Role]decode.EndReason{decode.RoleClient: decode.EndIdle, decode.RoleServer: decode.EndIdle}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := flowgen.NewCapture()
			tt.build(c)
			evs, _ := run(t, tt.cfg, packetsOf(t, c))
			got := map[decode.Role]decode.EndReason{}
			for _, ev := range evs {
				if ev.Conn == 1 && ev.Kind == decode.KindEnd {
					if _, dup := got[ev.From]; dup {
						t.Errorf("two end events from the %s", ev.From)
					}
					got[ev.From] = ev.End.Reason
				}
			}
			if len(got) != 2 {
				t.Fatalf("end events %v, want one per direction", got)
			}
			for r, want := range tt.want {
				if got[r] != want {
					t.Errorf("%s end reason %s, want %s", r, got[r], want)
				}
			}
		})
	}
}
