package reassembly

import (
	"io"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/wscap/wscap/source"
)

// fixturePackets returns copies of the packets of every capture in
// ../testdata.
func fixturePackets(t *testing.T) []source.Packet {
	t.Helper()
	files, _ := filepath.Glob("../testdata/*.pcap*")
	real, _ := filepath.Glob("../testdata/real/*.pcapng")
	var pkts []source.Packet
	for _, f := range append(files, real...) {
		if filepath.Ext(f) == ".golden" {
			continue
		}
		src, err := source.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		for {
			p, err := src.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			p.Data = append([]byte(nil), p.Data...)
			pkts = append(pkts, p)
		}
		src.Close()
	}
	if len(pkts) == 0 {
		t.Fatal("no fixture packets")
	}
	return pkts
}

// TestFastTCP checks that the dispatcher's fast header walk agrees with
// gopacket's decoding wherever it claims a packet, on every fixture packet
// and on mutated copies of them.
func TestFastTCP(t *testing.T) {
	ld := newLinkDecoder()
	check := func(p *source.Packet, what string) bool {
		var got tcpSeg
		if !fastTCP(p, &got) {
			return false
		}
		res, _ := ld.decode(p)
		if res != resTCP {
			t.Errorf("%s: fastTCP claims a segment gopacket decodes as %d: % x", what, res, p.Data)
			return true
		}
		if want := ld.seg(p); got != want {
			t.Errorf("%s: fastTCP %+v, gopacket %+v", what, got, want)
		}
		return true
	}
	pkts := fixturePackets(t)
	fast := 0
	for i := range pkts {
		if check(&pkts[i], "fixture") {
			fast++
		}
	}
	if fast < len(pkts)/2 {
		t.Errorf("fastTCP took only %d of %d fixture packets", fast, len(pkts))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		p := pkts[rng.IntN(len(pkts))]
		d := append([]byte(nil), p.Data...)
		for range 1 + rng.IntN(3) {
			// Mutate the headers, where the decisions are.
			d[rng.IntN(min(len(d), 80))] = byte(rng.Uint32())
		}
		if rng.IntN(4) == 0 {
			d = d[:rng.IntN(len(d)+1)]
		}
		p.Data, p.CapLen = d, len(d)
		if p.Len < p.CapLen || rng.IntN(2) == 0 {
			p.Len = p.CapLen
		}
		check(&p, "mutated")
	}
}
