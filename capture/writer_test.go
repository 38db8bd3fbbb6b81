package capture

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/wscap/wscap/source"
)

func TestWriter(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 10, 0, 0, 123456789, time.UTC)
	in := []source.Packet{
		{Data: []byte("ethernet one"), Time: t0, Len: 12, LinkType: layers.LinkTypeEthernet},
		{Data: []byte("raw"), Time: t0.Add(time.Nanosecond), Len: 1500, LinkType: layers.LinkTypeRaw},
		{Data: []byte("ethernet two"), Time: t0.Add(time.Second), Len: 12, LinkType: layers.LinkTypeEthernet},
	}
	path := filepath.Join(t.TempDir(), "w.pcapng")
	w, err := CreateWriter(path, WriterInfo{Interface: "lo", Filter: "tcp port 80", Snaplen: 1500, LinkType: layers.LinkTypeEthernet, Version: "wscap test"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range in {
		p.CapLen = len(p.Data)
		if err := w.WritePacket(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(&Stats{Received: 7, KernelDropped: 2, IfDropped: 1}); err != nil {
		t.Fatal(err)
	}
	if w.Packets() != 3 {
		t.Errorf("Packets() = %d", w.Packets())
	}

	src, err := source.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for i, want := range in {
		p, err := src.Next()
		if err != nil {
			t.Fatalf("packet %d: %v", i+1, err)
		}
		if string(p.Data) != string(want.Data) || !p.Time.Equal(want.Time) || p.Len != want.Len || p.LinkType != want.LinkType {
			t.Errorf("packet %d: %q %v len %d %v; want %q %v len %d %v", i+1,
				p.Data, p.Time, p.Len, p.LinkType, want.Data, want.Time, want.Len, want.LinkType)
		}
	}
	if _, err := src.Next(); err != io.EOF {
		t.Errorf("after the packets: %v", err)
	}

	// The interface descriptions and the statistics.
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewNgReader(f, pcapgo.NgReaderOptions{WantMixedLinkType: true})
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, _, err := r.ReadPacketData(); err != nil {
			break
		}
	}
	if r.NInterfaces() != 2 {
		t.Fatalf("%d interfaces, want 2", r.NInterfaces())
	}
	ifc, _ := r.Interface(0)
	if ifc.Name != "lo" || ifc.Filter != "tcp port 80" || ifc.SnapLength != 1500 || ifc.LinkType != layers.LinkTypeEthernet {
		t.Errorf("interface 0: %+v", ifc)
	}
	if ifc.Statistics.PacketsReceived != 7 || ifc.Statistics.PacketsDropped != 3 {
		t.Errorf("statistics: %+v", ifc.Statistics)
	}
	if app := r.SectionInfo().Application; app != "wscap test" {
		t.Errorf("application %q", app)
	}
}

// TestWriterEmpty checks that a file without packets is still a valid
// pcapng file.
func TestWriterEmpty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.pcapng")
	w, err := CreateWriter(path, WriterInfo{LinkType: layers.LinkTypeLinuxSLL})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(nil); err != nil {
		t.Errorf("second Close: %v", err)
	}
	src, err := source.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if _, err := src.Next(); err != io.EOF {
		t.Errorf("Next: %v, want EOF", err)
	}
}

func TestWriterCreateError(t *testing.T) {
	_, err := CreateWriter(filepath.Join(t.TempDir(), "no", "such", "dir.pcapng"), WriterInfo{})
	if err == nil || !strings.HasPrefix(err.Error(), "create capture file: ") {
		t.Errorf("err %v", err)
	}
}
