package source

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// idb encodes an Interface Description Block.
func idb(o order, lt layers.LinkType, snaplen uint32) []byte {
	b := o.AppendUint16(nil, uint16(lt))
	b = o.AppendUint16(b, 0)
	b = o.AppendUint32(b, snaplen)
	return ngBlock(o, blockIDB, b)
}

// TestLyingLengths: every length a file claims is checked before anything
// is read or allocated; the error names the packet, the offset and the
// real cause, and the packets before it are delivered.
func TestLyingLengths(t *testing.T) {
	var o order = binary.LittleEndian
	good := epb(o, make([]byte, 60))

	pcap := writePcap(t, false, layers.LinkTypeEthernet, testPackets())
	binary.LittleEndian.PutUint32(pcap[16:], 262144) // snap length
	pcapHuge := append([]byte(nil), pcap...)
	binary.LittleEndian.PutUint32(pcapHuge[24+16+12+8:], 0xffffffff)
	pcapBigSnap := append([]byte(nil), pcapHuge...)
	binary.LittleEndian.PutUint32(pcapBigSnap[16:], 0xffffffff)

	epbClaim := func(capLen uint32) []byte { // block of 92 bytes claiming capLen
		b := epb(o, make([]byte, 60))
		binary.LittleEndian.PutUint32(b[20:], capLen)
		return b
	}
	blockLen := func(b []byte, n uint32) []byte {
		b = append([]byte(nil), b...)
		binary.LittleEndian.PutUint32(b[4:], n)
		return b
	}
	trailer := append([]byte(nil), good...)
	binary.LittleEndian.PutUint32(trailer[len(trailer)-4:], 96)
	shb2 := handNg(o, good)
	binary.LittleEndian.PutUint16(shb2[12:], 2)
	epbIface6 := append([]byte(nil), good...)
	binary.LittleEndian.PutUint32(epbIface6[8:], 6)

	tests := []struct {
		name    string
		file    []byte
		gzip    bool
		open    string
		packets int
		next    string
	}{
		{name: "pcap 4 GB record", file: pcapHuge, packets: 1,
			next: "packet 2: record at byte 52: record claims 4294967295 bytes, more than the snap length 262144"},
		{name: "pcap 4 GB record gzip", file: pcapHuge, gzip: true, packets: 1,
			next: "packet 2: record at uncompressed byte 52: record claims 4294967295 bytes, more than the snap length 262144"},
		{name: "pcap 4 GB record huge snaplen", file: pcapBigSnap, packets: 1,
			next: "record claims 4294967295 bytes, more than the 262144 a packet may have"},
		{name: "pcapng 200 MB packet", file: handNg(o, good, epbClaim(200e6)), packets: 1,
			next: "packet 2: record at byte 140: record claims 200000000 bytes, more than the snap length 65535"},
		{name: "pcapng 200 MB claim in a 32-byte block", file: handNg(o, good, blockLen(epbClaim(200e6)[:32], 32)), packets: 1,
			next: "packet 2: record at byte 140: record claims 200000000 bytes, more than the snap length 65535"},
		{name: "pcapng packet beyond its block", file: handNg(o, good, epbClaim(1000)), packets: 1,
			next: "record claims 1000 bytes, but its block of 92 bytes holds at most 60"},
		{name: "pcapng 1 GB block", file: handNg(o, good, blockLen(good, 1<<30)), packets: 1,
			next: "packet 2: record at byte 140: file ends in the middle of the record (capture cut short: block claims 1073741824 bytes, 92 are left)"},
		{name: "pcapng 1 GB block gzip", file: handNg(o, good, blockLen(good, 1<<30)), gzip: true, packets: 1,
			next: "block claims 1073741824 bytes, more than the 327680 a packet, section or interface block may have"},
		{name: "pcapng 4 GB unknown block gzip", file: handNg(o, good, blockLen(ngBlock(o, 0x99, nil), 0xfffffffc)), gzip: true, packets: 1,
			next: "packet 2: block at uncompressed byte 140: file ends in the middle of the record"},
		{name: "pcapng block length 0", file: handNg(o, good, blockLen(good, 0)), packets: 1,
			next: "packet 2: record at byte 140: block length 0 is less than the 32 bytes this block type needs"},
		{name: "pcapng unknown block length 0", file: handNg(o, good, blockLen(ngBlock(o, 0x99, nil), 0)), packets: 1,
			next: "block length 0 is less than the 12 bytes"},
		{name: "pcapng misaligned", file: handNg(o, good, blockLen(good, 90), good), packets: 1,
			next: "packet 2: record at byte 140: block length 90 is not a multiple of 4"},
		{name: "pcapng trailer differs", file: handNg(o, good, trailer, good), packets: 1,
			next: "packet 2: record at byte 140: block length 92 at its start but 96 at its end"},
		{name: "pcapng version 2", file: shb2, open: "pcapng version 2.0 is not supported"},
		{name: "pcapng version 2 later", file: append(handNg(o, good), shb2...), packets: 1,
			next: "packet 2: block at byte 140: section header: pcapng version 2.0 is not supported"},
		{name: "pcapng interface not described", file: handNg(o, good, epbIface6), packets: 1,
			next: "packet 2: record at byte 140: packet of interface 6, but the section describes 1 interfaces"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := tt.file
			if tt.gzip {
				file = gz(t, file)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			s, err := Open(writeFile(t, "x", file))
			if tt.open != "" {
				if err == nil || !strings.Contains(err.Error(), tt.open) {
					t.Fatalf("Open: %v, want %q", err, tt.open)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			got, err := readAll(s)
			runtime.ReadMemStats(&after)
			if len(got) != tt.packets || err == nil || err == io.EOF || !strings.Contains(err.Error(), tt.next) {
				t.Errorf("%d packets, error %v\nwant %d packets, %q", len(got), err, tt.packets, tt.next)
			}
			if a := after.TotalAlloc - before.TotalAlloc; a > 8<<20 {
				t.Errorf("allocated %d MiB", a>>20)
			}
		})
	}
}

// TestManyInterfaces: a section may describe MaxInterfaces interfaces,
// which cost a few bytes each; one more is an error.
func TestManyInterfaces(t *testing.T) {
	var o order = binary.LittleEndian
	one := idb(o, layers.LinkTypeEthernet, 0)
	var b bytes.Buffer
	b.Write(handNg(o)) // one interface
	for range MaxInterfaces - 1 {
		b.Write(one)
	}
	b.Write(epb(o, make([]byte, 60)))
	b.Write(one)
	b.Write(epb(o, make([]byte, 60)))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	s, err := NewReader("many", bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	got, err := readAll(s)
	runtime.ReadMemStats(&after)
	if len(got) != 1 || err == nil || !strings.Contains(err.Error(), "more than 65536 interfaces in one section") {
		t.Errorf("%d packets, %v", len(got), err)
	}
	if a := after.TotalAlloc - before.TotalAlloc; a > 16<<20 { // 1 MiB buffer, 2 MiB of interfaces, growth
		t.Errorf("allocated %d MiB", a>>20)
	}
}

// TestGrowingFile reads a capture that grows after it was opened (tcpdump
// -w still writing): records appended since are read, not taken for a
// file cut short.
func TestGrowingFile(t *testing.T) {
	pcap := writePcap(t, false, layers.LinkTypeEthernet, testPackets())
	path := filepath.Join(t.TempDir(), "growing.pcap")
	first := 24 + 16 + int(binary.LittleEndian.Uint32(pcap[24+8:]))
	if err := os.WriteFile(path, pcap[:first], 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(pcap[first:])
	f.Close()
	n := 0
	for {
		_, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("packet %d: %v", n+1, err)
		}
		n++
	}
	if want := len(testPackets()); n != want {
		t.Errorf("%d packets, want %d", n, want)
	}
}

// TestCapLenAboveOrig reads a pcap record whose captured length is above
// its original length as libpcap does: the packet was as long as what was
// captured.
func TestCapLenAboveOrig(t *testing.T) {
	pcap := writePcap(t, false, layers.LinkTypeEthernet, testPackets())
	first := 24 + 16 + int(binary.LittleEndian.Uint32(pcap[24+8:]))
	binary.LittleEndian.PutUint32(pcap[first+12:], 3) // second record: original length 3
	s, err := Open(writeFile(t, "orig.pcap", pcap))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := readAll(s)
	if err != io.EOF || len(got) != len(testPackets()) {
		t.Fatalf("%d packets, error %v; want %d, EOF", len(got), err, len(testPackets()))
	}
	if p := got[1]; p.Len != p.CapLen {
		t.Errorf("second packet: length %d, captured %d; want the captured length", p.Len, p.CapLen)
	}
}
