package source

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

var t0 = time.Date(2024, 5, 1, 10, 0, 0, 123456789, time.UTC)

// pkt is a record to write: data, capture time, original length (0: len(data)).
type pkt struct {
	data  []byte
	time  time.Time
	len   int
	iface int
}

func testPackets() []pkt {
	return []pkt{
		{data: []byte("first packet"), time: t0},
		{data: []byte("second"), time: t0.Add(1500 * time.Microsecond), len: 100},
		{data: noise(3000), time: t0.Add(time.Second)},
	}
}

// noise returns n bytes that do not compress.
func noise(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

func ci(p pkt) gopacket.CaptureInfo {
	l := p.len
	if l == 0 {
		l = len(p.data)
	}
	return gopacket.CaptureInfo{Timestamp: p.time, CaptureLength: len(p.data), Length: l, InterfaceIndex: p.iface}
}

func writePcap(t *testing.T, nanos bool, lt layers.LinkType, pkts []pkt) []byte {
	var b bytes.Buffer
	w := pcapgo.NewWriter(&b)
	if nanos {
		w = pcapgo.NewWriterNanos(&b)
	}
	if err := w.WriteFileHeader(65535, lt); err != nil {
		t.Fatal(err)
	}
	for _, p := range pkts {
		if err := w.WritePacket(ci(p), p.data); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

// writePcapBE writes a big-endian pcap by hand (pcapgo writes little-endian).
func writePcapBE(nanos bool, lt layers.LinkType, pkts []pkt) []byte {
	be := binary.BigEndian
	var b []byte
	magic := uint32(0xa1b2c3d4)
	if nanos {
		magic = 0xa1b23c4d
	}
	b = be.AppendUint32(b, magic)
	b = be.AppendUint16(b, 2)
	b = be.AppendUint16(b, 4)
	b = be.AppendUint32(b, 0)
	b = be.AppendUint32(b, 0)
	b = be.AppendUint32(b, 65535)
	b = be.AppendUint32(b, uint32(lt))
	for _, p := range pkts {
		c := ci(p)
		frac := uint32(c.Timestamp.Nanosecond())
		if !nanos {
			frac /= 1000
		}
		b = be.AppendUint32(b, uint32(c.Timestamp.Unix()))
		b = be.AppendUint32(b, frac)
		b = be.AppendUint32(b, uint32(c.CaptureLength))
		b = be.AppendUint32(b, uint32(c.Length))
		b = append(b, p.data...)
	}
	return b
}

func writePcapng(t *testing.T, lts []layers.LinkType, pkts []pkt) []byte {
	var b bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&b, pcapgo.NgInterface{LinkType: lts[0], TimestampResolution: 9}, pcapgo.DefaultNgWriterOptions)
	if err != nil {
		t.Fatal(err)
	}
	for _, lt := range lts[1:] {
		if _, err := w.AddInterface(pcapgo.NgInterface{LinkType: lt, TimestampResolution: 9}); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range pkts {
		if err := w.WritePacket(ci(p), p.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gz(t *testing.T, b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func writeFile(t *testing.T, name string, b []byte) string {
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// readAll reads every packet (copying Data) until an error.
func readAll(s Source) ([]Packet, error) {
	var out []Packet
	for {
		p, err := s.Next()
		if err != nil {
			return out, err
		}
		p.Data = append([]byte(nil), p.Data...)
		out = append(out, p)
	}
}

func TestFormats(t *testing.T) {
	pkts := testPackets()
	two := testPackets()
	two[1].iface = 1
	tests := []struct {
		name  string
		file  []byte
		prec  time.Duration
		links []layers.LinkType // per packet
	}{
		{"pcap us", writePcap(t, false, layers.LinkTypeEthernet, pkts), time.Microsecond, nil},
		{"pcap ns", writePcap(t, true, layers.LinkTypeEthernet, pkts), time.Nanosecond, nil},
		{"pcap us big-endian", writePcapBE(false, layers.LinkTypeEthernet, pkts), time.Microsecond, nil},
		{"pcap ns big-endian", writePcapBE(true, layers.LinkTypeEthernet, pkts), time.Nanosecond, nil},
		{"pcap gzip", gz(t, writePcap(t, true, layers.LinkTypeEthernet, pkts)), time.Nanosecond, nil},
		{"pcapng", writePcapng(t, []layers.LinkType{layers.LinkTypeEthernet}, pkts), time.Nanosecond, nil},
		{"pcapng gzip", gz(t, writePcapng(t, []layers.LinkType{layers.LinkTypeEthernet}, pkts)), time.Nanosecond, nil},
		{"pcapng two interfaces", writePcapng(t, []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL2}, two), time.Nanosecond,
			[]layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL2, layers.LinkTypeEthernet}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "capture.bin", tt.file) // the name says nothing
			s, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			got, err := readAll(s)
			if err != io.EOF {
				t.Fatalf("error %v, want io.EOF", err)
			}
			if _, err := s.Next(); err != io.EOF {
				t.Errorf("Next after EOF: %v", err)
			}
			want := pkts
			if len(got) != len(want) {
				t.Fatalf("%d packets, want %d", len(got), len(want))
			}
			for i, p := range got {
				w := ci(want[i])
				if !bytes.Equal(p.Data, want[i].data) || p.CapLen != w.CaptureLength || p.Len != w.Length {
					t.Errorf("packet %d: %d/%d bytes, want %d/%d", i+1, p.CapLen, p.Len, w.CaptureLength, w.Length)
				}
				if !p.Time.Equal(w.Timestamp.Truncate(tt.prec)) {
					t.Errorf("packet %d: time %v, want %v", i+1, p.Time, w.Timestamp.Truncate(tt.prec))
				}
				lt := layers.LinkTypeEthernet
				if tt.links != nil {
					lt = tt.links[i]
				}
				if p.LinkType != lt {
					t.Errorf("packet %d: link type %v, want %v", i+1, p.LinkType, lt)
				}
			}
		})
	}
}

// TestDamaged checks the errors for files that are not captures or are
// cut short: packets before the damage are delivered, and the error names
// the file, the packet and the offset.
func TestDamaged(t *testing.T) {
	pcap := writePcap(t, false, layers.LinkTypeEthernet, testPackets())
	ng := writePcapng(t, []layers.LinkType{layers.LinkTypeEthernet}, testPackets())
	huge := append([]byte(nil), pcap...)
	binary.LittleEndian.PutUint32(huge[24+16+12+8:], 0x7fffffff) // packet 2's captured length
	tests := []struct {
		name    string
		file    []byte
		open    string // error from Open, if any
		packets int
		next    string // error from Next after the packets
	}{
		{name: "html", file: []byte("<!DOCTYPE html><html>"), open: "not a pcap or pcapng file (starts with 3c21444f)"},
		{name: "empty", file: nil, open: "not a pcap or pcapng file (empty)"},
		{name: "three bytes", file: []byte{0xd4, 0xc3, 0xb2}, open: "not a pcap or pcapng file (only 3 bytes)"},
		{name: "pcap header cut", file: pcap[:20], open: "pcap file header: unexpected EOF"},
		{name: "pcap unsupported link", file: writePcap(t, false, 189, testPackets()), open: "unsupported link type"},
		{name: "gzip garbage", file: gz(t, []byte("hello world")), open: "(starts with 68656c6c)"},
		{name: "pcap no packets", file: pcap[:24], packets: 0, next: "EOF"},
		{name: "pcap cut in record data", file: pcap[:len(pcap)-10], packets: 2,
			next: "packet 3: record at byte 74: file ends in the middle of the record"},
		{name: "pcap cut in record header", file: pcap[:24+16+12+5], packets: 1,
			next: "packet 2: record at byte 52: file ends in the middle"},
		{name: "pcap cut after record header", file: pcap[:24+16+12+16], packets: 1,
			next: "packet 2: record at byte 52: file ends in the middle"},
		{name: "pcap gzip cut", file: gz(t, pcap)[:1000], packets: 2,
			next: "packet 3: record at uncompressed byte 74"},
		{name: "pcap huge record", file: huge, packets: 1, next: "packet 2: record at byte 52: record claims 2147483647 bytes, more than the snap length 65535"},
		{name: "pcapng cut", file: ng[:len(ng)-20], packets: 2, next: "packet 3: record at byte"},
		{name: "pcapng section header cut", file: ng[:10], open: "pcapng section header: unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "x.pcap", tt.file)
			s, err := Open(path)
			if tt.open != "" {
				if err == nil {
					s.Close()
					t.Fatalf("Open succeeded, want error %q", tt.open)
				}
				if !strings.Contains(err.Error(), tt.open) || !strings.Contains(err.Error(), path) {
					t.Fatalf("Open error %q, want %q naming the file", err, tt.open)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			got, err := readAll(s)
			if len(got) != tt.packets {
				t.Errorf("%d packets before the error, want %d", len(got), tt.packets)
			}
			if tt.next == "EOF" {
				if err != io.EOF {
					t.Fatalf("error %v, want EOF", err)
				}
				return
			}
			if err == io.EOF || !strings.Contains(err.Error(), tt.next) || !strings.HasPrefix(err.Error(), "read "+path+": ") {
				t.Fatalf("error %q, want %q", err, tt.next)
			}
			if _, again := s.Next(); again != err {
				t.Errorf("second Next: %v", again)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "missing.pcap"))
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "missing.pcap") {
		t.Errorf("missing file: %v", err)
	}
	_, err = Open(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("directory: %v", err)
	}
	_, err = Open(writeFile(t, "x", writePcap(t, false, 189, nil)))
	if !errors.Is(err, ErrUnsupportedLinkType) {
		t.Errorf("link type: %v", err)
	}
	_, err = Open(writeFile(t, "x", []byte("not a capture")))
	if !errors.Is(err, ErrNotCapture) {
		t.Errorf("not a capture: %v", err)
	}
}

// TestStdin reads "-" from standard input.
func TestStdin(t *testing.T) {
	path := writeFile(t, "in", gz(t, writePcapng(t, []layers.LinkType{layers.LinkTypeRaw}, testPackets())))
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	old := os.Stdin
	os.Stdin = f
	defer func() { os.Stdin = old }()
	s, err := Open("-")
	if err != nil {
		t.Fatal(err)
	}
	got, err := readAll(s)
	if err != io.EOF || len(got) != 3 || got[0].LinkType != layers.LinkTypeRaw {
		t.Fatalf("%d packets, %v", len(got), err)
	}
	s.Close()
}

// TestZeroCopy checks that Data is reused (no allocation per packet).
func TestZeroCopy(t *testing.T) {
	var pkts []pkt
	for i := range 100 {
		pkts = append(pkts, pkt{data: []byte(fmt.Sprintf("packet %03d", i)), time: t0})
	}
	for _, file := range [][]byte{writePcap(t, false, layers.LinkTypeEthernet, pkts), writePcapng(t, []layers.LinkType{layers.LinkTypeEthernet}, pkts)} {
		s, err := NewReader("mem", bytes.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		s.Next()
		allocs := testing.AllocsPerRun(50, func() {
			if _, err := s.Next(); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > 0 {
			t.Errorf("%v allocations per packet", allocs)
		}
	}
}

// TestAcrossBuffer reads records that straddle the 1 MiB read buffer's
// refills and checks every field against the writer's.
func TestAcrossBuffer(t *testing.T) {
	var pkts []pkt
	for i := range 3000 {
		pkts = append(pkts, pkt{data: noise(100 + i%1400), time: t0.Add(time.Duration(i) * 1733 * time.Microsecond), len: 2000})
	}
	for _, file := range [][]byte{writePcap(t, false, layers.LinkTypeEthernet, pkts), writePcapng(t, []layers.LinkType{layers.LinkTypeEthernet}, pkts)} {
		s, err := NewReader("big", &slowReader{b: file})
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range pkts {
			p, err := s.Next()
			if err != nil {
				t.Fatalf("packet %d: %v", i+1, err)
			}
			if !bytes.Equal(p.Data, want.data) || want.time.Sub(p.Time) < 0 || want.time.Sub(p.Time) >= time.Microsecond || p.Len != 2000 {
				t.Fatalf("packet %d: %d bytes at %v, want %d at %v", i+1, len(p.Data), p.Time, len(want.data), want.time)
			}
		}
	}
}

// TestPosition checks what a progress display is told: bytes of the file
// consumed so far (compressed bytes for gzip) and the file's size.
func TestPosition(t *testing.T) {
	var pkts []pkt
	for i := range 120 {
		pkts = append(pkts, pkt{data: noise(30000 + i), time: t0.Add(time.Duration(i) * time.Millisecond)})
	}
	plain := writePcap(t, true, layers.LinkTypeEthernet, pkts)
	tests := []struct {
		name  string
		file  []byte
		exact bool // the position after packet 1 is its record's end
	}{
		{"pcap", plain, true},
		{"pcap gzip", gz(t, plain), false},
		{"pcapng", writePcapng(t, []layers.LinkType{layers.LinkTypeEthernet}, pkts), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(writeFile(t, "capture.bin", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			pos := s.(interface{ Position() (int64, int64) })
			var last int64
			for i := 0; ; i++ {
				_, err := s.Next()
				read, size := pos.Position()
				if size != int64(len(tt.file)) {
					t.Fatalf("size %d, want %d", size, len(tt.file))
				}
				if read < last || read > size {
					t.Fatalf("packet %d: read %d after %d, size %d", i+1, read, last, size)
				}
				last = read
				if i == 0 && tt.exact && read != 24+16+int64(len(pkts[0].data)) {
					t.Errorf("after packet 1: read %d, want %d", read, 24+16+len(pkts[0].data))
				}
				if i == len(pkts)/2 && (read <= size/4 || read >= size) {
					t.Errorf("half way: read %d of %d", read, size)
				}
				if err == io.EOF {
					if read != size {
						t.Errorf("at the end: read %d of %d", read, size)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
