package reassembly

import (
	"fmt"
	"strings"
	"testing"

	"github.com/wscap/wscap/decode"
	"github.com/wscap/wscap/source"
)

// benchCapture builds an in-memory capture of conns interleaved WebSocket
// sessions, each with frames text frames of size bytes per direction.
func benchCapture(b *testing.B, conns, frames, size int) ([]source.Packet, int64) {
	c := newCapture(b)
	fl := make([]*flow, conns)
	key := "dGhlIHNhbXBsZSBub25jZQ=="
	for i := range fl {
		fl[i] = c.flow(fmt.Sprintf("10.1.%d.%d:%d", i/250, i%250+1, 40000+i), "10.2.0.1:80")
		fl[i].handshake()
		fl[i].send(0, upgradeRequest(key))
		fl[i].send(1, upgradeResponse(key))
	}
	payload := strings.Repeat("x", size)
	cf, sf := wsFrame(1, true, payload), wsFrame(1, false, payload)
	for range frames {
		for _, f := range fl {
			for _, d := range []struct {
				dir int
				fr  string
			}{{0, cf}, {1, sf}} {
				for off := 0; off < len(d.fr); off += 1448 {
					f.send(d.dir, d.fr[off:min(off+1448, len(d.fr))])
				}
				f.sendFlags(d.dir^1, "A", "")
			}
		}
	}
	for _, f := range fl {
		f.close()
	}
	var n int64
	for _, p := range c.pkts {
		n += int64(len(p.Data))
	}
	return c.pkts, n
}

// BenchmarkPipeline measures layer decoding, reassembly and the decoder
// over an in-memory capture (the pcap reader is not included).
func BenchmarkPipeline(b *testing.B) {
	pkts, size := benchCapture(b, 100, 20, 4000)
	b.SetBytes(size)
	b.ReportAllocs()
	events := 0
	for b.Loop() {
		e := New(Config{}, func(evs []decode.Event) error { events += len(evs); return nil })
		for i, p := range pkts {
			if err := e.Packet(i+1, p); err != nil {
				b.Fatal(err)
			}
		}
		if err := e.Flush(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(pkts)), "packets/op")
}
