package pipeline

import (
	"strings"
	"testing"

	"github.com/wscap/wscap/dfilter"
	"github.com/wscap/wscap/output"
)

// TestSkipSameOutput: with packets skipped (a capture filter) and a
// display filter, one worker and three write the same output, and the
// shown connection keeps its id.
func TestSkipSameOutput(t *testing.T) {
	pkts := packets(t, "two-conns-interleaved")
	flt, err := dfilter.Compile(`type != "frame"`)
	if err != nil {
		t.Fatal(err)
	}
	for _, json := range []bool{false, true} {
		var outs []string
		for _, workers := range []int{1, 3} {
			cfg := Config{JSON: json, Workers: workers, Output: output.Options{Timeline: true, Summary: true, Verbose: true, Filter: flt}}
			var out syncBuffer
			p := New(cfg, &out)
			for i, pk := range pkts {
				var err error
				// Skip connection 1 (client port 50010), whose packets
				// come first and between those of connection 2.
				if s, d := tcpPorts(pk.Data); s == 50010 || d == 50010 {
					err = p.Skip(i+1, pk)
				} else {
					err = p.Packet(i+1, pk)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if err := p.Close(); err != nil {
				t.Fatal(err)
			}
			outs = append(outs, out.String())
		}
		if outs[0] != outs[1] {
			t.Errorf("json=%v: -j 1 and -j 3 differ:\n%s\n---\n%s", json, outs[0], outs[1])
		}
		o := outs[0]
		if json && (!strings.Contains(o, `"conn":2,`) || strings.Contains(o, `"conn":1,`) || strings.Contains(o, `"type":"frame"`)) {
			t.Errorf("json output:\n%s", o)
		}
		if !json && (!strings.Contains(o, "#2 ") || strings.Contains(o, "#1 ")) {
			t.Errorf("text output:\n%s", o)
		}
	}
}

// tcpPorts returns the TCP ports of an Ethernet/IPv4 packet.
func tcpPorts(b []byte) (src, dst uint16) {
	if len(b) < 14+20+4 {
		return 0, 0
	}
	t := b[14+int(b[14]&0xf)*4:]
	return uint16(t[0])<<8 | uint16(t[1]), uint16(t[2])<<8 | uint16(t[3])
}
